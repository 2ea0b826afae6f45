"""ParquetBarReader.load_raw_arrays over many year partitions against a plain pandas pivot of the CSVs it was
ingested from."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _gapped import ingest_gapped_daily

from rustybt.calendars import sessions_in_range
from rustybt.data.readers import ParquetDailyBarReader

SYMBOLS = ("AAA", "BBB", "CCC", "DDD")


@pytest.fixture(autouse=True, params=["from Parquet", "through the dense copy"])
def bars_cache(request, monkeypatch):
    """Every test twice: reading Parquet each time, and with the dense copy (written by the first wide read)."""
    if request.param == "from Parquet":
        monkeypatch.setenv("RUSTYBT_BARS_CACHE", "0")
    return request.param


@pytest.fixture(scope="module")
def decade(tmp_path_factory):
    """Four assets over 2005-2014 (ten year partitions), each with its own gaps, and the frames written."""
    sessions = sessions_in_range("XNYS", pd.Timestamp("2005-01-03"), pd.Timestamp("2014-12-31"))
    catalog, frames = ingest_gapped_daily(
        tmp_path_factory.mktemp("decade"),
        SYMBOLS,
        sessions,
        seed=5,
        drop=lambda k: 0.03 * (k + 1),
        listing_step=40,  # later listings for later symbols
        price=20.0,
        step_sd=0.3,
        spread=0.5,
        volumes=(1_000, 100_000),
    )
    return catalog, frames, sessions


def test_ten_year_partitions_match_a_pandas_pivot(decade):
    catalog, frames, sessions = decade
    bundle = catalog.bundle("d")
    reader = ParquetDailyBarReader(bundle)
    order = ["CCC", "AAA", "DDD", "BBB"]  # not in sid order
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in order]
    start, end = pd.Timestamp("2005-06-01"), pd.Timestamp("2014-11-28")
    close, volume = reader.load_raw_arrays(["close", "volume"], start, end, sids)
    days = sessions[(sessions >= start) & (sessions <= end)]
    assert close.shape == (len(days), 4) and close.flags.f_contiguous
    for j, symbol in enumerate(order):
        np.testing.assert_array_equal(close[:, j], frames[symbol]["close"].reindex(days).to_numpy(), err_msg=symbol)
        np.testing.assert_array_equal(volume[:, j], frames[symbol]["volume"].reindex(days).to_numpy(float))


def test_a_few_sids_a_repeated_sid_and_a_year_without_bars(decade):
    catalog, frames, sessions = decade
    bundle = catalog.bundle("d")
    reader = ParquetDailyBarReader(bundle)
    bbb = bundle.asset_finder.lookup_symbol("BBB").sid
    # DDD lists 120 sessions in: no bar at all in the first rows, and none before 2005-06 in this range
    ddd = bundle.asset_finder.lookup_symbol("DDD").sid
    start, end = pd.Timestamp("2005-01-03"), pd.Timestamp("2006-03-31")
    days = sessions[(sessions >= start) & (sessions <= end)]
    for sids, order in (([bbb], ["BBB"]), ([ddd, bbb, ddd], ["DDD", "BBB", "DDD"])):
        (close,) = reader.load_raw_arrays(["close"], start, end, sids)
        assert close.shape == (len(days), len(sids)) and close.flags.f_contiguous
        for j, symbol in enumerate(order):
            np.testing.assert_array_equal(close[:, j], frames[symbol]["close"].reindex(days).to_numpy(), err_msg=symbol)
    # a whole year block with no bar for the asset asked for: all NaN, nothing left uninitialised
    (close,) = reader.load_raw_arrays(["close"], pd.Timestamp("2005-01-03"), pd.Timestamp("2005-03-01"), [ddd])
    assert np.isnan(close).all()


def test_place_bars_in_any_order_leaves_out_unknown_sids_and_off_grid_times():
    from rustybt.data.readers._scatter import place_bars

    rng = np.random.default_rng(11)
    labels = np.arange(0, 40, 2, dtype=np.int64) * 10  # 20 labels
    requested = np.array([7, 3, 9], dtype=np.int64)  # column order
    n = 200
    sid = rng.choice([3, 5, 7, 9], n)  # 5 is not requested
    ts = rng.integers(0, 400, n)  # odd multiples of 10 and others are off the labels
    close, volume = rng.normal(size=n), rng.normal(size=n)
    r0, r1 = 4, 16  # only this block is this call's
    expected_close = np.full((20, 3), -1.0)
    expected_volume = np.full((20, 3), -1.0)
    expected_close[r0:r1] = np.nan
    expected_volume[r0:r1] = np.nan
    for i in range(n):  # plain reference: the last bar of a cell wins
        hits = np.flatnonzero(labels[r0:r1] == ts[i])
        if sid[i] in requested and len(hits):
            j = int(np.flatnonzero(requested == sid[i])[0])
            expected_close[r0 + hits[0], j] = close[i]
            expected_volume[r0 + hits[0], j] = volume[i]
    order = np.argsort(requested, kind="stable")
    for cuts in ([], [1, 57, 58, 140], list(range(1, n))):  # the bars in one call, in pieces, one by one
        outs = (np.full((20, 3), -1.0, order="F"), np.full((20, 3), -1.0, order="F"))
        seen = np.zeros(3, np.bool_)
        bounds = [0, *cuts, n]
        for a, b in itertools.pairwise(bounds):
            place_bars(
                outs,
                (close[a:b], volume[a:b]),
                ts[a:b],
                sid[a:b],
                labels,
                r0,
                r1,
                requested[order],
                order.astype(np.int64),
                seen,
                b == n,
            )
        np.testing.assert_array_equal(outs[0], expected_close, err_msg=str(cuts))
        np.testing.assert_array_equal(outs[1], expected_volume, err_msg=str(cuts))


def test_a_year_read_in_row_groups_is_placed_from_the_pieces_without_copying_them():
    from rustybt.data.readers.parquet import _pieces

    parts = [pl.DataFrame({"ts": [1, 2], "x": [0.5, 1.5]}), pl.DataFrame({"ts": [3], "x": [2.5]})]
    frame = pl.concat(parts, rechunk=False)
    pieces = _pieces(frame)
    assert [p.height for p in pieces] == [2, 1]
    assert pl.concat(pieces).equals(frame)
    for piece in pieces:
        for column in ("ts", "x"):
            assert not piece.get_column(column).to_numpy().flags.owndata  # a view of the column's own buffer
    assert _pieces(frame.rechunk())[0].equals(frame)  # one chunk: the frame itself


@pytest.mark.parametrize("budget", [0, 1 << 30])
def test_years_read_ahead_while_numba_sets_up_are_placed_the_same(decade, monkeypatch, budget):
    from rustybt.data.readers import parquet

    catalog, frames, sessions = decade
    bundle = catalog.bundle("d")
    order = ["DDD", "AAA", "CCC", "BBB"]
    sids = [bundle.asset_finder.lookup_symbol(s).sid for s in order]
    start, end = pd.Timestamp("2005-06-01"), pd.Timestamp("2014-11-28")
    days = sessions[(sessions >= start) & (sessions <= end)]
    placed = []
    real = parquet.place_bars

    def place(*args):
        if args[10]:  # the last piece of a year block
            placed.append(args[5])  # r0: the block's first row
        return real(*args)

    monkeypatch.setattr(parquet, "READ_AHEAD_MIN_BYTES", 0)
    monkeypatch.setattr(parquet, "place_bars", place)
    if budget:  # a budget larger than all ten years: every year is read before any is placed
        monkeypatch.setattr(parquet, "READ_AHEAD_MIN_BYTES", budget)
    # as in a first run: Numba busy the whole time (the pipeline's loader passes its warm-up state)
    reader = ParquetDailyBarReader(bundle, read_ahead=lambda: True)
    close, volume = reader.load_raw_arrays(["close", "volume"], start, end, sids)
    assert placed == sorted(placed) and len(placed) == 10
    for j, symbol in enumerate(order):
        np.testing.assert_array_equal(close[:, j], frames[symbol]["close"].reindex(days).to_numpy(), err_msg=symbol)
        np.testing.assert_array_equal(volume[:, j], frames[symbol]["volume"].reindex(days).to_numpy(float))
