"""The documentation site builds with mkdocs --strict (broken links fail it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_docs_build_strict(tmp_path: Path) -> None:
    """mkdocs build --strict succeeds and the API page renders the docstrings."""
    pytest.importorskip("mkdocs", reason="docs tooling is in the dev extra")
    pytest.importorskip("mkdocstrings", reason="docs tooling is in the dev extra")
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    assert "Open a shelf on a directory, URL, ini file or store" in api
    assert "KeySyncError" in api


def _nav_pages(node: object) -> list[str]:
    """Every page path in a mkdocs `nav` tree."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [page for value in node.values() for page in _nav_pages(value)]
    if isinstance(node, list):
        return [page for item in node for page in _nav_pages(item)]
    return []


def test_every_docs_page_is_in_the_navigation() -> None:
    """Each docs/**/*.md page is reachable from the site's nav, and nav has no strays."""
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with mkdocs (dev extra)")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = {
        path.relative_to(ROOT / "docs").as_posix()
        for path in (ROOT / "docs").rglob("*.md")
    }
    assert sorted(pages - set(_nav_pages(config["nav"]))) == []
    assert sorted(set(_nav_pages(config["nav"])) - pages) == []
