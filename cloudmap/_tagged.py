"""A mapping's codec, with the tag check: values to stored bytes and back, per key.

Every object is written with the codec chain's name in its metadata; reading an
object tagged with another chain raises `CodecError` naming the key, so values
are never decoded with the wrong codec. Objects with no tag (written by other
tools) are decoded with the configured chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudmap.codecs import CODEC_METADATA_KEY, Codec, raw
from cloudmap.errors import CodecError

if TYPE_CHECKING:
    from cloudmap.stores._protocol import Entry

__all__ = ["TaggedCodec"]


class TaggedCodec:
    """`codec` applied for the mapping of the store named `where`."""

    def __init__(self, codec: Codec, where: str) -> None:
        self.codec = codec
        self._where = where
        self._tag = codec.name
        self._metadata = dict(codec.metadata)
        self._check = True

    def bytes_view(self) -> TaggedCodec:
        """Bytes as stored, written with this codec's tag, read whatever their tag."""
        view = TaggedCodec(raw(), self._where)
        view._tag, view._metadata, view._check = self._tag, self._metadata, False
        return view

    def metadata(self) -> dict[str, str]:
        """The metadata every write carries (the codec tag among it)."""
        return dict(self._metadata)

    def encode(self, key: str, value: Any) -> bytes:
        """The bytes stored for `value` under `key`.

        Raises:
            CodecError: the codec cannot encode the value.
        """
        try:
            return self.codec.dumps(value, key=key)
        except CodecError as exc:
            msg = f"cannot store key {key!r} in {self._where}: {exc}"
            raise CodecError(msg) from exc

    def decode(self, key: str, entry: Entry) -> Any:
        """The value `entry` holds for `key`.

        Raises:
            CodecError: the entry carries another codec's tag or does not decode.
        """
        tag = entry.metadata.get(CODEC_METADATA_KEY)
        if self._check and tag is not None and tag != self._tag:
            msg = (
                f"key {key!r} in {self._where} was written with codec {tag!r}, "
                f"but this mapping decodes with {self._tag!r}"
            )
            raise CodecError(msg)
        try:
            return self.codec.loads(entry.data, key=key, metadata=entry.metadata)
        except CodecError as exc:
            msg = f"cannot read key {key!r} from {self._where}: {exc}"
            raise CodecError(msg) from exc
