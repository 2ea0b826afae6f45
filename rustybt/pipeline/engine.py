"""SimplePipelineEngine: computes a pipeline over a date range, one term at a time, all dates at once.

How a run works (zipline's algorithm):

1. Resolve the domain (explicit, inferred from the terms, or the engine default) and build an
   :class:`~rustybt.pipeline.graph.ExecutionPlan`: every term with the number of extra (lookback) rows it needs.
2. Build the root mask from asset lifetimes (``AssetFinder.lifetimes(dates, include_start_date=False)``) over
   the sessions from ``start - extra_rows`` to ``end``, keeping the domain's assets that were alive at least once.
3. Walk the terms in dependency order. Loadable terms are fetched from their loader (columns sharing a loader and
   a lookback are fetched in one call) as :class:`~rustybt.pipeline.adjusted_array.AdjustedArray`. Every other
   term is computed over its whole ``(dates x assets)`` block in one call -- a Numba kernel for built-ins:
   windowed terms receive AdjustedArrays (point-in-time adjustments applied inside the kernels), others plain
   arrays. Each intermediate result is freed as soon as its last consumer has run (reference counting).
4. Drop the lookback rows, apply the screen and return a ``(date, asset)`` MultiIndex DataFrame whose asset level
   holds :class:`rustybt.assets.Asset` objects (or a polars DataFrame with ``output="polars"``).

Around these steps the engine enters its hooks (:mod:`rustybt.pipeline.hooks`, zipline's interface): the run, each
chunk, each load and each term. Progress bars, Numba's background set-up and the pause of the cycle collector are
hooks, and so is anything a user passes as ``hooks=[...]``.

``_compute(inputs, dates, assets, mask)`` contract for terms: ``dates`` is the DatetimeIndex of the term's rows,
``assets`` the int64 sids (a pandas Index), ``mask`` the bool ``(len(dates), len(assets))`` mask of the term;
windowed terms get one AdjustedArray per input holding ``len(dates) + window_length - 1`` rows, other terms one
array per input with ``len(dates)`` rows; the result has shape ``mask.shape`` (``(len(dates), 1)`` for 1-D terms).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from rustybt._utils import to_utc
from rustybt.config import env_flag
from rustybt.pipeline._output import OutputCollector
from rustybt.pipeline.adjusted_array import AdjustedArray, ensure_adjusted_array, ensure_ndarray
from rustybt.pipeline.domain import GENERIC, Domain
from rustybt.pipeline.errors import NoFurtherDataError, PipelineError, UnknownColumn
from rustybt.pipeline.graph import SCREEN_NAME
from rustybt.pipeline.hooks import (
    DelegatingHooks,
    NoHooks,
    PipelineHooks,
    ProgressHooks,
    builtin_speedups,
    compile_notice,
)
from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.mixins import MultiOutput
from rustybt.pipeline.pipeline import Pipeline
from rustybt.pipeline.term import AssetExists, InputDates, LoadableTerm

__all__ = [
    "SimplePipelineEngine",
    "compute_date_range_chunks",
    "run_chunked_pipeline",
    "run_pipeline",
    "set_default_engine",
    "to_polars",
]

log = logging.getLogger(__name__)

#: runs longer than this many sessions show a progress bar when ``progress=None``
AUTO_PROGRESS_SESSIONS = 1260


def _timestamp(value, name: str) -> pd.Timestamp:
    # sessions are naive (midnight UTC): an aware value is converted to UTC first
    return to_utc(value, name).tz_localize(None)


def _slice_rows(value, offset: int):
    if offset == 0:
        return value
    return value[offset:]


class _MappingLoaders:
    def __init__(self, mapping: Mapping) -> None:
        self._mapping = dict(mapping)
        self._generic = {}
        for key, loader in self._mapping.items():
            self._generic.setdefault(_unspecialized(key), loader)

    def __call__(self, column):
        if column in self._mapping:
            return self._mapping[column]
        generic = _unspecialized(column)
        if generic in self._mapping:
            return self._mapping[generic]
        if generic in self._generic:
            return self._generic[generic]
        known = ", ".join(sorted(repr(c) for c in self._mapping)) or "none"
        raise UnknownColumn(f"No pipeline loader is registered for {column!r}. Known columns: {known}.")


def _unspecialized(column):
    unspecialize = getattr(column, "unspecialize", None)
    return unspecialize() if unspecialize is not None else column


def _as_get_loader(get_loader) -> Callable:
    if hasattr(get_loader, "load_adjusted_array"):
        return lambda column: get_loader
    if isinstance(get_loader, Mapping):
        return _MappingLoaders(get_loader)
    if callable(get_loader):
        return get_loader
    raise TypeError(
        "get_loader must be a callable (column -> loader), a {column: loader} mapping or a single loader, got "
        f"{type(get_loader).__name__}"
    )


class SimplePipelineEngine:
    """Computes pipelines term by term over whole date ranges.

    Parameters
    ----------
    get_loader
        Where column data comes from: a callable ``column -> PipelineLoader``, a ``{column: loader}`` mapping
        (generic columns match their specializations) or one loader serving every column.
    asset_finder
        A :class:`rustybt.assets.AssetFinder`: asset lifetimes form the root mask, and its assets label the output.
    default_domain
        Domain for pipelines that do not determine one (a :class:`~rustybt.pipeline.domain.Domain` or a calendar
        name such as ``"XNYS"``). Default: :data:`~rustybt.pipeline.domain.GENERIC` (the pipeline must say).
    progress
        Default progress-bar setting for runs (``None`` = automatic: chunked or long runs).
    default_hooks
        Hooks (:class:`~rustybt.pipeline.hooks.PipelineHooks`) entered by every run of this engine, as zipline's.
    speedups
        The built-in hooks that make runs faster, entered outermost (default:
        :func:`~rustybt.pipeline.hooks.builtin_speedups`); ``speedups=[]`` runs without them (same results).
    """

    def __init__(
        self,
        get_loader,
        asset_finder,
        default_domain: Domain | str = GENERIC,
        *,
        progress=None,
        default_hooks: Sequence[PipelineHooks] = (),
        speedups: Sequence[PipelineHooks] | None = None,
    ) -> None:
        self._get_loader = _as_get_loader(get_loader)
        self._finder = asset_finder
        self._root_mask_term = AssetExists()
        self._root_mask_dates_term = InputDates()
        if isinstance(default_domain, str):
            default_domain = Domain(default_domain)
        if not isinstance(default_domain, Domain):
            raise TypeError(f"default_domain must be a Domain or a calendar name, got {default_domain!r}")
        self._default_domain = default_domain
        self._progress = progress
        self._default_hooks = tuple(default_hooks)
        self._speedups = builtin_speedups() if speedups is None else tuple(speedups)
        self._in_domain: dict[tuple, np.ndarray] = {}
        self._array_pool = _pool.ArrayPool()
        self._last_root_mask: tuple | None = None  # (key, frame) of the last run's root mask

    # --- public API ------------------------------------------------------------------------------------------
    def run_pipeline(
        self,
        pipeline: Pipeline,
        start_date,
        end_date,
        hooks: Sequence[PipelineHooks] | None = None,
        *,
        output: str = "pandas",
        progress=None,
    ):
        """Compute ``pipeline`` for every session from ``start_date`` to ``end_date`` (inclusive).

        Returns a DataFrame indexed by (date, asset) with one column per pipeline column and one row per asset
        passing the screen (or alive, without a screen) each day; ``output="polars"`` returns a polars frame.
        ``hooks`` (:class:`~rustybt.pipeline.hooks.PipelineHooks`) are entered around the run's events, after the
        engine's own; ``progress`` (``None``: the engine's setting, else automatic) adds a progress bar.
        """
        _check_output(output)
        start, end = _timestamp(start_date, "start_date"), _timestamp(end_date, "end_date")
        hooks = self._resolve_hooks(hooks, self._progress_enabled(progress, pipeline, start, end, chunks=1))
        with compile_notice.watching(), hooks.running_pipeline(pipeline, start, end):
            result = self._run_pipeline_impl(pipeline, start, end, hooks)
        return to_polars(result) if output == "polars" else result

    def run_chunked_pipeline(
        self,
        pipeline: Pipeline,
        start_date,
        end_date,
        chunksize: int,
        hooks: Sequence[PipelineHooks] | None = None,
        *,
        output: str = "pandas",
        progress=None,
    ):
        """:meth:`run_pipeline` in chunks of ``chunksize`` sessions (less memory); same result."""
        _check_output(output)
        start, end = _timestamp(start_date, "start_date"), _timestamp(end_date, "end_date")
        if end < start:
            raise ValueError(f"start_date must be before or equal to end_date \nstart_date={start}, end_date={end}")
        domain = self.resolve_domain(pipeline)
        ranges = compute_date_range_chunks(domain.sessions(), start, end, chunksize)
        hooks = self._resolve_hooks(hooks, self._progress_enabled(progress, pipeline, start, end, len(ranges)))
        with (
            compile_notice.watching(),
            hooks.running_pipeline(pipeline, start, end),
            _pool.pooled(_pool.active_pool() or self._array_pool),
        ):
            chunks = [self._run_pipeline_impl(pipeline, s, e, hooks) for s, e in ranges]
        if len(chunks) == 1:
            result = chunks[0]
        else:
            nonempty = [c for c in chunks if len(c)]
            result = categorical_df_concat(nonempty) if nonempty else chunks[0]
        return to_polars(result) if output == "polars" else result

    @property
    def array_pool(self) -> _pool.ArrayPool:
        """Result arrays kept between runs for reuse (at most 512 MiB), and the buffers of the last two result frames
        (reused once those frames are dropped); ``engine.array_pool.clear()`` frees them."""
        return self._array_pool

    def resolve_domain(self, pipeline: Pipeline) -> Domain:
        """The concrete domain ``pipeline`` runs on."""
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"expected a Pipeline, got {type(pipeline).__name__}")
        domain = pipeline.domain(default=self._default_domain)
        if domain is GENERIC:
            raise ValueError(
                "Unable to determine domain for Pipeline.\nPass domain=<desired domain> to your Pipeline or "
                "default_domain= to the engine (e.g. US_EQUITIES)."
            )
        return domain

    # --- the run ---------------------------------------------------------------------------------------------
    def _resolve_hooks(self, hooks, show_progress: bool) -> PipelineHooks:
        """The speed-ups, the engine's default hooks, the run's ``hooks`` and a progress bar, as one hook."""
        if isinstance(hooks, PipelineHooks):
            hooks = [hooks]
        chain = [*self._speedups, *self._default_hooks, *(hooks or ())]
        if show_progress:
            chain.append(ProgressHooks())
        return DelegatingHooks(chain)

    def _progress_enabled(self, progress, pipeline, start, end, chunks: int) -> bool:
        if progress is None:
            progress = self._progress
        if progress is not None:
            return bool(progress)
        forced = env_flag("RUSTYBT_PROGRESS")  # on: always, off: never, unset: automatic
        if forced is not None:
            return forced
        if chunks > 1:
            return True
        try:
            sessions = self.resolve_domain(pipeline).sessions()
        except Exception:
            return False
        lo, hi = sessions.searchsorted(start), sessions.searchsorted(end, side="right")
        return hi - lo > AUTO_PROGRESS_SESSIONS

    def _run_pipeline_impl(self, pipeline, start_date, end_date, hooks: PipelineHooks) -> pd.DataFrame:
        """One chunk: the plan and root mask of ``start_date..end_date``, the terms, the result frame."""
        if end_date < start_date:
            raise ValueError(
                f"start_date must be before or equal to end_date \nstart_date={start_date}, end_date={end_date}"
            )
        domain = self.resolve_domain(pipeline)
        sessions = domain.sessions()
        _check_session(sessions, start_date, "start", domain)
        _check_session(sessions, end_date, "end", domain)
        plan = pipeline.to_execution_plan(domain, self._root_mask_term, start_date, end_date)
        extra_rows = plan.extra_rows[self._root_mask_term]
        root_mask = self._compute_root_mask(domain, sessions, start_date, end_date, extra_rows)
        dates = root_mask.index
        sids = np.asarray(root_mask.columns, dtype=np.int64)
        workspace = {
            self._root_mask_term: np.asfortranarray(root_mask.to_numpy(dtype=bool)),
            self._root_mask_dates_term: np.asarray(dates.values).reshape(-1, 1),
        }
        refcounts = plan.initial_refcounts(workspace)
        order = plan.execution_order(workspace, refcounts)
        columns = {name: plan._node(term) for name, term in plan.outputs.items() if name != SCREEN_NAME}
        screen = plan._node(plan.outputs[SCREEN_NAME])
        collector = OutputCollector(columns, plan.extra_rows, dates[extra_rows:], len(sids), screen=screen)
        with hooks.computing_chunk(order, start_date, end_date), _pool.pooled(_pool.active_pool() or self._array_pool):
            self.compute_chunk(plan, dates, sids, workspace, refcounts, order, hooks, collector=collector)
        assets = np.empty(len(sids), dtype=object)
        assets[:] = self._finder.retrieve_all([int(s) for s in sids])
        return collector.frame(assets)

    def _compute_root_mask(self, domain, sessions, start_date, end_date, extra_rows: int) -> pd.DataFrame:
        start_idx, end_idx = sessions.slice_locs(start_date, end_date)
        if start_idx < extra_rows:
            raise NoFurtherDataError.from_lookback_window(
                first_date=sessions[0], lookback_start=start_date, lookback_length=extra_rows, available=start_idx
            )
        dates = sessions[start_idx - extra_rows : end_idx]
        # the same range again (a notebook re-running a pipeline): the same mask, which the run only reads
        key = (domain, dates[0], dates[-1], len(dates))
        if self._last_root_mask is not None and self._last_root_mask[0] == key:
            return self._last_root_mask[1]
        result = self._root_mask_over(domain, dates, start_date, end_date)
        self._last_root_mask = (key, result)
        return result

    def _root_mask_over(self, domain, dates, start_date, end_date) -> pd.DataFrame:
        lifetimes = self._finder.lifetimes(dates, include_start_date=False)
        if not lifetimes.columns.is_unique:
            raise AssertionError(f"Duplicated sids: {sorted(set(lifetimes.columns[lifetimes.columns.duplicated()]))}")
        key = (domain, len(lifetimes.columns))
        in_domain = self._in_domain.get(key)
        if in_domain is None:  # one Python call per asset: computed once per domain
            in_domain = np.array(
                [domain.includes(self._finder.retrieve_asset(int(sid))) for sid in lifetimes.columns], dtype=bool
            )
            self._in_domain[key] = in_domain
        existed = lifetimes.to_numpy(dtype=bool).any(axis=0) & in_domain
        result = lifetimes if existed.all() else lifetimes.loc[:, existed]
        if result.shape[1] == 0:
            raise ValueError(
                f"Failed to find any assets of domain {domain!r} that existed between {start_date.date()} and "
                f"{end_date.date()} (calendar {domain.calendar_name}). Check the assets' start/end dates, asset "
                "classes and calendars, or pass the Pipeline another domain."
            )
        return result

    def _loader(self, term):
        try:
            loader = self._get_loader(term)
        except UnknownColumn:
            raise
        except (KeyError, LookupError) as exc:
            raise UnknownColumn(f"No pipeline loader for column {term!r}: {exc}") from exc
        if loader is None or not hasattr(loader, "load_adjusted_array"):
            raise UnknownColumn(f"No pipeline loader for column {term!r} (get_loader returned {loader!r})")
        return loader

    def _inputs_for_term(self, term, workspace, plan) -> list:
        offsets = plan.offset
        out = []
        for input_ in term.inputs:
            node = plan._node(input_)
            value = workspace[node]
            offset = offsets[term, node]
            if term.windowed:
                out.append(ensure_adjusted_array(value, node.missing_value).sliced(offset))
            else:
                out.append(_slice_rows(ensure_ndarray(value), offset))
        return out

    def compute_chunk(
        self, plan, dates, sids, workspace, refcounts, execution_order, hooks=None, *, collector=None
    ) -> dict:
        """Compute every term of ``execution_order``; return the outputs without their lookback rows.

        ``hooks`` (a :class:`~rustybt.pipeline.hooks.PipelineHooks`) are entered around each load and each term.
        With a ``collector`` (:class:`~rustybt.pipeline._output.OutputCollector`) each output term is handed to
        it as soon as it is computed and then released like an intermediate; the return value is then empty.
        """
        hooks = hooks if hooks is not None else NoHooks()
        workspace = dict(workspace)
        assets = pd.Index(sids, dtype="int64")
        pool = _pool.active_pool() or _pool.ArrayPool(max_bytes=0)  # released arrays feed later allocations

        def hand_over(term) -> None:
            # the collector takes the screen and output columns; each reference it took is one fewer to wait for
            if collector is None:
                return
            taken = collector.take(term, workspace[term])
            if taken:
                refcounts[term] -= taken
                if refcounts[term] <= 0:
                    _release(pool, workspace, term)

        for term in list(workspace):
            hand_over(term)
        batches = self._load_batches(plan, execution_order, workspace)
        for term in execution_order:
            if term in workspace:  # given, or loaded with an earlier term of its batch
                continue
            if isinstance(term, LoadableTerm):
                batch = batches[term]
                with hooks.loading_terms(batch):
                    workspace.update(self._load(plan, batch, dates, sids, workspace))
                for column in batch:
                    hand_over(column)
            else:
                with hooks.computing_term(term):
                    workspace[term] = self._compute(plan, term, workspace, dates, assets)
                for garbage in plan.decref_dependencies(term, refcounts):
                    _release(pool, workspace, garbage)
                hand_over(term)

        if collector is not None:
            return {}
        return {
            name: _slice_rows(workspace[plan._node(term)], plan.extra_rows[plan._node(term)])
            for name, term in plan.outputs.items()
        }

    def _load_batches(self, plan, execution_order, workspace) -> dict:
        """``{term: the terms loaded with it}``: one load call per loader (one scan of the data)."""
        batches: dict[int, list] = {}
        of_term = {}
        for term in execution_order:
            if term in plan.loadable_terms and term not in workspace:
                batch = batches.setdefault(id(self._loader(term)), [])
                batch.append(term)
                of_term[term] = batch
        return of_term

    def _load(self, plan, batch, dates, sids, workspace) -> dict:
        """Load ``batch`` in one call over the longest lookback it needs; the others get a row slice of it."""
        loader = self._loader(batch[0])
        deepest = max(batch, key=plan.extra_rows.__getitem__)
        mask, mask_dates = plan.mask_and_dates_for_term(deepest, self._root_mask_term, workspace, dates)
        loaded = loader.load_adjusted_array(plan.domain, list(batch), mask_dates, sids, mask)
        _check_loaded(loader, batch, loaded, (len(mask_dates), len(sids)))
        extra = plan.extra_rows[deepest]
        return {column: value.sliced(extra - plan.extra_rows[column]) for column, value in loaded.items()}

    def _compute(self, plan, term, workspace, dates, assets):
        """``term``'s result over its rows (its inputs are in ``workspace``)."""
        mask, mask_dates = plan.mask_and_dates_for_term(term, self._root_mask_term, workspace, dates)
        inputs = self._inputs_for_term(term, workspace, plan)
        try:
            result = term._compute(inputs, mask_dates, assets, mask)
        except PipelineError:
            raise
        except Exception as exc:
            exc.add_note(f"while computing pipeline term {term!r}")
            raise
        _check_result(term, result, mask)
        return result


