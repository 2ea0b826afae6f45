"""zipline's free functions (``from rustybt.api import order_target_percent, symbol, ...``), dispatching to the
algorithm that is running. Calling one outside a backtest raises :class:`~rustybt.errors.RustyBTError`."""

from __future__ import annotations

from typing import Any

from rustybt.algorithm.events import date_rules, time_rules
from rustybt.errors import RustyBTError
from rustybt.finance import commission, execution, slippage
from rustybt.finance.cancel_policy import EODCancel, NeverCancel
from rustybt.finance.execution import LimitOrder, MarketOrder, StopLimitOrder, StopOrder

__all__ = [
    "EODCancel",
    "LimitOrder",
    "MarketOrder",
    "NeverCancel",
    "StopLimitOrder",
    "StopOrder",
    "attach_pipeline",
    "cancel_order",
    "commission",
    "continuous_future",
    "date_rules",
    "execution",
    "get_datetime",
    "get_open_orders",
    "get_order",
    "order",
    "order_percent",
    "order_target",
    "order_target_percent",
    "order_target_value",
    "order_value",
    "pipeline_output",
    "record",
    "schedule_function",
    "set_benchmark",
    "set_cancel_policy",
    "set_commission",
    "set_long_only",
    "set_max_leverage",
    "set_max_order_count",
    "set_max_order_size",
    "set_max_position_size",
    "set_slippage",
    "sid",
    "slippage",
    "symbol",
    "symbols",
    "time_rules",
]

_running: list = []


def _push(algo) -> int:
    _running.append(algo)
    return len(_running)


def _pop(token: int) -> None:
    del _running[token - 1 :]


def _algo():
    if not _running:
        raise RustyBTError(
            "rustybt.api functions work only inside a running backtest (run_algorithm or TradingAlgorithm.run)"
        )
    return _running[-1]


def _dispatch(name: str):
    def f(*args: Any, **kwargs: Any):
        return getattr(_algo(), name)(*args, **kwargs)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"zipline's ``{name}``: see :meth:`rustybt.algorithm.TradingAlgorithm.{name}`."
    return f


order = _dispatch("order")
order_value = _dispatch("order_value")
order_percent = _dispatch("order_percent")
order_target = _dispatch("order_target")
order_target_value = _dispatch("order_target_value")
order_target_percent = _dispatch("order_target_percent")
symbol = _dispatch("symbol")
symbols = _dispatch("symbols")
continuous_future = _dispatch("continuous_future")
sid = _dispatch("sid")
record = _dispatch("record")
schedule_function = _dispatch("schedule_function")
attach_pipeline = _dispatch("attach_pipeline")
pipeline_output = _dispatch("pipeline_output")
set_slippage = _dispatch("set_slippage")
set_commission = _dispatch("set_commission")
set_cancel_policy = _dispatch("set_cancel_policy")
get_datetime = _dispatch("get_datetime")
get_open_orders = _dispatch("get_open_orders")
get_order = _dispatch("get_order")
cancel_order = _dispatch("cancel_order")
set_long_only = _dispatch("set_long_only")
set_max_leverage = _dispatch("set_max_leverage")
set_max_position_size = _dispatch("set_max_position_size")
set_max_order_size = _dispatch("set_max_order_size")
set_max_order_count = _dispatch("set_max_order_count")
set_benchmark = _dispatch("set_benchmark")
