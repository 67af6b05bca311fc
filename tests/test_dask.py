"""dask.distributed: bulk copies on a cluster, a results cache, spilling to a store."""

from __future__ import annotations

import base64
import hashlib
import os
import pickle
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import dask
import distributed
import pytest
from distributed import Client, LocalCluster, WorkerPlugin

import cloudmap
from cloudmap import CloudMapping, codecs
from cloudmap.cli import main
from cloudmap.dask import cached, spill_mapping
from cloudmap.dask._copy import _Job, copy_partition
from cloudmap.dask._spill import decode_key, encode_key
from cloudmap.stores import LocalStore, Replace
from cloudmap.targets import open_store
from cloudmap.transfer import copy_keys

KEYS = 5000
S3_KEYS = 1000  # moto answers a few hundred requests a second on a loaded machine
# Workers read S3 credentials from their own environment, never from the task.
MOTO_KEY_VARIABLE = "CLOUDMAP_TEST_MOTO_KEY"
# Encryption keys too, here and on the workers: both read the ini files.
KEYS_ON_WORKERS = {
    "KEY_A": base64.b64encode(b"a" * 32).decode(),
    "KEY_A_AGAIN": base64.b64encode(b"a" * 32).decode(),
    "KEY_B": base64.b64encode(b"b" * 32).decode(),
}


