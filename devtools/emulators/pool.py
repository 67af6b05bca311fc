"""All three emulators at once: from the environment, started together, or pooled."""

from __future__ import annotations

import os
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from devtools.emulators._launch import http_status
from devtools.emulators._process import Emulator, EmulatorError
from devtools.emulators.azurite import start_azurite
from devtools.emulators.fake_gcs import start_fake_gcs
from devtools.emulators.moto import start_moto

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from pathlib import Path

ENV_S3 = "CLOUDMAP_TEST_S3_ENDPOINT"
ENV_AZURE = "CLOUDMAP_TEST_AZURE_CONNECTION_STRING"
ENV_GCS = "CLOUDMAP_TEST_GCS_ENDPOINT"
NAMES = ("s3", "azure", "gcs")

# The request each emulator answers once up, and the status it answers with.
_PROBES = {
    "s3": ("/moto-api/", 200),
    "azure": ("?comp=list", 403),  # refuses an unsigned request: it is up
    "gcs": ("/storage/v1/b", 200),
}


def is_ready(emulator: Emulator) -> bool:
    """Whether the emulator answers its readiness probe right now."""
    path, expected = _PROBES[emulator.name]
    return http_status(emulator.url + path) == expected


def from_env(name: str, environ: Mapping[str, str] | None = None) -> Emulator | None:
    """The externally run emulator named in the environment, if any.

    Its :meth:`Emulator.stop` does nothing.
    """
    environ = os.environ if environ is None else environ
    if name == "s3" and environ.get(ENV_S3):
        return Emulator("s3", environ[ENV_S3].rstrip("/"), None)
    if name == "gcs" and environ.get(ENV_GCS):
        return Emulator("gcs", environ[ENV_GCS].rstrip("/"), None)
    if name == "azure" and environ.get(ENV_AZURE):
        conn_str = environ[ENV_AZURE]
        fields = {}
        for part in conn_str.split(";"):
            key, _, value = part.partition("=")
            fields[key.strip()] = value.strip()
        url = fields.get("BlobEndpoint", "").rstrip("/")
        return Emulator("azure", url, None, connection_string=conn_str)
    return None


def stop_all(emulators: Mapping[str, Emulator]) -> None:
    """Stop every emulator (external ones are left alone)."""
    for emulator in emulators.values():
        emulator.stop()


def start_all(
    workdir: Path,
    *,
    names: Iterable[str] = NAMES,
    use_env: bool = True,
    azurite_cache_dir: Path | None = None,
) -> dict[str, Emulator]:
    """Start emulators concurrently; keys ``"s3"``, ``"azure"``, ``"gcs"``.

    Args:
        workdir: where the logs go.
        names: which of them (all three by default).
        use_env: take endpoints from ``CLOUDMAP_TEST_*`` variables when set.
        azurite_cache_dir: where Azurite is installed (see ``install_azurite``).

    Raises:
        EmulatorError: any of them failed; those that started are stopped again.
    """
    starters: dict[str, Callable[[], Emulator]] = {
        "s3": lambda: start_moto(workdir),
        "azure": lambda: start_azurite(workdir, cache_dir=azurite_cache_dir),
        "gcs": lambda: start_fake_gcs(workdir),
    }
    wanted = list(dict.fromkeys(names))
    unknown = set(wanted) - set(starters)
    if unknown:
        raise ValueError(f"unknown emulators {sorted(unknown)}; known: {NAMES}")
    started: dict[str, Emulator] = {}
    to_start: dict[str, Callable[[], Emulator]] = {}
    for name in wanted:
        external = from_env(name) if use_env else None
        if external is not None:
            started[name] = external
        else:
            to_start[name] = starters[name]
    errors: list[BaseException] = []
    with ThreadPoolExecutor(max_workers=len(NAMES), thread_name_prefix="emu") as pool:
        futures = {name: pool.submit(starter) for name, starter in to_start.items()}
        wait(futures.values())
    for name, future in futures.items():
        error = future.exception()
        if error is None:
            started[name] = future.result()
        else:
            errors.append(error)
    if errors:
        stop_all(started)
        message = "\n\n".join(str(error) for error in errors)
        raise EmulatorError(f"could not start the emulators:\n{message}") from errors[0]
    return {name: started[name] for name in wanted}


class EmulatorPool:
    """Emulators started on first use, kept until :meth:`stop`; thread-safe.

    A test session holds one, so a test that needs only S3 never waits for
    Azurite's npm install. A failed start is remembered and raised again to
    every later caller instead of being retried (CI fails fast and loudly).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        use_env: bool = True,
        azurite_cache_dir: Path | None = None,
    ) -> None:
        self._workdir = workdir
        self._use_env = use_env
        self._azurite_cache_dir = azurite_cache_dir
        self._started: dict[str, Emulator] = {}
        self._failed: dict[str, EmulatorError] = {}
        self._lock = threading.Lock()

    def get(self, *names: str) -> dict[str, Emulator]:
        """The named emulators (all three if none named), starting missing ones."""
        wanted = list(names or NAMES)
        with self._lock:
            for name in wanted:
                if name in self._failed:
                    raise self._failed[name]
            missing = [name for name in wanted if name not in self._started]
            if missing:
                try:
                    self._started.update(
                        start_all(
                            self._workdir,
                            names=missing,
                            use_env=self._use_env,
                            azurite_cache_dir=self._azurite_cache_dir,
                        )
                    )
                except EmulatorError as error:
                    self._failed.update(dict.fromkeys(missing, error))
                    raise
            return {name: self._started[name] for name in wanted}

    def __getitem__(self, name: str) -> Emulator:
        return self.get(name)[name]

    def stop(self) -> None:
        """Stop everything this pool started."""
        with self._lock:
            stop_all(self._started)
            self._started.clear()


_NOT_NAME = re.compile(r"[^a-z0-9]+")


def unique_bucket_name(hint: str = "") -> str:
    """A fresh name valid as an S3 bucket, Azure container and GCS bucket.

    3-63 characters of lowercase letters, digits and single hyphens, starting
    with a letter and ending with a digit or letter; ``hint`` (e.g. a test
    name) is slugged into the middle for readable logs.
    """
    # "goog" may not start a GCS bucket name nor "google" appear anywhere.
    slug = _NOT_NAME.sub("-", hint.lower()).replace("goog", "g00g").strip("-")
    slug = slug[:36].strip("-")
    return "-".join(part for part in ("cm", slug, uuid.uuid4().hex[:16]) if part)
