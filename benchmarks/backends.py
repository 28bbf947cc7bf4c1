"""JAX backend vs asdex and sparsejac on the 2D Brusselator, in one process.

Run ``python -m benchmarks.backends`` (options: ``--sizes 32 64 128``, ``--rounds``,
``--pin CORE`` to pin the process to one core like the issue's peer figures,
``--no-layouts``, ``--no-hessian``, ``--clock process`` for CPU time instead of wall time
on a shared machine, ``--json PATH``). ``main(argv)`` returns the results.

What is timed (steady state = median over interleaved rounds: every method runs once per
round, so a load spike from other processes hits all methods alike):

- ``f (jit)``: one jitted call of the right-hand side, the floor.
- ``compressed JVP (runtime seed)``: ``jit(vmap(jvp))`` with the seed matrix ``(k, n)``
  as a device argument, products ``(k, m)`` left on the device.
- ``compressed JVP (constant seed)``: the same with the seed compiled in as a constant.
  This is "the vmapped compressed JVP alone" of the 1.3x decompression criterion.
- ``backend.products (gathered)``: :class:`sparsead.backends.jax_backend.JaxBackend`
  fused product + gather for one :class:`sparsead.backends.ProductRequest`, numpy values
  out.
- ``pipeline J(x, out=M)`` / ``J(x)``: ``sparsead.prepare_jacobian(..., backend="jax")``,
  refilling a CSR matrix / returning a new one.
- ``backend.products (gathered, transposed)``: the same with the product transposed in the
  executable before the gather (``JaxBackend(transpose_gather_bytes=0)``).
- ``asdex``, ``sparsejac``: their sparse Jacobians, jitted, on the same function.
- ``pipeline torch J(x, out=M)``: the torch backend on a torch twin of the function.

First call is measured once per method, after one trivial jitted call has initialised
the XLA runtime (so the first method does not pay for it alone).

The layout study times the seed/product layouts on one size: ``vmap`` over axis 0 of a
``(k, n)`` seed with ``(k, m)`` products (what the backend uses), over axis 1 of an
``(n, k)`` seed with ``(m, k)`` products, the two mixed cases, ``jax.linearize`` + vmap,
and an unrolled loop of ``jax.jvp`` calls, each with runtime and with constant seeds.

The Hessian part times ``sum(f(u)**2)`` (N = 64 by default) with
``sparsead.prepare_hessian(..., backend="jax")`` against ``asdex.hessian``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

__all__ = ["main", "interleaved_medians", "interleaved_stats", "brusselator_setup",
           "jacobian_methods", "first_calls", "layout_methods", "hessian_methods",
           "hessian_first_calls"]


# ---------------------------------------------------------------------------- timing
def _block(result: Any) -> Any:
    if hasattr(result, "block_until_ready"):
        return result.block_until_ready()
    if hasattr(result, "data") and hasattr(result.data, "block_until_ready"):  # BCOO
        result.data.block_until_ready()
        return result
    if isinstance(result, (tuple, list)):
        for r in result:
            _block(r)
    return result


def _timed(fn: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    _block(fn())
    return time.perf_counter() - t0


def interleaved_medians(methods: dict[str, Callable[[], Any]], rounds: int = 15,
                        min_time: float = 0.01, clock: str = "wall") -> dict[str, float]:
    """Median seconds per call of each zero-argument callable, measured round-robin.

    Every round times each method once (``number`` calls, sized so one sample lasts about
    ``min_time``), so slow phases of a shared machine spread over all methods.
    """
    return {k: v[0] for k, v in interleaved_stats(methods, rounds, min_time, clock).items()}


#: ``wall``: elapsed time; ``process``: CPU time of all threads of this process, which
#: leaves out the time other processes of a shared machine hold the core.
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter,
                                          "process": time.process_time}


def interleaved_stats(methods: dict[str, Callable[[], Any]], rounds: int = 15,
                      min_time: float = 0.01,
                      clock: str = "wall") -> dict[str, tuple[float, float]]:
    """``(median, min)`` seconds per call, as :func:`interleaved_medians` measures them.

    On a loaded machine the minimum is the better estimate of the unloaded cost; the
    median is what the issue's targets quote. ``clock="process"`` measures CPU time
    (see :data:`CLOCKS`), robust to other processes taking turns on the core.
    """
    now = CLOCKS[clock]
    number = {}
    for name, fn in methods.items():
        _block(fn())  # warm-up (and compilation, if any was left)
        t = max(_timed(fn), 1e-7)
        number[name] = max(1, int(min_time / t))
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(rounds):
        for name, fn in methods.items():
            t0 = now()
            for _ in range(number[name]):
                _block(fn())
            samples[name].append((now() - t0) / number[name])
    return {name: (statistics.median(v), min(v)) for name, v in samples.items()}


# ---------------------------------------------------------------------------- problem
def brusselator_setup(N: int) -> dict[str, Any]:
    """JAX Brusselator, its pattern, and a column coloring (seed ``V`` and gather index).

    The coloring is the pipeline's own (``sparsead.prepare_jacobian`` with the exact
    pattern); ``flat_index`` addresses the C-ordered ``(k, m)`` product in CSR order.
    """
    import jax.numpy as jnp  # noqa: F401  (fail early when JAX is missing)

    from benchmarks.problems import brusselator_initial, brusselator_sparsity, make_brusselator_jax
    f = make_brusselator_jax(N, t=2.0)  # t >= 1.1: the forcing term is on
    x = brusselator_initial(N)
    S = brusselator_sparsity(N).tocsr()
    return {"N": N, "f": f, "x": x, "S": S, "n": x.size}


def _coloring_of(S: sp.csr_array) -> np.ndarray:
    """Column colors from our coloring package, or a plain greedy pass without it."""
    try:
        import coloring
        return np.asarray(coloring.color(S, "column").colors)
    except Exception:  # noqa: BLE001  (benchmark still runs on a bare checkout)
        G = (sp.csr_array(S, dtype=np.int8).T @ sp.csr_array(S, dtype=np.int8)).tocsr()
        colors = -np.ones(S.shape[1], dtype=np.int64)
        for v in range(S.shape[1]):
            used = set(colors[G.indices[G.indptr[v]:G.indptr[v + 1]]].tolist())
            c = 0
            while c in used:
                c += 1
            colors[v] = c
        return colors


def _seed_and_index(S: sp.csr_array, colors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    k = int(colors.max()) + 1
    V = np.zeros((k, S.shape[1]))
    V[colors, np.arange(S.shape[1])] = 1.0
    coo = S.tocoo()
    order = np.lexsort((coo.col, coo.row))  # CSR order
    rows, cols = coo.row[order], coo.col[order]
    return V, (colors[cols] * S.shape[0] + rows).astype(np.int64)


# ---------------------------------------------------------------------------- Jacobian
def first_calls(case: dict[str, Any], *, peers: bool = True) -> dict[str, dict[str, float]]:
    """First-call seconds, split where the method allows it.

    Returns ``{method: {"prepare": s, "first_eval": s, "total": s}}``. For ``ours`` the
    prepare step is coloring + plan + backend preparation (pattern given); ``ours
    (detect)`` detects the pattern from the numpy twin of f.
    """
    import jax

    import sparsead
    from benchmarks.problems import make_brusselator_numpy

    f, x, S, N = case["f"], case["x"], case["S"], case["N"]
    out: dict[str, dict[str, float]] = {}
    _block(jax.jit(lambda z: z + 1.0)(x))  # initialise the XLA runtime once

    t0 = time.perf_counter()
    J = sparsead.prepare_jacobian(f, x, backend="jax", sparsity=S)
    t1 = time.perf_counter()
    J(x)
    t2 = time.perf_counter()
    out["ours"] = {"prepare": t1 - t0, "first_eval": t2 - t1, "total": t2 - t0}
    case["J"] = J
    try:
        f_np = make_brusselator_numpy(N, t=2.0)
        t0 = time.perf_counter()
        J2 = sparsead.prepare_jacobian(make_brusselator_jax(N, 2.0), x, backend="jax",
                                       sparsity_from=f_np)
        t1 = time.perf_counter()
        J2(x)
        t2 = time.perf_counter()
        out["ours (detect)"] = {"prepare": t1 - t0, "first_eval": t2 - t1,
                                "total": t2 - t0}
    except Exception as exc:  # noqa: BLE001
        out["ours (detect)"] = {"error": repr(exc)[:200]}
    try:
        ft = make_brusselator_torch(N, 2.0)
        t0 = time.perf_counter()
        Jt = sparsead.prepare_jacobian(ft, x, backend="torch", sparsity=S)
        t1 = time.perf_counter()
        Jt(x)
        t2 = time.perf_counter()
        out["ours torch"] = {"prepare": t1 - t0, "first_eval": t2 - t1, "total": t2 - t0}
        case["J_torch"] = Jt
    except ImportError:
        out["ours torch"] = {"error": "torch not installed"}
    if not peers:
        return out
    xd = jax.numpy.asarray(x)
    try:
        import asdex
        fa = make_brusselator_jax(N, 2.0)
        t0 = time.perf_counter()
        jac = jax.jit(asdex.jacobian(fa, xd))
        t1 = time.perf_counter()
        _block(jac(xd))
        t2 = time.perf_counter()
        out["asdex"] = {"prepare": t1 - t0, "first_eval": t2 - t1, "total": t2 - t0}
        case["asdex"] = jac
    except ImportError:
        out["asdex"] = {"error": "not installed"}
    try:
        import jax.experimental.sparse as jsparse
        import sparsejac
        fs = make_brusselator_jax(N, 2.0)
        t0 = time.perf_counter()
        pattern = jsparse.BCOO.from_scipy_sparse(sp.coo_matrix(S.astype(np.float64)))
        jac = jax.jit(sparsejac.jacfwd(fs, sparsity=pattern))
        t1 = time.perf_counter()
        _block(jac(xd))
        t2 = time.perf_counter()
        out["sparsejac"] = {"prepare": t1 - t0, "first_eval": t2 - t1, "total": t2 - t0}
        case["sparsejac"] = jac
    except ImportError:
        out["sparsejac"] = {"error": "not installed"}
    return out


def make_brusselator_jax(N: int, t: float):
    from benchmarks.problems import make_brusselator_jax as make
    return make(N, t)


def jacobian_methods(case: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """Zero-argument callables for the steady-state table (after :func:`first_calls`)."""
    import jax
    import jax.numpy as jnp

    from sparsead.backends import ProductRequest
    from sparsead.backends.jax_backend import JaxBackend

    f, x, S = case["f"], case["x"], case["S"]
    J = case.get("J")
    colors = (np.asarray(J.coloring.colors) if J is not None and J.mode == "column"
              else _coloring_of(S))
    V, flat_index = _seed_and_index(S, colors)
    case["ncolors"] = V.shape[0]
    xd = jnp.asarray(x)
    Vd = jnp.asarray(V)

    def batched(xv, Vv):
        return jax.vmap(lambda v: jax.jvp(f, (xv,), (v,)), out_axes=(None, 0))(Vv)

    jvp_runtime = jax.jit(batched)
    jvp_const = jax.jit(lambda xv: batched(xv, V))
    f_jit = jax.jit(f)
    be = JaxBackend()
    ctx = be.prepare(f, x)
    be_t = JaxBackend(transpose_gather_bytes=0)
    ctx_t = be_t.prepare(f, x)
    request = ProductRequest("jvp", V, flat_index)
    methods: dict[str, Callable[[], Any]] = {
        "f (jit)": lambda: f_jit(xd),
        "compressed JVP (runtime seed)": lambda: jvp_runtime(xd, Vd),
        "compressed JVP (constant seed)": lambda: jvp_const(xd),
        "backend.jvp (numpy out)": lambda: be.jvp(ctx, x, V),
        "backend.products (gathered)": lambda: be.products(ctx, x, request),
        "backend.products (gathered, transposed)": lambda: be_t.products(ctx_t, x, request),
    }
    if J is not None:
        M = J(x)
        methods["pipeline J(x, out=M)"] = lambda: J(x, out=M)
        methods["pipeline J(x)"] = lambda: J(x)
    for peer in ("asdex", "sparsejac"):
        if peer in case:
            methods[peer] = (lambda jac: lambda: jac(xd))(case[peer])
    if "J_torch" in case:
        Jt = case["J_torch"]
        Mt = Jt(x)
        methods["pipeline torch J(x, out=M)"] = lambda: Jt(x, out=Mt)
    return methods


def make_brusselator_torch(N: int, t: float = 0.0):
    """The Brusselator right-hand side written with torch (twin of the JAX one)."""
    import torch

    from benchmarks.problems import (
        A_PARAM,
        ALPHA_PARAM,
        B_PARAM,
        brusselator_forcing,
        brusselator_grid,
    )
    _, dx = brusselator_grid(N)
    alpha = ALPHA_PARAM / dx**2
    forcing = torch.from_numpy(brusselator_forcing(N, t))

    def f(y):
        y = y.reshape(2, N, N)
        u, v = y[0], y[1]

        def lap(w):
            return (torch.roll(w, 1, 0) + torch.roll(w, -1, 0) + torch.roll(w, 1, 1)
                    + torch.roll(w, -1, 1) - 4.0 * w)

        u2v = u * u * v
        du = alpha * lap(u) + B_PARAM + u2v - (A_PARAM + 1.0) * u + forcing
        dv = alpha * lap(v) + A_PARAM * u - u2v
        return torch.cat([du.reshape(-1), dv.reshape(-1)])

    return f


# ---------------------------------------------------------------------------- layouts
def layout_methods(case: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The seed/product layouts of the module docstring, runtime and constant seeds."""
    import jax
    import jax.numpy as jnp

    f, x, S = case["f"], case["x"], case["S"]
    V, _ = _seed_and_index(S, _coloring_of(S))
    VT = np.ascontiguousarray(V.T)
    xd = jnp.asarray(x)

    def jv(xv, v):
        return jax.jvp(f, (xv,), (v,))

    def vm(in_axis, out_axis):
        return lambda xv, W: jax.vmap(jv, in_axes=(None, in_axis),
                                      out_axes=(None, out_axis))(xv, W)

    def linearized(xv, W):
        y, lin = jax.linearize(f, xv)
        return y, jax.vmap(lin)(W)

    def unrolled(xv, W):
        outs = [jax.jvp(f, (xv,), (W[c],)) for c in range(W.shape[0])]
        return outs[0][0], jnp.stack([o[1] for o in outs])

    variants = {
        "(k,n) in0 -> (k,m) out0": (vm(0, 0), V),
        "(n,k) in1 -> (m,k) out1": (vm(1, 1), VT),
        "(n,k) in1 -> (k,m) out0": (vm(1, 0), VT),
        "(k,n) in0 -> (m,k) out1": (vm(0, 1), V),
        "linearize + vmap (k,n)": (linearized, V),
        "unrolled jvp loop (k,n)": (unrolled, V),
    }
    methods: dict[str, Callable[[], Any]] = {}
    for name, (fn, W) in variants.items():
        rt = jax.jit(fn)
        Wd = jnp.asarray(W)
        methods[f"{name} runtime"] = (lambda g, w: lambda: g(xd, w))(rt, Wd)
        cst = jax.jit((lambda g, w: lambda xv: g(xv, w))(fn, W))
        methods[f"{name} const"] = (lambda g: lambda: g(xd))(cst)
    return methods


