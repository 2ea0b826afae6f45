"""Sanity checks: recompute a few zipline reference values with plain pandas/numpy.

No zipline import; needs only pandas and numpy. Run from the repo root with any Python that has
them, e.g. ``benchmarks/.venv-zipline/bin/python tests/reference/check_zipline_reference.py``.

It rebuilds zipline's view of the csvdir CSVs by hand:

* prices as the bcolz bundle stores them: ``round(csv * 1000)`` as uint32, read back ``* 0.001``;
* adjustments: split ratio ``1/s`` on the row whose ``split`` column is ``s != 1``; dividend ratio
  ``1 - amount / (stored close of the previous session)`` on the ex-date. An adjustment with
  effective date E multiplies every bar *before* E, and only in windows viewed on or after E;
  volume is divided by split ratios only;
* the pipeline row for session D uses bars up to the previous session D-1.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
CSVDIR = HERE.parent / "resources" / "zipline-csvdir" / "daily"
SYMBOLS = ["AAPL", "IBM", "KO", "MSFT"]
RTOL = 1e-12
# pandas < 3: the default C float parser is not exact (off by an ulp on some "%.17g" strings,
# 88.813999999999993 -> 88.81399999999998); "round_trip" fixes it. pandas 3 parses exactly by
# default and deprecates the argument.
EXACT_FLOATS = {"float_precision": "round_trip"} if int(pd.__version__.split(".")[0]) < 3 else {}


def load(sym: str) -> pd.DataFrame:
    df = pd.read_csv(CSVDIR / f"{sym}.csv", parse_dates=["date"], index_col="date", **EXACT_FLOATS).sort_index()
    for col in ["open", "high", "low", "close"]:
        df[col] = np.round(df[col].to_numpy() * 1000).astype("uint32") * 0.001
    return df


def adjustments(df: pd.DataFrame) -> list[tuple[pd.Timestamp, float, str]]:
    """(effective date, ratio, kind) for one asset, kind in {"split", "dividend"}."""
    out = []
    for date in df.index[df["split"] != 1.0]:
        out.append((date, 1.0 / df.at[date, "split"], "split"))
    for date in df.index[df["dividend"] != 0.0]:
        i = df.index.get_loc(date)
        prev_close = df["close"].iloc[i - 1]
        out.append((date, 1.0 - df.at[date, "dividend"] / prev_close, "dividend"))
    return out


def adjusted_window(df, field, last_bar, length, perspective):
    """`length` bars of `field` ending at `last_bar`, adjusted as known on session `perspective`."""
    i = df.index.get_loc(last_bar)
    win = df[field].iloc[i - length + 1 : i + 1].astype(float).copy()
    for eff, ratio, kind in adjustments(df):
        if eff <= perspective:
            if field == "volume":
                if kind == "split":
                    win[win.index < eff] /= ratio
            else:
                win[win.index < eff] *= ratio
    return win


def prev_session(df, day):
    return df.index[df.index.get_loc(pd.Timestamp(day)) - 1]


def check(name, got, expected, rtol=RTOL):
    ok = np.isclose(got, expected, rtol=rtol, atol=0.0)
    print(f"{'OK  ' if ok else 'FAIL'} {name}: zipline={got!r} pandas={expected!r}")
    return bool(ok)


def check_max(name, diff, tol):
    worst = float(np.abs(np.asarray(diff, dtype=float)).max())
    ok = worst <= tol
    print(f"{'OK  ' if ok else 'FAIL'} {name}: max |zipline - pandas| = {worst:.3g} (tol {tol:g})")
    return ok


def main() -> int:
    pipe = pd.read_csv(HERE / "zipline_csvdir_pipeline.csv", parse_dates=["date"], **EXACT_FLOATS)
    hist = pd.read_csv(
        HERE / "zipline_csvdir_history.csv",
        parse_dates=["end_date", "date"],
        **EXACT_FLOATS,
    )
    data = {s: load(s) for s in SYMBOLS}

    def ref(day, sym, col):
        row = pipe[(pipe["date"] == pd.Timestamp(day)) & (pipe["symbol"] == sym)]
        assert len(row) == 1, (day, sym)
        return float(row[col].iloc[0])

    results = []

    # 1. MSFT sma_20 on 2013-04-01: plain mean of the 20 stored closes 2013-03-01..2013-03-28
    #    (no MSFT adjustment in that window). One-session shift: last bar is 2013-03-28.
    d = pd.Timestamp("2013-04-01")
    w = adjusted_window(data["MSFT"], "close", prev_session(data["MSFT"], d), 20, d)
    assert w.index[0] == pd.Timestamp("2013-03-01")
    assert w.index[-1] == pd.Timestamp("2013-03-28")
    results.append(check("MSFT sma_20 2013-04-01", ref(d, "MSFT", "sma_20"), w.mean()))

    # 2. MSFT sma_20 on 2013-06-03: the window 2013-05-03..2013-05-31 crosses the 0.23 dividend
    #    ex 2013-05-14, so the bars before it are multiplied by 1 - 0.23 / close(2013-05-13).
    d = pd.Timestamp("2013-06-03")
    w = adjusted_window(data["MSFT"], "close", prev_session(data["MSFT"], d), 20, d)
    results.append(check("MSFT sma_20 2013-06-03 (dividend)", ref(d, "MSFT", "sma_20"), w.mean()))

    # 3. KO sma_200 on 2013-01-02: 200 bars 2012-03-16..2012-12-31 across the 2:1 split
    #    (2012-08-13; bars before it halved although the CSV is already split-adjusted) and the
    #    dividends of 2012-06-13, 2012-09-12 and 2012-11-28.
    d = pd.Timestamp("2013-01-02")
    w = adjusted_window(data["KO"], "close", prev_session(data["KO"], d), 200, d)
    results.append(check("KO sma_200 2013-01-02 (split+divs)", ref(d, "KO", "sma_200"), w.mean()))

    # 4. AAPL close_latest around the 7:1 split: the row for 2014-06-09 is the 2014-06-06 bar
    #    already divided by 7; the row for 2014-06-10 is the 2014-06-09 bar unchanged.
    s = data["AAPL"]
    results.append(
        check(
            "AAPL close_latest 2014-06-09",
            ref("2014-06-09", "AAPL", "close_latest"),
            s.at[pd.Timestamp("2014-06-06"), "close"] * (1.0 / 7.0),
        )
    )
    results.append(
        check(
            "AAPL close_latest 2014-06-10",
            ref("2014-06-10", "AAPL", "close_latest"),
            s.at[pd.Timestamp("2014-06-09"), "close"],
        )
    )

    # 5. EWMA.from_span(span=20, window_length=60) for IBM on 2014-03-03:
    #    weights decay**(59..0), decay = 1 - 2/(span+1), oldest bar gets the smallest weight.
    d = pd.Timestamp("2014-03-03")
    w = adjusted_window(data["IBM"], "close", prev_session(data["IBM"], d), 60, d).to_numpy()
    decay = 1.0 - 2.0 / 21.0
    weights = decay ** np.arange(60)[::-1]
    results.append(check("IBM ewma_span20 2014-03-03", ref(d, "IBM", "ewma_span20"), np.average(w, weights=weights)))

    # 6. Cross-sectional terms on every date, from the returns_20 column itself:
    #    rank = ordinal (ties by asset order), zscore with ddof=0, demean.
    g = pipe.groupby("date")["returns_20"]
    rank = g.rank(method="first")
    z = (pipe["returns_20"] - g.transform("mean")) / g.transform(lambda x: x.std(ddof=0))
    dm = pipe["returns_20"] - g.transform("mean")
    results.append(check_max("returns_20_rank (all rows)", rank - pipe["returns_20_rank"], 0.0))
    results.append(check_max("returns_20_zscore (all rows)", z - pipe["returns_20_zscore"], 1e-12))
    results.append(check_max("returns_20_demean (all rows)", dm - pipe["returns_20_demean"], 1e-15))

    # 7. History (DataPortal, daily): the window ending on E includes E's own bar (no shift),
    #    adjustments effective <= E apply, adjusted prices are rounded to 3 decimals with numpy.
    def hval(end, field, day, sym):
        r = hist[
            (hist["end_date"] == pd.Timestamp(end))
            & (hist["field"] == field)
            & (hist["date"] == pd.Timestamp(day))
            & (hist["symbol"] == sym)
        ]
        return float(r["value"].iloc[0])

    for end, day, sym, field in [
        ("2014-06-06", "2014-06-06", "AAPL", "close"),
        ("2014-06-09", "2014-06-06", "AAPL", "close"),
        ("2014-06-09", "2014-06-06", "AAPL", "volume"),
        ("2012-08-10", "2012-08-01", "IBM", "close"),  # IBM dividend ex 2012-08-08
        ("2012-08-13", "2012-08-01", "KO", "close"),  # KO split 2012-08-13
        ("2012-08-14", "2012-08-13", "MSFT", "close"),  # MSFT dividend ex 2012-08-14
    ]:
        df = data[sym]
        w = adjusted_window(df, field, pd.Timestamp(end), 10, pd.Timestamp(end))
        exp = float(w[pd.Timestamp(day)])
        if field != "volume":
            # numpy's round (x*1000, round half to even, /1000) as zipline's Float64Window does;
            # Python's correctly rounded round() differs, e.g. 20.2525 -> 20.253 vs numpy 20.252.
            exp = float(np.round(np.float64(exp), 3))
        results.append(check(f"history {sym} {field} {day} (end {end})", hval(end, field, day, sym), exp))

    # 8. Every history row (560) recomputed the same way, compared exactly.
    worst = 0.0
    for (end, field, sym), grp in hist.groupby(["end_date", "field", "symbol"]):
        w = adjusted_window(data[sym], field, end, 10, end)
        if field != "volume":
            w = w.round(3)
        got = grp.set_index("date")["value"]
        assert list(got.index) == list(w.index), (end, field, sym)
        worst = max(worst, float(np.abs(got.to_numpy() - w.to_numpy()).max()))
    results.append(check_max("history, all 560 rows", [worst], 0.0))

    print(f"{sum(results)}/{len(results)} checks passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
