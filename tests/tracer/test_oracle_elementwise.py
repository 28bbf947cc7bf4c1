"""Oracle tests: every elementwise ufunc and Python operator against a dense derivative.

Each case is written once as ``fn(xp, ...)``; the tracer runs it with ``xp = numpy``, and
the dense reference is the complex step of the same numpy code (central differences for
code that is not complex-safe, flagged ``cs=False``; ``xp = jax.numpy`` also works, see
``_oracle.reference_jacobian(..., fallback="jax")``).
The detected pattern must contain every numerically nonzero entry at several random
points. Where a case is *exact*, the pattern must also equal the union of the numerical
nonzeros over those points (elementwise smooth functions: nothing extra), which covers
the issue's Hessian rules: linear ops add no pairs, ``x*y`` adds cross pairs only,
zero-derivative ops (sign, floor, round, comparisons) cut all dependence.
"""
from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

import tracer
from tests.tracer._oracle import (
    assert_contains,
    assert_pattern_equal,
    assert_symmetric,
    nonzero_mask,
    reference_hessian,
    reference_jacobian,
    sample,
)

MODES = ["global", "local"]
N_UNARY = 5
K_BINARY = 4   # x = concatenate([a, b]) with a, b of length K_BINARY
N_POINTS = 3


@dataclass(frozen=True)
class Case:
    fn: Callable
    domain: str = "real"          # see _oracle.sample
    jac_exact: bool = True        # pattern == union of numerical nonzeros
    hess_exact: bool = True
    domain_b: str | None = None   # domain of the second operand (binary cases)
    cs: bool = True               # complex step is valid (analytic code); else JAX oracle


def rng_for(name: str, salt: int = 0) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()) + salt)


# ------------------------------------------------------------------ unary ufuncs (x -> y)
def _u(name, domain="real", **kw):
    f = lambda xp, x: getattr(xp, name)(x)  # noqa: E731
    return Case(f, domain, **kw)


