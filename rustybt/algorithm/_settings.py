"""What ``initialize`` configures: slippage and commission models, cancel policy, trading controls, the
benchmark, scheduled functions, and ``record``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rustybt.algorithm.events import DateRule, ScheduledFunction, TimeRule, date_rules, time_rules
from rustybt.errors import InvalidArgument
from rustybt.finance.commission import CommissionModel
from rustybt.finance.controls import LongOnly, MaxLeverage, MaxOrderCount, MaxOrderSize, MaxPositionSize
from rustybt.finance.slippage import SlippageModel

__all__ = ["SettingsMixin"]

_EQUITY_LIKE = ("equity", "crypto_spot", "crypto_perpetual", "forex", "option", "asset")


class SettingsMixin:
    """zipline's set-up methods (models, controls, benchmark, schedule) and ``record``."""

    def set_slippage(self, us_equities: SlippageModel | None = None, us_futures: SlippageModel | None = None) -> None:
        """Set the slippage models; the equity model also applies to crypto and forex (one model per bundle class)."""
        self._set_models("set_slippage", SlippageModel, self.blotter.slippage_models, us_equities, us_futures)

    def set_commission(
        self, us_equities: CommissionModel | None = None, us_futures: CommissionModel | None = None
    ) -> None:
        """Set the commission models; the equity model also applies to crypto and forex."""
        self._set_models("set_commission", CommissionModel, self.blotter.commission_models, us_equities, us_futures)

    def _set_models(self, caller: str, kind: type, models: dict, us_equities: Any, us_futures: Any) -> None:
        """Check ``caller``'s models (of class ``kind``, in initialize only) and file them by asset class."""
        if self._initialized:
            raise InvalidArgument(f"{caller} can only be called in initialize()")
        for model in (us_equities, us_futures):
            if model is not None and not isinstance(model, kind):
                raise InvalidArgument(f"{caller} needs a {kind.__name__}, got {model!r}")
        if us_equities is not None:
            for cls in _EQUITY_LIKE:
                models[cls] = us_equities
        if us_futures is not None:
            models["future"] = us_futures

    def set_cancel_policy(self, cancel_policy) -> None:
        """``EODCancel()`` or ``NeverCancel()`` (the default)."""
        self.blotter.cancel_policy = cancel_policy

    def set_long_only(self, on_error: str = "fail") -> None:
        self._controls.append(LongOnly(on_error))

    def set_max_position_size(self, asset=None, max_shares=None, max_notional=None, on_error: str = "fail") -> None:
        self._controls.append(MaxPositionSize(asset and self._resolve(asset), max_shares, max_notional, on_error))

    def set_max_order_size(self, asset=None, max_shares=None, max_notional=None, on_error: str = "fail") -> None:
        self._controls.append(MaxOrderSize(asset and self._resolve(asset), max_shares, max_notional, on_error))

    def set_max_order_count(self, max_count: int, on_error: str = "fail") -> None:
        self._controls.append(MaxOrderCount(max_count, on_error))

    def set_max_leverage(self, max_leverage: float) -> None:
        self._account_controls.append(MaxLeverage(max_leverage))

    def set_benchmark(self, benchmark) -> None:
        """Use the daily returns of ``benchmark`` (an asset or symbol) for the benchmark columns."""
        self._benchmark_asset = self._resolve(benchmark)

    # --- record / schedule --------------------------------------------------------------------------------------
    def record(self, *args: Any, **kwargs: Any) -> None:
        """Record values under names, as columns of the perf frame (a value stays until recorded again)."""
        if len(args) % 2:
            raise InvalidArgument("record() takes name, value pairs or keyword arguments")
        for name, value in zip(args[::2], args[1::2], strict=True):
            self._recorded[name] = value
        self._recorded.update(kwargs)

    def schedule_function(
        self,
        func: Callable,
        date_rule: DateRule | None = None,
        time_rule: TimeRule | None = None,
        half_days: bool = True,
        calendar: Any = None,
    ) -> None:
        """Run ``func(context, data)`` on the sessions of ``date_rule`` at the bar of ``time_rule``."""
        if not callable(func):
            raise InvalidArgument(f"schedule_function needs a callable, got {func!r}")
        date_rule = date_rule or date_rules.every_day()
        time_rule = time_rule or time_rules.every_minute()
        if not isinstance(date_rule, DateRule) or not isinstance(time_rule, TimeRule):
            raise InvalidArgument("schedule_function takes a date_rules.* rule and a time_rules.* rule")
        self.event_manager.add(ScheduledFunction(func, date_rule, time_rule))
        if self._initialized:
            self._prepare_events()
