"""How a failed ``%rustybt`` subcommand is reported: one paragraph saying what to do, and RustyBT's ERROR log
records held back so they do not repeat it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from IPython.core.error import UsageError

from rustybt import errors

__all__ = ["explain"]

_MAX_MESSAGE = 700

_HINTS: tuple[tuple[type[BaseException], str], ...] = (
    (errors.BundleNotFound, "List bundles with `%rustybt bundles`; `%rustybt ingest sample` creates the sample one."),
    (errors.SymbolNotFound, "`%rustybt info NAME` lists the bundle's symbols."),
    (errors.ValidationError, "Fix the source, or ingest with --lenient to drop the bad rows and keep the rest."),
    (errors.ResolutionError, "Ask for the bundle's stored resolution or a coarser one (1d, 1w, 1M)."),
)


def explain(subcommand: str, exc: BaseException, magic: str = "%rustybt") -> str:
    """One paragraph for a failed subcommand: the error, what to do, and how to see the traceback."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, errors.RustyBTError | UsageError):
        text = f"{type(exc).__name__}: {text}"
    if len(text) > _MAX_MESSAGE:
        text = text[: _MAX_MESSAGE - 1].rstrip() + "…"
    hint = next((h for cls, h in _HINTS if isinstance(exc, cls)), "")
    hint = f" {hint}" if hint and hint not in text else ""
    return f"{magic} {subcommand}: {_sentence(text)}{hint} (Add --debug for the full traceback.)"


@contextmanager
def _errors_reported_once(*, keep: bool = False) -> Iterator[None]:
    """Hold back RustyBT's ERROR log records while a magic runs: if it fails, its one-line message says it all
    (the records would repeat it as a stderr box under it); if it succeeds, they are emitted after all."""
    held: list[logging.LogRecord] = []

    def hold(record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.name.startswith("rustybt"):
            if not any(r is record for r in held):
                held.append(record)
            return False
        return True

    handlers = [*logging.getLogger().handlers, *logging.getLogger("rustybt").handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    if keep:  # --debug: the full story, logs included
        yield
        return
    for h in handlers:
        h.addFilter(hold)
    ok = False
    try:
        yield
        ok = True
    finally:
        for h in handlers:
            h.removeFilter(hold)
        if ok:
            for record in held:
                logging.getLogger(record.name).handle(record)


def _sentence(text: str) -> str:
    """``text`` on one line, ending with exactly one sentence mark."""
    text = " ".join(text.split())
    return text if text.endswith((".", "?", "!", "…")) else text + "."
