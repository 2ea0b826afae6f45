"""Numerical expressions: building (operators, merging, memoization) and the compiled evaluator vs numpy."""

from __future__ import annotations

import numpy as np
import pytest

from rustybt.pipeline.data import USEquityPricing as P
from rustybt.pipeline.errors import BadBinaryOperator
from rustybt.pipeline.expression import NUMEXPR_MATH_FUNCS, evaluate_expression
from rustybt.pipeline.factors import NumExprFactor, Returns, SimpleMovingAverage
from rustybt.pipeline.filters import NumExprFilter

F8 = np.dtype("float64")


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(5)
    a = np.asfortranarray(rng.normal(0, 2, (300, 7)))
    b = np.asfortranarray(rng.normal(0, 2, (300, 7)))
    a[rng.random(a.shape) < 0.05] = np.nan
    b[rng.random(b.shape) < 0.05] = np.nan
    a[0, :3] = [np.inf, -np.inf, 0.0]
    b[0, :3] = [0.0, 0.0, 0.0]
    return a, b


@pytest.mark.parametrize(
    ("expr", "ref"),
    [
        ("x_0 + x_1", lambda a, b: a + b),
        ("x_0 - (2.5)", lambda a, b: a - 2.5),
        ("(x_0 * x_1) / (x_1)", lambda a, b: (a * b) / b),
        ("x_0 / x_1", lambda a, b: a / b),
        ("abs(x_0) ** (0.5)", lambda a, b: np.abs(a) ** 0.5),
        ("x_0 ** (2.0)", lambda a, b: a**2.0),
        ("x_0 % x_1", lambda a, b: a - np.floor(a / b) * b),
        ("-(x_0 + x_1)", lambda a, b: -(a + b)),
        ("3.0 - x_0", lambda a, b: 3.0 - a),
        ("(x_0 > (inf)) | (x_0 < (-inf))", lambda a, b: (a > np.inf) | (a < -np.inf)),
    ],
)
def test_arithmetic_matches_numpy(arrays, expr, ref):
    a, b = arrays
    with np.errstate(all="ignore"):
        expected = ref(a, b).astype(float)
        got = evaluate_expression(expr, [a, b] if "x_1" in expr else [a], a.shape, F8)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0, equal_nan=True)
    assert got.flags.f_contiguous


@pytest.mark.parametrize("func", sorted(NUMEXPR_MATH_FUNCS))
def test_math_functions(arrays, func):
    a, _ = arrays
    x = a / 3.0
    with np.errstate(all="ignore"):
        expected = getattr(np, func)(x)
    got = evaluate_expression(f"{func}(x_0)", [x], x.shape, F8)
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-300, equal_nan=True)


def test_comparisons_and_logic(arrays):
    a, b = arrays
    bool_dtype = np.dtype(bool)
    for op in ("<", "<=", ">", ">=", "!=", "=="):
        got = evaluate_expression(f"x_0 {op} x_1", [a, b], a.shape, bool_dtype)
        with np.errstate(all="ignore"):
            expected = eval(f"a {op} b")
        np.testing.assert_array_equal(got, expected)
    fa, fb = a > 0, b > 0
    got = evaluate_expression("(x_0 & ~x_1) | (x_1 & x_0)", [fa, fb], a.shape, bool_dtype)
    np.testing.assert_array_equal(got, (fa & ~fb) | (fb & fa))
    ints = np.asfortranarray(np.arange(21).reshape(3, 7) % 4)
    got = evaluate_expression("((x_0 != 3) & (x_0 != -1))", [ints], ints.shape, bool_dtype)
    np.testing.assert_array_equal(got, ints != 3)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_broadcasting_one_column_inputs(arrays):
    a, _ = arrays
    col = np.nanmean(a, axis=1, keepdims=True)
    got = evaluate_expression("x_0 - x_1", [a, col], a.shape, F8)
    np.testing.assert_allclose(got, a - col, equal_nan=True)
    got = evaluate_expression("x_0 * (2.0)", [col], a.shape, F8)
    np.testing.assert_allclose(got, np.broadcast_to(col * 2.0, a.shape), equal_nan=True)
    assert evaluate_expression("x_0 + (1.0)", [a[:0]], (0, 7), F8).shape == (0, 7)


def test_expression_building_and_memoization():
    close, sma = P.close.latest, SimpleMovingAverage(inputs=[P.close], window_length=5)
    r = Returns(window_length=2)
    e1 = (close - sma) / sma
    assert isinstance(e1, NumExprFactor) and e1.inputs == (close, sma)
    assert e1._expr == "((x_0) - (x_1)) / (x_1)" or e1._expr == "(x_0 - x_1) / (x_1)"
    assert e1 is (close - sma) / sma
    e2 = e1 + (r * 2)
    assert e2.inputs == (close, sma, r)
    f = (close > sma) & (r < 0)
    assert isinstance(f, NumExprFilter) and f.inputs == (close, sma, r)
    assert (-close)._expr == "-x_0" and (-(close + 1))._expr == "-(x_0 + (1.0))"
    assert (2**close)._expr == "2.0 ** x_0"
    assert (1 - (close + 1))._expr == "(1.0) - (x_0 + (1.0))"
    assert close.log()._expr == "log(x_0)" and (close + 1).sqrt()._expr == "sqrt(x_0 + (1.0))"
    assert (close + close)._expr == "x_0 + x_0"
    assert close.isnan()._expr == "x_0 != x_0"
    big = close
    for k in range(40):
        big = big + SimpleMovingAverage(inputs=[P.close], window_length=k + 2)
    assert len(big.inputs) < 32
    with pytest.raises(BadBinaryOperator):
        close + "a"
    with pytest.raises(TypeError, match="Comparisons are only supported"):
        close > (close > 1)  # noqa: B015
    with pytest.raises(ValueError, match="variable indices"):
        NumExprFactor("x_0 + x_2", (close, sma), np.float64)
    with pytest.raises(ValueError, match="not a valid variable"):
        NumExprFactor("y + x_0", (close,), np.float64)
    assert (close == close) is True  # == keeps identity semantics; eq() builds a filter
    assert close.eq(3)._expr == "x_0 == (3.0)"


def test_expressions_through_the_engine(world):
    close, sma = P.close.latest, SimpleMovingAverage(inputs=[P.close], window_length=5)
    res = world.run(
        {
            "close": close,
            "sma": sma,
            "dev": (close - sma) / sma,
            "lg": close.log() + sma.exp() * 0,
            "demeaned": close - close.mean(),
            "flag": (close > sma) | close.isnan(),
        }
    )
    np.testing.assert_allclose(res["dev"], (res["close"] - res["sma"]) / res["sma"], rtol=1e-14, equal_nan=True)
    np.testing.assert_allclose(res["lg"], np.log(res["close"]), rtol=1e-14, equal_nan=True)
    dates = res.index.get_level_values(0)
    np.testing.assert_allclose(res["demeaned"], res["close"] - res["close"].groupby(dates).transform("mean"),
                               rtol=1e-12, equal_nan=True)  # fmt: skip
    np.testing.assert_array_equal(res["flag"], (res["close"] > res["sma"]) | res["close"].isna())
