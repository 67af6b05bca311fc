"""How targets name a GCS bucket, read by the store registry in `cloudmap.stores`."""

from __future__ import annotations

from types import MappingProxyType

__all__ = ["GCSNames"]


class GCSNames:
    """The URL scheme, ini names and options, and extra that `GCSStore` declares."""

    url_schemes = ("gs",)
    url_options = MappingProxyType(
        {
            "project": "project",
            "endpoint": "endpoint_url",
            "endpoint_url": "endpoint_url",
        }
    )
    ini_providers = ("gcs",)
    ini_location = ("bucket_name",)
    ini_options = MappingProxyType(
        {"project": "project", "endpoint_url": "endpoint_url"}
    )
    extra = "gcs"
