"""The commands that move many keys: `copy`, `sync`, `repair` and `rekey`."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from cloudmap import codecs
from cloudmap.cli._open import opened
from cloudmap.cli._output import EXIT_OK, bad_path, emit, failures, show_progress
from cloudmap.cli._progress import Progress
from cloudmap.config import mapping_from_config
from cloudmap.errors import ConfigError
from cloudmap.targets import is_config, resolve

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator

__all__ = ["copy", "rekey", "repair"]


def copy(args: argparse.Namespace) -> int:
    """Copy the keys that differ (`copy`), and delete extra ones too (`sync`)."""
    from cloudmap.transfer import copy_keys, default_journal  # noqa: PLC0415

    mirror = args.command == "sync"
    journal = None if args.no_journal else args.journal
    if journal is not None and journal.is_dir():
        raise bad_path("use", journal, IsADirectoryError(21, "Is a directory"))
    progress = Progress(show_progress(args), "sync" if mirror else "copy")
    try:
        with (
            opened(args.source) as (source, src_prefix),
            opened(args.destination, create=args.create, write=True) as (
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
    emit(args, report.as_dict(), text)
    return failures(args, report.failed)


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


def repair(args: argparse.Namespace) -> int:
    """Bring the replicas of an ini file in line with its primary."""
    codec = codecs.pickle() if args.codec == "pickle" else getattr(codecs, args.codec)()
    mapping = mapping_from_config(args.config, codec=codec)
    progress = Progress(show_progress(args), "repair")

    def advance(done: int, total: int) -> None:
        progress.total(total)
        progress.goto(done)

    try:
        run: Callable[..., Any] | None = getattr(mapping, "repair", None)
        if run is None:
            summary = {"lagging": 0, "copied": 0, "deleted": 0, "failed": {}}
            emit(args, summary, f"{args.config}: one store, nothing to repair")
            return EXIT_OK
        if args.dask is None:
            report = run(progress=advance)
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
    emit(args, summary, text)
    return failures(args, failed)


def rekey(args: argparse.Namespace) -> int:
    """Re-encrypt every value of each encrypted store under the current key."""
    from cloudmap.rekey import rekey as rekey_store  # noqa: PLC0415

    if not is_config(args.config):
        msg = f"{args.config}: rekey reads its keys from an .ini [encryption] section"
        raise ConfigError(msg)
    stores = [
        (c, c.encryption) for c in resolve(args.config) if c.encryption is not None
    ]
    if not stores:
        raise ConfigError(f"{args.config}: no [encryption] section to rekey with")
    totals: dict[str, Any] = {"rekeyed": 0, "current": 0, "failed": {}}
    progress = Progress(show_progress(args), "rekey")
    try:
        for config, encryption in stores:
            with contextlib.closing(config.open_store(create=False)) as store:
                report = rekey_store(
                    store,
                    encryption,
                    prefix=config.prefix,
                    workers=args.workers,
                    on_total=progress.total,
                    on_progress=progress.advance,
                )
            totals["rekeyed"] += len(report.rekeyed)
            totals["current"] += len(report.current)
            for key, reason in report.failed.items():
                totals["failed"][f"{key} on {config.section}"] = reason
    finally:
        progress.close()
    text = (
        f"rekeyed {totals['rekeyed']}, already current {totals['current']}, "
        f"failed {len(totals['failed'])}"
    )
    emit(args, totals, text)
    return failures(args, totals["failed"])
