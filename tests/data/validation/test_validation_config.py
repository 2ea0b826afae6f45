"""ValidationConfig: the stocks and crypto presets (against real moves) and invalid settings."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from _validation_bars import (
    NOW,
    bars,
    good,
    only,
    run,
)

from rustybt.data.validation import (
    ValidationConfig,
    validate_bars,
)
from rustybt.errors import ConfigError

# --- presets ---------------------------------------------------------------------------------------------


def test_stocks_preset_flags_an_unadjusted_two_for_one_split_on_an_up_day():
    # 2:1 split while the stock rose 10%: close goes 100 -> 55, a -45% move
    frame = bars([good("2014-07-01", close=100.0), good("2014-07-02", close=55.0)])
    _, default_report = run(frame, ValidationConfig(volume_spike_factor=None))
    _, stocks_report = run(frame, ValidationConfig.stocks(volume_spike_factor=None))
    assert len(default_report) == 0
    assert stocks_report.counts() == {"price_jump": 1}


def test_crypto_preset_uses_the_24_7_calendar():
    config = ValidationConfig.crypto()
    assert config.calendar == "24/7"
    assert config.max_abs_return == 0.75
    # Saturday 2014-07-05 is a normal day for crypto; Sunday 07-06 missing is a gap
    frame = bars([good(d, "BTC/USDT") for d in ("2014-07-04", "2014-07-05", "2014-07-07")])
    _, report = validate_bars(frame, config=config, now=NOW)
    assert report.counts() == {"calendar_gap": 1}
    assert only(report, "calendar_gap").timestamp == datetime(2014, 7, 6, tzinfo=UTC)


def test_crypto_preset_tolerates_moves_that_stocks_flag():
    frame = bars([good("2014-07-01", "ETH/USDT", close=100.0), good("2014-07-02", "ETH/USDT", close=160.0)])
    _, crypto = validate_bars(frame, config=ValidationConfig.crypto(), now=NOW)
    _, stocks = validate_bars(frame, config=ValidationConfig.stocks(), now=NOW)
    assert len(crypto) == 0
    assert stocks.counts() == {"price_jump": 1}


def test_preset_overrides():
    assert ValidationConfig.crypto(mode="lenient").mode == "lenient"
    assert ValidationConfig.stocks(max_abs_return=None).max_abs_return is None


def test_invalid_config_raises():
    with pytest.raises(ConfigError, match="mode"):
        ValidationConfig(mode="loose")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_abs_return"):
        ValidationConfig(max_abs_return=-1)
