"""Arrows point down: no module of ``rustybt`` imports a module of a higher layer (DESIGN.md, "Layers").

Every import is read from the source with :mod:`ast`, at any depth (module level, inside functions, under
``TYPE_CHECKING``): a lazy import is still a dependency. Importing ``a.b.c`` also runs the ``__init__`` of ``a.b``
(unless the importer is inside ``a.b`` already), so what that ``__init__`` imports at module level counts too: a
package whose ``__init__`` re-exports its modules eagerly drags them into every importer of any of its modules.

Documented exceptions: ``rustybt/__init__.py`` (the package's front door re-exports the public API and its
``load_ipython_extension`` loads the notebook layer on ``%load_ext rustybt``), and importing the top package itself
(``from rustybt import __version__``), which every submodule import runs anyway.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rustybt"

#: The layers, lowest first (DESIGN.md's picture read bottom-up). A module belongs to the entry whose prefix is
#: the longest one matching its dotted name.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundations",
        (
            "rustybt._html",
            "rustybt._utils",
            "rustybt._progress",
            "rustybt._frames",  # pandas objects for the history hot paths (DataPortal and BarData share it)
            "rustybt._pages",
            "rustybt._cache_files",
            "rustybt._commands",
            "rustybt.assets",
            "rustybt.calendars",
            "rustybt.config",
            "rustybt.errors",
            "rustybt.data",  # the package's __init__ only (it imports nothing)
            "rustybt.data.schema",
            "rustybt.data.resolution",
            "rustybt.data.resample",
            # the BarReader protocol and the OHLCV field names: an interface with no dependencies, implemented by
            # the catalog's readers and by the legacy (zipline) store readers the migration adapter uses
            "rustybt.data.readers.base",
        ),
    ),
    # zipline's bcolz/HDF5 stores are read like any other foreign source: the legacy readers feed its adapter
    ("adapters", ("rustybt.data.adapters", "rustybt.data.legacy")),
    ("quality", ("rustybt.data.validation",)),
    (
        "catalog",
        (
            "rustybt.data.catalog",
            "rustybt.data.bundles",
            "rustybt.data.legacy.migrate",  # a migration writes a catalog bundle
            "rustybt.sample",  # registers and ingests the shipped sample bundles
        ),
    ),
    ("data access", ("rustybt.data.readers", "rustybt.data.cache", "rustybt.data.polars")),
    # pipeline chunks on a Dask cluster are a way of running the pipeline engine (its run_chunked_pipeline(client=))
    ("pipeline", ("rustybt.pipeline", "rustybt.distributed.pipeline", "rustybt.distributed._serialize")),
    ("strategy", ("rustybt.algorithm", "rustybt.finance", "rustybt.api")),
    # sweeps and ingestion on a Dask cluster drive the layers below (the package's __init__ imports lazily)
    ("cluster", ("rustybt.distributed",)),
    ("notebook", ("rustybt.notebook", "rustybt.jupyter")),
    # entry points and the testing kit: they may import any layer; nothing in the library imports them
    ("entry points", ("rustybt.cli", "rustybt.data.legacy.cli", "rustybt.testing", "rustybt.__main__")),
)

#: Package ``__init__`` modules placed apart from their package's prefix.
EXACT = {"rustybt.data.legacy": "catalog"}  # the legacy package's front re-exports migrate, a catalog operation

#: ``rustybt/__init__.py`` may import anything (see the module docstring).
EXEMPT_IMPORTERS = frozenset({"rustybt"})


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: dict[str, Path] = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def layer_of(module: str) -> int | None:
    """Index of ``module``'s layer in :data:`LAYERS` (the longest matching prefix), or None."""
    if module in EXACT:
        return next(i for i, (name, _) in enumerate(LAYERS) if name == EXACT[module])
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def _is_package(module: str) -> bool:
    return MODULES.get(module, Path()).name == "__init__.py"


