"""Dense reference derivatives and pattern comparisons for the tracer oracle tests.

The tracer must be *conservative*: its pattern may hold extra entries but must never
miss an entry that is numerically nonzero at some point. These helpers compute a dense
Jacobian or Hessian by an independent method (``jax.jacfwd`` / ``jax.hessian`` of an
equivalent ``jax.numpy`` function, complex step, or central finite differences) and
compare it with a detected boolean ``csr_array``.

Most test functions are written once as ``f(xp, x)`` with ``xp`` either ``numpy`` or
``jax.numpy``, so the traced function and the oracle are literally the same code.
"""
from __future__ import annotations

import warnings
from typing import Callable, Iterable

import numpy as np
import scipy.sparse as sp

# Entries with |J| <= TOL * max(1, max|J|) count as numerically zero.
TOL = 1e-9          # complex step and JAX: exact to rounding
FD_TOL = 1e-6       # central differences carry ~1e-10 roundoff, so they need a looser cut
HESS_FD_TOL = 1e-5  # second differences: ~1e-8 error
HESS_TOL = 1e-11    # complex-step gradient + central differences; structural zeros stay exact 0


# --------------------------------------------------------------------------- dense oracles
def jacobian_jax(f_xp: Callable, x: np.ndarray) -> np.ndarray:
    """Dense ``(m, n)`` Jacobian of ``f_xp(jnp, x)`` by ``jax.jacfwd`` (float64)."""
    import jax
    import jax.numpy as jnp

    x = np.asarray(x, dtype=float)

    def g(z):
        out = f_xp(jnp, z.reshape(x.shape))
        if isinstance(out, (list, tuple)):
            out = jnp.stack([jnp.asarray(o, dtype=float) for o in out])
        return jnp.asarray(out, dtype=float).ravel()

    J = jax.jacfwd(g)(jnp.asarray(x.ravel()))
    return np.asarray(J, dtype=float).reshape(-1, x.size)


def hessian_jax(f_xp: Callable, x: np.ndarray) -> np.ndarray:
    """Dense ``(n, n)`` Hessian of the scalar ``f_xp(jnp, x)`` by ``jax.hessian``."""
    import jax
    import jax.numpy as jnp

    x = np.asarray(x, dtype=float)

    def g(z):
        return jnp.reshape(f_xp(jnp, z.reshape(x.shape)), ())

    H = jax.hessian(g)(jnp.asarray(x.ravel()))
    return np.asarray(H, dtype=float).reshape(x.size, x.size)


def jacobian_complex_step(f: Callable, x: np.ndarray, h: float = 1e-30) -> np.ndarray:
    """Dense Jacobian by the complex step ``Im f(x + i h e_j) / h`` (f must be complex-safe)."""
    x = np.asarray(x, dtype=float)
    cols = []
    for j in range(x.size):
        z = x.astype(complex).ravel()
        z[j] += 1j * h
        out = f(z.reshape(x.shape))
        if isinstance(out, (list, tuple)):
            out = np.array(out, dtype=complex)
        cols.append(np.imag(np.asarray(out, dtype=complex)).ravel() / h)
    return np.stack(cols, axis=1) if cols else np.zeros((0, 0))


