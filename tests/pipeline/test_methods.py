"""Factor/Filter/Classifier methods through the engine against pandas/numpy/scipy references computed from the
same run's base column (rank, demean, zscore, winsorize, quantiles, top/bottom, percentiles, summaries...)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _world import wide
from scipy import stats

from rustybt.pipeline.classifiers import Classifier
from rustybt.pipeline.data import Column, DataSet
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.factors import Returns, SimpleMovingAverage
from rustybt.pipeline.filters import StaticSids
from rustybt.pipeline.loaders import DataFrameLoader


class Meta(DataSet):
    sector = Column(np.int64, missing_value=-1)
    label = Column(object)


@pytest.fixture(scope="module")
def meta_loaders(world):
    rng = np.random.default_rng(7)
    n = len(world.sessions)
    sector = rng.integers(0, 3, (n, len(world.sids)))
    sector[rng.random(sector.shape) < 0.05] = -1
    labels = np.array(["alpha", "beta", "gamma", "delta"], dtype=object)[rng.integers(0, 4, sector.shape)]
    labels[rng.random(sector.shape) < 0.05] = None
    return {
        Meta.sector: DataFrameLoader(Meta.sector, pd.DataFrame(sector, index=world.sessions, columns=world.sids)),
        Meta.label: DataFrameLoader(Meta.label, pd.DataFrame(labels, index=world.sessions, columns=world.sids)),
    }


BASE = Returns(window_length=5)
MASK = P.volume.latest > 15_000
GROUPS = Meta.sector.latest


def run_with_base(world, meta_loaders, columns):
    cols = {"base": BASE, "mask": MASK, "groups": GROUPS, **columns}
    res = world.run(cols, extra=meta_loaders)
    base = wide(res, "base", world)
    mask = wide(res, "mask", world).fillna(False).astype(bool)
    groups = wide(res, "groups", world).fillna(-1).astype(np.int64)
    alive = world.alive().loc[base.index]
    return res, base, mask & alive, groups.where(alive, -1), alive


def rowwise(base, valid, groups, fn):
    out = pd.DataFrame(np.nan, index=base.index, columns=base.columns)
    for d in base.index:
        ok = valid.loc[d].to_numpy() & base.loc[d].notna().to_numpy()
        g = groups.loc[d].to_numpy()
        for label in np.unique(g[ok]):
            sel = ok & (g == label)
            out.loc[d, base.columns[sel]] = fn(base.loc[d].to_numpy()[sel])
    return out


@pytest.mark.parametrize("method", ["ordinal", "average", "min", "max", "dense"])
def test_rank_vs_scipy(world, meta_loaders, method):
    columns = {}
    for asc in (True, False):
        columns[f"rank_{asc}"] = BASE.rank(method=method, ascending=asc)
        columns[f"rank_masked_{asc}"] = BASE.rank(method=method, ascending=asc, mask=MASK)
        columns[f"rank_grouped_{asc}"] = BASE.rank(method=method, ascending=asc, groupby=GROUPS)
    res, base, mask, groups, alive = run_with_base(world, meta_loaders, columns)
    zero = pd.DataFrame(0, index=base.index, columns=base.columns)
    for ascending in (True, False):

        def ranker(v, ascending=ascending):
            return stats.rankdata(v if ascending else -v, method=method).astype(float)

        for name, valid, grp in (
            ("rank", alive, zero),
            ("rank_masked", mask, zero),
            ("rank_grouped", alive & (groups >= 0), groups),
        ):
            expected = rowwise(base, valid, grp, ranker)
            np.testing.assert_array_equal(wide(res, f"{name}_{ascending}", world).to_numpy(), expected.to_numpy())


def test_demean_zscore_winsorize(world, meta_loaders):
    res, base, mask, groups, alive = run_with_base(
        world,
        meta_loaders,
        {
            "demean": BASE.demean(),
            "demean_masked": BASE.demean(mask=MASK),
            "zscore_grouped": BASE.zscore(groupby=GROUPS),
            "zscore_both": BASE.zscore(mask=MASK, groupby=GROUPS),
            "wins": BASE.winsorize(0.2, 0.8),
            "wins_grouped": BASE.winsorize(0.1, 0.9, groupby=GROUPS, mask=MASK),
        },
    )
    zero = pd.DataFrame(0, index=base.index, columns=base.columns)

    def winsorize(lo, hi):
        def fn(v):
            a = v.copy()
            idx = a.argsort()
            n = len(a)
            if lo > 0:
                cut = int(lo * n)
                a[idx[:cut]] = a[idx[cut]]
            if hi < 1:
                cut = math.ceil(n * hi)
                if cut < n:
                    a[idx[cut:]] = a[idx[cut - 1]]
            return a

        return fn

    cases = {
        "demean": (alive, zero, lambda v: v - v.mean()),
        "demean_masked": (mask, zero, lambda v: v - v.mean()),
        "zscore_grouped": (alive & (groups >= 0), groups, lambda v: (v - v.mean()) / v.std()),
        "zscore_both": (mask & (groups >= 0), groups, lambda v: (v - v.mean()) / v.std()),
        "wins": (alive, zero, winsorize(0.2, 0.8)),
        "wins_grouped": (mask & (groups >= 0), groups, winsorize(0.1, 0.9)),
    }
    with np.errstate(all="ignore"):
        for name, (valid, grp, fn) in cases.items():
            expected = rowwise(base, valid, grp, fn)
            np.testing.assert_allclose(
                wide(res, name, world).to_numpy(), expected.to_numpy(), rtol=1e-10, atol=1e-14, equal_nan=True
            )


@pytest.mark.parametrize("bins", [2, 3, 4, 10])
def test_quantiles_vs_qcut(world, meta_loaders, bins):
    res, base, mask, _, alive = run_with_base(
        world, meta_loaders, {"q": BASE.quantiles(bins), "qm": BASE.quantiles(bins, mask=MASK)}
    )
    for name, valid in (("q", alive), ("qm", mask)):
        expected = pd.DataFrame(-1, index=base.index, columns=base.columns)
        for d in base.index:
            ok = valid.loc[d] & base.loc[d].notna()
            vals = base.loc[d][ok]
            if len(vals):
                try:
                    expected.loc[d, vals.index] = pd.qcut(vals, bins, labels=False).to_numpy()
                except ValueError:
                    expected.loc[d, vals.index] = wide(res, name, world).loc[d, vals.index].to_numpy()
        got = wide(res, name, world)
        np.testing.assert_array_equal(got.where(alive, -1).to_numpy(), expected.where(alive, -1).to_numpy())
    for fn, b in (("quartiles", 4), ("quintiles", 5), ("deciles", 10)):
        assert getattr(BASE, fn)() is BASE.quantiles(b)


def test_top_bottom_percentile(world, meta_loaders):
    res, base, mask, groups, alive = run_with_base(
        world,
        meta_loaders,
        {
            "top2": BASE.top(2),
            "top1": BASE.top(1),
            "bottom3": BASE.bottom(3, mask=MASK),
            "top1_grouped": BASE.top(1, groupby=GROUPS),
            "pct": BASE.percentile_between(25, 75),
            "pct_masked": BASE.percentile_between(10, 60, mask=MASK),
        },
    )
    zero = pd.DataFrame(0, index=base.index, columns=base.columns)

    def top_n(n, descending=True):
        def fn(v):
            r = stats.rankdata(-v if descending else v, method="ordinal")
            return (r <= n).astype(float)

        return fn

    def first_max(v):
        keys = v.view(np.int64)  # zipline compares the int64 bit patterns (reversed order among negatives)
        out = np.zeros(len(v))
        out[int(np.argmax(keys))] = 1.0
        return out

    for name, valid, grp, fn in (
        ("top2", alive, zero, top_n(2)),
        ("top1", alive, zero, first_max),
        ("bottom3", mask, zero, top_n(3, descending=False)),
        ("top1_grouped", alive & (groups >= 0), groups, first_max),
    ):
        expected = rowwise(base, valid, grp, fn).fillna(0).astype(bool)
        np.testing.assert_array_equal(wide(res, name, world).where(alive, False).to_numpy(dtype=bool),
                                      expected.where(alive, False).to_numpy())  # fmt: skip

    def between(lo, hi):
        def fn(v):
            a, b = np.percentile(v, lo), np.percentile(v, hi)
            return ((a <= v) & (v <= b)).astype(float)

        return fn

    for name, valid, lo, hi in (("pct", alive, 25, 75), ("pct_masked", mask, 10, 60)):
        expected = rowwise(base, valid, zero, between(lo, hi)).fillna(0).astype(bool)
        np.testing.assert_array_equal(wide(res, name, world).where(alive, False).to_numpy(dtype=bool),
                                      expected.where(alive, False).to_numpy())  # fmt: skip


def test_nan_filters_fillna_clip_summaries(world, meta_loaders):
    close = P.close.latest
    res, _, mask, _, alive = run_with_base(
        world,
        meta_loaders,
        {
            "close": close,
            "isnan": close.isnan(),
            "notnan": close.notnan(),
            "isnull": close.isnull(),
            "notnull": close.notnull(),
            "isfinite": (close / (close - close)).isfinite(),
            "fill": close.fillna(-1.0),
            "fill_term": close.fillna(BASE),
            "clip": close.clip(38.0, 42.0),
            "mean": close - close.mean(),
            "median": close - close.median(mask=MASK),
            "count": close * 0 + close.notnull_count(),
            "std": close * 0 + close.stddev(),
            "sum": close * 0 + close.sum(mask=MASK),
            "max": close * 0 + close.max(),
            "min": close * 0 + close.min(),
        },
    )
    c = wide(res, "close", world)
    isnan = c.isna()
    for name, expected in (("isnan", isnan), ("notnan", ~isnan), ("isnull", isnan), ("notnull", ~isnan)):
        np.testing.assert_array_equal(wide(res, name, world).where(alive, False).to_numpy(dtype=bool),
                                      expected.where(alive, False).to_numpy(dtype=bool))  # fmt: skip
    assert not wide(res, "isfinite", world).where(alive, False).to_numpy(dtype=bool).any()
    b = wide(res, "base", world)
    np.testing.assert_array_equal(wide(res, "fill", world).where(alive), c.fillna(-1.0).where(alive))
    np.testing.assert_array_equal(wide(res, "fill_term", world).where(alive), c.fillna(b).where(alive))
    np.testing.assert_array_equal(wide(res, "clip", world).where(alive), c.clip(38.0, 42.0).where(alive))
    cm = c.where(alive)
    cmm = c.where(mask)
    for name, expected in (
        ("mean", c.sub(cm.mean(axis=1), axis=0)),
        ("median", c.sub(cmm.median(axis=1), axis=0)),
        ("count", c * 0 + cm.notna().sum(axis=1).to_numpy()[:, None]),
        ("std", c * 0 + cm.std(axis=1, ddof=0).to_numpy()[:, None]),
        ("sum", c * 0 + cmm.sum(axis=1).to_numpy()[:, None]),
        ("max", c * 0 + cm.max(axis=1).to_numpy()[:, None]),
        ("min", c * 0 + cm.min(axis=1).to_numpy()[:, None]),
    ):
        np.testing.assert_allclose(wide(res, name, world).where(alive).to_numpy(), expected.where(alive).to_numpy(),
                                   rtol=1e-12, equal_nan=True)  # fmt: skip


def test_classifier_methods(world, meta_loaders):
    sector, label = Meta.sector.latest, Meta.label.latest
    assert isinstance(sector, Classifier) and isinstance(label, Classifier)
    res = world.run(
        {
            "sector": sector,
            "label": label,
            "is1": sector.eq(1),
            "not1": sector != 1,
            "in12": sector.element_of([1, 2]),
            "beta": label.eq("beta"),
            "notbeta": label != "beta",
            "starts": label.startswith("a"),
            "ends": label.endswith("ta"),
            "sub": label.has_substring("amm"),
            "regex": label.matches("^(al|de)"),
            "elem": label.element_of(["gamma", "delta"]),
            "relabeled": label.relabel(lambda s: s[0].upper() if s != "delta" else None),
            "peers": sector.peer_count(),
            "label_peers": label.peer_count(mask=MASK),
            "nolabel": label.isnull(),
            "everything": P.close.latest.quantiles(1),
        },
        extra=meta_loaders,
    )
    sec = res["sector"]
    lab = res["label"].astype(object)
    assert isinstance(res["label"].dtype, pd.CategoricalDtype)
    assert (res["is1"] == (sec == 1)).all()
    assert (res["not1"] == ((sec != 1) & (sec != -1))).all()
    assert (res["in12"] == sec.isin([1, 2])).all()
    assert (res["beta"] == (lab == "beta")).all()
    assert (res["notbeta"] == (lab.notna() & (lab != "beta"))).all()
    assert (res["starts"] == lab.str.startswith("a").fillna(False).astype(bool)).all()
    assert (res["ends"] == lab.str.endswith("ta").fillna(False).astype(bool)).all()
    assert (res["sub"] == lab.str.contains("amm").fillna(False).astype(bool)).all()
    assert (res["regex"] == lab.str.match("^(al|de)").fillna(False).astype(bool)).all()
    assert (res["elem"] == lab.isin(["gamma", "delta"])).all()
    relabeled = lab.map(lambda s: None if s is None or (isinstance(s, float) and math.isnan(s)) or s == "delta"
                        else s[0].upper())  # fmt: skip
    assert (res["relabeled"].astype(object).fillna("?") == relabeled.fillna("?")).all()
    assert (res["nolabel"] == lab.isna()).all()
    dates = res.index.get_level_values(0)
    counts = sec.groupby([dates, sec]).transform("size").astype(float).where(sec != -1)
    np.testing.assert_array_equal(res["peers"].to_numpy(), counts.to_numpy())
    assert set(res["everything"].unique()) <= {0, -1}


def test_classifier_errors():
    sector, label = Meta.sector.latest, Meta.label.latest
    with pytest.raises(ValueError, match="missing_value"):
        sector.eq(-1)
    with pytest.raises(TypeError):
        sector.eq("a")
    with pytest.raises(TypeError):
        label.eq(3)
    with pytest.raises(TypeError, match="only defined on Classifiers producing strings"):
        sector.startswith("a")
    with pytest.raises(TypeError):
        sector.element_of(["a"])
    with pytest.raises(ValueError):
        label.element_of([None, "a"])
    with pytest.raises(TypeError):
        sector > 1  # noqa: B015


def test_static_filters_and_if_else(world):
    f = P.close.latest
    chosen = StaticSids([2, 4])
    res = world.run(
        {
            "f": f,
            "chosen": chosen,
            "assets": __import__("rustybt.pipeline.filters", fromlist=["StaticAssets"]).StaticAssets(
                world.finder.retrieve_all([1])
            ),
            "sel": chosen.if_else(f, -f),
            "either": chosen | (f > 40),
            "both": chosen & ~(f > 40),
        }
    )
    sids = np.array([int(a) for a in res.index.get_level_values(1)])
    assert (res["chosen"].to_numpy() == np.isin(sids, [2, 4])).all()
    assert (res["assets"].to_numpy() == (sids == 1)).all()
    np.testing.assert_array_equal(res["sel"], np.where(np.isin(sids, [2, 4]), res["f"], -res["f"]))
    assert (res["either"] == (res["chosen"] | (res["f"] > 40))).all()
    assert (res["both"] == (res["chosen"] & ~(res["f"] > 40))).all()


def test_downsample_and_alias(world):
    sma = SimpleMovingAverage(inputs=[P.close], window_length=3)
    res = world.run(
        {
            "sma": sma,
            "monthly": sma.downsample("month_start"),
            "weekly_rank": sma.rank().downsample("week_start"),
            "rank": sma.rank(),
            "named": sma.alias("my_sma"),
        },
        start=world.sessions[45],
    )
    dates = res.index.get_level_values(0)
    sessions = world.sessions
    for name, source, period in (
        ("monthly", "sma", lambda d: (d.year, d.month)),
        ("weekly_rank", "rank", lambda d: tuple(d.isocalendar())[:2]),
    ):
        period_start = {}
        for d in sessions:
            period_start.setdefault(period(d), d)
        checked = 0
        for (d, a), value in res[name].items():
            first = period_start[period(d)]
            if first >= dates[0] and (first, a) in res.index:
                np.testing.assert_allclose(value, res.loc[(first, a), source], rtol=1e-12)
                checked += 1
        assert checked > 100
    np.testing.assert_array_equal(res["named"], res["sma"])
    assert sma.alias("my_sma").name == "my_sma"
    with pytest.raises(ValueError, match="frequency"):
        sma.downsample("daily")


def test_downsample_extra_rows_start_mid_month(world):
    """A downsampled term started mid-month still shows the value computed on the month's first session."""
    sma = SimpleMovingAverage(inputs=[P.close], window_length=3)
    start = world.sessions[world.sessions.month == 5][10]
    res = world.run({"sma": sma, "monthly": sma.downsample("month_start")}, start=start)
    first_may = world.sessions[world.sessions.month == 5][0]
    full = world.run({"sma": sma}, start=first_may)
    d0 = res.index.get_level_values(0)[0]
    for a in res.loc[d0].index:
        np.testing.assert_allclose(res.loc[(d0, a), "monthly"], full.loc[(first_may, a), "sma"], rtol=1e-12)
