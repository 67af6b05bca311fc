"""Trust, but verify: does a server enforce every precondition cloudmap relies on?

Several S3-compatible servers accept `If-Match` / `If-None-Match` and silently
ignore them, so a mapping over them looks safe and loses updates. `verify`
probes each guarantee on scratch keys under `RESERVED_PREFIX` (inside the
target's own prefix) and always removes them, even when the store fails
midway. `cloudmap doctor TARGET` prints the same report.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cloudmap._probes import PROBES, Check, Scratch, Status, run_probe
from cloudmap._reserved import VERIFY_PREFIX
from cloudmap.errors import (
    CloudMapError,
    ConfigError,
    NotSupportedError,
    ReadOnlyError,
    StoreError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from cloudmap.stores._protocol import Store

__all__ = ["RESERVED_PREFIX", "Check", "Status", "Verdict", "require", "verify"]

RESERVED_PREFIX = VERIFY_PREFIX
"""Probes write only under this prefix (after the target's own prefix)."""

_CLEANUP_ATTEMPTS = 3

_VERIFIED: dict[str, Verdict] = {}
_VERIFIED_LOCK = threading.Lock()


@dataclass(frozen=True)
class Verdict:
    """What a server honours: one `Check` per guarantee.

    Attributes:
        store: the printable name of the store probed.
        checks: one line per guarantee, in a fixed order. The large-value line
            is absent for stores with one write path for every size.
        leftover: scratch keys that could not be removed (normally empty).
    """

    store: str
    checks: tuple[Check, ...]
    leftover: tuple[str, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True when every guarantee is honoured."""
        return all(check.status == "honoured" for check in self.checks)

    def with_status(self, *statuses: Status) -> tuple[Check, ...]:
        """The checks whose status is one of `statuses`."""
        return tuple(check for check in self.checks if check.status in statuses)

    @property
    def exit_code(self) -> int:
        """0 when everything is honoured, 1 otherwise (as `cloudmap doctor`)."""
        return 0 if self.ok else 1

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form: store, ok, checks, leftover."""
        return {
            "store": self.store,
            "ok": self.ok,
            "checks": [
                {
                    "name": c.name,
                    "guarantee": c.guarantee,
                    "status": c.status,
                    "detail": c.detail,
                }
                for c in self.checks
            ],
            "leftover": list(self.leftover),
        }

    def __str__(self) -> str:
        width = max(len(c.name) for c in self.checks) if self.checks else 0
        lines = [f"{self.store}:"]
        for check in self.checks:
            detail = f" ({check.detail})" if check.detail else ""
            lines.append(
                f"  {check.status:<8}  {check.name:<{width}}  {check.guarantee}{detail}"
            )
        if self.leftover:
            lines.append(f"  could not remove scratch keys: {', '.join(self.leftover)}")
        return "\n".join(lines)


def verify(store_or_target: Store | str | os.PathLike[str]) -> Verdict:
    """Probe every guarantee cloudmap relies on and report what the server does.

    `store_or_target` is a `Store` (probed at its root) or a path, URL or
    single-provider ini file (probed under its prefix; the store is closed
    after). Each probe writes and removes scratch keys under `RESERVED_PREFIX`.

    Raises:
        ConfigError: the target is invalid, or an ini file names several stores
            (verify each one, or run `cloudmap doctor` on the file).
        NotSupportedError: the store was opened read-only (probes need writes).
    """
    with _opened(store_or_target) as (store, prefix):
        return probe_store(store, prefix)


def probe_store(store: Store, prefix: str = "") -> Verdict:
    """Run every probe on `store` under `prefix`; remove every scratch key after."""
    scratch = Scratch(store, f"{prefix}{RESERVED_PREFIX}{uuid.uuid4().hex}/")
    checks: list[Check] = []
    try:
        for probe in PROBES:
            check = run_probe(probe, scratch)
            if check is not None:
                checks.append(check)
    except ReadOnlyError as exc:
        scratch.keys.clear()  # every write was refused: nothing to remove
        msg = (
            f"cannot verify {store.name}: it was opened read-only, and the probes "
            f"need write access (they write, then remove, keys under {RESERVED_PREFIX})"
        )
        raise NotSupportedError(msg) from exc
    finally:
        leftover = _clean(scratch)
    return Verdict(store.name, tuple(checks), leftover)


def require(store: Store, prefix: str = "") -> Verdict:
    """Verify `store` once per process; raise unless every guarantee is honoured.

    A verdict is remembered per store (its type and repr, which name the
    endpoint and bucket), unless a probe could not run, so that the next
    mapping over the same store starts without probing.

    Raises:
        NotSupportedError: the server ignores or refuses a guarantee; the message
            names each one (and the fallback when only conditional deletes are
            ignored).
        StoreError: a probe could not run (network, permissions); nothing is
            remembered, so the next attempt probes again.
    """
    identity = f"{type(store).__qualname__}:{store!r}"
    with _VERIFIED_LOCK:
        verdict = _VERIFIED.get(identity)
    if verdict is None:
        verdict = probe_store(store, prefix)
        if not verdict.with_status("error"):
            with _VERIFIED_LOCK:
                _VERIFIED[identity] = verdict
    broken = verdict.with_status("ignored", "refused")
    if broken:
        raise NotSupportedError(_refusal(verdict, broken))
    errors = verdict.with_status("error")
    if errors:
        shown = "; ".join(f"{c.name}: {c.detail}" for c in errors)
        msg = f"could not verify {verdict.store}: {shown}"
        raise StoreError(msg, store=verdict.store)
    return verdict


def _refusal(verdict: Verdict, broken: tuple[Check, ...]) -> str:
    named = "; ".join(f"{c.name} {c.status} ({c.detail})" for c in broken)
    message = (
        f"{verdict.store} does not enforce what cloudmap relies on: {named}. "
        "cloudmap refuses to run with guarantees the server cannot keep; "
        "run `cloudmap doctor` on the target for the full report"
    )
    if [c.name for c in broken] == ["delete-stale"]:
        message += (
            ". Only conditional deletes are ignored: open the mapping without "
            "verify=True and never `del` a shared key; mark it deleted with a "
            "conditional write of a tombstone value instead, which this server "
            "does check (docs/providers/s3-compatible.md)"
        )
    return message


def _clean(scratch: Scratch) -> tuple[str, ...]:
    """Delete every scratch key, retrying a few times; return what stayed."""
    pending = dict.fromkeys(scratch.keys)
    with contextlib.suppress(CloudMapError):
        pending.update(dict.fromkeys(i.key for i in scratch.store.list(scratch.base)))
    for _ in range(_CLEANUP_ATTEMPTS):
        for key in list(pending):
            try:
                scratch.store.delete(key)
            except CloudMapError:
                continue
            del pending[key]
        if not pending:
            break
    return tuple(pending)


@contextlib.contextmanager
def _opened(
    store_or_target: Store | str | os.PathLike[str],
) -> Iterator[tuple[Store, str]]:
    if not isinstance(store_or_target, (str, os.PathLike)):
        yield store_or_target, ""
        return
    # Imported here: targets pull in the mapping layer, above this one.
    from cloudmap.targets import resolve  # noqa: PLC0415

    configs = resolve(store_or_target)
    if len(configs) > 1:
        msg = (
            # "providers": the ini key that lists them (the message tests pin).
            f"{os.fspath(store_or_target)}: names {len(configs)} stores; verify "
            "each store, or run `cloudmap doctor` on the file"
        )
        raise ConfigError(msg)
    store, prefix = configs[0].open_store(create=False), configs[0].prefix
    try:
        yield store, prefix
    finally:
        store.close()
