"""Azure fixtures: a fresh Azurite container per test, reached by connection string."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import pytest

from cloudmap.stores.azure import AzureBlobStore
from devtools.emulators import drop_azure_container, make_azure_container

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from cloudmap.stores import Store


@pytest.fixture
def azure_container(azure_connection_string: str, unique_name: str) -> Iterator[str]:
    """A new, empty container on Azurite, deleted after the test."""
    yield make_azure_container(azure_connection_string, unique_name)
    drop_azure_container(azure_connection_string, unique_name)


@pytest.fixture
def azure_store_factory(
    azure_connection_string: str, azure_container: str
) -> Callable[[], Store]:
    """Picklable: each call opens a client of one fresh container; no SDK retries."""
    return functools.partial(
        AzureBlobStore,
        azure_container,
        connection_string=azure_connection_string,
        retry_total=0,
    )


@pytest.fixture
def azure_obstore_store_factory(
    azure_store_factory: Callable[[], Store],
) -> Callable[[], Store]:
    """Like azure_store_factory, on the obstore engine (reads, writes, listings)."""
    return functools.partial(azure_store_factory, engine="obstore")
