"""Build RustyBT's shipped sample data set under ``data/sample/``.

Run from the repository root::

    .venv/bin/python data/make_sample.py

The script is deterministic: fixed seeds, no network, and a rerun with the same numpy version rewrites
byte-identical files. It writes

- ``sample/equities/daily/<SYM>.csv``: zipline csvdir layout (``date,open,high,low,close,volume,
  dividend,split``) on XNYS sessions 2012-01-03..2014-12-31. AAPL, IBM, KO and MSFT are real bars, restored
  to raw (as traded) prices from the split-adjusted fixtures; the ``ZZ?`` tickers are synthetic.
- ``sample/equities/symbols.csv``: one row per equity (name, real/synthetic, sector, first and last session).
- ``sample/crypto/1h/{BTC,ETH}-USDT.csv``: synthetic hourly bars, 2024-01-01T00:00Z..2024-03-31T23:00Z.
- ``sample/futures/daily/XF*.csv`` and ``sample/futures/contracts.csv``: a synthetic futures family
  (root ``XF``).

See ``data/README.md`` for what is real, what is synthetic and which corporate events the data holds.
The script ends with a self-check (OHLC relations, session counts, known values) and prints a one-line
summary.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import shutil
import sys
import zlib
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import exchange_calendars as xcals
import numpy as np
import pandas as pd

ROOT_SEED = 20_240_917
HERE = Path(__file__).resolve().parent
OUT = HERE / "sample"
# The real bars: zipline-reloaded's csvdir test resources (split-adjusted, split column still set). The repo
# copy under tests/resources is read first; the checksums pin the exact input so the output cannot drift.
FIXTURE_DIRS = (
    HERE.parent / "tests" / "resources" / "zipline-csvdir" / "daily",
    Path("/work/shared/fixtures/zipline-csvdir/daily"),
)
FIXTURE_SHA256 = {
    "AAPL": "830c146754254e0415fc4c9c44053044a5cb2e295e0f807798951b0b133983f4",
    "IBM": "4d331fa7ce4ba12da43c584a47a505dbc91f51d753f89c2bcc9af5e1e18e9589",
    "KO": "9e62bd4807b3d2f8b01684b42a880e89b5e42a4348e1b3fc6079cabd0417d526",
    "MSFT": "bfb9438607e583829d16845217a842e6201b89b752ec44cc2cd0d5b0363b8ecb",
}

EQ_START, EQ_END = "2012-01-03", "2014-12-31"
REAL_SPLITS = {"AAPL": ("2014-06-09", Decimal(7)), "KO": ("2012-08-13", Decimal(2))}
REAL_META = {
    "AAPL": ("Apple Inc.", "Technology"),
    "IBM": ("International Business Machines Corp.", "Technology"),
    "KO": ("The Coca-Cola Company", "Consumer"),
    "MSFT": ("Microsoft Corp.", "Technology"),
}
SECTORS = ("Technology", "Financials", "Energy", "Health Care", "Consumer")

# Synthetic equities: ZZA..ZZZ. Events are fixed here so the README can name them.
SYN_SYMBOLS = tuple(f"ZZ{chr(c)}" for c in range(ord("A"), ord("Z") + 1))
SYN_SPLITS = {"ZZC": ("2013-07-15", 2.0), "ZZH": ("2014-03-10", 3.0), "ZZP": ("2012-10-22", 1.5)}
SYN_PAYERS = ("ZZA", "ZZB", "ZZC", "ZZE", "ZZF", "ZZI", "ZZL", "ZZN", "ZZP", "ZZR", "ZZT", "ZZV", "ZZY")
SYN_HALT = ("ZZK", ("2013-09-17", "2013-09-18", "2013-09-19"))
SYN_IPO = ("ZZX", "2013-04-18")
SYN_DELIST = ("ZZY", "2014-06-27")

CRYPTO_START, CRYPTO_END = "2024-01-01", "2024-03-31"
FUT_ROOT, FUT_MULTIPLIER, FUT_EXCHANGE = "XF", 1000, "SAMPLE"
FUT_MONTHS = ((3, "H"), (4, "J"), (5, "K"), (6, "M"), (7, "N"), (8, "Q"))
FUT_FIRST_LISTING = "2014-01-02"


def rng_for(name: str) -> np.random.Generator:
    """An independent generator per named component, so adding one component leaves the others unchanged."""
    return np.random.default_rng([ROOT_SEED, zlib.crc32(name.encode())])


def xnys_sessions(start: str, end: str) -> pd.DatetimeIndex:
    cal = xcals.get_calendar("XNYS", start="2011-01-01", end="2015-12-31")
    return cal.sessions_in_range(start, end)


# ------------------------------------------------------------------------------------------------- formatting


def dec_text(value: Decimal, max_dp: int = 4, min_dp: int = 2) -> str:
    """``value`` rounded half-even to ``max_dp`` decimals, trailing zeros dropped down to ``min_dp``."""
    text = f"{value.quantize(Decimal(1).scaleb(-max_dp), rounding=ROUND_HALF_EVEN):f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(min_dp, "0")
    return f"{whole}.{frac}"


def cents(x: float) -> str:
    return f"{x:.2f}"


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def bridge_extremes(
    rng: np.random.Generator, log_open: np.ndarray, log_close: np.ndarray, step_sd: np.ndarray, steps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Max and min of a Brownian bridge from ``log_open`` to ``log_close`` (per row), in log space.

    The bridge includes both end points, so ``low <= min(open, close) <= max(open, close) <= high`` holds.
    """
    n = len(log_open)
    walk = np.cumsum(rng.standard_normal((n, steps)) * step_sd[:, None], axis=1)
    frac = np.arange(1, steps + 1) / steps
    path = walk - frac * walk[:, -1:] + frac * (log_close - log_open)[:, None]
    path = np.concatenate([np.zeros((n, 1)), path], axis=1) + log_open[:, None]
    return path.max(axis=1), path.min(axis=1)


