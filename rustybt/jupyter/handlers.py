"""REST handlers of the JupyterLab extension, under ``<base_url>/rustybt/api/``.

Every handler is a jupyter_server :class:`~jupyter_server.base.handlers.APIHandler` behind Jupyter's own
authentication (``@tornado.web.authenticated``) and authorization (``@authorized`` on the ``rustybt`` resource):
no token, no data. Handlers call only the public catalog API; catalog calls run in a worker thread so a slow
Parquet read never blocks the server. Errors come back as JSON ``{"error": <type>, "message": <catalog message>}``.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from rustybt.errors import (
    BundleNotFound,
    IngestionNotFound,
    InvalidArgument,
    InvalidBundleName,
    NoDataForRange,
    RustyBTError,
    SidNotFound,
    SymbolNotFound,
)
from rustybt.jupyter.jobs import JobConflict, JobManager

__all__ = ["API_PREFIX", "CatalogState", "setup_handlers"]

API_PREFIX = "rustybt/api"
T = TypeVar("T")

MAX_ASSETS_PAGE = 500
DEFAULT_ASSETS_PAGE = 50
MAX_BARS = 20_000
DEFAULT_BARS = 1_000

_NOT_FOUND = (BundleNotFound, IngestionNotFound, SymbolNotFound, SidNotFound, NoDataForRange)
_BAD_REQUEST = (InvalidBundleName, InvalidArgument, ValueError)


class CatalogState:
    """The catalog the handlers serve (opened on first use, again after a failure) and the ingest jobs.

    Parameters
    ----------
    root
        Catalog root; None: the library's own resolution (``RUSTYBT_DATA_DIR``, the config file, the default).
    """

    def __init__(self, root: str | None = None) -> None:
        self.root = root
        self._catalog: Any = None
        self._lock = threading.Lock()
        self.jobs = JobManager(self.catalog)

    def catalog(self) -> Any:
        """The :class:`rustybt.Catalog` (raises :class:`CatalogUnavailable` when its root cannot be opened)."""
        with self._lock:
            if self._catalog is None:
                from rustybt import Catalog

                try:
                    self._catalog = Catalog(self.root) if self.root else Catalog()
                except RustyBTError:
                    raise
                except Exception as exc:  # OSError, sqlite3 errors: a missing or unreadable root
                    where = self.root or "RUSTYBT_DATA_DIR / config"
                    raise CatalogUnavailable(f"cannot open the RustyBT catalog at {where}: {exc}") from exc
            return self._catalog


class CatalogUnavailable(RustyBTError):
    """The catalog root is missing, unreadable or not a catalog."""


class _Base(APIHandler):
    """JSON in, JSON out; catalog errors mapped to 400 / 404 / 409 / 503 with the catalog's message."""

    auth_resource = "rustybt"

    @property
    def state(self) -> CatalogState:
        return self.settings["rustybt_state"]

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking catalog call in a worker thread, mapping its errors to HTTP answers."""
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except tornado.web.HTTPError:
            raise
        except CatalogUnavailable as exc:
            self.fail(503, exc)
        except _NOT_FOUND as exc:
            self.fail(404, exc)
        except _BAD_REQUEST as exc:
            self.fail(400, exc)
        except RustyBTError as exc:
            self.fail(500, exc)
        except OSError as exc:  # the catalog root vanished or became unreadable under a running server
            self.fail(503, exc)

    def fail(self, status: int, exc: BaseException | str, kind: str | None = None) -> NoReturn:
        """Answer ``status`` with ``{"error", "message"}`` and stop the handler."""
        message = str(exc)
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": kind or type(exc).__name__, "message": message}))
        raise tornado.web.Finish()

    def reply(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(payload, default=str))

    def bundle_name(self, name: str) -> str:
        """``name`` if the catalog accepts it as a bundle name, else 400 with the catalog's message."""
        from rustybt.data.catalog.layout import validate_bundle_name

        try:
            return validate_bundle_name(name)
        except InvalidBundleName as exc:
            self.fail(400, exc)

    def int_arg(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.fail(400, f"query parameter {name!r} must be an integer, got {raw!r}", "InvalidArgument")
        if not low <= value <= high:
            self.fail(400, f"query parameter {name!r} must be between {low} and {high}, got {value}", "InvalidArgument")
        return value


def _json_time(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _bundle_rows(catalog: Any) -> list[dict[str, Any]]:
    rows = catalog.summary().to_dicts()
    for row in rows:
        row["quality"] = "error" if row["errors"] else ("warning" if row["warnings"] or row["dropped"] else "ok")
        if row["ingestion"] is None:
            row["quality"] = "empty"
    return rows


def _live_id(catalog: Any, name: str) -> str | None:
    """Id of the bundle's live ingestion, None when it has none yet."""
    try:
        return catalog.live_ingestion(name).id
    except IngestionNotFound:
        return None


def _ingestion_dict(record: Any, live: str | None) -> dict[str, Any]:
    q = record.quality
    return {
        "id": record.id,
        "created_at": record.created_at,
        "mode": record.mode,
        "rows": record.rows,
        "assets": record.n_assets,
        "start": record.start,
        "end": record.end,
        "size_bytes": record.size_bytes,
        "duration_s": record.duration_s,
        "errors": q.get("error_count", 0),
        "warnings": q.get("warning_count", 0),
        "dropped": q.get("rows_dropped", 0),
        "live": record.id == live,
    }


class BundlesHandler(_Base):
    """``GET bundles``: one row per bundle (the catalog's summary) plus the active jobs."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        def work() -> dict[str, Any]:
            catalog = self.state.catalog()
            explicit = self.state.root is not None  # set by RustyBTServer.data_dir: inserted code names it
            return {"root": str(catalog.root), "root_explicit": explicit, "bundles": _bundle_rows(catalog)}

        payload = await self.call(work)
        payload["jobs"] = [j.to_dict() for j in self.state.jobs.jobs() if j.active]
        self.reply(payload)


class BundleHandler(_Base):
    """``GET bundles/<name>``: the bundle's summary (as ``rustybt info`` shows it)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        name = self.bundle_name(name)

        def work() -> dict[str, Any]:
            bundle = self.state.catalog().bundle(name)
            out = bundle.summary()
            out["frequencies"] = bundle.frequencies
            out["adjustments"] = {kind: n for kind, n in out["adjustments"]}
            return out

        self.reply(await self.call(work))


class IngestionsHandler(_Base):
    """``GET bundles/<name>/ingestions``: the history, oldest first, the live one flagged."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        name = self.bundle_name(name)

        def work() -> list[dict[str, Any]]:
            catalog = self.state.catalog()
            records = catalog.ingestions(name)
            return [_ingestion_dict(r, _live_id(catalog, name)) for r in records]

        self.reply({"bundle": name, "ingestions": await self.call(work)})


class AssetsHandler(_Base):
    """``GET bundles/<name>/assets?q=&offset=&limit=``: a page of assets with their coverage, searched by symbol."""

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        name = self.bundle_name(name)
        query = self.get_argument("q", "").strip()
        offset = self.int_arg("offset", 0, 0, 10**9)
        limit = self.int_arg("limit", DEFAULT_ASSETS_PAGE, 1, MAX_ASSETS_PAGE)

        def work() -> dict[str, Any]:
            import polars as pl

            frame = self.state.catalog().bundle(name).date_ranges.sort("symbol")
            if query:  # case-insensitive substring: "aap" finds AAPL
                frame = frame.filter(pl.col("symbol").str.to_uppercase().str.contains(query.upper(), literal=True))
            page = frame.slice(offset, limit)
            assets = [
                {**row, "start": _json_time(row["start"]), "end": _json_time(row["end"])} for row in page.to_dicts()
            ]
            return {
                "bundle": name,
                "q": query,
                "total": frame.height,
                "offset": offset,
                "limit": limit,
                "assets": assets,
            }

        self.reply(await self.call(work))


class BarsHandler(_Base):
    """``GET bundles/<name>/bars?symbol=&start=&end=&limit=``: one asset's bars for a chart.

    At most ``limit`` rows: when the range holds more, every k-th bar is returned (``step`` says k) and the last bar
    is always kept, so a chart of a long range stays small.
    """

    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        name = self.bundle_name(name)
        symbol = self.get_argument("symbol", "").strip()
        if not symbol:
            self.fail(400, "query parameter 'symbol' is required", "InvalidArgument")
        start = self.get_argument("start", None) or None
        end = self.get_argument("end", None) or None
        limit = self.int_arg("limit", DEFAULT_BARS, 2, MAX_BARS)

        def work() -> dict[str, Any]:
            frame = self.state.catalog().bundle(name).bars([symbol], start=start, end=end)
            rows = frame.height
            step = max(1, math.ceil(rows / limit))
            if step > 1:
                keep = list(range(0, rows, step))
                if keep[-1] != rows - 1:
                    keep[-1] = rows - 1
                frame = frame[keep]
            out: dict[str, Any] = {"bundle": name, "symbol": symbol, "rows": rows, "step": step}
            out["timestamp"] = [t.isoformat() for t in frame.get_column("timestamp").to_list()]
            for column in ("open", "high", "low", "close", "volume"):
                out[column] = [None if v is None or v != v else v for v in frame.get_column(column).to_list()]
            return out

        self.reply(await self.call(work))


class VerifyHandler(_Base):
    """``POST bundles/<name>/verify``: recompute every checksum of the live ingestion."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        name = self.bundle_name(name)

        def work() -> dict[str, Any]:
            report = self.state.catalog().verify(name)
            return {
                "bundle": report.bundle,
                "ingestion": report.ingestion_id,
                "ok": report.ok,
                "files_checked": report.files_checked,
                "problems": [{"path": p.path, "problem": p.problem, "detail": p.detail} for p in report.problems],
            }

        self.reply(await self.call(work))


class IngestHandler(_Base):
    """``POST bundles/<name>/ingest``: start an ingest job (202 with the job); 409 if one runs for the bundle."""

    @tornado.web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        name = self.bundle_name(name)

        def live() -> str | None:
            catalog = self.state.catalog()
            catalog.ingestions(name)  # BundleNotFound with the catalog's message (404)
            return _live_id(catalog, name)

        live_before = await self.call(live)
        try:
            job = self.state.jobs.submit(name, live_before)
        except JobConflict as exc:
            self.fail(409, exc)
        self.reply(job.to_dict(), status=202)


class JobsHandler(_Base):
    """``GET jobs``: every job of this server process; ``GET jobs/<id>``: one job's state and progress."""

    @tornado.web.authenticated
    @authorized
    async def get(self, job_id: str | None = None) -> None:
        if not job_id:
            self.reply({"jobs": [j.to_dict() for j in self.state.jobs.jobs()]})
            return
        job = self.state.jobs.get(job_id)
        if job is None:
            self.fail(
                404,
                f"no ingest job {job_id!r} in this server (it may have been restarted: the bundle's previous "
                "ingestion stays live; refresh and ingest again)",
                "JobNotFound",
            )
        self.reply(job.to_dict())


def setup_handlers(web_app: tornado.web.Application, root: str | None = None) -> CatalogState:
    """Register the handlers on ``web_app`` under ``<base_url>/rustybt/api/``; returns the shared state."""
    state = CatalogState(str(Path(root).expanduser()) if root else None)
    web_app.settings["rustybt_state"] = state
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    bundle = r"/bundles/(?P<name>[^/]+)"
    routes = [
        (r"/bundles/?", BundlesHandler),
        (bundle + r"/?", BundleHandler),
        (bundle + r"/ingestions/?", IngestionsHandler),
        (bundle + r"/assets/?", AssetsHandler),
        (bundle + r"/bars/?", BarsHandler),
        (bundle + r"/verify/?", VerifyHandler),
        (bundle + r"/ingest/?", IngestHandler),
        (r"/jobs/?", JobsHandler),
        (r"/jobs/(?P<job_id>[^/]+)/?", JobsHandler),
    ]
    web_app.add_handlers(".*$", [(base + pattern, handler) for pattern, handler in routes])
    return state
