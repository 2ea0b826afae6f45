"""RustyBT on a Dask cluster: chunked pipelines, backtest sweeps and ingestion as tasks (needs ``rustybt[scale]``).

Workers open the catalog themselves from its root (a shared file system or an object store); the client ships
references (catalog root, bundle name, pinned ingestion id) and small task descriptions, never bar data.

Names are imported on first use, so that the pipeline engine's ``client=`` path can load
:mod:`rustybt.distributed.pipeline` without the sweep and ingestion modules (which sit above the strategy layer).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BundleRef",
    "ClusterAdapter",
    "ClusterBucket",
    "grid_points",
    "ingest",
    "run_chunked_pipeline",
    "run_point",
    "sweep",
]

_WHERE = {
    "BundleRef": "rustybt.distributed.pipeline",
    "run_chunked_pipeline": "rustybt.distributed.pipeline",
    "grid_points": "rustybt.distributed.sweeps",
    "run_point": "rustybt.distributed.sweeps",
    "sweep": "rustybt.distributed.sweeps",
    "ClusterAdapter": "rustybt.distributed.ingest",
    "ClusterBucket": "rustybt.distributed.ingest",
    "ingest": "rustybt.distributed.ingest",
}


def __getattr__(name: str) -> Any:
    try:
        module = _WHERE[name]
    except KeyError:
        raise AttributeError(f"module 'rustybt.distributed' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
