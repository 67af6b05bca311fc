"""The cloudmap command, run end to end in a subprocess."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

import cloudmap
import cloudmap.stores


def cli(
    env: dict[str, str], *args: object, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "cloudmap", *map(str, args)],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_put_get_ls_rm_round_trip(tmp_path: Path, env: dict[str, str]) -> None:
    """put stores a file or stdin, get and ls read it back, rm deletes it."""
    store = tmp_path / "store"
    (tmp_path / "in.bin").write_bytes(b"\x00binary\xff")
    put = cli(env, "put", store, "dir/a", tmp_path / "in.bin")
    assert put.returncode == 0, put.stderr
    etag = put.stdout.decode().strip()
    assert cli(env, "put", store, "b", "-", stdin=b"from stdin").returncode == 0

    assert cli(env, "get", store, "dir/a").stdout == b"\x00binary\xff"
    assert cli(env, "get", store, "b", "-o", tmp_path / "out").returncode == 0
    assert (tmp_path / "out").read_bytes() == b"from stdin"
    assert cli(env, "ls", store).stdout.decode().split() == ["b", "dir/a"]
    assert cli(env, "ls", store, "--prefix", "dir/").stdout.decode().split() == [
        "dir/a"
    ]
    long = cli(env, "ls", store, "--long").stdout.decode().splitlines()
    assert f"{etag}\tdir/a" in long

    assert cli(env, "rm", store, "dir/a").returncode == 0
    assert cli(env, "ls", store).stdout.decode().split() == ["b"]


def test_json_output_is_machine_readable(tmp_path: Path, env: dict[str, str]) -> None:
    """--json prints one JSON document describing what each command did."""
    store = tmp_path / "store"
    put = json.loads(cli(env, "--json", "put", store, "k", "-", stdin=b"abc").stdout)
    assert put["key"] == "k"
    assert put["size"] == 3
    listing = json.loads(cli(env, "--json", "ls", store).stdout)
    assert listing == [{"key": "k", "etag": put["etag"]}]
    got = json.loads(cli(env, "--json", "get", store, "k").stdout)
    assert (got["etag"], got["size"]) == (put["etag"], 3)


def test_values_written_by_the_cli_are_read_by_a_mapping(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """Bytes put by the CLI are the raw value a CloudMapping reads."""
    assert cli(env, "put", tmp_path / "s", "k", "-", stdin=b"raw").returncode == 0
    with cloudmap.LocalMapping(tmp_path / "s") as m:
        assert m["k"] == b"raw"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("get", "{store}", "missing"), 3, "key 'missing' not found"),
        (("rm", "{store}", "missing"), 3, "key 'missing' not found"),
        (("put", "{store}", "k", "-", "--create"), 4, "already exists"),
        (("put", "{store}", "k", "-", "--if-match", '"stale"'), 4, "changed since"),
        (("rm", "{store}", "k", "--if-match", '"stale"'), 4, "changed since"),
        (("ls", "ftp://host/x"), 2, "unknown scheme"),
        (("ls", "s3://bucket?secret_key=x"), 2, "must be a $NAME reference"),
        (("ls", "{tmp}/does-not-exist"), 1, "does not exist"),
        (("get",), 2, "required"),
    ],
)
def test_errors_are_one_line_with_documented_exit_codes(
    tmp_path: Path,
    env: dict[str, str],
    args: tuple[str, ...],
    code: int,
    message: str,
) -> None:
    """Each failure prints one line (no traceback) and exits with its code."""
    store = tmp_path / "store"
    assert cli(env, "put", store, "k", "-", stdin=b"v").returncode == 0
    filled = [arg.format(store=store, tmp=tmp_path) for arg in args]
    result = cli(env, *filled, stdin=b"new")
    stderr = result.stderr.decode()
    assert result.returncode == code, stderr
    assert message in stderr
    assert "Traceback" not in stderr
    if code != 2 or filled[0] != "get":  # argparse prints its usage first
        assert stderr.count("\n") == 1
    assert cli(env, "get", store, "k").stdout == b"v"


def test_copy_resumes_from_its_journal(tmp_path: Path, env: dict[str, str]) -> None:
    """A second copy skips keys already copied and copies only new or changed ones."""
    src = tmp_path / "src"
    with cloudmap.LocalMapping(src) as m:
        m.update({f"k{i}": str(i).encode() for i in range(20)})
    first = json.loads(cli(env, "--json", "copy", src, tmp_path / "dst").stdout)
    assert (first["copied"], first["skipped"], first["failed"]) == (20, 0, {})

    with cloudmap.LocalMapping(src) as m:
        m["k3"] = b"changed"
        m["new"] = b"new"
    again = json.loads(cli(env, "--json", "copy", src, tmp_path / "dst").stdout)
    assert (again["copied"], again["skipped"]) == (2, 19)
    with cloudmap.LocalMapping(tmp_path / "dst") as dst:
        assert dst["k3"] == b"changed"
        assert len(dst) == 21

    fresh = cli(env, "--json", "copy", "--no-journal", src, tmp_path / "dst")
    assert json.loads(fresh.stdout)["copied"] == 21


def test_copy_keeps_metadata_and_prefixes(tmp_path: Path, env: dict[str, str]) -> None:
    """A copy into a prefixed target keeps each value's codec, readable by open()."""
    with cloudmap.open(tmp_path / "src") as db:
        db["obj"] = {"a": (1, 2)}
    dst = f"file://{tmp_path}/dst"
    assert cli(env, "copy", tmp_path / "src", dst).returncode == 0
    with cloudmap.open(dst, "r") as db:
        assert db["obj"] == {"a": (1, 2)}


