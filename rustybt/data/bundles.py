"""The reference documentation's spellings of the catalog's front door: ``register`` and ``ingest`` by bundle name.

    >>> from rustybt.data import bundles                                                  # doctest: +SKIP
    >>> from rustybt.data.adapters import CCXTAdapter                                     # doctest: +SKIP
    >>> bundles.register(bundle_name="crypto-1h", adapter=CCXTAdapter("binance"),
    ...                  symbols=["BTC/USDT", "ETH/USDT"], start_date="2022-01-01",
    ...                  end_date=None, resolution="1h")                                  # doctest: +SKIP
    >>> bundles.ingest("crypto-1h")   # the first time: the whole range                   # doctest: +SKIP
    >>> bundles.ingest("crypto-1h")   # later: only the bars after the stored ones        # doctest: +SKIP

Both are thin entry points into :meth:`Catalog.register <rustybt.data.catalog.Catalog.register>` and
:meth:`Catalog.ingest <rustybt.data.catalog.Catalog.ingest>`: one implementation, one set of defaults (strict:
a symbol that fails to load fails the ingest and changes nothing; ``strict=False`` keeps the others and reports
it; incremental updates with ``overlap=1`` for adapters that fetch from a date per symbol; the calendar and
validation preset of the adapter's market). See docs/catalog.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from rustybt.data.adapters.base import BarAdapter
from rustybt.data.catalog import Catalog, Ingestion
from rustybt.data.catalog.catalog import _LIVE_ADAPTERS  # noqa: F401  (tests forget live adapters through here)
from rustybt.data.catalog.metadata import BundleRecord
from rustybt.errors import InvalidArgument

__all__ = ["ingest", "register"]


def register(
    bundle_name: str,
    adapter: BarAdapter,
    symbols: Sequence[str] | str | None = None,
    start_date: str | pd.Timestamp | None = None,
    end_date: str | pd.Timestamp | None = None,
    resolution: str | None = None,
    calendar: str | None = None,
    catalog: Catalog | None = None,
    *,
    calendar_name: str | None = None,
    **kwargs: Any,
) -> BundleRecord:
    """Register bundle ``bundle_name``: ``symbols`` from ``adapter`` between ``start_date`` and ``end_date``.

    ``Catalog.register(bundle_name, adapter, symbols=..., ...)`` by another spelling; every default is the
    catalog's.

    Parameters
    ----------
    bundle_name
        Letters, digits, ``_``, ``-``, ``.``.
    adapter, symbols, start_date, end_date, resolution, calendar
        As in :meth:`Catalog.register`. ``end_date=None`` is open-ended: up to the time of each ingest.
    catalog
        The catalog (default: ``Catalog()`` at ``RUSTYBT_DATA_DIR``).
    calendar_name
        zipline's spelling of ``calendar``.
    **kwargs
        The other keywords of :meth:`Catalog.register`: ``strict`` (default True), ``overlap`` (default 1),
        ``validation``, ``exchange``, ``overwrite``.

    Returns
    -------
    BundleRecord
        The stored registration.
    """
    if calendar_name is not None:
        if calendar is not None and calendar != calendar_name:
            raise InvalidArgument(f"calendar={calendar!r} and calendar_name={calendar_name!r} disagree; give one")
        calendar = calendar_name
    catalog = catalog if catalog is not None else Catalog()
    return catalog.register(
        bundle_name,
        adapter,
        symbols=symbols,
        start_date=start_date,
        end_date=end_date,
        resolution=resolution,
        calendar=calendar,
        **kwargs,
    )


def ingest(
    bundle_name: str,
    catalog: Catalog | None = None,
    n_workers: int | None = None,
    strict: bool | None = None,
    mode: str | None = None,
    *,
    show_progress: bool | None = None,
    **kwargs: Any,
) -> Ingestion:
    """Ingest bundle ``bundle_name``; returns the new live :class:`~rustybt.data.catalog.Ingestion`.

    ``Catalog.ingest(bundle_name, mode, n_workers=..., strict=..., ...)`` by another spelling; every default is
    the catalog's: an incremental update (append from each stored symbol's last bar minus ``overlap``) for
    adapters that fetch from a date per symbol, a whole re-read (replace) otherwise.

    Parameters
    ----------
    catalog
        The catalog holding the bundle (default: ``Catalog()``).
    n_workers, strict, mode
        As in :meth:`Catalog.ingest`.
    show_progress
        zipline's spelling of ``progress``.
    **kwargs
        The other keywords of :meth:`Catalog.ingest`: ``progress``, ``validation``, ``symbols``, ``start_date``,
        ``end_date``, ``adapter``.

    The ingest is atomic: on any failure the previous ingestion stays live.
    """
    if show_progress is not None:
        kwargs["progress"] = show_progress
    catalog = catalog if catalog is not None else Catalog()
    return catalog.ingest(bundle_name, mode, n_workers=n_workers, strict=strict, **kwargs)