# ---------------------------------------------------------------------------- Hessian
def _objective_jax(N: int):
    import jax.numpy as jnp
    f = make_brusselator_jax(N, 2.0)

    def g(u):
        r = f(u)
        return jnp.sum(r * r)
    return g


def hessian_first_calls(N: int, *, peers: bool = True) -> tuple[dict, dict]:
    """First calls of the Hessian of ``sum(f(u)**2)``; returns ``(timings, case)``."""
    import jax

    import sparsead
    from benchmarks.problems import brusselator_initial, brusselator_sparsity

    x = brusselator_initial(N)
    S = sp.csr_array(brusselator_sparsity(N), dtype=np.int8)
    H_pattern = sp.csr_array((S.T @ S) != 0)  # sum f^2: H = 2 J^T J + sum 2 f_i H_i
    case: dict[str, Any] = {"x": x, "N": N}
    out: dict[str, dict[str, float]] = {}
    _block(jax.jit(lambda z: z + 1.0)(x))
    g = _objective_jax(N)
    t0 = time.perf_counter()
    H = sparsead.prepare_hessian(g, x, backend="jax", sparsity=H_pattern)
    t1 = time.perf_counter()
    H(x)
    t2 = time.perf_counter()
    out["ours"] = {"prepare": t1 - t0, "first_eval": t2 - t1, "total": t2 - t0,
                   "ncolors": H.ncolors}
    case["H"] = H
    if peers:
        try:
            import asdex
            xd = jax.numpy.asarray(x)
            ga = _objective_jax(N)
            t0 = time.perf_counter()
            hes = jax.jit(asdex.hessian(ga, xd))
            t1 = time.perf_counter()
            _block(hes(xd))
            t2 = time.perf_counter()
            out["asdex"] = {"prepare": t1 - t0, "first_eval": t2 - t1, "total": t2 - t0}
            try:
                out["asdex"]["ncolors"] = int(asdex.hessian_coloring(ga, xd).num_colors)
            except Exception:  # noqa: BLE001  (cosmetic)
                pass
            case["asdex"] = hes
        except ImportError:
            out["asdex"] = {"error": "not installed"}
    return out, case


