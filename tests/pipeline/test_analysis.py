"""rustybt.pipeline.analysis: forward returns and quantile tables, checked against the shipped CSV closes with
plain pandas; and they work without plotly (the notebook layer only draws them)."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rustybt.assets import Equity
from rustybt.errors import InvalidArgument
from rustybt.pipeline import analysis

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
NO_EVENTS = ["ZZD", "ZZG", "ZZJ", "ZZM", "ZZO", "ZZQ", "ZZS", "ZZU", "ZZW", "ZZZ"]  # no split or dividend


@pytest.fixture(scope="module")
def sample_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("analysis-catalog")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RUSTYBT_CONFIG", str(root / "no-config.yaml"))
        from rustybt import Catalog
        from rustybt.sample import register_sample

        catalog = Catalog(root=root)
        register_sample(catalog)
        catalog.ingest("sample", progress=False)
    return root


@pytest.fixture
def bundle(sample_root):
    from rustybt import Catalog

    return Catalog(root=sample_root).bundle("sample")


def _closes(symbol: str) -> pd.Series:
    """Raw closes of a shipped sample CSV, read with the csv module (independent of RustyBT)."""
    with open(SAMPLE / "equities" / "daily" / f"{symbol}.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    index = pd.to_datetime([r["date"] for r in rows])
    return pd.Series([float(r["close"]) for r in rows], index=index)


def _result(assets, dates, values) -> pd.DataFrame:
    index = pd.MultiIndex.from_product([pd.DatetimeIndex(dates), assets])
    return pd.DataFrame({"factor": np.asarray(values, dtype=float).ravel()}, index=index)


def test_forward_returns_are_adjusted(bundle):
    aapl = bundle.asset_finder.lookup_symbol("AAPL")
    ibm = bundle.asset_finder.lookup_symbol("IBM")
    index = pd.MultiIndex.from_tuples(
        [(pd.Timestamp("2014-06-06"), aapl), (pd.Timestamp("2014-06-05"), aapl), (pd.Timestamp("2014-06-05"), ibm)]
    )
    fwd = analysis.forward_returns(bundle, index, periods=(1, 2))
    # AAPL split 7:1 effective 2014-06-09 (close 645.57 on the 6th, 93.70 on the 9th, README)
    assert fwd.loc[(pd.Timestamp("2014-06-06"), aapl), "1D"] == pytest.approx(93.70 * 7 / 645.57 - 1)
    raw = _closes("IBM")
    assert fwd.loc[(pd.Timestamp("2014-06-05"), ibm), "2D"] == pytest.approx(
        raw.loc["2014-06-09"] / raw.loc["2014-06-05"] - 1
    )
    # past the bundle's end: no forward bar
    last = pd.MultiIndex.from_tuples([(pd.Timestamp("2014-12-31"), aapl)])
    assert np.isnan(analysis.forward_returns(bundle, last, periods=(1,)).iloc[0, 0])


def test_quantile_returns_table_against_raw_closes(bundle):
    assets = [bundle.asset_finder.lookup_symbol(s) for s in NO_EVENTS]
    closes = pd.DataFrame({a: _closes(a.symbol) for a in assets})
    dates = closes.loc["2013-03-01":"2013-06-28"].index
    rng = np.random.default_rng(7)
    result = _result(assets, dates, rng.normal(size=(len(dates), len(assets))))

    table = analysis.quantile_returns_table(result, "factor", bundle, quantiles=5, periods=(1, 5))

    # independent: forward returns from the raw CSV closes (these assets have no adjustments), quintiles of 2
    rows = []
    for (date, asset), value in result["factor"].items():
        pos = closes.index.get_loc(date)
        rows.append((date, asset, value, *(closes[asset].iloc[pos + p] / closes[asset].iloc[pos] - 1 for p in (1, 5))))
    frame = pd.DataFrame(rows, columns=["date", "asset", "factor", "1D", "5D"])
    frame["q"] = frame.groupby("date")["factor"].rank(method="first").sub(1).floordiv(2).astype(int) + 1
    expected = frame.groupby("q")[["1D", "5D"]].mean()
    np.testing.assert_allclose(table.to_numpy(), expected.to_numpy(), rtol=1e-12)
    assert table.attrs["observations"] == {q: 2 * len(dates) for q in range(1, 6)}


def test_errors_name_the_problem(bundle):
    assets = [Equity(sid=i, symbol=f"A{i}") for i in range(6)]
    toy = _result(assets, pd.date_range("2014-01-02", periods=4, freq="B"), np.arange(24.0))
    with pytest.raises(InvalidArgument, match="quantiles must be at least 2"):
        analysis.quantile_returns_table(toy, "factor", bundle, quantiles=1)
    with pytest.raises(InvalidArgument, match="periods must be positive"):
        analysis.forward_returns(bundle, toy.index, periods=(0,))
    with pytest.raises(InvalidArgument, match="no column 'nope' in the result; columns: factor"):
        analysis.factor_column(toy, "nope")
    with pytest.raises(InvalidArgument, match="expected a Bundle or a DataPortal, got int"):
        analysis.forward_returns(3, toy.index)


def test_works_without_plotly(sample_root):
    code = (
        "import sys; sys.modules['plotly'] = None\n"  # any `import plotly` now fails
        "import pandas as pd\n"
        "from rustybt import Catalog\n"
        "from rustybt.pipeline.analysis import forward_returns\n"
        f"bundle = Catalog(root={str(sample_root)!r}).bundle('sample')\n"
        "ibm = bundle.asset_finder.lookup_symbol('IBM')\n"
        "index = pd.MultiIndex.from_tuples([(pd.Timestamp('2014-06-05'), ibm)])\n"
        "print(round(float(forward_returns(bundle, index, periods=(2,)).iloc[0, 0]), 12))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    raw = _closes("IBM")
    assert float(out.stdout) == pytest.approx(raw.loc["2014-06-09"] / raw.loc["2014-06-05"] - 1, abs=1e-12)