def _release(pool: _pool.ArrayPool, workspace: dict, term) -> None:
    """Drop ``term``'s value from the workspace, handing its arrays to the pool (each passed as a temporary, so
    the pool sees only its own reference). A multiple-output value gives back each field array: its field
    terms' results are those arrays, which the pool could not take while this value still held them."""
    if isinstance(workspace[term], MultiOutput):
        fields = workspace.pop(term).fields
        while fields:
            pool.release(fields.popitem()[1])
    else:
        pool.release(workspace.pop(term))


def _check_output(output: str) -> None:
    if output not in ("pandas", "polars"):
        raise ValueError(f"output must be 'pandas' or 'polars', got {output!r}")


def _check_session(sessions: pd.DatetimeIndex, when: pd.Timestamp, which: str, domain) -> None:
    if when in sessions:
        return
    pos = sessions.searchsorted(when)
    before = sessions[pos - 1].date() if pos > 0 else None
    after = sessions[pos].date() if pos < len(sessions) else None
    raise ValueError(
        f"Pipeline {which} date ({when.date()}) is not a trading session for domain {domain!r} "
        f"(calendar {domain.calendar_name}). Nearest sessions: before {before}, after {after}."
    )


def _check_loaded(loader, to_load, loaded, shape) -> None:
    if not isinstance(loaded, Mapping) or set(loaded) != set(to_load):
        got = sorted(map(repr, loaded)) if isinstance(loaded, Mapping) else type(loaded).__name__
        raise PipelineError(
            f"{type(loader).__name__}.load_adjusted_array did not return an AdjustedArray for each column\n"
            f"expected: {sorted(map(repr, to_load))}\ngot:      {got}"
        )
    for column, value in loaded.items():
        if not isinstance(value, AdjustedArray):
            raise PipelineError(
                f"{type(loader).__name__} returned {type(value).__name__} for {column!r}; expected an AdjustedArray"
            )
        if value.shape != shape:
            raise PipelineError(
                f"{type(loader).__name__} returned shape {value.shape} for {column!r}; expected {shape} "
                "(len(dates), len(sids))"
            )


