"""Shared checks of the adapter tests."""

from __future__ import annotations

import logging

import pytest

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
