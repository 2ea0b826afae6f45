"""The shared network-adapter machinery: quotas across calls, input checks, offline switch."""

from __future__ import annotations

import polars as pl
import pytest

from rustybt.data.adapters.network import NetworkAdapter
from rustybt.errors import AdapterError, InvalidArgument, QuotaExceeded, ResolutionError


class Counting(NetworkAdapter):
    """One request per symbol; no vendor behind it, only the base class's rate limiter and quotas."""

    name = "counting-test"
    requests_per_day = 2

    async def _fetch_symbol(self, symbol, start, end, resolution):
        async def call():
            return pl.DataFrame(
                {"timestamp": [start], "open": ["1"], "high": ["1"], "low": ["1"], "close": ["1"], "volume": ["1"]}
            )

        return await self.request(call)

    def to_config(self):
        return {}


@pytest.fixture
def online(monkeypatch):
    monkeypatch.setenv("RUSTYBT_OFFLINE", "0")


def test_day_quota_counts_across_synchronous_calls(online):
    adapter = Counting(rate_limit=100)
    adapter.fetch_sync(["A"], "2024-01-01", "2024-01-02")
    adapter.fetch_sync(["B"], "2024-01-01", "2024-01-02")  # each call runs its own event loop
    with pytest.raises(QuotaExceeded, match="quota of 2 requests used up"):
        adapter.fetch_sync(["C"], "2024-01-01", "2024-01-02")
    assert adapter.requests_made == 2


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        ((["A", "A"], "2024-01-01", "2024-01-02"), InvalidArgument, "duplicated symbol"),
        (([], "2024-01-01", "2024-01-02"), InvalidArgument, "at least one"),
        ((["A"], "2024-02-01", "2024-01-02"), InvalidArgument, "after end_date"),
        ((["A"], "2024-01-01", "2024-01-02", "1h"), ResolutionError, "does not serve 1h"),
    ],
)
def test_bad_requests_fail_before_any_request(online, args, error, match):
    adapter = Counting(rate_limit=100)
    with pytest.raises(error, match=match):
        adapter.fetch_sync(*args)
    assert adapter.requests_made == 0


def test_offline_switch_refuses_network():
    adapter = Counting(rate_limit=100)  # tests/conftest.py sets RUSTYBT_OFFLINE=1
    with pytest.raises(AdapterError, match="RUSTYBT_OFFLINE=1"):
        adapter.fetch_sync(["A"], "2024-01-01", "2024-01-02")
    assert adapter.requests_made == 0
