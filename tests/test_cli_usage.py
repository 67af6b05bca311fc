"""The cloudmap command as people type it: option order, usage errors, messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def store(tmp_path: Path, env: dict[str, str]) -> Path:
    """A local store holding `k` = b"v"."""
    path = tmp_path / "store"
    assert cli(env, "put", path, "k", "-", stdin=b"v").returncode == 0
    return path


def cli(
    env: dict[str, str], *args: object, stdin: bytes = b""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudmap", *map(str, args)],
        input=stdin.decode(),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


# -- 7. global options before or after the command ----------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("--json", "ls", "{store}"),
        ("ls", "{store}", "--json"),
        ("ls", "--json", "{store}"),
        ("--no-progress", "ls", "{store}", "--json"),
        ("ls", "{store}", "--json", "--no-progress"),
    ],
)
def test_global_options_work_before_or_after_the_command(
    args: tuple[str, ...], store: Path, env: dict[str, str]
) -> None:
    """`cloudmap ls TARGET --json` prints the same JSON as `cloudmap --json ls TARGET`."""
    result = cli(env, *(arg.format(store=store) for arg in args))
    assert result.returncode == 0, result.stderr
    assert [item["key"] for item in json.loads(result.stdout)] == ["k"]


def test_json_before_the_command_is_kept_by_the_command(
    store: Path, env: dict[str, str]
) -> None:
    """--json given before the command is not reset by the command's own option."""
    result = cli(env, "--json", "get", store, "k")
    assert json.loads(result.stdout)["size"] == 1


# -- 8. usage errors exit 2; with --json, one JSON object on stderr ------------------


