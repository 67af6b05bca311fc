"""The `cloudmap` command: inspect and move data in any store.

Exit codes: 0 success; 1 a store or other failure; 2 bad usage, target or
configuration; 3 key not found; 4 conflict (the key changed: `KeySyncError`);
5 some keys failed (copy, sync, repair); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cloudmap import codecs
from cloudmap._cli_errors import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    ArgumentParser,
    NotFoundError,
    UsageError,
    describe,
    report,
)
from cloudmap._progress import Progress as _Progress
from cloudmap._version import __version__
from cloudmap.config import mapping_from_config, read_config
from cloudmap.errors import CloudMapError, ConfigError
from cloudmap.stores._protocol import replace_or_overwrite
from cloudmap.stores.prefixed import PrefixedStore
from cloudmap.targets import open_store, parse_target
from cloudmap.verify import Verdict, probe_store

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    from cloudmap.stores._protocol import PutMode, Store

__all__ = ["main"]


def _emit(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data) if args.json else text)  # noqa: T201 - the CLI's output


def _failures(args: argparse.Namespace, failed: dict[str, str]) -> int:
    """Report the keys that failed on stderr: a line each, or one JSON object."""
    if failed and args.json:
        return report(f"{len(failed)} keys failed", EXIT_PARTIAL, as_json=True)
    for where, reason in failed.items():
        print(f"cloudmap: {where}: {reason}", file=sys.stderr)  # noqa: T201
    return EXIT_PARTIAL if failed else EXIT_OK


def _show_progress(args: argparse.Namespace) -> bool:
    return not args.json and not args.no_progress and sys.stderr.isatty()


def _store(
    target: str, *, create: bool = False, write: bool = False
) -> tuple[Store, str]:
    """Open a target; an ini file means its first (primary) provider.

    A local directory written to is created when missing; a bucket only when
    `create` is asked for.
    """
    if "://" not in target and Path(target).suffix.lower() == ".ini":
        providers = read_config(target)
        if write and len(providers) > 1:
            msg = f"{target}: writes to a replicated config go through cloudmap.open()"
            raise ConfigError(msg)
        if write and providers[0].provider == "memory":
            raise ConfigError(_vanishing(target, "its in-memory store"))
        store = providers[0].open_store(create=create, read_only=not (write or create))
        return store, providers[0].prefix
    parsed = parse_target(target)
    if parsed.provider == "memory" and write:
        raise ConfigError(_vanishing(target, "a memory:// store"))
    if parsed.provider == "local" and Path(parsed.location).is_file():
        msg = f"{target} is a file; a local target is a directory of keys"
        raise ConfigError(msg)
    return open_store(
        parsed,
        create=create or (write and parsed.provider == "local"),
        read_only=not (write or create),
    )


def _vanishing(target: str, what: str) -> str:
    return (
        f"{target}: {what} lives only as long as this command, so "
        "what it writes there would vanish; write to a directory or a bucket"
    )


@contextlib.contextmanager
def _opened(target: str, **options: bool) -> Iterator[tuple[Store, str]]:
    store, prefix = _store(target, **options)
    try:
        yield store, prefix
    finally:
        store.close()


@contextlib.contextmanager
def _scoped(target: str, **options: bool) -> Iterator[PrefixedStore]:
    """The target's store seen through its prefix, closed on exit."""
    with _opened(target, **options) as (store, prefix):
        yield PrefixedStore(store, prefix)


def _ls(args: argparse.Namespace) -> int:
    with _scoped(args.target) as store:
        items = [
            {"key": item.key, "etag": item.etag} for item in store.list(args.prefix)
        ]
    if args.json:
        _emit(args, items, "")
        return EXIT_OK
    for item in items:
        _emit(
            args, item, f"{item['etag']}\t{item['key']}" if args.long else item["key"]
        )
    return EXIT_OK


