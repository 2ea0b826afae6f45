"""Progress bars for long work: ``tqdm.auto`` (a widget in Jupyter, text elsewhere) with one rule for what stays.

In a notebook a finished bar stays as a one-line summary of what was done (users scroll back to see what ran and
how long it took); in a terminal it goes away, so logs and results are not interleaved with dead bars.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["finish", "in_notebook", "progress_bar"]


def in_notebook() -> bool:
    """True when ``tqdm.auto`` draws widgets (a Jupyter kernel with ipywidgets)."""
    from tqdm.auto import tqdm

    return tqdm.__module__.startswith("tqdm.notebook")


def progress_bar(iterable: Iterable[Any] | None = None, *, leave: bool | None = None, **kwargs: Any) -> Any:
    """A ``tqdm.auto`` bar; ``leave=None`` keeps it (as a summary line) in notebooks only."""
    from tqdm.auto import tqdm

    return tqdm(iterable, leave=in_notebook() if leave is None else leave, **kwargs)


def finish(bar: Any, summary: str) -> None:
    """Turn a kept bar into its one-line summary (``summary`` replaces the description; elapsed time stays)."""
    if bar is None or getattr(bar, "disable", False):
        return
    if bar.leave:
        bar.set_description_str(summary, refresh=False)
        bar.set_postfix_str("", refresh=False)
        bar.refresh()
