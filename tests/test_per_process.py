"""PerProcess: one object per key in a process, fresh ones in a forked child."""

from __future__ import annotations

import os
import threading

from cloudmap._per_process import PerProcess


def test_each_key_gets_one_object_made_on_first_use() -> None:
    """Every thread asking for a key gets the same object; the factory runs once."""
    made: list[str] = []

    def factory(key: str) -> object:
        made.append(key)
        return object()

    registry: PerProcess[str, object] = PerProcess(factory)
    seen: list[object] = []
    threads = [
        threading.Thread(target=lambda: seen.append(registry.get("a")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert made == ["a"]
    assert all(each is seen[0] for each in seen)
    assert registry.get("b") is not seen[0]
    assert made == ["a", "b"]


def test_a_forked_child_makes_its_own_even_if_the_lock_was_held() -> None:
    """A fork while another thread holds the registry's lock leaves the child usable."""
    entered, release = threading.Event(), threading.Event()

    def slow(key: str) -> threading.Lock:
        if key == "slow":
            entered.set()
            release.wait(10)
        return threading.Lock()

    registry: PerProcess[str, threading.Lock] = PerProcess(slow)
    parent_lock = registry.get("k")
    holder = threading.Thread(target=registry.get, args=("slow",))
    holder.start()
    entered.wait(10)
    pid = os.fork()  # the registry's lock is held by `holder` right now
    if pid == 0:
        child_lock = registry.get("k")
        os._exit(0 if child_lock is not parent_lock else 1)
    release.set()
    holder.join()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
