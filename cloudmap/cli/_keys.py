"""The commands on single keys: `ls`, `get`, `put` and `rm`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cloudmap.cli._open import scoped
from cloudmap.cli._output import EXIT_OK, NotFoundError, bad_path, emit
from cloudmap.stores._protocol import replace_or_overwrite

if TYPE_CHECKING:
    import argparse

    from cloudmap.stores._protocol import PutMode

__all__ = ["get", "ls", "put", "rm"]


def ls(args: argparse.Namespace) -> int:
    """List the keys under the target (and `--prefix`), with etags for `--long`."""
    with scoped(args.target) as store:
        items = [
            {"key": item.key, "etag": item.etag} for item in store.list(args.prefix)
        ]
    if args.json:
        emit(args, items, "")
        return EXIT_OK
    for item in items:
        emit(args, item, f"{item['etag']}\t{item['key']}" if args.long else item["key"])
    return EXIT_OK


def get(args: argparse.Namespace) -> int:
    """Write a key's value to stdout or `--output`."""
    with scoped(args.target) as store:
        entry = store.get(args.key)
    if entry is None:
        raise NotFoundError(f"key {args.key!r} not found in {args.target}")
    if args.output is not None:
        try:
            Path(args.output).write_bytes(entry.data)
        except OSError as exc:
            raise bad_path("write", args.output, exc) from exc
    elif not args.json:
        sys.stdout.buffer.write(entry.data)
        sys.stdout.buffer.flush()
    if args.json:
        summary = {"key": args.key, "etag": entry.etag, "size": len(entry.data)}
        summary["metadata"] = dict(entry.metadata)
        emit(args, summary, "")
    return EXIT_OK


def put(args: argparse.Namespace) -> int:
    """Store a file (or stdin) under a key, optionally create-only or conditional."""
    try:
        data = (
            sys.stdin.buffer.read()
            if args.file == "-"
            else Path(args.file).read_bytes()
        )
    except OSError as exc:
        raise bad_path("read", args.file, exc) from exc
    with scoped(args.target, write=True) as store:
        mode: PutMode = "create" if args.create else replace_or_overwrite(args.if_match)
        etag = store.put(args.key, data, mode=mode)
    emit(args, {"key": args.key, "etag": etag, "size": len(data)}, etag)
    return EXIT_OK


def rm(args: argparse.Namespace) -> int:
    """Delete a key, conditioned on `--if-match` or on the etag read just before."""
    with scoped(args.target, write=True) as store:
        etag = args.if_match
        if etag is None:
            entry = store.get(args.key)
            if entry is None:
                raise NotFoundError(f"key {args.key!r} not found in {args.target}")
            etag = entry.etag
        store.delete(args.key, if_match=etag)
    emit(args, {"key": args.key, "deleted": True}, f"deleted {args.key}")
    return EXIT_OK
