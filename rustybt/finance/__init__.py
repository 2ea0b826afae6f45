"""Orders, fills and bookkeeping of a backtest, with zipline-reloaded's names: ``slippage`` and ``commission``
models, the blotter, the ledger, positions and trading controls."""

from rustybt.finance import commission, execution, slippage
from rustybt.finance.blotter import Blotter, EODCancel, NeverCancel
from rustybt.finance.ledger import Account, Ledger, Portfolio
from rustybt.finance.order import ORDER_STATUS, Order, Transaction
from rustybt.finance.position import Position

__all__ = [
    "ORDER_STATUS",
    "Account",
    "Blotter",
    "EODCancel",
    "Ledger",
    "NeverCancel",
    "Order",
    "Portfolio",
    "Position",
    "Transaction",
    "commission",
    "execution",
    "slippage",
]
