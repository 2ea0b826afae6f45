"""PipelineBuilder driven from Python: its code text builds the same pipeline, the run equals run_pipeline's, the
analysis is the library's, and wrong settings say what is wrong."""

from __future__ import annotations

import pandas as pd
import pytest

from rustybt.errors import InvalidArgument
from rustybt.notebook.builder import FactorSpec, PipelineBuilder

SYMBOLS = ["AAPL", "IBM", "KO", "MSFT", "ZZA", "ZZB", "ZZC", "ZZD", "ZZE", "ZZF", "ZZG", "ZZH"]


@pytest.fixture
def builder(sample_catalog):
    return PipelineBuilder(
        sample_catalog,
        "sample",
        state={
            "start": "2014-01-02",
            "end": "2014-06-30",
            "factors": [
                {"name": "momentum", "factor": "Returns", "window": 20, "transform": "zscore"},
                {"name": "trend", "factor": "SimpleMovingAverage", "window": 10, "input": "close"},
                {"name": "vol", "factor": "AnnualizedVolatility", "window": 30},
            ],
            "combine": "momentum.zscore() - 0.5 * vol.rank()",
            "screen": "top by dollar volume",
            "screen_n": 8,
            "universe": SYMBOLS,
            "periods": (1, 5),
        },
    )


def test_code_execs_to_the_same_pipeline_and_result(builder, sample_catalog):
    from rustybt.pipeline.engine import run_pipeline

    code = builder.code()
    assert "from rustybt.pipeline.factors import AnnualizedVolatility, AverageDollarVolume, Returns, Simple" in code
    namespace: dict = {}
    exec(code, namespace)  # the copied cell runs as it is
    built = builder.build()
    assert list(namespace["pipe"].columns) == list(built.columns) == ["momentum", "trend", "vol", "combined"]
    for name in built.columns:  # terms are interned: the same parameters give the same object
        assert namespace["pipe"].columns[name] is built.columns[name]
    assert namespace["pipe"].screen is built.screen

    result = builder.run()
    assert builder.error is None and builder.runs == 1
    expected = run_pipeline(built, "2014-01-02", "2014-06-30", bundle=sample_catalog.bundle("sample"))
    pd.testing.assert_frame_equal(result, expected)
    pd.testing.assert_frame_equal(result, namespace["result"])
    assert result.groupby(level=0).size().max() <= 8
    assert {a.symbol for a in result.index.get_level_values(1)} <= set(SYMBOLS)


def test_run_shows_explorer_and_the_analysis(builder, sample_catalog):
    from rustybt.pipeline.analysis import factor_tearsheet

    builder.set_state(analyse="momentum")
    result = builder.run()
    assert builder.explorer.column == "momentum"
    assert builder.explorer.result is result
    direct = factor_tearsheet(result, "momentum", sample_catalog.bundle("sample"), periods=(1, 5))
    pd.testing.assert_frame_equal(builder.tearsheet.ic, direct.ic)
    assert builder.tearsheet.column == "momentum"
    builder.set_state(analyse="")
    builder.run()
    assert builder.tearsheet.column == "combined", "default: the combination"


def test_widgets_follow_the_state_and_back(builder):
    assert [row.children[0].value for row in builder.factor_box.children] == ["momentum", "trend", "vol"]
    assert builder.screen_dropdown.value == "top by dollar volume" and builder.screen_n.value == 8
    builder.screen_n.value = 5  # as a user would
    assert builder.state["screen_n"] == 5 and ".top(5)" in builder.code()
    window = builder.factor_box.children[0].children[2]
    window.value = 40
    assert builder.state["factors"][0]["window"] == 40 and "Returns(window_length=40)" in builder.code()
    builder.add_factor("rsi", "RSI")
    assert "rsi = RSI(window_length=15)" in builder.code()
    builder.remove_factor("rsi")
    assert "RSI" not in builder.code()
    assert "<pre>" in builder.code_view.value


def test_errors_say_what_is_wrong(builder):
    with pytest.raises(InvalidArgument, match="not a valid Python name"):
        builder.add_factor("2x")
    with pytest.raises(InvalidArgument, match="unknown factor 'Nope'"):
        FactorSpec("x", "Nope").check()
    builder.set_state(combine="__import__('os')")
    with pytest.raises(InvalidArgument, match=r"may call only"):
        builder.code()
    builder.set_state(combine="os.sep")
    with pytest.raises(InvalidArgument, match="combination uses 'os'"):
        builder.code()
    assert "Not a pipeline yet" in builder.code_view.value
    builder.set_state(combine="momentum.shift()")
    with pytest.raises(InvalidArgument, match=r"only .rank\(\), .zscore\(\) and .demean\(\)"):
        builder.code()
    builder.set_state(combine="", universe=["NOPE"])
    assert builder.run() is None
    assert "NOPE" in builder.error and "did not run" in builder.status.value
    with pytest.raises(TypeError, match="unknown setting"):
        builder.set_state(colour="red")


def test_explore_magic_opens_a_builder(ip):
    builder = ip.run_cell("%rustybt explore sample").result
    assert isinstance(builder, PipelineBuilder)
    assert builder.state["bundle"] == "sample" and builder.state["factors"][0]["name"] == "momentum"
