"""Group commit: writes arriving together on several threads share one transaction.

A writer queues its write and, if no other thread is committing, becomes the
leader: it takes every write queued so far and commits them as one batch, so
`set_many`'s threads pay one `BEGIN IMMEDIATE ... COMMIT` per batch, not per
key. Each write keeps its own precondition and outcome (see
`LocalStore._commit_batch`). A writer alone commits its write at once.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cloudmap.stores._protocol import PutMode
    from cloudmap.stores.local._index import Row

__all__ = ["GroupCommit", "Write"]


class Write:
    """One put waiting for its commit, and its outcome once committed."""

    __slots__ = (
        "digest",
        "done",
        "error",
        "etag",
        "fd",
        "key",
        "mode",
        "name",
        "record",
        "row",
        "segments",
    )

    def __init__(
        self,
        key: str,
        segments: list[str],
        fd: int,
        name: str,
        *,
        etag: str,
        record: str,
        digest: bytes,
        mode: PutMode,
    ) -> None:
        self.key = key
        self.segments = segments
        self.fd = fd
        self.name = name
        self.etag = etag
        self.record = record
        self.digest = digest
        self.mode = mode
        self.row: Row | None = None  # set when its file was renamed over the key
        self.error: BaseException | None = None
        self.done = False


class GroupCommit:
    """Batches the writes that queue while another batch commits."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._queue: list[Write] = []
        self._leading = False
        self._pid = os.getpid()

    def commit(self, write: Write, commit_batch: Callable[[list[Write]], None]) -> None:
        """Commit `write`, alone or with others; its outcome is left on it."""
        if self._pid != os.getpid():
            # After a fork another thread may have been leading: start afresh.
            self._reset()
        with self._cond:
            self._queue.append(write)
            while self._leading and not write.done:
                self._cond.wait()
            if write.done:
                return
            self._leading = True
            batch, self._queue = self._queue, []
        try:
            commit_batch(batch)
        except BaseException as exc:  # noqa: BLE001 - every writer raises it
            for each in batch:
                if each.error is None:
                    each.error = exc
        finally:
            with self._cond:
                for each in batch:
                    each.done = True
                self._leading = False
                self._cond.notify_all()
