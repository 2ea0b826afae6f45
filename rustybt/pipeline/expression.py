"""NumericalExpression: terms built by arithmetic, comparison and math operators on factors and filters.

An expression is stored as a string over variables ``x_0 .. x_{n-1}`` bound to its input terms (zipline's
format, e.g. ``"(x_0 - x_1) / (x_1)"``), so identical expressions are identical (memoized) terms.

Evaluation needs no numexpr: the string is compiled once to a small register program, and one Numba kernel
(compiled once, cached on disk) runs that program over the whole ``(dates x assets)`` array -- in blocks of rows
per asset column, in parallel over columns, the way numexpr evaluates in blocks. There is no Python code per
element and no compilation per expression. Values are evaluated in float64 (bool and int64 inputs are exact
there); inputs of one column (1-D terms such as slices or daily summaries) broadcast across assets. Semantics
follow numexpr: IEEE division (``x / 0 = inf``), ``a % b = a - floor(a / b) * b``, comparisons with NaN are
False (``!=`` True), ``&``/``|``/``~`` are logical.
"""

from __future__ import annotations

import ast
import math
import re
from functools import lru_cache
from numbers import Number

import numpy as np
from numba import njit, prange

from rustybt.pipeline.dtypes import bool_dtype
from rustybt.pipeline.errors import BadBinaryOperator
from rustybt.pipeline.kernels import _pool
from rustybt.pipeline.term import ComputableTerm, Term

__all__ = [
    "COMPARISONS",
    "FILTER_BINOPS",
    "MATH_BINOPS",
    "NUMEXPR_MATH_FUNCS",
    "UNARY_OPS",
    "NumericalExpression",
    "evaluate_expression",
    "is_comparison",
    "method_name_for_op",
]

_VARIABLE_NAME_RE = re.compile(r"^x_([0-9]+)$")
_VARIABLE_TOKEN_RE = re.compile(r"\bx_([0-9]+)\b")

ops_to_methods = {
    "+": "__add__",
    "-": "__sub__",
    "*": "__mul__",
    "/": "__truediv__",
    "%": "__mod__",
    "**": "__pow__",
    "&": "__and__",
    "|": "__or__",
    "^": "__xor__",
    "<": "__lt__",
    "<=": "__le__",
    "==": "__eq__",
    "!=": "__ne__",
    ">=": "__ge__",
    ">": "__gt__",
}
ops_to_commuted_methods = {
    "+": "__radd__",
    "-": "__rsub__",
    "*": "__rmul__",
    "/": "__rtruediv__",
    "%": "__rmod__",
    "**": "__rpow__",
    "&": "__rand__",
    "|": "__ror__",
    "^": "__rxor__",
    "<": "__gt__",
    "<=": "__ge__",
    "==": "__eq__",
    "!=": "__ne__",
    ">=": "__le__",
    ">": "__lt__",
}
unary_ops_to_methods = {"-": "__neg__", "~": "__invert__"}

UNARY_OPS = frozenset({"-"})
MATH_BINOPS = frozenset({"+", "-", "*", "/", "**", "%"})
FILTER_BINOPS = frozenset({"&", "|"})
COMPARISONS = frozenset({"<", "<=", "!=", ">=", ">", "=="})
# numexpr's math functions, in the order of their register-machine codes (_FUNC_BASE + index)
_FUNCS = (
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "log",
    "log10",
    "log1p",
    "exp",
    "expm1",
    "sqrt",
    "abs",
)
NUMEXPR_MATH_FUNCS = frozenset(_FUNCS)
NPY_MAXARGS = 32


def method_name_for_op(op: str, commute: bool = False) -> str:
    return ops_to_commuted_methods[op] if commute else ops_to_methods[op]


def unary_op_name(op: str) -> str:
    return unary_ops_to_methods[op]


def is_comparison(op: str) -> bool:
    return op in COMPARISONS


# ---------------------------------------------------------------------------------------------------------------
# the register machine
# ---------------------------------------------------------------------------------------------------------------

