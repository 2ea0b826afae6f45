"""The strategy layer: ``TradingAlgorithm``, ``run_algorithm``, ``BarData``, scheduling rules and results."""

from rustybt.algorithm.algorithm import AlgorithmContext, TradingAlgorithm
from rustybt.algorithm.bar_data import BarData
from rustybt.algorithm.events import date_rules, time_rules
from rustybt.algorithm.result import BacktestResult
from rustybt.algorithm.run import run_algorithm

__all__ = [
    "AlgorithmContext",
    "BacktestResult",
    "BarData",
    "TradingAlgorithm",
    "date_rules",
    "run_algorithm",
    "time_rules",
]
