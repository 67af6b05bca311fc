"""What `open_async` runs in a thread: open the synchronous mapping of a target."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cloudmap.config import mapping_from_config
from cloudmap.errors import ConfigError
from cloudmap.mapping import CloudMapping
from cloudmap.shelf import _codec
from cloudmap.stores._protocol import Store
from cloudmap.targets import is_config, open_for_mapping

if TYPE_CHECKING:
    from cloudmap.codecs import Codec

__all__ = ["open_mapping"]


def open_mapping(
    target: str | os.PathLike[str] | Store,
    codec: str | Codec,
    create: bool,
    options: dict[str, Any],
) -> CloudMapping[Any]:
    """The synchronous mapping `open_async` opens, with its store.

    Raises:
        ConfigError: the target is invalid, or an ini file names several
            stores or comes with options.
    """
    chain = _codec(codec, None)
    if isinstance(target, Store):
        return CloudMapping(target, codec=chain, **options)
    if is_config(target):
        if options:
            msg = f"{os.fspath(target)}: mapping options come from the ini file"
            raise ConfigError(msg)
        mapping = mapping_from_config(target, codec=chain, create=create)
        if not isinstance(mapping, CloudMapping):
            close = getattr(mapping, "close", None)
            if close is not None:
                close()
            msg = (
                f"{os.fspath(target)}: several stores; replicated configs have "
                "no async facade, open them with cloudmap.open()"
            )
            raise ConfigError(msg)
        return mapping
    store, arguments = open_for_mapping(os.fspath(target), chain, create=create)
    try:
        return CloudMapping(store, **(arguments | options))
    except BaseException:
        store.close()
        raise