_LOAD, _CONST = 0, 1
_ADD, _SUB, _MUL, _DIV, _POW, _MOD, _NEG = 2, 3, 4, 5, 6, 7, 8
_LT, _LE, _EQ, _NE, _GE, _GT = 9, 10, 11, 12, 13, 14
_AND, _OR, _NOT, _XOR = 15, 16, 17, 18
_FUNC_BASE = 20
_BINOP_CODES = {
    ast.Add: _ADD,
    ast.Sub: _SUB,
    ast.Mult: _MUL,
    ast.Div: _DIV,
    ast.Pow: _POW,
    ast.Mod: _MOD,
    ast.BitAnd: _AND,
    ast.BitOr: _OR,
    ast.BitXor: _XOR,
}
_CMP_CODES = {ast.Lt: _LT, ast.LtE: _LE, ast.Eq: _EQ, ast.NotEq: _NE, ast.GtE: _GE, ast.Gt: _GT}
_NAMED_CONSTANTS = {"inf": math.inf, "nan": math.nan, "True": 1.0, "False": 0.0}

_BLOCK = 256
_PAD = np.zeros(1, dtype=np.float64)


class _Program:
    __slots__ = ("code", "consts", "n_inputs", "n_regs", "out_reg", "tree")

    def __init__(self, code, consts, n_inputs, n_regs, out_reg, tree) -> None:
        self.code = code
        self.consts = consts
        self.n_inputs = n_inputs
        self.n_regs = n_regs
        self.out_reg = out_reg
        self.tree = tree


def _variables(expr: str) -> list[str]:
    tree = ast.parse(expr, mode="eval")
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in _NAMED_CONSTANTS and node.id not in _FUNCS:
            names.append(node.id)
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in _FUNCS):
            raise ValueError(f"unsupported function call in expression {expr!r}")
    return names


@lru_cache(maxsize=4096)
def _compile(expr: str) -> _Program:
    tree = ast.parse(expr, mode="eval").body
    code: list[tuple[int, int, int, int]] = []
    consts: list[float] = []
    free: list[int] = []
    counter = [0]
    used_inputs: set[int] = set()

    def alloc() -> int:
        if free:
            return free.pop()
        counter[0] += 1
        return counter[0] - 1

    def emit(node) -> int:
        if isinstance(node, ast.Name):
            if node.id in _NAMED_CONSTANTS:
                consts.append(_NAMED_CONSTANTS[node.id])
                r = alloc()
                code.append((_CONST, r, len(consts) - 1, 0))
                return r
            m = _VARIABLE_NAME_RE.match(node.id)
            if not m:
                raise ValueError(f"{node.id!r} is not a valid variable name")
            idx = int(m.group(1))
            used_inputs.add(idx)
            r = alloc()
            code.append((_LOAD, r, idx, 0))
            return r
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float | bool):
            consts.append(float(node.value))
            r = alloc()
            code.append((_CONST, r, len(consts) - 1, 0))
            return r
        if isinstance(node, ast.UnaryOp):
            a = emit(node.operand)
            if isinstance(node.op, ast.USub):
                code.append((_NEG, a, a, 0))
            elif isinstance(node.op, ast.Invert | ast.Not):
                code.append((_NOT, a, a, 0))
            elif not isinstance(node.op, ast.UAdd):
                raise ValueError(f"unsupported unary operator {type(node.op).__name__}")
            return a
        if isinstance(node, ast.BinOp):
            opcode = _BINOP_CODES.get(type(node.op))
            if opcode is None:
                raise ValueError(f"unsupported operator {type(node.op).__name__}")
            a = emit(node.left)
            b = emit(node.right)
            code.append((opcode, a, a, b))
            free.append(b)
            return a
        if isinstance(node, ast.BoolOp):
            opcode = _AND if isinstance(node.op, ast.And) else _OR
            a = emit(node.values[0])
            for value in node.values[1:]:
                b = emit(value)
                code.append((opcode, a, a, b))
                free.append(b)
            return a
        if isinstance(node, ast.Compare):
            result = -1
            left = node.left
            for op, right in zip(node.ops, node.comparators, strict=True):
                opcode = _CMP_CODES.get(type(op))
                if opcode is None:
                    raise ValueError(f"unsupported comparison {type(op).__name__}")
                a = emit(left)
                b = emit(right)
                code.append((opcode, a, a, b))
                free.append(b)
                if result < 0:
                    result = a
                else:
                    code.append((_AND, result, result, a))
                    free.append(a)
                left = right
            return result
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS:
            if len(node.args) != 1 or node.keywords:
                raise ValueError(f"{node.func.id}() takes exactly one argument")
            a = emit(node.args[0])
            code.append((_FUNC_BASE + _FUNCS.index(node.func.id), a, a, 0))
            return a
        raise ValueError(f"unsupported syntax in expression: {ast.dump(node)}")

    out = emit(tree)
    return _Program(
        np.array(code, dtype=np.int64).reshape(-1, 4),
        np.array(consts, dtype=np.float64),
        (max(used_inputs) + 1) if used_inputs else 0,
        max(counter[0], 1),
        out,
        tree,
    )


