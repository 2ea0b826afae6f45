"""Built-in factors through the engine against plain numpy references (zipline's per-day compute formulas)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _world import rolling_reference, wide
from scipy import stats

from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.factors import (
    EWMA,
    EWMSTD,
    RSI,
    VWAP,
    AnnualizedVolatility,
    Aroon,
    AverageDollarVolume,
    BollingerBands,
    DailyReturns,
    FastStochasticOscillator,
    IchimokuKinkoHyo,
    LinearWeightedMovingAverage,
    MACDSignal,
    MaxDrawdown,
    PercentChange,
    RateOfChangePercentage,
    Returns,
    RollingLinearRegressionOfReturns,
    RollingPearson,
    RollingPearsonOfReturns,
    RollingSpearmanOfReturns,
    SimpleBeta,
    SimpleMovingAverage,
    TrueRange,
    WeightedAverageValue,
)

RTOL = 1e-10


def check(result, name, expected, world, rtol=RTOL, atol=1e-12):
    got = wide(result, name, world).reindex(expected.index)
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy(), rtol=rtol, atol=atol, equal_nan=True)


def nanmean(x):
    cnt = np.sum(~np.isnan(x), axis=0)
    return np.where(cnt > 0, np.nansum(x, axis=0) / np.maximum(cnt, 1), np.nan)


def nanstd(x):
    m = nanmean(x)
    cnt = np.sum(~np.isnan(x), axis=0)
    return np.where(cnt > 0, np.sqrt(np.nansum((x - m) ** 2, axis=0) / np.maximum(cnt, 1)), np.nan)


def ew_weights(n, decay):
    return np.full(n, decay) ** np.arange(n + 1, 1, -1)


def test_latest_and_sma(world):
    res = world.run({"latest": P.close.latest, "sma": SimpleMovingAverage(inputs=[P.close], window_length=10)})
    start = res.index.get_level_values(0)[0]
    check(res, "latest", world.masked("close").where(world.alive()).loc[start:], world)
    check(res, "sma", rolling_reference(world, "close", 10, nanmean, start), world)


@pytest.mark.parametrize("wl", [2, 9])
def test_returns_family(world, wl):
    res = world.run(
        {
            "ret": Returns(window_length=wl),
            "pct": PercentChange(inputs=[P.close], window_length=wl),
            "roc": RateOfChangePercentage(inputs=[P.close], window_length=wl),
            "daily": DailyReturns(),
        }
    )
    start = res.index.get_level_values(0)[0]
    check(res, "ret", rolling_reference(world, "close", wl, lambda c: (c[-1] - c[0]) / c[0], start), world)
    check(res, "pct", rolling_reference(world, "close", wl, lambda c: (c[-1] - c[0]) / np.abs(c[0]), start), world)
    check(res, "roc", rolling_reference(world, "close", wl, lambda c: (c[-1] - c[0]) / c[0] * 100, start), world)
    check(res, "daily", rolling_reference(world, "close", 2, lambda c: (c[-1] - c[0]) / c[0], start), world)


def test_moving_averages_and_volume(world):
    res = world.run(
        {
            "lwma": LinearWeightedMovingAverage(inputs=[P.close], window_length=7),
            "wav": WeightedAverageValue(inputs=[P.close, P.volume], window_length=6),
            "vwap": VWAP(window_length=12),
            "adv": AverageDollarVolume(window_length=12),
            "ewma": EWMA.from_span(inputs=[P.close], window_length=15, span=6),
            "ewma_hl": EWMA.from_halflife(inputs=[P.close], window_length=15, halflife=4),
            "ewmstd": EWMSTD.from_center_of_mass(inputs=[P.close], window_length=15, center_of_mass=3),
        }
    )
    start = res.index.get_level_values(0)[0]
    w7 = np.arange(1, 8, dtype=float)[:, None]
    check(res, "lwma", rolling_reference(world, "close", 7, lambda x: np.nansum(x * w7, 0) / 28.0, start), world)
    wav = rolling_reference(world, ["close", "volume"], 6, lambda c, v: np.nansum(c * v, 0) / np.nansum(v, 0), start)
    check(res, "wav", wav, world)
    vwap = rolling_reference(world, ["close", "volume"], 12, lambda c, v: np.nansum(c * v, 0) / np.nansum(v, 0), start)
    check(res, "vwap", vwap, world)
    adv = rolling_reference(world, ["close", "volume"], 12, lambda c, v: np.nansum(c * v, 0) / 12, start)
    check(res, "adv", adv, world)
    for name, decay in (("ewma", 1 - 2 / 7), ("ewma_hl", np.exp(np.log(0.5) / 4))):
        ref = rolling_reference(world, "close", 15, lambda x, d=decay: np.average(x, 0, ew_weights(15, d)), start)
        check(res, name, ref, world)

    def ewmstd(x, d=1 - 1 / 4):
        w = ew_weights(15, d)
        mean = np.average(x, 0, w)
        var = np.average((x - mean) ** 2, 0, w)
        corr = w.sum() ** 2 / (w.sum() ** 2 - (w**2).sum())
        return np.sqrt(var * corr)

    check(res, "ewmstd", rolling_reference(world, "close", 15, ewmstd, start), world)


def test_risk_factors(world):
    res = world.run(
        {
            "dd": MaxDrawdown(inputs=[P.close], window_length=20),
            "vol": AnnualizedVolatility(window_length=20),
            "vol2": AnnualizedVolatility(window_length=10, annualization_factor=12.0),
            "rsi": RSI(window_length=9),
        }
    )
    start = res.index.get_level_values(0)[0]

    def dd(x):
        out = np.empty(x.shape[1])
        draw = np.fmax.accumulate(x, axis=0) - x
        draw[np.isnan(draw)] = -np.inf
        for i, end in enumerate(np.argmax(draw, axis=0)):
            col = x[: end + 1, i]
            peak = np.nanmax(col) if np.any(~np.isnan(col)) else np.nan
            out[i] = (peak - x[end, i]) / x[end, i]
        return out

    check(res, "dd", rolling_reference(world, "close", 20, dd, start), world)
    rets = world.masked("close")
    rets = ((rets - rets.shift(1)) / rets.shift(1)).where(world.alive())
    for name, wl, factor in (("vol", 20, 252.0), ("vol2", 10, 12.0)):
        ref = pd.DataFrame(np.nan, index=world.sessions, columns=world.sids)
        arr = rets.to_numpy()
        for i in range(wl - 1, len(world.sessions)):
            ref.iloc[i] = nanstd(arr[i - wl + 1 : i + 1]) * factor**0.5
        check(res, name, ref.where(world.alive()).loc[start:], world)

    def rsi(x):
        d = np.diff(x, axis=0)
        ups = nanmean(np.clip(d, 0, np.inf))
        downs = np.abs(nanmean(np.clip(d, -np.inf, 0)))
        return 100 - (100 / (1 + (ups / downs)))

    check(res, "rsi", rolling_reference(world, "close", 9, rsi, start), world)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_technical_multi_output(world):
    bb = BollingerBands(window_length=10, k=1.5)
    aroon = Aroon(window_length=8)
    ichi = IchimokuKinkoHyo(window_length=12, tenkan_sen_length=3, kijun_sen_length=6, chikou_span_length=4)
    res = world.run(
        {
            "lower": bb.lower,
            "middle": bb.middle,
            "upper": bb.upper,
            "up": aroon.up,
            "down": aroon.down,
            "tenkan": ichi.tenkan_sen,
            "span_b": ichi.senkou_span_b,
            "chikou": ichi.chikou_span,
            "fso": FastStochasticOscillator(window_length=7),
            "tr": TrueRange(),
            "macd": MACDSignal(fast_period=3, slow_period=6, signal_period=3),
        }
    )
    start = res.index.get_level_values(0)[0]
    check(res, "middle", rolling_reference(world, "close", 10, nanmean, start), world)
    check(res, "upper", rolling_reference(world, "close", 10, lambda x: nanmean(x) + 1.5 * nanstd(x), start), world)
    check(res, "lower", rolling_reference(world, "close", 10, lambda x: nanmean(x) - 1.5 * nanstd(x), start), world)

    def argmax(x):
        return np.where(np.all(np.isnan(x), 0), np.nan, np.argmax(np.where(np.isnan(x), -np.inf, x), 0))

    def argmin(x):
        return np.where(np.all(np.isnan(x), 0), np.nan, np.argmin(np.where(np.isnan(x), np.inf, x), 0))

    check(res, "up", rolling_reference(world, "high", 8, lambda h: 100 * argmax(h) / 7, start), world)
    check(res, "down", rolling_reference(world, "low", 8, lambda lo: 100 * argmin(lo) / 7, start), world)
    check(
        res,
        "tenkan",
        rolling_reference(world, ["high", "low"], 12, lambda h, lo: (h[-3:].max(0) + lo[-3:].min(0)) / 2, start),
        world,
    )
    check(
        res,
        "span_b",
        rolling_reference(world, ["high", "low"], 12, lambda h, lo: (h.max(0) + lo.min(0)) / 2, start),
        world,
    )
    check(res, "chikou", rolling_reference(world, "close", 12, lambda c: c[4], start), world)

    def fso(c, lo, h):
        return (c[-1] - np.nanmin(lo, 0)) / (np.nanmax(h, 0) - np.nanmin(lo, 0)) * 100

    check(res, "fso", rolling_reference(world, ["close", "low", "high"], 7, fso, start), world)

    def tr(h, lo, c):
        stack = np.dstack((h[1:] - lo[1:], np.abs(h[1:] - c[:-1]), np.abs(lo[1:] - c[:-1])))
        allnan = np.all(np.isnan(stack), axis=2)
        return np.where(allnan, np.nan, np.nanmax(np.where(np.isnan(stack), -np.inf, stack), axis=2))

    check(res, "tr", rolling_reference(world, ["high", "low", "close"], 2, tr, start), world)

    def ewma_rows(windows, length):
        d = 1.0 - 2.0 / (1.0 + length)
        return np.average(windows, axis=1, weights=ew_weights(length, d))

    def macd(c):
        slow = ewma_rows(np.moveaxis(np.lib.stride_tricks.sliding_window_view(c, 6, axis=0), 2, 1), 6)
        fast = ewma_rows(np.moveaxis(np.lib.stride_tricks.sliding_window_view(c, 3, axis=0), 2, 1)[-3:], 3)
        return np.average((fast - slow).T, axis=1, weights=ew_weights(3, 0.5))

    check(res, "macd", rolling_reference(world, "close", 8, macd, start), world)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_statistical(world):
    target = world.finder.retrieve_asset(1)
    r = Returns(window_length=2)
    res = world.run(
        {
            "pearson": RollingPearsonOfReturns(target=target, returns_length=2, correlation_length=10),
            "spearman": RollingSpearmanOfReturns(target=target, returns_length=2, correlation_length=10),
            "beta": RollingLinearRegressionOfReturns(target=target, returns_length=2, regression_length=10).beta,
            "simple_beta": SimpleBeta(target=target, regression_length=10, allowed_missing_percentage=0.3),
            "pearson2d": RollingPearson(base_factor=r, target=r, correlation_length=5),
        }
    )
    start = res.index.get_level_values(0)[0]
    closes = world.masked("close")
    rets = ((closes - closes.shift(1)) / closes.shift(1)).to_numpy()
    tgt = rets[:, 0]
    n = len(world.sessions)

    def windows(fn, wl=10):
        out = np.full((n, len(world.sids)), np.nan)
        for i in range(wl - 1, n):
            out[i] = fn(rets[i - wl + 1 : i + 1], tgt[i - wl + 1 : i + 1])
        return pd.DataFrame(out, index=world.sessions, columns=world.sids).where(world.alive()).loc[start:]

    def pearson(y, x):
        xm, ym = x - x.mean(), y - y.mean(0)
        return (xm[:, None] * ym).mean(0) / np.sqrt((xm**2).mean() * (ym**2).mean(0))

    def spearman(y, x):
        return np.array([stats.spearmanr(y[:, j], x)[0] if not np.isnan(y[:, j]).any() and not np.isnan(x).any()
                         else np.nan for j in range(y.shape[1])])  # fmt: skip

    def beta(y, x):
        return np.array([stats.linregress(x, y[:, j]).slope if not np.isnan(y[:, j]).any() and not np.isnan(x).any()
                         else np.nan for j in range(y.shape[1])])  # fmt: skip

    def simple_beta(y, x):
        xx = np.where(np.isnan(y), np.nan, x[:, None])
        res_ = xx - np.nanmean(xx, 0)
        b = np.nanmean(res_ * y, 0) / np.nanmean(res_**2, 0)
        return np.where(np.isnan(xx).sum(0) > 3, np.nan, b)

    with np.errstate(all="ignore"):
        check(res, "pearson", windows(pearson), world, rtol=1e-8)
        check(res, "spearman", windows(spearman), world, rtol=1e-8)
        check(res, "beta", windows(beta), world, rtol=1e-8)
        check(res, "simple_beta", windows(simple_beta), world, rtol=1e-8)
        self_corr = windows(lambda y, x: np.where(np.isnan(y).any(0), np.nan, 1.0), 5)
        check(res, "pearson2d", self_corr, world, rtol=1e-8)
