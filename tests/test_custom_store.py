"""The third-party store of docs/writing-a-store.md passes the shipped contract."""

from __future__ import annotations

import functools
import importlib.util
import logging
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import cloudmap
from cloudmap.stores import LocalStore, memory_store, register
from cloudmap.targets import resolve
from cloudmap.testing import StoreContract
from tests.handles import handles_under, needs_proc

if TYPE_CHECKING:
    from collections.abc import Callable

    from cloudmap.stores import Store

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_store.py"


def _load_example() -> Any:
    spec = importlib.util.spec_from_file_location("custom_store", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DictStore = _load_example().DictStore


@pytest.fixture
def store_factory() -> Callable[[], Store]:
    """Clients of one fresh, empty dict, named at random."""
    factory: Callable[[], Store] = functools.partial(DictStore, uuid.uuid4().hex)
    return factory


@pytest.fixture
def store(store_factory: Callable[[], Store]) -> Store:
    """A fresh, empty DictStore."""
    return store_factory()


class TestDictStore(StoreContract):
    """The store contract, run on the example's third-party DictStore."""


def test_the_docs_page_shows_the_tested_example() -> None:
    """docs/writing-a-store.md includes the example file itself, not a copy."""
    page = (EXAMPLE.parents[1] / "docs" / "writing-a-store.md").read_text("utf-8")
    assert '--8<-- "examples/custom_store.py"' in page


def test_a_registered_store_opens_from_a_url_and_an_ini_file(tmp_path: Path) -> None:
    """After register(), dict:// URLs and `provider = dict` sections open DictStore."""
    register("dict", DictStore)
    name = uuid.uuid4().hex
    with cloudmap.open(f"dict://{name}/run", codec="json") as db:
        db["k"] = [1, 2]
    ini = tmp_path / "dict.ini"
    ini.write_text(
        f"[default]\nprovider = dict\nname = {name}\nprefix = run\n", encoding="utf-8"
    )
    with cloudmap.open(ini, "r", codec="json") as db:
        assert db["k"] == [1, 2]
    assert isinstance(resolve(ini)[0].open_store(), DictStore)


def _wrapper_example() -> dict[str, Any]:
    """The python block under "## Wrapping a store" in docs/writing-a-store.md, run."""
    page = (EXAMPLE.parents[1] / "docs" / "writing-a-store.md").read_text("utf-8")
    section = page.split("## Wrapping a store", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "writing-a-store.md", "exec"), namespace)  # noqa: S102
    return namespace


AuditedStore = _wrapper_example()["AuditedStore"]


class TestWrappedStore(StoreContract):
    """The store contract, run on the docs' StoreWrapper subclass over MemoryStore."""

    @pytest.fixture
    def store_factory(self) -> Callable[[], Store]:
        """Wrappers over one fresh, process-wide MemoryStore."""
        name = uuid.uuid4().hex

        def factory() -> Store:
            wrapped: Store = AuditedStore(memory_store(name))
            return wrapped

        return factory


@needs_proc
def test_a_wrapper_names_shows_and_closes_its_inner_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A StoreWrapper subclass takes the inner name, and its `with` closes the inner."""
    local = LocalStore(tmp_path)
    with AuditedStore(local) as store, caplog.at_level(logging.INFO, "audit"):
        assert isinstance(store, AuditedStore)
        assert (store.name, repr(store)) == (local.name, f"AuditedStore({local!r})")
        assert store.inner is local
        store.put("k", b"v")
        assert handles_under(tmp_path) > 0
    assert handles_under(tmp_path) == 0
    assert f"put 'k' (1 bytes) in {local.name}" in caplog.text
