"""The adapter contract: every data source turns vendor data into the canonical bar frame.

An adapter emits polars frames with the columns ``timestamp`` (Datetime ns UTC), ``symbol`` (String) and
``open high low close volume`` (Decimal, Float64 or decimal String), optionally with the provenance columns
``_source_file`` / ``_source_row`` so that validation errors can name the file and line. The catalog assigns sids,
validates, converts to exact decimals and writes Parquet; nothing above the adapters knows a vendor's columns.
"""

from __future__ import annotations

import abc
import asyncio
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar

import pandas as pd
import polars as pl

from rustybt.data.adapters.registry import (
    adapter_class,
    adapter_from_config,
    register_adapter,
    registered_adapters,
)
from rustybt.errors import AdapterError

__all__ = [
    "ADJUSTMENT_SCHEMA",
    "AdapterMetadata",
    "BarAdapter",
    "SymbolBars",
    "adapter_class",
    "adapter_from_config",
    "collect_bars",
    "registered_adapters",
    "run_sync",
]

#: Corporate actions an adapter may report. ``ratio`` multiplies prices before ``effective_date`` (a 7:1 split
#: has ratio 1/7); ``amount`` is a cash dividend per share, whose ratio the catalog derives from the previous
#: session's close (1 - amount / close), so a dividend row may leave ``ratio`` null.
ADJUSTMENT_SCHEMA: dict[str, pl.DataType] = {
    "symbol": pl.String(),
    "kind": pl.String(),  # "split" | "dividend" | "merger"
    "effective_date": pl.Datetime("ns", "UTC"),
    "ratio": pl.Float64(),
    "amount": pl.Float64(),
}


@dataclass(frozen=True)
class AdapterMetadata:
    """What a user may want to know about a source before trusting it."""

    source: str
    api_version: str | None = None
    delay: str | None = None  # e.g. "real-time", "15 min", "end of day", "static files"
    requires_auth: bool = False


@dataclass
class SymbolBars:
    """The outcome of fetching one symbol: bars, or the error that stopped it."""

    symbol: str
    bars: pl.DataFrame | None = None
    error: Exception | None = None
    source: str | None = None  # file path or URL without credentials
    info: dict[str, Any] = field(default_factory=dict)  # asset metadata: asset_class, exchange, ...


class BarAdapter(abc.ABC):
    """Base class of every data source.

    Subclasses set ``name`` (the registry key stored in bundle metadata), implement :meth:`fetch_sync` or
    :meth:`fetch`, and :meth:`to_config` / :meth:`from_config` so a registered bundle can be re-ingested later
    from its stored (secret-free) parameters.
    """

    name: ClassVar[str] = ""
    asset_class: ClassVar[str] = "equity"
    supported_resolutions: ClassVar[tuple[str, ...]] = ("1d",)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            register_adapter(cls)

    # --- what the source is ---------------------------------------------------------------------------
    @property
    def metadata(self) -> AdapterMetadata:
        """Source, API version, data delay and whether credentials are needed."""
        return AdapterMetadata(source=self.name)

    def symbols(self) -> list[str] | None:
        """Symbols the source can serve without being told (a folder of files), or None."""
        return None

    # --- fetching ------------------------------------------------------------------------------------------
    async def fetch(
        self,
        symbols: Sequence[str],
        start_date: pd.Timestamp | str | None,
        end_date: pd.Timestamp | str | None,
        resolution: str = "1d",
    ) -> pl.DataFrame:
        """Bars for ``symbols`` in the adapter frame form (see module docstring)."""
        return await asyncio.to_thread(self.fetch_sync, symbols, start_date, end_date, resolution)

    def fetch_sync(
        self,
        symbols: Sequence[str],
        start_date: pd.Timestamp | str | None,
        end_date: pd.Timestamp | str | None,
        resolution: str = "1d",
    ) -> pl.DataFrame:
        """Synchronous :meth:`fetch`; works inside a running event loop (a Jupyter cell) too."""
        return run_sync(self.fetch(symbols, start_date, end_date, resolution), name=f"rustybt-{self.name}-fetch")

    def iter_bars(
        self,
        symbols: Sequence[str] | None,
        start_date: pd.Timestamp | None,
        end_date: pd.Timestamp | None,
        resolution: str = "1d",
        n_workers: int = 1,
    ) -> Iterator[SymbolBars]:
        """Yield one :class:`SymbolBars` per symbol, in any order; errors are yielded, not raised.

        The catalog's ingestion consumes this. The default fetches symbols in a thread pool of ``n_workers``.
        """
        names = list(symbols) if symbols is not None else (self.symbols() or [])
        if not names:
            raise AdapterError(f"{self.name}: no symbols to fetch", source=self.name)

        def one(sym: str) -> SymbolBars:
            try:
                return SymbolBars(sym, bars=self.fetch_sync([sym], start_date, end_date, resolution))
            except Exception as exc:
                return SymbolBars(sym, error=exc)

        with ThreadPoolExecutor(max_workers=max(1, n_workers)) as pool:
            yield from pool.map(one, names)

    def adjustments(self, symbols: Sequence[str] | None = None) -> pl.DataFrame:
        """Splits, dividends and mergers in :data:`ADJUSTMENT_SCHEMA`; none by default."""
        return pl.DataFrame(schema=ADJUSTMENT_SCHEMA)

    # --- persistence -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def to_config(self) -> dict[str, Any]:
        """JSON-safe constructor parameters, never secrets (they come from env or the config file)."""

    @classmethod
    def from_config(cls, params: Mapping[str, Any]) -> BarAdapter:
        """Rebuild the adapter from :meth:`to_config` output."""
        return cls(**params)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.to_config().items())
        return f"{type(self).__name__}({params})"


def collect_bars(items: Iterable[SymbolBars], schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """One frame of every symbol's bars; the first symbol's error is raised (``fetch_sync`` over ``iter_bars``).

    ``schema`` is the frame's when no symbol has a bar.
    """
    frames = []
    for item in items:
        if item.error is not None:
            raise item.error
        if item.bars is not None:
            frames.append(item.bars)
    return pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=dict(schema))


def run_sync(coro: Any, name: str = "rustybt-adapter") -> Any:
    """Run ``coro`` to completion from synchronous code.

    Without a running event loop this is ``asyncio.run``; inside one (a Jupyter cell) the coroutine runs on its
    own loop in a helper thread, so a notebook can call synchronous APIs that fetch asynchronously.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: dict[str, Any] = {}

    def runner() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=runner, name=name)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]
