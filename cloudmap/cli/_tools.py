"""The commands that show and check: `demo` and `doctor`."""

from __future__ import annotations

import contextlib
import tempfile
from typing import TYPE_CHECKING

from cloudmap.cli._output import EXIT_ERROR, EXIT_OK, emit, show_progress
from cloudmap.cli._progress import Progress
from cloudmap.targets import resolve
from cloudmap.verify import Verdict, probe_store

if TYPE_CHECKING:
    import argparse

    from cloudmap.stores._protocol import Store

__all__ = ["demo", "doctor"]


def demo(args: argparse.Namespace) -> int:
    """Run the worker-coordination demo (or, with `--lock`, the lease demo)."""
    from cloudmap.demo import run_demo  # noqa: PLC0415

    if args.lock:
        return _lock_demo(args)

    progress = Progress(show_progress(args), "tasks claimed")
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
    emit(args, report.as_dict(), "\n".join(lines))
    return EXIT_OK if report.ok else EXIT_ERROR


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
    emit(args, report.as_dict(), "\n".join(lines))
    return EXIT_OK if report.ok else EXIT_ERROR


def doctor(args: argparse.Namespace) -> int:
    """Probe whether each store of the target enforces every precondition."""

    def probed(store: Store, prefix: str) -> Verdict:
        try:
            return probe_store(store, prefix)
        finally:
            store.close()

    verdicts = [
        probed(config.open_store(create=False), config.prefix)
        for config in resolve(args.target)
    ]
    emit(
        args,
        [v.as_dict() for v in verdicts] if len(verdicts) > 1 else verdicts[0].as_dict(),
        "\n".join(str(v) for v in verdicts),
    )
    return EXIT_OK if all(v.ok for v in verdicts) else EXIT_ERROR
