"""The sample data set shipped with RustyBT (see ``data/README.md``) and helpers to ingest it.

Bundles: ``sample`` (30 US equities, daily, XNYS, 2012-2014, with splits and dividends), ``sample_crypto``
(BTC-USDT and ETH-USDT hourly bars, 24/7, 2024 Q1) and ``sample_futures`` (the synthetic ``XF`` futures family:
six contracts, daily, XNYS, 2014-01-02 .. 2014-08-15, with contract metadata for continuous futures).
"""

from __future__ import annotations

import os
from pathlib import Path

from rustybt.data.catalog import Catalog, Ingestion

__all__ = ["SAMPLE_BUNDLES", "ingest_sample", "register_sample", "sample_data_dir"]

SAMPLE_BUNDLES = ("sample", "sample_crypto", "sample_futures")


def sample_data_dir() -> Path:
    """Directory of the shipped sample data (``RUSTYBT_SAMPLE_DIR`` overrides it)."""
    env = os.environ.get("RUSTYBT_SAMPLE_DIR")
    if env:
        return Path(env)
    packaged = Path(__file__).parent / "sample_data"  # wheel installs carry it here
    if packaged.exists():
        return packaged
    return Path(__file__).resolve().parents[1] / "data" / "sample"  # source checkout / editable install


def register_sample(catalog: Catalog, overwrite: bool = True) -> list[str]:
    """Register the sample bundles in ``catalog``; returns their names."""
    from rustybt.data.adapters.csv import CSVAdapter
    from rustybt.data.adapters.futures_csv import FuturesCSVAdapter

    root = sample_data_dir()
    catalog.register(
        "sample",
        adapter=CSVAdapter.from_csvdir(root / "equities"),
        calendar="XNYS",
        validation="lenient",
        exchange="NYSE",
        overwrite=overwrite,
    )
    catalog.register(
        "sample_crypto",
        adapter=CSVAdapter(root / "crypto" / "1h", resolution="1h", asset_class="crypto_spot"),
        calendar="24/7",
        validation="lenient",
        exchange="SAMPLE",
        overwrite=overwrite,
    )
    catalog.register(
        "sample_futures",
        adapter=FuturesCSVAdapter(root / "futures"),
        calendar="XNYS",
        validation="strict",
        exchange="SAMPLE",
        overwrite=overwrite,
    )
    return list(SAMPLE_BUNDLES)


def ingest_sample(catalog: Catalog, *, progress: bool = True) -> dict[str, Ingestion]:
    """Register (if needed) and ingest every sample bundle; returns the new ingestions by bundle."""
    register_sample(catalog)
    return {name: catalog.ingest(name, progress=progress) for name in SAMPLE_BUNDLES}
