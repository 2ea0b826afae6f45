"""``PipelineBuilder``: compose a pipeline from the built-in factors with widgets, run it, explore and analyse it.

The builder's state is plain data (:class:`FactorSpec` rows, a combination expression, a screen, a universe and a
date range). :meth:`PipelineBuilder.code` turns it into Python text, and the pipeline that runs is built by
executing exactly that text, so the code shown is the code that ran: copy it into a cell and it gives the same
result. Everything is settable from Python (``builder.set_state(...)``, ``builder.run()``), so it is testable
without a browser.
"""

from __future__ import annotations

import ast
import datetime as _dt
import keyword
from dataclasses import asdict, dataclass, field
from typing import Any

import ipywidgets as ipw
import pandas as pd

from rustybt import _html
from rustybt.errors import InvalidArgument, RustyBTError
from rustybt.notebook import plots
from rustybt.notebook.widgets import PipelineExplorer, _message, _show

__all__ = ["FACTORS", "INPUTS", "TRANSFORMS", "FactorSpec", "PipelineBuilder"]

#: Built-in factors the builder offers: class name -> (default window, takes an ``inputs`` column, help).
FACTORS: dict[str, tuple[int, bool, str]] = {
    "Returns": (20, False, "total return over the window"),
    "SimpleMovingAverage": (20, True, "mean of the input over the window"),
    "ExponentialWeightedMovingAverage": (20, True, "EWMA of the input (span = window / 2)"),
    "RSI": (15, False, "relative strength index"),
    "AverageDollarVolume": (20, False, "mean of close x volume"),
    "AnnualizedVolatility": (252, False, "annualised std of daily returns"),
    "VWAP": (20, False, "volume-weighted average price"),
    "MaxDrawdown": (60, True, "largest peak-to-trough fall of the input"),
    "RateOfChangePercentage": (20, True, "percent change of the input over the window"),
}
#: Columns of ``EquityPricing`` a factor with inputs may read.
INPUTS = ("close", "open", "high", "low", "volume")
#: Cross-sectional transforms applied to a factor's column.
TRANSFORMS = ("none", "rank", "zscore", "demean")
_SCREENS = ("none", "top by dollar volume", "factor not null")
_ALLOWED_METHODS = {"rank", "zscore", "demean"}


@dataclass
class FactorSpec:
    """One factor of the builder: ``name = Factor(inputs=[EquityPricing.input], window_length=window)``,
    shown as the column ``name`` after ``transform``."""

    name: str
    factor: str = "Returns"
    window: int | None = None
    input: str = "close"
    transform: str = "none"

    def check(self) -> None:
        if not self.name.isidentifier() or keyword.iskeyword(self.name):
            raise InvalidArgument(f"factor name {self.name!r} is not a valid Python name; use letters, digits, _")
        if self.factor not in FACTORS:
            raise InvalidArgument(f"unknown factor {self.factor!r}; choose one of {', '.join(FACTORS)}")
        if self.transform not in TRANSFORMS:
            raise InvalidArgument(f"unknown transform {self.transform!r}; choose one of {', '.join(TRANSFORMS)}")
        if self.input not in INPUTS:
            raise InvalidArgument(f"unknown input {self.input!r}; choose one of {', '.join(INPUTS)}")
        if self.window is not None and int(self.window) < 2:
            raise InvalidArgument(f"window of {self.name!r} must be at least 2, got {self.window}")

    def term_code(self) -> str:
        default, takes_input, _ = FACTORS[self.factor]
        window = int(self.window or default)
        if self.factor == "ExponentialWeightedMovingAverage":
            span = max(window // 2, 1)
            return f"EWMA.from_span(inputs=[EquityPricing.{self.input}], window_length={window}, span={span})"
        if takes_input:
            return f"{self.factor}(inputs=[EquityPricing.{self.input}], window_length={window})"
        return f"{self.factor}(window_length={window})"

    def column_code(self) -> str:
        return self.name if self.transform == "none" else f"{self.name}.{self.transform}()"


def _check_expression(text: str, names: set[str]) -> None:
    """Allow only the factors' names, numbers, + - * /, unary minus and .rank()/.zscore()/.demean()."""
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise InvalidArgument(f"combination {text!r} is not an expression: {exc.msg}") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in names:
                raise InvalidArgument(f"combination uses {node.id!r}; the factors are {', '.join(sorted(names))}")
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Attribute) and node.func.attr in _ALLOWED_METHODS) or node.args:
                raise InvalidArgument("combination may call only .rank(), .zscore() and .demean() (no arguments)")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float) or isinstance(node.value, bool):
                raise InvalidArgument(f"combination may hold numbers only, not {node.value!r}")
        elif not isinstance(
            node,
            ast.Expression | ast.BinOp | ast.UnaryOp | ast.Attribute | ast.Load | ast.Add | ast.Sub | ast.Mult
            | ast.Div | ast.USub | ast.UAdd,
        ):  # fmt: skip
            raise InvalidArgument(f"combination {text!r} uses {type(node).__name__}; use + - * / and numbers")


