"""The `cloudmap` command: inspect and move data in any store.

Exit codes: 0 success; 1 a store or other failure; 2 bad usage, target or
configuration; 3 key not found; 4 conflict (the key changed: `KeySyncError`);
5 some keys failed (copy, sync, repair); 130 interrupted.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from cloudmap.cli._output import EXIT_USAGE, UsageError, describe, report
from cloudmap.cli._parser import build_parser
from cloudmap.errors import CloudMapError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    # Before parsing succeeds, --json anywhere asks for a JSON error.
    as_json = (
        "--json" in words[: words.index("--")] if "--" in words else "--json" in words
    )
    command = ""
    try:
        args = build_parser().parse_args(words)
        as_json, command = args.json, args.command
        code: int = args.run(args)
    except UsageError as exc:
        return report(str(exc), EXIT_USAGE, as_json=as_json, usage=exc.usage)
    except (KeyboardInterrupt, CloudMapError, OSError, ValueError, RuntimeError) as exc:
        message, code = describe(exc, command=command)
        return report(message, code, as_json=as_json)
    return code
