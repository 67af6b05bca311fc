"""The public surface: sorted __all__, a version, and no cloud SDK on import."""

from __future__ import annotations

import subprocess
import sys
import types

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
    """`import cloudmap` leaves boto3, azure and google.cloud unimported."""
    code = (
        "import sys, cloudmap; "
        "bad = [m for m in sys.modules if m.split('.')[0] in {'boto3', 'botocore', 'azure'}"
        " or m.startswith('google.cloud')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
