"""A user who may only read a LocalStore folder can open, list and get, creating nothing.

Root ignores file permissions, so when the tests run as root the reader runs in
a forked child that drops to `nobody` first; either way the folder is made
unwritable and compared before and after.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import cloudmap
from cloudmap import CloudMapping
from cloudmap.cli import main
from cloudmap.stores import LocalStore

ROOT = Path(__file__).resolve().parents[1]


def _tree(path: Path) -> list[tuple[str, int, int]]:
    return sorted(
        (str(p.relative_to(path)), s.st_mtime_ns, s.st_size)
        for p in [path, *path.rglob("*")]
        for s in [p.stat(follow_symlinks=False)]
    )


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder under /tmp that `nobody` can reach, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="cloudmap-ro-"))
    folder.chmod(0o755)
    yield folder
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(folder)


def _freeze(path: Path) -> None:
    """Take every write permission away, keeping read and traverse."""
    for item in [*path.rglob("*"), path]:
        mode = stat.S_IMODE(item.stat().st_mode) & ~0o222
        item.chmod(mode | (0o555 if item.is_dir() else 0o444))


def _as_reader(work: Callable[[], object]) -> object:
    """Run `work` in a forked child that cannot write (as `nobody` under root)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        os.close(read_end)
        try:
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
            result: object = {"ok": work()}
        except BaseException as exc:
            result = {"error": f"{type(exc).__name__}: {exc}"}
        os.write(write_end, json.dumps(result).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    outcome = json.loads(payload)
    assert "error" not in outcome, outcome["error"]
    return outcome["ok"]


def _cli(*args: str) -> list[object]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return [code, out.getvalue(), err.getvalue()]


def _shelf(root: str) -> list[object]:
    with cloudmap.open(root, "r", codec="raw") as shelf:
        return [sorted(shelf), shelf["k"].decode()]


@pytest.mark.parametrize("layout", ["store", "plain"])
def test_reader_without_write_permission(shared_dir: Path, layout: str) -> None:
    """open(path, 'r'), `cloudmap ls` and `cloudmap get` work with read permission only."""
    root = shared_dir / "data"
    if layout == "store":
        with CloudMapping[bytes](LocalStore(root)) as m:
            m["k"] = b"value"
            m["sub/j"] = b"other"
    else:
        (root / "sub").mkdir(parents=True)
        (root / "k").write_bytes(b"value")
        (root / "sub" / "j").write_bytes(b"other")
    _freeze(root)
    before = _tree(root)
    assert _as_reader(lambda: _shelf(str(root))) == [["k", "sub/j"], "value"]
    assert _as_reader(lambda: _cli("ls", str(root))) == [0, "k\nsub/j\n", ""]
    got = _as_reader(lambda: _cli("--json", "get", str(root), "sub/j"))
    assert isinstance(got, list)
    assert got[0] == 0, got
    assert json.loads(str(got[1]))["size"] == len(b"other")
    assert _tree(root) == before


def test_read_only_shelf_refuses_writes_and_creates_nothing(tmp_path: Path) -> None:
    """cloudmap.open(path, 'r') on a plain folder adds no system folder."""
    (tmp_path / "k").write_bytes(b"v")
    with cloudmap.open(tmp_path, "r", codec="raw") as shelf:
        assert shelf["k"] == b"v"
        with pytest.raises(cloudmap.ReadOnlyError):
            shelf["k"] = b"w"
    assert [p.name for p in tmp_path.iterdir()] == ["k"]


def test_ini_target_reads_with_read_permission_only(shared_dir: Path) -> None:
    """An ini naming a plain folder reads through open(ini, 'r'), ls and get, creating nothing."""
    root = shared_dir / "data"
    root.mkdir()
    (root / "k").write_bytes(b"value")
    ini = shared_dir / "ro.ini"
    ini.write_text(f"[default]\nprovider = filesystem\nfolder_path = {root}\n")
    ini.chmod(0o644)
    _freeze(root)
    before = _tree(root)
    assert _as_reader(lambda: _shelf(str(ini))) == [["k"], "value"]
    assert _as_reader(lambda: _cli("ls", str(ini))) == [0, "k\n", ""]
    got = _as_reader(lambda: _cli("--json", "get", str(ini), "k"))
    assert isinstance(got, list)
    assert got[0] == 0, got
    assert json.loads(str(got[1]))["size"] == len(b"value")
    assert _tree(root) == before


WRITER = """
import sys
from cloudmap import CloudMapping
from cloudmap.stores import LocalStore
m = CloudMapping(LocalStore(sys.argv[1]))
m["k"] = b"value"
print("ready", flush=True)
sys.stdin.read()
"""


def test_reader_beside_a_live_writer(shared_dir: Path) -> None:
    """A reader sees the data while another process holds the index open for writing."""
    root = shared_dir / "data"
    # The writer is a separate process: a forked reader would share its SQLite state.
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline() == b"ready\n"
        assert (root / ".cloudmap" / "index.sqlite3-shm").exists()
        _freeze(root)
        before = _tree(root)
        assert _as_reader(lambda: _shelf(str(root))) == [["k"], "value"]
        assert _tree(root) == before
    finally:
        writer.communicate(b"", timeout=60)
