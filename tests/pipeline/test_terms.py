"""Terms: memoization, construction rules and their errors, dependency graph and lookback rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rustybt.assets import Equity
from rustybt.pipeline import GENERIC, US_EQUITIES, CustomFactor, Domain, Pipeline
from rustybt.pipeline.classifiers import Everything, Quantiles
from rustybt.pipeline.data import Column, DataSet, EquityPricing, USEquityPricing
from rustybt.pipeline.errors import (
    AmbiguousDomain,
    BadPercentileBounds,
    IncompatibleTerms,
    InvalidOutputName,
    NoDefaultMissingValue,
    NonPipelineInputs,
    NonSliceableTerm,
    NonWindowSafeInput,
    TermInputsNotSpecified,
    TermOutputsEmpty,
    UnknownRankMethod,
    UnsupportedDataType,
    UnsupportedPipelineOutput,
    WindowLengthNotSpecified,
)
from rustybt.pipeline.factors import (
    EWMA,
    RSI,
    VWAP,
    AnnualizedVolatility,
    IchimokuKinkoHyo,
    Latest,
    MACDSignal,
    Returns,
    RollingPearson,
    SimpleBeta,
    SimpleMovingAverage,
)
from rustybt.pipeline.filters import StaticSids
from rustybt.pipeline.graph import ExecutionPlan, TermGraph
from rustybt.pipeline.term import AssetExists

close = USEquityPricing.close


def test_memoization():
    a = SimpleMovingAverage(inputs=[close], window_length=10)
    assert a is SimpleMovingAverage(inputs=(close,), window_length=10)
    assert a is not SimpleMovingAverage(inputs=[close], window_length=11)
    assert a is not SimpleMovingAverage(inputs=[USEquityPricing.open], window_length=10)
    assert close.latest is close.latest
    assert (a + 1) is (a + 1)
    assert (a + 1) is not (a + 2)
    assert a.rank() is a.rank() and a.rank() is not a.rank(ascending=False)
    assert a.zscore() is a.zscore()
    assert Returns(window_length=2) is AnnualizedVolatility.inputs[0]
    assert EWMA.from_span(inputs=[close], window_length=30, span=15) is EWMA(
        inputs=[close], window_length=30, decay_rate=1 - 2 / 16
    )
    assert RSI() is RSI(window_length=15)
    # NaN missing values compare equal for memoization
    assert Latest(inputs=[close], missing_value=float("nan")) is close.latest
    # expressions over shared sub-terms keep one input per distinct term
    expr = (a + close.latest) / a
    assert expr.inputs == (a, close.latest)
    assert expr._expr == "(x_0 + x_1) / (x_0)"


def test_window_safety_rules():
    latest = close.latest
    with pytest.raises(NonWindowSafeInput, match="not window-safe"):
        SimpleMovingAverage(inputs=[latest], window_length=5)
    SimpleMovingAverage(inputs=[latest], window_length=1)  # a window of one is always fine
    SimpleMovingAverage(inputs=[Returns(window_length=2)], window_length=5)  # Returns is window-safe
    SimpleMovingAverage(inputs=[latest.rank()], window_length=5)  # so are ranks and zscores
    SimpleMovingAverage(inputs=[latest.zscore()], window_length=5)
    SimpleMovingAverage(inputs=[latest > 3], window_length=5)  # filters are window-safe
    with pytest.raises(NonWindowSafeInput):
        SimpleMovingAverage(inputs=[latest.demean()], window_length=5)  # demean keeps the input's safety
    assert (Returns(window_length=2) + 1).window_safe and not (latest + 1).window_safe
    assert not SimpleMovingAverage(inputs=[close], window_length=3).downsample("month_start").window_safe


def test_construction_errors():
    with pytest.raises(WindowLengthNotSpecified, match="window_length"):
        SimpleMovingAverage(inputs=[close])
    with pytest.raises(TermInputsNotSpecified, match="inputs"):
        SimpleMovingAverage(window_length=3)
    with pytest.raises(NonPipelineInputs, match="Inputs to Pipeline expressions must be"):
        SimpleMovingAverage(inputs=[3.0], window_length=3)
    with pytest.raises(TypeError, match="list or tuple"):
        SimpleMovingAverage(inputs=close, window_length=3)
    with pytest.raises(ValueError, match="expects only one input"):
        SimpleMovingAverage(inputs=[close, close], window_length=3)
    with pytest.raises(ValueError, match="at least 2"):
        Returns(window_length=1)
    with pytest.raises(TypeError, match="integer window_length"):
        SimpleMovingAverage(inputs=[close], window_length=2.5)
    with pytest.raises(TypeError, match="keyword parameter 'decay_rate'"):
        EWMA(inputs=[close], window_length=3)
    with pytest.raises(TypeError, match="hashable"):
        EWMA(inputs=[close], window_length=3, decay_rate=[0.5])
    with pytest.raises(ValueError, match="decay_rate"):
        EWMA(inputs=[close], window_length=3, decay_rate=1.5)
    with pytest.raises(ValueError, match="span"):
        EWMA.from_span(inputs=[close], window_length=3, span=1)
    with pytest.raises(ValueError, match="must be <= the window_length"):
        IchimokuKinkoHyo(window_length=10)
    with pytest.raises(ValueError, match="slow_period"):
        MACDSignal(fast_period=26, slow_period=12)
    assert MACDSignal(fast_period=3, slow_period=6, signal_period=4).window_length == 9
    with pytest.raises(ValueError, match=">= 3"):
        SimpleBeta(target=Equity(1, "A"), regression_length=2)
    with pytest.raises(ValueError, match=">= 2"):
        RollingPearson(base_factor=Returns(window_length=2), target=Returns(window_length=2), correlation_length=1)
    r2 = Returns(window_length=2)
    with pytest.raises(IncompatibleTerms):
        RollingPearson(base_factor=r2, target=Returns(window_length=2, mask=StaticSids([1])), correlation_length=3)
    with pytest.raises(UnknownRankMethod):
        r2.rank(method="fancy")
    with pytest.raises(BadPercentileBounds):
        r2.percentile_between(50, 10)
    with pytest.raises(BadPercentileBounds):
        r2.winsorize(0.5, 1.5)
    with pytest.raises(TypeError, match="Filter"):
        r2.rank(mask=r2)
    with pytest.raises(TypeError, match="Classifier"):
        r2.demean(groupby=r2)


def test_outputs_rules():
    class Two(CustomFactor):
        inputs = [close]
        window_length = 2

        def compute(self, today, assets, out, c):
            pass

    with pytest.raises(TermOutputsEmpty):
        Two(outputs=[])
    with pytest.raises(InvalidOutputName):
        Two(outputs=["_private"])
    with pytest.raises(InvalidOutputName):
        Two(outputs=["inputs"])
    assert Two(outputs=["a", "b"]).a.dtype == np.float64


def test_dtype_and_missing_value_rules():
    with pytest.raises(NoDefaultMissingValue, match="missing_value"):

        class NoMissing(DataSet):
            code = Column(np.int64)

    with pytest.raises(TypeError, match="Missing value"):

        class BadMissing(DataSet):
            x = Column(float, missing_value="nope")

    class Ok(DataSet):
        code = Column(int, missing_value=-1)
        flag = Column(bool)
        when = Column("datetime64[s]")
        name = Column(str)

    assert Ok.code.missing_value == -1 and Ok.flag.missing_value is False
    assert Ok.when.dtype == np.dtype("datetime64[ns]") and Ok.name.dtype == np.dtype(object)
    assert type(Ok.flag.latest).__name__ == "Latest" and Ok.flag.latest.dtype == bool
    with pytest.raises(TypeError, match="not supported"):

        class Bad(DataSet):
            x = Column(np.float32)

    with pytest.raises(UnsupportedDataType):
        SimpleMovingAverage(inputs=[close], window_length=2, dtype=bool)
    with pytest.raises(TypeError, match="only defined on Factors of dtype float64"):
        Ok.when.latest.zscore()
    with pytest.raises(TypeError, match="isnull"):
        Ok.when.latest.isnan()
    with pytest.raises(TypeError, match="Don't know how to compute"):
        Ok.when.latest + 1.0
    with pytest.raises(AttributeError, match="has no column 'nope'"):
        Ok.get_column("nope")
    assert Ok.get_column("code") is Ok.code


def test_domain_rules():
    xlon = Domain("XLON", "GB")
    GB = EquityPricing.specialize(xlon)
    assert GB.close.domain == xlon and GB is EquityPricing.specialize(Domain("XLON", "GB"))
    with pytest.raises(AmbiguousDomain, match="conflicting domains"):
        GB.close.latest + USEquityPricing.close.latest
    assert (EquityPricing.close.latest + USEquityPricing.close.latest).domain is US_EQUITIES
    assert EquityPricing.close.latest.domain is GENERIC
    assert USEquityPricing.close.unspecialize() is EquityPricing.close
    assert GB.specialize(US_EQUITIES) is USEquityPricing  # an existing member of the family
    with pytest.raises(ValueError, match="Can't specialize"):
        GB.specialize(Domain("XTKS", "JP"))
    with pytest.raises(NonSliceableTerm):
        close[Equity(1, "A")]
    with pytest.raises(TypeError, match="expects an Asset"):
        close.latest[1]
    with pytest.raises(TypeError, match=r"Did you mean to use '\.latest'"):
        close + 1
    assert close.latest[Equity(1, "A")].ndim == 1


def test_graph_extra_rows_and_offsets():
    a = SimpleMovingAverage(inputs=[close], window_length=5)
    b = SimpleMovingAverage(inputs=[close], window_length=3)
    c = SimpleMovingAverage(inputs=[Returns(window_length=4)], window_length=6)
    vwap = VWAP(window_length=10)
    terms = {"a": a, "b": b, "c": c, "v": vwap, "screen": AssetExists()}
    start = pd.Timestamp("2014-06-02")
    plan = ExecutionPlan(US_EQUITIES, terms, start, start)
    extra = plan.extra_rows
    ret = Returns(window_length=4)
    assert extra[a] == extra[b] == extra[c] == 0
    assert extra[ret] == 5  # c needs 6 rows of returns
    assert extra[close] == 9  # returns need 3 more: max(4, 2, 5 + 3, 9 (vwap))
    assert extra[USEquityPricing.volume] == 9
    assert extra[AssetExists()] == 9
    assert plan.offset[a, close] == 9 - 0 - 4
    assert plan.offset[b, close] == 9 - 0 - 2
    assert plan.offset[ret, close] == 9 - 5 - 3
    assert plan.offset[c, ret] == 0
    # generic inputs are specialized to the domain: one node for EquityPricing.close and USEquityPricing.close
    assert EquityPricing.close not in plan and close in plan
    graph = TermGraph(terms)
    order = graph.ordered()
    assert order.index(ret) < order.index(c)
    refcounts = graph.initial_refcounts([])
    assert refcounts[EquityPricing.close] == 2  # Returns and VWAP use the generic column
    assert refcounts[close] == 2  # a and b
    assert plan.initial_refcounts([])[close] == 4  # specialized: one node with four consumers


def test_pipeline_api_errors():
    p = Pipeline({"a": close.latest})
    with pytest.raises(KeyError, match="already exists"):
        p.add(close.latest, "a")
    p.add(RSI(), "a", overwrite=True)
    assert p.columns["a"] is RSI()
    assert p.remove("a") is RSI()
    with pytest.raises(TypeError, match=r"Did you mean to append '\.latest'"):
        Pipeline({"c": close})
    with pytest.raises(UnsupportedPipelineOutput):
        Pipeline({"s": close.latest.mean()})
    p.set_screen(close.latest > 1)
    with pytest.raises(ValueError, match="overwrite=False"):
        p.set_screen(close.latest > 2)
    p.set_screen(close.latest > 2, overwrite=True)
    with pytest.raises(TypeError, match="Filter"):
        Pipeline(screen=close.latest)


def test_show_graph_and_html():
    sma = SimpleMovingAverage(inputs=[close], window_length=10)
    p = Pipeline({"sma": sma, "z": (close.latest - sma).zscore(groupby=Quantiles(inputs=[sma], bins=3))},
                 screen=sma > 5)  # fmt: skip
    svg = p.show_graph()
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="node') >= 7 and "sma = " in svg and "marker-end" in svg
    html = p._repr_html_()
    assert "<table" in html and "sma" in html and "<svg" in html
    assert "Pipeline(" in repr(p)
    assert "<" not in Pipeline({"x&<y": sma})._repr_html_().split("<code>")[1].split("</code>")[0]


def test_everything_and_misc_reprs():
    assert repr(close) == "EquityPricing<US>.close::float64"
    assert "Rank" in repr(close.latest.rank())
    assert Everything().missing_value == -1
    assert "Expression" in (close.latest + 1).graph_repr()
