"""A lock object: where it lives in a store, and its JSON body."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cloudmap._reserved import LOCK_PREFIX
from cloudmap.errors import CodecError
from cloudmap.stores._protocol import validate_key

__all__ = ["LockBody", "lock_object_key"]


def lock_object_key(key_prefix: str, name: str) -> str:
    """The store key of the lock `name` taken through a mapping with `key_prefix`."""
    validate_key(name)
    return validate_key(LOCK_PREFIX + key_prefix + name)


@dataclass(frozen=True)
class LockBody:
    """The lock object's JSON body."""

    token: int
    state: str  # "held" or "released"
    ttl: float
    holder: str
    beat: int = 0

    def dumps(self) -> bytes:
        """The body as stored: JSON, keys sorted."""
        return json.dumps(self.__dict__, sort_keys=True).encode()

    @classmethod
    def loads(cls, key: str, store: str, data: bytes) -> LockBody:
        """The body stored as `data` under `key` in `store`.

        Raises:
            CodecError: `data` is not a cloudmap lock object.
        """
        try:
            raw = json.loads(data)
            body = cls(
                token=int(raw["token"]),
                state=str(raw["state"]),
                ttl=float(raw["ttl"]),
                holder=str(raw["holder"]),
                beat=int(raw.get("beat", 0)),
            )
        except (ValueError, TypeError, KeyError) as exc:
            msg = f"{key!r} in {store} is not a cloudmap lock object: {exc}"
            raise CodecError(msg) from exc
        if body.state not in {"held", "released"}:
            msg = f"{key!r} in {store} holds an unknown lock state {body.state!r}"
            raise CodecError(msg)
        return body
