"""A Hypothesis state machine: a store under test behaves like `MemoryStore`.

`StoreStateMachine(store)` sends every call twice, to the store under test and
to a `MemoryStore` (the model), and checks that both answer alike: the same
bytes, the same metadata, the same conflicts, and the same keys listed with
the etags their writes returned. Etags differ between the two, so the machine
pairs them up; a rule may use a stale one on purpose.

```python
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
from cloudmap.testing.stateful import StoreStateMachine

def test_my_store_behaves_like_memory(store):
    run_state_machine_as_test(
        lambda: StoreStateMachine(store), settings=settings(max_examples=20)
    )
```

Each run works under a fresh key prefix and deletes what it wrote at the end,
so it can share a bucket with other data. Needs the `dev` extra (Hypothesis).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass

from cloudmap.testing._requires import require

require("hypothesis", needed_by="cloudmap.testing.stateful")

from hypothesis import strategies as st  # noqa: E402
from hypothesis.stateful import (  # noqa: E402
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
)

from cloudmap.errors import KeySyncError  # noqa: E402
from cloudmap.stores import Entry, PutMode, Replace, Store  # noqa: E402
from cloudmap.stores.memory import MemoryStore  # noqa: E402

__all__ = ["GAPS", "StoreStateMachine"]

KEYS = st.sampled_from(["a", "b", "dir/c", "dir/sub/d", "é e"])
DATA = st.binary(max_size=32)
META = "cloudmap-test"

GAPS = frozenset({"delete_if_match", "get_if_match", "get_if_none_match"})
"""Conditions an emulator may ignore; a machine told so leaves those calls out."""


@dataclass(frozen=True)
class Written:
    """One write's etag in the store under test and in the model."""

    key: str
    etag: str
    model_etag: str


def _outcome(call: object) -> object:
    """What a call returned, or the class of the conflict it raised."""
    try:
        return call() if callable(call) else call
    except KeySyncError as exc:
        return type(exc)


def _seen(entry: Entry | None) -> object:
    """What of an entry both stores must agree on (etags differ by design)."""
    if entry is None:
        return None
    if entry.not_modified:
        return "not modified"
    return entry.data, entry.metadata.get(META)


class StoreStateMachine(RuleBasedStateMachine):
    """Drives `store` and a `MemoryStore` with the same calls; they must agree.

    Args:
        store: the store under test; only keys under a fresh prefix are used.
        ignored: conditions from `GAPS` that the server is known to ignore (an
            emulator's documented gap): calls relying on them are not made.
    """

    written = Bundle("written")

    def __init__(self, store: Store, *, ignored: frozenset[str] = frozenset()) -> None:
        super().__init__()
        unknown = set(ignored) - GAPS
        if unknown:
            msg = f"unknown gaps {sorted(unknown)}; known: {sorted(GAPS)}"
            raise ValueError(msg)
        self.store = store
        self.model = MemoryStore("model")
        self.ignored = ignored
        self.prefix = f"stateful-{uuid.uuid4().hex[:12]}/"
        self.current: dict[str, Written] = {}
        # Unique bytes per write: S3's etag is the MD5 of the bytes, so a stale
        # etag of identical bytes would still match there and not in the model.
        self.counter = itertools.count()

    def _data(self, data: bytes) -> bytes:
        return data + b"#%d" % next(self.counter)

    def _both(
        self, key: str, data: bytes, mode: PutMode, model_mode: PutMode
    ) -> object:
        """Write to both, each with its own etag; record or compare the outcome."""
        data = self._data(data)
        meta = {META: "replace" if isinstance(mode, Replace) else mode}
        got = _outcome(
            lambda: self.store.put(self.prefix + key, data, mode=mode, metadata=meta)
        )
        expected = _outcome(
            lambda: self.model.put(key, data, mode=model_mode, metadata=meta)
        )
        assert isinstance(got, str) == isinstance(expected, str), (got, expected)
        if not isinstance(got, str):
            assert got is expected, (key, mode, got, expected)
            return multiple()
        assert isinstance(expected, str)
        self.current[key] = Written(key, got, expected)
        return self.current[key]

    @rule(target=written, key=KEYS, data=DATA)
    def overwrite(self, key: str, data: bytes) -> object:
        """An unconditional write."""
        return self._both(key, data, "overwrite", "overwrite")

    @rule(target=written, key=KEYS, data=DATA)
    def create(self, key: str, data: bytes) -> object:
        """A create-only write: both create, or both refuse."""
        return self._both(key, data, "create", "create")

    @rule(target=written, old=written, data=DATA)
    def replace(self, old: Written, data: bytes) -> object:
        """A write conditioned on an etag that may be current or stale."""
        return self._both(old.key, data, Replace(old.etag), Replace(old.model_etag))

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        """A plain read."""
        got = _seen(self.store.get(self.prefix + key))
        assert got == _seen(self.model.get(key)), key

    @rule(old=written)
    def get_if_match(self, old: Written) -> None:
        """A read conditioned on an etag: the value, or the same conflict."""
        if "get_if_match" in self.ignored:
            return
        got = _outcome(
            lambda: _seen(self.store.get(self.prefix + old.key, if_match=old.etag))
        )
        expected = _outcome(
            lambda: _seen(self.model.get(old.key, if_match=old.model_etag))
        )
        assert got == expected, old

    @rule(old=written)
    def get_if_none_match(self, old: Written) -> None:
        """A revalidation: "not modified" exactly when the etag is current."""
        if "get_if_none_match" in self.ignored:
            return
        got = _seen(self.store.get(self.prefix + old.key, if_none_match=old.etag))
        expected = _seen(self.model.get(old.key, if_none_match=old.model_etag))
        assert got == expected, old

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        """An unconditional delete (a missing key is fine)."""
        self.store.delete(self.prefix + key)
        self.model.delete(key)
        self.current.pop(key, None)

    @rule(old=written)
    def delete_if_match(self, old: Written) -> None:
        """A delete conditioned on an etag: both delete, or both refuse."""
        if "delete_if_match" in self.ignored:
            return
        got = _outcome(
            lambda: self.store.delete(self.prefix + old.key, if_match=old.etag)
        )
        expected = _outcome(lambda: self.model.delete(old.key, if_match=old.model_etag))
        assert got == expected, old
        if got is None:
            self.current.pop(old.key, None)

    @invariant()
    def listings_agree(self) -> None:
        """Both list the same keys, each with the etag its last write returned."""
        listed = {
            item.key.removeprefix(self.prefix): item.etag
            for item in self.store.list(self.prefix)
        }
        modelled = {item.key: item.etag for item in self.model.list()}
        assert listed == {k: w.etag for k, w in self.current.items()}
        assert modelled == {k: w.model_etag for k, w in self.current.items()}

    def teardown(self) -> None:
        """Delete what this run wrote."""
        for item in list(self.store.list(self.prefix)):
            self.store.delete(item.key)