@cache
def _front_door() -> dict[str, str]:
    """Names ``rustybt/__init__.py`` re-exports -> the module defining them (its imports and its ``_LAZY`` map), so
    ``from rustybt import Catalog`` counts as importing the catalog. Names it defines itself (``__version__``, the
    extension hooks) stay ``rustybt``, the documented exception."""
    tree = ast.parse(MODULES["rustybt"].read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rustybt"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                names[alias.asname or alias.name] = sub if sub in MODULES else node.module
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            for key, value in zip(node.value.keys, node.value.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(value, ast.Constant) and str(value.value) in MODULES:
                    names[str(key.value)] = str(value.value)
    return names


def imports_of(module: str, *, top_level_only: bool = False) -> list[tuple[int, str]]:
    """``(line, imported rustybt module)`` for every import in ``module``'s source, at any depth (or only the
    statements at module level)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if _is_package(module) else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in MODULES:
                    found.append((node.lineno, sub))
                elif base == "rustybt":  # a name the front door re-exports: the module it comes from
                    found.append((node.lineno, _front_door().get(alias.name, base)))
                else:
                    found.append((node.lineno, base))
    return sorted((line, name) for line, name in found if name == "rustybt" or name.startswith("rustybt."))


def _parents(importer: str, imported: str) -> list[str]:
    """The package ``__init__`` modules importing ``imported`` runs (those the importer is not inside already)."""
    parts = imported.split(".")
    chain = [".".join(parts[:i]) for i in range(2, len(parts))]
    return [m for m in chain if not (importer == m or importer.startswith(m + "."))]


def _eager_layer(package: str) -> tuple[int, str] | None:
    """The highest layer a package's ``__init__`` imports at module level, and that module."""
    eager = [(layer_of(m), m) for _, m in imports_of(package, top_level_only=True) if layer_of(m) is not None]
    return max(eager) if eager else None


def upward_imports() -> list[str]:
    problems = []
    for module in MODULES:
        if module in EXEMPT_IMPORTERS:
            continue
        own = layer_of(module)
        where = MODULES[module].relative_to(PACKAGE.parent)
        for line, imported in imports_of(module):
            if imported == "rustybt" or own is None:
                continue
            theirs = layer_of(imported)
            if theirs is not None and theirs > own:
                problems.append(f"{where}:{line}: {module} ({LAYERS[own][0]}) imports {imported} ({LAYERS[theirs][0]})")
            for package in _parents(module, imported):
                eager = _eager_layer(package)
                if eager is not None and eager[0] > own:
                    problems.append(
                        f"{where}:{line}: {module} ({LAYERS[own][0]}) imports {imported}, whose package {package} "
                        f"imports {eager[1]} ({LAYERS[eager[0]][0]}) eagerly"
                    )
    return sorted(set(problems))


def test_every_module_has_a_layer():
    missing = sorted(m for m in MODULES if m not in EXEMPT_IMPORTERS and layer_of(m) is None)
    assert not missing, f"modules with no layer in tests/test_layers.py's LAYERS: {missing}"


def test_no_import_points_up():
    problems = upward_imports()
    assert not problems, "imports from a lower layer to a higher one:\n" + "\n".join(problems)


def _renders_through_html(tree: ast.Module, func: ast.FunctionDef) -> bool:
    """``func`` imports from rustybt._html, or calls a name the module imported from it."""
    imported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rustybt._html")
        for alias in node.names
    } | {
        (alias.asname or alias.name).split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name.startswith("rustybt._html")
    }
    for node in ast.walk(func):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("rustybt._html"):
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "rustybt" and any(a.name == "_html" for a in node.names):
            return True
        if isinstance(node, ast.Name) and node.id in imported:
            return True
    return False


def test_every_repr_html_renders_through_rustybt_html():
    """One way to render: each ``_repr_html_`` outside rustybt/_html builds its view with rustybt._html's templates
    (so every view has the one stylesheet and escaping, and looks the same with or without %load_ext rustybt)."""
    offenders = []
    for module, path in MODULES.items():
        if module.startswith("rustybt._html"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.FunctionDef)
                and node.name == "_repr_html_"
                and not _renders_through_html(tree, node)
            ):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not offenders, "_repr_html_ not rendered with rustybt._html: " + ", ".join(offenders)


@pytest.mark.parametrize(
    ("module", "layer"),
    [
        ("rustybt._html.templates", "foundations"),
        ("rustybt.data.readers.base", "foundations"),
        ("rustybt.data.legacy.bcolz_reader", "adapters"),
        ("rustybt.data.legacy.migrate", "catalog"),
        ("rustybt.data.legacy", "catalog"),
        ("rustybt.data.catalog.catalog", "catalog"),
        ("rustybt.data.readers.parquet", "data access"),
        ("rustybt.notebook.magics", "notebook"),
        ("rustybt.data.legacy.cli", "entry points"),
    ],
)
def test_layer_map(module, layer):
    assert LAYERS[layer_of(module)][0] == layer


def test_the_walker_sees_lazy_and_relative_imports(monkeypatch):
    """A function-level import and a relative import are both found (the checker must not miss lazy arrows)."""
    src = (
        "def f():\n    from rustybt.notebook import magics\n\n"
        "from . import errors\nfrom rustybt import Catalog, __version__\n"
    )
    fake = PACKAGE / "_layers_probe.py"
    monkeypatch.setitem(MODULES, "rustybt._layers_probe", fake)
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: src if self == fake else _read(self))
    found = [(2, "rustybt.notebook.magics"), (4, "rustybt.errors"), (5, "rustybt"), (5, "rustybt.data.catalog")]
    assert imports_of("rustybt._layers_probe") == found  # the front door's re-exports resolve to their modules
    assert imports_of("rustybt._layers_probe", top_level_only=True) == found[1:]


_read = Path.read_text
