"""dask.distributed for work that outgrows one machine (the `dask` extra).

- `cloudmap.transfer.copy_keys(..., client=)`: a bulk copy or sync run as one
  task per partition of keys on a cluster.
- `cached(target)`: a results cache for pipelines, keyed by
  `dask.base.tokenize`, written create-only so the first writer wins.
- `spill_mapping(target, n)`: the `(factory, kwargs)` a `Worker(data=...)`
  accepts, spilling to a store.

Importing this package imports neither dask nor distributed: each is imported
when first needed, and its absence raises an `ImportError` naming the extra.
"""

from __future__ import annotations

from cloudmap.dask._cache import Memo, cached
from cloudmap.dask._spill import SpillMapping, spill_mapping

__all__ = ["Memo", "SpillMapping", "cached", "spill_mapping"]
