"""Factor performance: information coefficient, returns by quantile, turnover, autocorrelation, as alphalens'
``performance`` module.

Every function takes alphalens' ``factor_data`` frame (:func:`get_clean_factor_and_forward_returns`) and returns
what alphalens-reloaded 0.5 returns for it, computed with grouped pandas reductions and numpy on a dates x assets
grid instead of a Python call per date. Where alphalens reindexes a daily result to the trading calendar stored
as the date level's ``freq`` (missing dates become NaN rows), so does this module.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rustybt.errors import InvalidArgument
from rustybt.pipeline.analysis.utils import demean_forward_returns, get_forward_returns_columns

__all__ = [
    "compute_mean_returns_spread",
    "cumulative_returns",
    "cumulative_returns_by_quantile",
    "factor_alpha_beta",
    "factor_information_coefficient",
    "factor_rank_autocorrelation",
    "factor_returns",
    "factor_weights",
    "ic_summary",
    "mean_information_coefficient",
    "mean_return_by_quantile",
    "quantile_turnover",
]


def _freq(frame: pd.DataFrame | pd.Series) -> Any:
    return frame.index.levels[frame.index.names.index("date")].freq


def _reindex_to_freq(result: pd.DataFrame | pd.Series, freq: Any) -> pd.DataFrame | pd.Series:
    return result if freq is None else result.asfreq(freq)


def _dates(frame: pd.DataFrame | pd.Series) -> pd.Index:
    return frame.index.get_level_values("date")


def _level(frame: pd.DataFrame | pd.Series, name: str) -> tuple[np.ndarray, pd.Index]:
    """The integer codes of index level ``name`` of every row, and the level's values (free: MultiIndex codes)."""
    pos = frame.index.names.index(name)
    return np.asarray(frame.index.codes[pos], dtype="int64"), frame.index.levels[pos]