# ------------------------------------------------------------------------------------------ real equities


def restore_real(symbol: str, sessions: pd.DatetimeIndex) -> list[list[str]]:
    """Undo the whole-span split adjustment of a csvdir fixture: raw prices, volumes, dividends as traded."""
    split_date, factor = REAL_SPLITS.get(symbol, ("0000-00-00", Decimal(1)))
    candidates = [d / f"{symbol}.csv" for d in FIXTURE_DIRS if (d / f"{symbol}.csv").is_file()]
    if not candidates:
        raise SystemExit(f"{symbol}.csv not found in any of {[str(d) for d in FIXTURE_DIRS]}")
    source = candidates[0]
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if digest != FIXTURE_SHA256[symbol]:
        raise SystemExit(f"{source} changed (sha256 {digest}); expected the zipline-reloaded test resource")
    rows = []
    with source.open(newline="", encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            f = factor if rec["date"] < split_date else Decimal(1)
            prices = [dec_text(Decimal(rec[k]) * f) for k in ("open", "high", "low", "close")]
            volume = (Decimal(rec["volume"]) / f).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
            dividend = dec_text(Decimal(rec["dividend"]) * f)
            split = repr(float(rec["split"]))
            rows.append([rec["date"], *prices, str(int(volume)), dividend, split])
    assert [r[0] for r in rows] == [d.strftime("%Y-%m-%d") for d in sessions], symbol
    return rows


# ------------------------------------------------------------------------------------- synthetic equities


@dataclass
class SynSpec:
    symbol: str
    sector: int
    beta: float
    sector_load: float
    idio_sd: float
    alpha: float
    dollar_volume: float
    split: tuple[pd.Timestamp, float] | None = None
    div_yield: float = 0.0
    div_months: tuple[int, ...] = ()
    div_day: int = 15
    first: pd.Timestamp | None = None
    last: pd.Timestamp | None = None
    halt: tuple[pd.Timestamp, ...] = field(default_factory=tuple)


def synthetic_specs() -> list[SynSpec]:
    rng = rng_for("equity-specs")
    specs = []
    for i, sym in enumerate(SYN_SYMBOLS):
        spec = SynSpec(
            symbol=sym,
            sector=i % len(SECTORS),
            beta=float(rng.uniform(0.7, 1.4)),
            sector_load=float(rng.uniform(0.6, 1.2)),
            idio_sd=float(rng.uniform(0.006, 0.021)),
            alpha=float(rng.normal(0.0002, 0.0004)),
            dollar_volume=float(np.exp(rng.uniform(np.log(5e6), np.log(4e8)))),
        )
        offset = int(rng.integers(0, 3))
        day = int(rng.integers(5, 26))
        yld = float(rng.uniform(0.012, 0.04))
        if sym in SYN_PAYERS:
            spec.div_yield = yld
            spec.div_months = tuple(m for m in range(1, 13) if (m - 1) % 3 == offset)
            spec.div_day = day
        if sym in SYN_SPLITS:
            spec.split = (pd.Timestamp(SYN_SPLITS[sym][0]), SYN_SPLITS[sym][1])
        specs.append(spec)
    by_sym = {s.symbol: s for s in specs}
    by_sym[SYN_IPO[0]].first = pd.Timestamp(SYN_IPO[1])
    by_sym[SYN_DELIST[0]].last = pd.Timestamp(SYN_DELIST[1])
    by_sym[SYN_HALT[0]].halt = tuple(pd.Timestamp(d) for d in SYN_HALT[1])
    return specs


def ex_dates(spec: SynSpec, sessions: pd.DatetimeIndex) -> set[pd.Timestamp]:
    out = set()
    for year in (2012, 2013, 2014):
        for month in spec.div_months:
            pos = sessions.searchsorted(pd.Timestamp(year, month, spec.div_day))
            if pos < len(sessions):
                out.add(sessions[pos])
    return out


def market_factors(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Daily market returns (with volatility clustering) and one return series per sector."""
    rng = rng_for("equity-factors")
    log_vol = np.zeros(n)
    shocks = rng.standard_normal(n)
    for t in range(1, n):
        log_vol[t] = 0.97 * log_vol[t - 1] + 0.08 * shocks[t]
    market = 0.0004 + 0.0085 * np.exp(log_vol) * rng.standard_normal(n)
    sectors = 0.0055 * rng.standard_normal((len(SECTORS), n))
    return market, sectors


def simulate_synthetic(
    spec: SynSpec, sessions: pd.DatetimeIndex, market: np.ndarray, sectors: np.ndarray
) -> list[list[str]]:
    rng = rng_for(f"equity-{spec.symbol}")
    n = len(sessions)
    ret = (
        spec.alpha
        + spec.beta * market
        + spec.sector_load * sectors[spec.sector]
        + spec.idio_sd * rng.standard_normal(n)
    )
    first = 0 if spec.first is None else int(sessions.get_loc(spec.first))
    if spec.first is not None:
        ret[first] += 0.08  # first-day pop
    reopen = None
    if spec.halt:
        reopen = int(sessions.get_loc(spec.halt[-1])) + 1
        ret[reopen] -= 0.11  # news released during the halt: the stock reopens lower
    sd = float(np.sqrt((spec.beta * 0.0085) ** 2 + (spec.sector_load * 0.0055) ** 2 + spec.idio_sd**2))

    # Raw price = p0 x economic path / (split ratios already effective); pick the start price p0 so that the
    # raw path stays within ~8..450 and, for split names, sits near 380 just before the split.
    split_at = -1 if spec.split is None else int(sessions.get_loc(spec.split[0]))
    done = np.where(np.arange(n) >= split_at, spec.split[1] if spec.split else 1.0, 1.0)
    econ = np.exp(np.cumsum(ret[first:]))
    raw_shape = econ / done[first:]
    if spec.split is not None:
        p0 = 380.0 / raw_shape[split_at - first - 1]
    else:
        p0 = float(np.exp(rng.uniform(np.log(12), np.log(220))))
    p0 = float(np.clip(p0, 8.0 / raw_shape.min(), 450.0 / raw_shape.max()))

    exd = ex_dates(spec, sessions) if spec.div_yield else set()
    exd = {d for d in exd if d >= sessions[first] and (spec.last is None or d <= spec.last)} - set(spec.halt)
    gap = rng.standard_normal(n) * 0.35 * sd
    if reopen is not None:
        gap[reopen] -= 0.11
    extra = np.abs(rng.standard_normal((n, 2))) * 0.15 * sd
    vol_shock = rng.standard_normal(n)
    close_prev, amount, amount_year = p0, 0.0, -1
    opens, closes, divs, splits = np.zeros(n), np.zeros(n), np.zeros(n), np.ones(n)
    for t in range(first, n):
        day = sessions[t]
        s = spec.split[1] if t == split_at else 1.0
        if s != 1.0 and amount:
            amount = max(0.01, round(amount / s, 2))
        div = 0.0
        if day in exd:
            if day.year != amount_year:
                # Reset once a year from the yield; a cut is at most 25% (payers keep their dividend sticky).
                amount = max(0.01, round(spec.div_yield / 4 * close_prev, 2), round(0.75 * amount, 2))
                amount_year = day.year
            div = amount
        base = (close_prev - div) / s
        closes[t] = float(cents(base * np.exp(ret[t])))
        opens[t] = float(cents(base * np.exp(gap[t])))
        divs[t], splits[t] = div, s
        close_prev = closes[t]

    sl = slice(first, n)
    hi, lo = bridge_extremes(rng, np.log(opens[sl]), np.log(closes[sl]), np.full(n - first, 0.8 * sd / np.sqrt(13)), 13)
    highs = np.zeros(n)
    lows = np.zeros(n)
    highs[sl] = np.exp(hi + extra[sl, 0])
    lows[sl] = np.exp(lo - extra[sl, 1])

    # Volumes: lognormal, AR(1) in logs, higher on big moves; share counts multiply at a split.
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.7 * x[t - 1] + 0.33 * vol_shock[t]
    move = np.abs(ret - spec.alpha) / sd
    shares = spec.dollar_volume / (p0 * econ.mean()) * np.exp(x - 0.5 * 0.33**2 / 0.51 + 0.3 * (move - 0.8))
    if spec.first is not None:
        shares[first] *= 6.0
    if reopen is not None:
        shares[reopen] *= 5.0
    volumes = np.maximum(100, np.rint(shares * done)).astype(np.int64)

    hidden = set(spec.halt)
    rows = []
    for t in range(first, n):
        day = sessions[t]
        if (spec.last is not None and day > spec.last) or day in hidden:
            assert divs[t] == 0.0, (spec.symbol, day)
            assert splits[t] == 1.0, (spec.symbol, day)
            continue
        o, c = cents(opens[t]), cents(closes[t])
        h = max(cents(highs[t]), o, c, key=float)
        low = min(cents(lows[t]), o, c, key=float)
        rows.append([day.strftime("%Y-%m-%d"), o, h, low, c, str(volumes[t]), cents(divs[t]), repr(float(splits[t]))])
    return rows


# ------------------------------------------------------------------------------------------------ crypto


def crypto_bars() -> dict[str, list[list[str]]]:
    """Correlated GBM hourly bars; open = previous close; high/low from a 12-step intrabar Brownian bridge."""
    cal = xcals.get_calendar("24/7", start=CRYPTO_START, end=CRYPTO_END)
    days = cal.sessions_in_range(CRYPTO_START, CRYPTO_END)
    stamps = pd.DatetimeIndex([d + pd.Timedelta(hours=h) for d in days for h in range(24)], tz="UTC")
    n = len(stamps)
    rng = rng_for("crypto")
    z = rng.standard_normal((n, 2))
    rho = 0.8
    shocks = np.column_stack([z[:, 0], rho * z[:, 0] + np.sqrt(1 - rho**2) * z[:, 1]])
    hours = stamps.hour.to_numpy()
    weekend = stamps.day_of_week.to_numpy() >= 5
    season = np.exp(0.35 * np.cos(2 * np.pi * (hours - 15) / 24) - 0.3 * weekend)
    out = {}
    params = (("BTC-USDT", 42_283.58, 0.48, 1_400.0), ("ETH-USDT", 2_281.47, 0.58, 14_000.0))
    for k, (pair, start, annual_vol, mean_volume) in enumerate(params):
        sd = annual_vol / np.sqrt(365 * 24)
        ret = -0.5 * sd**2 + sd * shocks[:, k]
        closes = np.round(start * np.exp(np.cumsum(ret)), 2)
        opens = np.concatenate([[start], closes[:-1]])
        hi, lo = bridge_extremes(rng, np.log(opens), np.log(closes), np.full(n, sd / np.sqrt(12)), 12)
        x = np.zeros(n)
        eps = rng.standard_normal(n)
        for t in range(1, n):
            x[t] = 0.85 * x[t - 1] + 0.25 * eps[t]
        volume = mean_volume * season * np.exp(x + 0.35 * (np.abs(shocks[:, k]) - 0.8))
        rows = []
        for t in range(n):
            o, c = cents(opens[t]), cents(closes[t])
            h = max(cents(np.exp(hi[t])), o, c, key=float)
            low = min(cents(np.exp(lo[t])), o, c, key=float)
            rows.append([stamps[t].strftime("%Y-%m-%dT%H:%M:%SZ"), o, h, low, c, f"{volume[t]:.5f}"])
        out[pair] = rows
    return out


# ----------------------------------------------------------------------------------------------- futures


def futures_family() -> tuple[list[list[str]], dict[str, list[list[str]]]]:
    """Six monthly contracts on one synthetic underlying, in contango; volume rolls to the back month."""
    cal = xcals.get_calendar("XNYS", start="2011-01-01", end="2015-12-31")
    contracts = []
    for month, code in FUT_MONTHS:
        expiry = cal.date_to_session(pd.Timestamp(2014, month, 15), direction="previous")
        listing = max(pd.Timestamp(2014, month, 1) - pd.DateOffset(months=3), pd.Timestamp(FUT_FIRST_LISTING))
        listing = cal.date_to_session(listing, direction="next")
        contracts.append((f"{FUT_ROOT}{code}14", listing, expiry))
    sessions = cal.sessions_in_range(FUT_FIRST_LISTING, contracts[-1][2])
    n = len(sessions)
    rng = rng_for("futures")
    sd, carry = 0.018, 0.10  # daily vol of the underlying, annual cost of carry (contango)
    spot_close = 94.60 * np.exp(np.cumsum(-0.5 * sd**2 + sd * rng.standard_normal(n)))
    spot_prev = np.concatenate([[94.60], spot_close[:-1]])
    spot_open = spot_prev * np.exp(0.35 * sd * rng.standard_normal(n))
    hi, lo = bridge_extremes(rng, np.log(spot_open), np.log(spot_close), np.full(n, 0.8 * sd / np.sqrt(13)), 13)
    extra = np.abs(rng.standard_normal((n, 2))) * 0.1 * sd
    spot = {
        "open": spot_open,
        "high": np.exp(hi + extra[:, 0]),
        "low": np.exp(lo - extra[:, 1]),
        "close": spot_close,
    }
    total = np.zeros(n)
    eps = rng.standard_normal(n)
    for t in range(1, n):
        total[t] = 0.6 * total[t - 1] + 0.25 * eps[t]
    total = 320_000 * np.exp(total)

    # Volume shares by rank in the chain, rolling from front to back over the ~10 sessions before expiry.
    live = np.array([[lst <= d <= exp for (_, lst, exp) in contracts] for d in sessions])
    weights = np.zeros((n, len(contracts)))
    for t in range(n):
        idx = np.flatnonzero(live[t])
        front_exp = contracts[idx[0]][2]
        to_expiry = int(sessions.get_loc(front_exp)) - t
        f = float(np.clip((12 - to_expiry) / 10, 0.0, 1.0))
        for rank, k in enumerate(idx):
            weights[t, k] = (0.85 * (1 - f) + 0.03, 0.12 + 0.75 * f, 0.03)[min(rank, 2)]
    weights *= np.exp(0.15 * rng.standard_normal(weights.shape))
    weights /= weights.sum(axis=1, keepdims=True)

    meta, bars = [], {}
    for k, (symbol, _listing, expiry) in enumerate(contracts):
        basis = np.zeros(n)
        b_eps = rng.standard_normal(n)
        for t in range(1, n):
            basis[t] = 0.8 * basis[t - 1] + 0.0006 * b_eps[t]
        rows = []
        for t in np.flatnonzero(live[:, k]):
            day = sessions[t]
            factor = np.exp(carry * (expiry - day).days / 365 + basis[t])
            o, h, low, c = (cents(spot[col][t] * factor) for col in ("open", "high", "low", "close"))
            volume = max(1, round(total[t] * weights[t, k]))
            rows.append([day.strftime("%Y-%m-%d"), o, h, low, c, str(volume)])
        bars[symbol] = rows
        pos = int(cal.sessions.get_loc(expiry))
        meta.append(
            [
                symbol,
                FUT_ROOT,
                expiry.strftime("%Y-%m-%d"),
                cal.sessions[pos - 2].strftime("%Y-%m-%d"),
                cal.sessions[pos + 1].strftime("%Y-%m-%d"),
                str(FUT_MULTIPLIER),
                FUT_EXCHANGE,
            ]
        )
    return meta, bars


# ------------------------------------------------------------------------------------------------- checks


def check_ohlc(df: pd.DataFrame, name: str) -> None:
    assert (df[["open", "high", "low", "close"]] > 0).all().all(), name
    assert (df["low"] <= df[["open", "close"]].min(axis=1)).all(), name
    assert (df["high"] >= df[["open", "close"]].max(axis=1)).all(), name
    assert (df["volume"] >= 0).all(), name


def self_check() -> str:
    sessions = xnys_sessions(EQ_START, EQ_END)
    eq_dir = OUT / "equities" / "daily"
    expected = {sym: sessions for sym in (*REAL_META, *SYN_SYMBOLS)}
    expected[SYN_IPO[0]] = sessions[sessions >= SYN_IPO[1]]
    expected[SYN_DELIST[0]] = sessions[sessions <= SYN_DELIST[1]]
    expected[SYN_HALT[0]] = sessions.difference(pd.DatetimeIndex(SYN_HALT[1]))
    n_rows = 0
    for sym, want in expected.items():
        df = pd.read_csv(eq_dir / f"{sym}.csv", parse_dates=["date"], dtype={"volume": "int64"})
        check_ohlc(df, sym)
        assert pd.DatetimeIndex(df["date"]).equals(want), sym
        if sym not in REAL_META:
            assert df[["open", "high", "low", "close"]].min().min() >= 5, sym
            assert df[["open", "high", "low", "close"]].max().max() <= 500, sym
            prev = df["close"].shift() - df["dividend"]
            sd = np.log(df["close"] * df["split"] / prev).std()
            assert 0.009 < sd < 0.032, (sym, sd)
        n_rows += len(df)
    assert len(expected[SYN_HALT[0]]) == len(sessions) - 3
    aapl = pd.read_csv(eq_dir / "AAPL.csv", dtype=str).set_index("date")
    assert aapl.loc["2014-06-06", "close"] == "645.57"
    assert aapl.loc["2014-06-09", "split"] == "7.0"
    assert abs(float(aapl.loc["2012-01-03", "close"]) - 411.23) < 0.01
    n_splits = sum((pd.read_csv(eq_dir / f"{s}.csv")["split"] != 1.0).sum() for s in (*REAL_META, *SYN_SYMBOLS))
    assert n_splits == 5, n_splits
    for sym, (date, ratio) in SYN_SPLITS.items():
        df = pd.read_csv(eq_dir / f"{sym}.csv").set_index("date")
        pos = df.index.get_loc(date)
        assert df["split"].iloc[pos] == ratio
        jump = df["close"].iloc[pos] / df["close"].iloc[pos - 1]
        assert 0.7 / ratio < jump < 1.3 / ratio, (sym, jump)

    for pair in ("BTC-USDT", "ETH-USDT"):
        df = pd.read_csv(OUT / "crypto" / "1h" / f"{pair}.csv")
        ts = pd.to_datetime(df["timestamp"], utc=True)
        assert len(df) == 2184, pair
        assert (ts.diff().dropna() == pd.Timedelta(hours=1)).all(), pair
        assert ts.iloc[0] == pd.Timestamp("2024-01-01T00:00Z"), pair
        assert ts.iloc[-1] == pd.Timestamp("2024-03-31T23:00Z"), pair
        assert (df["open"].iloc[1:].to_numpy() == df["close"].iloc[:-1].to_numpy()).all(), pair
        check_ohlc(df, pair)
        n_rows += len(df)

    cal = xcals.get_calendar("XNYS", start="2011-01-01", end="2015-12-31")
    meta = pd.read_csv(OUT / "futures" / "contracts.csv", parse_dates=["expiration_date", "auto_close_date"])
    closes = {}
    for rec in meta.itertuples():
        df = pd.read_csv(OUT / "futures" / "daily" / f"{rec.symbol}.csv", parse_dates=["date"])
        check_ohlc(df, rec.symbol)
        dates = pd.DatetimeIndex(df["date"])
        assert dates.equals(cal.sessions_in_range(dates[0], dates[-1])), rec.symbol
        assert dates[-1] == rec.expiration_date, rec.symbol
        assert cal.sessions_distance(rec.auto_close_date, rec.expiration_date) == 3, rec.symbol
        closes[rec.symbol] = df.set_index("date")
        n_rows += len(df)
    symbols = list(meta["symbol"])
    for front, back in itertools.pairwise(symbols):
        both = closes[front].merge(closes[back], left_index=True, right_index=True, suffixes=("_f", "_b"))
        assert (both["close_b"] / both["close_f"] > 1.0).all(), (front, back)
        auto_close = meta.set_index("symbol").loc[front, "auto_close_date"]
        assert both.loc[auto_close, "volume_b"] > both.loc[auto_close, "volume_f"], front
        early = both.index[both.index <= auto_close][-14]
        assert both.loc[early, "volume_f"] > both.loc[early, "volume_b"], front

    size = sum(p.stat().st_size for p in HERE.rglob("*") if p.is_file())
    assert size < 3_000_000, size
    n_files = sum(1 for p in OUT.rglob("*.csv"))
    return f"data/sample: {n_files} csv files, {n_rows:,} bars, {size / 1e6:.2f} MB in data/ - self-check passed"


# --------------------------------------------------------------------------------------------------- main


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    sessions = xnys_sessions(EQ_START, EQ_END)
    eq_header = ["date", "open", "high", "low", "close", "volume", "dividend", "split"]
    symbols = []
    for sym, (name, sector) in REAL_META.items():
        rows = restore_real(sym, sessions)
        write_rows(OUT / "equities" / "daily" / f"{sym}.csv", eq_header, rows)
        symbols.append([sym, name, "real", sector, rows[0][0], rows[-1][0]])
    market, sectors = market_factors(len(sessions))
    for spec in synthetic_specs():
        rows = simulate_synthetic(spec, sessions, market, sectors)
        write_rows(OUT / "equities" / "daily" / f"{spec.symbol}.csv", eq_header, rows)
        name = f"{spec.symbol} Synthetic {SECTORS[spec.sector]}"
        symbols.append([spec.symbol, name, "synthetic", SECTORS[spec.sector], rows[0][0], rows[-1][0]])
    write_rows(
        OUT / "equities" / "symbols.csv",
        ["symbol", "asset_name", "source", "sector", "start_date", "end_date"],
        symbols,
    )

    for pair, rows in crypto_bars().items():
        write_rows(
            OUT / "crypto" / "1h" / f"{pair}.csv",
            ["timestamp", "open", "high", "low", "close", "volume"],
            rows,
        )

    meta, bars = futures_family()
    fut_header = [
        "symbol",
        "root_symbol",
        "expiration_date",
        "auto_close_date",
        "first_notice_date",
        "multiplier",
        "exchange",
    ]
    write_rows(OUT / "futures" / "contracts.csv", fut_header, meta)
    for symbol, rows in bars.items():
        write_rows(
            OUT / "futures" / "daily" / f"{symbol}.csv",
            ["date", "open", "high", "low", "close", "volume"],
            rows,
        )

    sys.stdout.write(self_check() + "\n")


if __name__ == "__main__":
    main()
