"""The perf DataFrame of a finished loop: zipline's columns and order, risk columns against the benchmark."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rustybt.algorithm.metrics import PERF_COLUMNS, risk_columns

__all__ = ["PerfMixin"]


class PerfMixin:
    """``_perf_frame(rows)`` and the benchmark's daily returns it uses."""

    def _perf_frame(self, rows: list[dict]) -> pd.DataFrame:
        perf = pd.DataFrame(rows)
        if perf.empty:
            return perf
        perf.index = pd.DatetimeIndex(perf["period_close"])
        perf.index.name = None
        bench = self._benchmark_array()
        risk = risk_columns(perf["returns"].to_numpy(dtype=float), bench)
        for name, values in risk.items():
            perf[name] = values
        perf["max_leverage"] = np.maximum.accumulate(perf["max_leverage"].to_numpy(dtype=float))
        perf["excess_return"] = 0.0
        perf["treasury_period_return"] = 0.0
        perf["trading_days"] = np.arange(1, len(perf) + 1)
        perf["period_label"] = [d.strftime("%Y-%m") for d in self._sim_sessions]
        recorded = [c for c in perf.columns if c in self._recorded]
        ordered = [c for c in PERF_COLUMNS if c in perf.columns]
        rest = [c for c in perf.columns if c not in ordered and c not in recorded]
        return perf[ordered + rest + recorded]

    def _benchmark_array(self) -> np.ndarray:
        n = len(self._sim_sessions)
        if self._benchmark_asset is not None:
            m = self.market
            j = m.col[self._benchmark_asset.sid]
            if m.intraday:
                # each session's last close (and the one before the first session)
                last_bars = [
                    int(m.session_first_bar[s + 1]) - 1 if s + 1 < len(m.sessions) else len(m.labels) - 1
                    for s in range(self._s0 - 1, self._s1)
                ]
                prices = np.array([m.price_column(j)[max(r, 0)] for r in last_bars])
            else:
                rows = np.arange(self._s0 - 1, self._s1)
                prices = m.price_column(j)[np.maximum(rows, 0)]
                b = m.factors(j, "price")
                if b is not None:
                    prices = prices * b[np.maximum(rows, 0)]
            with np.errstate(invalid="ignore", divide="ignore"):
                ret = prices[1:] / prices[:-1] - 1.0
            if self._s0 == 0:
                ret[0] = 0.0
            return np.nan_to_num(ret, nan=0.0)
        if self._benchmark_returns is not None:
            series = pd.Series(self._benchmark_returns)
            idx = pd.DatetimeIndex(series.index)
            idx = idx.tz_convert(None) if idx.tz is not None else idx
            series.index = idx.normalize()
            return series.reindex(self._sim_sessions).fillna(0.0).to_numpy(dtype=float)
        return np.zeros(n)