def _get(args: argparse.Namespace) -> int:
    with _scoped(args.target) as store:
        entry = store.get(args.key)
    if entry is None:
        raise NotFoundError(f"key {args.key!r} not found in {args.target}")
    if args.output is not None:
        try:
            Path(args.output).write_bytes(entry.data)
        except OSError as exc:
            raise _bad_path("write", args.output, exc) from exc
    elif not args.json:
        sys.stdout.buffer.write(entry.data)
        sys.stdout.buffer.flush()
    if args.json:
        summary = {"key": args.key, "etag": entry.etag, "size": len(entry.data)}
        summary["metadata"] = dict(entry.metadata)
        _emit(args, summary, "")
    return EXIT_OK


def _bad_path(action: str, path: object, exc: OSError) -> ValueError:
    """A local file the user named cannot be used: bad usage (exit 2)."""
    return ValueError(f"cannot {action} {path}: {exc.strerror or exc}")


def _put(args: argparse.Namespace) -> int:
    try:
        data = (
            sys.stdin.buffer.read()
            if args.file == "-"
            else Path(args.file).read_bytes()
        )
    except OSError as exc:
        raise _bad_path("read", args.file, exc) from exc
    with _scoped(args.target, write=True) as store:
        mode: PutMode = "create" if args.create else replace_or_overwrite(args.if_match)
        etag = store.put(args.key, data, mode=mode)
    _emit(args, {"key": args.key, "etag": etag, "size": len(data)}, etag)
    return EXIT_OK


def _rm(args: argparse.Namespace) -> int:
    with _scoped(args.target, write=True) as store:
        etag = args.if_match
        if etag is None:
            entry = store.get(args.key)
            if entry is None:
                raise NotFoundError(f"key {args.key!r} not found in {args.target}")
            etag = entry.etag
        store.delete(args.key, if_match=etag)
    _emit(args, {"key": args.key, "deleted": True}, f"deleted {args.key}")
    return EXIT_OK


def _copy(args: argparse.Namespace) -> int:
    from cloudmap.transfer import copy_keys, default_journal  # noqa: PLC0415

    mirror = args.command == "sync"
    journal = None if args.no_journal else args.journal
    if journal is not None and journal.is_dir():
        raise _bad_path("use", journal, IsADirectoryError(21, "Is a directory"))
    progress = _Progress(_show_progress(args), "sync" if mirror else "copy")
    try:
        with (
            _opened(args.source) as (source, src_prefix),
            _opened(args.destination, create=args.create, write=True) as (
                destination,
                dst_prefix,
            ),
            _dask_client(args.dask) as client,
        ):
            if journal is None and not args.no_journal:
                journal = default_journal(
                    source.name + src_prefix, destination.name + dst_prefix
                )
            options: dict[str, Any] = {
                "delete_extra": mirror,
                "journal": journal,
                "workers": args.workers,
                "on_total": progress.total,
                "on_progress": progress.advance,
            }
            if client is None:
                options |= {
                    "source_prefix": src_prefix,
                    "destination_prefix": dst_prefix,
                }
                report = copy_keys(source, destination, **options)
            else:  # the workers open the targets themselves
                report = copy_keys(
                    args.source, args.destination, client=client, **options
                )
    finally:
        progress.close()
    text = (
        f"copied {len(report.copied)}, skipped {len(report.skipped)}, "
        f"deleted {len(report.deleted)}, failed {len(report.failed)}"
    )
    _emit(args, report.as_dict(), text)
    return _failures(args, report.failed)


@contextlib.contextmanager
def _dask_client(address: str | None) -> Iterator[Any]:
    """A client of the dask scheduler at `address` (`--dask`), or None without it."""
    if address is None:
        yield None
        return
    from cloudmap.dask._copy import connect  # noqa: PLC0415 - needs the dask extra

    with connect(address) as client:
        yield client


def _repair_on_cluster(
    address: str, config: str, progress: Callable[[int, int], None]
) -> Any:
    from cloudmap.dask._repair import repair_on_cluster  # noqa: PLC0415 - optional

    with _dask_client(address) as client:
        return repair_on_cluster(client, config, progress=progress)


