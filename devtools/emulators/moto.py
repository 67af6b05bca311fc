"""S3: moto's server, served single-threaded, and bucket creation on it."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from devtools.emulators._launch import READY_TIMEOUT, launch, with_free_port
from devtools.emulators._process import HOST, Emulator

if TYPE_CHECKING:
    from pathlib import Path

# moto's S3 behind werkzeug's single-threaded server: one request at a time, so
# a conditional write's check and write cannot interleave with another's.
_MOTO_LAUNCHER = """\
import logging, sys
from moto.server import DomainDispatcherApplication, create_backend_app
from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import run_simple
logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
run_simple(
    sys.argv[1],
    int(sys.argv[2]),
    DomainDispatcherApplication(create_backend_app),
    threaded=False,
    request_handler=MotoRequestHandler,
)
"""


def start_moto(workdir: Path, *, timeout: float = READY_TIMEOUT) -> Emulator:
    """Start moto's S3 server, single-threaded, on a free port of 127.0.0.1."""

    def start(port: int) -> Emulator:
        url = f"http://{HOST}:{port}"
        return launch(
            "s3",
            [sys.executable, "-c", _MOTO_LAUNCHER, HOST, str(port)],
            workdir=workdir,
            port=port,
            url=url,
            ready_url=f"{url}/moto-api/",
            ready=lambda status: status == 200,
            # moto builds some URLs from MOTO_PORT; keep stray credentials out.
            env={
                "MOTO_PORT": str(port),
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": "us-east-1",
            },
            timeout=timeout,
        )

    return with_free_port(start)


def make_s3_bucket(endpoint: str, name: str) -> str:
    """Create bucket ``name`` on the S3 endpoint; returns ``name``."""
    import boto3  # noqa: PLC0415

    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        client.create_bucket(Bucket=name)
    finally:
        client.close()
    return name
