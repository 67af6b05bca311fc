"""Fixtures: one `store` per provider, and picklable factories for processes."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudmap.stores import LocalStore, MemoryStore, Store
from tests.scale import CI, STRESS, Scale

pytest_plugins = [
    "tests.emulator_fixtures",
    "tests.fixtures_azure",
    "tests.fixtures_gcs",
    "tests.fixtures_s3",
]

StoreFactory = Callable[[], Store]

CLOUD_PROVIDERS = [
    pytest.param(name, marks=pytest.mark.emulator)
    for name in ("s3", "s3_obstore", "azure", "azure_obstore", "gcs")
]
PROVIDERS = ["memory", "local", *CLOUD_PROVIDERS]
PROCESS_PROVIDERS = ["local", *CLOUD_PROVIDERS]
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A subprocess environment: this checkout importable, the copy journal in tmp_path."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--stress` runs the reliability tests at the issue's full scale."""
    parser.addoption(
        "--stress",
        action="store_true",
        help="run concurrency, crash and model-based tests at full scale",
    )


@pytest.fixture(scope="session")
def scale(pytestconfig: pytest.Config) -> Scale:
    """The sizes the reliability tests run at (see tests/scale.py)."""
    return STRESS if pytestconfig.getoption("--stress") else CI


@pytest.fixture
def memory_store_factory() -> StoreFactory:
    """Every client is the same MemoryStore, as clients of one server are."""
    shared = MemoryStore("test")
    return lambda: shared


@pytest.fixture
def local_store_factory(tmp_path: Path) -> StoreFactory:
    """Clients are separate LocalStore objects on one directory."""
    return functools.partial(LocalStore, tmp_path / "store")


@pytest.fixture(params=PROVIDERS)
def store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """A factory of clients of one fresh, empty storage, for each provider."""
    factory: StoreFactory = request.getfixturevalue(f"{request.param}_store_factory")
    return factory


@pytest.fixture(params=PROCESS_PROVIDERS)
def process_store_factory(request: pytest.FixtureRequest) -> StoreFactory:
    """Like store_factory, but picklable, for stores shared across processes."""
    factory: StoreFactory = request.getfixturevalue(f"{request.param}_store_factory")
    return factory


@pytest.fixture
def store(store_factory: StoreFactory) -> Iterator[Store]:
    """A fresh, empty store of each provider."""
    client = store_factory()
    yield client
    client.close()
