"""Pipeline loaders: where BoundColumn data comes from."""

from rustybt.pipeline.loaders.base import PipelineLoader
from rustybt.pipeline.loaders.frame import ADJUSTMENT_COLUMNS, DataFrameLoader
from rustybt.pipeline.loaders.parquet import ParquetLoader
from rustybt.pipeline.loaders.pricing import PricingLoader
from rustybt.pipeline.loaders.synthetic import PrecomputedLoader

__all__ = [
    "ADJUSTMENT_COLUMNS",
    "DataFrameLoader",
    "ParquetLoader",
    "PipelineLoader",
    "PrecomputedLoader",
    "PricingLoader",
]