USAGE_ERRORS = [
    (("put", "{store}", "../x", "-"), "'..'"),
    (("get", "{store}", "a//b"), "path segments"),
    (("demo", "--workers", "0"), "--workers: '0' is not a positive integer"),
    (("demo", "--tasks", "-3"), "--tasks: '-3' is not a positive integer"),
    (("copy", "{store}", "{tmp}/o", "--workers", "0"), "not a positive integer"),
    (("ls", "ftp://host/x"), "unknown scheme"),
    (("ls", "s3://"), "no bucket given"),
    (("ls",), "required"),
    (("frobnicate",), "invalid choice"),
]


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS)
def test_usage_errors_exit_2(
    args: tuple[str, ...],
    message: str,
    as_json: bool,
    store: Path,
    env: dict[str, str],
) -> None:
    """A bad key, option or target exits 2: one error line, or one JSON object."""
    filled = [arg.format(store=store, tmp=store.parent) for arg in args]
    result = cli(env, *filled, *(["--json"] if as_json else []))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    if as_json:
        assert result.stdout == ""
        error = json.loads(result.stderr)
        assert error["exit_code"] == 2
        assert message in error["error"]
    else:
        assert message in result.stderr
        assert result.stderr.strip().splitlines()[-1].startswith("cloudmap: error: ")


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("get", "{store}", "missing"), 3),
        (("put", "{store}", "k", "-", "--create"), 4),
        (("ls", "{tmp}/nowhere"), 1),
    ],
)
def test_json_errors_carry_every_exit_code(
    args: tuple[str, ...], code: int, store: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """Not-found, conflict and store failures are JSON objects too."""
    filled = [arg.format(store=store, tmp=tmp_path) for arg in args]
    result = cli(env, "--json", *filled)
    assert result.returncode == code, result.stderr
    assert json.loads(result.stderr)["exit_code"] == code


# -- 9. messages speak to a CLI user -------------------------------------------------


def test_ls_on_a_file_says_it_is_a_file(tmp_path: Path, env: dict[str, str]) -> None:
    """`cloudmap ls hello.txt` says hello.txt is a file, not a missing directory."""
    (tmp_path / "hello.txt").write_text("hi")
    result = cli(env, "ls", tmp_path / "hello.txt")
    assert result.returncode == 2
    assert "hello.txt is a file" in result.stderr
    assert "does not exist" not in result.stderr


def test_conflicts_speak_in_cli_terms(store: Path, env: dict[str, str]) -> None:
    """A stale --if-match points at `cloudmap ls --long`, not at a Python method."""
    result = cli(env, "put", store, "k", "-", "--if-match", '"stale"', stdin=b"x")
    assert result.returncode == 4
    assert "cloudmap ls --long" in result.stderr
    assert "sync_with_cloud" not in result.stderr
    created = cli(env, "put", store, "k", "-", "--create", stdin=b"x")
    assert "--create" in created.stderr


def test_missing_directory_names_no_python_argument(
    tmp_path: Path, env: dict[str, str]
) -> None:
    """A missing store never tells a CLI user to `pass create=True`."""
    listing = cli(env, "ls", tmp_path / "nowhere")
    assert listing.returncode == 1
    assert "does not exist" in listing.stderr
    assert "create=True" not in listing.stderr
    copy = cli(env, "copy", tmp_path / "nowhere", tmp_path / "dst")
    assert "create=True" not in copy.stderr


@pytest.mark.emulator
def test_missing_bucket_suggests_the_create_option(
    s3_endpoint: str, unique_name: str, tmp_path: Path, env: dict[str, str]
) -> None:
    """copy to a missing bucket suggests --create, the command's own option."""
    (tmp_path / "src").mkdir()
    env = {**env, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    url = f"s3://{unique_name}?endpoint={s3_endpoint}&region=us-east-1"
    cli(env, "put", tmp_path / "src", "k", "-", stdin=b"v")
    result = cli(env, "copy", tmp_path / "src", url)
    assert result.returncode == 1, result.stderr
    assert "does not exist (add --create to create it)" in result.stderr
    assert "create=True" not in result.stderr


# -- 10. memory:// as a destination is refused ----------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("copy", "{store}", "memory://scratch"),
        ("sync", "{store}", "memory://scratch/p"),
        ("put", "memory://scratch", "k", "-"),
        ("rm", "memory://scratch", "k"),
    ],
)
def test_memory_destination_is_refused(
    args: tuple[str, ...], store: Path, env: dict[str, str]
) -> None:
    """Writing to memory:// from the CLI exits 2 saying the data would vanish."""
    result = cli(env, *(arg.format(store=store) for arg in args))
    assert result.returncode == 2, result.stderr
    assert "would vanish" in result.stderr
    assert "copied" not in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("put", "{store}", "k2", "{tmp}/missing.txt"),
        ("get", "-o", "{tmp}", "{store}", "k"),
        ("copy", "--journal", "{tmp}", "{store}", "{tmp}/dst"),
    ],
)
def test_unusable_local_file_is_a_usage_error(
    args: tuple[str, ...], store: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """A missing input file or a directory given as an output file exits 2 in one line."""
    result = cli(env, *(arg.format(store=store, tmp=tmp_path) for arg in args))
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "dst").exists()


def test_in_memory_ini_destination_is_refused(
    store: Path, tmp_path: Path, env: dict[str, str]
) -> None:
    """An ini whose provider is in-memory is refused as a destination, like memory://."""
    ini = tmp_path / "mem.ini"
    ini.write_text("[default]\nprovider = in-memory\n")
    for args in (("put", ini, "k", "-"), ("copy", store, ini)):
        result = cli(env, *args)
        assert result.returncode == 2, result.stderr
        assert "would vanish" in result.stderr
        assert result.stdout == ""


# -- 11. demo --help ----------------------------------------------------------------


def test_demo_help_explains_each_option_and_its_default(env: dict[str, str]) -> None:
    """`cloudmap demo --help` describes the demo and every option with its default."""
    result = cli(env, "demo", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    assert "worker processes to start (default: 4)" in text
    assert "tasks the workers share (default: 40)" in text
    assert "(default: a temporary directory, removed afterwards)" in text
    assert "create-only writes" in text
