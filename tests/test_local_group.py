"""LocalStore commits writes arriving together in one transaction, each on its own terms."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from cloudmap.errors import EtagMismatchError, KeyExistsError, NotSupportedError
from cloudmap.stores import LocalStore, Replace


def _together(calls: list[Callable[[], object]]) -> list[object]:
    """Run `calls` on as many threads released at once; each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = calls[i]()
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _temp_files(root: Path) -> list[Path]:
    return list((root / ".cloudmap" / "tmp").iterdir())


def test_concurrent_creates_of_one_key_have_one_winner(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    calls: list[Callable[[], object]] = [
        (lambda i=i: store.put("k", str(i).encode(), mode="create")) for i in range(24)
    ]
    results = _together(calls)
    won = [i for i, r in enumerate(results) if isinstance(r, str)]
    assert len(won) == 1
    assert all(isinstance(r, KeyExistsError) for r in results if r != results[won[0]])
    entry = store.get("k")
    assert entry is not None
    assert entry.data == str(won[0]).encode()
    assert entry.etag == results[won[0]]
    assert _temp_files(tmp_path) == []


def test_each_write_keeps_its_own_outcome(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    held = {f"old{i}": store.put(f"old{i}", b"before") for i in range(8)}
    calls: list[Callable[[], object]] = []
    for i in range(8):
        # Half replace with the right etag, half with a wrong one; plus new keys.
        etag = held[f"old{i}"] if i % 2 else '"wrong"'
        calls.append(
            lambda i=i, etag=etag: store.put(f"old{i}", b"after", mode=Replace(etag))
        )
        calls.append(lambda i=i: store.put(f"new{i}", b"new", mode="create"))
    calls.append(lambda: store.put("x", b"file"))
    calls.append(lambda: store.put("x/y", b"nested"))
    results = _together(calls)
    for i in range(8):
        replaced, created = results[2 * i], results[2 * i + 1]
        entry = store.get(f"old{i}")
        assert entry is not None
        if i % 2:
            assert isinstance(replaced, str)
            assert (entry.data, entry.etag) == (b"after", replaced)
        else:
            assert isinstance(replaced, EtagMismatchError)
            assert (entry.data, entry.etag) == (b"before", held[f"old{i}"])
        assert isinstance(created, str)
        assert store.get(f"new{i}") is not None
    # A file and a folder cannot share a path: exactly one of the two was refused.
    file_result, nested_result = results[-2:]
    assert isinstance(file_result, NotSupportedError) != isinstance(
        nested_result, NotSupportedError
    )
    listed = {item.key: item.etag for item in store.list()}
    assert ("x" in listed) != ("x/y" in listed)
    assert all(listed[k] == results[2 * i + 1] for i in range(8) for k in [f"new{i}"])
    assert _temp_files(tmp_path) == []
