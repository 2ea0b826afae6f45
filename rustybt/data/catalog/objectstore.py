"""Bundles on object storage (S3 and S3-protocol stores): ingestions published atomically by a conditional write.

::

    <url>/registry/<bundle>.json                  the registration (adapter name, secret-free parameters, options)
    <url>/bundles/<bundle>/<id>/manifest.json     as on disk
    <url>/bundles/<bundle>/<id>/bars/frequency=<res>/year=<YYYY>/part-0.parquet
    <url>/bundles/<bundle>/<id>/catalog.sqlite    the metadata store as committed with this ingestion
    <url>/bundles/<bundle>/LIVE                   {"ingestion": "<id>"}: the one published ingestion

An ingestion runs through the ordinary catalog (:meth:`Catalog.ingest`: fetch, validation, Parquet, manifest,
checksums) in a local working catalog, is uploaded under its own prefix (invisible: nothing names it yet), and is
published by **one conditional PUT** of ``LIVE`` (``If-Match`` the ETag read before the ingest, ``If-None-Match: *``
for a first one). A writer that dies before that PUT changes nothing readers see; a concurrent writer that
published first makes this PUT fail (412) and this ingestion is reported unpublished.

The metadata store travels as a SQLite snapshot per ingestion (chosen over a shared database: every metadata query
stays the catalog's own, the snapshot is versioned with exactly the files it describes, and nothing else must be
reachable from every worker). Readers download a published ingestion (immutable) once into a local cache keyed by
its id and open it with the ordinary catalog code, so reads check CRCs and prune row groups exactly as locally.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import uuid
from pathlib import Path
from typing import Any

from rustybt.data.catalog.bundle import Bundle
from rustybt.data.catalog.catalog import Catalog
from rustybt.data.catalog.ingest import Ingestion
from rustybt.data.catalog.layout import CATALOG_DB, ingestion_dir, validate_bundle_name
from rustybt.errors import BundleNotFound, IngestionError

__all__ = ["ObjectStoreCatalog"]

log = logging.getLogger(__name__)

LIVE = "LIVE"


class ObjectStoreCatalog:
    """A catalog whose bundles live under an object-store URL (``s3://bucket/prefix``).

    Parameters
    ----------
    url
        ``s3://bucket/prefix`` (any fsspec protocol with conditional writes; tested on S3's protocol).
    storage_options
        fsspec / s3fs options: ``key``, ``secret``, ``token``, ``endpoint_url``, ``client_kwargs``... Without them
        the standard AWS environment variables, profiles and instance roles apply.
    cache_dir
        Local directory for the working catalog (ingests are written there first) and the read cache of published
        ingestions (immutable, kept by id). Default: ``<cache.disk_cache_dir>/objectstore/<digest of url>``
        (``RUSTYBT_CACHE_DIR``, else ``~/.rustybt/cache``).
    """

    def __init__(
        self, url: str, storage_options: dict[str, Any] | None = None, cache_dir: str | Path | None = None
    ) -> None:
        import fsspec

        protocol, _, path = url.partition("://")
        if not path:
            raise ValueError(f"expected an object-store URL such as s3://bucket/prefix, got {url!r}")
        self.url = url.rstrip("/")
        self.storage_options = dict(storage_options or {})
        self.fs = fsspec.filesystem(protocol, **self.storage_options)
        self._path = path.rstrip("/")
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        if cache_dir is None:
            from rustybt.config import load_config

            cache_dir = load_config().cache.disk_cache_dir / "objectstore" / digest
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self._work: Catalog | None = None

    def __repr__(self) -> str:
        return f"ObjectStoreCatalog({self.url!r})"

    # --- paths ---------------------------------------------------------------------------------------------
    def _key(self, *parts: str) -> str:
        return "/".join([self._path, *parts])

    def _bucket_key(self, *parts: str) -> tuple[str, str]:
        bucket, _, key = self._key(*parts).partition("/")
        return bucket, key

    @property
    def work(self) -> Catalog:
        """The local catalog ingests are written in before they are uploaded (registrations mirror the store's)."""
        if self._work is None:
            self._work = Catalog(self.cache_dir / "work")
        return self._work

    # --- registration --------------------------------------------------------------------------------------
    def register(self, name: str, **kwargs: Any) -> None:
        """Register bundle ``name`` (arguments as :meth:`Catalog.register`) and store the registration."""
        self.work.register(name, **kwargs)
        record = self.work.store.get_bundle(name)
        body = {
            "name": name,
            "adapter": record.adapter,
            "adapter_params": record.adapter_params,
            "calendar": record.calendar,
            "resolution": record.resolution,
        }
        self.fs.pipe(self._key("registry", f"{name}.json"), json.dumps(body, default=str).encode())

    def bundles(self) -> list[str]:
        """Names of the registered bundles."""
        try:
            names = self.fs.ls(self._key("registry"), detail=False)
        except FileNotFoundError:
            return []
        return sorted(Path(n).stem for n in names if n.endswith(".json"))

    # --- publishing ----------------------------------------------------------------------------------------
    def _live(self, name: str) -> tuple[str | None, str | None]:
        """(live ingestion id, ETag of LIVE), or (None, None) before a first publish."""
        bucket, key = self._bucket_key("bundles", validate_bundle_name(name), LIVE)
        try:
            answer = self._s3("get_object", Bucket=bucket, Key=key)
        except FileNotFoundError:
            return None, None
        body = answer["Body"]
        data = json.loads(body if isinstance(body, bytes) else self._read(body))
        return data["ingestion"], answer["ETag"]

    def _s3(self, method: str, **kwargs: Any) -> Any:
        from fsspec.asyn import sync

        async def call():
            out = await self.fs._call_s3(method, **kwargs)
            if "Body" in out and hasattr(out["Body"], "read"):
                async with out["Body"] as stream:
                    out["Body"] = await stream.read()
            return out

        return sync(self.fs.loop, call)

    @staticmethod
    def _read(body) -> bytes:
        return body.read()

    def live_ingestion(self, name: str) -> str:
        """Id of bundle ``name``'s published ingestion."""
        live, _ = self._live(name)
        if live is None:
            raise BundleNotFound(f"bundle {name!r} has no published ingestion under {self.url}")
        return live

    def ingest(self, name: str, **kwargs: Any) -> Ingestion:
        """Ingest bundle ``name`` (arguments as :meth:`Catalog.ingest`), upload it and publish it atomically.

        On any failure before the conditional PUT of ``LIVE`` (the source, validation, the upload, a concurrent
        writer that published first) the published ingestion stays the live one and readers see nothing new.
        """
        _, etag = self._live(name)  # what this ingest will replace; a change meanwhile fails the publish
        ingestion = self.work.ingest(name, **kwargs)
        ingestion_id = ingestion.record.id
        self._upload(name, ingestion_id)
        self._publish(name, ingestion_id, etag)
        log.info("bundle %r: ingestion %s published at %s", name, ingestion_id, self.url)
        return ingestion

    def _upload(self, name: str, ingestion_id: str) -> None:
        source = ingestion_dir(self.work.root, name, ingestion_id)
        target = self._key("bundles", name, ingestion_id)
        with tempfile.TemporaryDirectory() as tmp:  # a consistent copy of the metadata store (SQLite backup API)
            snapshot = Path(tmp) / CATALOG_DB
            with sqlite3.connect(self.work.root / CATALOG_DB) as src, sqlite3.connect(snapshot) as dst:
                src.backup(dst)
            self.fs.put(str(source) + "/", target + "/", recursive=True)
            self.fs.put_file(str(snapshot), f"{target}/{CATALOG_DB}")

    def _publish(self, name: str, ingestion_id: str, etag: str | None) -> None:
        bucket, key = self._bucket_key("bundles", name, LIVE)
        body = json.dumps({"ingestion": ingestion_id}).encode()
        condition = {"IfMatch": etag} if etag is not None else {"IfNoneMatch": "*"}
        try:
            self._s3("put_object", Bucket=bucket, Key=key, Body=body, **condition)
        except Exception as exc:
            if _precondition_failed(exc):
                live, _ = self._live(name)
                raise IngestionError(
                    f"bundle {name!r}: another ingestion ({live}) was published at {self.url} while this one ran; "
                    f"ingestion {ingestion_id} was uploaded but not published (it stays invisible); ingest again"
                ) from exc
            raise

    # --- reading -------------------------------------------------------------------------------------------
    def bundle(self, name: str, ingestion: str | None = None) -> Bundle:
        """Bundle ``name`` pinned to ``ingestion`` (default: the published one), read through the local cache."""
        ingestion = ingestion or self.live_ingestion(name)
        root = self.cache_dir / "read" / validate_bundle_name(name) / ingestion
        if not (root / CATALOG_DB).exists():
            self._download(name, ingestion, root)
        bundle = Catalog(root).bundle(name, ingestion)
        bundle._object_store = (self.url, self.storage_options)  # lets Dask workers open it from the store
        return bundle

    def _download(self, name: str, ingestion: str, root: Path) -> None:
        source = self._key("bundles", name, ingestion)
        if not self.fs.exists(f"{source}/manifest.json"):
            raise BundleNotFound(f"bundle {name!r}: ingestion {ingestion} is not under {self.url}")
        root.parent.mkdir(parents=True, exist_ok=True)
        tmp = root.parent / f".{ingestion}.{uuid.uuid4().hex[:8]}"
        try:
            target = ingestion_dir(tmp, name, ingestion)
            target.mkdir(parents=True)
            self.fs.get(source + "/", str(target) + "/", recursive=True)
            os.replace(target / CATALOG_DB, tmp / CATALOG_DB)
            try:
                os.replace(tmp, root)  # complete or absent: a process killed mid-download leaves only tmp
            except OSError:
                if not (root / CATALOG_DB).exists():  # not a concurrent download of the same ingestion
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _precondition_failed(exc: BaseException | None) -> bool:
    """Whether a failed PUT was refused by its condition (HTTP 412; s3fs wraps botocore's error in an OSError)."""
    seen = 0
    while exc is not None and seen < 5:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
        if code in ("PreconditionFailed", "ConditionalRequestConflict", "412"):
            return True
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return False
