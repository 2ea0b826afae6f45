"""Chunked pipelines on a Dask cluster: one task per date chunk, computed by workers that open the catalog."""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import pandas as pd

from rustybt._utils import to_utc
from rustybt.config import env_flag
from rustybt.data.catalog import Bundle, Catalog
from rustybt.distributed._serialize import dumps_pipeline, loads_pipeline
from rustybt.pipeline.pipeline import Pipeline

__all__ = ["BundleRef", "run_chunked_pipeline"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BundleRef:
    """What a worker needs to open a pinned bundle itself: where the catalog is, the name, the ingestion id.

    ``root`` is a local catalog root (the same path on every worker: a shared file system), or ``url`` an
    object-store catalog (:class:`~rustybt.data.catalog.objectstore.ObjectStoreCatalog`) with its
    ``storage_options`` as JSON (credentials included, if given: they travel with the tasks).
    """

    root: str
    name: str
    ingestion_id: str
    url: str | None = None
    storage_options: str = "{}"

    @classmethod
    def of(cls, bundle: str | Bundle, catalog: Catalog | None = None) -> BundleRef:
        """The reference of ``bundle`` (a name is pinned to its live ingestion now, so every chunk reads the same)."""
        if isinstance(bundle, str):
            bundle = (catalog or Catalog()).bundle(bundle)
        if not isinstance(bundle, Bundle):
            raise TypeError(f"bundle must be a bundle name or a Bundle, got {type(bundle).__name__}")
        store = getattr(bundle, "_object_store", None)
        if store is not None:
            url, options = store
            return cls("", bundle.name, bundle.ingestion_id, url, json.dumps(options, sort_keys=True))
        return cls(str(bundle._catalog.root), bundle.name, bundle.ingestion_id)

    def open(self) -> Bundle:
        """The bundle, opened in this process (an object-store bundle through this machine's read cache)."""
        if self.url is not None:
            from rustybt.data.catalog.objectstore import ObjectStoreCatalog

            return ObjectStoreCatalog(self.url, json.loads(self.storage_options)).bundle(self.name, self.ingestion_id)
        return Catalog(self.root).bundle(self.name, self.ingestion_id)

    def __repr__(self) -> str:  # never the storage options (credentials)
        where = self.url or self.root
        return f"BundleRef({where!r}, {self.name!r}, {self.ingestion_id!r})"


# Engines kept per worker process: chunks of one run (and later runs) on the same bundle reuse the asset finder and
# the pricing loader's cache instead of opening the catalog per task.
_ENGINES: dict[BundleRef, Any] = {}
_ENGINES_LOCK = threading.Lock()


def _engine(ref: BundleRef):
    from rustybt.pipeline.bundle_engine import engine_for_bundle

    with _ENGINES_LOCK:
        engine = _ENGINES.get(ref)
        if engine is None:
            engine = _ENGINES[ref] = engine_for_bundle(ref.open(), progress=False)
        return engine


def _run_chunk(ref: BundleRef, pipeline_bytes: bytes, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """One date chunk on a worker: its own lookback is loaded by the engine, exactly as in a local chunked run."""
    pipeline = loads_pipeline(pipeline_bytes)
    return _engine(ref).run_pipeline(pipeline, start, end, progress=False)


def _show_progress(progress: bool | None, chunks: int) -> bool:
    if progress is not None:
        return bool(progress)
    forced = env_flag("RUSTYBT_PROGRESS")
    return forced if forced is not None else chunks > 1


def run_chunked_pipeline(
    pipeline: Pipeline,
    start_date,
    end_date,
    chunksize: int,
    *,
    bundle: str | Bundle,
    client,
    catalog: Catalog | None = None,
    retries: int = 2,
    output: str = "pandas",
    progress: bool | None = None,
):
    """Run ``pipeline`` in date chunks of ``chunksize`` sessions as tasks on a Dask cluster; same result as one process.

    The pipeline (user terms included, by value) and a reference to the pinned bundle (catalog root, name,
    ingestion id) go to the workers, not data: each worker opens the catalog itself, so the root must be reachable
    from every worker (a shared file system or an object store). Each chunk loads its own lookback, exactly as
    :meth:`SimplePipelineEngine.run_chunked_pipeline` does in one process, and the chunks are joined in date order.

    Parameters
    ----------
    pipeline, start_date, end_date, chunksize
        As :func:`rustybt.pipeline.run_chunked_pipeline`.
    bundle
        Bundle name (opened from ``catalog``, default ``Catalog()``) or a :class:`~rustybt.data.catalog.Bundle`.
        A name is pinned to its live ingestion when the run starts: an ingestion published meanwhile is not mixed in.
    client
        A ``distributed.Client`` connected to the cluster.
    retries
        Times a chunk that raised is run again (a chunk whose worker died is rescheduled by Dask regardless, up to
        the scheduler's ``allowed-failures``). Chunks are pure reads, so a retry gives the same frame.
    output
        ``"pandas"`` or ``"polars"``.
    progress
        A progress bar over finished chunks (``tqdm.auto``: a widget in notebooks); default: when there are
        several chunks, unless ``RUSTYBT_PROGRESS`` says otherwise.
    """
    from distributed import as_completed

    from rustybt.pipeline.bundle_engine import engine_for_bundle
    from rustybt.pipeline.engine import _check_output, categorical_df_concat, compute_date_range_chunks, to_polars

    _check_output(output)
    if isinstance(bundle, str):
        bundle = (catalog or Catalog()).bundle(bundle)  # an ObjectStoreCatalog works as catalog= too
    ref = BundleRef.of(bundle)
    # sessions are naive (midnight UTC), as in the engine
    start, end = to_utc(start_date, "start_date").tz_localize(None), to_utc(end_date, "end_date").tz_localize(None)
    local = engine_for_bundle(bundle, progress=False)  # the same domain and chunk boundaries as a local run
    ranges = compute_date_range_chunks(local.resolve_domain(pipeline).sessions(), start, end, chunksize)
    # a few KB, sent inside each task (scattered data would die with its worker; a task can always be rerun)
    payload = dumps_pipeline(pipeline)
    run = f"rustybt-pipeline-{uuid.uuid4().hex[:12]}"  # unique keys: a later run never reuses an old result
    futures = [
        client.submit(_run_chunk, ref, payload, s, e, retries=retries, key=f"{run}-{i}")
        for i, (s, e) in enumerate(ranges)
    ]
    log.info("pipeline: %d chunks of %d sessions on %s", len(futures), chunksize, ref)
    if _show_progress(progress, len(futures)):
        from tqdm.auto import tqdm

        for _ in tqdm(as_completed(futures), total=len(futures), desc="pipeline chunks", unit="chunk"):
            pass
    chunks = client.gather(futures)
    if len(chunks) == 1:
        result = chunks[0]
    else:
        nonempty = [c for c in chunks if len(c)]
        result = categorical_df_concat(nonempty) if nonempty else chunks[0]
    return to_polars(result) if output == "polars" else result
