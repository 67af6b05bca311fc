"""How targets name an S3 bucket, read by the store registry in `cloudmap.stores`."""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cloudmap.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["S3Names"]


class S3Names:
    """The URL scheme, ini names and options, and extra that `S3Store` declares."""

    url_schemes = ("s3",)
    url_options = MappingProxyType(
        {
            "endpoint": "endpoint_url",
            "endpoint_url": "endpoint_url",
            "region": "region_name",
            "access_key": "aws_access_key_id",
            "secret_key": "aws_secret_access_key",
            "session_token": "aws_session_token",
            "addressing_style": "addressing_style",
            "request_checksum_calculation": "request_checksum_calculation",
            "response_checksum_validation": "response_checksum_validation",
            "engine": "engine",
        }
    )
    ini_providers = ("aws-s3",)
    ini_location = ("bucket_name",)
    ini_options = MappingProxyType(
        {
            "auth_type": "",
            "key_id": "aws_access_key_id",
            "key_secret": "aws_secret_access_key",
            "endpoint_url": "endpoint_url",
            "region": "region_name",
            "engine": "engine",
        }
    )
    extra = "s3"

    @classmethod
    def ini_arguments(cls, values: Mapping[str, str], *, where: str) -> dict[str, Any]:
        """Check cshelve's `auth_type`; the keys are given as `key_id`/`key_secret`."""
        auth = values.get("auth_type", "access_key")
        if auth not in {"access_key", "passwordless"}:
            msg = f"{where} auth_type: {auth!r} is not one of access_key, passwordless"
            raise ConfigError(msg)
        return {}
