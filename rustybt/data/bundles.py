"""Bundles fed by vendor adapters, in two calls: register what to fetch once, then ingest (and ingest again).

    >>> from rustybt.data import bundles                                                  # doctest: +SKIP
    >>> from rustybt.data.adapters import CCXTAdapter                                     # doctest: +SKIP
    >>> bundles.register("crypto-1h", CCXTAdapter("binance"), ["BTC/USDT", "ETH/USDT"],
    ...                  start_date="2022-01-01", end_date=None, resolution="1h")          # doctest: +SKIP
    >>> bundles.ingest("crypto-1h")   # the first time: the whole range                   # doctest: +SKIP
    >>> bundles.ingest("crypto-1h")   # later: only the bars after the stored ones        # doctest: +SKIP

A thin layer over :meth:`Catalog.register <rustybt.data.catalog.Catalog.register>` and
:meth:`Catalog.ingest <rustybt.data.catalog.Catalog.ingest>` with defaults for vendor data:

* calendar ``24/7`` and :meth:`ValidationConfig.crypto <rustybt.data.validation.ValidationConfig.crypto>` for
  crypto adapters, ``XNYS`` otherwise;
* partial success (``strict=False``): a symbol that fails is reported in ``Ingestion.failures`` and the others
  are kept; ``strict=True`` aborts with nothing changed;
* incremental updates: ``ingest`` appends, and for each stored symbol fetches only from its last stored bar minus
  ``overlap`` bars (revised or then still forming bars are fetched again; the new values win).

The bundle records the adapter's name and its :meth:`~rustybt.data.adapters.BarAdapter.to_config` parameters,
never credentials, so a later ``ingest`` (also in another process, or ``rustybt ingest`` on the command line)
rebuilds the adapter. Within the process that registered the bundle, ``ingest`` reuses the adapter object
you passed (its loaded markets, its settings) as long as its parameters still match the registration.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import pandas as pd

from rustybt.data.adapters.base import BarAdapter
from rustybt.data.catalog import Catalog, Ingestion
from rustybt.data.catalog.metadata import BundleRecord
from rustybt.data.validation import ValidationConfig

__all__ = ["ingest", "register"]

log = logging.getLogger(__name__)

# (catalog root, bundle) -> the adapter object given to register in this process
_LIVE_ADAPTERS: dict[tuple[str, str], BarAdapter] = {}


def register(
    bundle_name: str,
    adapter: BarAdapter,
    symbols: Sequence[str] | str | None,
    start_date: str | pd.Timestamp | None,
    end_date: str | pd.Timestamp | None,
    resolution: str = "1d",
    calendar: str | None = None,
    catalog: Catalog | None = None,
    strict: bool = False,
    overlap: int = 1,
    **kwargs: Any,
) -> BundleRecord:
    """Register bundle ``bundle_name``: ``symbols`` from ``adapter`` between ``start_date`` and ``end_date``.

    Parameters
    ----------
    bundle_name
        Letters, digits, ``_``, ``-``, ``.``.
    adapter
        The data source; its name and secret-free parameters are stored with the bundle.
    symbols
        What to fetch (None: everything the adapter offers by itself, e.g. a folder of CSV files).
    start_date, end_date
        The range; naive values are UTC. ``end_date=None``: up to the time of each ingest (open-ended, the
        natural choice for incremental updates).
    resolution
        Bar resolution: ``1m 5m 15m 30m 1h 2h 4h 1d 1w 1M`` (those the adapter serves).
    calendar
        ``exchange_calendars`` name; default the adapter's ``default_calendar``, else ``24/7`` for crypto
        adapters and ``XNYS`` for the others.
    catalog
        The catalog (default: ``Catalog()`` at ``RUSTYBT_DATA_DIR``).
    strict
        False: a symbol that fails to load is left out and reported; True: it fails the whole ingest.
    overlap
        Bars fetched again before the last stored one on each incremental update (0: only the last one).
    **kwargs
        Passed to :meth:`Catalog.register` (``validation``, ``exchange``, ``overwrite``). For crypto adapters a
        ``validation`` mode string (``"lenient"``) selects :meth:`ValidationConfig.crypto` in that mode.

    Returns
    -------
    BundleRecord
        The stored registration.
    """
    catalog = catalog if catalog is not None else Catalog()
    crypto = _is_crypto(adapter)
    if calendar is None:
        calendar = getattr(adapter, "default_calendar", None) or ("24/7" if crypto else "XNYS")
    validation = kwargs.pop("validation", None)
    if crypto and (validation is None or isinstance(validation, str)):
        validation = ValidationConfig.crypto(**({"mode": validation} if validation else {}))
    if validation is not None:
        kwargs["validation"] = validation
    if "exchange" not in kwargs and getattr(adapter, "exchange_id", None):
        kwargs["exchange"] = adapter.exchange_id  # type: ignore[attr-defined]
    if isinstance(symbols, str):
        symbols = [symbols]
    record = catalog.register(
        bundle_name,
        adapter,
        calendar=calendar,
        resolution=resolution,
        symbols=symbols,
        start_date=start_date,
        end_date=end_date,
        strict=strict,
        overlap=overlap,
        **kwargs,
    )
    _LIVE_ADAPTERS[_key(catalog, bundle_name)] = adapter
    return record


def ingest(
    bundle_name: str,
    catalog: Catalog | None = None,
    n_workers: int | None = None,
    strict: bool | None = None,
    mode: str = "append",
    **kwargs: Any,
) -> Ingestion:
    """Ingest bundle ``bundle_name``; returns the new live :class:`~rustybt.data.catalog.Ingestion`.

    Parameters
    ----------
    catalog
        The catalog holding the bundle (default: ``Catalog()``).
    n_workers
        Symbols fetched at once (default: up to 8).
    strict
        Override the registration's ``strict`` for this run.
    mode
        ``"append"`` (default): keep the stored bars and fetch only what is new (incremental update);
        ``"replace"``: fetch the whole range and store exactly that.
    **kwargs
        Passed to :meth:`Catalog.ingest` (``progress``, ``validation``, ``symbols``, ``start_date``,
        ``end_date``, ``adapter``). An explicit ``start_date`` re-fetches from there.

    The ingest is atomic: on any failure the previous ingestion stays live. Symbols that failed (with
    ``strict=False``) are in ``Ingestion.failures`` with their error messages.
    """
    catalog = catalog if catalog is not None else Catalog()
    if kwargs.get("adapter") is None:
        kwargs["adapter"] = _live_adapter(catalog, bundle_name)
    return catalog.ingest(bundle_name, mode=mode, n_workers=n_workers, strict=strict, **kwargs)


def _is_crypto(adapter: BarAdapter) -> bool:
    return str(getattr(adapter, "asset_class", "")).startswith("crypto")


def _key(catalog: Catalog, bundle_name: str) -> tuple[str, str]:
    return (str(catalog.root.resolve()), bundle_name)


def _live_adapter(catalog: Catalog, bundle_name: str) -> BarAdapter | None:
    """The adapter registered in this process, if the stored registration still describes it."""
    adapter = _LIVE_ADAPTERS.get(_key(catalog, bundle_name))
    if adapter is None:
        return None
    record = catalog.store.get_bundle(bundle_name)
    if adapter.name == record.adapter and json.loads(json.dumps(adapter.to_config())) == record.adapter_params:
        return adapter
    log.info("bundle %r was registered again with another adapter; rebuilding it from the registration", bundle_name)
    del _LIVE_ADAPTERS[_key(catalog, bundle_name)]
    return None
