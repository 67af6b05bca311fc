"""Authenticated encryption of values: AES-256-GCM with rotating key ids.

Stored layout of one value (`version` 1)::

    version (1 byte) | id length (1 byte) | key id (ASCII) | nonce (12 bytes)
    | ciphertext | GCM tag (16 bytes)

The header (version, key id) and the object's key as the mapping names it
are the associated data: a value moved under another key, or a header edited
to name another key id, fails authentication. The key id is also written to
the object metadata (`cloudmap-key-id`) so tools can see it without
decrypting; reads take it from the authenticated header, so a value still
decrypts after a copy that drops metadata.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from cloudmap.codecs._core import Codec, KeyedStep
from cloudmap.codecs._optional import require

__all__ = ["KEY_ID_METADATA_KEY", "encrypted", "key_bytes", "stored_key_id"]

KEY_ID_METADATA_KEY = "cloudmap-key-id"
"""The object metadata entry naming the key id a value was encrypted with."""

_VERSION = 1
_NONCE = 12
_TAG = 16
_KEY_SIZE = 32
_KEY_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def key_bytes(key: bytes | str, *, key_id: str) -> bytes:
    """A 32-byte AES-256 key, from bytes or their base64 text.

    Raises:
        ValueError: not 32 bytes, or not base64; the message never shows the key.
    """
    if isinstance(key, str):
        try:
            key = base64.b64decode(key.strip(), validate=True)
        except (binascii.Error, ValueError):
            msg = f"key {key_id!r} is not valid base64"
            raise ValueError(msg) from None
    if len(key) != _KEY_SIZE:
        msg = f"key {key_id!r} has {len(key)} bytes; AES-256 needs {_KEY_SIZE}"
        raise ValueError(msg)
    return bytes(key)


def stored_key_id(data: bytes) -> str | None:
    """The key id in the header of a value `encrypted()` wrote, or None.

    Read without decrypting, so nothing is authenticated yet.
    """
    end = 2 + data[1] if len(data) > 1 else 2
    if data[:1] != bytes([_VERSION]) or len(data) < end + _NONCE + _TAG:
        return None
    return data[2:end].decode("ascii", errors="replace")


class _AESGCM(KeyedStep):
    """The encryption step; its repr names key ids, never keys."""

    def __init__(self, keys: Mapping[str, bytes | str]) -> None:
        aead: Any = require(
            "cryptography.hazmat.primitives.ciphers.aead",
            extra="crypto",
            codec="codecs.encrypted()",
        )
        if not keys:
            msg = "encrypted() needs at least one key"
            raise ValueError(msg)
        self._ciphers: dict[str, Any] = {}
        for key_id, key in keys.items():
            if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
                msg = (
                    f"key id {key_id!r} must be 1 to 64 characters among "
                    "letters, digits, '.', '_' and '-'"
                )
                raise ValueError(msg)
            self._ciphers[key_id] = aead.AESGCM(key_bytes(key, key_id=key_id))
        self.current = next(iter(self._ciphers))
        self._header = bytes([_VERSION, len(self.current)]) + self.current.encode()
        self.metadata = MappingProxyType({KEY_ID_METADATA_KEY: self.current})
        self._invalid_tag: type[Exception] = require(
            "cryptography.exceptions", extra="crypto", codec="codecs.encrypted()"
        ).InvalidTag

    def __repr__(self) -> str:
        return f"<aes256gcm current={self.current!r} key_ids={list(self._ciphers)!r}>"

    def dump(self, data: Any, key: str) -> bytes:
        nonce = os.urandom(_NONCE)
        associated = self._header + key.encode("utf-8")
        sealed: bytes = self._ciphers[self.current].encrypt(nonce, data, associated)
        return self._header + nonce + sealed

    def load(self, data: Any, key: str, metadata: Mapping[str, str]) -> bytes:
        data = bytes(data)
        key_id = stored_key_id(data)
        if key_id is None:
            msg = "the value is not encrypted by cloudmap, or is truncated"
            raise ValueError(msg)
        end = 2 + len(key_id)
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(self._ciphers)
            msg = f"the value is encrypted with key id {key_id!r}, not one of: {known}"
            raise ValueError(msg)
        stored_id = metadata.get(KEY_ID_METADATA_KEY, key_id)
        if stored_id != key_id:
            msg = f"metadata names key id {stored_id!r} but the value uses {key_id!r}"
            raise ValueError(msg)
        nonce, sealed = data[end : end + _NONCE], data[end + _NONCE :]
        try:
            plain: bytes = cipher.decrypt(nonce, sealed, data[:end] + key.encode())
        except self._invalid_tag:
            msg = (
                f"authentication failed with key id {key_id!r}: the value was "
                "tampered with, truncated, written under another key, or the key "
                "is wrong"
            )
            raise ValueError(msg) from None
        return plain


def encrypted(keys: Mapping[str, bytes | str]) -> Codec:
    """AES-256-GCM encryption of the bytes before it (the `crypto` extra).

    `keys` maps key ids to 32-byte keys (bytes, or base64 text); new values use
    the first, reads use the id stored with each value, so keys can rotate:
    put the new key first and keep the old ones until `cloudmap rekey` has
    re-encrypted everything. Each value gets a random 96-bit nonce and is
    bound to its key; a wrong or missing key, a tampered or truncated value,
    or a value copied under another key raises `CodecError`.

    Examples:
        >>> import os
        >>> c = encrypted({"2026-01": os.urandom(32)})
        >>> c.loads(c.dumps(b"secret", key="k"), key="k")
        b'secret'
        >>> c.steps
        (<aes256gcm current='2026-01' key_ids=['2026-01']>,)
    """
    return Codec("aes256gcm", (_AESGCM(keys),))