def _rank_rows(matrix: np.ndarray) -> np.ndarray:
    """Average rank (1-based, ties share the mean rank) of each value within its row; NaN stays NaN."""
    width = matrix.shape[1]
    order = np.argsort(matrix, axis=1)  # NaN sorts last; ties share a rank, so any order of them will do
    ordered = np.take_along_axis(matrix, order, axis=1)
    pos = np.broadcast_to(np.arange(width), matrix.shape)
    starts = np.ones(matrix.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones(matrix.shape, dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    last = np.flip(np.minimum.accumulate(np.flip(np.where(ends, pos, width), axis=1), axis=1), axis=1)
    ranks = np.empty(matrix.shape)
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    ranks[np.isnan(matrix)] = np.nan
    return ranks


def _grouped_rank(values: np.ndarray, codes: np.ndarray, slots: np.ndarray | None = None) -> np.ndarray:
    """Average rank of each value within its group (``codes``); NaN stays NaN.

    The rows are laid out as a (groups x widest group) matrix (``slots``: each row's column, e.g. its asset
    code; by default its position within the group), so the sort is one short sort per group.
    """
    if len(values) == 0:
        return np.empty(0)
    ngroups = int(codes.max()) + 1
    if slots is None:
        counts = np.bincount(codes, minlength=ngroups)
        order = np.argsort(codes, kind="stable")
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        slots = np.empty(len(codes), dtype="int64")
        slots[order] = np.arange(len(codes)) - starts[codes[order]]
    matrix = np.full((ngroups, int(slots.max()) + 1), np.nan)
    matrix[codes, slots] = values
    return _rank_rows(matrix)[codes, slots]


def _grouped_pearson(a: np.ndarray, b: np.ndarray, codes: np.ndarray, ngroups: int) -> np.ndarray:
    """Pearson correlation of ``a`` and ``b`` within each group (two-pass: means first); NaN below 2 rows."""
    counts = np.bincount(codes, minlength=ngroups).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        da = a - (np.bincount(codes, a, ngroups) / counts)[codes]
        db = b - (np.bincount(codes, b, ngroups) / counts)[codes]
        out = np.bincount(codes, da * db, ngroups) / np.sqrt(
            np.bincount(codes, da * da, ngroups) * np.bincount(codes, db * db, ngroups)
        )
    out[counts < 2] = np.nan
    return np.clip(out, -1.0, 1.0)


def _cell_codes(keys: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Dense codes of the combinations of integer ``keys`` present (sorted), and each key's value per cell."""
    sizes = [int(k.max()) + 1 if len(k) else 1 for k in keys]
    combined = np.zeros(len(keys[0]), dtype="int64")
    for k, size in zip(keys, sizes, strict=True):
        combined = combined * size + k
    present = np.bincount(combined, minlength=int(np.prod(sizes))) > 0  # a counting sort: no O(n log n)
    cells = np.flatnonzero(present)
    dense = np.cumsum(present) - 1
    values = []
    rest = cells
    for size in reversed(sizes):
        values.append(rest % size)
        rest = rest // size
    return dense[combined], values[::-1]


def _group_codes(factor_data: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    cat = pd.Categorical(factor_data["group"])
    return np.asarray(cat.codes, dtype="int64"), pd.Index(cat.categories)


def factor_information_coefficient(
    factor_data: pd.DataFrame, group_adjust: bool = False, by_group: bool = False
) -> pd.DataFrame:
    """Spearman rank correlation between the factor and each period's forward returns, per date.

    As ``alphalens.performance.factor_information_coefficient`` (scipy's ``spearmanr``: the Pearson correlation
    of average ranks): ``group_adjust`` demeans returns per (date, group) first; ``by_group`` gives one row per
    (date, group).
    """
    freq = _freq(factor_data)
    if group_adjust:
        factor_data = demean_forward_returns(factor_data, [_dates(factor_data), "group"])
    cols = get_forward_returns_columns(factor_data.columns)
    date_codes, date_values = _level(factor_data, "date")
    keys = [date_codes]
    if by_group:
        group_codes, group_values = _group_codes(factor_data)
        keys.append(group_codes)
    codes, cell_keys = _cell_codes(keys)
    ncells = len(cell_keys[0])
    # one row per date: each asset has its own column; per (date, group) cells the position is computed
    slots = None if by_group else _level(factor_data, "asset")[0]
    rank_f = _grouped_rank(factor_data["factor"].to_numpy(dtype="float64"), codes, slots)
    ic = (
        np.column_stack(
            [
                _grouped_pearson(
                    rank_f, _grouped_rank(factor_data[c].to_numpy(dtype="float64"), codes, slots), codes, ncells
                )
                for c in cols
            ]
        )
        if len(cols)
        else np.empty((ncells, 0))
    )
    dates = pd.DatetimeIndex(date_values[cell_keys[0]], name="date")
    if by_group:
        index = pd.MultiIndex.from_arrays([dates, group_values[cell_keys[1]]], names=["date", "group"])
        return pd.DataFrame(ic, index=index, columns=list(cols))
    return _reindex_to_freq(pd.DataFrame(ic, index=dates, columns=list(cols)), freq)


def mean_information_coefficient(
    factor_data: pd.DataFrame, group_adjust: bool = False, by_group: bool = False, by_time: str | None = None
) -> pd.DataFrame | pd.Series:
    """Mean IC over all dates, or per ``by_time`` period (a pandas frequency, e.g. ``"ME"`` for months;
    alphalens' ``"M"`` is accepted) and/or per group."""
    ic = factor_information_coefficient(factor_data, group_adjust, by_group)
    grouper: list[Any] = []
    if by_time is not None:
        grouper.append(pd.Grouper(freq={"M": "ME", "Q": "QE", "Y": "YE", "A": "YE"}.get(by_time, by_time)))
    if by_group:
        grouper.append("group")
    if not grouper:
        return ic.mean()
    return ic.reset_index().set_index("date").groupby(grouper, observed=False).mean()


def ic_summary(ic_data: pd.DataFrame) -> pd.DataFrame:
    """IC mean, std, risk-adjusted IC, t-stat and p-value (H0: mean IC = 0), skew and kurtosis per period.

    As ``alphalens.plotting.plot_information_table(ic_data, return_df=True)`` (missing dates ignored), with the
    periods as rows.
    """
    rows = {}
    for col in ic_data.columns:
        clean = ic_data[col].dropna().to_numpy(dtype="float64")
        ttest = stats.ttest_1samp(clean, 0) if len(clean) >= 2 else None
        rows[col] = {
            "IC Mean": ic_data[col].mean(),
            "IC Std.": ic_data[col].std(),
            "Risk-Adjusted IC": ic_data[col].mean() / ic_data[col].std(),
            "t-stat(IC)": ttest.statistic if ttest is not None else np.nan,
            "p-value(IC)": ttest.pvalue if ttest is not None else np.nan,
            "IC Skew": stats.skew(clean) if len(clean) else np.nan,
            "IC Kurtosis": stats.kurtosis(clean) if len(clean) else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def factor_weights(
    factor_data: pd.DataFrame, demeaned: bool = True, group_adjust: bool = False, equal_weight: bool = False
) -> pd.Series:
    """Portfolio weights from factor values per date (sum of absolute weights 1), as alphalens."""
    keys = [_dates(factor_data)]
    if group_adjust:
        keys.append(factor_data["group"].to_numpy())
    weights = _to_weights(factor_data["factor"].astype("float64"), keys, demeaned, equal_weight)
    if group_adjust:
        weights = _to_weights(weights, [_dates(factor_data)], False, False)
    return weights


def _to_weights(values: pd.Series, keys: list[Any], demeaned: bool, equal_weight: bool) -> pd.Series:
    grouped = values.groupby(keys, observed=True)
    if equal_weight:
        centred = values - grouped.transform("median") if demeaned else values
        sign = np.sign(centred)
        if demeaned:
            neg = (sign < 0).groupby(keys, observed=True).transform("sum")
            pos = (sign > 0).groupby(keys, observed=True).transform("sum")
            sign = sign.where(~(sign < 0), sign / neg).where(~(sign > 0), sign / pos)
        centred = sign.astype("float64")
    elif demeaned:
        centred = values - grouped.transform("mean")
    else:
        centred = values
    denom = centred.abs().groupby(keys, observed=True).transform("sum")
    return (centred / denom).where(denom != 0, centred * 0.0)


def factor_returns(
    factor_data: pd.DataFrame,
    demeaned: bool = True,
    group_adjust: bool = False,
    equal_weight: bool = False,
    by_asset: bool = False,
) -> pd.DataFrame:
    """Returns of the factor-weighted portfolio per date and period (:func:`factor_weights` x forward returns)."""
    weights = factor_weights(factor_data, demeaned, group_adjust, equal_weight)
    cols = get_forward_returns_columns(factor_data.columns)
    weighted = factor_data[cols].multiply(weights, axis=0)
    if by_asset:
        return weighted
    return _reindex_to_freq(weighted.groupby(level="date").sum(min_count=1), _freq(factor_data))


def factor_alpha_beta(
    factor_data: pd.DataFrame,
    returns: pd.DataFrame | None = None,
    demeaned: bool = True,
    group_adjust: bool = False,
    equal_weight: bool = False,
) -> pd.DataFrame:
    """Annualised alpha and beta of the factor portfolio against the equal-weight universe (OLS per period)."""
    if returns is None:
        returns = factor_returns(factor_data, demeaned, group_adjust, equal_weight)
    cols = get_forward_returns_columns(factor_data.columns)
    universe = factor_data.groupby(level="date")[cols].mean().reindex(returns.index)
    if isinstance(returns, pd.Series):
        returns = returns.to_frame(universe.columns[0])
    out = pd.DataFrame(index=["Ann. alpha", "beta"], columns=returns.columns, dtype="float64")
    for period in returns.columns:
        x = universe[period].to_numpy(dtype="float64")
        y = returns[period].to_numpy(dtype="float64")
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() < 2:
            continue
        design = np.column_stack([np.ones(ok.sum()), x[ok]])
        (alpha, beta), *_ = np.linalg.lstsq(design, y[ok], rcond=None)
        out.loc["Ann. alpha", period] = (1 + alpha) ** (pd.Timedelta("252Days") / pd.Timedelta(period)) - 1
        out.loc["beta", period] = beta
    return out


def cumulative_returns(returns: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """Growth of 1 from simple returns (NaN counts as 0), as ``empyrical.cum_returns(returns, 1)``."""
    return (returns.fillna(0) + 1).cumprod()


def _grouped_stats(values: np.ndarray, codes: np.ndarray, ncells: int) -> tuple[np.ndarray, ...]:
    """Mean, sample std (ddof 1) and count of each column of ``values`` per group, NaN skipped (pandas' rules)."""
    means = np.empty((ncells, values.shape[1]))
    stds = np.empty_like(means)
    counts = np.empty_like(means)
    for j in range(values.shape[1]):
        col = values[:, j]
        ok = ~np.isnan(col)
        c, v = codes[ok], col[ok]
        n = np.bincount(c, minlength=ncells).astype("float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.bincount(c, v, ncells) / n
            d = v - m[c]
            var = np.bincount(c, d * d, ncells) / (n - 1)
        means[:, j] = np.where(n > 0, m, np.nan)
        stds[:, j] = np.where(n > 1, np.sqrt(var), np.nan)
        counts[:, j] = n
    return means, stds, counts


def mean_return_by_quantile(
    factor_data: pd.DataFrame,
    by_date: bool = False,
    by_group: bool = False,
    demeaned: bool = True,
    group_adjust: bool = False,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Mean forward return per quantile (and date, and group) and its standard error.

    As ``alphalens.performance.mean_return_by_quantile``: returns demeaned per date (``demeaned``) or per
    (date, group) (``group_adjust``); the mean per (quantile, date); without ``by_date`` the mean of those daily
    means, with standard error std / sqrt(number of dates).
    """
    if group_adjust:
        factor_data = demean_forward_returns(factor_data, [_dates(factor_data), "group"])
    elif demeaned:
        factor_data = demean_forward_returns(factor_data)
    cols = list(get_forward_returns_columns(factor_data.columns))
    q_codes, q_values = pd.factorize(factor_data["factor_quantile"], sort=True)
    date_codes, date_values = _level(factor_data, "date")
    keys = [np.asarray(q_codes, dtype="int64"), date_codes]
    names = ["factor_quantile", "date"]
    if by_group:
        group_codes, group_values = _group_codes(factor_data)
        keys.append(group_codes)
        names.append("group")
    codes, cell_keys = _cell_codes(keys)
    mean, std, count = _grouped_stats(factor_data[cols].to_numpy(dtype="float64"), codes, len(cell_keys[0]))
    levels = [pd.Index(q_values, name="factor_quantile")[cell_keys[0]], date_values[cell_keys[1]]]
    if by_group:
        levels.append(group_values[cell_keys[2]])
    index = pd.MultiIndex.from_arrays(levels, names=names)
    mean_ret = pd.DataFrame(mean, index=index, columns=cols)
    if not by_date:
        keys2 = [mean_ret.index.get_level_values("factor_quantile")]
        if by_group:
            keys2.append(mean_ret.index.get_level_values("group"))
        grouped = mean_ret.groupby(keys2, observed=False)
        mean_ret, std_df, count_df = grouped.mean(), grouped.std(), grouped.count()
        return mean_ret, std_df / np.sqrt(count_df)
    return mean_ret, pd.DataFrame(std / np.sqrt(count), index=index, columns=cols)


def compute_mean_returns_spread(
    mean_returns: pd.DataFrame, upper_quant: int, lower_quant: int, std_err: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Top-minus-bottom spread ``(upper - lower) / 2`` and its joint standard error ``sqrt(s1² + s2²) / 2``."""
    spread = (
        mean_returns.xs(upper_quant, level="factor_quantile") - mean_returns.xs(lower_quant, level="factor_quantile")
    ) / 2.0
    if std_err is None:
        return spread, None
    std1 = std_err.xs(upper_quant, level="factor_quantile")
    std2 = std_err.xs(lower_quant, level="factor_quantile")
    return spread, np.sqrt(std1**2 + std2**2) / 2.0


def cumulative_returns_by_quantile(
    factor_data: pd.DataFrame, period: str | None = None, demeaned: bool = True, group_adjust: bool = False
) -> pd.DataFrame:
    """Growth of 1 invested in each quantile's equal-weight basket (dates x quantiles).

    alphalens' "cumulative return by quantile" chart: the daily mean ``period`` return per quantile
    (:func:`mean_return_by_quantile` with ``by_date=True``), compounded. ``period`` defaults to the first.
    """
    cols = get_forward_returns_columns(factor_data.columns)
    period = cols[0] if period is None else period
    if period not in cols:
        raise InvalidArgument(f"Period {period!r} not found; the factor data has {', '.join(cols)}")
    by_date, _ = mean_return_by_quantile(factor_data, by_date=True, demeaned=demeaned, group_adjust=group_adjust)
    return cumulative_returns(by_date[period].unstack("factor_quantile"))


def _grid(dates: pd.DatetimeIndex, freq: Any) -> pd.DatetimeIndex:
    """The dates alphalens' ``asfreq(freq)`` would give: every session of ``freq`` from first to last date."""
    if freq is None or len(dates) == 0:
        return dates
    return pd.Series(0, index=dates).asfreq(freq).index


def quantile_turnover(quantile_factor: pd.Series, quantile: int, period: int = 1) -> pd.Series:
    """Share of the assets in ``quantile`` on a date that were not in it ``period`` dates before.

    As ``alphalens.performance.quantile_turnover``: on the trading calendar of the date level's ``freq``
    (or the dates present), NaN where either date has no asset in the quantile.
    """
    freq = _freq(quantile_factor)
    date_codes, date_values = _level(quantile_factor, "date")
    asset_codes, asset_values = _level(quantile_factor, "asset")
    member = quantile_factor.to_numpy() == quantile
    seen = np.bincount(date_codes[member], minlength=len(date_values)) > 0
    present_dates = pd.DatetimeIndex(date_values[seen], name="date")
    dates = _grid(present_dates, freq)
    matrix = np.zeros((len(dates), len(asset_values)), dtype=bool)
    rows = dates.get_indexer(date_values[date_codes[member]])
    matrix[rows, asset_codes[member]] = True
    size = matrix.sum(axis=1)
    present = size > 0
    out = np.full(len(dates), np.nan)
    if period < len(dates):
        new = (matrix[period:] & ~matrix[:-period]).sum(axis=1)
        both = present[period:] & present[:-period]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[period:] = np.where(both, new / size[period:], np.nan)
    return pd.Series(out, index=dates, name=quantile)


def factor_rank_autocorrelation(factor_data: pd.DataFrame, period: int = 1) -> pd.Series:
    """Pearson correlation of each date's factor ranks with the ranks ``period`` dates before (assets in both).

    As ``alphalens.performance.factor_rank_autocorrelation`` (``DataFrame.corrwith(..., axis=1)``).
    """
    freq = _freq(factor_data)
    date_codes, date_values = _level(factor_data, "date")
    asset_codes, _ = _level(factor_data, "asset")
    ranks = _grouped_rank(factor_data["factor"].to_numpy(dtype="float64"), date_codes, asset_codes)
    present = pd.DatetimeIndex(date_values[np.bincount(date_codes, minlength=len(date_values)) > 0], name="date")
    dates = _grid(present, freq)
    now = np.full((len(dates), len(factor_data.index.levels[factor_data.index.names.index("asset")])), np.nan)
    now[dates.get_indexer(date_values[date_codes]), asset_codes] = ranks
    before = np.full_like(now, np.nan)
    if period < len(now):
        before[period:] = now[:-period]
    both = np.isfinite(now) & np.isfinite(before)
    a = np.where(both, now, 0.0)
    b = np.where(both, before, 0.0)
    n = both.sum(axis=1).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        da = np.where(both, a - (a.sum(axis=1) / n)[:, None], 0.0)
        db = np.where(both, b - (b.sum(axis=1) / n)[:, None], 0.0)
        num = (da * db).sum(axis=1)
        den = (n - 1) * np.sqrt((da * da).sum(axis=1) / (n - 1)) * np.sqrt((db * db).sum(axis=1) / (n - 1))
        corr = np.where(n >= 2, num / den, np.nan)
    return pd.Series(corr, index=dates, name=period)
