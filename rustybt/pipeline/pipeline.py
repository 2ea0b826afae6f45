"""Pipeline: named output terms plus an optional screen, run by an engine over a date range."""

from __future__ import annotations

from rustybt.pipeline.domain import GENERIC, Domain, infer_domain
from rustybt.pipeline.errors import UnsupportedPipelineOutput
from rustybt.pipeline.filters import Filter
from rustybt.pipeline.graph import SCREEN_NAME, ExecutionPlan, TermGraph
from rustybt.pipeline.term import AssetExists, ComputableTerm, Term

__all__ = ["Pipeline"]


class Pipeline:
    """A set of named pipeline terms to compute together, and an optional screen.

    Parameters
    ----------
    columns
        ``{name: term}``: the output columns (Factors, Filters, Classifiers; use ``.latest`` for raw columns).
    screen
        A Filter: only (date, asset) pairs where it is True appear in the output. Default: every asset alive.
    domain
        The domain to run on (default: inferred from the terms, else the engine's default).
    """

    def __init__(self, columns: dict | None = None, screen: Filter | None = None, domain: Domain = GENERIC) -> None:
        if columns is None:
            columns = {}
        if not isinstance(columns, dict):
            raise TypeError(f"Pipeline columns must be a dict of name -> term, got {type(columns).__name__}")
        if screen is not None and not isinstance(screen, Filter):
            raise TypeError(f"Pipeline screen must be a Filter, got {type(screen).__name__}")
        if not isinstance(domain, Domain):
            raise TypeError(f"Pipeline domain must be a Domain, got {type(domain).__name__}")
        for name, term in columns.items():
            self.validate_column(name, term)
            _check_computable(name, term)
        self._columns = dict(columns)
        self._screen = screen
        self._domain = domain

    @property
    def columns(self) -> dict:
        """The output columns (a live dict: prefer :meth:`add` / :meth:`remove`)."""
        return self._columns

    @property
    def screen(self) -> Filter | None:
        return self._screen

    def add(self, term: Term, name: str, overwrite: bool = False) -> None:
        """Add ``term`` as column ``name`` (KeyError if it exists, unless ``overwrite``)."""
        self.validate_column(name, term)
        if name in self._columns:
            if not overwrite:
                raise KeyError(f"Column '{name}' already exists.")
            self.remove(name)
        _check_computable(name, term)
        self._columns[name] = term

    def remove(self, name: str) -> Term:
        """Remove and return column ``name``."""
        return self._columns.pop(name)

    def set_screen(self, screen: Filter, overwrite: bool = False) -> None:
        """Set the screen (ValueError if one is set, unless ``overwrite``)."""
        if not isinstance(screen, Filter):
            raise TypeError(f"Pipeline screen must be a Filter, got {type(screen).__name__}")
        if self._screen is not None and not overwrite:
            raise ValueError(
                "set_screen() called with overwrite=False and screen already set.\n"
                "If you want to apply multiple filters as a screen use set_screen(filter1 & filter2 & ...).\n"
                "If you want to replace the previous screen with a new one, use set_screen(new_filter, "
                "overwrite=True)."
            )
        self._screen = screen

    @staticmethod
    def validate_column(column_name: str, term: Term) -> None:
        if not isinstance(column_name, str):
            raise TypeError(f"Pipeline column names must be strings, got {column_name!r}")
        if not isinstance(term, Term):
            raise TypeError(f"Pipeline column {column_name!r} must be a pipeline term, got {type(term).__name__}")
        if term.ndim == 1:
            raise UnsupportedPipelineOutput(column_name, term)

    # --- planning ----------------------------------------------------------------------------------------------
    def _prepare_graph_terms(self, default_screen) -> dict:
        columns = dict(self._columns)
        columns[SCREEN_NAME] = self._screen if self._screen is not None else default_screen
        return columns

    def to_execution_plan(self, domain, default_screen, start_date, end_date) -> ExecutionPlan:
        if self._domain is not GENERIC and self._domain != domain:
            raise AssertionError(
                f"Attempted to compile Pipeline with domain {domain} to execution plan with different domain "
                f"{self._domain}."
            )
        return ExecutionPlan(domain, self._prepare_graph_terms(default_screen), start_date, end_date)

    def to_simple_graph(self, default_screen=None) -> TermGraph:
        return TermGraph(self._prepare_graph_terms(default_screen or AssetExists()))

    @property
    def _output_terms(self) -> list:
        terms = list(self._columns.values())
        if self._screen is not None:
            terms.append(self._screen)
        return terms

    def domain(self, default: Domain) -> Domain:
        """The domain to run on: explicit, inferred from the terms, or ``default``."""
        inferred = infer_domain(self._output_terms)
        if inferred is GENERIC and self._domain is GENERIC:
            return default
        if inferred is GENERIC:
            return self._domain
        if self._domain is GENERIC:
            return inferred
        if inferred != self._domain:
            raise ValueError(
                f"Conflicting domains in Pipeline. Inferred {inferred}, but {self._domain} was passed explicitly."
            )
        return inferred

    # --- display -----------------------------------------------------------------------------------------------
    def show_graph(self, format: str = "svg") -> str:
        """The dependency graph as an SVG string (drawn without graphviz)."""
        if format != "svg":
            raise ValueError(f"show_graph supports format='svg' only, got {format!r}")
        from rustybt.pipeline.visualize import graph_svg

        graph = self.to_simple_graph()
        names = {term: name for name, term in self._columns.items()}
        return graph_svg(graph, names, screen=self._screen)

    def __repr__(self) -> str:
        cols = ", ".join(f"{name!r}: {term!r}" for name, term in self._columns.items())
        screen = f", screen={self._screen!r}" if self._screen is not None else ""
        domain = f", domain={self._domain!r}" if self._domain is not GENERIC else ""
        return f"Pipeline({{{cols}}}{screen}{domain})"

    def _repr_html_(self) -> str:
        from rustybt._html import pipeline_html  # the same view with or without %load_ext rustybt

        return pipeline_html(self)


def _check_computable(name: str, term: Term) -> None:
    if not isinstance(term, ComputableTerm):
        raise TypeError(
            f"Column {name!r} contains an invalid pipeline term ({term!r}). Did you mean to append '.latest'?"
        )