UNARY = {
    # arithmetic
    "negative": _u("negative"), "positive": _u("positive"),
    "absolute": _u("absolute", hess_exact=False, cs=False),
    "fabs": _u("fabs", hess_exact=False, cs=False),
    "sqrt": _u("sqrt", "pos"), "cbrt": _u("cbrt", "pos"), "square": _u("square"),
    "reciprocal": _u("reciprocal", "pos"), "conjugate": _u("conjugate"),
    "conj": _u("conj"),
    # exponential / logarithmic
    "exp": _u("exp"), "exp2": _u("exp2"), "expm1": _u("expm1"),
    "log": _u("log", "pos"), "log2": _u("log2", "pos"), "log10": _u("log10", "pos"),
    "log1p": _u("log1p", "pos"),
    # trigonometric / hyperbolic
    "sin": _u("sin"), "cos": _u("cos"), "tan": _u("tan"), "arcsin": _u("arcsin"),
    "arccos": _u("arccos"), "arctan": _u("arctan"), "sinh": _u("sinh"), "cosh": _u("cosh"),
    "tanh": _u("tanh"), "arcsinh": _u("arcsinh"), "arccosh": _u("arccosh", "big"),
    "arctanh": _u("arctanh"), "deg2rad": _u("deg2rad"), "rad2deg": _u("rad2deg"),
    "degrees": _u("degrees"), "radians": _u("radians"),
    # numpy 2 aliases
    "acos": _u("acos"), "asin": _u("asin"), "atan": _u("atan"), "asinh": _u("asinh"),
    "acosh": _u("acosh", "big"), "atanh": _u("atanh"),
    "abs_alias": Case(lambda xp, x: xp.abs(x), hess_exact=False, cs=False),
    "pow_alias": Case(lambda xp, x: xp.pow(x, 3.0)),
    # other floating-point ufuncs
    "ldexp": Case(lambda xp, x: xp.ldexp(x, 3)),
    "modf_frac": Case(lambda xp, x: xp.modf(x * 3.0)[0], "wide", hess_exact=False),
    "modf_int": Case(lambda xp, x: xp.modf(x * 3.0)[1], "wide"),
    "frexp_mantissa": Case(lambda xp, x: xp.frexp(x)[0], hess_exact=False),
    "divmod_mod": Case(lambda xp, x: xp.divmod(x, 0.3)[1], "wide", hess_exact=False),
    "divmod_div": Case(lambda xp, x: xp.divmod(x, 0.3)[0], "wide"),
    "builtin_divmod": Case(lambda xp, x: divmod(x, 0.3)[1] + divmod(x, 0.7)[0], "wide",
                           hess_exact=False),
    "isinf": Case(lambda xp, x: xp.isinf(x) * 1.0),
    # zero derivative: must cut first and second order dependence
    "sign": _u("sign", cs=False), "floor": _u("floor", "wide"), "ceil": _u("ceil", "wide"),
    "trunc": _u("trunc", "wide"), "rint": _u("rint", "wide"), "round": _u("round", "wide"),
    # powers with constant exponents
    "pow2": Case(lambda xp, x: x ** 2), "pow3": Case(lambda xp, x: x ** 3),
    "pow_half": Case(lambda xp, x: x ** 0.5, "pos"),
    "pow_neg": Case(lambda xp, x: x ** -1.5, "pos"),
    "rpow": Case(lambda xp, x: 2.0 ** x),
    "power_fn": Case(lambda xp, x: xp.power(x, 3.0)),
    "float_power": Case(lambda xp, x: xp.float_power(x, 2.5), "pos"),
    "builtin_abs": Case(lambda xp, x: abs(x), hess_exact=False, cs=False),
    "unary_minus": Case(lambda xp, x: -x), "unary_plus": Case(lambda xp, x: +x),
    # comparisons / logical / classification: boolean results carry no dependence
    "greater_const": Case(lambda xp, x: (x > 0.1) * 1.0),
    "less_equal_const": Case(lambda xp, x: xp.less_equal(x, 0.1).astype(float)),
    "equal_const": Case(lambda xp, x: (x == 0.5) * 1.0),
    "not_equal_const": Case(lambda xp, x: xp.not_equal(x, 0.5) * 1.0),
    "logical_not": Case(lambda xp, x: xp.logical_not(x > 0) * 1.0),
    "isfinite": Case(lambda xp, x: xp.isfinite(x) * 1.0),
    "isnan": Case(lambda xp, x: xp.isnan(x) * 1.0),
    "signbit": Case(lambda xp, x: xp.signbit(x) * 1.0),
    "heaviside": Case(lambda xp, x: xp.heaviside(x, 0.5)),
    # compare-then-multiply: linear in x, so no Hessian pairs
    "mask_times_x": Case(lambda xp, x: (x > 0) * x, jac_exact=False, cs=False),
    # compositions
    "exp_sin": Case(lambda xp, x: xp.exp(xp.sin(x))),
    "log_cosh": Case(lambda xp, x: xp.log(xp.cosh(x))),
}


def _pattern_cases(table):
    return [pytest.param(name, id=name) for name in table]


def _unary_points(name, case):
    rng = rng_for(name)
    return [sample(rng, (N_UNARY,), case.domain) for _ in range(N_POINTS)]


@functools.lru_cache(maxsize=None)
def unary_refs(name):
    """(points, Jacobian masks, Hessian function, Hessian masks); shared by both modes."""
    case = UNARY[name]
    pts = _unary_points(name, case)
    jac = [nonzero_mask(*reference_jacobian(case.fn, x, case.cs)) for x in pts]
    c = rng_for(name, 1).uniform(0.5, 1.5, N_UNARY)
    g = lambda xp, x: xp.sum(c * case.fn(xp, x))  # noqa: E731
    hess = [nonzero_mask(*reference_hessian(g, x, case.cs)) for x in pts[:2]]
    return pts, jac, g, hess


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _pattern_cases(UNARY))
def test_unary_jacobian(name, mode):
    case = UNARY[name]
    pts, refs, _, _ = unary_refs(name)
    union = np.zeros((N_UNARY, N_UNARY), bool)
    for x, ref in zip(pts, refs):
        union |= ref
        P = tracer.jacobian_sparsity(lambda x: case.fn(np, x), x, mode=mode)
        assert_contains(P, ref, f"{name} Jacobian ({mode})")
    # elementwise: at most the diagonal
    assert not np.any(union & ~np.eye(N_UNARY, dtype=bool))
    if case.jac_exact:
        assert_pattern_equal(P, union, f"{name} Jacobian ({mode})")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _pattern_cases(UNARY))
