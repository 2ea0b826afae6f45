"""Ingest jobs of the JupyterLab extension: one thread per job, one running job per bundle.

A job only calls :meth:`rustybt.Catalog.ingest`; atomicity (the previous ingestion stays live on any failure) is the
catalog's guarantee. Jobs live in the server's memory: after a restart their ids are unknown (404) and the bundle's
lock, an advisory ``flock``, died with the old process.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rustybt.data.catalog import Catalog

__all__ = ["Job", "JobConflict", "JobManager"]

log = logging.getLogger(__name__)


class JobConflict(Exception):
    """A job for the bundle is already queued or running."""


@dataclass
class Job:
    """One ingest of one bundle, as the panel polls it."""

    id: str
    bundle: str
    kind: str = "ingest"
    state: str = "queued"  # queued -> running -> succeeded | failed
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    done: int = 0  # symbols fetched so far
    total: int | None = None  # symbols to fetch, when the adapter says
    live_before: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None

    @property
    def active(self) -> bool:
        """Queued or running."""
        return self.state in ("queued", "running")

    def to_dict(self) -> dict[str, Any]:
        """The JSON the API returns."""
        end = self.finished or time.time()
        return {
            "id": self.id,
            "bundle": self.bundle,
            "kind": self.kind,
            "state": self.state,
            "elapsed_s": round(end - (self.started or end), 3),
            "progress": {"done": self.done, "total": self.total},
            "live_before": self.live_before,
            "result": self.result,
            "error": self.error,
        }


class _CountingAdapter:
    """The bundle's adapter, counting the symbols its ``iter_bars`` yields (the job's progress)."""

    def __init__(self, adapter: Any, job: Job) -> None:
        self._adapter = adapter
        self._job = job
        inner = adapter.iter_bars

        @functools.wraps(inner)  # keeps the signature: the catalog inspects it for ``starts``
        def iter_bars(symbols: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            job.total = len(symbols) if symbols else None
            for item in inner(symbols, *args, **kwargs):
                job.done += 1
                yield item

        self.iter_bars = iter_bars

    def __getattr__(self, name: str) -> Any:
        return getattr(self._adapter, name)


def _error_dict(exc: BaseException) -> dict[str, Any]:
    """Type, message and (for a validation failure) the report's counts and summary."""
    out: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc), "report": None}
    report = getattr(exc, "report", None)
    if report is not None and hasattr(report, "counts"):
        out["report"] = {
            "errors": report.error_count,
            "warnings": report.warning_count,
            "rows_checked": report.rows_checked,
            "by_rule": report.counts(),
            "summary": report.summary(),
        }
    return out


class JobManager:
    """Runs ingest jobs in a small thread pool and remembers them for polling.

    Parameters
    ----------
    open_catalog
        Returns the catalog to ingest into (called in the job's thread).
    max_workers
        Jobs running at once (over all bundles).
    """

    def __init__(self, open_catalog: Callable[[], Catalog], max_workers: int = 2) -> None:
        self._open_catalog = open_catalog
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="rustybt-ingest")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, bundle: str, live_before: str | None) -> Job:
        """Queue an ingest of ``bundle``; :class:`JobConflict` if one is queued or running."""
        with self._lock:
            for job in self._jobs.values():
                if job.bundle == bundle and job.active:
                    raise JobConflict(
                        f"bundle {bundle!r} is already being ingested (job {job.id}, {job.state}); "
                        "wait for it to finish"
                    )
            job = Job(id=uuid.uuid4().hex[:12], bundle=bundle, live_before=live_before)
            self._jobs[job.id] = job
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None (unknown, or started before a server restart)."""
        return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every job of this server process, oldest first."""
        return sorted(self._jobs.values(), key=lambda j: j.created)

    def _run(self, job: Job) -> None:
        job.state, job.started = "running", time.time()
        try:
            catalog = self._open_catalog()
            adapter = _job_adapter(catalog, job)
            ingestion = catalog.ingest(job.bundle, progress=False, adapter=adapter)
            job.result = {
                "ingestion": ingestion.record.id,
                "rows": ingestion.record.rows,
                "assets": ingestion.record.n_assets,
                "errors": ingestion.record.quality.get("error_count", 0),
                "warnings": ingestion.record.quality.get("warning_count", 0),
                "duration_s": ingestion.record.duration_s,
            }
            job.state = "succeeded"
        except Exception as exc:  # every failure is reported to the panel, none kills the pool
            log.warning("rustybt: ingest job %s of bundle %r failed: %s", job.id, job.bundle, exc)
            job.error = _error_dict(exc)
            job.state = "failed"
        finally:
            job.finished = time.time()

    def shutdown(self) -> None:
        """Stop taking jobs; running ones finish in their threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _job_adapter(catalog: Catalog, job: Job) -> Any:
    """The bundle's adapter rebuilt from its registration, wrapped to count progress (None: let the catalog)."""
    from rustybt.data.adapters.registry import adapter_from_config

    try:
        record = catalog.store.get_bundle(job.bundle)
        adapter = adapter_from_config(record.adapter, record.adapter_params)
    except Exception as exc:  # the catalog's own ingest reports this failure with its message
        log.info("rustybt: ingest job %s: no progress counting (%s)", job.id, exc)
        return None
    return _CountingAdapter(adapter, job)