def _repair(args: argparse.Namespace) -> int:
    codec = codecs.pickle() if args.codec == "pickle" else getattr(codecs, args.codec)()
    mapping = mapping_from_config(args.config, codec=codec)
    progress = _Progress(_show_progress(args), "repair")

    def advance(done: int, total: int) -> None:
        progress.total(total)
        progress.goto(done)

    try:
        repair: Callable[..., Any] | None = getattr(mapping, "repair", None)
        if repair is None:
            summary = {"lagging": 0, "copied": 0, "deleted": 0, "failed": {}}
            _emit(args, summary, f"{args.config}: one provider, nothing to repair")
            return EXIT_OK
        if args.dask is None:
            report = repair(progress=advance)
        else:
            report = _repair_on_cluster(args.dask, args.config, advance)
    finally:
        progress.close()
        close = getattr(mapping, "close", None)
        if close is not None:
            close()
    failed = {
        f"{key} on {name}": str(exc) for (key, name), exc in report.failed.items()
    }
    summary = {
        "lagging": report.lagging,
        "copied": len(report.copied),
        "deleted": len(report.deleted),
        "failed": failed,
    }
    text = (
        f"{report.lagging} lagging keys: copied {len(report.copied)}, "
        f"deleted {len(report.deleted)}, failed {len(failed)}"
    )
    _emit(args, summary, text)
    return _failures(args, failed)


def _lock_demo(args: argparse.Namespace) -> int:
    from cloudmap.demo import run_lock_demo  # noqa: PLC0415

    with contextlib.ExitStack() as stack:
        directory = args.dir or stack.enter_context(tempfile.TemporaryDirectory())
        report = run_lock_demo(directory, workers=args.workers)
    header = (
        f"{report.workers} worker processes took turns under one lease "
        f"in {report.seconds:.2f} s"
    )
    verdict = (
        "tokens 1..n, one holder at a time, every killed holder taken over"
        if report.ok
        else "MISMATCH: see tokens"
    )
    lines = [header, *report.lines(), f"counter: {report.counter}", verdict]
    _emit(args, report.as_dict(), "\n".join(lines))
    return EXIT_OK if report.ok else EXIT_ERROR


def _rekey(args: argparse.Namespace) -> int:
    from cloudmap.rekey import rekey  # noqa: PLC0415

    if "://" in args.config or Path(args.config).suffix.lower() != ".ini":
        msg = f"{args.config}: rekey reads its keys from an .ini [encryption] section"
        raise ConfigError(msg)
    providers = [
        (p, p.encryption) for p in read_config(args.config) if p.encryption is not None
    ]
    if not providers:
        raise ConfigError(f"{args.config}: no [encryption] section to rekey with")
    totals: dict[str, Any] = {"rekeyed": 0, "current": 0, "failed": {}}
    progress = _Progress(_show_progress(args), "rekey")
    try:
        for provider, encryption in providers:
            with contextlib.closing(provider.open_store(create=False)) as store:
                report = rekey(
                    store,
                    encryption,
                    prefix=provider.prefix,
                    workers=args.workers,
                    on_total=progress.total,
                    on_progress=progress.advance,
                )
            totals["rekeyed"] += len(report.rekeyed)
            totals["current"] += len(report.current)
            for key, reason in report.failed.items():
                totals["failed"][f"{key} on {provider.section}"] = reason
    finally:
        progress.close()
    text = (
        f"rekeyed {totals['rekeyed']}, already current {totals['current']}, "
        f"failed {len(totals['failed'])}"
    )
    _emit(args, totals, text)
    return _failures(args, totals["failed"])


def _demo(args: argparse.Namespace) -> int:
    from cloudmap.demo import run_demo  # noqa: PLC0415

    if args.lock:
        return _lock_demo(args)

    progress = _Progress(_show_progress(args), "tasks claimed")
    progress.total(args.tasks)
    try:
        with contextlib.ExitStack() as stack:
            directory = args.dir or stack.enter_context(tempfile.TemporaryDirectory())
            report = run_demo(
                directory,
                workers=args.workers,
                tasks=args.tasks,
                on_progress=progress.goto,
            )
    finally:
        progress.close()
    runs = sum(report.runs_per_worker.values())
    where = report.directory if args.dir else "a temporary directory"
    header = (
        f"{report.workers} worker processes shared {report.tasks} tasks "
        f"in {report.seconds:.2f} s ({where})"
    )
    totals = (
        f"claims: {report.claims}, counter: {report.counter}, runs: {runs}, "
        f"tasks: {report.tasks}"
    )
    verdict = "every task ran exactly once" if report.ok else "MISMATCH: see counts"
    lines = [
        header,
        *(f"  {name} ran {n} tasks" for name, n in report.runs_per_worker.items()),
        totals,
        verdict,
    ]
    _emit(args, report.as_dict(), "\n".join(lines))
    return EXIT_OK if report.ok else EXIT_ERROR


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


