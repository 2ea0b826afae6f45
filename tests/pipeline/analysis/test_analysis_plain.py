"""rustybt.pipeline.analysis against plain pandas written here, prices_for against the shipped CSV closes, and
the speed bound (a 500-asset x 9-year factor)."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rustybt.errors import InvalidArgument, NoDataForRange
from rustybt.pipeline import analysis as al

SAMPLE = Path(__file__).resolve().parents[3] / "data" / "sample"
NO_EVENTS = ["ZZD", "ZZG", "ZZJ", "ZZM", "ZZO", "ZZQ", "ZZS", "ZZU", "ZZW", "ZZZ"]  # no split or dividend


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis-plain")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RUSTYBT_CONFIG", str(root / "no-config.yaml"))
        from rustybt import Catalog
        from rustybt.sample import register_sample

        catalog = Catalog(root=root)
        register_sample(catalog)
        catalog.ingest("sample", progress=False)
        return catalog.bundle("sample")


def _closes(symbol: str) -> pd.Series:
    with open(SAMPLE / "equities" / "daily" / f"{symbol}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return pd.Series([float(r["close"]) for r in rows], index=pd.to_datetime([r["date"] for r in rows]))


def _toy(seed: int = 3, dates: int = 60, assets: int = 12) -> tuple[pd.Series, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2020-01-01", periods=dates + 15)
    names = [f"A{i}" for i in range(assets)]
    prices = pd.DataFrame(50 * np.exp(np.cumsum(rng.normal(0, 0.02, (len(index), assets)), axis=0)), index, names)
    factor = pd.DataFrame(rng.normal(size=(dates, assets)), index[:dates], names).stack()
    factor.index = factor.index.set_names(["date", "asset"])
    return factor, prices


def test_prices_for_is_adjusted_as_of_the_end(bundle):
    prices = al.prices_for(bundle, ["AAPL", *NO_EVENTS[:3]], "2014-06-02", "2014-06-13")
    assert [a.symbol for a in prices.columns] == ["AAPL", *NO_EVENTS[:3]]
    for sym, col in zip(NO_EVENTS[:3], prices.columns[1:], strict=True):
        np.testing.assert_allclose(prices[col].to_numpy(), _closes(sym).loc["2014-06-02":"2014-06-13"].to_numpy())
    aapl = prices.iloc[:, 0]
    raw = _closes("AAPL").loc["2014-06-02":"2014-06-13"]
    # 7:1 split effective 2014-06-09: earlier closes divided by 7, later ones raw
    np.testing.assert_allclose(aapl.loc[:"2014-06-06"].to_numpy(), raw.loc[:"2014-06-06"].to_numpy() / 7, rtol=1e-12)
    np.testing.assert_allclose(aapl.loc["2014-06-09":].to_numpy(), raw.loc["2014-06-09":].to_numpy(), rtol=1e-12)
    # as of an end before the split: nothing announced later leaks in
    before = al.prices_for(bundle, ["AAPL"], "2014-06-02", "2014-06-06")
    np.testing.assert_allclose(before.iloc[:, 0].to_numpy(), raw.loc[:"2014-06-06"].to_numpy(), rtol=1e-12)
    with pytest.raises(NoDataForRange, match="it covers 2012-01-03 .. 2014-12-31"):
        al.prices_for(bundle, ["AAPL"], "2020-01-01", "2020-02-01")


def test_forward_returns_and_quantiles_plain_pandas():
    factor, prices = _toy()
    fd = al.get_clean_factor_and_forward_returns(factor, prices, periods=(1, 3), quantiles=4, filter_zscore=None)
    for (date, asset), row in fd.sample(40, random_state=1).iterrows():
        pos = prices.index.get_loc(date)
        for p, col in ((1, "1D"), (3, "3D")):
            assert row[col] == pytest.approx(prices[asset].iloc[pos + p] / prices[asset].iloc[pos] - 1, rel=1e-12)
    expected = factor.groupby(level=0).transform(lambda x: pd.qcut(x, 4, labels=False) + 1)
    assert (fd["factor_quantile"] == expected.reindex(fd.index)).all()


def test_ic_turnover_autocorrelation_plain_pandas():
    factor, prices = _toy()
    fd = al.get_clean_factor_and_forward_returns(factor, prices, periods=(1,), quantiles=3, filter_zscore=None)
    ic = al.factor_information_coefficient(fd)["1D"]
    for date, group in list(fd.groupby(level="date"))[:10]:
        assert ic.loc[date] == pytest.approx(stats.spearmanr(group["factor"], group["1D"])[0], abs=1e-12)
    turnover = al.quantile_turnover(fd["factor_quantile"], 3, 1)
    sets = [set(g.index.get_level_values("asset")[g == 3]) for _, g in fd["factor_quantile"].groupby(level="date")]
    for i in range(1, 10):
        assert turnover.iloc[i] == pytest.approx(len(sets[i] - sets[i - 1]) / len(sets[i]))
    assert np.isnan(turnover.iloc[0])
    ranks = fd["factor"].groupby(level="date").rank().unstack()
    auto = al.factor_rank_autocorrelation(fd, 1)
    for i in range(1, 10):
        assert auto.iloc[i] == pytest.approx(np.corrcoef(ranks.iloc[i], ranks.iloc[i - 1])[0, 1], abs=1e-12)


def test_mean_return_by_quantile_plain_pandas():
    factor, prices = _toy()
    fd = al.get_clean_factor_and_forward_returns(factor, prices, periods=(1,), quantiles=3, filter_zscore=None)
    demeaned = fd["1D"] - fd.groupby(level="date")["1D"].transform("mean")
    daily = demeaned.groupby([fd["factor_quantile"], fd.index.get_level_values("date")]).mean()
    mean, se = al.mean_return_by_quantile(fd)
    for q in (1, 2, 3):
        values = daily.xs(q, level=0)
        assert mean.loc[q, "1D"] == pytest.approx(values.mean(), rel=1e-10)
        assert se.loc[q, "1D"] == pytest.approx(values.std() / np.sqrt(len(values)), rel=1e-10)
    cum = al.cumulative_returns_by_quantile(fd)
    np.testing.assert_allclose(cum[3].to_numpy(), (1 + daily.xs(3, level=0)).cumprod().to_numpy(), rtol=1e-10)


def test_errors_name_the_problem():
    factor, prices = _toy()
    with pytest.raises(al.MaxLossExceededError, match="max_loss \\(1.0%\\) exceeded"):
        al.get_clean_factor_and_forward_returns(factor, prices.iloc[:40], max_loss=0.01, periods=(1,))
    with pytest.raises(al.NonMatchingTimezoneError):
        al.compute_forward_returns(factor, prices.tz_localize("UTC"))
    with pytest.raises(InvalidArgument, match="Either quantiles or bins"):
        al.get_clean_factor_and_forward_returns(factor, prices, quantiles=None, bins=None)
    with pytest.raises(InvalidArgument, match="Not enough price data"):
        al.compute_forward_returns(factor, prices.iloc[:60], periods=(70,))


def test_factor_tearsheet_on_a_pipeline_result(bundle):
    from rustybt.pipeline import Pipeline
    from rustybt.pipeline.engine import run_pipeline
    from rustybt.pipeline.factors import Returns

    result = run_pipeline(Pipeline({"momentum": Returns(window_length=20)}), "2013-07-01", "2014-06-30", bundle=bundle)
    sheet = al.factor_tearsheet(result, "momentum", bundle, periods=(1, 5))
    prices = al.prices_for(bundle, result, "2013-07-01", "2014-12-31")
    direct = al.get_clean_factor_and_forward_returns(result["momentum"], prices, periods=(1, 5))
    pd.testing.assert_frame_equal(sheet.factor_data, direct, check_freq=False)
    assert sheet.periods == ["1D", "5D"]
    assert list(sheet.ic_summary.index) == ["1D", "5D"]
    assert set(sheet.returns_table().index) >= {"Ann. alpha", "Mean Period Wise Spread (bps)"}
    html = sheet._repr_html_()
    assert "Information analysis" in html and "momentum" in html
    assert "FactorTearsheet('momentum'" in repr(sheet)


def test_500_assets_9_years_in_2_seconds():
    rng = np.random.default_rng(0)
    dates = pd.bdate_range("2015-01-02", periods=9 * 252 + 30)
    prices = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.02, (len(dates), 500)), axis=0)), index=dates)
    factor = prices.pct_change(20, fill_method=None).iloc[20:-10].stack()
    factor.index = factor.index.set_names(["date", "asset"])
    best = np.inf
    for _ in range(2):
        start = time.process_time()
        fd = al.get_clean_factor_and_forward_returns(factor, prices)
        al.tearsheet_from_factor_data(fd)
        best = min(best, time.process_time() - start)
    assert len(fd) > 1_100_000
    # the target is 2 s (measured 1.65-1.95 s of CPU on a loaded 2-core box); slack for a shared CI machine
    assert best < 3.0, f"factor analysis of 500 assets x 9 years took {best:.2f} s of CPU"
