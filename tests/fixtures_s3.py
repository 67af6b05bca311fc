"""Pytest plugin: S3 stores on the moto server, a fresh bucket per test."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import pytest
from botocore.config import Config

from cloudmap.stores.s3 import S3Store
from devtools.emulators import make_s3_bucket

if TYPE_CHECKING:
    from collections.abc import Callable

    from cloudmap.stores import Store

# moto accepts any credentials; these keep the developer's own out of the tests.
MOTO_CREDENTIALS: dict[str, Any] = {
    "region_name": "us-east-1",
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
# No retries inside botocore, so every outcome of a race is seen as it happened.
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def s3_bucket(s3_endpoint: str, unique_name: str) -> str:
    """A fresh, empty bucket on the moto server."""
    return make_s3_bucket(s3_endpoint, unique_name)


@pytest.fixture
def s3_store_factory(s3_endpoint: str, s3_bucket: str) -> Callable[[], Store]:
    """A picklable factory of S3Store clients of one fresh bucket."""
    return functools.partial(
        S3Store,
        s3_bucket,
        endpoint_url=s3_endpoint,
        config=NO_RETRIES,
        **MOTO_CREDENTIALS,
    )


@pytest.fixture
def s3_obstore_store_factory(
    s3_store_factory: Callable[[], Store],
) -> Callable[[], Store]:
    """Like s3_store_factory, on the obstore engine (reads, writes, listings)."""
    return functools.partial(s3_store_factory, engine="obstore")