def local_cluster(**options: Any) -> LocalCluster:
    """A small cluster on loopback, every port (HTTP too) chosen free by the OS.

    Its workers do not profile: on Python 3.11 the profiler's stack sampling can
    deadlock a worker whose task starts a thread (CPython issue 116969), which
    no code of ours can prevent for the threads dask itself starts.
    """
    defaults: dict[str, Any] = {"n_workers": 2, "threads_per_worker": 2}
    if options.get("processes", True):
        defaults |= {"host": "127.0.0.1", "scheduler_port": 0}
    with dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(dashboard_address="127.0.0.1:0", **(defaults | options))


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    """One 2-process cluster for the module: starting one costs seconds."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MOTO_KEY_VARIABLE, "testing")
        for name, key in KEYS_ON_WORKERS.items():
            patch.setenv(name, key)
        with local_cluster(processes=True) as cluster, Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def threads_client() -> Iterator[Client]:
    """A 2-worker cluster of threads in this process."""
    with local_cluster(processes=False) as cluster, Client(cluster) as client:
        yield client


def fill(root: Path, n: int = KEYS) -> dict[str, bytes]:
    store = LocalStore(root, fsync=False)
    values = {f"k/{i:05d}": f"value {i}".encode() * (i % 7 + 1) for i in range(n)}
    for key, value in values.items():
        store.put(key, value, metadata={"n": key[-5:]})
    return values


def contents(root: Path) -> dict[str, bytes]:
    store = LocalStore(root)
    return {item.key: store.get(item.key).data for item in store.list()}  # type: ignore[union-attr]


def local_target(root: Path) -> str:
    return f"file://{root}?fsync=false&create=true"


# -- bulk copy ------------------------------------------------------------------------


def test_copy_between_directories_on_a_cluster(client: Client, tmp_path: Path) -> None:
    """5,000 keys copy exactly on 2 worker processes; a rerun copies nothing."""
    values = fill(tmp_path / "src")
    journal = tmp_path / "journal.json"
    first = copy_keys(
        local_target(tmp_path / "src"),
        local_target(tmp_path / "dst"),
        client=client,
        journal=journal,
        partition_size=400,
    )
    assert first.failed == {}
    assert first.copied == sorted(values)
    assert contents(tmp_path / "dst") == values
    store = LocalStore(tmp_path / "dst")
    assert store.get("k/00042").metadata == {"n": "00042"}  # type: ignore[union-attr]
    second = copy_keys(
        local_target(tmp_path / "src"),
        local_target(tmp_path / "dst"),
        client=client,
        journal=journal,
        partition_size=400,
    )
    assert (second.copied, second.failed) == ([], {})
    assert second.skipped == sorted(values)


@pytest.mark.parametrize("cluster", ["client", "threads_client"])
def test_sync_on_a_cluster_deletes_extra_keys(
    cluster: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """delete_extra mirrors the source: extra destination keys go, changed ones copy."""
    client: Client = request.getfixturevalue(cluster)
    fill(tmp_path / "src", 50)
    dst = LocalStore(tmp_path / "dst", fsync=False)
    dst.put("extra", b"x")
    dst.put("k/00003", b"old")
    report = copy_keys(
        local_target(tmp_path / "src"),
        local_target(tmp_path / "dst"),
        client=client,
        delete_extra=True,
        partition_size=7,
    )
    assert report.deleted == ["extra"]
    assert report.failed == {}
    assert len(report.copied) == 50
    assert contents(tmp_path / "dst") == contents(tmp_path / "src")


def test_sync_on_a_cluster_leaves_reserved_objects_alone(
    threads_client: Client, tmp_path: Path
) -> None:
    """A cluster sync never copies, overwrites or deletes lock or scratch objects."""
    fill(tmp_path / "src", 5)
    src = LocalStore(tmp_path / "src", fsync=False)
    src.put(".cloudmap-locks/job", b"source lock")
    src.put(".cloudmap-verify/1/probe", b"scratch")
    dst = LocalStore(tmp_path / "dst", fsync=False)
    dst.put(".cloudmap-locks/job", b"destination lock")
    dst.put(".cloudmap-locks/other", b"held")
    report = copy_keys(
        local_target(tmp_path / "src"),
        local_target(tmp_path / "dst"),
        client=threads_client,
        delete_extra=True,
        partition_size=2,
    )
    assert (len(report.copied), report.deleted, report.failed) == (5, [], {})
    held = {k: v for k, v in contents(tmp_path / "dst").items() if k[0] == "."}
    assert held == {
        ".cloudmap-locks/job": b"destination lock",
        ".cloudmap-locks/other": b"held",
    }


@pytest.mark.emulator
def test_copy_from_a_directory_to_s3_on_a_cluster(
    client: Client, tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    """Keys reach moto exactly; workers open S3 from the URL; a rerun skips them all."""
    values = fill(tmp_path / "src", S3_KEYS)
    credentials = f"access_key=${MOTO_KEY_VARIABLE}&secret_key=${MOTO_KEY_VARIABLE}"
    s3 = f"s3://{s3_bucket}/copy?endpoint={s3_endpoint}&region=us-east-1&{credentials}"
    journal = tmp_path / "journal.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(MOTO_KEY_VARIABLE, "testing")
        for name, key in KEYS_ON_WORKERS.items():
            patch.setenv(name, key)
        first = copy_keys(
            local_target(tmp_path / "src"), s3, client=client, journal=journal
        )
        second = copy_keys(
            local_target(tmp_path / "src"), s3, client=client, journal=journal
        )
        store, prefix = open_store(s3)
        with store:
            listed = {item.key[len(prefix) :]: item.etag for item in store.list(prefix)}
    assert first.failed == {}
    assert first.copied == sorted(values)
    assert (second.copied, len(second.skipped)) == ([], S3_KEYS)
    # S3's ETag is the MD5 of the body: every value arrived intact.
    assert listed == {
        key: f'"{hashlib.md5(value, usedforsecurity=False).hexdigest()}"'
        for key, value in values.items()
    }


def test_stores_cannot_be_sent_to_a_cluster(client: Client, tmp_path: Path) -> None:
    """A live store with client= is refused: workers open their own from targets."""
    with pytest.raises(TypeError, match="targets"):
        copy_keys(LocalStore(tmp_path / "a"), str(tmp_path / "b"), client=client)
    with pytest.raises(TypeError, match="stores"):
        copy_keys(str(tmp_path / "a"), str(tmp_path / "b"))


class KillOnce(WorkerPlugin):
    """Ends the first worker process that starts its third task (once per cluster)."""

    def __init__(self, flag: str) -> None:
        self.flag = flag
        self.started = 0

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if finish != "executing":
            return
        self.started += 1
        if self.started == 3:  # two partitions done, the third dies
            try:
                Path(self.flag).touch(exist_ok=False)
            except FileExistsError:
                return
            os._exit(1)


def test_rerun_after_a_killed_worker_redoes_only_lost_partitions(
    tmp_path: Path,
) -> None:
    """A worker killed mid-copy fails its partitions; the rerun copies just those."""
    values = fill(tmp_path / "src", 2000)
    journal = tmp_path / "journal.json"
    src, dst = local_target(tmp_path / "src"), local_target(tmp_path / "dst")
    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0}),
        local_cluster(processes=True, threads_per_worker=1) as cluster,
        Client(cluster) as killing,
    ):
        killing.register_plugin(KillOnce(str(tmp_path / "killed")))
        first = copy_keys(src, dst, client=killing, journal=journal, partition_size=100)
    assert (tmp_path / "killed").exists()
    assert first.failed
    assert all("KilledWorker" in reason for reason in first.failed.values())
    assert len(first.failed) % 100 == 0  # whole partitions
    assert sorted([*first.copied, *first.failed]) == sorted(values)
    with local_cluster(processes=False) as cluster, Client(cluster) as again:
        second = copy_keys(src, dst, client=again, journal=journal, partition_size=100)
    assert second.failed == {}
    assert second.copied == sorted(first.failed)
    assert second.skipped == first.copied
    assert contents(tmp_path / "dst") == values


def test_cli_copy_and_sync_run_on_a_scheduler(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cloudmap copy/sync --dask ADDRESS` copies on the cluster and prints the report."""
    fill(tmp_path / "src", 30)
    address = client.scheduler.address
    src, dst = str(tmp_path / "src"), str(tmp_path / "dst")
    journal = ["--journal", str(tmp_path / "j.json")]
    assert main(["--json", "copy", src, dst, "--dask", address, *journal]) == 0
    assert '"copied": 30' in capsys.readouterr().out
    LocalStore(tmp_path / "dst").put("extra", b"1")
    assert main(["--json", "sync", src, dst, "--dask", address, *journal]) == 0
    out = capsys.readouterr().out
    assert '"copied": 0' in out
    assert '"skipped": 30' in out
    assert '"deleted": 1' in out


