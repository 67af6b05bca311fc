"""`cloudmap repair CONFIG --dask ADDRESS`: bring replicas in line on a cluster.

Each replica is mirrored from the primary as a cluster copy (`delete_extra`),
byte for byte, which is what a repair means when every provider stores the
same bytes: the stores of the ini file must therefore share one codec
configuration (compressor, level, encryption key ids and keys), or a replica
would hold values it cannot decode. Objects the copy journal does not vouch for are read
first and rewritten only when their bytes differ, so replicas written by a
`ReplicatedMapping` are compared, not blindly copied again.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from cloudmap.config import read_config
from cloudmap.dask._copy import copy_on_cluster
from cloudmap.errors import CloudMapError, ConfigError
from cloudmap.replication import RepairReport
from cloudmap.transfer import default_journal

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["repair_on_cluster"]


def repair_on_cluster(
    client: Any,
    config: str | os.PathLike[str],
    *,
    workers: int = 8,
    progress: Callable[[int, int], None] | None = None,
) -> RepairReport:
    """Mirror the primary provider of `config` onto each replica, on a cluster.

    Replicas are named by their ini section in the report.

    Raises:
        ConfigError: the stores differ in compression or encryption (bytes
            differ too).
    """
    path = os.fspath(config)
    primary, *replicas = read_config(path)
    for replica in replicas:
        difference = replica.codec_difference(primary)
        if difference is not None:
            msg = (
                f"{path}: [{replica.section}] and [{primary.section}] differ in "
                f"{difference}, so their bytes differ and a byte copy would leave "
                "values the replica cannot decode: run `cloudmap repair` without "
                "--dask, which decodes and re-encodes each value"
            )
            raise ConfigError(msg)
    copied: list[tuple[str, str]] = []
    deleted: list[tuple[str, str]] = []
    failed: dict[tuple[str, str], BaseException] = {}
    for done, replica in enumerate(replicas, 1):
        report = copy_on_cluster(
            client,
            (path, primary.section),
            (path, replica.section),
            delete_extra=True,
            journal=default_journal(
                f"{path}#{primary.section}", f"{path}#{replica.section}"
            ),
            workers=workers,
            compare=True,
        )
        copied += [(key, replica.section) for key in report.copied]
        deleted += [(key, replica.section) for key in report.deleted]
        failed.update(
            {
                (key, replica.section): CloudMapError(why)
                for key, why in report.failed.items()
            }
        )
        if progress is not None:
            progress(done, len(replicas))
    lagging = len({key for key, _ in [*copied, *deleted, *failed]})
    return RepairReport(lagging, tuple(copied), tuple(deleted), failed)