def hessian_methods(case: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """Steady-state Hessian callables (after :func:`hessian_first_calls`)."""
    import jax
    import jax.numpy as jnp

    x, H = case["x"], case["H"]
    g = _objective_jax(case["N"])
    grad = jax.grad(g)
    xd = jnp.asarray(x)
    M = H(x)
    k = H.ncolors
    V = np.eye(k, x.size)  # same shape as the star-coloring seeds: time of k HVPs
    hvp_const = jax.jit(lambda xv: jax.vmap(lambda v: jax.jvp(grad, (xv,), (v,))[1])(V))
    g_jit = jax.jit(g)
    methods = {"objective (jit)": lambda: g_jit(xd),
               "compressed HVP (constant seed)": lambda: hvp_const(xd),
               "pipeline H(x, out=M)": lambda: H(x, out=M),
               "pipeline H(x)": lambda: H(x)}
    if "asdex" in case:
        methods["asdex"] = (lambda hes: lambda: hes(xd))(case["asdex"])
    return methods


# ---------------------------------------------------------------------------- report
def _fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.3f} ms"


def _print_steady(title: str, res: dict[str, tuple[float, float]], ref: str | None) -> None:
    print(title + "   median (ratio) | min (ratio)")
    base = res.get(ref) if ref else None
    for name, (t, tmin) in res.items():
        ratio = f" ({t / base[0]:5.2f}x)" if base else ""
        ratio_min = f" ({tmin / base[1]:5.2f}x)" if base else ""
        print(f"  {name:38s} {_fmt(t)}{ratio} | {_fmt(tmin)}{ratio_min}")
    if base:
        print(f"  ratios relative to: {ref}")


