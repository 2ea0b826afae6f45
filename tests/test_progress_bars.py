"""Progress bars: kept as a one-line summary in notebooks, gone in a terminal (rustybt._progress)."""

from __future__ import annotations

import io

from rustybt._progress import finish, in_notebook, progress_bar


def test_outside_a_notebook_a_finished_bar_goes_away():
    assert not in_notebook()  # pytest is no Jupyter kernel
    out = io.StringIO()
    with progress_bar(total=2, desc="work", file=out) as bar:
        bar.update(2)
        finish(bar, "work: 2 done")
    assert not bar.leave
    assert "work: 2 done" not in out.getvalue()  # nothing but the live bar was drawn, and it was cleared


def test_a_kept_bar_ends_as_its_summary_line():
    out = io.StringIO()
    with progress_bar(total=3, desc="ingest demo", file=out, leave=True) as bar:
        bar.update(3)
        finish(bar, "ingest demo: 3 symbol(s) fetched")
    last = out.getvalue().replace("\r", "\n").strip().splitlines()[-1]
    assert last.startswith("ingest demo: 3 symbol(s) fetched")
    assert "3/3" in last


def test_finish_ignores_a_disabled_bar():
    with progress_bar(total=1, disable=True) as bar:
        finish(bar, "never shown")  # no error, nothing drawn
    assert bar.disable
