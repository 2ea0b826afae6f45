"""Data layers: adapters, validation, catalog, readers."""
