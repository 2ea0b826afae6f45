"""A pipeline engine over a catalog bundle: EquityPricing from the bundle, other datasets from given loaders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rustybt.data.catalog import Bundle, Catalog
from rustybt.pipeline.data.equity_pricing import EquityPricing
from rustybt.pipeline.domain import Domain
from rustybt.pipeline.engine import SimplePipelineEngine
from rustybt.pipeline.errors import UnknownColumn
from rustybt.pipeline.loaders.pricing import PricingLoader

__all__ = ["engine_for_bundle"]

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
    return SimplePipelineEngine(get_loader, bundle.asset_finder, default_domain=domain, progress=progress)