def jacobian_fd(f: Callable, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Dense Jacobian by central finite differences (for float-only code with buffers)."""
    x = np.asarray(x, dtype=float)

    def ev(z):
        out = f(z.reshape(x.shape))
        if isinstance(out, (list, tuple)):
            out = np.array(out, dtype=float)
        return np.asarray(out, dtype=float).ravel()

    cols = []
    for j in range(x.size):
        step = h * max(1.0, abs(x.ravel()[j]))
        zp = x.ravel().copy()
        zm = x.ravel().copy()
        zp[j] += step
        zm[j] -= step
        cols.append((ev(zp) - ev(zm)) / (2 * step))
    return np.stack(cols, axis=1)


def hessian_fd(f: Callable, x: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Dense Hessian by second-order central differences of a scalar float function."""
    x = np.asarray(x, dtype=float).ravel()
    n = x.size
    H = np.zeros((n, n))

    def ev(z):
        return float(np.asarray(f(z)))

    for i in range(n):
        for j in range(i, n):
            zi = np.zeros(n)
            zj = np.zeros(n)
            zi[i] = h
            zj[j] = h
            H[i, j] = H[j, i] = (ev(x + zi + zj) - ev(x + zi - zj) - ev(x - zi + zj)
                                 + ev(x - zi - zj)) / (4 * h * h)
    return H


def hessian_complex_step(f: Callable, x: np.ndarray, delta: float = 1e-5) -> np.ndarray:
    """Dense Hessian: central differences of the (exact) complex-step gradient."""
    x = np.asarray(x, dtype=float)

    def grad(z):
        return jacobian_complex_step(lambda w: np.reshape(f(w), ()), z).ravel()

    cols = []
    for k in range(x.size):
        zp = x.ravel().copy()
        zm = x.ravel().copy()
        zp[k] += delta
        zm[k] -= delta
        cols.append((grad(zp.reshape(x.shape)) - grad(zm.reshape(x.shape))) / (2 * delta))
    H = np.stack(cols, axis=1)
    return 0.5 * (H + H.T)


class _NotComplexSafe(Exception):
    pass


def _complex_safe_call(method: Callable, *a):
    """Run a complex-step oracle; any complex-unsafe numpy operation aborts it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", np.exceptions.ComplexWarning)
        try:
            return method(*a)
        except (TypeError, ValueError, np.exceptions.ComplexWarning) as exc:
            raise _NotComplexSafe(str(exc)) from exc


def reference_jacobian(f_xp: Callable, x: np.ndarray, complex_safe: bool = True,
                       fallback: str = "fd"):
    """Dense Jacobian of ``f_xp`` and the tolerance to read it with: ``(J, tol)``.

    Complex step on the numpy code where it is complex-safe (exact to rounding). Otherwise,
    or when numpy refuses complex input, ``fallback``: ``"fd"`` central differences of the
    same numpy code on floats (test points are drawn away from kinks and jumps), or
    ``"jax"`` for ``jax.jacfwd`` of the ``jax.numpy`` code (slow on first use of each op).

    ``complex_safe=False`` must be passed for code that accepts complex input but is not
    analytic (abs, sign, norms, var/std, max/min): the complex step would be silently wrong.

    Returns ``(J, tol, floor)``, ready for ``nonzero_mask(*reference_jacobian(...))``.
    """
    if complex_safe:
        try:
            return _complex_safe_call(jacobian_complex_step, lambda z: f_xp(np, z), x), TOL, 0.0
        except _NotComplexSafe:
            pass
    if fallback == "jax":
        return jacobian_jax(f_xp, x), TOL, 0.0
    return jacobian_fd(lambda z: f_xp(np, z), x), FD_TOL, 1.0


def reference_hessian(f_xp: Callable, x: np.ndarray, complex_safe: bool = True,
                      fallback: str = "fd"):
    """Dense Hessian of a scalar ``f_xp`` (see :func:`reference_jacobian`): ``(H, tol, floor)``."""
    if complex_safe:
        try:
            H = _complex_safe_call(hessian_complex_step, lambda z: f_xp(np, z), x)
            return H, HESS_TOL, 0.0
        except _NotComplexSafe:
            pass
    if fallback == "jax":
        return hessian_jax(f_xp, x), TOL, 0.0
    return hessian_fd(lambda z: f_xp(np, z.reshape(np.shape(x))), x), HESS_FD_TOL, 1.0


def near_kink(f: Callable, x: np.ndarray, step: float = 1e-5, rtol: float = 1e-4) -> bool:
    """True when central differences with steps ``step`` and 1e-7 disagree: a kink or jump
    of piecewise code (max, abs, where) lies within the step, so FD references are unreliable."""
    J1 = jacobian_fd(f, x, step)
    J2 = jacobian_fd(f, x, 1e-7)
    return not np.allclose(J1, J2, rtol=rtol, atol=rtol * max(1.0, float(np.abs(J2).max(
        initial=0.0))))


# --------------------------------------------------------------------------- patterns
def nonzero_mask(M: np.ndarray, tol: float = TOL, floor: float = 1.0) -> np.ndarray:
    """Boolean mask of the numerically nonzero entries: ``|M| > tol * max(floor, max|M|)``.

    Exact methods (complex step, JAX) leave structural zeros exactly zero, so they use
    ``floor=0`` (purely relative); finite differences keep ``floor=1`` against roundoff.
    """
    M = np.asarray(M, dtype=float)
    if not np.all(np.isfinite(M)):
        raise AssertionError("reference derivative is not finite; pick another test point")
    scale = max(floor, float(np.max(np.abs(M)))) if M.size else 1.0
    return np.abs(M) > tol * (scale if scale > 0 else 1.0)


def to_dense(P) -> np.ndarray:
    """Dense boolean array of a detected pattern; also checks the documented return type."""
    assert sp.issparse(P), f"pattern must be a scipy.sparse array, got {type(P)}"
    assert isinstance(P, sp.csr_array), f"pattern must be a csr_array, got {type(P)}"
    assert P.dtype == np.bool_, f"pattern dtype must be bool, got {P.dtype}"
    return np.asarray(P.toarray(), dtype=bool)


def _fmt(idx: Iterable) -> str:
    idx = list(idx)
    more = f" ... ({len(idx)} in all)" if len(idx) > 12 else ""
    return ", ".join(str(tuple(int(v) for v in t)) for t in idx[:12]) + more


def assert_contains(P, ref_mask: np.ndarray, what: str = "pattern") -> None:
    """Every numerically nonzero reference entry must be in the detected pattern."""
    D = to_dense(P)
    ref_mask = np.asarray(ref_mask, dtype=bool)
    assert D.shape == ref_mask.shape, f"{what}: shape {D.shape} != reference {ref_mask.shape}"
    missing = np.argwhere(ref_mask & ~D)
    assert missing.size == 0, f"{what} misses numerically nonzero entries: {_fmt(missing)}"


def assert_pattern_equal(P, expected, what: str = "pattern") -> None:
    """Detected pattern equals the exact one (reported as missing / extra entries)."""
    D = to_dense(P)
    E = np.asarray(expected.toarray() if sp.issparse(expected) else expected, dtype=bool)
    assert D.shape == E.shape, f"{what}: shape {D.shape} != expected {E.shape}"
    missing = np.argwhere(E & ~D)
    extra = np.argwhere(D & ~E)
    assert missing.size == 0 and extra.size == 0, (
        f"{what} differs from the exact pattern: missing [{_fmt(missing)}], "
        f"extra [{_fmt(extra)}]")


def assert_symmetric(P, what: str = "Hessian pattern") -> None:
    D = to_dense(P)
    assert D.shape[0] == D.shape[1], f"{what} must be square, got {D.shape}"
    assert np.array_equal(D, D.T), f"{what} must be symmetric"


# --------------------------------------------------------------------------- test points
def sample(rng: np.random.Generator, shape, domain: str = "real") -> np.ndarray:
    """Random test point inside the domain of a function (away from kinks and zeros)."""
    size = int(np.prod(shape))
    mag = rng.uniform(0.2, 0.9, size)
    sign = rng.choice([-1.0, 1.0], size)
    if domain == "real":          # |x| in [0.2, 0.9], either sign
        x = mag * sign
    elif domain == "pos":         # (0.2, 0.9)
        x = mag
    elif domain == "big":         # (1.2, 3) for arccosh and friends
        x = 1.2 + 2 * mag
    elif domain == "wide":        # |x| in [0.2, 3]
        x = rng.uniform(0.2, 3.0, size) * sign
    else:  # pragma: no cover - programming error in a test
        raise ValueError(domain)
    return x.reshape(shape)
