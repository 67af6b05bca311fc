"""Compressors: zlib and zstd, each with a bounded decompressed size.

A stored value is untrusted input: a few hundred kilobytes can inflate to
gigabytes. Every decompressor here stops at `max_size` bytes of output and
raises `CodecError` before allocating more.
"""

from __future__ import annotations

import threading
import zlib as _zlib
from typing import Any

from cloudmap.codecs._core import Codec
from cloudmap.codecs._optional import require

__all__ = ["DEFAULT_MAX_SIZE", "zlib", "zstd"]

DEFAULT_MAX_SIZE = 256 * 2**20
"""The largest decompressed value (256 MiB) a compressor returns by default."""


def _check_max_size(max_size: int) -> None:
    if max_size < 1:
        msg = f"max_size must be at least 1 byte, not {max_size}"
        raise ValueError(msg)


def _too_large(name: str, max_size: int) -> ValueError:
    return ValueError(
        f"{name} output exceeds max_size={max_size} bytes; "
        "pass a larger max_size to read it"
    )


def zlib(level: int = 6, *, max_size: int = DEFAULT_MAX_SIZE) -> Codec:
    """Zlib compression of the bytes produced by the codecs before it.

    Decompression stops after `max_size` bytes with `CodecError`.
    """
    if not -1 <= level <= 9:  # noqa: PLR2004
        msg = f"zlib level must be between -1 and 9, not {level}"
        raise ValueError(msg)
    _check_max_size(max_size)

    def dumps(data: bytes) -> bytes:
        return _zlib.compress(data, level)

    def loads(data: bytes) -> bytes:
        inflater = _zlib.decompressobj()
        # max_length caps the output buffer, so a bomb never gets allocated.
        out = inflater.decompress(data, max_size + 1)
        if len(out) > max_size:
            raise _too_large("zlib", max_size)
        if not inflater.eof:
            msg = "incomplete or truncated zlib stream"
            raise ValueError(msg)
        return out

    # The level is not part of the name: any level decodes with the same function.
    return Codec("zlib", ((dumps, loads),))


def zstd(level: int = 3, *, max_size: int = DEFAULT_MAX_SIZE) -> Codec:
    """Zstandard compression (the `zstd` extra): faster than zlib, often smaller.

    A value is one zstd frame. Decompression stops after `max_size` bytes with
    `CodecError`, whatever size the frame header claims.
    """
    zstandard: Any = require("zstandard", extra="zstd", codec="codecs.zstd()")
    if not -(2**17) <= level <= zstandard.MAX_COMPRESSION_LEVEL:
        msg = (
            f"zstd level must be at most {zstandard.MAX_COMPRESSION_LEVEL}, not {level}"
        )
        raise ValueError(msg)
    _check_max_size(max_size)
    # zstandard's contexts must not be shared by threads at once: one per thread.
    local = threading.local()

    def contexts() -> Any:
        if not hasattr(local, "compressor"):
            local.compressor = zstandard.ZstdCompressor(level=level)
            local.decompressor = zstandard.ZstdDecompressor()
        return local

    def dumps(data: bytes) -> bytes:
        return bytes(contexts().compressor.compress(data))

    def loads(data: bytes) -> bytes:
        decompressor = contexts().decompressor
        size = zstandard.get_frame_parameters(data).content_size
        if size == zstandard.CONTENTSIZE_UNKNOWN:
            # zstandard would allocate max_size up front: measure with a bounded
            # streaming read first, then decode (and check the frame) exactly.
            with decompressor.stream_reader(data) as reader:
                size = len(reader.read(max_size + 1))
        if size > max_size:
            raise _too_large("zstd", max_size)
        return bytes(
            decompressor.decompress(
                data, max_output_size=max(size, 1), allow_extra_data=False
            )
        )

    return Codec("zstd", ((dumps, loads),))
