"""Validation of bars on ingest (see :mod:`rustybt.data.validation.rules`)."""

from rustybt.data.validation.rules import RULES, ValidationConfig, ValidationReport, Violation, validate_bars

__all__ = ["RULES", "ValidationConfig", "ValidationReport", "Violation", "validate_bars"]
