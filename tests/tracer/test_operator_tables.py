"""The operator tables, tested as tables: every derivative flag against numerical derivatives.

Walks every row of ``tracer._derivatives`` (``UNARY_RULES`` with the ``scipy.special``
rows, ``BINARY_RULES``, ``MULTI_OUTPUT_RULES``) and every JAX primitive rule that declares
derivative flags (``tracer.jax._registry.RULES``). At seeded random points inside each
function's domain, central differences estimate the first, second and cross derivatives:

* a flag that says "zero" must be (numerically) zero at every point;
* a flag that says "nonzero" must be observed nonzero at some point, or be listed in
  :data:`CONSERVATIVE` with the reason the table keeps it (a pattern may be too large,
  never too small).

For the JAX rows the reference is JAX's own primitive (bound directly, float64), and a
second test checks that the front-end's pattern follows the declared flags exactly.
"""

from __future__ import annotations

import sys
import zlib

import numpy as np
import pytest

from tracer import _derivatives as D

#: an argument with integer values only: no derivative with respect to it exists
INT = "int"
DEFAULT = (-2.0, 2.0)
POS = (0.2, 3.0)
UNIT = (-0.9, 0.9)

#: per function (bare name), the domain of each argument; DEFAULT where not listed
DOMAINS: dict[str, tuple] = {
    # numpy, one argument
    "log": (POS,), "log2": (POS,), "log10": (POS,), "log1p": ((-0.5, 2.0),),
    "sqrt": (POS,), "cbrt": (POS,), "reciprocal": (POS,), "tan": ((-1.2, 1.2),),
    "arcsin": (UNIT,), "arccos": (UNIT,), "arctanh": (UNIT,), "arccosh": ((1.1, 3.0),),
    "spacing": (POS,), "invert": (INT,), "bitwise_count": (INT,),
    # scipy.special, one argument
    "erfinv": (UNIT,), "erfcinv": ((0.1, 1.9),), "erfcx": ((-1.0, 2.0),),
    "logit": ((0.1, 0.9),), "ndtri": ((0.1, 0.9),), "gamma": ((0.5, 3.0),),
    "gammaln": ((0.5, 3.0),), "digamma": ((0.5, 3.0),), "psi": ((0.5, 3.0),),
    "i0e": ((0.2, 2.0),), "i1e": ((0.2, 2.0),), "y0": (POS,), "y1": (POS,), "k0": (POS,),
    "k1": (POS,), "spence": (POS,), "entr": (POS,),
    # numpy, two arguments
    "divide": (DEFAULT, POS), "power": (POS, DEFAULT), "float_power": (POS, DEFAULT),
    "remainder": ((-3.0, 3.0), (0.3, 1.0)), "fmod": ((-3.0, 3.0), (0.3, 1.0)),
    "ldexp": (DEFAULT, INT), "bitwise_and": (INT, INT), "bitwise_or": (INT, INT),
    "bitwise_xor": (INT, INT), "left_shift": (INT, INT), "right_shift": (INT, INT),
    "gcd": (INT, INT), "lcm": (INT, INT),
    # scipy.special, two arguments
    "xlogy": (DEFAULT, POS), "xlog1py": (DEFAULT, (-0.5, 2.0)), "rel_entr": (POS, POS),
    "kl_div": (POS, POS), "huber": ((0.2, 1.0), DEFAULT), "pseudo_huber": ((0.2, 1.0), DEFAULT),
    "beta": ((0.5, 3.0), (0.5, 3.0)), "betaln": ((0.5, 3.0), (0.5, 3.0)),
    "gammainc": ((0.5, 3.0), (0.5, 3.0)), "gammaincc": ((0.5, 3.0), (0.5, 3.0)),
    "boxcox": (POS, (-1.0, 1.0)), "boxcox1p": ((-0.5, 2.0), (-1.0, 1.0)),
    "powm1": (POS, DEFAULT),
    # two outputs
    "divmod": ((-3.0, 3.0), (0.3, 1.0)), "modf": ((-3.0, 3.0),), "frexp": (POS,),
}

