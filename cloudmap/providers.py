"""Mapping classes bound to one kind of store, mirroring cloud-mappings."""

from __future__ import annotations

import os
from typing import Any, TypeVar

from cloudmap.mapping import CloudMapping
from cloudmap.stores.local import LocalStore

__all__ = ["LocalMapping"]

V = TypeVar("V")


class LocalMapping(CloudMapping[V]):
    """A CloudMapping over a directory on disk (see `LocalStore`).

    Examples:
        >>> import tempfile
        >>> with LocalMapping.with_json(tempfile.mkdtemp()) as m:
        ...     m["config"] = {"workers": 4}
        ...     m["config"]["workers"]
        4
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        fsync: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(LocalStore(path, create=create, fsync=fsync), **options)
