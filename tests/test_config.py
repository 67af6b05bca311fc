"""cshelve-style ini files: providers, compression, $VAR expansion, errors."""

from __future__ import annotations

import pickle
import zlib
from typing import TYPE_CHECKING

import pytest

import cloudmap
import cloudmap.stores
from cloudmap import CloudMapping
from cloudmap.config import read_config
from cloudmap.errors import ConfigError

if TYPE_CHECKING:
    from pathlib import Path


def write_ini(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cloudmap.ini"
    path.write_text(text)
    return path


def test_filesystem_provider_with_compression(tmp_path: Path) -> None:
    """A filesystem ini opens a shelf whose files hold zlib-compressed pickles."""
    ini = write_ini(
        tmp_path,
        f"""
[default]
provider    = filesystem
folder_path = {tmp_path}/data

[compression]
algorithm = zlib
level = 9
""",
    )
    with cloudmap.open(ini) as db:
        db["k"] = {"a": [1, 2, 3]}
    raw = (tmp_path / "data" / "k").read_bytes()
    assert pickle.loads(zlib.decompress(raw)) == {"a": [1, 2, 3]}
    with cloudmap.open(ini, "r") as db:
        assert db["k"] == {"a": [1, 2, 3]}


def test_values_expand_environment_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$NAME and ${NAME} in values read environment variables."""
    monkeypatch.setenv("CLOUDMAP_TEST_DIR", str(tmp_path))
    ini = write_ini(
        tmp_path,
        """
[default]
provider    = filesystem
folder_path = ${CLOUDMAP_TEST_DIR}/env
prefix      = runs
""",
    )
    (provider,) = read_config(ini)
    assert provider.location == f"{tmp_path}/env"
    assert provider.prefix == "runs/"
    with cloudmap.open(ini) as db:
        db["x"] = 1
    assert (tmp_path / "env" / "runs" / "x").exists()


def test_in_memory_provider_shares_its_named_store(tmp_path: Path) -> None:
    """An in-memory provider with a name shares data with memory://name."""
    ini = write_ini(
        tmp_path,
        """
[default]
provider = in-memory
name     = config-test
""",
    )
    with cloudmap.open(ini) as db:
        db["x"] = 1
    with cloudmap.open("memory://config-test", "r") as db:
        assert db["x"] == 1


def test_several_providers_are_listed_in_order(tmp_path: Path) -> None:
    """providers = a, b yields both sections in order, each with its compression."""
    ini = write_ini(
        tmp_path,
        f"""
[default]
providers        = local, backup
provider_routing = all

[local]
provider    = filesystem
folder_path = {tmp_path}/a

[backup]
provider    = filesystem
folder_path = {tmp_path}/b

[backup.compression]
algorithm = zlib
level     = 1
""",
    )
    first, second = read_config(ini)
    assert (first.section, first.compression) == ("local", None)
    assert (second.section, second.compression) == ("backup", 1)


def test_several_providers_build_a_replicated_mapping(tmp_path: Path) -> None:
    """Writes through a two-provider ini reach both directories."""
    pytest.importorskip("cloudmap.replication")
    ini = write_ini(
        tmp_path,
        f"""
[default]
providers        = primary, replica
provider_routing = all

[primary]
provider    = filesystem
folder_path = {tmp_path}/a

[replica]
provider    = filesystem
folder_path = {tmp_path}/b
""",
    )
    with cloudmap.open(ini) as db:
        db["k"] = [1]
    for folder in ("a", "b"):
        with CloudMapping.with_pickle(
            cloudmap.stores.LocalStore(tmp_path / folder)
        ) as m:
            assert m["k"] == [1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[other]\nprovider = filesystem\n", r"missing section \[default\]"),
        (
            "[default]\nprovider = ftp\n",
            r"\[default\] provider: unknown provider 'ftp'",
        ),
        ("[default]\nfolder_path = x\n", r"\[default\] provider: missing"),
        ("[default]\nprovider = filesystem\n", r"\[default\] folder_path: missing"),
        (
            "[default]\nprovider = filesystem\nfolder_path = $CLOUDMAP_TEST_UNSET\n",
            r"\[default\] folder_path: environment variable 'CLOUDMAP_TEST_UNSET'",
        ),
        (
            "[default]\nproviders = a, b\n[a]\nprovider = in-memory\n",
            r"\[default\] providers: no \[b\] section",
        ),
        (
            "[default]\nprovider = in-memory\n[compression]\nlevel = 12\n",
            r"\[compression\] level: '12'",
        ),
        (
            "[default]\nprovider = in-memory\n[compression]\nlevel = high\n",
            r"\[compression\] level: 'high'",
        ),
        (
            "[default]\nprovider = in-memory\n[compression]\nalgorithm = lz4\n",
            r"\[compression\] algorithm: 'lz4'",
        ),
        (
            "[default]\nprovider = aws-s3\nbucket_name = b\nkey_idd = x\n",
            r"\[default\] key_idd: unknown option",
        ),
        (
            "[default]\nproviders = a\nprovider_routing = first\n[a]\nprovider = in-memory\n",
            r"\[default\] provider_routing = 'first'",
        ),
    ],
)
def test_mistakes_name_file_section_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    """Each mistake is a ConfigError naming the file, the section and the key."""
    monkeypatch.delenv("CLOUDMAP_TEST_UNSET", raising=False)
    ini = write_ini(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        cloudmap.open(ini)
    assert str(info.value).startswith(str(ini))


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    """Opening an ini file that does not exist raises ConfigError naming it."""
    with pytest.raises(ConfigError, match=r"nope\.ini"):
        cloudmap.open(tmp_path / "nope.ini")


# -- in-memory providers: fresh per open(), shared when asked ---------------------


def test_in_memory_provider_is_fresh_on_every_open(tmp_path: Path) -> None:
    """As in cshelve, an in-memory provider without persist-key starts empty each time."""
    ini = write_ini(tmp_path, "[default]\nprovider = in-memory\n")
    with cloudmap.open(ini) as db:
        db["x"] = 1
    with cloudmap.open(ini) as db:
        assert "x" not in db


def test_in_memory_persist_key_shares_one_store(tmp_path: Path) -> None:
    """persist-key = NAME keeps the data for the process, shared by every open()."""
    ini = write_ini(
        tmp_path, "[default]\nprovider = in-memory\npersist-key = config-persist\n"
    )
    with cloudmap.open(ini) as db:
        db["x"] = 1
    with cloudmap.open(ini, "r") as db:
        assert db["x"] == 1


# -- validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[default]\nprovider = filesystem\nfolder_path = x\nfolder_pth = y\n",
            r"\[default\] folder_pth: unknown option \(did you mean 'folder_path'\?",
        ),
        (
            "[default]\nprovider = in-memory\n[compresion]\nlevel = 1\n",
            r"\[compresion\]: unknown section \(did you mean '\[compression\]'\?",
        ),
        (
            "[default]\nprovider = in-memory\n[compression]\nlevl = 1\n",
            r"\[compression\] levl: unknown option \(did you mean 'level'\?",
        ),
        (
            (
                "[default]\nprovider = filesystem\nfolder_path = x\n"
                "[provider_params]\nfsyn = false\n"
            ),
            r"\[provider_params\] fsyn: unknown option \(did you mean 'fsync'\?",
        ),
        (
            (
                "[default]\nproviders = a\nproviders_routing = all\n"
                "[a]\nprovider = in-memory\n"
            ),
            (
                r"\[default\] providers_routing: unknown option "
                r"\(did you mean 'provider_routing'\?"
            ),
        ),
        (
            (
                "[default]\nproviders = a\n[a]\nprovider = in-memory\n"
                "[a.compresion]\nlevel = 1\n"
            ),
            r"\[a\.compresion\]: unknown section \(did you mean '\[a\.compression\]'\?",
        ),
        (
            (
                "[default]\nprovider = filesystem\nfolder_path = x\n"
                "[provider_params]\nfsync = maybe\n"
            ),
            r"\[provider_params\] fsync: 'maybe' is not a boolean",
        ),
    ],
)
def test_misspelt_names_are_refused_with_a_suggestion(
    tmp_path: Path, text: str, message: str
) -> None:
    """An unknown option or section is a ConfigError naming file, section and option."""
    ini = write_ini(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as info:
        cloudmap.open(ini)
    assert str(info.value).startswith(str(ini))


@pytest.mark.parametrize(("text", "expected"), [("false", False), ("yes", True)])
def test_boolean_provider_params_are_parsed(
    tmp_path: Path, text: str, expected: bool
) -> None:
    """fsync = false is False, not the truthy string 'false'."""
    ini = write_ini(
        tmp_path,
        f"[default]\nprovider = filesystem\nfolder_path = {tmp_path}/d\n"
        f"[provider_params]\nfsync = {text}\n",
    )
    (provider,) = read_config(ini)
    assert provider.kwargs["fsync"] is expected


def test_double_dollar_is_a_literal_dollar(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """$$ stands for $, so a value can hold a dollar sign next to a variable."""
    monkeypatch.setenv("CLOUDMAP_TEST_DIR", str(tmp_path))
    ini = write_ini(
        tmp_path,
        "[default]\nprovider = filesystem\nfolder_path = $CLOUDMAP_TEST_DIR/a$$b\n",
    )
    (provider,) = read_config(ini)
    assert provider.location == f"{tmp_path}/a$b"


# -- no secret in a repr or an error ------------------------------------------------

SECRET = "wJalrXUtnFEMI-K7MDENG-SECRET"


def test_parsed_config_repr_shows_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """repr(read_config(...)) names the options, never their values."""
    monkeypatch.setenv("CLOUDMAP_TEST_SECRET", SECRET)
    ini = write_ini(
        tmp_path,
        "[default]\nprovider = aws-s3\nbucket_name = b\nkey_id = AKIA\n"
        "key_secret = $CLOUDMAP_TEST_SECRET\n",
    )
    configs = read_config(ini)
    assert configs[0].kwargs["aws_secret_access_key"] == SECRET
    assert SECRET not in repr(configs)
    assert "aws_secret_access_key" in repr(configs)


@pytest.mark.parametrize(
    "text",
    [
        f"key_secret = {SECRET}\n[default]\nprovider = in-memory\n",
        f"[default]\nprovider = in-memory\nkey_secret {SECRET}\n",
        f"[default]\nprovider = in-memory\n  {SECRET}\n[x\n",
    ],
)
def test_parse_errors_never_echo_a_line(tmp_path: Path, text: str) -> None:
    """A malformed line is named by number; its text is in no message nor chained error."""
    ini = write_ini(tmp_path, text)
    with pytest.raises(ConfigError, match="line") as info:
        read_config(ini)
    chain: BaseException | None = info.value
    while chain is not None:
        assert SECRET not in str(chain)
        assert SECRET not in repr(chain.args)
        chain = chain.__cause__ or chain.__context__


@pytest.mark.parametrize(("text", "expected"), [("8", 8), ("eight", None)])
def test_integer_provider_params_are_parsed(
    tmp_path: Path, text: str, expected: int | None
) -> None:
    """An int parameter is parsed, or refused as a ConfigError, never a TypeError later."""
    pytest.importorskip("azure.storage.blob")
    ini = write_ini(
        tmp_path,
        "[default]\nprovider = azure-blob\ncontainer_name = c\n"
        "account_url = https://a.blob.core.windows.net\n"
        f"[provider_params]\nmax_pool_connections = {text}\n",
    )
    if expected is None:
        with pytest.raises(ConfigError, match="max_pool_connections: not an integer"):
            read_config(ini)
        return
    (provider,) = read_config(ini)
    assert provider.kwargs["max_pool_connections"] == expected


def test_azure_provider_params_pass_sdk_options_through(tmp_path: Path) -> None:
    """AzureBlobStore hands unknown keyword arguments to its SDK client: accepted."""
    pytest.importorskip("azure.storage.blob")
    ini = write_ini(
        tmp_path,
        "[default]\nprovider = azure-blob\ncontainer_name = c\n"
        "account_url = https://a.blob.core.windows.net\n"
        "[provider_params]\nconnection_timeout = 5\nmax_single_put_size = 1024\n",
    )
    (provider,) = read_config(ini)
    assert provider.kwargs["connection_timeout"] == "5"
    assert provider.kwargs["max_single_put_size"] == 1024
