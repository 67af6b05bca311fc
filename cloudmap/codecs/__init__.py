"""Codecs turn values into bytes and back; they compose left to right with `|`.

The standard-library codecs (`raw`, `pickle`, `json`, `text`, `zlib`) are
always there; `zstd` (extra `zstd`), `msgpack`, `json(fast=True)` and `model`
(extra `msgpack`, or pydantic for pydantic models) and `encrypted` (extra
`crypto`) import their package when first built, and name the extra to
install when it is missing.

Examples:
    >>> chain = json() | zlib(9)
    >>> chain.name
    'json|zlib'
    >>> chain.loads(chain.dumps({"a": 1}))
    {'a': 1}
"""

from __future__ import annotations

from cloudmap.codecs._builtin import json, pickle, raw, text
from cloudmap.codecs._compression import DEFAULT_MAX_SIZE, zlib, zstd
from cloudmap.codecs._core import CODEC_METADATA_KEY, Codec, KeyedStep, Step
from cloudmap.codecs._crypto import KEY_ID_METADATA_KEY, encrypted
from cloudmap.codecs._msgspec import model, msgpack

__all__ = [
    "CODEC_METADATA_KEY",
    "Codec",
    "DEFAULT_MAX_SIZE",
    "encrypted",
    "json",
    "KEY_ID_METADATA_KEY",
    "KeyedStep",
    "model",
    "msgpack",
    "pickle",
    "raw",
    "Step",
    "text",
    "zlib",
    "zstd",
]