#: per JAX primitive, the domain of each argument (DEFAULT where not listed)
JAX_DOMAINS: dict[str, tuple] = {
    "log": (POS,), "log1p": ((-0.5, 2.0),), "sqrt": (POS,), "rsqrt": (POS,), "cbrt": (POS,),
    "tan": ((-1.2, 1.2),), "asin": (UNIT,), "acos": (UNIT,), "atanh": (UNIT,),
    "acosh": ((1.1, 3.0),), "erf_inv": (UNIT,), "lgamma": ((0.5, 3.0),),
    "digamma": ((0.5, 3.0),), "bessel_i0e": ((0.2, 2.0),), "bessel_i1e": ((0.2, 2.0),),
    "div": (DEFAULT, POS), "pow": (POS, DEFAULT), "rem": ((-3.0, 3.0), (0.3, 1.0)),
    "not": (INT,), "and": (INT, INT), "or": (INT, INT), "xor": (INT, INT),
    "shift_left": (INT, INT), "shift_right_arithmetic": (INT, INT),
}

#: flags that say "nonzero" where the derivative is in fact always zero, and why
CONSERVATIVE = {
    ("xlogy", "daa"): "x*log(y) is linear in x; the scipy.special two-argument functions "
                      "share one all-nonzero row",
    ("xlog1py", "daa"): "x*log1p(y) is linear in x; same shared scipy.special row",
}

UNARY_FLAGS = ("d1", "d2")
BINARY_FLAGS = ("da", "db", "daa", "dbb", "dab")
H = 1e-4
N_POINTS = 8


def _points(name: str, domains: tuple, nin: int) -> list[np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    out = []
    for k in range(nin):
        dom = domains[k] if k < len(domains) else DEFAULT
        if dom == INT:
            out.append(rng.integers(1, 6, N_POINTS))
        else:
            out.append(rng.uniform(dom[0], dom[1], N_POINTS))
    return out


def _stencil_values(f, args: list[np.ndarray], kinds: list[str]) -> dict:
    """``f`` on every stencil point in one call: offsets (i, j) in units of H per argument."""
    if len(args) == 1:
        offsets = [(0,), (1,), (-1,)]
    else:
        offsets = [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1)]
    offsets = [o for o in offsets if all(d == 0 or k != INT for d, k in zip(o, kinds))]
    stacked = [np.concatenate([a if kind == INT else a + o[i] * H for o in offsets])
               for i, (a, kind) in enumerate(zip(args, kinds))]
    values = np.asarray(f(*stacked), dtype=np.float64)
    return {o: values[n * N_POINTS:(n + 1) * N_POINTS] for n, o in enumerate(offsets)}


def _derivative_estimates(f, args: list[np.ndarray], kinds: list[str]) -> dict:
    """Central-difference estimates of each flag's derivative (``None``: no derivative)."""
    v = _stencil_values(f, args, kinds)
    scale = 1.0 + max(np.max(np.abs(x)) for x in v.values())
    if len(args) == 1:
        if kinds[0] == INT:
            return {"d1": None, "d2": None}, scale
        return {"d1": (v[(1,)] - v[(-1,)]) / (2 * H),
                "d2": (v[(1,)] - 2 * v[(0,)] + v[(-1,)]) / H**2}, scale
    est: dict = {}
    if kinds[0] != INT:
        est["da"] = (v[(1, 0)] - v[(-1, 0)]) / (2 * H)
        est["daa"] = (v[(1, 0)] - 2 * v[(0, 0)] + v[(-1, 0)]) / H**2
    if kinds[1] != INT:
        est["db"] = (v[(0, 1)] - v[(0, -1)]) / (2 * H)
        est["dbb"] = (v[(0, 1)] - 2 * v[(0, 0)] + v[(0, -1)]) / H**2
    if INT not in kinds:
        est["dab"] = (v[(1, 1)] - v[(1, -1)] - v[(-1, 1)] + v[(-1, -1)]) / (4 * H * H)
    for flag in BINARY_FLAGS:
        est.setdefault(flag, None)
    return est, scale


