"""The `Codec` type: named steps between values and bytes, composed with `|`."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

from cloudmap.errors import CodecError

__all__ = ["CODEC_METADATA_KEY", "Codec", "KeyedStep", "Step"]

CODEC_METADATA_KEY = "cloudmap-codec"
"""The object metadata entry that records which codec chain wrote a value."""


class KeyedStep(abc.ABC):
    """A codec step that sees the object's key and metadata, such as encryption.

    `metadata` holds the entries every object written through this step
    carries (beside the codec tag); `load` gets the metadata the object was
    read with. A chain holding a keyed step needs `key=` in `dumps` and `loads`,
    which a `CloudMapping` always passes: the key as the mapping names it,
    without its `key_prefix`.
    """

    metadata: Mapping[str, str] = MappingProxyType({})

    @abc.abstractmethod
    def dump(self, data: Any, key: str) -> Any:
        """Encode `data`, the output of the steps before, for the object `key`."""

    @abc.abstractmethod
    def load(self, data: Any, key: str, metadata: Mapping[str, str]) -> Any:
        """Decode what `dump` wrote for `key`; raise on anything else."""


Step: TypeAlias = tuple[Callable[[Any], Any], Callable[[Any], Any]] | KeyedStep


@dataclass(frozen=True)
class Codec:
    """A named chain of steps between values and bytes.

    A step is a `(dump, load)` pair of functions or a `KeyedStep`. `dumps`
    runs the steps left to right, `loads` runs them right to left. Failures
    of either raise `CodecError`; the mapping adds the key to it.

    Examples:
        >>> from cloudmap.codecs import json, zlib
        >>> chain = json() | zlib(9)
        >>> chain.name
        'json|zlib'
        >>> chain.loads(chain.dumps({"a": 1}))
        {'a': 1}
    """

    name: str
    steps: tuple[Step, ...]

    @property
    def keyed(self) -> bool:
        """Whether a step needs the object's key (`dumps`/`loads` need `key=`)."""
        return any(isinstance(step, KeyedStep) for step in self.steps)

    @property
    def metadata(self) -> Mapping[str, str]:
        """The metadata every object written by this chain carries: its tag first."""
        entries = {CODEC_METADATA_KEY: self.name}
        for step in self.steps:
            if isinstance(step, KeyedStep):
                entries.update(step.metadata)
        return entries

    def dumps(self, value: Any, *, key: str | None = None) -> bytes:
        """Encode `value` to bytes; `key` is the object's key, for keyed steps."""
        self._check_key(key)
        for step in self.steps:
            try:
                if isinstance(step, KeyedStep):
                    value = step.dump(value, key or "")
                else:
                    value = step[0](value)
            except Exception as exc:
                msg = f"codec {self.name!r} cannot encode {type(value).__name__}: {exc}"
                raise CodecError(msg) from exc
        if not isinstance(value, bytes | bytearray | memoryview):
            msg = (
                f"codec {self.name!r} produced {type(value).__name__}, not bytes; "
                "end the chain with a codec that returns bytes"
            )
            raise CodecError(msg)
        return bytes(value)

    def loads(
        self,
        data: bytes,
        *,
        key: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Any:
        """Decode bytes written by `dumps`, given the object's key and metadata."""
        self._check_key(key)
        value: Any = data
        for step in reversed(self.steps):
            try:
                if isinstance(step, KeyedStep):
                    value = step.load(value, key or "", metadata or {})
                else:
                    value = step[1](value)
            except Exception as exc:
                msg = f"codec {self.name!r} cannot decode the stored bytes: {exc}"
                raise CodecError(msg) from exc
        return value

    def _check_key(self, key: str | None) -> None:
        if key is None and self.keyed:
            msg = (
                f"codec {self.name!r} binds each value to its key: pass key= "
                "(a CloudMapping does)"
            )
            raise CodecError(msg)

    def __or__(self, other: Codec) -> Codec:
        if not isinstance(other, Codec):
            return NotImplemented
        return Codec(f"{self.name}|{other.name}", self.steps + other.steps)

    @classmethod
    def chain(
        cls,
        dumps: Sequence[Callable[[Any], Any]],
        loads: Sequence[Callable[[Any], Any]],
        *,
        name: str | None = None,
    ) -> Codec:
        """Build a codec from user functions, like cloud-mappings' `with_buffers`.

        `dumps` are applied in order when writing; `loads` in order when reading
        (so `loads` is usually `dumps`' inverses reversed). The default name is
        built from the functions' qualified names, so it is stable across runs.

        Examples:
            >>> import base64
            >>> c = Codec.chain([str.encode, base64.b64encode],
            ...                 [base64.b64decode, bytes.decode])
            >>> c.loads(c.dumps("hi"))
            'hi'
        """
        if len(dumps) != len(loads):
            msg = f"dumps has {len(dumps)} functions but loads has {len(loads)}"
            raise ValueError(msg)
        if name is None:
            name = "+".join(_qualname(fn) for fn in dumps) or "identity"
        # Stored as one step: dumps run forwards, loads run in the order given.
        return cls(name, ((_compose(dumps), _compose(loads)),))


def _qualname(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or ""
    qualname = getattr(fn, "__qualname__", None) or type(fn).__name__
    return f"{module}.{qualname}" if module not in {"", "builtins"} else qualname


def _compose(functions: Sequence[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def apply(value: Any) -> Any:
        for fn in functions:
            value = fn(value)
        return value

    return apply
