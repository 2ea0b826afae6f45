"""The data catalog: bundles of Parquet bars plus a SQLite metadata store."""

from rustybt.data.catalog.bundle import Bundle
from rustybt.data.catalog.catalog import Catalog
from rustybt.data.catalog.ingest import Ingestion
from rustybt.data.catalog.manifest import Manifest, VerifyReport
from rustybt.data.catalog.metadata import BundleRecord, IngestionRecord

__all__ = ["Bundle", "BundleRecord", "Catalog", "Ingestion", "IngestionRecord", "Manifest", "VerifyReport"]