@njit(cache=True, nogil=True, error_model="numpy")
def _numexpr_mod(a, b):
    return a - np.floor(a / b) * b


@njit(parallel=True, cache=True, nogil=True, error_model="numpy")
def _vm_kernel(code, consts, inputs, ncols, n, m, n_regs, out_reg, out):
    n_code = code.shape[0]
    for j in prange(m):
        regs = np.empty((n_regs, _BLOCK))
        for r0 in range(0, n, _BLOCK):
            cnt = min(_BLOCK, n - r0)
            for pc in range(n_code):
                op = code[pc, 0]
                d = code[pc, 1]
                a = code[pc, 2]
                b = code[pc, 3]
                if op == 0:
                    x = inputs[a]
                    base = r0 if ncols[a] == 1 else r0 + j * n
                    for r in range(cnt):
                        regs[d, r] = x[base + r]
                elif op == 1:
                    c = consts[a]
                    for r in range(cnt):
                        regs[d, r] = c
                elif op == 2:
                    for r in range(cnt):
                        regs[d, r] = regs[a, r] + regs[b, r]
                elif op == 3:
                    for r in range(cnt):
                        regs[d, r] = regs[a, r] - regs[b, r]
                elif op == 4:
                    for r in range(cnt):
                        regs[d, r] = regs[a, r] * regs[b, r]
                elif op == 5:
                    for r in range(cnt):
                        regs[d, r] = regs[a, r] / regs[b, r]
                elif op == 6:
                    for r in range(cnt):
                        regs[d, r] = regs[a, r] ** regs[b, r]
                elif op == 7:
                    for r in range(cnt):
                        regs[d, r] = _numexpr_mod(regs[a, r], regs[b, r])
                elif op == 8:
                    for r in range(cnt):
                        regs[d, r] = -regs[a, r]
                elif op == 9:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if regs[a, r] < regs[b, r] else 0.0
                elif op == 10:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if regs[a, r] <= regs[b, r] else 0.0
                elif op == 11:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if regs[a, r] == regs[b, r] else 0.0
                elif op == 12:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if regs[a, r] != regs[b, r] else 0.0
                elif op == 13:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if regs[a, r] >= regs[b, r] else 0.0
                elif op == 14:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if regs[a, r] > regs[b, r] else 0.0
                elif op == 15:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if (regs[a, r] != 0.0 and regs[b, r] != 0.0) else 0.0
                elif op == 16:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if (regs[a, r] != 0.0 or regs[b, r] != 0.0) else 0.0
                elif op == 17:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if regs[a, r] == 0.0 else 0.0
                elif op == 18:
                    for r in range(cnt):
                        regs[d, r] = 1.0 if ((regs[a, r] != 0.0) != (regs[b, r] != 0.0)) else 0.0
                else:
                    f = op - 20
                    for r in range(cnt):
                        v = regs[a, r]
                        if f == 0:
                            v = np.sin(v)
                        elif f == 1:
                            v = np.cos(v)
                        elif f == 2:
                            v = np.tan(v)
                        elif f == 3:
                            v = np.arcsin(v)
                        elif f == 4:
                            v = np.arccos(v)
                        elif f == 5:
                            v = np.arctan(v)
                        elif f == 6:
                            v = np.sinh(v)
                        elif f == 7:
                            v = np.cosh(v)
                        elif f == 8:
                            v = np.tanh(v)
                        elif f == 9:
                            v = np.arcsinh(v)
                        elif f == 10:
                            v = np.arccosh(v)
                        elif f == 11:
                            v = np.arctanh(v)
                        elif f == 12:
                            v = np.log(v)
                        elif f == 13:
                            v = np.log10(v)
                        elif f == 14:
                            v = np.log1p(v)
                        elif f == 15:
                            v = np.exp(v)
                        elif f == 16:
                            v = np.expm1(v)
                        elif f == 17:
                            v = np.sqrt(v)
                        else:
                            v = np.abs(v)
                        regs[d, r] = v
            for r in range(cnt):
                out[j * n + r0 + r] = regs[out_reg, r]


