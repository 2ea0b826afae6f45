"""The adapter registry and the settings dataclasses: names to classes, former parameter names, layering."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import rustybt.data.adapters as adapters_package
from rustybt.data.adapters import registry
from rustybt.data.adapters.ccxt import CCXTAdapter, CCXTSettings
from rustybt.data.adapters.polygon import PolygonAdapter
from rustybt.data.adapters.registry import adapter_class
from rustybt.data.adapters.settings import NetworkSettings
from rustybt.errors import AdapterError, InvalidArgument

PACKAGE = Path(adapters_package.__file__).parent


def test_every_built_in_name_resolves_to_its_class():
    for name, (module, cls_name) in registry.ADAPTER_MODULES.items():
        cls = registry.adapter_class(name)
        assert cls.__module__ == module or cls.__module__.startswith(module + ".")  # csv: its package's adapter
        assert cls.__name__ == cls_name and cls.name == name


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(AdapterError, match=r"unknown adapter 'nope'; known: .*ccxt.*zipline-bundle"):
        registry.adapter_class("nope")


def test_the_adapters_package_imports_nothing_above_it():
    above = (
        "rustybt.data.legacy",
        "rustybt.data.catalog",
        "rustybt.data.readers",
        "rustybt.pipeline",
        "rustybt.notebook",
    )
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if n.startswith(above)]
    assert offenders == []


def test_a_fresh_process_rebuilds_a_migrated_bundles_adapter_by_name():
    code = (
        "import sys\n"
        "from rustybt.data.adapters.base import adapter_class\n"
        "print('rustybt.data.legacy.adapter' in sys.modules, adapter_class('zipline-bundle').__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "ZiplineBundleAdapter"]  # imported when asked for, not before


def test_settings_refuse_unknown_and_doubled_parameters():
    with pytest.raises(InvalidArgument, match=r"polygon: unknown parameter 'pagesize'; known: .*page_size"):
        PolygonAdapter(pagesize=10)
    with pytest.raises(InvalidArgument, match=r"pass page_size= only \(limit= is its former name\)"):
        PolygonAdapter(limit=10, page_size=10)


def test_former_names_of_a_stored_bundle_still_load():
    stored = {"exchange_id": "binance", "market_type": "swap", "limit": 500, "timeout_ms": 2500, "max_retries": 2}
    adapter = CCXTAdapter.from_config(stored)
    assert adapter.settings == CCXTSettings(market_type="swap", page_size=500, timeout=2.5, max_retries=2)
    assert adapter.exchange.timeout == 2500  # ccxt counts milliseconds
    params = adapter.to_config()
    assert json.loads(json.dumps(params)) == params and "limit" not in params and params["page_size"] == 500


def test_one_name_means_one_thing_across_adapters():
    from rustybt.data.adapters.alpaca import AlpacaSettings
    from rustybt.data.adapters.alphavantage import AlphaVantageSettings
    from rustybt.data.adapters.polygon import PolygonSettings
    from rustybt.data.adapters.yfinance import YFinanceSettings

    classes = [CCXTSettings, YFinanceSettings, PolygonSettings, AlpacaSettings, AlphaVantageSettings]
    base = set(NetworkSettings.__dataclass_fields__)
    for cls in classes:
        assert issubclass(cls, NetworkSettings) and base <= set(cls.__dataclass_fields__)
        assert cls.__dataclass_params__.frozen
    paged = [cls for cls in classes if "page_size" in cls.__dataclass_fields__]
    assert paged == [CCXTSettings, PolygonSettings, AlpacaSettings]
    assert not any("limit" in cls.__dataclass_fields__ or "timeout_ms" in cls.__dataclass_fields__ for cls in classes)


@pytest.mark.parametrize("name", ["polygon", "alphavantage", "alpaca", "yfinance", "ccxt"])
def test_register_without_a_resolution_stores_daily_bars(catalog, name):
    # issue 17: the first resolution of Polygon and Alpha Vantage is 1m; the default is 1d for every adapter
    adapter = adapter_class(name)()
    catalog.register(f"b_{name}", adapter, symbols=["X"], start_date="2024-01-02", end_date="2024-01-05")
    assert catalog.store.get_bundle(f"b_{name}").resolution == "1d"
