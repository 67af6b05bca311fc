"""The store registry and targets.resolve: one way from a target to its stores."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import cloudmap
from cloudmap.errors import ConfigError, MissingDependencyError
from cloudmap.stores import (
    LocalStore,
    MemoryStore,
    provider_for_ini,
    provider_for_scheme,
    providers,
    register,
    store_class,
)
from cloudmap.targets import StoreConfig, open_mapping, resolve

ROOT = Path(__file__).resolve().parents[1]


def _python(code: str) -> str:
    """What `code` prints in a fresh interpreter importing this checkout."""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return result.stdout


def test_each_built_in_store_declares_its_schemes_and_ini_names() -> None:
    """Schemes and ini names find the provider whose store class declares them."""
    assert providers()[:5] == ["local", "memory", "s3", "azure", "gcs"]
    found = {scheme: provider_for_scheme(scheme) for scheme in ("file", "az", "gs")}
    assert found == {"file": "local", "az": "azure", "gs": "gcs"}
    assert provider_for_ini("aws-s3") == "s3"
    assert provider_for_ini("in-memory") == "memory"
    assert provider_for_scheme("ftp") is None
    assert store_class("local") is LocalStore


def test_registering_by_import_path_imports_nothing_until_used() -> None:
    """A store named as 'module:Class' is imported on its first target only."""
    code = (
        "import sys\n"
        "from cloudmap.stores import register, store_class\n"
        "register('wave', 'wave:Wave_read')\n"
        "before = 'wave' in sys.modules\n"
        "cls = store_class('wave')\n"
        "print(before, cls.__name__, 'wave' in sys.modules)\n"
    )
    assert _python(code).split() == ["False", "Wave_read", "True"]


class _NeedsAnSDK:
    """A store whose constructor imports a package that is not installed."""

    url_schemes = ("needs-sdk",)
    extra = "s3"

    def __init__(self, location: str) -> None:
        importlib.import_module("cloudmap_test_no_such_sdk")


def test_a_missing_sdk_names_the_extra_that_installs_it() -> None:
    """An ImportError while constructing a store becomes MissingDependencyError."""
    register("needs-sdk", _NeedsAnSDK)
    with pytest.raises(MissingDependencyError) as info:
        cloudmap.open("needs-sdk://bucket")
    message = str(info.value)
    assert "'cloudmap_test_no_such_sdk' package" in message
    assert 'pip install "cloudmap-dict[s3]"' in message


def test_a_store_name_without_a_class_is_refused() -> None:
    """register() needs 'module:Class', so a typo fails at once, not on first use."""
    with pytest.raises(ValueError, match="module:Class"):
        register("broken", "just.a.module")
    assert "broken" not in providers()


def test_resolve_names_one_store_for_a_path_url_or_store(tmp_path: Path) -> None:
    """A path, a URL and a Store each resolve to one StoreConfig, opened on demand."""
    (local,) = resolve(tmp_path / "d")
    assert (local.provider, local.location, local.prefix) == (
        "local",
        str(tmp_path / "d"),
        "",
    )
    assert not (tmp_path / "d").exists()  # nothing opened yet
    (memory,) = resolve("memory://resolve-test/runs?verify=1")
    assert (memory.provider, memory.prefix, memory.verify) == ("memory", "runs/", True)
    given = MemoryStore()
    (config,) = resolve(given)
    assert config.open_store() is given


def test_resolve_lists_every_store_of_an_ini_file_primary_first(
    tmp_path: Path,
) -> None:
    """An ini file with `providers = a, b` resolves to its sections, in order."""
    ini = tmp_path / "two.ini"
    ini.write_text(
        "[default]\nproviders = a, b\n"
        f"[a]\nprovider = filesystem\nfolder_path = {tmp_path}/a\n"
        "[b]\nprovider = in-memory\nname = resolve-b\n",
        encoding="utf-8",
    )
    configs = resolve(ini)
    assert [(c.section, c.provider) for c in configs] == [
        ("a", "local"),
        ("b", "memory"),
    ]
    assert all(isinstance(c, StoreConfig) for c in configs)


def test_a_bad_url_option_fails_before_anything_is_created(tmp_path: Path) -> None:
    """Options are checked when the target is resolved, before any store is opened."""
    with pytest.raises(ConfigError, match="not a boolean"):
        open_mapping(
            f"file://{tmp_path}/new?verify=maybe",
            codec=cloudmap.codecs.raw(),
            create=True,
        )
    assert not (tmp_path / "new").exists()


def test_old_names_still_work_with_a_deprecation_warning() -> None:
    """cloudmap.providers and config.ProviderConfig warn and give the new objects."""
    code = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "try:\n"
        "    import cloudmap.providers\n"
        "except DeprecationWarning as exc:\n"
        "    print('providers:', exc)\n"
    )
    assert "providers: cloudmap.providers is deprecated" in _python(code)
    import cloudmap.config  # noqa: PLC0415

    with pytest.deprecated_call(match="StoreConfig"):
        old = cloudmap.config.ProviderConfig
    assert old is StoreConfig
