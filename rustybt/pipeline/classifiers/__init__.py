"""Classifiers: categorical pipeline terms."""

from rustybt.pipeline.classifiers.classifier import (
    Classifier,
    CustomClassifier,
    Everything,
    Latest,
    Quantiles,
    Relabel,
)

__all__ = ["Classifier", "CustomClassifier", "Everything", "Latest", "Quantiles", "Relabel"]