def test_cli_dask_needs_a_reachable_scheduler(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unreachable scheduler is one error line and exit code 1, no traceback."""
    fill(tmp_path / "src", 1)
    args = ["copy", str(tmp_path / "src"), str(tmp_path / "dst"), "--no-journal"]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert main([*args, "--dask", "tcp://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("cloudmap: error:")
    assert "Traceback" not in err


def replicas_ini(tmp_path: Path, codecs_text: str = "") -> Path:
    """An ini file of two directories, `a` (the primary) and `b`, plus `codecs_text`."""
    ini = tmp_path / "replicas.ini"
    ini.write_text(
        "[default]\nproviders = main, copy\nprovider_routing = all\n"
        f"[main]\nprovider = filesystem\nfolder_path = {tmp_path / 'a'}\n"
        f"[copy]\nprovider = filesystem\nfolder_path = {tmp_path / 'b'}\n" + codecs_text
    )
    return ini


def test_cli_repair_on_a_scheduler(
    client: Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`cloudmap repair --dask` copies only what differs, deletes extras, then agrees."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ini = replicas_ini(tmp_path)
    with cloudmap.open(ini) as db:
        for i in range(20):
            db[f"k{i}"] = i
    replica = LocalStore(tmp_path / "b")
    replica.delete("k3", if_match=replica.get("k3").etag)  # type: ignore[union-attr]
    replica.put("k4", b"stale", mode=Replace(replica.get("k4").etag))  # type: ignore[union-attr]
    replica.put("extra", b"x")
    address = client.scheduler.address
    assert main(["--json", "repair", str(ini), "--dask", address]) == 0
    out = capsys.readouterr().out
    assert '"lagging": 3, "copied": 2, "deleted": 1' in out
    assert contents(tmp_path / "b") == contents(tmp_path / "a")
    assert main(["--json", "repair", str(ini), "--dask", address]) == 0
    assert '"lagging": 0' in capsys.readouterr().out


def test_cli_repair_refuses_replicas_of_different_compression(
    client: Client, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Byte copies cannot repair replicas that store different bytes: exit code 2."""
    ini = replicas_ini(tmp_path, "[copy.compression]\nalgorithm = zlib\n")
    cloudmap.open(ini).close()
    assert main(["repair", str(ini), "--dask", client.scheduler.address]) == 2
    assert "differ in compression" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("copy_codec", "why"),
    [
        (
            "[main.encryption]\nkey = $KEY_A\n[copy.encryption]\nkey = $KEY_B\n",
            "encryption",
        ),
        (
            (
                "[main.compression]\nalgorithm = zlib\nlevel = 3\n"
                "[copy.compression]\nalgorithm = zstd\nlevel = 3\n"
            ),
            "compression",
        ),
        ("[main.encryption]\nkey = $KEY_A\n", "encryption"),
    ],
    ids=["other-key", "other-algorithm", "one-encrypted"],
)
def test_cli_repair_refuses_replicas_of_different_codecs(
    client: Client,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    copy_codec: str,
    why: str,
) -> None:
    """Replicas encrypted or compressed otherwise than the primary are never byte-copied."""
    ini = replicas_ini(tmp_path, copy_codec)
    with cloudmap.open(ini) as db:
        db["k"] = 1
    LocalStore(tmp_path / "b").delete("k")
    assert main(["repair", str(ini), "--dask", client.scheduler.address]) == 2
    err = capsys.readouterr().err
    assert f"differ in {why}" in err
    assert "without --dask" in err
    assert "k" not in contents(tmp_path / "b")


