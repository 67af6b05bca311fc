"""How a command opens the target it is given: the primary store and its prefix."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING

from cloudmap.errors import ConfigError
from cloudmap.stores.prefixed import PrefixedStore
from cloudmap.targets import is_config, resolve

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cloudmap.stores._protocol import Store

__all__ = ["open_target", "opened", "scoped"]


def open_target(
    target: str, *, create: bool = False, write: bool = False
) -> tuple[Store, str]:
    """Open a target; an ini file means its first (primary) store.

    A local directory written to is created when missing; a bucket only when
    `create` is asked for. Nothing is written where it would not last.
    """
    configs = resolve(target)
    primary = configs[0]
    config = is_config(target)
    if write and config and len(configs) > 1:
        msg = f"{target}: writes to a replicated config go through cloudmap.open()"
        raise ConfigError(msg)
    if write and primary.provider == "memory":
        what = "its in-memory store" if config else "a memory:// store"
        msg = (
            f"{target}: {what} lives only as long as this command, so "
            "what it writes there would vanish; write to a directory or a bucket"
        )
        raise ConfigError(msg)
    if not config and primary.provider == "local":
        if Path(primary.location).is_file():
            msg = f"{target} is a file; a local target is a directory of keys"
            raise ConfigError(msg)
        create = create or write
    store = primary.open_store(create=create, read_only=not (write or create))
    return store, primary.prefix


@contextlib.contextmanager
def opened(target: str, **options: bool) -> Iterator[tuple[Store, str]]:
    """`open_target`, closing the store afterwards."""
    store, prefix = open_target(target, **options)
    try:
        yield store, prefix
    finally:
        store.close()


@contextlib.contextmanager
def scoped(target: str, **options: bool) -> Iterator[PrefixedStore]:
    """The target's store seen through its prefix, closed on exit."""
    with opened(target, **options) as (store, prefix):
        yield PrefixedStore(store, prefix)
