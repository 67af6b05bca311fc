"""A newcomer's first steps: install lines, missing SDKs and credentials, the wheel."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage

from cloudmap import GoogleCloudStorageMapping
from cloudmap.errors import ContainerNotFoundError

if TYPE_CHECKING:
    from collections.abc import Sequence

ROOT = Path(__file__).resolve().parents[1]
DISTRIBUTION = "cloudmap-dict"
SDKS = ("boto3", "azure", "google.cloud.storage")
URLS = {"s3": "s3://bucket", "azure": "az://container", "gcs": "gs://bucket"}


def _closed_port() -> int:
    """A loopback port nothing listens on, so no request leaves the machine."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(home: Path) -> dict[str, str]:
    """No cloud variables, an empty HOME, and no metadata-server probes."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "GOOGLE_", "AZURE_", "CLOUDSDK_", "GCLOUD"))
    }
    env.update(
        HOME=str(home),
        PYTHONPATH=str(ROOT),
        XDG_CACHE_HOME=str(home / "cache"),
        AWS_EC2_METADATA_DISABLED="true",
        NO_GCE_CHECK="true",
        AWS_ENDPOINT_URL_S3=f"http://127.0.0.1:{_closed_port()}",
    )
    return env


def run(
    code: str, *args: str, home: Path, block: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run Python `code` with `block`ed modules unimportable, as a plain install."""
    prelude = f"import sys\nfor m in {tuple(block)!r}: sys.modules[m] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + code, *args],
        capture_output=True,
        text=True,
        env=clean_env(home),
        timeout=120,
        check=False,
    )


CLI = "from cloudmap.cli import main\nsys.exit(main(sys.argv[1:]))"


# -- 1. the distribution name -------------------------------------------------


def test_pyproject_names_the_free_distribution() -> None:
    """The package installs as cloudmap-dict; `all` refers to itself by that name."""
    pyproject = (ROOT / "pyproject.toml").read_text()  # no tomllib on Python 3.10
    assert f'\nname = "{DISTRIBUTION}"\n' in pyproject
    extras = re.findall(r'^\w+ = \["([\w-]+)\[', pyproject, flags=re.MULTILINE)
    assert extras  # `all` and `codecs` name their own distribution
    assert set(extras) == {DISTRIBUTION}
    assert '\ncloudmap = "cloudmap.cli:main"\n' in pyproject


def test_every_install_line_uses_the_distribution_name() -> None:
    """No README, docs or example line tells users to `pip install cloudmap`."""
    wrong = re.compile(r"""pip install\s+(?:-\S+\s+)*["']?cloudmap(?![\w-])""")
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    pages += [*(ROOT / "examples").glob("*"), *(ROOT / "cloudmap").rglob("*.py")]
    offenders = [
        f"{page.relative_to(ROOT)}: {line.strip()}"
        for page in pages
        if page.is_file()
        for line in page.read_text(encoding="utf-8").splitlines()
        if wrong.search(line)
    ]
    assert offenders == []
    assert f'pip install "{DISTRIBUTION}[s3]"' in (ROOT / "README.md").read_text()


# -- 2. the wheel carries the licence; cloudmap.testing names its extra ---------