def test_unary_hessian(name, mode):
    case = UNARY[name]
    pts, _, g, refs = unary_refs(name)
    union = np.zeros((N_UNARY, N_UNARY), bool)
    for x, ref in zip(pts, refs):
        union |= ref
        P = tracer.hessian_sparsity(lambda x: g(np, x), x, mode=mode)
        assert_symmetric(P)
        assert_contains(P, ref, f"{name} Hessian ({mode})")
    if case.hess_exact:
        assert_pattern_equal(P, union, f"{name} Hessian ({mode})")


# ------------------------------------------------------------------ binary (a, b) -> y
def _b(name, da="real", db=None, **kw):
    f = lambda xp, a, b: getattr(xp, name)(a, b)  # noqa: E731
    return Case(f, da, domain_b=db, **kw)


BINARY = {
    "add": _b("add"), "subtract": _b("subtract"), "multiply": _b("multiply"),
    "divide": _b("divide", "real", "pos"), "true_divide": _b("true_divide", "real", "pos"),
    "floor_divide": _b("floor_divide", "big", "pos"),
    "remainder": _b("remainder", "big", "pos", hess_exact=False),
    "mod": _b("mod", "big", "pos", hess_exact=False),
    "fmod": _b("fmod", "big", "pos", hess_exact=False),
    "power": _b("power", "pos", "real"), "float_power": _b("float_power", "pos", "real"),
    "hypot": _b("hypot"), "arctan2": _b("arctan2"), "atan2": _b("atan2"),
    "pow": _b("pow", "pos", "real"),
    "logaddexp": _b("logaddexp"), "logaddexp2": _b("logaddexp2"),
    # piecewise: the global pattern takes both operands; numerical union may not
    "maximum": _b("maximum", jac_exact=False, hess_exact=False, cs=False),
    "minimum": _b("minimum", jac_exact=False, hess_exact=False, cs=False),
    "fmax": _b("fmax", jac_exact=False, hess_exact=False, cs=False),
    "fmin": _b("fmin", jac_exact=False, hess_exact=False, cs=False),
    "copysign": _b("copysign", jac_exact=False, hess_exact=False),
    # comparisons and logical ufuncs: no dependence at all
    "greater": Case(lambda xp, a, b: xp.greater(a, b) * 1.0),
    "greater_equal": Case(lambda xp, a, b: xp.greater_equal(a, b) * 1.0),
    "less": Case(lambda xp, a, b: xp.less(a, b) * 1.0),
    "less_equal": Case(lambda xp, a, b: xp.less_equal(a, b) * 1.0),
    "equal": Case(lambda xp, a, b: xp.equal(a, b) * 1.0),
    "not_equal": Case(lambda xp, a, b: xp.not_equal(a, b) * 1.0),
    "logical_and": Case(lambda xp, a, b: xp.logical_and(a > 0, b > 0) * 1.0),
    "logical_or": Case(lambda xp, a, b: xp.logical_or(a > 0, b > 0) * 1.0),
    "logical_xor": Case(lambda xp, a, b: xp.logical_xor(a > 0, b > 0) * 1.0),
    "sign_of_product": Case(lambda xp, a, b: xp.sign(a * b), cs=False),
    "where_traced_cond": Case(lambda xp, a, b: xp.where(a > b, a * a, xp.sin(b)),
                              jac_exact=False, hess_exact=False, cs=False),
    "clip_traced_bounds": Case(lambda xp, a, b: xp.clip(a, b - 2.0, b + 2.0),
                               jac_exact=False, hess_exact=False, cs=False),
    # Python operators
    "op_add": Case(lambda xp, a, b: a + b), "op_sub": Case(lambda xp, a, b: a - b),
    "op_mul": Case(lambda xp, a, b: a * b),
    "op_div": Case(lambda xp, a, b: a / b, domain_b="pos"),
    "op_floordiv": Case(lambda xp, a, b: a // b, "big", domain_b="pos"),
    "op_mod": Case(lambda xp, a, b: a % b, "big", domain_b="pos", hess_exact=False),
    "op_pow": Case(lambda xp, a, b: a ** b, "pos"),
    "op_matmul": Case(lambda xp, a, b: a.reshape(2, 2) @ b.reshape(2, 2)),
    "op_neg_abs": Case(lambda xp, a, b: -abs(a) + b, hess_exact=False, cs=False),
    "op_rsub_rdiv": Case(lambda xp, a, b: (2.0 - a) + 3.0 / b, domain_b="pos"),
    "op_rmul_radd": Case(lambda xp, a, b: 2.0 * a + (1.0 + b)),
    "op_rfloordiv_rmod": Case(lambda xp, a, b: 7.0 // b + 7.0 % b + a, domain_b="pos",
                              hess_exact=False),
    "op_compare_chain": Case(lambda xp, a, b: (a < b) * a + (a >= b) * b,
                             jac_exact=False, cs=False),
}


def _iadd(xp, a, b):
    y = a * 1.0
    y += b
    return y


def _isub(xp, a, b):
    y = a * 1.0
    y -= 2.0 * b
    return y


def _imul(xp, a, b):
    y = a * 1.0
    y *= b
    return y


def _idiv(xp, a, b):
    y = a * 1.0
    y /= b
    return y


def _ifloordiv(xp, a, b):
    y = a * 1.0
    y //= b
    return y


def _imod(xp, a, b):
    y = a * 1.0
    y %= b
    return y


def _ipow(xp, a, b):
    y = a * 1.0
    y **= b
    return y


def _imatmul(xp, a, b):
    y = a.reshape(2, 2) * 1.0
    y @= b.reshape(2, 2)
    return y


def _iadd_const(xp, a, b):
    y = a + b
    y *= 3.0
    y += 1.0
    y -= a
    return y


INPLACE = {
    "iadd": Case(_iadd), "isub": Case(_isub), "imul": Case(_imul),
    "idiv": Case(_idiv, domain_b="pos"), "ifloordiv": Case(_ifloordiv, "big", domain_b="pos"),
    "imod": Case(_imod, "big", domain_b="pos", hess_exact=False),
    "ipow": Case(_ipow, "pos"), "imatmul": Case(_imatmul),
    "iadd_const": Case(_iadd_const),
}
BINARY.update(INPLACE)


def _binary_points(name, case):
    rng = rng_for(name)
    db = case.domain_b or case.domain
    return [np.concatenate([sample(rng, (K_BINARY,), case.domain), sample(rng, (K_BINARY,), db)])
            for _ in range(N_POINTS)]


def _split(fn):
    return lambda xp, x: fn(xp, x[:K_BINARY], x[K_BINARY:])


@functools.lru_cache(maxsize=None)
def binary_refs(name):
    case = BINARY[name]
    fx = _split(case.fn)
    pts = _binary_points(name, case)
    jac = [nonzero_mask(*reference_jacobian(fx, x, case.cs)) for x in pts]
    c = rng_for(name, 1).uniform(0.5, 1.5, np.shape(fx(np, pts[0])))
    g = lambda xp, x: xp.sum(c * fx(xp, x))  # noqa: E731
    hess = [nonzero_mask(*reference_hessian(g, x, case.cs)) for x in pts[:2]]
    return fx, pts, jac, g, hess


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _pattern_cases(BINARY))
def test_binary_jacobian(name, mode):
    case = BINARY[name]
    fx, pts, refs, _, _ = binary_refs(name)
    union = np.zeros_like(refs[0])
    for x, ref in zip(pts, refs):
        union |= ref
        P = tracer.jacobian_sparsity(lambda x: fx(np, x), x, mode=mode)
        assert_contains(P, ref, f"{name} Jacobian ({mode})")
    if case.jac_exact:
        assert_pattern_equal(P, union, f"{name} Jacobian ({mode})")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", _pattern_cases(BINARY))