def _check_result(term, result, mask: np.ndarray) -> None:
    expected = mask.shape if term.ndim == 2 else (mask.shape[0], 1)
    shape = getattr(result, "shape", None)
    if shape != expected:
        raise PipelineError(
            f"{term!r} produced a result of shape {shape}, expected {expected} (one row per date, one column per asset)"
        )


def compute_date_range_chunks(sessions: pd.DatetimeIndex, start_date, end_date, chunksize) -> list:
    """``(first, last)`` session pairs covering ``start_date..end_date`` in chunks of ``chunksize`` sessions."""
    start_date, end_date = pd.Timestamp(start_date), pd.Timestamp(end_date)
    for when, which in ((start_date, "Start"), (end_date, "End")):
        if when not in sessions:
            raise ValueError(f"{which} date {when.date()} is not found in calendar.")
    if end_date < start_date:
        raise ValueError(f"Start date {start_date.date()} is after end date {end_date.date()}.")
    if chunksize is None:
        return [(start_date, end_date)]
    if not isinstance(chunksize, int | np.integer) or chunksize < 1:
        raise ValueError(f"chunksize must be a positive integer, got {chunksize!r}")
    lo, hi = sessions.slice_locs(start_date, end_date)
    span = sessions[lo:hi]
    return [(span[i], span[min(i + chunksize, len(span)) - 1]) for i in range(0, len(span), chunksize)]


