"""The data catalog: bundles of Parquet bars plus a SQLite metadata store."""

from rustybt.data.adapters.registry import register_adapter_module
from rustybt.data.catalog.bundle import Bundle
from rustybt.data.catalog.catalog import Catalog
from rustybt.data.catalog.ingest import Ingestion
from rustybt.data.catalog.manifest import Manifest, VerifyReport
from rustybt.data.catalog.metadata import BundleRecord, IngestionRecord

# A migrated zipline bundle is re-ingested through the legacy adapter. The catalog, above both, wires it into the
# adapter registry by name, so the adapters package never imports rustybt.data.legacy (imported on first use).
register_adapter_module("zipline-bundle", "rustybt.data.legacy.adapter")

__all__ = ["Bundle", "BundleRecord", "Catalog", "Ingestion", "IngestionRecord", "Manifest", "VerifyReport"]