def _numpy_eval(node, arrays):
    """Reference evaluation with numpy (used for datetime64 inputs, which the float VM cannot hold exactly)."""
    if isinstance(node, ast.Name):
        if node.id in _NAMED_CONSTANTS:
            return _NAMED_CONSTANTS[node.id]
        return arrays[int(_VARIABLE_NAME_RE.match(node.id).group(1))]
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        v = _numpy_eval(node.operand, arrays)
        if isinstance(node.op, ast.USub):
            return -v
        if isinstance(node.op, ast.Invert | ast.Not):
            return ~np.asarray(v, dtype=bool)
        return v
    if isinstance(node, ast.BinOp):
        a, b = _numpy_eval(node.left, arrays), _numpy_eval(node.right, arrays)
        return {
            ast.Add: np.add,
            ast.Sub: np.subtract,
            ast.Mult: np.multiply,
            ast.Div: np.true_divide,
            ast.Pow: np.power,
            ast.BitAnd: np.logical_and,
            ast.BitOr: np.logical_or,
            ast.BitXor: np.logical_xor,
        }[type(node.op)](a, b)
    if isinstance(node, ast.Compare):
        result = None
        left = _numpy_eval(node.left, arrays)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = _numpy_eval(comp, arrays)
            fn = {
                ast.Lt: np.less,
                ast.LtE: np.less_equal,
                ast.Eq: np.equal,
                ast.NotEq: np.not_equal,
                ast.GtE: np.greater_equal,
                ast.Gt: np.greater,
            }[type(op)]
            cur = fn(left, right)
            result = cur if result is None else result & cur
            left = right
        return result
    if isinstance(node, ast.Call):
        return getattr(np, node.func.id)(_numpy_eval(node.args[0], arrays))
    raise ValueError(f"unsupported syntax: {ast.dump(node)}")


def evaluate_expression(expr: str, arrays, shape: tuple[int, int], dtype: np.dtype) -> np.ndarray:
    """Evaluate ``expr`` over ``arrays`` (bound to ``x_0..``), broadcasting to ``shape``; F-ordered result."""
    prog = _compile(expr)
    n, m = shape
    if any(np.asarray(a).dtype.kind == "M" for a in arrays):
        with np.errstate(all="ignore"):
            res = _numpy_eval(prog.tree, [np.asarray(a) for a in arrays])
        return np.asfortranarray(np.broadcast_to(np.asarray(res, dtype=dtype), shape))
    if n == 0 or m == 0:
        return np.empty(shape, dtype=dtype, order="F")
    flats = []
    ncols = np.empty(max(len(arrays), 1), dtype=np.int64)
    for k, arr in enumerate(arrays):
        a = np.asarray(arr)
        if a.ndim == 1:
            a = a.reshape(-1, 1)
        if a.shape[0] != n or a.shape[1] not in (1, m):
            raise ValueError(f"expression input x_{k} has shape {a.shape}, expected ({n}, {m}) or ({n}, 1)")
        if a.shape[1] == 1:
            flats.append(np.ascontiguousarray(a[:, 0], dtype=np.float64))
            ncols[k] = 1
        else:
            flats.append(np.asfortranarray(a, dtype=np.float64).ravel(order="F"))
            ncols[k] = m
    if len(flats) > NPY_MAXARGS:
        raise ValueError(f"expressions take at most {NPY_MAXARGS} inputs, got {len(flats)}")
    # always NPY_MAXARGS slots: one kernel signature (compiled once) whatever the number of inputs
    flats.extend([_PAD] * (NPY_MAXARGS - len(flats)))
    ncols = np.concatenate((ncols[: len(arrays)], np.ones(NPY_MAXARGS - len(arrays), dtype=np.int64)))
    res = _pool.empty((n, m))
    _vm_kernel(prog.code, prog.consts, tuple(flats), ncols, n, m, prog.n_regs, prog.out_reg, res.ravel(order="F"))
    if dtype == bool_dtype:
        return res != 0.0
    if dtype != np.float64:
        return res.astype(dtype)
    return res


