"""Shared checks of the adapter tests."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _fresh_shared_limits():
    """Each test starts with no shared rate budget (budgets are per process and key: tests share FAKE keys)."""
    from rustybt.data.adapters import _limiter

    with _limiter._SHARED_LOCK:
        _limiter._SHARED.clear()


#: Loggers of the client libraries the adapters drive, as those libraries name them.
LIBRARY_LOGGERS = (
    "ccxt.base.exchange",
    "httpx",
    "httpcore.http11",
    "urllib3.connectionpool",
    "requests",
    "alpaca.common.rest",
    "RESTClient",
    "yfinance",
    "rustybt.data.adapters",
)


@pytest.fixture
def library_logs_hide(caplog):
    """``check(*secrets)``: a DEBUG record holding the secrets, logged on every client library's logger (and
    ours) after the adapter made a request, reaches the handlers with each secret replaced by ``***``."""

    def check(*secrets: str) -> None:
        caplog.set_level(logging.DEBUG)
        for name in LIBRARY_LOGGERS:
            logging.getLogger(name).debug("GET /x, Request: %s", {"X-API-KEY": secrets[0], "all": list(secrets)})
            try:
                raise RuntimeError(f"failed with {secrets[-1]}")
            except RuntimeError:
                logging.getLogger(name).exception("request failed")
        text = caplog.text
        assert all(s not in text for s in secrets), [
            r.name for r in caplog.records if any(s in r.getMessage() for s in secrets)
        ]
        assert text.count("***") >= len(LIBRARY_LOGGERS)

    return check


#: The recorded ACME scenario (tests/resources/{polygon,alpaca,alphavantage}/*acme*): raw daily closes, a
#: 4-for-1 split (ex 2024-01-05), a 1-for-10 reverse split (ex 2024-01-09), a regular dividend of 2.00
#: (ex 2024-01-04) and a special dividend of 50.00 (ex 2024-01-11).
ACME_DAYS = [
    "2024-01-02",
    "2024-01-03",
    "2024-01-04",
    "2024-01-05",
    "2024-01-08",
    "2024-01-09",
    "2024-01-10",
    "2024-01-11",
    "2024-01-12",
]
ACME_CLOSES = [400.0, 404.0, 408.0, 103.0, 104.0, 1050.0, 1060.0, 1012.0, 1015.0]
ACME_SPLITS = {"2024-01-05": 1 / 4, "2024-01-09": 10.0}
ACME_DIVIDENDS = {"2024-01-04": 2.0, "2024-01-11": 50.0}


def acme_expected_adjustments() -> list[tuple[str, str, float, float | None]]:
    """(kind, day, ratio, amount) as the catalog should store them: a dividend's ratio from the prior close."""
    close = dict(zip(ACME_DAYS, ACME_CLOSES, strict=True))
    rows = [("split", d, r, None) for d, r in ACME_SPLITS.items()]
    for day, amount in ACME_DIVIDENDS.items():
        prior = close[ACME_DAYS[ACME_DAYS.index(day) - 1]]
        rows.append(("dividend", day, 1.0 - amount / prior, amount))
    return sorted(rows, key=lambda r: (r[1], r[0]))


def check_acme_bundle(catalog, name: str) -> None:
    """The bundle stores ACME's four actions and serves point-in-time adjusted history windows."""
    import numpy as np
    import pandas as pd

    from rustybt.data.readers import DataPortal

    bundle = catalog.bundle(name)
    stored = sorted(
        (kind, day.isoformat(), ratio, amount)
        for kind, day, ratio, amount in bundle.adjustments().select("kind", "effective_date", "ratio", "amount").rows()
    )
    expected = acme_expected_adjustments()
    assert [r[:2] for r in sorted(stored, key=lambda r: (r[1], r[0]))] == [r[:2] for r in expected]
    for got, want in zip(sorted(stored, key=lambda r: (r[1], r[0])), expected, strict=True):
        assert got[2] == pytest.approx(want[2], rel=1e-12) and got[3] == want[3]
    portal = DataPortal.from_catalog(catalog, name)
    acme = portal.asset_finder.lookup_symbol("ACME")
    raw = pd.Series(ACME_CLOSES, index=pd.DatetimeIndex(ACME_DAYS))
    events = [(pd.Timestamp(day), ratio) for _, day, ratio, _ in expected]
    for end in raw.index[1:]:
        window = raw.loc[:end]
        want = window.copy()
        for day, ratio in events:  # as known on `end`: every action up to it scales the bars before it
            if day <= end:
                want[window.index < day] *= ratio
        got = portal.get_history_window([acme], end, len(window), "1d", "close")[acme]
        np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, err_msg=str(end))


@pytest.fixture
def acme():
    """The ACME scenario: ``acme.check(catalog, bundle)``, ``acme.expected()``, ``acme.days`` / ``closes``."""
    import types

    return types.SimpleNamespace(
        check=check_acme_bundle,
        expected=acme_expected_adjustments,
        days=ACME_DAYS,
        closes=ACME_CLOSES,
        splits=ACME_SPLITS,
        dividends=ACME_DIVIDENDS,
    )


@pytest.fixture
def timed_calls():
    """``timed(calls, threads=1)``: seconds to run ``calls`` (callables) spread over ``threads`` threads; the
    rate-limit tests check that an adapter's limiter spaced them, across separate calls and threads."""
    import threading
    import time

    def timed(calls, threads: int = 1) -> float:
        chunks = [calls[i::threads] for i in range(threads)]
        started = time.monotonic()
        workers = [threading.Thread(target=lambda c=c: [f() for f in c]) for c in chunks]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return time.monotonic() - started

    return timed
