"""Dependency graphs of pipeline terms and the execution plan (lookback rows per term).

:class:`TermGraph` holds the terms of a pipeline and their dependency edges. :class:`ExecutionPlan` specializes
loadable terms to the domain being run and computes, for every term, how many *extra rows* (sessions before the
start date) must be computed so that each windowed consumer gets full windows -- zipline's algorithm, including
downsampled terms pushing their start back to a period start.
"""

from __future__ import annotations

import uuid

from rustybt.pipeline.errors import CyclicDependency
from rustybt.pipeline.term import LoadableTerm

__all__ = ["SCREEN_NAME", "ExecutionPlan", "TermGraph", "maybe_specialize"]

# a unique name that no user column can collide with
SCREEN_NAME = "screen_" + uuid.uuid4().hex


def maybe_specialize(term, domain):
    """Specialize ``term`` to ``domain`` if it is loadable."""
    if isinstance(term, LoadableTerm):
        return term.specialize(domain)
    return term


class TermGraph:
    """The terms of a pipeline (``{name: term}``) and everything they depend on.

    Nodes are kept in insertion order; ``parents[t]`` are the terms ``t`` depends on, ``children[t]`` the terms
    that depend on ``t``.
    """

    def __init__(self, terms: dict) -> None:
        self._parents: dict = {}
        self._children: dict = {}
        self._outputs = dict(terms)
        for term in terms.values():
            self._add(self._node(term), set())

    def _node(self, term):
        return term

    def _add(self, term, ancestors: set) -> None:
        if term in ancestors:
            raise CyclicDependency(f"cyclic dependency through {term!r}")
        if term in self._parents:
            return
        ancestors.add(term)
        self._parents[term] = []
        self._children.setdefault(term, [])
        for dep in term.dependencies:
            node = self._node(dep)
            self._add(node, ancestors)
            if node not in self._parents[term]:
                self._parents[term].append(node)
                self._children.setdefault(node, []).append(term)
        ancestors.discard(term)

    # --- queries ---------------------------------------------------------------------------------------------
    def __contains__(self, term) -> bool:
        return term in self._parents

    def __len__(self) -> int:
        return len(self._parents)

    def __iter__(self):
        return iter(self._parents)

    @property
    def outputs(self) -> dict:
        return self._outputs

    @property
    def screen_name(self) -> str:
        return SCREEN_NAME

    def parents(self, term) -> list:
        return self._parents[term]

    def children(self, term) -> list:
        return self._children[term]

    @property
    def loadable_terms(self) -> set:
        return {t for t in self._parents if isinstance(t, LoadableTerm)}

    def ordered(self) -> list:
        """All terms, dependencies first (depth-first from the screen, then the outputs: each chain is contiguous)."""
        order: list = []
        seen: set = set()

        def visit(term) -> None:
            if term in seen:
                return
            seen.add(term)
            for parent in self._parents[term]:
                visit(parent)
            order.append(term)

        # the screen first: the engine can then reduce every output column to the screened cells (and free it)
        # as soon as it is computed
        names = sorted(self._outputs, key=lambda name: name != SCREEN_NAME)
        for name in names:
            visit(self._node(self._outputs[name]))
        for term in self._parents:
            visit(term)
        return order

    def execution_order(self, workspace, refcounts) -> list:
        """Terms still to compute: topologically ordered, skipping precomputed and unreferenced terms."""
        return [t for t in self.ordered() if refcounts.get(t, 0) > 0 and t not in workspace]

    def initial_refcounts(self, initial_terms) -> dict:
        """Each term starts with one reference per consumer, outputs with one more; precomputed terms release
        their dependencies."""
        refcounts = {t: len(self._children[t]) for t in self._parents}
        for term in self._outputs.values():
            refcounts[self._node(term)] += 1
        for term in initial_terms:
            if term in self._parents:
                self._decref_recursive(term, refcounts)
        return refcounts

    def _decref_recursive(self, term, refcounts) -> None:
        for parent in self._parents[term]:
            refcounts[parent] -= 1
            if refcounts[parent] == 0:
                self._decref_recursive(parent, refcounts)

    def decref_dependencies(self, term, refcounts) -> set:
        """Release ``term``'s dependencies; return those no longer needed by anyone."""
        garbage = set()
        for parent in self._parents[term]:
            refcounts[parent] -= 1
            if refcounts[parent] == 0:
                garbage.add(parent)
        return garbage


class ExecutionPlan(TermGraph):
    """A TermGraph for one run: loadable terms specialized to ``domain`` and extra rows computed per term.

    ``extra_rows[t]`` is the number of rows of ``t`` to compute before ``start_date``; ``offset[t, dep]`` the
    number of leading rows of ``dep``'s result that ``t`` must drop (``extra_rows[dep] - extra_rows[t] -
    lookback of t on dep``).
    """

    def __init__(self, domain, terms: dict, start_date, end_date, min_extra_rows: int = 0) -> None:
        self.domain = domain
        super().__init__(terms)
        self._extra_rows: dict = {}
        self._min_extra_rows: dict = {}
        sessions = domain.sessions()
        for term in terms.values():
            self._set_extra_rows(self._node(term), sessions, start_date, end_date, min_extra_rows)
        self._offset = None

    def _node(self, term):
        return maybe_specialize(term, self.domain)

    def _set_extra_rows(self, term, all_dates, start_date, end_date, min_extra_rows: int) -> None:
        if self._min_extra_rows.get(term, -1) >= min_extra_rows:
            return
        extra = term.compute_extra_rows(all_dates, start_date, end_date, min_extra_rows)
        if extra < min_extra_rows:
            raise ValueError(f"term {term!r} requested fewer rows than the minimum of {min_extra_rows}")
        self._extra_rows[term] = max(extra, self._extra_rows.get(term, 0))
        self._min_extra_rows[term] = max(min_extra_rows, self._min_extra_rows.get(term, 0))
        for dep, additional in term.dependencies.items():
            self._set_extra_rows(self._node(dep), all_dates, start_date, end_date, extra + additional)

    @property
    def extra_rows(self) -> dict:
        return self._extra_rows

    @property
    def offset(self) -> dict:
        if self._offset is None:
            extra = self._extra_rows
            out = {}
            for term in self._parents:
                for dep, requested in term.dependencies.items():
                    node = self._node(dep)
                    out[term, node] = extra[node] - extra[term] - requested
            self._offset = out
        return self._offset

    def mask_and_dates_for_term(self, term, root_mask_term, workspace, all_dates):
        """The mask rows and date labels a term is computed over."""
        mask = term.mask
        mask_offset = self._extra_rows[mask] - self._extra_rows[term]
        dates_offset = self._extra_rows[root_mask_term] - self._extra_rows[term]
        return workspace[mask][mask_offset:], all_dates[dates_offset:]
