"""Cloud URLs end to end on the emulators: cloudmap.open() and the CLI."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cloudmap

ROOT = Path(__file__).resolve().parents[1]

# provider -> (store module, fixture building its URL)
CLOUD = {
    "gcs": ("cloudmap.stores.gcs", "gcs_url"),
    "s3": ("cloudmap.stores.s3", "s3_url"),
    "azure": ("cloudmap.stores.azure", "azure_url"),
}
MERGED = [
    pytest.param(name, marks=pytest.mark.emulator)
    for name, (module, _) in CLOUD.items()
    if importlib.util.find_spec(module) is not None
]


@pytest.fixture
def gcs_url(gcs_endpoint: str, gcs_bucket: str) -> str:
    return f"gs://{gcs_bucket}/shelf?endpoint={gcs_endpoint}&project=test"


@pytest.fixture
def s3_url(s3_endpoint: str, unique_name: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLOUDMAP_TEST_KEY", "testing")
    return (
        f"s3://{unique_name}/shelf?endpoint={s3_endpoint}&region=us-east-1"
        "&access_key=$CLOUDMAP_TEST_KEY&secret_key=$CLOUDMAP_TEST_KEY&create=true"
    )


@pytest.fixture
def azure_url(
    azure_connection_string: str, unique_name: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("CLOUDMAP_TEST_AZURE", azure_connection_string)
    return (
        f"az://{unique_name}/shelf?connection_string=$CLOUDMAP_TEST_AZURE&create=true"
    )


@pytest.fixture(params=MERGED)
def cloud_url(request: pytest.FixtureRequest) -> str:
    """A URL of a fresh bucket (prefix `shelf/`) on each merged provider's emulator."""
    url: str = request.getfixturevalue(CLOUD[request.param][1])
    return url


def test_open_a_cloud_url_like_a_shelf(cloud_url: str) -> None:
    """A cloud URL opens a shelf whose data a second shelf reads back."""
    with cloudmap.open(cloud_url) as db:
        db["run"] = {"loss": [0.5, 0.25]}
        db["other"] = 1
    with cloudmap.open(cloud_url, "r") as db:
        assert dict(db) == {"run": {"loss": [0.5, 0.25]}, "other": 1}
    with cloudmap.open(cloud_url, "n") as db:
        assert len(db) == 0


def test_cloud_url_writeback_conflict_raises(cloud_url: str) -> None:
    """On a cloud store, writeback of a value changed elsewhere raises KeySyncError."""
    with cloudmap.open(cloud_url) as db:
        db["k"] = [1]
    mine = cloudmap.open(cloud_url, writeback=True)
    mine["k"].append("mine")
    with cloudmap.open(cloud_url) as theirs:
        theirs["k"] = ["theirs"]
    with pytest.raises(cloudmap.KeySyncError):
        mine.close()
    with cloudmap.open(cloud_url, "r") as db:
        assert db["k"] == ["theirs"]


def test_cli_copies_between_a_directory_and_a_cloud_url(
    cloud_url: str, tmp_path: Path
) -> None:
    """The CLI copies a directory to a bucket and back, and lists the bucket."""
    with cloudmap.LocalMapping(tmp_path / "src") as m:
        m.update({f"k{i}": str(i).encode() for i in range(5)})
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "NO_GCE_CHECK": "true",
    }

    def cli(*args: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cloudmap", "--json", *map(str, args)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    up = cli("copy", tmp_path / "src", cloud_url)
    assert up.returncode == 0, up.stderr
    assert json.loads(up.stdout)["copied"] == 5
    listing = cli("ls", cloud_url)
    assert [item["key"] for item in json.loads(listing.stdout)] == [
        f"k{i}" for i in range(5)
    ]
    down = cli("copy", cloud_url, tmp_path / "back")
    assert json.loads(down.stdout)["copied"] == 5
    with cloudmap.LocalMapping(tmp_path / "back") as m:
        assert m["k3"] == b"3"
