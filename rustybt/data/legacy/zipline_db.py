"""zipline's two SQLite databases: the asset DB (``assets-N.sqlite``) and the adjustment DB (``adjustments.sqlite``).

Asset DB
    Versions :data:`SUPPORTED_ASSET_DB_VERSIONS` (``version_info.version``): 5 and 6 (zipline 1.x: ``equities``
    with ``exchange`` / ``exchange_full``, ``futures_exchanges``) and 7 (zipline 1.4+ and zipline-reloaded:
    ``exchanges`` with ``canonical_name`` and ``country_code``). Read: ``equities``,
    ``equity_symbol_mappings`` (a sid's symbols with their validity ranges), ``exchanges``,
    ``futures_root_symbols`` and ``futures_contracts``. Dates are nanoseconds since the epoch; zipline writes
    NaT as the smallest int64.

Adjustment DB
    Tables ``splits``, ``mergers`` and ``dividends`` (``sid, effective_date, ratio``: multiply prices before the
    date by ``ratio``), ``dividend_payouts`` (``sid, ex_date, amount`` ...) and ``stock_dividend_payouts``.
    Dates are seconds since the epoch.

Only the standard library's ``sqlite3`` is used; both files are opened read-only.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from rustybt.data.legacy.errors import CorruptLegacyData, NotAZiplineBundle, UnsupportedLegacyVersion

__all__ = [
    "ADJUSTMENT_TABLES",
    "SUPPORTED_ASSET_DB_VERSIONS",
    "ZiplineAdjustments",
    "ZiplineAsset",
    "ZiplineAssetDB",
    "find_asset_db",
    "read_adjustments",
    "read_asset_db",
]

log = logging.getLogger(__name__)

#: ``version_info.version`` values of zipline asset databases this module reads.
SUPPORTED_ASSET_DB_VERSIONS: tuple[int, ...] = (5, 6, 7)
#: Tables of zipline's adjustment database.
ADJUSTMENT_TABLES: tuple[str, ...] = ("splits", "mergers", "dividends", "dividend_payouts", "stock_dividend_payouts")
_NAT = -(2**63)
_ASSET_DB = re.compile(r"^assets-(\d+)\.sqlite$")


@contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise CorruptLegacyData(f"{path}: cannot open the SQLite database ({exc})") from exc
    try:
        con.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall()
        yield con
    except sqlite3.DatabaseError as exc:
        raise CorruptLegacyData(f"{path}: not a readable SQLite database ({exc})") from exc
    finally:
        con.close()


def _tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _columns(con: sqlite3.Connection, table: str) -> list[str]:
    return [r[1] for r in con.execute(f'PRAGMA table_info("{table}")')]


def _ts(value: Any, unit: str = "ns") -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    if number == _NAT:
        return None
    return pd.Timestamp(number, unit=unit).as_unit("ns")


# ------------------------------------------------------------------------------------------------------------
# asset DB
# ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZiplineAsset:
    """One asset of a zipline asset DB (an equity or a futures contract). Dates are naive UTC timestamps."""

    sid: int
    symbol: str
    asset_class: str  # "equity" | "future"
    asset_name: str = ""
    exchange: str = ""
    exchange_full: str = ""
    country_code: str | None = None
    start_date: pd.Timestamp | None = None
    end_date: pd.Timestamp | None = None
    first_traded: pd.Timestamp | None = None
    auto_close_date: pd.Timestamp | None = None
    root_symbol: str | None = None
    notice_date: pd.Timestamp | None = None
    expiration_date: pd.Timestamp | None = None
    multiplier: float | None = None
    tick_size: float | None = None
    symbol_history: tuple[tuple[str, pd.Timestamp | None, pd.Timestamp | None], ...] = ()


@dataclass
class ZiplineAssetDB:
    """The contents of an ``assets-N.sqlite`` file."""

    path: Path
    version: int
    assets: dict[int, ZiplineAsset]
    exchanges: dict[str, dict[str, Any]] = field(default_factory=dict)
    root_symbols: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def sids(self) -> list[int]:
        """All sids, ascending."""
        return sorted(self.assets)

    def __repr__(self) -> str:
        kinds: dict[str, int] = {}
        for a in self.assets.values():
            kinds[a.asset_class] = kinds.get(a.asset_class, 0) + 1
        counts = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no assets"
        return f"ZiplineAssetDB({str(self.path)!r}, version {self.version}: {counts})"


def find_asset_db(directory: str | Path) -> Path:
    """The ``assets-N.sqlite`` file of a zipline ingestion directory (the highest N when there are several).

    Raises
    ------
    NotAZiplineBundle
        No ``assets-N.sqlite`` in ``directory``.
    """
    directory = Path(directory)
    found = sorted((int(m.group(1)), p) for p in directory.glob("assets-*.sqlite") if (m := _ASSET_DB.match(p.name)))
    if not found:
        raise NotAZiplineBundle(f"{directory}: no zipline asset database (expected a file assets-<N>.sqlite)")
    if len(found) > 1:
        log.warning("%s: several asset databases (%s); using %s", directory, [p.name for _, p in found], found[-1][1])
    return found[-1][1]


def read_asset_db(path: str | Path) -> ZiplineAssetDB:
    """Read a zipline asset database.

    Raises
    ------
    NotAZiplineBundle
        The file does not exist.
    UnsupportedLegacyVersion
        Its ``version_info`` names a version outside :data:`SUPPORTED_ASSET_DB_VERSIONS` (or it has none).
    CorruptLegacyData
        Not a readable SQLite file, or tables are missing.
    """
    path = Path(path)
    if not path.is_file():
        raise NotAZiplineBundle(f"{path}: no such file; expected a zipline asset database assets-<N>.sqlite")
    with _connect(path) as con:
        tables = _tables(con)
        if "version_info" not in tables:
            raise UnsupportedLegacyVersion(
                f"{path}: no version_info table, so the asset DB version is unknown; supported versions: "
                f"{', '.join(map(str, SUPPORTED_ASSET_DB_VERSIONS))}"
            )
        row = con.execute("SELECT version FROM version_info").fetchone()
        version = int(row[0]) if row else -1
        if version not in SUPPORTED_ASSET_DB_VERSIONS:
            raise UnsupportedLegacyVersion(
                f"{path}: zipline asset DB version {version} is not supported; supported versions: "
                f"{', '.join(map(str, SUPPORTED_ASSET_DB_VERSIONS))}. Re-ingest the bundle with zipline-reloaded "
                "(writes version 7) or upgrade the file with zipline's asset_db_migrations."
            )
        missing = [t for t in ("equities", "equity_symbol_mappings") if t not in tables]
        if missing:
            raise CorruptLegacyData(f"{path}: asset DB version {version} without table(s) {', '.join(missing)}")
        exchanges = _read_exchanges(con, tables)
        roots = _read_root_symbols(con, tables)
        mappings = _read_symbol_mappings(con)
        assets = _read_equities(con, exchanges, mappings)
        assets.update(_read_futures(con, tables, exchanges, roots))
    return ZiplineAssetDB(path=path, version=version, assets=assets, exchanges=exchanges, root_symbols=roots)


def _read_exchanges(con: sqlite3.Connection, tables: set[str]) -> dict[str, dict[str, Any]]:
    if "exchanges" in tables:  # version 7
        cols = _columns(con, "exchanges")
        rows = con.execute(f"SELECT {', '.join(cols)} FROM exchanges").fetchall()
        return {r[0]: dict(zip(cols, r, strict=True)) for r in rows}
    if "futures_exchanges" in tables:  # versions 5 and 6
        return {r[0]: {"exchange": r[0]} for r in con.execute("SELECT exchange FROM futures_exchanges")}
    return {}


def _read_root_symbols(con: sqlite3.Connection, tables: set[str]) -> dict[str, dict[str, Any]]:
    if "futures_root_symbols" not in tables:
        return {}
    cols = _columns(con, "futures_root_symbols")
    return {
        r[0]: dict(zip(cols, r, strict=True))
        for r in con.execute(f"SELECT {', '.join(cols)} FROM futures_root_symbols")
    }


def _read_symbol_mappings(
    con: sqlite3.Connection,
) -> dict[int, list[tuple[str, pd.Timestamp | None, pd.Timestamp | None]]]:
    out: dict[int, list[tuple[str, pd.Timestamp | None, pd.Timestamp | None]]] = {}
    for sid, symbol, start, end in con.execute(
        "SELECT sid, symbol, start_date, end_date FROM equity_symbol_mappings ORDER BY sid, end_date, start_date"
    ):
        out.setdefault(int(sid), []).append((str(symbol), _ts(start), _ts(end)))
    return out


def _read_equities(
    con: sqlite3.Connection,
    exchanges: dict[str, dict[str, Any]],
    mappings: dict[int, list[tuple[str, pd.Timestamp | None, pd.Timestamp | None]]],
) -> dict[int, ZiplineAsset]:
    cols = _columns(con, "equities")
    wanted = [
        c
        for c in (
            "sid",
            "asset_name",
            "start_date",
            "end_date",
            "first_traded",
            "auto_close_date",
            "exchange",
            "exchange_full",
        )
        if c in cols
    ]
    assets: dict[int, ZiplineAsset] = {}
    for values in con.execute(f"SELECT {', '.join(wanted)} FROM equities ORDER BY sid"):
        row = dict(zip(wanted, values, strict=True))
        sid = int(row["sid"])
        history = tuple(mappings.get(sid, ()))
        if not history:
            log.warning("equity sid %d has no symbol mapping; it is named SID%d", sid, sid)
            history = ((f"SID{sid}", None, None),)
        exchange = str(row.get("exchange") or "")
        info = exchanges.get(exchange, {})
        assets[sid] = ZiplineAsset(
            sid=sid,
            symbol=history[-1][0],  # the symbol held last (mappings sorted by end date)
            asset_class="equity",
            asset_name=str(row.get("asset_name") or ""),
            exchange=exchange,
            exchange_full=str(row.get("exchange_full") or info.get("canonical_name") or exchange),
            country_code=info.get("country_code"),
            start_date=_ts(row.get("start_date")),
            end_date=_ts(row.get("end_date")),
            first_traded=_ts(row.get("first_traded")),
            auto_close_date=_ts(row.get("auto_close_date")),
            symbol_history=history,
        )
    return assets


def _read_futures(
    con: sqlite3.Connection,
    tables: set[str],
    exchanges: dict[str, dict[str, Any]],
    roots: dict[str, dict[str, Any]],
) -> dict[int, ZiplineAsset]:
    if "futures_contracts" not in tables:
        return {}
    cols = _columns(con, "futures_contracts")
    assets: dict[int, ZiplineAsset] = {}
    for values in con.execute(f"SELECT {', '.join(cols)} FROM futures_contracts ORDER BY sid"):
        row = dict(zip(cols, values, strict=True))
        sid = int(row["sid"])
        exchange = str(row.get("exchange") or roots.get(row.get("root_symbol") or "", {}).get("exchange") or "")
        info = exchanges.get(exchange, {})
        start, end = _ts(row.get("start_date")), _ts(row.get("end_date"))
        symbol = str(row.get("symbol") or f"SID{sid}")
        multiplier = row.get("multiplier", row.get("contract_multiplier"))
        assets[sid] = ZiplineAsset(
            sid=sid,
            symbol=symbol,
            asset_class="future",
            asset_name=str(row.get("asset_name") or ""),
            exchange=exchange,
            exchange_full=str(info.get("canonical_name") or exchange),
            country_code=info.get("country_code"),
            start_date=start,
            end_date=end,
            first_traded=_ts(row.get("first_traded")),
            auto_close_date=_ts(row.get("auto_close_date")),
            root_symbol=row.get("root_symbol"),
            notice_date=_ts(row.get("notice_date")),
            expiration_date=_ts(row.get("expiration_date")),
            multiplier=float(multiplier) if multiplier is not None else None,
            tick_size=float(row["tick_size"]) if row.get("tick_size") is not None else None,
            symbol_history=((symbol, start, end),),
        )
    return assets


# ------------------------------------------------------------------------------------------------------------
# adjustment DB
# ------------------------------------------------------------------------------------------------------------

_DATE = pl.Datetime("ns", "UTC")


@dataclass
class ZiplineAdjustments:
    """The tables of an ``adjustments.sqlite`` file as polars frames with UTC datetimes.

    ``splits``, ``mergers``, ``dividends``: ``sid, effective_date, ratio``. ``dividend_payouts``: ``sid, ex_date,
    record_date, declared_date, pay_date, amount``. ``stock_dividend_payouts``: ``sid, ex_date, payment_sid,
    ratio``.
    """

    path: Path
    splits: pl.DataFrame
    mergers: pl.DataFrame
    dividends: pl.DataFrame
    dividend_payouts: pl.DataFrame
    stock_dividend_payouts: pl.DataFrame

    def counts(self) -> dict[str, int]:
        """Rows per table."""
        return {t: getattr(self, t).height for t in ADJUSTMENT_TABLES}

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {t}" for t, n in self.counts().items())
        return f"ZiplineAdjustments({str(self.path)!r}: {counts})"


_RATIO_SCHEMA = {"sid": pl.Int64, "effective_date": _DATE, "ratio": pl.Float64}
_PAYOUT_SCHEMA = {
    "sid": pl.Int64,
    "ex_date": _DATE,
    "record_date": _DATE,
    "declared_date": _DATE,
    "pay_date": _DATE,
    "amount": pl.Float64,
}
_STOCK_SCHEMA = {"sid": pl.Int64, "ex_date": _DATE, "payment_sid": pl.Int64, "ratio": pl.Float64}


def empty_adjustments(path: str | Path = "") -> ZiplineAdjustments:
    """An adjustment set without rows (a source without an adjustment DB)."""
    return ZiplineAdjustments(
        Path(path),
        pl.DataFrame(schema=_RATIO_SCHEMA),
        pl.DataFrame(schema=_RATIO_SCHEMA),
        pl.DataFrame(schema=_RATIO_SCHEMA),
        pl.DataFrame(schema=_PAYOUT_SCHEMA),
        pl.DataFrame(schema=_STOCK_SCHEMA),
    )


__all__ += ["empty_adjustments"]


def read_adjustments(path: str | Path) -> ZiplineAdjustments:
    """Read zipline's ``adjustments.sqlite``.

    Raises
    ------
    NotAZiplineBundle
        The file does not exist, or none of zipline's adjustment tables is in it.
    CorruptLegacyData
        Not a readable SQLite file, or a table without the columns zipline writes.
    """
    path = Path(path)
    if not path.is_file():
        raise NotAZiplineBundle(f"{path}: no such file; expected zipline's adjustments.sqlite")
    with _connect(path) as con:
        tables = _tables(con)
        if not tables & set(ADJUSTMENT_TABLES):
            raise NotAZiplineBundle(
                f"{path} is not a zipline adjustment database: none of the tables {', '.join(ADJUSTMENT_TABLES)}"
            )

        def ratio_table(name: str) -> pl.DataFrame:
            rows = _select(con, path, tables, name, ("sid", "effective_date", "ratio"))
            return pl.DataFrame(
                {
                    "sid": [int(r[0]) for r in rows],
                    "effective_date": [_ts(r[1], "s") for r in rows],
                    "ratio": [float(r[2]) if r[2] is not None else None for r in rows],
                },
                schema=_RATIO_SCHEMA,
            )

        payout_cols = ("sid", "ex_date", "record_date", "declared_date", "pay_date", "amount")
        payouts = _select(con, path, tables, "dividend_payouts", payout_cols)
        stock = _select(con, path, tables, "stock_dividend_payouts", ("sid", "ex_date", "payment_sid", "ratio"))
        result = ZiplineAdjustments(
            path=path,
            splits=ratio_table("splits"),
            mergers=ratio_table("mergers"),
            dividends=ratio_table("dividends"),
            dividend_payouts=pl.DataFrame(
                {
                    "sid": [int(r[0]) for r in payouts],
                    **{c: [_ts(r[i], "s") for r in payouts] for i, c in enumerate(payout_cols[1:5], start=1)},
                    "amount": [float(r[5]) if r[5] is not None else None for r in payouts],
                },
                schema=_PAYOUT_SCHEMA,
            ),
            stock_dividend_payouts=pl.DataFrame(
                {
                    "sid": [int(r[0]) for r in stock],
                    "ex_date": [_ts(r[1], "s") for r in stock],
                    "payment_sid": [int(r[2]) if r[2] is not None else None for r in stock],
                    "ratio": [float(r[3]) if r[3] is not None else None for r in stock],
                },
                schema=_STOCK_SCHEMA,
            ),
        )
    return result


def _select(
    con: sqlite3.Connection, path: Path, tables: set[str], table: str, columns: tuple[str, ...]
) -> list[tuple[Any, ...]]:
    if table not in tables:
        return []
    have = set(_columns(con, table))
    missing = [c for c in columns if c not in have]
    if missing:
        raise CorruptLegacyData(f"{path}: table {table} lacks column(s) {', '.join(missing)}")
    quoted = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f'SELECT {quoted} FROM "{table}" ORDER BY sid, "{columns[1]}"').fetchall()