def categorical_df_concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate frames, unioning the categories of categorical columns so they stay categorical."""
    frames = list(frames)
    if len(frames) == 1:
        return frames[0]
    for col in frames[0].columns:
        if isinstance(frames[0][col].dtype, pd.CategoricalDtype):
            cats = sorted(set().union(*(f[col].cat.categories for f in frames)))
            for i, f in enumerate(frames):
                frames[i] = f.assign(**{col: f[col].cat.set_categories(pd.Index(cats))})
    return pd.concat(frames, axis=0)


def to_polars(result: pd.DataFrame):
    """A pipeline result as a polars DataFrame: ``date``, ``sid``, ``symbol``, then one column per term."""
    import polars as pl

    if not isinstance(result.index, pd.MultiIndex) or result.index.nlevels != 2:
        raise TypeError("to_polars expects a pipeline result indexed by (date, asset)")
    dates = result.index.get_level_values(0)
    assets = result.index.get_level_values(1)
    data: dict[str, Any] = {
        "date": pl.Series("date", np.asarray(dates.values)),
        "sid": pl.Series("sid", np.array([int(a) for a in assets], dtype=np.int64)),
        "symbol": pl.Series("symbol", [getattr(a, "symbol", None) for a in assets], dtype=pl.Utf8),
    }
    for name in result.columns:
        col = result[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            data[name] = pl.Series(name, col.astype(object).where(col.notna(), None).tolist(), dtype=pl.Utf8).cast(
                pl.Categorical
            )
        elif col.dtype == object:
            data[name] = pl.Series(name, col.tolist())
        else:
            data[name] = pl.Series(name, col.to_numpy())
    return pl.DataFrame(data)


# ---------------------------------------------------------------------------------------------------------------
# module-level convenience
# ---------------------------------------------------------------------------------------------------------------

_DEFAULT_ENGINE: Callable[[], SimplePipelineEngine] | SimplePipelineEngine | None = None


def set_default_engine(engine: SimplePipelineEngine | Callable[[], SimplePipelineEngine] | None) -> None:
    """Register the engine (or a zero-argument factory) :func:`run_pipeline` uses when given none."""
    global _DEFAULT_ENGINE
    _DEFAULT_ENGINE = engine


def _engine_for(engine, get_loader, asset_finder, domain, bundle=None) -> SimplePipelineEngine:
    if engine is not None:
        return engine
    if bundle is not None:  # the engine kept for this bundle's ingestion: a later call reuses its caches
        from rustybt.pipeline.bundle_engine import shared_engine

        return shared_engine(bundle)
    if get_loader is not None or asset_finder is not None:
        if get_loader is None or asset_finder is None:
            raise TypeError("pass both get_loader= and asset_finder= (or engine=)")
        return SimplePipelineEngine(get_loader, asset_finder, default_domain=domain if domain is not None else GENERIC)
    default = _DEFAULT_ENGINE
    if default is None:
        raise TypeError(
            "run_pipeline needs an engine: pass engine=SimplePipelineEngine(...), or get_loader= and "
            "asset_finder=, or register one with rustybt.pipeline.set_default_engine(...)"
        )
    return default if isinstance(default, SimplePipelineEngine) else default()


def run_pipeline(pipeline, start_date, end_date, hooks=None, *, bundle=None, engine=None, get_loader=None,
                 asset_finder=None, domain=None, output: str = "pandas", progress=None):  # fmt: skip
    """Run ``pipeline`` from ``start_date`` to ``end_date`` (see :meth:`SimplePipelineEngine.run_pipeline`).

    ``bundle="sample"`` (a catalog bundle name or a :class:`~rustybt.data.catalog.Bundle`) runs it on that bundle's
    prices, on the engine kept for that bundle's ingestion (:func:`~rustybt.pipeline.bundle_engine.shared_engine`:
    later calls reuse its loaded arrays; a re-ingest gives a new one); otherwise pass ``engine=`` (or
    ``get_loader=`` and ``asset_finder=``). ``hooks`` are :class:`~rustybt.pipeline.hooks.PipelineHooks` entered
    around the run's events.
    """
    eng = _engine_for(engine, get_loader, asset_finder, domain, bundle)
    return eng.run_pipeline(pipeline, start_date, end_date, hooks, output=output, progress=progress)


def run_chunked_pipeline(pipeline, start_date, end_date, chunksize, hooks=None, *, bundle=None, engine=None,
                         get_loader=None, asset_finder=None, domain=None, output: str = "pandas",
                         progress=None, client=None):  # fmt: skip
    """Run ``pipeline`` in chunks of ``chunksize`` sessions (see :meth:`SimplePipelineEngine.run_chunked_pipeline`).

    ``client=`` (a ``distributed.Client``, with ``bundle=``) runs the chunks as tasks on that Dask cluster, whose
    workers open the catalog themselves (see :func:`rustybt.distributed.run_chunked_pipeline`); same result.
    """
    if client is not None:
        if bundle is None or engine is not None or get_loader is not None or hooks is not None:
            raise TypeError("client= runs on a catalog bundle: pass bundle= (not engine=, get_loader= or hooks=)")
        from rustybt.distributed.pipeline import run_chunked_pipeline as run_on_cluster

        return run_on_cluster(pipeline, start_date, end_date, chunksize, bundle=bundle, client=client, output=output,
                              progress=progress)  # fmt: skip
    eng = _engine_for(engine, get_loader, asset_finder, domain, bundle)
    return eng.run_chunked_pipeline(pipeline, start_date, end_date, chunksize, hooks, output=output, progress=progress)
