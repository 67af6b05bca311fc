"""Tools for testing a store, or code built on cloudmap.

- `StoreContract`: the behaviour every `Store` must show, as pytest tests.
- `MappingContract`: `CloudMapping`'s semantics over a store, as pytest tests.
- `cloudmap.testing.stateful.StoreStateMachine`: a Hypothesis state machine that
  drives a store and `MemoryStore` (the model) with the same calls.
- `race(n, fn)`: release `n` threads together to provoke a conflict.
- `FaultyStore(inner, handler)`, `RandomFaults`, `Fault`, `Call`: inject failures
  below a mapping, like httpx's `MockTransport`.

```python
from cloudmap.testing import MappingContract, StoreContract

class TestMyStore(StoreContract, MappingContract):
    pass  # with `store` and `store_factory` fixtures, see docs/testing.md
```

The contracts are pytest tests and the state machine is Hypothesis's: they
need the `dev` extra. `race` and the fault tools need nothing more than cloudmap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cloudmap.testing._race import race
from cloudmap.testing.faults import Call, Fault, FaultyStore, RandomFaults

if TYPE_CHECKING:
    from cloudmap.testing._mapping_contract import MappingContract
    from cloudmap.testing._store_contract import StoreContract

__all__ = [
    "Call",
    "Fault",
    "FaultyStore",
    "MappingContract",
    "RandomFaults",
    "StoreContract",
    "race",
]


def __getattr__(name: str) -> Any:
    # The contracts import pytest: only when asked for, then kept.
    from cloudmap.testing._requires import require  # noqa: PLC0415

    if name == "StoreContract":
        require("pytest", needed_by="cloudmap.testing.StoreContract")
        from cloudmap.testing._store_contract import StoreContract  # noqa: PLC0415

        globals()[name] = StoreContract
        return StoreContract
    if name == "MappingContract":
        require("pytest", needed_by="cloudmap.testing.MappingContract")
        from cloudmap.testing._mapping_contract import MappingContract  # noqa: PLC0415

        globals()[name] = MappingContract
        return MappingContract
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
