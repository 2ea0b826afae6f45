"""``rustybt run algo.py`` and the source runner behind it (and behind ``%%rustybt backtest``)."""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest

from rustybt import errors

FUNCTIONS = textwrap.dedent(
    """
    from rustybt.api import order_target_percent, symbol

    def initialize(context):
        context.a = symbol("AAPL")

    def handle_data(context, data):
        order_target_percent(context.a, 0.5)
    """
)

SUBCLASS = textwrap.dedent(
    """
    from rustybt.algorithm import TradingAlgorithm

    class Half(TradingAlgorithm):
        def initialize(self, context):
            self.btc = self.symbol("BTC/USDT")

        def handle_data(self, context, data):
            self.order_target_percent(self.btc, 0.5)
    """
)


def test_cli_run_writes_perf(sample_catalog, tmp_path, capsys):
    from rustybt.cli import main

    algo = tmp_path / "algo.py"
    algo.write_text(FUNCTIONS)
    out = tmp_path / "perf.parquet"
    code = main(
        [
            "--root",
            str(sample_catalog.root),
            "run",
            str(algo),
            "--bundle",
            "sample",
            "--start",
            "2013-01-02",
            "--end",
            "2013-03-28",
            "--capital-base",
            "50000",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    perf = pd.read_parquet(out)
    assert len(perf) == 60 and perf["portfolio_value"].iloc[0] == 50_000
    assert "BacktestResult(2013-01-02..2013-03-28" in capsys.readouterr().out


def test_subclass_source_on_crypto(sample_catalog):
    from rustybt.algorithm.script import run_source

    result = run_source(SUBCLASS, bundle="sample_crypto", start="2024-02-01", end="2024-02-02", catalog=sample_catalog)
    assert len(result.perf) == 2 and result.algo.data_frequency == "1h"
    assert result.transactions["amount"].iloc[0] > 0


def test_errors_name_the_file_and_line(sample_catalog, tmp_path):
    from rustybt.algorithm.script import run_file

    algo = tmp_path / "broken.py"
    algo.write_text("def initialize(context):\n    pass\n\ndef handle_data(context, data):\n    1 / 0\n")
    with pytest.raises(errors.AlgorithmError, match=r"ZeroDivisionError.*broken.py:5 in handle_data"):
        run_file(algo, bundle="sample", start="2013-01-02", end="2013-01-04", catalog=sample_catalog)
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(errors.InvalidArgument, match="neither a TradingAlgorithm subclass nor an initialize"):
        run_file(empty, bundle="sample", start="2013-01-02", end="2013-01-04", catalog=sample_catalog)
