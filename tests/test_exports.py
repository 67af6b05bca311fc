"""The public surface: sorted __all__, a version, and no cloud SDK on import."""

from __future__ import annotations

import ast
import subprocess
import sys
import types
from pathlib import Path

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


def test_version_is_a_string() -> None:
    """cloudmap.__version__ is a PEP 440 string."""
    assert isinstance(cloudmap.__version__, str)
    assert cloudmap.__version__[0].isdigit()


def test_import_loads_no_cloud_sdk() -> None:
    """`import cloudmap` leaves the cloud SDKs, optional codec packages and dask unimported."""
    code = (
        "import sys, cloudmap; "
        "bad = [m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore', 'azure',"
        " 'zstandard', 'msgspec', 'cryptography', 'pydantic', 'dask', 'distributed'}"
        " or m.startswith('google.cloud')]; "
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


def test_import_needs_only_declared_dependencies() -> None:
    """Importing any cloudmap module needs nothing beyond the declared dependencies."""
    package = Path(cloudmap.__file__).parent
    allowed = set(sys.stdlib_module_names) | RUNTIME_DEPENDENCIES | {"cloudmap"}
    undeclared = {
        str(path.relative_to(package)): sorted(names - allowed)
        for path in package.rglob("*.py")
        if path.name != "testing.py"  # the contract suite needs pytest, by design
        and (names := _module_level_imports(ast.parse(path.read_text()))) - allowed
    }
    assert undeclared == {}


def test_old_store_module_warns_and_re_exports_the_protocol() -> None:
    """`cloudmap.store` still works for a release, with a DeprecationWarning."""
    code = (
        "import warnings; warnings.simplefilter('error'); import cloudmap.stores\n"
        "try:\n    import cloudmap.store\nexcept DeprecationWarning as w: print(w)\n"
        "warnings.simplefilter('ignore'); import cloudmap.store as old\n"
        "assert old.Store is cloudmap.stores.Store\n"
        "assert old.Replace is cloudmap.stores.Replace"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "import from cloudmap.stores instead" in result.stdout
