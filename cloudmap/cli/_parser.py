"""The `cloudmap` command line: its commands, arguments and help."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cloudmap._version import __version__
from cloudmap.cli import _keys
from cloudmap.cli._output import ArgumentParser
from cloudmap.cli._tools import demo as demo_command
from cloudmap.cli._tools import doctor as doctor_command
from cloudmap.cli._transfer import copy as copy_command
from cloudmap.cli._transfer import rekey as rekey_command
from cloudmap.cli._transfer import repair as repair_command

__all__ = ["build_parser"]


def _add_dask_option(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--dask",
        metavar="SCHEDULER_ADDRESS",
        help="run on this dask.distributed cluster (needs the dask extra)",
    )


def _positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        msg = f"{text!r} is not a positive integer"
        raise argparse.ArgumentTypeError(msg)
    return value


def _add_global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    """--json and --no-progress; on commands too, so they work after the command.

    A command's copy defaults to SUPPRESS, so it never overwrites a value
    given before the command.
    """
    parser.add_argument(
        "--json", action="store_true", default=default, help="print JSON for scripts"
    )
    parser.add_argument(
        "--no-progress", action="store_true", default=default, help="no progress bar"
    )


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the worker-coordination demo",
        description=(
            "Start worker processes that share one task list in a local "
            "directory: each claims tasks with create-only writes and counts "
            "them with an atomic modify, then the totals are checked. With "
            "--lock they take turns under one lease instead."
        ),
    )
    demo.add_argument(
        "--workers",
        type=_positive,
        default=4,
        help="worker processes to start (default: %(default)s)",
    )
    demo.add_argument(
        "--tasks",
        type=_positive,
        default=40,
        help="tasks the workers share (default: %(default)s)",
    )
    demo.add_argument(
        "--dir",
        help="directory to run in, kept afterwards "
        "(default: a temporary directory, removed afterwards)",
    )
    demo.add_argument(
        "--lock",
        action="store_true",
        help="workers take turns under a lease; print tokens and takeovers "
        "(default: off)",
    )
    demo.set_defaults(run=demo_command)


def _add_doctor(commands: Any) -> None:
    text = (
        "check that the server enforces every precondition cloudmap relies on "
        "(exit 0: all honoured, 1: something ignored, refused or failed)"
    )
    doctor = commands.add_parser("doctor", help=text, description=text)
    doctor.add_argument("target")
    doctor.set_defaults(run=doctor_command)


def _add_repair(commands: Any) -> None:
    repair = commands.add_parser("repair", help="bring replicas of an ini in line")
    repair.add_argument("config")
    repair.add_argument("--codec", choices=["pickle", "json", "raw"], default="pickle")
    _add_dask_option(repair)
    repair.set_defaults(run=repair_command)


def build_parser() -> argparse.ArgumentParser:
    """The `cloudmap` parser: every command, each knowing the function that runs it."""
    parser = ArgumentParser(
        prog="cloudmap",
        description=(
            "Inspect and move data in a cloudmap store (a path or URL: "
            "file://, memory://, s3://, az://, gs://, or an .ini file)."
        ),
        epilog=(
            "exit codes: 0 ok, 1 failure, 2 usage or configuration, "
            "3 key not found, 4 conflict, 5 some keys failed, 130 interrupted"
        ),
    )
    parser.add_argument("--version", action="version", version=__version__)
    _add_global_options(parser, default=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ls = commands.add_parser("ls", help="list keys")
    ls.add_argument("target")
    ls.add_argument("--prefix", default="", help="only keys starting with this")
    ls.add_argument("-l", "--long", action="store_true", help="show etags too")
    ls.set_defaults(run=_keys.ls)

    get = commands.add_parser("get", help="write a value to stdout or a file")
    get.add_argument("target")
    get.add_argument("key")
    get.add_argument("-o", "--output", help="write to this file instead of stdout")
    get.set_defaults(run=_keys.get)

    put = commands.add_parser("put", help="store a file (or - for stdin) under a key")
    put.add_argument("target")
    put.add_argument("key")
    put.add_argument("file", help="a file, or - to read stdin")
    condition = put.add_mutually_exclusive_group()
    condition.add_argument("--create", action="store_true", help="fail if it exists")
    condition.add_argument("--if-match", metavar="ETAG", help="fail unless unchanged")
    put.set_defaults(run=_keys.put)

    rm = commands.add_parser("rm", help="delete a key")
    rm.add_argument("target")
    rm.add_argument("key")
    rm.add_argument("--if-match", metavar="ETAG", help="fail unless unchanged")
    rm.set_defaults(run=_keys.rm)

    for name, text in (
        ("copy", "copy keys that differ from SOURCE to DESTINATION (resumable)"),
        ("sync", "like copy, and delete DESTINATION keys missing from SOURCE"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.add_argument("source")
        sub.add_argument("destination")
        sub.add_argument(
            "--workers", type=_positive, default=8, help="parallel requests"
        )
        sub.add_argument("--journal", type=Path, help="resume record (default: cache)")
        sub.add_argument("--no-journal", action="store_true", help="copy everything")
        sub.add_argument("--create", action="store_true", help="create the bucket")
        _add_dask_option(sub)
        sub.set_defaults(run=copy_command)

    _add_repair(commands)

    rekey = commands.add_parser(
        "rekey", help="re-encrypt every value under the current key (resumable)"
    )
    rekey.add_argument("config", help="an .ini file with an [encryption] section")
    rekey.add_argument("--workers", type=_positive, default=8, help="parallel requests")
    rekey.set_defaults(run=rekey_command)

    _add_demo(commands)
    _add_doctor(commands)

    # Last, so every command above (aliases once) takes the global options too.
    for command in {id(sub): sub for sub in commands.choices.values()}.values():
        _add_global_options(command, default=argparse.SUPPRESS)
    return parser