def test_binary_hessian(name, mode):
    case = BINARY[name]
    _, pts, _, g, refs = binary_refs(name)
    union = np.zeros((2 * K_BINARY, 2 * K_BINARY), bool)
    for x, ref in zip(pts, refs):
        union |= ref
        P = tracer.hessian_sparsity(lambda x: g(np, x), x, mode=mode)
        assert_symmetric(P)
        assert_contains(P, ref, f"{name} Hessian ({mode})")
    if case.hess_exact:
        assert_pattern_equal(P, union, f"{name} Hessian ({mode})")


# ------------------------------------------------------------------ explicit Hessian rules
def _block(rows, cols, k=K_BINARY):
    """Boolean 2k x 2k matrix with the identity in block (rows, cols), rows/cols in {0, 1}."""
    M = np.zeros((2 * k, 2 * k), bool)
    for r in rows:
        for cc in cols:
            M[r * k:(r + 1) * k, cc * k:(cc + 1) * k] |= np.eye(k, dtype=bool)
    return M


def _anti(rows, cols, k=K_BINARY):
    """Pairs (i, k-1-i) inside block (rows, cols), symmetrized."""
    M = np.zeros((2 * k, 2 * k), bool)
    for r in rows:
        for cc in cols:
            M[r * k:(r + 1) * k, cc * k:(cc + 1) * k] |= np.eye(k, dtype=bool)[::-1]
    return M | M.T