def _check_flags(label: str, f, flags: tuple, domains: tuple) -> None:
    nin = 1 if len(flags) == 2 else 2
    names = UNARY_FLAGS if nin == 1 else BINARY_FLAGS
    args = _points(label, domains, nin)
    kinds = [INT if (k < len(domains) and domains[k] == INT) else "float" for k in range(nin)]
    with np.errstate(all="ignore"):
        est, scale = _derivative_estimates(f, args, kinds)
    for flag_name, flag in zip(names, flags):
        d = est[flag_name]
        if d is None:  # an integer argument: no derivative, so the flag must say zero
            assert not flag, f"{label}: {flag_name} is flagged nonzero but its argument " \
                             "takes integers only"
            continue
        assert np.all(np.isfinite(d)), f"{label}: non-finite values; fix its domain"
        tol = (1e-7 if len(flag_name) == 2 else 1e-6) * scale
        nonzero = np.abs(d) > 10 * tol
        key = (label.split("[")[0], flag_name)
        if not flag:
            assert not np.any(np.abs(d) > tol), (
                f"{label}: {flag_name} is flagged zero but is {d[np.abs(d) > tol][0]:.3g} at "
                f"{[a[np.abs(d) > tol][0] for a in args]}")
        elif key in CONSERVATIVE:
            assert not nonzero.any(), f"{label}: {flag_name} listed as conservative, but it " \
                                      "is nonzero: remove it from CONSERVATIVE"
        else:
            assert nonzero.any(), (f"{label}: {flag_name} is flagged nonzero but was zero at "
                                   "every point; list it in CONSERVATIVE with the reason")


def _numpy_rows():
    D._load_scipy_special()  # the scipy.special rows are registered on first use
    rows = [(D.ufunc_name(f), f, None, flags) for f, flags in D.UNARY_RULES.items()]
    rows += [(D.ufunc_name(f), f, None, flags) for f, flags in D.BINARY_RULES.items()]
    for f, per_output in D.MULTI_OUTPUT_RULES.items():
        rows += [(f"{D.ufunc_name(f)}[{k}]", f, k, flags) for k, flags in enumerate(per_output)]
    return rows


NUMPY_ROWS = _numpy_rows()


@pytest.mark.parametrize("row", NUMPY_ROWS, ids=[r[0] for r in NUMPY_ROWS])
def test_numpy_table_flags_match_numerical_derivatives(row):
    label, ufunc, output, flags = row
    name = ufunc.__name__

    def f(*args):
        out = ufunc(*args)
        return out if output is None else out[output]

    _check_flags(label.split(".")[-1], f, flags, DOMAINS.get(name, ()))


def test_every_table_row_has_a_rule_shape():
    for _, _, _, flags in NUMPY_ROWS:
        assert len(flags) in (2, 5) and all(isinstance(b, bool) for b in flags)
    for key, reason in CONSERVATIVE.items():
        assert reason and key[1] in UNARY_FLAGS + BINARY_FLAGS


# ------------------------------------------------- the operator and selection tables
#: operands of each dtype for the operator rows (numpy rejects some: then both must)
_OPERANDS = {"float": (np.array([0.7, -1.5, 2.0]), np.array([1.3, 0.5, -2.0])),
             "int": (np.array([3, -4, 7]), np.array([2, 5, 1])),
             "bool": (np.array([True, False, True]), np.array([False, False, True]))}


def _result(f, *args):
    try:
        with np.errstate(all="ignore"):
            return f(*args)
    except TypeError as e:
        return type(e)


@pytest.mark.parametrize("name", sorted(D.OPERATORS))
def test_operator_rows_name_the_ufunc_python_calls(name):
    """Each row: Python's operator on numpy arrays is the row's ufunc (values, or numpy's
    TypeError for the same dtypes), and the ufunc has a derivative rule (or is a product)."""
    pyop, ufunc, form = D.OPERATORS[name]
    assert form in (D.BINARY, D.COMPARISON, D.UNARY)
    assert (ufunc.nin == 1) == (form == D.UNARY)
    assert ufunc in D.PRODUCT_UFUNCS or ufunc in D.MULTI_OUTPUT_RULES \
        or D.rule_of(ufunc) is not None
    for a, b in _OPERANDS.values():
        if ufunc in D.PRODUCT_UFUNCS:
            np.testing.assert_array_equal(pyop(a, b), np.matmul(a, b))
            continue
        args = (a,) if ufunc.nin == 1 else (a, b)
        got, want = _result(pyop, *args), _result(ufunc, *args)
        if isinstance(want, type):
            assert got is want or issubclass(got, TypeError), name
        else:
            for g, w in zip(*((got, want) if isinstance(want, tuple) else ((got,), (want,)))):
                np.testing.assert_array_equal(g, w, err_msg=name)


@pytest.mark.parametrize("ufunc", sorted(D.SELECTING, key=lambda u: u.__name__),
                         ids=lambda u: u.__name__)
