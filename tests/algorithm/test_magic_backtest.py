"""``%%rustybt backtest`` in a real IPython shell: the cell's functions or subclass run on a catalog bundle."""

from __future__ import annotations

import pytest

pytest.importorskip("IPython")


@pytest.fixture
def ip(sample_catalog):
    from rustybt.testing import ipython_shell

    shell = ipython_shell()
    magics = shell.magics_manager.registry["RustyBTMagics"]
    magics.catalog_root = str(sample_catalog.root)
    before = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]
    magics.catalog_root = ""


def test_functions_cell(ip):
    ip.run_cell(
        "%%rustybt backtest --bundle sample --start 2013-01-02 --end 2013-02-28 --capital-base 50000 --out res\n"
        "from rustybt.api import order_target_percent, symbol\n"
        "def initialize(context):\n"
        "    context.a = symbol('KO')\n"
        "def handle_data(context, data):\n"
        "    order_target_percent(context.a, 0.5)\n"
    )
    res = ip.user_ns["res"]
    assert type(res).__name__ == "BacktestResult"
    assert res.perf["portfolio_value"].iloc[0] == 50_000 and len(res.transactions) >= 1


def test_subclass_cell_on_crypto(ip):
    result = ip.run_cell(
        "%%rustybt backtest --bundle sample_crypto --start 2024-02-01 --end 2024-02-02\n"
        "from rustybt.algorithm import TradingAlgorithm\n"
        "class Half(TradingAlgorithm):\n"
        "    def initialize(self, context):\n"
        "        self.btc = self.symbol('BTC/USDT')\n"
        "    def handle_data(self, context, data):\n"
        "        self.order_target_percent(self.btc, 0.5)\n"
    ).result
    assert len(result.perf) == 2 and result.algo.data_frequency == "1h"


def test_cell_without_algorithm_is_a_usage_error(ip):
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="neither a TradingAlgorithm subclass nor an initialize"):
        ip.run_cell("%%rustybt backtest --bundle sample --start 2013-01-02 --end 2013-01-04\nx = 1\n")
