"""The public surface: sorted __all__, a version, and no cloud SDK on import."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import types
from pathlib import Path

import pytest

import cloudmap


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists every public name once, sorted case-insensitively."""
    public = {
        name
        for name in dir(cloudmap)
        if not name.startswith("_")
        and name != "annotations"
        and not isinstance(getattr(cloudmap, name), types.ModuleType)
    }
    assert cloudmap.__all__ == sorted(set(cloudmap.__all__), key=str.casefold)
    assert public | {"__version__", "codecs"} == set(cloudmap.__all__)


def test_all_holds_what_users_need_and_no_test_doubles() -> None:
    """The top level is small: entry points, mappings, codecs and the main errors."""
    assert 20 <= len(cloudmap.__all__) <= 30
    assert {"open", "CloudMapping", "ReplicatedMapping", "verify", "codecs"} <= set(
        cloudmap.__all__
    )
    assert not {"FaultyStore", "RandomFaults", "Fault", "MemoryStore"} & set(
        cloudmap.__all__
    )


@pytest.mark.parametrize("name", sorted(cloudmap._MOVED))
def test_moved_names_still_resolve_with_a_deprecation_warning(name: str) -> None:
    """A name that left the top level resolves to its module's object and warns."""
    module = cloudmap._MOVED[name]
    with pytest.warns(DeprecationWarning, match=f"import it from {module} instead"):
        found = getattr(cloudmap, name)
    assert found is getattr(importlib.import_module(module), name)
    assert name not in cloudmap.__all__


def test_from_import_of_a_moved_name_warns() -> None:
    """`from cloudmap import MemoryStore` still works, with a DeprecationWarning."""
    with pytest.warns(DeprecationWarning, match=r"cloudmap\.MemoryStore is deprecated"):
        from cloudmap import MemoryStore  # noqa: PLC0415

    from cloudmap.stores import MemoryStore as Moved  # noqa: PLC0415

    assert MemoryStore is Moved


def test_unknown_name_is_an_attribute_error() -> None:
    """A name that never existed is an AttributeError, not a warning."""
    with pytest.raises(AttributeError, match="no attribute 'NoSuchThing'"):
        _ = cloudmap.NoSuchThing  # type: ignore[attr-defined]


def test_version_is_a_string() -> None:
    """cloudmap.__version__ is a PEP 440 string."""
    assert isinstance(cloudmap.__version__, str)
    assert cloudmap.__version__[0].isdigit()


def test_import_loads_no_cloud_sdk() -> None:
    """`import cloudmap` leaves the SDKs, optional codecs, dask and the test tools unimported."""
    code = (
        "import sys, cloudmap; "
        "bad = [m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore', 'azure',"
        " 'zstandard', 'msgspec', 'cryptography', 'pydantic', 'dask', 'distributed'}"
        " or m.startswith('google.cloud')"
        " or m in {'cloudmap.faults', 'cloudmap.testing', 'pytest', 'hypothesis'}]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


RUNTIME_DEPENDENCIES = {"tenacity", "zict", "tqdm"}


class _ImportTimeImports(ast.NodeVisitor):
    """Collects modules imported when a module runs: not in functions or TYPE_CHECKING."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        """Function bodies run later, if ever: a lazy import is fine there."""

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]  # noqa: N815

    def visit_If(self, node: ast.If) -> None:
        if "TYPE_CHECKING" not in ast.unparse(node.test):
            self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names |= {alias.name.split(".")[0] for alias in node.names}

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level == 0 and node.module:
            self.names.add(node.module.split(".")[0])


def _module_level_imports(tree: ast.Module) -> set[str]:
    visitor = _ImportTimeImports()
    visitor.visit(tree)
    return visitor.names


DEV_EXTRA_MODULES = {
    "testing/_mapping_contract.py",
    "testing/_store_contract.py",
    "testing/_store_reads.py",
    "testing/stateful.py",
}


def test_import_needs_only_declared_dependencies() -> None:
    """Importing any cloudmap module needs nothing beyond the declared dependencies."""
    package = Path(cloudmap.__file__).parent
    allowed = set(sys.stdlib_module_names) | RUNTIME_DEPENDENCIES | {"cloudmap"}
    undeclared = {
        str(path.relative_to(package)): sorted(names - allowed)
        for path in package.rglob("*.py")
        # The contracts and the state machine need pytest and hypothesis by
        # design (the dev extra); the fault tools and `race` do not.
        if path.relative_to(package).as_posix() not in DEV_EXTRA_MODULES
        and (names := _module_level_imports(ast.parse(path.read_text()))) - allowed
    }
    assert undeclared == {}


def _python(code: str) -> str:
    """What a fresh interpreter running `code` prints; it must exit 0."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout


def test_old_store_module_warns_and_re_exports_the_protocol() -> None:
    """`cloudmap.store` still works for a release, with a DeprecationWarning."""
    code = (
        "import warnings; warnings.simplefilter('error'); import cloudmap.stores\n"
        "try:\n    import cloudmap.store\nexcept DeprecationWarning as w: print(w)\n"
        "warnings.simplefilter('ignore'); import cloudmap.store as old\n"
        "assert old.Store is cloudmap.stores.Store\n"
        "assert old.Replace is cloudmap.stores.Replace"
    )
    assert "import from cloudmap.stores instead" in _python(code)


def test_fault_tools_work_without_pytest_and_contracts_name_the_extra() -> None:
    """`FaultyStore` and `race` import without pytest; a contract asks for `dev`."""
    code = (
        "import sys; sys.modules['pytest'] = None\n"
        "from cloudmap.testing import Fault, FaultyStore, race\n"
        "from cloudmap.stores.memory import MemoryStore\n"
        "store = FaultyStore(MemoryStore(), lambda call: None)\n"
        "store.put('k', b'v'); assert store.get('k').data == b'v'\n"
        "try:\n    from cloudmap.testing import StoreContract\n"
        "except ImportError as exc: print(exc)\n"
    )
    printed = _python(code)
    assert "StoreContract needs pytest" in printed
    assert "[dev]" in printed
