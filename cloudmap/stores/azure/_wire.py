"""Keys, etags and metadata as Azure Blob Storage spells them.

Azure metadata names must be C# identifiers, so `-` is not allowed in them: our
own names (`cloudmap-codec`, lowercase words joined by `-`) are sent with `_`
instead (`cloudmap_codec`) and translated back on read. Names starting with
`cloudmap_` are therefore reserved; any other name must already be a valid
identifier. Values must be printable ASCII without leading or trailing spaces
(HTTP headers would change them).
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import TYPE_CHECKING

from cloudmap.stores._protocol import validate_key

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["check_key", "decode_metadata", "encode_metadata", "quoted"]

_OWN_WIRE_PREFIX = "cloudmap_"
_OWN_NAME = re.compile(r"cloudmap(?:-[A-Za-z0-9]+)+")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_HEADER_VALUE = re.compile(r"(?:[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?)?")


def quoted(etag: str) -> str:
    """The etag in the quoted form Azure sends in headers (`"0x8D..."`)."""
    if etag.startswith('"') or etag == "*":
        return etag
    return f'"{etag}"'


def check_key(key: str) -> None:
    """Validate `key` for every store, then refuse what Azure would alias."""
    validate_key(key)
    if "\\" in key:
        msg = f"key {key!r} holds a backslash, which Azure Blob Storage stores as '/'"
        raise ValueError(msg)
    if any(segment.endswith(".") for segment in key.split("/")):
        msg = (
            f"key {key!r} has a path segment ending with '.', which Azure Blob "
            "Storage drops or cannot sign ('.' and '..' segments fail with 403)"
        )
        raise ValueError(msg)


def encode_metadata(key: str, metadata: Mapping[str, str]) -> dict[str, str]:
    """Metadata as sent to Azure: `cloudmap-x` names become `cloudmap_x`."""
    wire: dict[str, str] = {}
    for name, value in metadata.items():
        if _OWN_NAME.fullmatch(name):
            wire_name = name.replace("-", "_")
        elif name.lower().startswith(_OWN_WIRE_PREFIX) or not _IDENTIFIER.fullmatch(
            name
        ):
            msg = (
                f"metadata name {name!r} of key {key!r} is not allowed on Azure: "
                "names must be C# identifiers, and 'cloudmap_' is reserved"
            )
            raise ValueError(msg)
        else:
            wire_name = name
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            msg = (
                f"metadata {name!r} of key {key!r} must be printable ASCII without "
                f"leading or trailing spaces, not {value!r}"
            )
            raise ValueError(msg)
        if wire_name.lower() in (existing.lower() for existing in wire):
            msg = f"metadata names of key {key!r} differ only in case ({name!r})"
            raise ValueError(msg)
        wire[wire_name] = value
    return wire


def _decode_name(name: str) -> str:
    """`cloudmap_x` back to `cloudmap-x`; other names as Azure returns them."""
    if name.lower().startswith(_OWN_WIRE_PREFIX):
        return name.replace("_", "-")
    return name


def decode_metadata(wire: Mapping[str, str] | None) -> Mapping[str, str]:
    """Metadata as read from Azure, with our own names translated back."""
    return MappingProxyType(
        {_decode_name(name): value for name, value in (wire or {}).items()}
    )