@dataclass
class BuilderState:
    """Everything the builder shows, as plain data (``PipelineBuilder.state`` / ``set_state``)."""

    bundle: str
    start: str
    end: str
    factors: list[FactorSpec] = field(default_factory=list)
    combine: str = ""
    combine_name: str = "combined"
    screen: str = "none"
    screen_n: int = 20
    universe: list[str] = field(default_factory=list)
    analyse: str = ""
    periods: tuple[int, ...] = (1, 5, 10)
    quantiles: int = 5


class PipelineBuilder(ipw.VBox):
    """Build a pipeline from the built-in factors, run it, explore the result and analyse a factor.

    Parameters
    ----------
    catalog : Catalog
        Where the bundles are.
    bundle : str, optional
        Bundle to start with (default: the first daily one).
    state : dict, optional
        Initial settings, as :meth:`set_state` takes them.

    Attributes
    ----------
    result : pd.DataFrame or None
        The last run's result.
    explorer : PipelineExplorer or None
        The explorer of that result.
    tearsheet : rustybt.pipeline.analysis.FactorTearsheet or None
        The analysis of the ``analyse`` column.
    error : str or None
        The last run's error message.
    """

    def __init__(self, catalog: Any, bundle: str | None = None, *, state: dict[str, Any] | None = None) -> None:
        self.catalog = catalog
        names = list(catalog.bundles())
        if not names:
            raise RustyBTError("the catalog has no bundles; ingest one first (%rustybt ingest sample)")
        name = bundle or names[0]
        b = catalog.bundle(name)
        start = max(b.start, b.end - pd.Timedelta(days=365)).date().isoformat()
        self._state = BuilderState(
            bundle=name,
            start=start,
            end=b.end.date().isoformat(),
            factors=[FactorSpec("momentum", "Returns", 20, transform="zscore")],
        )
        self.result: pd.DataFrame | None = None
        self.explorer: PipelineExplorer | None = None
        self.tearsheet: Any = None
        self.error: str | None = None
        self.runs = 0

        self.bundle_dropdown = ipw.Dropdown(options=names, value=name, description="bundle")
        self.start_picker = ipw.DatePicker(description="start")
        self.end_picker = ipw.DatePicker(description="end")
        self.factor_box = ipw.VBox()
        self.add_button = ipw.Button(description="add factor", icon="plus")
        self.combine_text = ipw.Text(description="combine", placeholder="e.g. momentum.zscore() - volatility.zscore()")
        self.screen_dropdown = ipw.Dropdown(options=_SCREENS, description="screen")
        self.screen_n = ipw.BoundedIntText(value=20, min=1, max=100_000, description="N")
        self.universe_text = ipw.Text(description="universe", placeholder="all assets, or symbols: AAPL, IBM")
        self.analyse_dropdown = ipw.Dropdown(description="analyse")
        self.run_button = ipw.Button(description="run", button_style="primary", icon="play")
        self.code_view = ipw.HTML()
        self.status = ipw.HTML()
        self.explorer_out = ipw.Output()
        self.analysis_out = ipw.Output()
        super().__init__(
            [
                ipw.HBox([self.bundle_dropdown, self.start_picker, self.end_picker]),
                self.factor_box,
                ipw.HBox([self.add_button, self.combine_text]),
                ipw.HBox([self.screen_dropdown, self.screen_n, self.universe_text]),
                ipw.HBox([self.analyse_dropdown, self.run_button]),
                self.status,
                ipw.Accordion([self.code_view], titles=("Python code",)),
                self.explorer_out,
                self.analysis_out,
            ]
        )
        self.add_button.on_click(lambda _: self.add_factor(f"factor{len(self._state.factors) + 1}"))
        self.run_button.on_click(lambda _: self.run())
        for control in (
            self.bundle_dropdown, self.start_picker, self.end_picker, self.combine_text,
            self.screen_dropdown, self.screen_n, self.universe_text, self.analyse_dropdown,
        ):  # fmt: skip
            control.observe(self._read_controls, names="value")
        self._syncing = False
        if state:
            self.set_state(**state)
        else:
            self._write_controls()

    # --- state ---------------------------------------------------------------------------------------------
    @property
    def state(self) -> dict[str, Any]:
        """The settings as a dict (factors as dicts), e.g. to save and :meth:`set_state` later."""
        return asdict(self._state)

    def set_state(self, **settings: Any) -> PipelineBuilder:
        """Change settings: ``bundle``, ``start``, ``end``, ``factors`` (FactorSpec or dicts), ``combine``,
        ``combine_name``, ``screen``, ``screen_n``, ``universe`` (symbols), ``analyse``, ``periods``,
        ``quantiles``."""
        unknown = set(settings) - set(BuilderState.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown setting(s) {sorted(unknown)}; use {', '.join(BuilderState.__dataclass_fields__)}")
        for key, value in settings.items():
            if key == "factors":
                value = [v if isinstance(v, FactorSpec) else FactorSpec(**v) for v in value]
            elif key in ("start", "end") and value is not None:
                value = plots.parse_date(value, key).date().isoformat()
            elif key == "universe" and isinstance(value, str):
                value = [s.strip() for s in value.split(",") if s.strip()]
            elif key == "screen" and value not in _SCREENS:
                raise InvalidArgument(f"unknown screen {value!r}; choose one of {', '.join(_SCREENS)}")
            setattr(self._state, key, value)
        self._write_controls()
        return self

    def add_factor(
        self, name: str, factor: str = "Returns", window: int | None = None, input: str = "close",
        transform: str = "none",
    ) -> PipelineBuilder:  # fmt: skip
        """Add a factor row (see :data:`FACTORS`, :data:`INPUTS`, :data:`TRANSFORMS`)."""
        spec = FactorSpec(name, factor, window, input, transform)
        spec.check()
        self._state.factors.append(spec)
        self._write_controls()
        return self

    def remove_factor(self, name: str) -> PipelineBuilder:
        """Remove the factor row ``name``."""
        self._state.factors = [f for f in self._state.factors if f.name != name]
        self._write_controls()
        return self

    # --- code ----------------------------------------------------------------------------------------------
    def _columns(self) -> dict[str, str]:
        s = self._state
        columns = {f.name: f.column_code() for f in s.factors}
        if s.combine.strip():
            columns[s.combine_name or "combined"] = s.combine.strip()
        return columns

    def _check(self) -> None:
        s = self._state
        if not s.factors:
            raise InvalidArgument("add at least one factor")
        names = [f.name for f in s.factors]
        for f in s.factors:
            f.check()
        if len(set(names)) != len(names):
            raise InvalidArgument(f"factor names must differ: {', '.join(names)}")
        if s.combine.strip():
            _check_expression(s.combine.strip(), set(names))
            if not (s.combine_name or "combined").isidentifier() or s.combine_name in names:
                raise InvalidArgument(f"combination name {s.combine_name!r} must be a new Python name")

    def pipeline_code(self) -> str:
        """The Python text that builds ``pipe`` (needs ``bundle`` defined when a universe is set)."""
        self._check()
        s = self._state
        classes = sorted({"EWMA" if f.factor == "ExponentialWeightedMovingAverage" else f.factor for f in s.factors})
        if s.screen == "top by dollar volume" and "AverageDollarVolume" not in classes:
            classes = sorted({*classes, "AverageDollarVolume"})
        lines = [
            "from rustybt.pipeline import Pipeline",
            "from rustybt.pipeline.data import EquityPricing",
            f"from rustybt.pipeline.factors import {', '.join(classes)}",
        ]
        if s.universe:
            lines.append("from rustybt.pipeline.filters import StaticAssets")
        lines.append("")
        lines += [f"{f.name} = {f.term_code()}" for f in s.factors]
        screens = []
        if s.universe:
            lines.append(f"universe = StaticAssets(bundle.asset_finder.lookup_symbols({list(s.universe)!r}))")
            screens.append("universe")
        if s.screen == "top by dollar volume":
            screens.append(f"AverageDollarVolume(window_length=20).top({int(s.screen_n)})")
        elif s.screen == "factor not null":
            screens.append(f"{s.factors[0].name}.notnull()")
        lines.append("")
        lines.append("pipe = Pipeline(")
        lines.append("    columns={")
        lines += [f"        {name!r}: {expr}," for name, expr in self._columns().items()]
        lines.append("    },")
        if screens:
            lines.append(f"    screen={' & '.join(screens)},")
        lines.append(")")
        return "\n".join(lines) + "\n"

    def code(self) -> str:
        """The whole cell: the catalog and bundle, the pipeline (:meth:`pipeline_code`) and the run."""
        s = self._state
        root = getattr(self.catalog, "root", None)
        catalog = "Catalog()" if root is None or _is_default_root(root) else f"Catalog(root={str(root)!r})"
        body = self.pipeline_code().splitlines()
        imports = [line for line in body if line.startswith("from ")]
        rest = [line for line in body if not line.startswith("from ")]
        lines = [
            "from rustybt import Catalog",
            *imports,
            "from rustybt.pipeline.engine import run_pipeline",
            "",
            f"bundle = {catalog}.bundle({s.bundle!r})",
            *rest,
            f"result = run_pipeline(pipe, {s.start!r}, {s.end!r}, bundle=bundle)",
        ]
        return "\n".join(lines) + "\n"

    def build(self) -> Any:
        """The Pipeline, built by executing :meth:`pipeline_code`."""
        namespace: dict[str, Any] = {"bundle": self.catalog.bundle(self._state.bundle)}
        exec(compile(self.pipeline_code(), "<PipelineBuilder>", "exec"), namespace)  # our own generated text
        return namespace["pipe"]

    # --- run -----------------------------------------------------------------------------------------------
    def run(self) -> pd.DataFrame | None:
        """Run the pipeline, show it in a :class:`PipelineExplorer` and analyse the ``analyse`` column.

        Returns the result (None on error; the message is in :attr:`error` and shown in the widget).
        """
        from rustybt.pipeline.engine import run_pipeline

        self.runs += 1
        s = self._state
        self.result = self.explorer = self.tearsheet = None
        try:
            bundle = self.catalog.bundle(s.bundle)
            pipe = self.build()
            self.result = run_pipeline(pipe, s.start, s.end, bundle=bundle)
            if self.result.empty:
                raise RustyBTError(f"the pipeline gave no rows from {s.start} to {s.end}; widen the range or screen")
            self.explorer = PipelineExplorer(self.result, column=self.analysis_column)
            self.tearsheet = self._analyse(bundle)
        except (RustyBTError, ValueError, KeyError, TypeError) as exc:
            self.error = _message(exc)
            self.status.value = _html.error_html("The pipeline did not run", self.error)
            _show(self.explorer_out, None)  # no stale explorer or tear sheet under an error
            _show(self.analysis_out, None)
            return None
        self.error = None
        dates = self.result.index.get_level_values(0)
        self.status.value = _html.templates.note(
            f"{len(self.result):,} rows, {dates.nunique():,} dates, "
            f"{self.result.index.get_level_values(1).nunique():,} assets"
        )
        _show(self.explorer_out, self.explorer)
        if self.tearsheet is not None:
            from rustybt.notebook.factor_plots import FactorTearsheetView

            _show(self.analysis_out, FactorTearsheetView(self.tearsheet).items())
        return self.result

    @property
    def analysis_column(self) -> str:
        """The column analysed: ``analyse`` if set, else the combination, else the first factor."""
        s = self._state
        columns = list(self._columns())
        if s.analyse and s.analyse in columns:
            return s.analyse
        return columns[-1] if s.combine.strip() else columns[0]

    def _analyse(self, bundle: Any) -> Any:
        from rustybt.pipeline.analysis import factor_tearsheet

        s = self._state
        return factor_tearsheet(
            self.result, self.analysis_column, bundle, periods=tuple(s.periods), quantiles=int(s.quantiles)
        )

    # --- widgets <-> state ---------------------------------------------------------------------------------
    def _factor_row(self, spec: FactorSpec) -> ipw.HBox:
        default, takes_input, help_text = FACTORS[spec.factor]
        name = ipw.Text(value=spec.name, description="name", layout={"width": "180px"})
        kind = ipw.Dropdown(options=list(FACTORS), value=spec.factor, layout={"width": "230px"}, tooltip=help_text)
        window = ipw.BoundedIntText(value=int(spec.window or default), min=2, max=5000, description="window")
        column = ipw.Dropdown(options=INPUTS, value=spec.input, description="input", disabled=not takes_input)
        transform = ipw.Dropdown(options=TRANSFORMS, value=spec.transform, description="then")
        remove = ipw.Button(icon="trash", tooltip="remove", layout={"width": "40px"})

        def changed(_: Any) -> None:
            if self._syncing:
                return
            spec.name, spec.factor, spec.input, spec.transform = name.value, kind.value, column.value, transform.value
            spec.window = int(window.value)
            self._write_controls()

        for control in (name, kind, window, column, transform):
            control.observe(changed, names="value")
        remove.on_click(lambda _: self.remove_factor(spec.name))
        return ipw.HBox([name, kind, window, column, transform, remove])

    def _write_controls(self) -> None:
        s = self._state
        self._syncing = True
        try:
            if s.bundle in self.bundle_dropdown.options:
                self.bundle_dropdown.value = s.bundle
            self.start_picker.value = _dt.date.fromisoformat(s.start)
            self.end_picker.value = _dt.date.fromisoformat(s.end)
            self.factor_box.children = [self._factor_row(f) for f in s.factors]
            self.combine_text.value = s.combine
            self.screen_dropdown.value = s.screen
            self.screen_n.value = int(s.screen_n)
            self.universe_text.value = ", ".join(s.universe)
            options = [f.name for f in s.factors] + ([s.combine_name] if s.combine.strip() else [])
            self.analyse_dropdown.options = options
            self.analyse_dropdown.value = s.analyse if s.analyse in options else None
        finally:
            self._syncing = False
        self._render_code()

    def _read_controls(self, change: dict[str, Any]) -> None:
        if self._syncing:
            return
        s = self._state
        s.bundle = self.bundle_dropdown.value
        if self.start_picker.value is not None:
            s.start = self.start_picker.value.isoformat()
        if self.end_picker.value is not None:
            s.end = self.end_picker.value.isoformat()
        s.combine = self.combine_text.value
        s.screen = self.screen_dropdown.value
        s.screen_n = int(self.screen_n.value)
        s.universe = [t.strip() for t in self.universe_text.value.split(",") if t.strip()]
        s.analyse = self.analyse_dropdown.value or ""
        self._render_code()

    def _render_code(self) -> None:
        try:
            text = self.code()
        except RustyBTError as exc:
            self.code_view.value = _html.error_html("Not a pipeline yet", _message(exc))
            return
        self.code_view.value = f"<pre>{_html.escape(text)}</pre>"


def _is_default_root(root: Any) -> bool:
    try:
        from rustybt.config import load_config

        return str(load_config().data.root_dir) == str(root)
    except Exception:  # any config problem: spell the root out
        return False
