"""One atomic, versioned ingestion of a bundle.

The new ingestion is written under ``.staging/<id>/``, validated, checksummed and described by a manifest; then
the directory is renamed into place and a single SQLite transaction records it and moves the bundle's live
pointer. Any failure, exception or KeyboardInterrupt before that transaction leaves the previous ingestion live
and removes the partial one; a process killed outright leaves only a staging or orphan directory that nothing
reads: the next ingestion of the bundle (or ``Catalog.clean``) removes a staging directory, and moves a directory
the catalog does not know into ``.quarantine/`` instead of deleting it.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

from rustybt.data.adapters.base import BarAdapter, adapter_from_config
from rustybt.data.catalog.ingest_build import _build
from rustybt.data.catalog.ingest_fetch import _accepts_starts
from rustybt.data.catalog.ingest_fetch import _incremental_starts as _incremental_starts
from rustybt.data.catalog.ingest_files import _fsync_dir, _fsync_tree, _no_interrupt, _remove_leftovers, bundle_lock
from rustybt.data.catalog.ingest_files import remove_leftovers as remove_leftovers
from rustybt.data.catalog.ingest_types import MODES, Ingestion, IngestOptions
from rustybt.data.catalog.layout import (
    bundle_dir,
    ingestion_dir,
    new_ingestion_id,
    staging_dir,
)
from rustybt.data.catalog.metadata import BundleRecord, IngestionRecord, MetadataStore
from rustybt.errors import IngestionError, IngestionNotFound, RustyBTError

__all__ = ["IngestOptions", "Ingestion", "remove_leftovers", "resolve_mode", "run_ingestion"]

log = logging.getLogger(__name__)


def run_ingestion(
    store: MetadataStore,
    root: Path,
    compression: str,
    record: BundleRecord,
    options: IngestOptions,
    adapter: BarAdapter | None = None,
) -> Ingestion:
    """Fetch, validate and write one ingestion of ``record``'s bundle; make it live atomically."""
    if options.mode is not None and options.mode not in MODES:
        raise IngestionError(f"unknown ingest mode {options.mode!r}; use one of {', '.join(MODES)}")
    started = time.perf_counter()
    directory = bundle_dir(root, record.name)
    with bundle_lock(directory, record.name):
        # the record as it is now, under the lock: an ingest that finished while this one waited moved the live
        # ingestion, and an append must build on that one, not on the one the caller saw
        record = store.get_bundle(record.name)
        previous = {r.id: r for r in store.ingestions(record.name)}
        quarantined = _remove_leftovers(directory, set(previous))
        ingestion_id = new_ingestion_id(set(previous))
        stage = staging_dir(root, record.name, ingestion_id)
        stage.mkdir(parents=True)
        final = ingestion_dir(root, record.name, ingestion_id)
        live = record.live_ingestion
        try:
            adapter = adapter or adapter_from_config(record.adapter, record.adapter_params)
            options = replace(options, mode=resolve_mode(options.mode, record, adapter))
            built = _build(store, root, compression, record, options, adapter, stage, ingestion_id)
            built.record = _with_duration(built.record, time.perf_counter() - started)
            if quarantined:
                built.record.details["quarantined"] = [str(p) for p in quarantined]
            _fsync_tree(stage)
            try:
                os.replace(stage, final)
                _fsync_dir(directory)
                store.commit_ingestion(built.record, built.new_sids, built.assets, built.adjustments)
            except BaseException:
                with _no_interrupt():
                    if not _committed(store, record.name, ingestion_id):
                        shutil.rmtree(final, ignore_errors=True)
                raise
        except BaseException as exc:
            with _no_interrupt():
                shutil.rmtree(stage, ignore_errors=True)
                committed = _committed(store, record.name, ingestion_id)
            if committed:  # interrupted after the commit: the new ingestion is live, say so
                log.warning(
                    "bundle %r: interrupted after ingestion %s was committed; it is live", record.name, ingestion_id
                )
                raise
            kept = f"ingestion {live} stays live" if live else "the bundle has no ingestion yet"
            log.error("ingestion of bundle %r failed; %s", record.name, kept)
            if isinstance(exc, RustyBTError) or not isinstance(exc, Exception):
                raise
            raise IngestionError(f"ingestion of bundle {record.name!r} failed ({kept}): {exc}") from exc
    result = built.result
    result.duration_s = built.record.duration_s
    result.record = built.record
    log.info("%r", result)
    return result


def resolve_mode(mode: str | None, record: BundleRecord, adapter: BarAdapter) -> str:
    """The mode an ingest runs in: ``mode`` if given, else ``append`` for an incremental update (a bundle with an
    ingestion, registered with an ``overlap``, whose adapter fetches from a date per symbol) and ``replace``
    otherwise. Appending to a bundle without an ingestion is a replace."""
    if record.live_ingestion is None:
        if mode == "append":
            log.info("bundle %r has no ingestion yet; append behaves like replace", record.name)
        return "replace"
    if mode is not None:
        return mode
    incremental = record.options.get("overlap") is not None and _accepts_starts(adapter)
    return "append" if incremental else "replace"


def _committed(store: MetadataStore, bundle: str, ingestion_id: str) -> bool:
    try:
        store.get_ingestion(bundle, ingestion_id)
    except IngestionNotFound:
        return False
    return True


def _with_duration(record: IngestionRecord, seconds: float) -> IngestionRecord:
    return replace(record, duration_s=round(seconds, 4))
