"""How keys, etags and metadata are spelled in GCS requests and responses.

An etag is an object's generation as a decimal string; user metadata travels
in `x-goog-meta-*` headers, and the codec tag in the Content-Type as well.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from cloudmap.errors import EtagMismatchError
from cloudmap.stores._common import header_metadata
from cloudmap.stores._protocol import validate_key

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CODEC_METADATA_KEY",
    "content_type",
    "generation",
    "generation_or_none",
    "response_headers",
    "user_metadata",
    "validate_gcs_key",
]

CODEC_METADATA_KEY = "cloudmap-codec"
CLOUDMAP_CONTENT_TYPE = "application/x-cloudmap"
_META_PREFIX = "x-goog-meta-"


def content_type(metadata: Mapping[str, str]) -> str:
    """Carry the codec tag in the Content-Type too, which every download returns.

    Examples:
        >>> content_type({CODEC_METADATA_KEY: "json"})
        'application/x-cloudmap; codec="json"'
    """
    codec = metadata.get(CODEC_METADATA_KEY)
    if codec is None:
        return "application/octet-stream"
    escaped = codec.replace("\\", "\\\\").replace('"', '\\"')
    return f'{CLOUDMAP_CONTENT_TYPE}; codec="{escaped}"'


def _codec_from_content_type(value: str) -> str | None:
    media_type, _, params = value.partition(";")
    if media_type.strip().lower() != CLOUDMAP_CONTENT_TYPE:
        return None
    name, _, codec = params.strip().partition("=")
    if name.strip().lower() != "codec":
        return None
    codec = codec.strip()
    if codec.startswith('"') and codec.endswith('"') and len(codec) >= 2:  # noqa: PLR2004
        codec = codec[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return codec


def response_headers(response: Any) -> dict[str, str]:
    """A response's headers with lower-case names (empty without a response)."""
    if response is None:
        return {}
    return {str(k).lower(): str(v) for k, v in response.headers.items()}


def user_metadata(headers: Mapping[str, str]) -> Mapping[str, str]:
    """User metadata from `x-goog-meta-*` headers, plus the codec in Content-Type.

    Examples:
        >>> dict(user_metadata({"x-goog-meta-a": "1", "content-type": content_type(
        ...     {CODEC_METADATA_KEY: "json"})}))
        {'a': '1', 'cloudmap-codec': 'json'}
    """
    meta = dict(header_metadata(headers, _META_PREFIX))
    codec = _codec_from_content_type(headers.get("content-type", ""))
    if codec is not None:
        meta.setdefault(CODEC_METADATA_KEY, codec)
    return MappingProxyType(meta)


def generation(key: str, etag: str | None, *, store: str) -> int | None:
    """The generation an etag names; an etag that is none can match no object."""
    if etag is None:
        return None
    number = generation_or_none(etag)
    if number is None:
        raise EtagMismatchError(key, expected_etag=etag, store=store)
    return number


def generation_or_none(etag: str | None) -> int | None:
    """The generation an etag names, or None for none or a non-number."""
    if etag is None or not etag.isdigit():
        return None
    return int(etag)


def validate_gcs_key(key: str) -> None:
    """`validate_key`, plus GCS's own rule: an object cannot be named `.` or `..`."""
    validate_key(key)
    if key in {".", ".."}:
        msg = (
            f"key {key!r} cannot be stored in GCS: objects cannot be named '.' or '..'"
        )
        raise ValueError(msg)
