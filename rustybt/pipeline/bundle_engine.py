"""A pipeline engine over a catalog bundle: EquityPricing from the bundle, other datasets from given loaders.

:func:`shared_engine` is the engine the public calls use (``run_pipeline(..., bundle=...)``,
``run_chunked_pipeline(..., bundle=...)``, the ``%%rustybt pipeline`` magic, ``rustybt pipeline``): one per catalog
root, bundle and pinned ingestion, kept in a small least-recently-used table so a second call reuses the first
call's asset finder, pricing loader (its raw-array cache and open readers) and result-array pool instead of
building them again. A bundle asked for by name is pinned to its live ingestion at each call, so a re-ingest
gives a new engine (and drops the engines of the bundle's older ingestions that were reached by name).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rustybt.data.catalog import Bundle, Catalog
from rustybt.pipeline.data.equity_pricing import EquityPricing
from rustybt.pipeline.domain import Domain
from rustybt.pipeline.engine import SimplePipelineEngine
from rustybt.pipeline.errors import UnknownColumn
from rustybt.pipeline.loaders.pricing import PricingLoader, _configured_mb

__all__ = ["MAX_SHARED_ENGINES", "clear_shared_engines", "engine_for_bundle", "shared_engine", "shared_engines"]

#: engines :func:`shared_engine` keeps (least recently used out). Each holds its loader's raw-array cache (bounded
#: by the cache setting) and up to ``_pool.DEFAULT_MAX_BYTES`` of result arrays, so a few are the most worth
#: keeping: a notebook alternates between one or two bundles.
MAX_SHARED_ENGINES = 3

_SHARED: OrderedDict[tuple, tuple[SimplePipelineEngine, PricingLoader]] = OrderedDict()
_SHARED_LOCK = threading.Lock()

_PRICING_FIELDS = ("open", "high", "low", "close", "volume")


def engine_for_bundle(
    bundle: str | Bundle,
    *,
    catalog: Catalog | None = None,
    loaders: Mapping[Any, Any] | None = None,
    cache=None,
    progress=None,
) -> SimplePipelineEngine:
    """A :class:`SimplePipelineEngine` reading ``EquityPricing`` from ``bundle`` (a name or a pinned Bundle).

    Parameters
    ----------
    bundle
        Bundle name (opened from ``catalog``, default ``Catalog()``) or a :class:`Bundle`.
    loaders
        Extra loaders keyed by DataSet class (or BoundColumn), e.g. ``{Fundamentals: ParquetLoader(...)}``.
    cache
        A :class:`~rustybt.data.cache.CacheManager` whose size and ``enabled`` flag bound the pricing loader's
        raw-array cache (default: the configuration's ``cache.max_size_mb`` / ``cache.enabled``).
    """
    return _build(bundle, catalog=catalog, loaders=loaders, cache=cache, progress=progress)[0]


def _build(bundle, *, catalog=None, loaders=None, cache=None, progress=None) -> tuple[SimplePipelineEngine, Any]:
    if isinstance(bundle, str):
        bundle = (catalog or Catalog()).bundle(bundle)
    pricing = PricingLoader(bundle, cache=cache)
    extra = dict(loaders or {})

    def get_loader(column):
        dataset = getattr(column, "dataset", None)
        generic_column = column.unspecialize() if hasattr(column, "unspecialize") else column
        generic_dataset = dataset.unspecialize() if hasattr(dataset, "unspecialize") else dataset
        for key in (column, generic_column, dataset, generic_dataset, getattr(generic_dataset, "__name__", None)):
            if key is not None and key in extra:
                return extra[key]
        if column.name in _PRICING_FIELDS and issubclass(generic_dataset, EquityPricing):
            return pricing
        raise UnknownColumn(
            f"no loader for column {getattr(column, 'qualname', column)!r}; pass loaders={{DataSet: loader}} "
            "to engine_for_bundle"
        )

    domain = Domain(bundle.calendar_name)
    engine = SimplePipelineEngine(get_loader, bundle.asset_finder, default_domain=domain, progress=progress)
    return engine, pricing


def shared_engine(bundle: str | Bundle, *, catalog: Catalog | None = None, cache=None) -> SimplePipelineEngine:
    """The engine the public calls share for ``bundle``: built once per (catalog root, bundle, ingestion).

    Parameters
    ----------
    bundle
        Bundle name (pinned to its live ingestion now, from ``catalog``, default ``Catalog()``) or a pinned
        :class:`Bundle`. A name whose live ingestion changed since the last call gets a new engine, and the
        engines of that bundle's older ingestions are dropped.
    cache
        As :func:`engine_for_bundle`; engines whose raw-array caches differ in size are kept apart.

    At most :data:`MAX_SHARED_ENGINES` engines are kept; the least recently used one is dropped and its cached
    arrays freed. The engine has no extra loaders (use :func:`engine_for_bundle` for those) and its progress bar
    is automatic. :func:`clear_shared_engines` drops them all.
    """
    by_name = isinstance(bundle, str)
    if by_name:
        bundle = (catalog or Catalog()).bundle(bundle)
    home = str(Path(bundle.path).resolve().parent)  # <root>/bundles/<name>: one bundle of one catalog
    key = (home, bundle.ingestion_id, _configured_mb(cache))
    with _SHARED_LOCK:
        hit = _SHARED.get(key)
        if hit is not None:
            _SHARED.move_to_end(key)
            return hit[0]
    built = _build(bundle, cache=cache)  # outside the lock: opening a bundle reads its asset table
    dropped = []
    with _SHARED_LOCK:
        hit = _SHARED.get(key)
        if hit is not None:  # another thread built it meanwhile
            _SHARED.move_to_end(key)
            return hit[0]
        if by_name:  # a re-ingest: the name now means another ingestion
            dropped += [_SHARED.pop(k) for k in list(_SHARED) if k[0] == home and k[1] != key[1]]
        _SHARED[key] = built
        while len(_SHARED) > MAX_SHARED_ENGINES:
            dropped.append(_SHARED.popitem(last=False)[1])
    for entry in dropped:
        _release(entry)
    return built[0]


def shared_engines() -> list[tuple[str, str]]:
    """(bundle directory, ingestion id) of the engines :func:`shared_engine` keeps, least recently used first."""
    with _SHARED_LOCK:
        return [(k[0], k[1]) for k in _SHARED]


def clear_shared_engines() -> None:
    """Drop every engine :func:`shared_engine` keeps and free their cached arrays."""
    with _SHARED_LOCK:
        dropped = list(_SHARED.values())
        _SHARED.clear()
    for entry in dropped:
        _release(entry)


def _release(entry: tuple[SimplePipelineEngine, PricingLoader]) -> None:
    """Free what a dropped engine holds (a caller still using it keeps working: the caches refill)."""
    engine, pricing = entry
    engine.array_pool.clear()
    pricing.raw_cache.clear()