def test_the_wheel_carries_the_licence(tmp_path: Path) -> None:
    """A wheel built from the tree ships LICENSE and the `cloudmap` package."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-index",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = tmp_path.glob("cloudmap_dict-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    licence = [n for n in names if n.endswith("/licenses/LICENSE")]
    assert licence, names
    assert "MIT License" in zipfile.ZipFile(wheel).read(licence[0]).decode()
    assert "cloudmap/__init__.py" in names


def test_testing_without_pytest_names_the_extra(tmp_path: Path) -> None:
    """A contract of `cloudmap.testing` without pytest is an ImportError naming the extra."""
    code = "from cloudmap.testing import FaultyStore\nfrom cloudmap.testing import StoreContract"
    result = run(code, home=tmp_path, block=["pytest"])
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError:")
    assert f'pip install "{DISTRIBUTION}[dev]"' in last


# -- 3. a missing SDK names its extra ---------------------------------------------


@pytest.mark.parametrize(
    ("extra", "build"),
    [
        ("s3", "cloudmap.stores.S3Store('bucket')"),
        ("azure", "cloudmap.stores.AzureBlobStore('c', connection_string='x')"),
        ("gcs", "cloudmap.stores.GCSStore('bucket')"),
        ("gcs", "cloudmap.GoogleCloudStorageMapping('bucket')"),
    ],
)
def test_library_without_the_sdk_names_the_extra(
    extra: str, build: str, tmp_path: Path
) -> None:
    """Building a cloud store without its SDK raises an ImportError naming the extra."""
    code = (
        "import cloudmap, cloudmap.errors, cloudmap.stores\n"
        f"try:\n    {build}\n"
        "except ImportError as exc:\n"
        "    print(type(exc).__name__, isinstance(exc, cloudmap.errors.ConfigError), exc)\n"
    )
    result = run(code, home=tmp_path, block=SDKS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("MissingDependencyError True "), result.stdout
    assert f'pip install "{DISTRIBUTION}[{extra}]"' in result.stdout


@pytest.mark.parametrize("extra", sorted(URLS))
def test_cli_without_the_sdk_names_the_extra(extra: str, tmp_path: Path) -> None:
    """`cloudmap ls <url>` without the SDK: one line naming the extra, exit 2."""
    result = run(CLI, "ls", URLS[extra], home=tmp_path, block=SDKS)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert f'pip install "{DISTRIBUTION}[{extra}]"' in result.stderr


# -- 4 and 5. missing credentials and account -------------------------------------


@pytest.mark.parametrize(
    ("url", "looked_at"),
    [
        ("s3://bucket", ["AWS_ACCESS_KEY_ID", "~/.aws/credentials"]),
        ("gs://bucket", ["GOOGLE_APPLICATION_CREDENTIALS", "metadata server"]),
        (
            "az://container",
            [
                "AZURE_STORAGE_CONNECTION_STRING",
                "AZURE_STORAGE_ACCOUNT_NAME",
                "AZURE_STORAGE_ACCOUNT_KEY",
                "AZURE_STORAGE_SAS_TOKEN",
                "?account=",
            ],
        ),
    ],
)
def test_cli_without_credentials_says_where_it_looked(
    url: str, looked_at: list[str], tmp_path: Path
) -> None:
    """No credentials: one line naming where the SDK looked, exit 2, no traceback."""
    result = run(CLI, "ls", url, home=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for place in looked_at:
        assert place in lines[0]


def test_az_account_name_without_a_credential_names_the_variables(
    tmp_path: Path,
) -> None:
    """An account found without key, SAS or azure-identity: what to set, exit 2."""
    result = run(
        CLI,
        "ls",
        "az://container?account=acct",
        home=tmp_path,
        block=["azure.identity"],
    )
    assert result.returncode == 2, result.stderr
    assert "no credential for account 'acct'" in result.stderr
    assert "AZURE_STORAGE_ACCOUNT_KEY" in result.stderr


AZ_ORDER = """
import os, cloudmap
from cloudmap.stores.azure._account import discover_account
def show(**env):
    for name in [n for n in os.environ if n.startswith('AZURE_')]:
        del os.environ[name]
    os.environ.update(env)
    found = discover_account('c', account_name=None, credential=None)
    print(found.connection_string or found.account_url, found.credential)
show(AZURE_STORAGE_CONNECTION_STRING='cs', AZURE_STORAGE_ACCOUNT_NAME='a',
     AZURE_STORAGE_ACCOUNT_KEY='k')
show(AZURE_STORAGE_ACCOUNT_NAME='a', AZURE_STORAGE_ACCOUNT_KEY='k',
     AZURE_STORAGE_SAS_TOKEN='?sv=1')
show(AZURE_STORAGE_ACCOUNT_NAME='a', AZURE_STORAGE_SAS_TOKEN='?sv=1')
"""


def test_az_account_discovery_order(tmp_path: Path) -> None:
    """Connection string, else account name with key, else with SAS token."""
    result = run(AZ_ORDER, home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "cs None",
        "https://a.blob.core.windows.net k",
        "https://a.blob.core.windows.net sv=1",
    ]


@pytest.mark.emulator
def test_az_url_finds_the_connection_string_in_the_environment(
    azure_connection_string: str, unique_name: str, tmp_path: Path
) -> None:
    """`az://container` with AZURE_STORAGE_CONNECTION_STRING set reaches the account."""
    env = clean_env(tmp_path)
    env["AZURE_STORAGE_CONNECTION_STRING"] = azure_connection_string
    result = subprocess.run(
        [sys.executable, "-m", "cloudmap", "ls", f"az://{unique_name}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    # The container does not exist: the account was reached and said so.
    assert result.returncode == 1, result.stderr
    assert f"{unique_name} does not exist" in result.stderr
    assert "create container ''" not in result.stderr


# -- 6. a failed first sync closes the store ---------------------------------------


@pytest.mark.emulator
def test_gcs_mapping_closes_its_store_when_the_first_sync_fails(
    gcs_endpoint: str, unique_name: str
) -> None:
    """GoogleCloudStorageMapping on a missing bucket leaves no hook on the client."""
    client = storage.Client(
        project="test",
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": gcs_endpoint},
    )
    hooks = client._http.hooks["response"]
    before = list(hooks)
    with pytest.raises(ContainerNotFoundError):
        GoogleCloudStorageMapping(unique_name, client=client)
    assert client._http.hooks["response"] == before
    client.close()
