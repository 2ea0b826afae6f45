"""Filters: boolean pipeline terms."""

from rustybt.pipeline.filters.filter import (
    AllPresent,
    ArrayPredicate,
    CustomFilter,
    Filter,
    Latest,
    MaximumFilter,
    NotNullFilter,
    NullFilter,
    NumExprFilter,
    PercentileFilter,
    SingleAsset,
    StaticAssets,
    StaticSids,
    TopBottomFilter,
)
from rustybt.pipeline.filters.smoothing import All, Any, AtLeastN

__all__ = [
    "All",
    "AllPresent",
    "Any",
    "ArrayPredicate",
    "AtLeastN",
    "CustomFilter",
    "Filter",
    "Latest",
    "MaximumFilter",
    "NotNullFilter",
    "NullFilter",
    "NumExprFilter",
    "PercentileFilter",
    "SingleAsset",
    "StaticAssets",
    "StaticSids",
    "TopBottomFilter",
]