# ---------------------------------------------------------------------------------------------------------------
# the term
# ---------------------------------------------------------------------------------------------------------------


class NumericalExpression(ComputableTerm):
    """A term computing ``expr`` over its input terms (``binds``); built by operators, rarely by hand."""

    window_length = 0

    def __new__(cls, expr: str, binds, dtype):
        binds = tuple(binds)
        window_safe = (np.dtype(dtype) == bool_dtype) or all(t.window_safe for t in binds)
        return super().__new__(cls, inputs=binds, expr=expr, dtype=dtype, window_safe=window_safe)

    def _init(self, expr, **kwargs):
        self._expr = expr
        return super()._init(**kwargs)

    @classmethod
    def _static_identity(cls, expr, **kwargs):
        return (super()._static_identity(**kwargs), expr)

    def _validate(self) -> None:
        try:
            names = _variables(self._expr)
        except SyntaxError as exc:
            raise ValueError(f"invalid expression {self._expr!r}: {exc}") from None
        indices = []
        for name in names:
            m = _VARIABLE_NAME_RE.match(name)
            if not m:
                raise ValueError(f"{name!r} is not a valid variable name")
            indices.append(int(m.group(1)))
        expected = list(range(len(self.inputs)))
        if sorted(set(indices)) != expected:
            raise ValueError(f"Expected {expected} for variable indices, but got {sorted(set(indices))}")
        _compile(self._expr)
        super()._validate()

    def _compute(self, arrays, dates, assets, mask):
        return evaluate_expression(self._expr, arrays, mask.shape, self.dtype)

    def _rebind_variables(self, new_inputs) -> str:
        mapping = {i: new_inputs.index(t) for i, t in enumerate(self.inputs)}
        return _VARIABLE_TOKEN_RE.sub(lambda m: f"x_{mapping[int(m.group(1))]}", self._expr)

    def _merge_expressions(self, other):
        new_inputs = tuple(self.inputs) + tuple(t for t in other.inputs if t not in self.inputs)
        return self._rebind_variables(new_inputs), other._rebind_variables(new_inputs), new_inputs

    def build_binary_op(self, op: str, other):
        """New expression strings for ``self`` and ``other`` and the merged inputs of ``self <op> other``."""
        if isinstance(other, NumericalExpression):
            self_expr, other_expr, new_inputs = self._merge_expressions(other)
        elif isinstance(other, Term):
            self_expr = self._expr
            if other in self.inputs:
                new_inputs, idx = self.inputs, self.inputs.index(other)
            else:
                new_inputs, idx = (*self.inputs, other), len(self.inputs)
            other_expr = f"x_{idx}"
        elif isinstance(other, Number | np.number | np.bool_):
            self_expr, other_expr, new_inputs = self._expr, str(other), self.inputs
        else:
            raise BadBinaryOperator(op, self, other)
        if len(new_inputs) >= NPY_MAXARGS:
            self_expr, other_expr, new_inputs = "x_0", "x_1", (self, other)
        return self_expr, other_expr, new_inputs

    @property
    def bindings(self) -> dict:
        return {f"x_{i}": t for i, t in enumerate(self.inputs)}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(expr='{self._expr}', bindings={self.bindings})"

    def graph_repr(self) -> str:
        final = re.sub(r"[-+]?\d*\.\d+", lambda x: format(float(x.group(0)), ".2E"), self._expr)
        return f"Expression:\\l  {final}\\l"