def test_selecting_rows_say_which_operand_the_result_is(ufunc):
    """Where one operand wins by the row's comparison, the result is that operand."""
    wins = D.SELECTING[ufunc]
    rng = np.random.default_rng(3)
    a, b = rng.integers(-3, 4, 50).astype(float), rng.integers(-3, 4, 50).astype(float)
    r = ufunc(a, b)
    np.testing.assert_array_equal(r[wins(a, b)], a[wins(a, b)])
    np.testing.assert_array_equal(r[wins(b, a)], b[wins(b, a)])
    assert (a == b).any() and wins(a, b).any() and wins(b, a).any()


# ---------------------------------------------------------------- JAX primitive rules
jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

from tracer.jax._frontend import hessian_sparsity_jax, jacobian_sparsity_jax  # noqa: E402
from tracer.jax._registry import RULES  # noqa: E402

#: flagged rows for primitives this JAX version does not define (older or newer names)
NOT_IN_THIS_JAX = {"gt_to", "ge_to", "ne_to", "hypot"}


def _jax_primitives() -> dict:
    from jax.extend.core import Primitive

    found = {}
    for mod_name, mod in list(sys.modules.items()):
        if mod_name.split(".")[0] in ("jax", "jaxlib") and mod is not None:
            for value in list(vars(mod).values()):
                if isinstance(value, Primitive):
                    found.setdefault(value.name, value)
    return found


PRIMITIVES = _jax_primitives()
FLAGGED = sorted((name, rule.derivatives) for name, rule in RULES.items()
                 if rule.derivatives is not None)
FLAGGED_HERE = [row for row in FLAGGED if row[0] not in NOT_IN_THIS_JAX]


def test_flagged_rows_name_primitives_of_this_jax():
    missing = {name for name, _ in FLAGGED if name not in PRIMITIVES}
    assert missing == NOT_IN_THIS_JAX


def _params(name: str, nin: int) -> dict:
    """The parameters ``jax.lax.<name>`` binds its primitive with (``{}`` if none)."""
    fn = getattr(jax.lax, name, None)
    if fn is None:
        return {}
    example = [np.ones(2, dtype=int if dom == INT else float)
               for dom in (JAX_DOMAINS.get(name, ()) + (DEFAULT, DEFAULT))[:nin]]
    for eqn in jax.make_jaxpr(fn)(*example).jaxpr.eqns:
        if eqn.primitive.name == name:
            return dict(eqn.params)
    return {}


def _bind(name, nin):
    prim = PRIMITIVES[name]
    params = _params(name, nin)

    def f(*args):
        return np.asarray(prim.bind(*[jnp.asarray(a) for a in args], **params))

    return f


@pytest.mark.parametrize("row", FLAGGED_HERE, ids=[r[0] for r in FLAGGED_HERE])
def test_jax_rule_flags_match_jax_derivatives(row):
    name, flags = row
    _check_flags(f"jax:{name}", _bind(name, 1 if len(flags) == 2 else 2), flags,
                 JAX_DOMAINS.get(name, ()))


FLOAT_ROWS = [row for row in FLAGGED_HERE if INT not in JAX_DOMAINS.get(row[0], ())]


@pytest.mark.parametrize("row", FLOAT_ROWS, ids=[r[0] for r in FLOAT_ROWS])
def test_jax_front_end_pattern_follows_the_flags(row):
    """The traced evaluation of each flagged row gives exactly the pattern of its flags."""
    name, flags = row
    prim = PRIMITIVES[name]
    params = _params(name, 1 if len(flags) == 2 else 2)
    k = 3
    eye = np.eye(k, dtype=bool)
    if len(flags) == 2:
        def f(v):
            return prim.bind(v, **params).astype(jnp.float64)

        x = np.full(k, 0.5)
        jac = flags[0] * eye
        hess = flags[1] * eye
    else:
        def f(v):
            return prim.bind(v[:k], v[k:], **params).astype(jnp.float64)

        x = np.full(2 * k, 0.5)
        da, db, daa, dbb, dab = flags
        jac = np.hstack([da * eye, db * eye])
        hess = np.block([[daa * eye, dab * eye], [dab * eye, dbb * eye]])
    np.testing.assert_array_equal(jacobian_sparsity_jax(f, x).toarray(), jac, err_msg=name)
    got = hessian_sparsity_jax(lambda v: jnp.sum(f(v)), x).toarray()
    np.testing.assert_array_equal(got, hess, err_msg=name)