def test_sync_deletes_keys_missing_from_the_source(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """sync mirrors: destination keys absent from the source are deleted."""
    with cloudmap.LocalMapping(tmp_path / "src") as m:
        m["keep"] = b"1"
    with cloudmap.LocalMapping(tmp_path / "dst") as m:
        m["stale"] = b"2"
    report = json.loads(
        cli(env, "--json", "sync", tmp_path / "src", tmp_path / "dst").stdout
    )
    assert (report["copied"], report["deleted"]) == (1, 1)
    with cloudmap.LocalMapping(tmp_path / "dst") as m:
        assert dict(m) == {"keep": b"1"}


def test_progress_bar_only_on_a_terminal(tmp_path: Path, env: dict[str, str]) -> None:
    """copy draws a progress bar when stderr is a TTY and prints none when piped."""
    with cloudmap.LocalMapping(tmp_path / "src") as m:
        m.update({f"k{i}": b"x" for i in range(30)})
    piped = cli(env, "copy", tmp_path / "src", tmp_path / "piped")
    assert piped.returncode == 0
    assert piped.stderr == b""

    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "cloudmap",
                "copy",
                tmp_path / "src",
                tmp_path / "tty",
            ],
            stdout=subprocess.PIPE,
            stderr=follower,
            env=env,
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        shown = b""
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    assert result.returncode == 0
    assert b"30/30" in shown
    assert b"100%" in shown


def test_demo_proves_no_task_ran_twice(tmp_path: Path, env: dict[str, str]) -> None:
    """demo runs worker processes and reports every task claimed and run once."""
    result = cli(
        env, "--json", "demo", "--workers", 3, "--tasks", 24, "--dir", tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    assert report["counter"] == report["claims"] == 24
    assert sum(report["runs_per_worker"].values()) == 24
    assert len(report["runs_per_worker"]) == 3
    text = cli(env, "demo", "--workers", 2, "--tasks", 6)
    assert b"every task ran exactly once" in text.stdout


def test_lock_demo_prints_tokens_and_the_takeover(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """demo --lock: tokens 1..n, one per term, and the killed holder taken over."""
    result = cli(env, "--json", "demo", "--lock", "--workers", 3, "--dir", tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True
    tokens = [term["token"] for term in report["terms"]]
    assert tokens == [1, 2, 3, 4, 5] == list(range(1, report["counter"] + 1))
    assert report["killed"] == ["worker-0"]
    assert [term["takeover"] for term in report["terms"]].count(True) == 1
    text = cli(env, "demo", "--lock", "--workers", 2)
    assert re.search(rb"token [23]: worker-1 took over after 2\.\d s", text.stdout)
    assert b"every killed holder taken over" in text.stdout


def test_repair_brings_a_lagging_replica_in_line(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """repair copies the primary's values onto a replica that lost them."""
    pytest.importorskip("cloudmap.replication")
    ini = tmp_path / "replicated.ini"
    ini.write_text(
        f"[default]\nproviders = primary, backup\nprovider_routing = all\n"
        f"[primary]\nprovider = filesystem\nfolder_path = {tmp_path}/a\n"
        f"[backup]\nprovider = filesystem\nfolder_path = {tmp_path}/b\n"
    )
    with cloudmap.open(ini) as db:
        db.update({"x": 1, "y": 2})
    with cloudmap.CloudMapping.with_pickle(
        cloudmap.stores.LocalStore(tmp_path / "b")
    ) as b:
        del b["x"]
    first = cli(env, "--json", "repair", ini)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout) == {
        "lagging": 1,
        "copied": 1,
        "deleted": 0,
        "failed": {},
    }
    again = json.loads(cli(env, "--json", "repair", ini).stdout)
    assert again["lagging"] == 0
    with cloudmap.open(tmp_path / "b", "r") as b:
        assert dict(b) == {"x": 1, "y": 2}


def test_repair_of_a_single_provider_config_is_a_no_op(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """repair on a one-provider ini reports nothing to repair and exits 0."""
    ini = tmp_path / "one.ini"
    ini.write_text(f"[default]\nprovider = filesystem\nfolder_path = {tmp_path}/a\n")
    (tmp_path / "a").mkdir()
    result = cli(env, "repair", ini)
    assert result.returncode == 0, result.stderr
    assert b"nothing to repair" in result.stdout
