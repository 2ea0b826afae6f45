"""Issue 19's polish items seen in JupyterLab, each reproduced in the testing shell."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from rustybt.notebook.magics import strip_comment


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ingest sample  # the shipped data", "ingest sample"),
        ("show sample AAPL", "show sample AAPL"),
        ("# only a comment", ""),
        ("show 'a # b' AAPL # note", "show 'a # b' AAPL"),
        ('config "x#y"', 'config "x#y"'),
        ("show sample AAPL#x", "show sample AAPL#x"),  # not a comment: '#' inside a word
    ],
)
def test_strip_comment(line, expected):
    assert strip_comment(line) == expected


def test_line_magic_accepts_a_trailing_comment(ip):
    catalog = ip.run_cell("%rustybt bundles  # which bundles are there?").result
    assert "sample" in catalog.bundles()


def test_pipeline_without_out_shows_the_rows_once(ip, capsys, monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    result = ip.run_cell(
        "%%rustybt pipeline --bundle sample --start 2013-02-01 --end 2013-02-28\n"
        "Pipeline({'r': Returns(window_length=2)})\n"
    ).result
    assert shown == [], "no extra HTML copy of the rows: the returned DataFrame is the one view"
    assert len(result) > 0
    ip.run_cell(
        "%%rustybt pipeline --bundle sample --start 2013-02-01 --end 2013-02-28 --out res\n"
        "Pipeline({'r': Returns(window_length=2)})\n"
    )
    assert len(shown) == 1 and "Pipeline result" in shown[0].data, "with --out: the summary, once"


@pytest.mark.parametrize("opts", ["--start 2027-12-08", "--end 2011-01-03"])
def test_pipeline_out_of_range_names_the_bundle_range(ip, opts):
    with pytest.raises(UsageError, match="which covers 2012-01-03 .. 2014-12-31") as info:
        ip.run_cell(f"%%rustybt pipeline --bundle sample {opts}\nPipeline({{'r': Returns(window_length=2)}})\n")
    assert "Nearest sessions" not in str(info.value)
