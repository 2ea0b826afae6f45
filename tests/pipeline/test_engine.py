"""SimplePipelineEngine: lifetimes, screens, output format, chunking, lookback errors, reference counting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _world import make_world, wide

from rustybt.assets import Asset, AssetFinder, Equity
from rustybt.pipeline import (
    CRYPTO,
    US_EQUITIES,
    Domain,
    Pipeline,
    SimplePipelineEngine,
    run_chunked_pipeline,
    run_pipeline,
    set_default_engine,
    to_polars,
)
from rustybt.pipeline.data import Column, DataSet
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.errors import NoFurtherDataError, UnknownColumn
from rustybt.pipeline.factors import AnnualizedVolatility, Returns, SimpleMovingAverage
from rustybt.pipeline.graph import ExecutionPlan
from rustybt.pipeline.loaders import DataFrameLoader


def test_output_index_and_lifetimes(world):
    start, end = world.sessions[55], world.sessions[125]
    res = world.run({"close": P.close.latest}, start=start, end=end)
    assert isinstance(res.index, pd.MultiIndex)
    dates = res.index.get_level_values(0)
    assets = res.index.get_level_values(1)
    assert all(isinstance(a, Asset) for a in assets)
    assert dates.min() == start and dates.max() == end
    alive = world.alive().loc[start:end]
    expected = {(d, s) for d in alive.index for s in alive.columns if alive.loc[d, s]}
    assert {(d, int(a)) for d, a in res.index} == expected
    # sid 5 starts on session 60: present from the day after; sid 6 ends on session 120 (inclusive)
    first5 = min(d for d, a in res.index if int(a) == 5)
    assert first5 == world.sessions[61]
    last6 = max(d for d, a in res.index if int(a) == 6)
    assert last6 == world.sessions[120]
    # values outside lifetimes are never served: the row for session 61 of sid 5 holds its data
    np.testing.assert_equal(res.loc[(first5, world.finder.retrieve_asset(5)), "close"],
                            world.frames["close"].loc[first5, 5])  # fmt: skip
    assert res.loc[(start, world.finder.retrieve_asset(1))].shape == (1,)


def test_screen_and_columnless_pipeline(world):
    close = P.close.latest
    res = world.run({"close": close}, screen=close > 40)
    assert (res["close"] > 40).all()
    full = world.run({"close": close})
    assert len(res) == int((full["close"] > 40).sum())
    only_index = world.run({}, screen=close > 40)
    assert list(only_index.columns) == [] and only_index.index.equals(res.index)
    empty = world.run({"close": close}, screen=close > 1e9)
    assert len(empty) == 0 and list(empty.columns) == ["close"] and empty["close"].dtype == np.float64


@pytest.mark.parametrize("chunksize", [1, 7, 30])
def test_chunked_equals_unchunked(world, chunksize):
    sma = SimpleMovingAverage(inputs=[P.close], window_length=10)
    r = Returns(window_length=5)
    pipe = Pipeline(
        {
            "sma": sma,
            "rank": r.rank(),
            "z": r.zscore(),
            "q": sma.quartiles(),
            "top": r.top(2),
            "expr": (P.close.latest - sma) / sma,
        },
        screen=P.volume.latest > 5_000,
    )
    eng = world.engine()
    start, end = world.sessions[50], world.sessions[50 + (20 if chunksize == 1 else 60)]
    full = eng.run_pipeline(pipe, start, end, progress=False)
    chunked = eng.run_chunked_pipeline(pipe, start, end, chunksize, progress=False)
    # running-sum kernels restart at each chunk start: equal up to floating-point rounding
    pd.testing.assert_frame_equal(chunked, full, rtol=1e-12, atol=1e-14)
    pd.testing.assert_frame_equal(chunked[["rank", "q", "top"]], full[["rank", "q", "top"]], check_exact=True)


def test_chunked_categorical_columns(world):
    from test_methods import Meta

    rng = np.random.default_rng(3)
    labels = rng.choice(np.array(["x", "y", "z"], dtype=object), (len(world.sessions), len(world.sids)))
    labels[:60] = "x"  # early chunks only see "x"
    loader = DataFrameLoader(Meta.label, pd.DataFrame(labels, index=world.sessions, columns=world.sids))
    eng = world.engine({Meta.label: loader})
    pipe = Pipeline({"label": Meta.label.latest})
    full = eng.run_pipeline(pipe, world.sessions[45], world.sessions[100], progress=False)
    chunked = eng.run_chunked_pipeline(pipe, world.sessions[45], world.sessions[100], 10, progress=False)
    assert isinstance(chunked["label"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(chunked, full)


def test_date_errors(world):
    eng = world.engine()
    pipe = Pipeline({"close": P.close.latest})
    with pytest.raises(ValueError, match="start_date must be before or equal to end_date"):
        eng.run_pipeline(pipe, world.sessions[50], world.sessions[40])
    with pytest.raises(ValueError, match=r"start date \(2014-03-08\) is not a trading session"):
        eng.run_pipeline(pipe, "2014-03-08", "2014-03-20")
    with pytest.raises(ValueError, match="chunksize"):
        eng.run_chunked_pipeline(pipe, world.sessions[50], world.sessions[60], 0)


def test_insufficient_lookback_says_how_many_sessions_are_missing():
    sessions = US_EQUITIES.sessions()
    start = sessions[10]
    w = make_world(start=str(sessions[0].date()), end=str(sessions[40].date()), n_assets=3)
    pipe = Pipeline({"vol": AnnualizedVolatility()})  # needs 252 sessions of lookback
    with pytest.raises(NoFurtherDataError, match="needs 252 sessions before .* only has 10 .242 sessions missing"):
        w.engine().run_pipeline(pipe, start, sessions[20])


def test_output_polars_and_to_polars(world):
    from test_methods import Meta

    labels = np.where(np.arange(len(world.sessions))[:, None] % 2 == 0, "even", "odd").repeat(len(world.sids), 1)
    loader = DataFrameLoader(Meta.label, pd.DataFrame(labels.astype(object), index=world.sessions, columns=world.sids))
    pipe = Pipeline({"close": P.close.latest, "label": Meta.label.latest, "up": P.close.latest > 40})
    eng = world.engine({Meta.label: loader})
    res = eng.run_pipeline(pipe, world.sessions[50], world.sessions[60], progress=False)
    out = eng.run_pipeline(pipe, world.sessions[50], world.sessions[60], output="polars", progress=False)
    assert isinstance(out, pl.DataFrame)
    assert out.columns == ["date", "sid", "symbol", "close", "label", "up"]
    assert out.height == len(res)
    assert out.schema["label"] == pl.Categorical and out.schema["up"] == pl.Boolean
    np.testing.assert_array_equal(out["close"].to_numpy(), res["close"].to_numpy())
    assert to_polars(res).equals(out)
    with pytest.raises(ValueError, match="output"):
        eng.run_pipeline(pipe, world.sessions[50], world.sessions[60], output="arrow")


def test_progress_bar_runs(world, capsys):
    res = world.run({"close": P.close.latest}, progress=True)
    chunked = world.engine().run_chunked_pipeline(Pipeline({"close": P.close.latest}), world.sessions[50],
                                                  world.sessions[60], 3, progress=True)  # fmt: skip
    assert len(res) and len(chunked)


def test_memoized_terms_are_computed_once(world, monkeypatch):
    calls = []
    original = SimpleMovingAverage._vectorized_compute

    def counting(self, *args):
        calls.append(self)
        return original(self, *args)

    monkeypatch.setattr(SimpleMovingAverage, "_vectorized_compute", counting)
    a = SimpleMovingAverage(inputs=[P.close], window_length=7)
    b = SimpleMovingAverage(inputs=[P.close], window_length=7)
    assert a is b
    world.run({"a": a, "b": b, "c": a + 1, "d": (b * 2).rank()})
    assert len(calls) == 1


def test_intermediates_are_freed_after_last_consumer(world, monkeypatch):
    freed = []
    original = ExecutionPlan.decref_dependencies

    def spy(self, term, refcounts):
        garbage = original(self, term, refcounts)
        freed.append((term, set(garbage)))
        return garbage

    monkeypatch.setattr(ExecutionPlan, "decref_dependencies", spy)
    r = Returns(window_length=3)
    sma = SimpleMovingAverage(inputs=[r], window_length=4)
    z = sma.zscore()
    world.run({"z": z})
    released = {t for _, g in freed for t in g}
    assert r in released and sma in released and P.close in released
    assert z not in released  # an output is handed to the output collector, not released by a consumer
    order = [t for t, _ in freed]
    assert order.index(sma) < order.index(z)
    assert any(sma in g for t, g in freed if t is z)


def test_loader_errors(world):
    class Other(DataSet):
        x = Column(float)

    with pytest.raises(UnknownColumn, match=r"No pipeline loader is registered for Other<US>.x::float64"):
        world.run({"x": Other.x.latest})
    bad = world.engine({Other.x: DataFrameLoader(P.close, world.frames["close"])})
    with pytest.raises(ValueError, match="Can't load unknown column"):
        bad.run_pipeline(Pipeline({"x": Other.x.latest}), world.sessions[50], world.sessions[51])

    class ShortLoader:
        def load_adjusted_array(self, domain, columns, dates, sids, mask):
            from rustybt.pipeline.adjusted_array import AdjustedArray

            return {c: AdjustedArray(np.zeros((len(dates) - 1, len(sids)))) for c in columns}

    with pytest.raises(Exception, match=r"returned shape .* expected"):
        world.run({"x": Other.x.latest}, extra={Other.x: ShortLoader()})


def test_domains(world):
    from rustybt.pipeline.data import EquityPricing

    crypto_world = SimplePipelineEngine(world.loaders(), world.finder, CRYPTO)
    with pytest.raises(ValueError, match="Failed to find any assets of domain CRYPTO"):
        crypto_world.run_pipeline(Pipeline({"c": EquityPricing.close.latest}), "2014-03-03", "2014-03-04")
    # USEquityPricing terms pin the pipeline to US_EQUITIES whatever the engine default
    assert len(crypto_world.run_pipeline(Pipeline({"c": P.close.latest}), "2014-03-03", "2014-03-04")) == 10
    generic = SimplePipelineEngine(world.loaders(), world.finder)

    with pytest.raises(ValueError, match="Unable to determine domain"):
        generic.run_pipeline(Pipeline({"c": EquityPricing.close.latest}), "2014-03-03", "2014-03-04")
    # the pipeline's domain is taken from its terms (USEquityPricing) or from domain=
    res = generic.run_pipeline(Pipeline({"c": EquityPricing.close.latest}, domain=US_EQUITIES), "2014-03-03",
                               "2014-03-04", progress=False)  # fmt: skip
    assert len(res) == 2 * 5
    xnys = SimplePipelineEngine(world.loaders(), world.finder, "XNYS")
    assert len(xnys.run_pipeline(Pipeline({"c": EquityPricing.close.latest}), "2014-03-03", "2014-03-04")) == 10
    with pytest.raises(ValueError, match="Conflicting domains"):
        generic.run_pipeline(Pipeline({"c": P.close.latest}, domain=Domain("XLON", "GB")), "2014-03-03",
                             "2014-03-04")  # fmt: skip


def test_crypto_domain_on_24_7():
    sessions = CRYPTO.sessions()
    days = sessions[(sessions >= "2024-01-01") & (sessions <= "2024-01-20")]
    assert len(days) == 20  # every day
    from rustybt.assets import CryptoSpot

    assets = [CryptoSpot(1, "BTC/USDT", start_date=pd.Timestamp("2023-01-01")), Equity(2, "AAPL")]
    frame = pd.DataFrame(np.arange(40.0).reshape(20, 2), index=days, columns=[1, 2])
    from rustybt.pipeline.data import EquityPricing

    eng = SimplePipelineEngine({EquityPricing.close: DataFrameLoader(EquityPricing.close, frame)},
                               AssetFinder(assets), CRYPTO)  # fmt: skip
    res = eng.run_pipeline(Pipeline({"c": EquityPricing.close.latest}), days[5], days[9], progress=False)
    assert [int(a) for a in res.index.get_level_values(1)] == [1] * 5
    np.testing.assert_array_equal(res["c"].to_numpy(), frame.loc[days[5] : days[9], 1].to_numpy())


def test_module_level_run_pipeline(world):
    pipe = Pipeline({"c": P.close.latest})
    a = run_pipeline(pipe, world.sessions[50], world.sessions[52], engine=world.engine(), progress=False)
    b = run_pipeline(pipe, world.sessions[50], world.sessions[52], get_loader=world.loaders(),
                     asset_finder=world.finder, domain=US_EQUITIES, progress=False)  # fmt: skip
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(TypeError, match="needs an engine"):
        run_pipeline(pipe, world.sessions[50], world.sessions[52])
    set_default_engine(world.engine)
    try:
        c = run_chunked_pipeline(pipe, world.sessions[50], world.sessions[52], 2, progress=False)
    finally:
        set_default_engine(None)
    pd.testing.assert_frame_equal(a, c)


def test_one_session_and_wide_results_align(world):
    day = world.sessions[70]
    res = world.run({"close": P.close.latest, "ret": Returns(window_length=2)}, start=day, end=day)
    assert set(res.index.get_level_values(0)) == {day}
    frame = wide(res, "close", world)
    np.testing.assert_array_equal(frame.loc[day].dropna().to_numpy(), world.masked("close").loc[day].dropna())


def test_a_range_run_again_reuses_its_root_mask_and_another_range_does_not(world, monkeypatch):
    calls = []
    real = AssetFinder.lifetimes

    def counted(self, dates, include_start_date=False):
        calls.append((dates[0], dates[-1]))
        return real(self, dates, include_start_date)

    monkeypatch.setattr(AssetFinder, "lifetimes", counted)
    engine = world.engine()
    pipe = Pipeline({"close": P.close.latest})
    first = engine.run_pipeline(pipe, world.sessions[55], world.sessions[125])
    again = engine.run_pipeline(pipe, world.sessions[55], world.sessions[125])
    pd.testing.assert_frame_equal(again, first)
    assert len(calls) == 1
    other = engine.run_pipeline(pipe, world.sessions[56], world.sessions[125])  # one session less
    assert len(calls) == 2 and other.index.get_level_values(0).min() == world.sessions[56]
    pd.testing.assert_frame_equal(other, first.loc[world.sessions[56] :])
