"""``math`` functions on traced values use the numpy rule of the same function (issue #12,
item 3), in the tracing thread only; a math function bound before the trace still raises.

Every row of :data:`tracer._math.MATH_RULES` is exercised in loop-style code and compared
with central differences of the same code on floats.
"""
from __future__ import annotations

import math
from math import exp as exp_bound_before_trace

import numpy as np
import pytest

import tracer
from tests.tracer._oracle import HESS_FD_TOL, hessian_fd, jacobian_fd, nonzero_mask
from tracer._math import MATH_RULES

# name -> (element function of (a, b), exact): exact rows must give exactly the reference
# pattern; piecewise rows (sign, remainder, rounding) may keep a conservative dependence.
CASES = {
    "exp": (lambda a, b: math.exp(a * b), True),
    "expm1": (lambda a, b: math.expm1(a * b), True),
    "exp2": (lambda a, b: math.exp2(a * b), True),
    "log": (lambda a, b: math.log(a, 2.0 + b), True),
    "log1p": (lambda a, b: math.log1p(a * b), True),
    "log2": (lambda a, b: math.log2(a * b), True),
    "log10": (lambda a, b: math.log10(a * b), True),
    "sqrt": (lambda a, b: math.sqrt(a * b), True),
    "cbrt": (lambda a, b: math.cbrt(a * b), True),
    "pow": (lambda a, b: math.pow(a, b), True),
    "sin": (lambda a, b: math.sin(a * b), True),
    "cos": (lambda a, b: math.cos(a * b), True),
    "tan": (lambda a, b: math.tan(a * b), True),
    "asin": (lambda a, b: math.asin(a * b), True),
    "acos": (lambda a, b: math.acos(a * b), True),
    "atan": (lambda a, b: math.atan(a * b), True),
    "atan2": (lambda a, b: math.atan2(a, b), True),
    "sinh": (lambda a, b: math.sinh(a * b), True),
    "cosh": (lambda a, b: math.cosh(a * b), True),
    "tanh": (lambda a, b: math.tanh(a * b), True),
    "asinh": (lambda a, b: math.asinh(a * b), True),
    "acosh": (lambda a, b: math.acosh(1.0 + a * b), True),
    "atanh": (lambda a, b: math.atanh(a * b), True),
    "hypot": (lambda a, b: math.hypot(a, b) + math.hypot(a, 2.0, b), True),
    "degrees": (lambda a, b: math.degrees(a * b), True),
    "radians": (lambda a, b: math.radians(a * b), True),
    "fabs": (lambda a, b: math.fabs(a - 3.0 * b), True),
    "floor": (lambda a, b: math.floor(a * b + 2.0) + b, False),
    "ceil": (lambda a, b: math.ceil(a * b + 2.0) + b, False),
    "trunc": (lambda a, b: math.trunc(a * b + 2.0) + b, False),
    "copysign": (lambda a, b: math.copysign(a, b - 2.0), False),
    "fmod": (lambda a, b: math.fmod(a, b + 1.0), False),
    "erf": (lambda a, b: math.erf(a * b), True),
    "erfc": (lambda a, b: math.erfc(a * b), True),
    "gamma": (lambda a, b: math.gamma(a * b), True),
    "lgamma": (lambda a, b: math.lgamma(a * b), True),
}
X = np.array([0.35, 0.8, 0.55, 0.9, 0.45])


def _loop(element):
    def f(x):
        out = np.zeros(x.size - 1)
        for i in range(x.size - 1):
            out[i] = element(x[i], x[i + 1])
        return out
    return f


def test_cases_cover_the_table():
    assert set(CASES) == set(MATH_RULES)


@pytest.mark.parametrize("mode", ["global", "local"])
@pytest.mark.parametrize("name", sorted(MATH_RULES))
def test_math_function_on_traced_values_matches_reference(name, mode):
    element, exact = CASES[name]
    f = _loop(element)
    P = tracer.jacobian_sparsity(f, X, mode=mode).toarray()
    reference = nonzero_mask(jacobian_fd(f, X), 1e-6)
    assert not (reference & ~P).any(), f"math.{name}: missing nonzeros"
    if exact:
        assert np.array_equal(P, reference), f"math.{name}: extra entries"


def test_math_in_hessian_mode_and_on_reductions():
    def f(x):
        total = math.exp(np.sum(x[:2]))  # a 0-d traced array
        for i in range(x.size - 1):
            total = total + math.sin(x[i] * x[i + 1]) + math.sqrt(x[i])
        return total

    H = tracer.hessian_sparsity(f, X).toarray()
    reference = nonzero_mask(hessian_fd(f, X), HESS_FD_TOL)
    assert np.array_equal(H, reference)


def test_math_function_bound_before_the_trace_still_raises():
    def f(x):
        return np.array([exp_bound_before_trace(x[0]), x[1]])

    with pytest.raises(tracer.TracingError, match=r"np\.exp"):
        tracer.jacobian_sparsity(f, X)


def test_math_functions_are_math_outside_a_trace():
    for name in MATH_RULES:
        assert type(getattr(math, name)).__name__ == "builtin_function_or_method", name
