"""A Store wrapper that records every call it forwards, to count requests."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from cloudmap.stores import Entry, ListedKey, PutMode, Store


@dataclass
class Call:
    op: str
    key: str
    kwargs: dict[str, Any]
    result: Any = None


@dataclass
class RecordingStore:
    """Forwards to `inner`; each call is one request on a cloud store."""

    inner: Store
    delay: float = 0.0
    before_get: Callable[[str], None] | None = None
    calls: list[Call] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        return self.inner.name

    def _log(self, call: Call) -> Call:
        if self.delay:
            time.sleep(self.delay)
        with self._lock:
            self.calls.append(call)
        return call

    def ops(self) -> list[str]:
        with self._lock:
            return [call.op for call in self.calls]

    def reset(self) -> None:
        with self._lock:
            self.calls.clear()

    def get(
        self, key: str, *, if_match: str | None = None, if_none_match: str | None = None
    ) -> Entry | None:
        call = self._log(
            Call("get", key, {"if_match": if_match, "if_none_match": if_none_match})
        )
        if self.before_get is not None:
            self.before_get(key)
        call.result = self.inner.get(
            key, if_match=if_match, if_none_match=if_none_match
        )
        return call.result  # type: ignore[no-any-return]

    def put(
        self,
        key: str,
        data: bytes,
        *,
        mode: PutMode = "overwrite",
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        self._log(Call("put", key, {"mode": mode}))
        return self.inner.put(key, data, mode=mode, metadata=metadata)

    def delete(self, key: str, *, if_match: str | None = None) -> None:
        self._log(Call("delete", key, {"if_match": if_match}))
        self.inner.delete(key, if_match=if_match)

    def list(self, prefix: str = "") -> Iterator[ListedKey]:
        self._log(Call("list", prefix, {}))
        return self.inner.list(prefix)

    def close(self) -> None:
        self.inner.close()
