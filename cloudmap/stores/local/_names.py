"""Which names are keys of a LocalStore: the rules a key must meet to name a file.

A key's `/` separates folders; its segments may not escape the root, alias
another key or name the store's own folder, and must fit the file system's
limits. A file found on disk whose name breaks a rule is no key: a listing
skips it with one warning.
"""

from __future__ import annotations

import logging

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "SYSTEM_DIR",
    "key_problem",
    "skip_key",
]

SYSTEM_DIR = ".cloudmap"
MAX_SEGMENT_BYTES = 255
MAX_KEY_BYTES = 1024
_LOG = logging.getLogger("cloudmap")


def key_problem(key: str) -> str | None:  # noqa: PLR0911 - one reason each
    """Why `key` cannot name a file under the root, or None when it can."""
    if "\\" in key:
        return "holds a backslash, a path separator on Windows"
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return "is not valid UTF-8"
    if size > MAX_KEY_BYTES:
        return f"is over {MAX_KEY_BYTES} UTF-8 bytes"
    segments = key.split("/")
    if segments[0] == SYSTEM_DIR:
        return f"starts with {SYSTEM_DIR!r}, reserved for LocalStore's own files"
    for segment in segments:
        if segment in {"", ".", ".."}:
            return (
                "has empty, '.' or '..' path segments (or a leading or trailing "
                "'/'), which would escape the root or alias another key"
            )
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            return (
                f"has a path segment over {MAX_SEGMENT_BYTES} bytes (file-name limit)"
            )
    return None


def skip_key(key: str, warned: set[str]) -> bool:
    """Whether a listing skips the file `key`: no valid key (warned once per key)."""
    problem = key_problem(key)
    if problem is None:
        return False
    if key not in warned:
        warned.add(key)
        _LOG.warning("skipping %r: the name %s, so it is no key", key, problem)
    return True
