"""What the `cloudmap` command prints: results, and failures as one line and a code.

Library messages speak to Python callers ("pass create=True", "call
sync_with_cloud()"); the command rewrites the ones a CLI user meets into its own
terms, from the exception's attributes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, NoReturn

from cloudmap.errors import (
    CloudMapError,
    ConfigError,
    ContainerNotFoundError,
    KeyExistsError,
    KeySyncError,
)

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "EXIT_CONFLICT",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "ArgumentParser",
    "NotFoundError",
    "UsageError",
    "bad_path",
    "describe",
    "emit",
    "failures",
    "report",
    "show_progress",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_CONFLICT, EXIT_PARTIAL = range(6)
EXIT_INTERRUPTED = 130


class NotFoundError(CloudMapError):
    """The key asked for does not exist."""


class UsageError(Exception):
    """The command line itself is wrong; `usage` is the parser's usage line."""

    def __init__(self, message: str, usage: str) -> None:
        self.usage = usage
        super().__init__(message)


class ArgumentParser(argparse.ArgumentParser):
    """An argparse parser that raises `UsageError` instead of exiting.

    So `main` reports a usage error like any other: as one JSON object with
    `--json`, and with exit code 2.
    """

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, self.format_usage())


# Failures whose own message is already right for a CLI user, with their code.
# ConfigError covers missing SDKs and credentials; a plain ValueError is a key
# or value the store cannot take. First match wins.
_AS_IS: tuple[tuple[type[BaseException], int], ...] = (
    (UsageError, EXIT_USAGE),
    (NotFoundError, EXIT_NOT_FOUND),
    (ConfigError, EXIT_USAGE),
)


# How each command that writes can create a missing bucket.
_CREATE_HINTS = {
    "copy": " (add --create to create it)",
    "sync": " (add --create to create it)",
    "put": " (add ?create=true to the URL to create it)",
}


def describe(exc: BaseException, *, command: str) -> tuple[str, int]:
    """The one-line message and exit code for `exc` raised by `command`."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", EXIT_INTERRUPTED
    for kind, code in _AS_IS:
        if isinstance(exc, kind):
            return str(exc), code
    if isinstance(exc, KeySyncError):
        return _conflict(exc), EXIT_CONFLICT
    if isinstance(exc, ContainerNotFoundError):
        where = exc.store or "the bucket"
        return f"{where} does not exist{_CREATE_HINTS.get(command, '')}", EXIT_ERROR
    if isinstance(exc, ValueError) and not isinstance(exc, CloudMapError):
        return str(exc), EXIT_USAGE
    return f"{type(exc).__name__}: {exc}", EXIT_ERROR


def _conflict(exc: KeySyncError) -> str:
    where = f" in {exc.store}" if exc.store else ""
    if isinstance(exc, KeyExistsError):
        return f"key {exc.key!r}{where} already exists (--create never replaces it)"
    now = (
        f"it is now {exc.actual_etag!r}"
        if exc.actual_etag
        else "it changed or was deleted"
    )
    return (
        f"key {exc.key!r}{where} changed since etag {exc.expected_etag!r} ({now}); "
        "`cloudmap ls --long TARGET` shows the current etags"
    )


def report(message: str, code: int, *, as_json: bool, usage: str = "") -> int:
    """Print `message` on stderr (JSON with `as_json`); return `code`."""
    if as_json:
        document = {"error": message, "exit_code": code}
        print(json.dumps(document), file=sys.stderr)  # noqa: T201
    else:
        print(f"{usage}cloudmap: error: {message}", file=sys.stderr)  # noqa: T201
    return code


def emit(args: argparse.Namespace, data: object, text: str) -> None:
    """Print a result: `data` as JSON with `--json`, else `text`."""
    print(json.dumps(data) if args.json else text)  # noqa: T201 - the CLI's output


def failures(args: argparse.Namespace, failed: dict[str, str]) -> int:
    """Report the keys that failed on stderr: a line each, or one JSON object."""
    if failed and args.json:
        return report(f"{len(failed)} keys failed", EXIT_PARTIAL, as_json=True)
    for where, reason in failed.items():
        print(f"cloudmap: {where}: {reason}", file=sys.stderr)  # noqa: T201
    return EXIT_PARTIAL if failed else EXIT_OK


def show_progress(args: argparse.Namespace) -> bool:
    """Whether to draw a progress bar: on a terminal, without --json, --no-progress."""
    return not args.json and not args.no_progress and sys.stderr.isatty()


def bad_path(action: str, path: str | Path, exc: OSError) -> ValueError:
    """A local file the user named cannot be used: bad usage (exit 2)."""
    return ValueError(f"cannot {action} {path}: {exc.strerror or exc}")