def _doctor(args: argparse.Namespace) -> int:
    """Probe whether the target's server enforces every precondition."""

    def probed(store: Store, prefix: str) -> Verdict:
        try:
            return probe_store(store, prefix)
        finally:
            store.close()

    target: str = args.target
    if "://" not in target and Path(target).suffix.lower() == ".ini":
        verdicts = [
            probed(provider.open_store(create=False), provider.prefix)
            for provider in read_config(target)
        ]
    else:
        verdicts = [probed(*open_store(parse_target(target)))]
    _emit(
        args,
        [v.as_dict() for v in verdicts] if len(verdicts) > 1 else verdicts[0].as_dict(),
        "\n".join(str(v) for v in verdicts),
    )
    return EXIT_OK if all(v.ok for v in verdicts) else EXIT_ERROR


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
    demo.set_defaults(run=_demo)


def _add_doctor(commands: Any) -> None:
    text = (
        "check that the server enforces every precondition cloudmap relies on "
        "(exit 0: all honoured, 1: something ignored, refused or failed)"
    )
    doctor = commands.add_parser("doctor", help=text, description=text)
    doctor.add_argument("target")
    doctor.set_defaults(run=_doctor)


def _add_repair(commands: Any) -> None:
    repair = commands.add_parser("repair", help="bring replicas of an ini in line")
    repair.add_argument("config")
    repair.add_argument("--codec", choices=["pickle", "json", "raw"], default="pickle")
    _add_dask_option(repair)
    repair.set_defaults(run=_repair)


def _parser() -> argparse.ArgumentParser:
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
    ls.set_defaults(run=_ls)

    get = commands.add_parser("get", help="write a value to stdout or a file")
    get.add_argument("target")
    get.add_argument("key")
    get.add_argument("-o", "--output", help="write to this file instead of stdout")
    get.set_defaults(run=_get)

    put = commands.add_parser("put", help="store a file (or - for stdin) under a key")
    put.add_argument("target")
    put.add_argument("key")
    put.add_argument("file", help="a file, or - to read stdin")
    condition = put.add_mutually_exclusive_group()
    condition.add_argument("--create", action="store_true", help="fail if it exists")
    condition.add_argument("--if-match", metavar="ETAG", help="fail unless unchanged")
    put.set_defaults(run=_put)

    rm = commands.add_parser("rm", help="delete a key")
    rm.add_argument("target")
    rm.add_argument("key")
    rm.add_argument("--if-match", metavar="ETAG", help="fail unless unchanged")
    rm.set_defaults(run=_rm)

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
        sub.set_defaults(run=_copy)

    _add_repair(commands)

    rekey = commands.add_parser(
        "rekey", help="re-encrypt every value under the current key (resumable)"
    )
    rekey.add_argument("config", help="an .ini file with an [encryption] section")
    rekey.add_argument("--workers", type=_positive, default=8, help="parallel requests")
    rekey.set_defaults(run=_rekey)

    _add_demo(commands)
    _add_doctor(commands)

    # Last, so every command above (aliases once) takes the global options too.
    for command in {id(sub): sub for sub in commands.choices.values()}.values():
        _add_global_options(command, default=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    words = list(sys.argv[1:] if argv is None else argv)
    # Before parsing succeeds, --json anywhere asks for a JSON error.
    as_json = (
        "--json" in words[: words.index("--")] if "--" in words else "--json" in words
    )
    command = ""
    try:
        args = _parser().parse_args(words)
        as_json, command = args.json, args.command
        code: int = args.run(args)
    except UsageError as exc:
        return report(str(exc), EXIT_USAGE, as_json=as_json, usage=exc.usage)
    except (KeyboardInterrupt, CloudMapError, OSError, ValueError, RuntimeError) as exc:
        message, code = describe(exc, command=command)
        return report(message, code, as_json=as_json)
    return code
