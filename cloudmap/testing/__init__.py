"""Tools for testing a store, or code built on cloudmap (needs the `dev` extra).

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
"""

from __future__ import annotations

from cloudmap.testing._requires import require

require("pytest", needed_by="cloudmap.testing")

from cloudmap.testing._mapping_contract import MappingContract  # noqa: E402
from cloudmap.testing._race import race  # noqa: E402
from cloudmap.testing._store_contract import StoreContract  # noqa: E402
from cloudmap.testing.faults import Call, Fault, FaultyStore, RandomFaults  # noqa: E402

__all__ = [
    "Call",
    "Fault",
    "FaultyStore",
    "MappingContract",
    "RandomFaults",
    "StoreContract",
    "race",
]
