"""``ZiplineBundleAdapter``: a zipline ingestion (bcolz) or HDF5 daily file served as a RustyBT data source.

It emits the adapter frame form (``timestamp, symbol, open, high, low, close, volume``) so the catalog ingests a
zipline bundle like any other source: symbols come from the asset DB, prices are exact decimals (zipline's
``uint32 / 1000`` has exactly three decimals, so they become ``Decimal(38, 3)``), a stored 0 is no bar and gives
no row, and :meth:`ZiplineBundleAdapter.adjustments` carries zipline's own split, merger and dividend ratios.

Layering: this module depends only on the adapter contract (:mod:`rustybt.data.adapters.base`), the legacy
readers, the schema and the errors. The adapters package never imports it: the catalog registers the name
``zipline-bundle`` with :func:`~rustybt.data.adapters.registry.register_adapter_module`, and the class registers
itself when the module is first imported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd
import polars as pl

from rustybt.data.adapters.base import ADJUSTMENT_SCHEMA, AdapterMetadata, BarAdapter, SymbolBars
from rustybt.data.legacy._base import decimal_scale
from rustybt.data.legacy.bcolz_reader import BcolzDailyBarReader, BcolzMinuteBarReader
from rustybt.data.legacy.hdf5_reader import HDF5DailyBarReader
from rustybt.data.legacy.source import ZiplineSource, locate_source, normalize_frequency
from rustybt.data.legacy.zipline_db import (
    ZiplineAdjustments,
    ZiplineAsset,
    empty_adjustments,
    read_adjustments,
    read_asset_db,
)
from rustybt.data.schema import TIMESTAMP_DTYPE, VALUE_COLUMNS, decimal_dtype
from rustybt.errors import SymbolNotFound

__all__ = ["ZiplineBundleAdapter", "raw_to_adapter_frame"]

log = logging.getLogger(__name__)

_PRICES = ("open", "high", "low", "close")


def _scaled(column: str, ratio: float) -> pl.Expr:
    """Stored integers of ``column`` as exact decimals (power-of-ten ratio) or Float64; 0 -> null for prices."""
    col = pl.col(column)
    scale = decimal_scale(ratio)
    if column == "volume" and ratio == 1:
        return col.cast(pl.Int64).alias(column)
    if scale is not None:
        value = col.cast(pl.Int64).cast(decimal_dtype(scale))
        if scale:
            value = value / pl.lit(Decimal(10**scale)).cast(decimal_dtype(0))
        value = value.cast(decimal_dtype(scale))
    else:
        value = col.cast(pl.Float64) / ratio
    if column in _PRICES:
        value = pl.when(col != 0).then(value)
    return value.alias(column)


def raw_to_adapter_frame(raw: pl.DataFrame, symbols: Mapping[int, str], ratios: Mapping[str, float]) -> pl.DataFrame:
    """Stored integers (``sid, day, open ... volume``) in the adapter frame form, the sids named by ``symbols``.

    Prices with a power-of-ten ratio become ``Decimal(38, log10(ratio))`` (exact), others Float64; volume with
    ratio 1 stays an integer (Int64). A price stored as 0 is null.
    """
    return raw.select(
        pl.col("day").cast(TIMESTAMP_DTYPE).alias("timestamp"),
        pl.col("sid").replace_strict(dict(symbols), return_dtype=pl.String).alias("symbol"),
        *[_scaled(c, ratios[c]) for c in VALUE_COLUMNS],
    )


class ZiplineBundleAdapter(BarAdapter):
    """Serve a zipline ingestion directory, bundle directory or HDF5 daily bar file as bars.

    Parameters
    ----------
    source
        A zipline ingestion directory (``~/.zipline/data/<bundle>/<timestamp>``), a bundle directory (its most
        recent ingestion is used) or an HDF5 daily bar file.
    frequency
        ``"daily"`` (``"1d"``) or ``"minute"`` (``"1m"``): which bar store of the ingestion to serve.
    assets_db, adjustments_db
        Explicit asset / adjustment databases (default: the ingestion's own, or the ones beside an HDF5 file).
    country_code
        Country group of an HDF5 file holding several.
    calendar
        Calendar of an HDF5 file (it does not record one); default XNYS. bcolz stores name their own.

    Examples
    --------
    >>> adapter = ZiplineBundleAdapter("~/.zipline/data/quandl")          # doctest: +SKIP
    >>> adapter.fetch_sync(["AAPL"], "2014-06-01", "2014-06-30")          # doctest: +SKIP
    """

    name: ClassVar[str] = "zipline-bundle"
    asset_class: ClassVar[str] = "equity"
    supported_resolutions: ClassVar[tuple[str, ...]] = ("1d", "1m")

    def __init__(
        self,
        source: str | Path,
        *,
        frequency: str = "daily",
        assets_db: str | Path | None = None,
        adjustments_db: str | Path | None = None,
        country_code: str | None = None,
        calendar: str | None = None,
    ) -> None:
        self._source_arg = str(Path(source).expanduser().absolute())  # stored in the catalog: re-ingests from anywhere
        self.frequency = normalize_frequency(frequency)
        self._assets_db_arg = str(Path(assets_db).expanduser().absolute()) if assets_db is not None else None
        self._adjustments_db_arg = (
            str(Path(adjustments_db).expanduser().absolute()) if adjustments_db is not None else None
        )
        self.country_code = country_code
        self._calendar_arg = calendar
        self.source: ZiplineSource = locate_source(
            source, self.frequency, assets_db=assets_db, adjustments_db=adjustments_db
        )
        self.supported_resolutions = ("1d",) if self.frequency == "daily" else ("1m",)  # type: ignore[misc]

    # --- what the source is ---------------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        return AdapterMetadata(source=f"zipline {self.source.kind} ({self.source.root})", delay="static files")

    @cached_property
    def reader(self) -> BcolzDailyBarReader | BcolzMinuteBarReader | HDF5DailyBarReader:
        """The bar reader over the source's bar store."""
        if self.source.kind == "hdf5":
            return HDF5DailyBarReader(self.source.bars, self.country_code, self._calendar_arg or "XNYS")
        if self.frequency == "minute":
            return BcolzMinuteBarReader(self.source.bars)
        return BcolzDailyBarReader(self.source.bars)

    @property
    def calendar_name(self) -> str:
        """The bars' trading calendar."""
        return self.reader.calendar_name

    @property
    def resolution(self) -> str:
        """``"1d"`` or ``"1m"``."""
        return self.supported_resolutions[0]

    @cached_property
    def assets(self) -> dict[int, ZiplineAsset]:
        """Asset records by zipline sid (empty when the source has no asset DB)."""
        if self.source.assets_db is None:
            return {}
        return read_asset_db(self.source.assets_db).assets

    @cached_property
    def zipline_adjustments(self) -> ZiplineAdjustments:
        """The source's adjustment tables (empty when it has none)."""
        if self.source.adjustments_db is None:
            return empty_adjustments()
        return read_adjustments(self.source.adjustments_db)

    @cached_property
    def symbol_of_sid(self) -> dict[int, str]:
        """The symbol each zipline sid with bars is served under (unique).

        A sid's symbol is the one it held last. When a symbol was reused (several sids held it last), the sid
        that held it most recently keeps it and the others become ``SYMBOL@sid``; sids missing from the asset
        DB are ``SID<sid>``.
        """
        sids = list(self.reader.sids)
        names: dict[int, str] = {}
        by_symbol: dict[str, list[int]] = {}
        unknown = []
        for sid in sids:
            asset = self.assets.get(sid)
            if asset is None:
                names[sid] = f"SID{sid}"
                unknown.append(sid)
                continue
            by_symbol.setdefault(asset.symbol.upper(), []).append(sid)
            names[sid] = asset.symbol
        if unknown and self.assets:
            log.warning("%d sid(s) with bars are not in the asset DB, named SID<sid>: %s", len(unknown), unknown[:10])
        for symbol, holders in by_symbol.items():
            if len(holders) < 2:
                continue
            latest = max(holders, key=lambda s: (_last_end(self.assets[s]), s))
            for sid in holders:
                if sid != latest:
                    names[sid] = f"{self.assets[sid].symbol}@{sid}"
            log.warning(
                "symbol %s is held last by sids %s; sid %d keeps it, the others get SYMBOL@sid", symbol, holders, latest
            )
        return names

    @cached_property
    def sid_of_symbol(self) -> dict[str, int]:
        """Inverse of :attr:`symbol_of_sid`."""
        return {sym: sid for sid, sym in self.symbol_of_sid.items()}

    def symbols(self) -> list[str]:
        """Symbols of every sid with bars, in sid order."""
        return [self.symbol_of_sid[s] for s in sorted(self.symbol_of_sid)]

    def ratios(self, sid: int) -> dict[str, float]:
        """Integer scaling factor of each field for ``sid``."""
        if isinstance(self.reader, BcolzMinuteBarReader):
            r = self.reader.ratio(sid)
            return {"open": r, "high": r, "low": r, "close": r, "volume": 1.0}
        return self.reader.scaling_factors

    def info(self, sid: int) -> dict[str, Any]:
        """Asset metadata of ``sid`` for :attr:`SymbolBars.info` (JSON-safe; dates as ISO strings)."""
        asset = self.assets.get(sid)
        info: dict[str, Any] = {"zipline_sid": int(sid), "calendar_name": self.calendar_name}
        if asset is None:
            info.update(asset_class=self.asset_class, exchange="", asset_name="")
            return info
        info.update(
            asset_class=asset.asset_class,
            exchange=asset.exchange,
            exchange_full=asset.exchange_full,
            asset_name=asset.asset_name,
            country_code=asset.country_code,
            first_traded=_iso(asset.first_traded),
            auto_close_date=_iso(asset.auto_close_date),
            symbol_history=[[s, _iso(a), _iso(b)] for s, a, b in asset.symbol_history],
        )
        if asset.asset_class == "future":
            info.update(
                root_symbol=asset.root_symbol,
                expiration_date=_iso(asset.expiration_date),
                first_notice_date=_iso(asset.notice_date),
                multiplier=asset.multiplier,
                tick_size=asset.tick_size,
            )
        return info

    # --- fetching ------------------------------------------------------------------------------------------
    def _frames(
        self, sids: Sequence[int], lo: pd.Timestamp | None, hi: pd.Timestamp | None
    ) -> Iterator[tuple[int, pl.DataFrame]]:
        """Adapter frames per sid (bars only, within ``lo..hi``); daily stores are converted in one pass."""

        def window(raw: pl.DataFrame) -> pl.DataFrame:
            if lo is not None:
                raw = raw.filter(pl.col("day") >= lo)
            if hi is not None:
                raw = raw.filter(pl.col("day") <= hi)
            return raw

        if isinstance(self.reader, BcolzMinuteBarReader):
            for sid in sids:
                raw = window(self.reader.raw_frame(sid))
                yield sid, raw_to_adapter_frame(raw, {sid: self.symbol_of_sid[sid]}, self.ratios(sid))
            return
        names = {sid: self.symbol_of_sid[sid] for sid in sids}
        frame = raw_to_adapter_frame(window(self.reader.raw_frame(sids)), names, self.reader.scaling_factors)
        parts = frame.partition_by("symbol", as_dict=True, maintain_order=True)
        for sid in sids:
            yield sid, parts.get((names[sid],), frame.clear())

    def iter_bars(
        self,
        symbols: Sequence[str] | None,
        start_date: pd.Timestamp | None,
        end_date: pd.Timestamp | None,
        resolution: str = "1d",
        n_workers: int = 1,
    ) -> Iterator[SymbolBars]:
        """One :class:`SymbolBars` per symbol, read from the bar store in one pass (``n_workers`` is unused)."""
        names = list(symbols) if symbols is not None else self.symbols()
        if resolution and resolution != self.resolution:
            log.warning("%s serves %s bars; %s was asked for", self.name, self.resolution, resolution)
        wanted: list[int] = []
        for sym in names:
            sid = self.sid_of_symbol.get(sym)
            if sid is None:
                close = [s for s in self.sid_of_symbol if s.upper() == str(sym).upper()]
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                yield SymbolBars(sym, error=SymbolNotFound(f"{sym!r} is not a symbol of {self.source.root}{hint}"))
            else:
                wanted.append(sid)
        lo, hi = _bounds(start_date, end_date, self.frequency)
        for sid, bars in self._frames(wanted, lo, hi):
            yield SymbolBars(self.symbol_of_sid[sid], bars=bars, source=str(self.source.bars), info=self.info(sid))

    def fetch_sync(
        self,
        symbols: Sequence[str],
        start_date: pd.Timestamp | str | None,
        end_date: pd.Timestamp | str | None,
        resolution: str = "1d",
    ) -> pl.DataFrame:
        """Bars of ``symbols`` in the adapter frame form (raises the first symbol's error)."""
        frames = []
        start = pd.Timestamp(start_date) if start_date is not None else None
        end = pd.Timestamp(end_date) if end_date is not None else None
        for item in self.iter_bars(list(symbols), start, end, resolution):
            if item.error is not None:
                raise item.error
            frames.append(item.bars)
        if not frames:
            return pl.DataFrame(schema={"timestamp": TIMESTAMP_DTYPE, "symbol": pl.String})
        return pl.concat(frames, how="diagonal_relaxed")

    def adjustments(self, symbols: Sequence[str] | None = None) -> pl.DataFrame:
        """zipline's splits, mergers and dividends in :data:`ADJUSTMENT_SCHEMA`, with zipline's own ratios.

        A dividend row joins ``dividends`` (the price ratio) and ``dividend_payouts`` (the cash amount) on
        sid and ex-date. Stock dividends have no place in the schema and are left out (logged).
        """
        adj = self.zipline_adjustments
        if adj.stock_dividend_payouts.height:
            log.warning(
                "%s: %d stock dividend(s) are not migrated (no stock-dividend kind in RustyBT yet)",
                adj.path,
                adj.stock_dividend_payouts.height,
            )
        payouts = adj.dividend_payouts.select("sid", pl.col("ex_date").alias("effective_date"), "amount").unique(
            ["sid", "effective_date"], keep="last"
        )
        dividends = adj.dividends.join(payouts, on=["sid", "effective_date"], how="full", coalesce=True)
        frames = [
            adj.splits.with_columns(pl.lit("split").alias("kind"), pl.lit(None, pl.Float64).alias("amount")),
            adj.mergers.with_columns(pl.lit("merger").alias("kind"), pl.lit(None, pl.Float64).alias("amount")),
            dividends.with_columns(pl.lit("dividend").alias("kind")),
        ]
        frame = pl.concat([f.select("sid", "kind", "effective_date", "ratio", "amount") for f in frames])
        symbol_of = self.symbol_of_sid
        orphans = frame.filter(~pl.col("sid").is_in(list(symbol_of)))
        if orphans.height:
            log.info("%d adjustment(s) for sids without bars are left out", orphans.height)
        frame = frame.filter(pl.col("sid").is_in(list(symbol_of))).with_columns(
            pl.col("sid").replace_strict(symbol_of, return_dtype=pl.String).alias("symbol")
        )
        if symbols is not None:
            frame = frame.filter(pl.col("symbol").is_in(list(symbols)))
        return frame.select(*[pl.col(c).cast(t) for c, t in ADJUSTMENT_SCHEMA.items()]).sort(
            ["symbol", "effective_date", "kind"]
        )

    # --- persistence -----------------------------------------------------------------------------------
    def to_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {"source": self._source_arg, "frequency": self.frequency}
        for key, value in (
            ("assets_db", self._assets_db_arg),
            ("adjustments_db", self._adjustments_db_arg),
            ("country_code", self.country_code),
            ("calendar", self._calendar_arg),
        ):
            if value is not None:
                config[key] = value
        return config

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> ZiplineBundleAdapter:
        params = dict(params)
        return cls(params.pop("source"), **params)


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.isoformat()


def _last_end(asset: ZiplineAsset) -> pd.Timestamp:
    ends = [e for _, _, e in asset.symbol_history if e is not None]
    return max(ends) if ends else pd.Timestamp.min


def _bounds(
    start: pd.Timestamp | None, end: pd.Timestamp | None, frequency: str
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    def utc(ts: pd.Timestamp | None) -> pd.Timestamp | None:
        if ts is None:
            return None
        ts = pd.Timestamp(ts)
        return (ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")).as_unit("ns")

    lo, hi = utc(start), utc(end)
    if hi is not None and frequency == "minute" and hi == hi.normalize():
        hi = hi + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return lo, hi