def _print_first(title: str, res: dict[str, dict[str, float]]) -> None:
    print(title)
    for name, d in res.items():
        if "error" in d:
            print(f"  {name:38s} skipped: {d['error']}")
            continue
        extra = f"  ncolors={d['ncolors']}" if "ncolors" in d else ""
        print(f"  {name:38s} total {_fmt(d['total'])} = prepare {_fmt(d['prepare'])}"
              f" + first eval {_fmt(d['first_eval'])}{extra}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark; print tables and return the results as a dict."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 64, 128])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--pin", type=int, default=None,
                        help="pin the process to this CPU core before JAX starts")
    parser.add_argument("--layout-size", type=int, default=128)
    parser.add_argument("--hessian-size", type=int, default=64)
    parser.add_argument("--no-layouts", action="store_true")
    parser.add_argument("--no-hessian", action="store_true")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="steady-state clock: wall time, or CPU time of the process")
    parser.add_argument("--json", type=str, default=None)
    opts = parser.parse_args(argv)
    if opts.pin is not None:
        os.sched_setaffinity(0, {opts.pin})
    import jax
    jax.config.update("jax_enable_x64", True)

    results: dict[str, Any] = {"load_average": os.getloadavg(), "clock": opts.clock, "jacobian": {},
                               "layouts": None, "hessian": None}
    print(f"jax {jax.__version__}, load average {os.getloadavg()}, "
          f"affinity {sorted(os.sched_getaffinity(0))}, clock {opts.clock}")
    for N in opts.sizes:
        case = brusselator_setup(N)
        first = first_calls(case, peers=not opts.no_peers)
        steady = interleaved_stats(jacobian_methods(case), rounds=opts.rounds,
                                   clock=opts.clock)
        results["jacobian"][N] = {"first": first, "steady": steady,
                                  "ncolors": case["ncolors"], "n": case["n"]}
        _print_first(f"\nBrusselator N={N} (n={case['n']}, {case['ncolors']} colors): "
                     f"first call", first)
        _print_steady("steady state (median)", steady, "compressed JVP (constant seed)")
    if not opts.no_layouts:
        case = brusselator_setup(opts.layout_size)
        res = interleaved_stats(layout_methods(case), rounds=max(5, opts.rounds // 2),
                                clock=opts.clock)
        results["layouts"] = {"N": opts.layout_size, "steady": res}
        _print_steady(f"\nLayouts, Brusselator N={opts.layout_size} (compressed JVP, "
                      f"no gather)", res, "(k,n) in0 -> (k,m) out0 const")
    if not opts.no_hessian:
        first, case = hessian_first_calls(opts.hessian_size, peers=not opts.no_peers)
        steady = interleaved_stats(hessian_methods(case), rounds=opts.rounds,
                                   clock=opts.clock)
        results["hessian"] = {"N": opts.hessian_size, "first": first, "steady": steady}
        _print_first(f"\nHessian of sum(f(u)**2), Brusselator N={opts.hessian_size}: "
                     f"first call", first)
        _print_steady("steady state (median)", steady, "compressed HVP (constant seed)")
    results["load_average_end"] = os.getloadavg()
    if opts.json:
        with open(opts.json, "w") as fh:
            json.dump(results, fh, indent=1, default=float)
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
