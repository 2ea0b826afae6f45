"""RustyBT Pipeline: zipline-reloaded's pipeline API, computed with Numba kernels.

::

    from rustybt.pipeline import Pipeline, SimplePipelineEngine
    from rustybt.pipeline.data import USEquityPricing
    from rustybt.pipeline.factors import SimpleMovingAverage, Returns

    sma = SimpleMovingAverage(inputs=[USEquityPricing.close], window_length=20)
    pipe = Pipeline({"sma": sma, "rank": Returns(window_length=20).rank()}, screen=sma > 10)
    result = engine.run_pipeline(pipe, "2013-01-02", "2014-12-31")   # (date, asset) MultiIndex DataFrame
"""

from rustybt.pipeline import domain as domains
from rustybt.pipeline.adjusted_array import AdjustedArray
from rustybt.pipeline.classifiers import Classifier, CustomClassifier
from rustybt.pipeline.domain import CRYPTO, GENERIC, US_EQUITIES, Domain
from rustybt.pipeline.engine import (
    SimplePipelineEngine,
    run_chunked_pipeline,
    run_pipeline,
    set_default_engine,
    to_polars,
)
from rustybt.pipeline.factors import CustomFactor, Factor
from rustybt.pipeline.filters import CustomFilter, Filter
from rustybt.pipeline.graph import ExecutionPlan, TermGraph
from rustybt.pipeline.pipeline import Pipeline
from rustybt.pipeline.term import LoadableTerm, Term

__all__ = [
    "CRYPTO",
    "GENERIC",
    "US_EQUITIES",
    "AdjustedArray",
    "Classifier",
    "CustomClassifier",
    "CustomFactor",
    "CustomFilter",
    "Domain",
    "ExecutionPlan",
    "Factor",
    "Filter",
    "LoadableTerm",
    "Pipeline",
    "SimplePipelineEngine",
    "Term",
    "TermGraph",
    "domains",
    "run_chunked_pipeline",
    "run_pipeline",
    "set_default_engine",
    "to_polars",
]
