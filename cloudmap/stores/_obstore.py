"""What the obstore engines of the cloud stores share: path rules and error facts.

obstore (the `object_store` crate) names objects by paths of `/`-separated
segments. It refuses, or lists under another name, keys that are not such
paths, and it lists whole segments only. Each cloud store's engine sends the
keys and prefixes obstore can carry exactly through it and the others through
its provider SDK; these functions decide which. obstore reports an HTTP status
only inside its message, and a connection that never opened by its kind.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence
    from contextlib import AbstractContextManager

    from obstore import ObjectMeta

__all__ = [
    "NotAPathError",
    "check_writable",
    "is_obstore_error",
    "list_pages",
    "lists",
    "never_sent",
    "path_safe",
    "status_of",
]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STATUS = re.compile(r"status code: (\d{3})")
# object_store's error kind for a connection that never opened.
_UNSENT = "kind: Connect,"


class NotAPathError(Exception):
    """A listed key is not an obstore path: the caller lists on with the SDK."""


def path_safe(key: str) -> bool:
    """Whether obstore stores and lists `key` verbatim (no rewritten segments).

    Examples:
        >>> path_safe("a/b"), path_safe("a//b"), path_safe("./a"), path_safe("a/")
        (True, False, False, False)
    """
    if key.startswith("/") or key.endswith("/") or _CONTROL.search(key):
        return False
    return all(part not in {"", ".", ".."} for part in key.split("/"))


def lists(prefix: str) -> bool:
    """Whether obstore lists exactly the keys starting with `prefix`.

    It lists whole path segments: only no prefix, or one ending with `/`.

    Examples:
        >>> lists(""), lists("a/"), lists("a"), lists("a//")
        (True, True, False, False)
    """
    return not prefix or (prefix.endswith("/") and path_safe(prefix[:-1]))


def check_writable(key: str, *, store: str, sdk: str) -> None:
    """Refuse a key that obstore's listings would report under another name.

    Raises:
        ValueError: `key` starts or ends with `/` (obstore strips it in listings).
    """
    if key.startswith("/") or key.endswith("/"):
        msg = (
            f"key {key!r} starts or ends with '/', which obstore strips in "
            f"listings of {store}: use engine={sdk!r} for such keys"
        )
        raise ValueError(msg)


def list_pages(
    store: Any,
    prefix: str,
    *,
    chunk_size: int,
    errors: Callable[[], AbstractContextManager[None]],
) -> Iterator[Sequence[ObjectMeta]]:
    """The pages of obstore's listing under `prefix`, each fetched under `errors()`.

    Raises:
        NotAPathError: a listed key is not an obstore path; the pages before
            it were yielded.
    """
    import obstore  # noqa: PLC0415  # only a store on the obstore engine lists here

    stream = obstore.list(
        store, prefix=prefix.rstrip("/") or None, chunk_size=chunk_size
    )
    while True:
        with errors():
            try:
                page = next(stream, None)
            except obstore.exceptions.InvalidPathError as exc:
                raise NotAPathError(str(exc)) from exc
        if page is None:
            return
        yield page


def is_obstore_error(exc: BaseException) -> bool:
    """Whether `exc` is obstore's: its `BaseError`, or the builtin 404 it raises.

    obstore is loaded only by a store on the obstore engine.
    """
    errors = sys.modules.get("obstore.exceptions")
    return errors is not None and isinstance(exc, (errors.BaseError, FileNotFoundError))


def status_of(exc: BaseException) -> int | None:
    """The HTTP status an obstore error states in its message, if any."""
    found = _STATUS.search(str(exc))
    return int(found.group(1)) if found else None


def never_sent(exc: BaseException) -> bool:
    """Whether an obstore request failed before it left: its connection never opened."""
    return _UNSENT in str(exc)
