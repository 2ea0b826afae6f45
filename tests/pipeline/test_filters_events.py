"""Smoothing filters (All, Any, AtLeastN, AllPresent), SingleAsset, event factors, Clip and PeerCount."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _world import rolling_reference, wide

from rustybt.assets import Equity
from rustybt.pipeline.data import Column, DataSet
from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.errors import NonExistentAssetInTimeFrame
from rustybt.pipeline.factors import BusinessDaysSincePreviousEvent, BusinessDaysUntilNextEvent, Returns
from rustybt.pipeline.filters import All, AllPresent, Any, AtLeastN, SingleAsset
from rustybt.pipeline.loaders import DataFrameLoader


class Events(DataSet):
    previous = Column("datetime64[ns]")
    upcoming = Column("datetime64[ns]")


def test_smoothing_filters(world):
    up = Returns(window_length=2) > 0
    res = world.run(
        {
            "all": All(inputs=[up], window_length=4),
            "any": Any(inputs=[up], window_length=4),
            "atleast": AtLeastN(inputs=[up], window_length=4, N=2),
            "present": AllPresent(inputs=[P.close], window_length=3),
        }
    )
    start = res.index.get_level_values(0)[0]
    closes = world.masked("close")
    ups = (((closes - closes.shift(1)) / closes.shift(1)) > 0) & world.alive()
    counts = ups.astype(int).rolling(4).sum()
    for name, expected in (("all", counts == 4), ("any", counts > 0), ("atleast", counts >= 2)):
        got = wide(res, name, world).loc[start:]
        alive = world.alive().loc[start:]
        np.testing.assert_array_equal(got.where(alive, False).to_numpy(dtype=bool),
                                      expected.loc[start:].where(alive, False).to_numpy(dtype=bool))  # fmt: skip
    present = rolling_reference(world, "close", 3, lambda c: (~np.isnan(c).any(axis=0)).astype(float), start)
    np.testing.assert_array_equal(wide(res, "present", world).loc[start:].where(world.alive().loc[start:], False)
                                  .to_numpy(dtype=bool), present.fillna(0).to_numpy(dtype=bool))  # fmt: skip
    with pytest.raises(TypeError, match="cannot be a Filter"):
        AllPresent(inputs=[up], window_length=3)


def test_single_asset(world):
    asset = world.finder.retrieve_asset(2)
    res = world.run({"one": SingleAsset(asset)})
    assert (res["one"].to_numpy() == np.array([int(a) == 2 for a in res.index.get_level_values(1)])).all()
    late = world.finder.retrieve_asset(5)  # starts inside the run
    with pytest.raises(NonExistentAssetInTimeFrame, match="does not exist for the entire timeframe"):
        world.run({"one": SingleAsset(late)}, start=world.sessions[40])
    with pytest.raises(NonExistentAssetInTimeFrame):
        world.run({"slice": Returns(window_length=2)[Equity(99, "NOPE")] * 0 + P.close.latest})


def test_event_factors(world):
    n = len(world.sessions)
    rng = np.random.default_rng(2)
    offsets = rng.integers(0, 20, (n, len(world.sids)))
    prev = np.asarray(world.sessions.values)[:, None] - offsets.astype("timedelta64[D]")
    nxt = np.asarray(world.sessions.values)[:, None] + offsets.astype("timedelta64[D]")
    prev = prev.astype("datetime64[ns]")
    prev[rng.random(prev.shape) < 0.1] = np.datetime64("NaT")
    loaders = {
        Events.previous: DataFrameLoader(Events.previous, pd.DataFrame(prev, index=world.sessions, columns=world.sids)),
        Events.upcoming: DataFrameLoader(Events.upcoming, pd.DataFrame(nxt.astype("datetime64[ns]"),
                                                                       index=world.sessions, columns=world.sids)),
    }  # fmt: skip
    res = world.run(
        {
            "since": BusinessDaysSincePreviousEvent(inputs=[Events.previous.latest]),
            "until": BusinessDaysUntilNextEvent(inputs=[Events.upcoming.latest]),
            "prev": Events.previous.latest,
        },
        extra=loaders,
    )
    dates = np.asarray(res.index.get_level_values(0).values).astype("datetime64[D]")
    prev_d = res["prev"].to_numpy().astype("datetime64[D]")
    ok = ~np.isnat(prev_d)
    expected = np.full(len(res), np.nan)
    expected[ok] = np.busday_count(prev_d[ok], dates[ok])
    np.testing.assert_array_equal(res["since"].to_numpy(), expected)
    assert res["until"].notna().all() and (res["until"] >= 0).all()


def test_clip_and_peer_count(world):
    close = P.close.latest
    res = world.run({"close": close, "clipped": close.clip(39.0, 41.0), "q": close.quartiles(),
                     "peers": close.quartiles().peer_count()})  # fmt: skip
    np.testing.assert_array_equal(res["clipped"], res["close"].clip(39.0, 41.0))
    dates = res.index.get_level_values(0)
    expected = res["q"].groupby([dates, res["q"]]).transform("size").astype(float).where(res["q"] != -1)
    np.testing.assert_array_equal(res["peers"].to_numpy(), expected.to_numpy())


def test_correlation_methods_and_multi_output_column(world):
    a1 = world.finder.retrieve_asset(1)
    r = Returns(window_length=2)
    from rustybt.pipeline.factors import (
        BollingerBands,
        RollingLinearRegressionOfReturns,
        RollingPearsonOfReturns,
        RollingSpearmanOfReturns,
    )

    bb = BollingerBands(window_length=5, k=2)
    res = world.run(
        {
            "pear": r.pearsonr(r[a1], 6),
            "pear_ref": RollingPearsonOfReturns(target=a1, returns_length=2, correlation_length=6),
            "spear": r.spearmanr(r[a1], 6),
            "spear_ref": RollingSpearmanOfReturns(target=a1, returns_length=2, correlation_length=6),
            "alpha": r.linear_regression(r[a1], 6).alpha,
            "alpha_ref": RollingLinearRegressionOfReturns(target=a1, returns_length=2, regression_length=6).alpha,
            "bb": bb,
            "lower": bb.lower,
        }
    )
    for name in ("pear", "spear", "alpha"):
        np.testing.assert_allclose(res[name], res[f"{name}_ref"], rtol=1e-12, equal_nan=True)
    assert res["pear"].notna().any()
    first = res["bb"].iloc[0]
    assert isinstance(first, tuple) and len(first) == 3
    np.testing.assert_equal(first[0], res["lower"].iloc[0])


def test_typed_latest_terms(world):
    class Flags(DataSet):
        listed = Column(bool)
        code = Column(np.int64, missing_value=-1)
        name = Column(object)

    n = len(world.sessions)
    listed = pd.DataFrame(np.arange(n * 6).reshape(n, 6) % 3 != 0, index=world.sessions, columns=world.sids)
    codes = pd.DataFrame(np.arange(n * 6).reshape(n, 6) % 4, index=world.sessions, columns=world.sids)
    names = pd.DataFrame(np.where(codes.to_numpy() == 0, None, "n" + codes.astype(str).to_numpy()).astype(object),
                         index=world.sessions, columns=world.sids)  # fmt: skip
    extra = {
        Flags.listed: DataFrameLoader(Flags.listed, listed),
        Flags.code: DataFrameLoader(Flags.code, codes),
        Flags.name: DataFrameLoader(Flags.name, names),
    }
    name = Flags.name.latest
    res = world.run(
        {
            "listed": Flags.listed.latest,
            "code": Flags.code.latest,
            "name": name,
            "name_filled": name.fillna("none"),
            "name_or": (Flags.code.latest.eq(1)).if_else(name, name.relabel(str.upper)),
        },
        screen=Flags.listed.latest,
        extra=extra,
    )
    assert res["listed"].all() and res["code"].dtype == np.int64
    dates = res.index.get_level_values(0)
    sids = [int(a) for a in res.index.get_level_values(1)]
    np.testing.assert_array_equal(res["code"].to_numpy(), codes.stack().loc[list(zip(dates, sids, strict=True))])
    assert (res["name_filled"].astype(str) == res["name"].astype(object).fillna("none").astype(str)).all()
    expected_or = np.where(res["code"] == 1, res["name"].astype(object), res["name"].astype(object).str.upper())
    got_or = res["name_or"].astype(object).to_numpy()
    assert all((a == b) or (pd.isna(a) and pd.isna(b)) for a, b in zip(got_or, expected_or, strict=True))