HESSIAN_RULES = {
    # linear operations add no second-order pairs
    "linear": (lambda a, b: np.sum(2.0 * a - b / 3.0 + 1.0), _block([], [])),
    # x*y adds the cross pairs only (no diagonal)
    "product": (lambda a, b: np.sum(a * b), _block([0], [1]) | _block([1], [0])),
    # x/y: d2/dx2 = 0, cross and d2/dy2 nonzero
    "quotient": (lambda a, b: np.sum(a / (b + 2.0)),
                 _block([0], [1]) | _block([1], [0]) | _block([1], [1])),
    # x**y: all pairs
    "power": (lambda a, b: np.sum((a + 2.0) ** b), _block([0, 1], [0, 1])),
    # transcendental of one operand: its diagonal
    "sin_plus": (lambda a, b: np.sum(np.sin(a) + b), _block([0], [0])),
    # zero-derivative ops cut first and second order dependence
    "sign_product": (lambda a, b: np.sum(np.sign(a * b)), _block([], [])),
    "floor": (lambda a, b: np.sum(np.floor(a * b) + np.round(b) * 3.0), _block([], [])),
    "comparison": (lambda a, b: np.sum((a > b) * 1.0), _block([], [])),
    # product of a linear map with a zero-derivative factor stays linear
    "sign_times_a": (lambda a, b: np.sum(np.sign(b) * a), _block([], [])),
    # square of a sum: all pairs within each output
    "square_of_sum": (lambda a, b: np.sum((a + b) ** 2), _block([0, 1], [0, 1])),
    # nonlinear times linear: (a,a) and (a,b), never (b,b)
    "exp_times_linear": (lambda a, b: np.sum(np.exp(a) * b),
                         _block([0], [0, 1]) | _block([1], [0])),
    # product of two sums: cross pairs between the factors only
    "sum_times_other": (lambda a, b: np.sum((a + 1.0) * (b + a[::-1] + 2.0)),
                        _block([0], [1]) | _block([1], [0]) | _anti([0], [0])),
    # x*x*y: (x,x) and (x,y)
    "square_times": (lambda a, b: np.sum(a * a * b), _block([0], [0, 1]) | _block([1], [0])),
    # separable sums: diagonal blocks only
    "separable": (lambda a, b: np.sum(np.exp(a) + np.sqrt(b * b + 1.0)),
                  _block([0], [0]) | _block([1], [1])),
    # products of square roots: everything
    "sqrt_product": (lambda a, b: np.sum(np.sqrt(a * a + 1.0) * np.sqrt(b * b + 1.0)),
                     _block([0, 1], [0, 1])),
    # nonlinear function of a product: everything
    "sin_of_product": (lambda a, b: np.sum(np.sin(a * b)), _block([0, 1], [0, 1])),
    # reciprocal of a product: everything
    "reciprocal_product": (lambda a, b: np.sum(1.0 / (a * b)), _block([0, 1], [0, 1])),
    # division by a constant and multiplication by constants: linear
    "scaled_quotient": (lambda a, b: np.sum(a / 3.0 + 2.0 * b / 5.0), _block([], [])),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("rule", list(HESSIAN_RULES))
def test_hessian_rules_exact(rule, mode):
    g, expected = HESSIAN_RULES[rule]
    x = sample(rng_for(rule), (2 * K_BINARY,))
    P = tracer.hessian_sparsity(lambda x: g(x[:K_BINARY], x[K_BINARY:]), x, mode=mode)
    assert_symmetric(P)
    assert_pattern_equal(P, expected, f"Hessian rule {rule} ({mode})")


@pytest.mark.parametrize("mode", MODES)
def test_sign_of_product_cuts_jacobian_and_hessian(mode):
    x = sample(rng_for("sign"), (6,))
    f = lambda x: np.sign(x[:3] * x[3:])  # noqa: E731
    J = tracer.jacobian_sparsity(f, x, mode=mode)
    assert J.shape == (3, 6) and J.nnz == 0
    H = tracer.hessian_sparsity(lambda x: np.sum(f(x)), x, mode=mode)
    assert H.shape == (6, 6) and H.nnz == 0


# ------------------------------------------------------------------ broadcasting
BROADCAST = {
    "add": lambda xp, a, b: a + b, "mul": lambda xp, a, b: a * b,
    "hypot": lambda xp, a, b: xp.hypot(a, b), "div": lambda xp, a, b: a / (b * b + 1.0),
    "maximum": lambda xp, a, b: xp.maximum(a, b),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(BROADCAST))
def test_broadcasting_column_row(name, mode):
    """a has shape (3, 1), b has shape (4,): output (3, 4) depends on a[i] and b[j]."""
    fn = BROADCAST[name]
    fx = lambda xp, x: fn(xp, x[:3].reshape(3, 1), x[3:])  # noqa: E731
    rng = rng_for(name)
    structural = np.zeros((12, 7), bool)
    for i in range(3):
        for j in range(4):
            structural[4 * i + j, [i, 3 + j]] = True
    for _ in range(2):
        x = sample(rng, (7,))
        P = tracer.jacobian_sparsity(lambda x: fx(np, x), x, mode=mode)
        ref = nonzero_mask(*reference_jacobian(fx, x, name != "maximum"))
        assert_contains(P, ref, f"broadcast {name} ({mode})")
        if name == "maximum" and mode == "local":
            continue  # local maximum picks one operand per entry (see test_oracle_local)
        assert_pattern_equal(P, structural, f"broadcast {name} ({mode})")


@pytest.mark.parametrize("mode", MODES)
def test_scalar_traced_times_array(mode):
    """A traced 0-d value broadcast against a traced vector."""
    x = sample(rng_for("scalar"), (5,))
    f = lambda x: x[0] * x[1:] + np.sum(x[1:3])  # noqa: E731
    P = tracer.jacobian_sparsity(f, x, mode=mode)
    E = np.zeros((4, 5), bool)
    E[:, 0] = True
    E[np.arange(4), np.arange(1, 5)] = True
    E[:, 1:3] = True
    assert_pattern_equal(P, E, f"scalar broadcast ({mode})")