def test_repair_on_a_cluster_copies_replicas_of_the_same_codecs(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replicas sharing the primary's algorithm, level and keys are byte-copied, readable."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    ini = replicas_ini(
        tmp_path,
        "[main.compression]\nalgorithm = zlib\nlevel = 3\n"
        "[copy.compression]\nalgorithm = zlib\nlevel = 3\n"
        "[main.encryption]\nkey = $KEY_A\n[copy.encryption]\nkey = $KEY_A_AGAIN\n",
    )
    with cloudmap.open(ini) as db:
        db["k"] = [1, 2]
    LocalStore(tmp_path / "b").delete("k")
    assert main(["repair", str(ini), "--dask", client.scheduler.address]) == 0
    assert contents(tmp_path / "b") == contents(tmp_path / "a")
    with cloudmap.open(ini) as db:
        assert db["k"] == [1, 2]


# -- results cache ----------------------------------------------------------------------


def record_call(calls: str, x: int) -> tuple[int, str]:
    """A pure result, plus a marker file per computation (for counting them)."""
    run = uuid.uuid4().hex
    (Path(calls) / f"{x}-{run}").touch()
    return x * x, run


@pytest.mark.parametrize("cluster", ["client", "threads_client"])
def test_cached_results_first_writer_wins(
    cluster: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """Each distinct input's result is stored once; everyone sees the first; rerun computes nothing."""
    on: Client = request.getfixturevalue(cluster)
    calls = tmp_path / "calls"
    calls.mkdir()
    memo = cached(local_target(tmp_path / "memo"))
    square = memo(record_call)
    inputs = [x % 10 for x in range(40)]
    first = on.gather(on.map(square, [str(calls)] * 40, inputs, pure=False))
    by_input: dict[int, set[tuple[int, str]]] = {}
    for x, result in zip(inputs, first, strict=True):
        by_input.setdefault(x, set()).add(tuple(result))  # type: ignore[arg-type]
    assert all(len(results) == 1 for results in by_input.values())
    assert {x: next(iter(r))[0] for x, r in by_input.items()} == {
        x: x * x for x in range(10)
    }
    computed = len(list(calls.iterdir()))
    assert 10 <= computed <= 40  # racing workers may each compute once
    again = on.gather(on.map(square, [str(calls)] * 40, inputs, pure=False))
    assert again == first
    assert len(list(calls.iterdir())) == computed


def test_memo_over_a_live_mapping_stays_in_its_process(tmp_path: Path) -> None:
    """A Memo built on a CloudMapping works locally and refuses to be pickled."""
    memo = cached(CloudMapping(LocalStore(tmp_path), codec=codecs.pickle()))
    calls = tmp_path / "calls"
    calls.mkdir()
    assert memo(record_call)(str(calls), 3) == memo(record_call)(str(calls), 3)
    assert len(list(calls.iterdir())) == 1
    with pytest.raises(TypeError, match="target"):
        pickle.dumps(memo)


def encrypted_ini(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A one-provider ini file: a directory, zstd-compressed, then encrypted."""
    monkeypatch.setenv("KEY_A", KEYS_ON_WORKERS["KEY_A"])
    ini = tmp_path / "store.ini"
    ini.write_text(
        f"[default]\nprovider = filesystem\nfolder_path = {tmp_path / 'data'}\n"
        "[compression]\nalgorithm = zstd\n[encryption]\nkey = $KEY_A\n"
    )
    (tmp_path / "data").mkdir()
    return ini


def test_cached_results_are_encrypted_as_the_ini_file_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Memo on an encrypted ini stores ciphertext the ini's own mapping reads."""
    ini = encrypted_ini(tmp_path, monkeypatch)
    memo = cached(ini, codec="json", prefix="encrypted-memo/")
    secret = "a result nobody else may read"
    assert memo(lambda: secret)() == secret
    [(key, stored)] = contents(tmp_path / "data").items()
    assert secret.encode() not in stored
    with cloudmap.open(ini, codec="json") as db:
        assert db[key] == secret


def test_spilled_values_are_encrypted_as_the_ini_file_asks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker spilling to an encrypted ini writes ciphertext and reads it back."""
    ini = encrypted_ini(tmp_path, monkeypatch)
    factory, options = spill_mapping(ini, 0)
    spill = factory(**options)
    secret = b"spilled plaintext " * 10
    spill["x"] = secret
    stored = contents(tmp_path / "data")
    assert stored
    assert all(secret[:18] not in value for value in stored.values())
    assert spill["x"] == secret
    spill.close()


# -- spilling -----------------------------------------------------------------------------


def test_key_codec_round_trips_dask_keys() -> None:
    """Dask keys, strings or nested tuples, come back from their store keys."""
    for key in ["x", ("x-token", 7, 4), ("a/b", ("c", 1)), "ünï ☃"]:
        encoded = encode_key(key)
        assert encoded.replace("-", "").replace("_", "").replace("=", "").isalnum()
        assert decode_key(encoded) == key


def chunk(i: int) -> bytes:
    return bytes([i % 256]) * 200_000


def spilled_count(dask_worker: Any) -> int:
    return len(dask_worker.data.slow)


@pytest.mark.parametrize("processes", [True, False])
def test_spilling_workload_computes_correctly(processes: bool, tmp_path: Path) -> None:
    """Workers spilling to a store (1 MB in memory each) compute 8 MB of chunks right."""
    data = spill_mapping(tmp_path / "spill", 1_000_000)
    with (
        local_cluster(processes=processes, data=data) as cluster,
        Client(cluster) as spilling,
    ):
        chunks = spilling.map(chunk, range(40))
        distributed.wait(chunks)
        spilled = spilling.run(spilled_count)
        assert sum(spilled.values()) > 0
        sizes = spilling.gather(spilling.map(len, chunks))
        firsts = spilling.gather(spilling.map(lambda c: c[0], chunks))
    assert sizes == [200_000] * 40
    assert firsts == [i % 256 for i in range(40)]
    assert list(LocalStore(tmp_path / "spill").list()) == []  # cleared on close


def test_a_task_thread_reuses_its_copy_threads(tmp_path: Path) -> None:
    """A worker's task thread starts its copy threads once, not per partition.

    Starting threads while dask's profiler samples can deadlock Python 3.11
    (CPython issue 116969): later tasks on the same thread start none.
    """
    fill(tmp_path / "src", 60)
    listed = {item.key: item.etag for item in LocalStore(tmp_path / "src").list()}
    job = _Job(
        local_target(tmp_path / "src"), local_target(tmp_path / "dst"), "", "", 4
    )
    keys = sorted(listed)

    def task(part: list[str]) -> list[str]:
        report, _ = copy_partition(job, [(k, listed[k], None) for k in part], [])
        return report.copied

    before = threading.active_count()
    assert task(keys[:20]) == keys[:20]
    started = threading.active_count()
    assert started > before  # its threads wait for the next task
    assert task(keys[20:40]) == keys[20:40]
    assert threading.active_count() == started
    with ThreadPoolExecutor(1) as other:  # another task thread: its own pool
        assert other.submit(task, keys[40:]).result() == keys[40:]
    assert threading.active_count() > started
    assert contents(tmp_path / "dst") == contents(tmp_path / "src")
