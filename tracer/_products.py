"""Products: einsum-style contractions with constant (dense or scipy.sparse) or traced factors.

A two-operand contraction is enumerated as its list of *terms* ``(e, ia, ib)``: output
element ``e`` receives ``A[ia] * B[ib]``. A constant factor contributes only its nonzero
entries, so products with sparse (or structurally sparse dense) constants stay sparse
and cost time proportional to the number of terms. Then

* traced x constant: ``G_e = U G_A[ia]``, ``P_e = U P_A[ia]`` (linear);
* traced x traced: ``G_e = U (G_A[ia] | G_B[ib])``,
  ``P_e = U (P_A[ia] | P_B[ib] | G_A[ia] x G_B[ib])``.
"""

from __future__ import annotations

import string

import numpy as np

from . import _setops as K
from ._array import TracedArray
from ._construct import find_session, has_deps, lift
from ._errors import unsupported_error
from ._reductions import reduce_union
from ._registry import implements
from ._sets import EMPTY, _size, concat_sources, empty_sets, sorted_unique, union_pieces


def _is_sparse(x) -> bool:
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        return False
    return sp.issparse(x)


def _operand_terms(op, letters, dims):
    """For a constant operand: array (nnz, len(letters)) of letter values at its nonzeros."""
    if _is_sparse(op):
        coo = op.tocoo()
        coords = np.stack([np.asarray(c, np.int64) for c in coo.coords], axis=1) \
            if hasattr(coo, "coords") else np.stack([coo.row, coo.col], axis=1)
        keep = np.asarray(coo.data) != 0
        coords = coords[keep]
    else:
        arr = np.asarray(op)
        coords = np.argwhere(arr != 0).astype(np.int64) if arr.ndim else \
            np.zeros((1 if arr != 0 else 0, 0), np.int64)
    # repeated letters (diagonals) inside one operand; broadcast size-1 letters are free
    shape = tuple(op.shape)
    uniq = []
    cols = []
    for k, c in enumerate(letters):
        if shape[k] == 1 and dims[c] != 1:
            continue
        if c in uniq:
            j = uniq.index(c)
            coords = coords[coords[:, cols[j]] == coords[:, k]]
        else:
            uniq.append(c)
            cols.append(k)
    return uniq, coords[:, cols]


def _expand(frame_letters, frame, letter, dim):
    """Cross product of a term table with ``range(dim)`` for a new letter."""
    nt = frame.shape[0]
    rep = np.repeat(frame, dim, axis=0)
    col = np.tile(np.arange(dim, dtype=np.int64), nt)[:, None]
    return frame_letters + [letter], np.concatenate([rep, col], axis=1)


def _flat_index(frame_letters, frame, letters, shape):
    """Flat C-order index into an operand of ``shape`` indexed by ``letters``."""
    idx = np.zeros(frame.shape[0], np.int64)
    for c, d in zip(letters, shape):
        idx = idx * d + frame[:, frame_letters.index(c)]
    return idx


def _group(e, m):
    """CSR grouping of term ids by output element."""
    order = np.argsort(e, kind="stable")
    ptr = np.zeros(m + 1, np.int64)
    np.cumsum(np.bincount(e, minlength=m), out=ptr[1:])
    return ptr, order


def contract2(spec_a, spec_b, spec_out, a, b, session):
    """Pattern of ``einsum(f"{spec_a},{spec_b}->{spec_out}", a, b)`` (either may be traced)."""
    shape_a = a.shape
    shape_b = b.shape
    dims = {}
    for letters, shape in ((spec_a, shape_a), (spec_b, shape_b)):
        for c, d in zip(letters, shape):
            if c in dims and dims[c] != d and d != 1 and dims[c] != 1:
                raise ValueError(f"einsum: size mismatch for index {c!r}: {dims[c]} vs {d}")
            dims[c] = max(dims.get(c, 1), d)
    out_shape = tuple(dims[c] for c in spec_out)
    m = _size(out_shape)
    ta, tb = has_deps(a), has_deps(b)
    if not ta and not tb:
        return TracedArray(session, out_shape, empty_sets(m), None, None, float)
    # start the term table from the constant operand's nonzeros (if any)
    if ta and tb:
        frame_letters, frame = [], np.zeros((1, 0), np.int64)
    else:
        const, cspec = (b, spec_b) if ta else (a, spec_a)
        if isinstance(const, TracedArray):
            const = const._val if const._val is not None else np.ones(const.shape)
        frame_letters, frame = _operand_terms(const, cspec, dims)
        frame_letters = list(frame_letters)
    for c in dict.fromkeys(spec_a + spec_b + spec_out):
        if c not in frame_letters:
            frame_letters, frame = _expand(frame_letters, frame, c, dims[c])
    # broadcasting size-1 dims: index 0
    def op_index(letters, shape):
        fr = frame.copy()
        for c, d in zip(letters, shape):
            if d == 1 and dims[c] != 1:
                fr[:, frame_letters.index(c)] = 0
        return _flat_index(frame_letters, fr, letters, shape)

    e = _flat_index(frame_letters, frame, spec_out, out_shape)
    n = session.n
    if ta != tb:
        t, tspec = (a, spec_a) if ta else (b, spec_b)
        it = op_index(tspec, t.shape)
        key = sorted_unique(e * max(t.size, 1) + it)
        e_u, it_u = key // max(t.size, 1), key % max(t.size, 1)
        ptr = np.zeros(m + 1, np.int64)
        np.cumsum(np.bincount(e_u, minlength=m), out=ptr[1:])
        g = K.union_rows(t._g[0], t._g[1], ptr, it_u)
        h = K.union_rows(t._h[0], t._h[1], ptr, it_u) if t._h is not None else None
        return TracedArray(session, out_shape, g, h, None, float)
    ia = op_index(spec_a, a.shape)
    ib = op_index(spec_b, b.shape)
    ptr, order = _group(e, m)
    g_src, h_src = concat_sources([a, b])
    rows = np.stack([ia[order], a.size + ib[order]], axis=1).reshape(-1)
    ptr2 = ptr * 2
    g = K.union_rows(g_src[0], g_src[1], ptr2, rows)
    h = None
    if session.hessian:
        h1 = K.union_rows(h_src[0], h_src[1], ptr2, rows)
        cp = K.cross_pairs(a._g[0], a._g[1], ia[order], b._g[0], b._g[1], ib[order],
                           ia.size, n)
        h2 = K.union_rows(cp[0], cp[1], ptr, np.arange(ia.size, dtype=np.int64))
        h = union_pieces([(h1, EMPTY), (h2, EMPTY)], m)
    return TracedArray(session, out_shape, g, h, None, float)


def _shape_of(x):
    if isinstance(x, TracedArray) or _is_sparse(x):
        return tuple(x.shape)
    return np.shape(x)


def einsum_pattern(subscripts, *operands, session=None):
    session = session or find_session(list(operands))
    ops = [lift(o, session) for o in operands]
    if not isinstance(subscripts, str):
        raise unsupported_error("np.einsum with the sublist format")
    try:  # numpy's own parser (ellipses, implicit output); private, so guard the import
        from numpy._core.einsumfunc import _parse_einsum_input
    except ImportError:  # numpy < 2
        from numpy.core.einsumfunc import _parse_einsum_input
    dummies = [np.broadcast_to(np.zeros(()), _shape_of(o)) for o in ops]
    ins, out, _ = _parse_einsum_input([subscripts] + dummies)
    specs = ins.split(",")
    if len(ops) == 1:
        spec = specs[0]
        # single operand: multiply by an all-ones constant with no extra letters
        one = np.ones(())
        return contract2(spec, "", out, ops[0], one, session)
    # contract left to right; keep letters still needed later
    cur, cur_spec = ops[0], specs[0]
    for k in range(1, len(ops)):
        later = "".join(specs[k + 1:]) + out
        if k == len(ops) - 1:
            res_spec = out
        else:
            res_spec = "".join(dict.fromkeys(c for c in cur_spec + specs[k] if c in later))
        cur = contract2(cur_spec, specs[k], res_spec, _as_op(cur), _as_op(ops[k]), session)
        cur_spec = res_spec
    return cur


def _as_op(x):
    if isinstance(x, TracedArray) or _is_sparse(x):
        return x
    return np.asarray(x)


@implements(np.einsum)
def _einsum(subscripts, *operands, out=None, optimize=False, **kwargs):
    r = einsum_pattern(subscripts, *operands)
    if out is not None:
        out[...] = r
        return out
    return r


_L = string.ascii_letters


def matmul(a, b):
    """``a @ b`` for traced arrays with numpy arrays, scipy.sparse matrices or traced arrays."""
    session = find_session([a, b])
    a = lift(a, session)
    b = lift(b, session)
    if _is_sparse(a) or _is_sparse(b):
        sa, sb = _shape_of(a), _shape_of(b)
        if len(sa) == 2 and len(sb) == 2:
            return contract2("ij", "jk", "ik", a, b, session)
        if len(sa) == 2 and len(sb) == 1:
            return contract2("ij", "j", "i", a, b, session)
        if len(sa) == 1 and len(sb) == 2:
            return contract2("j", "jk", "k", a, b, session)
        raise unsupported_error("matmul of a sparse matrix with an array of ndim > 2")
    a = a if isinstance(a, TracedArray) else np.asarray(a)
    b = b if isinstance(b, TracedArray) else np.asarray(b)
    na, nb = a.ndim, b.ndim
    if na == 0 or nb == 0:
        raise ValueError("matmul: Input operand does not have enough dimensions")
    if na == 1 and nb == 1:
        return contract2("i", "i", "", a, b, session)
    if na == 1:
        batch = _L[:nb - 2]
        return contract2("y", batch + "yz", batch + "z", a, b, session)
    if nb == 1:
        batch = _L[:na - 2]
        return contract2(batch + "xy", "y", batch + "x", a, b, session)
    nbatch = max(na, nb) - 2
    batch = _L[:nbatch]
    ba = batch[nbatch - (na - 2):]
    bb = batch[nbatch - (nb - 2):]
    return contract2(ba + "xy", bb + "yz", batch + "xz", a, b, session)


@implements(np.matmul)
def _matmul(a, b, out=None, **kw):
    r = matmul(a, b)
    if out is not None:
        out[...] = r
        return out
    return r


def product_ufunc(ufunc, ops, kwargs):
    out = kwargs.pop("out", None)
    if ufunc is np.matmul:
        r = matmul(*ops)
    elif ufunc.__name__ == "vecdot":
        r = np.sum(ops[0] * ops[1], axis=kwargs.get("axis", -1))
    elif ufunc.__name__ == "matvec":
        r = matmul(ops[0], np.expand_dims(ops[1], -1))[..., 0]
    elif ufunc.__name__ == "vecmat":
        r = matmul(np.expand_dims(ops[0], -2), ops[1])[..., 0, :]
    else:
        raise unsupported_error(f"np.{ufunc.__name__}")
    if out is not None:
        o = out[0] if isinstance(out, tuple) else out
        o[...] = r
        return o
    return r


@implements(np.dot)
def _dot(a, b, out=None):
    session = find_session([a, b])
    a, b = lift(a, session), lift(b, session)
    if _is_sparse(a) or _is_sparse(b):
        return matmul(a, b)
    na, nb = np.ndim(a) if not isinstance(a, TracedArray) else a.ndim, \
        np.ndim(b) if not isinstance(b, TracedArray) else b.ndim
    if na == 0 or nb == 0:
        r = a * b
    elif nb == 1:
        r = contract2(_L[:na - 1] + "y", "y", _L[:na - 1], _arr(a), _arr(b), session)
    else:
        # a's last axis with b's second-to-last axis
        sa = _L[:na - 1] + "y"
        bl = list(_L[na - 1:na - 1 + nb])
        bl[nb - 2] = "y"
        out_spec = sa[:-1] + "".join(bl[:nb - 2]) + bl[nb - 1]
        r = contract2(sa, "".join(bl), out_spec, _arr(a), _arr(b), session)
    if out is not None:
        out[...] = r
        return out
    return r


def _arr(x):
    return x if isinstance(x, TracedArray) else np.asarray(x)


@implements(np.vdot)
def _vdot(a, b):
    return _dot(np.ravel(a), np.ravel(b))


@implements(np.inner)
def _inner(a, b):
    session = find_session([a, b])
    a, b = _arr(lift(a, session)), _arr(lift(b, session))
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    sa = _L[:a.ndim - 1] + "y"
    sb = _L[a.ndim - 1:a.ndim + b.ndim - 2] + "y"
    return contract2(sa, sb, sa[:-1] + sb[:-1], a, b, session)


@implements(np.outer)
def _outer(a, b, out=None):
    session = find_session([a, b])
    a, b = _arr(lift(a, session)), _arr(lift(b, session))
    r = contract2("i", "j", "ij", np.ravel(a), np.ravel(b), session)
    if out is not None:
        out[...] = r
        return out
    return r


@implements(np.tensordot)
def _tensordot(a, b, axes=2):
    session = find_session([a, b])
    a, b = _arr(lift(a, session)), _arr(lift(b, session))
    if isinstance(axes, int):
        ax_a = list(range(a.ndim - axes, a.ndim))
        ax_b = list(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = [ax_a] if isinstance(ax_a, int) else list(ax_a)
        ax_b = [ax_b] if isinstance(ax_b, int) else list(ax_b)
    ax_a = [x % a.ndim for x in ax_a]
    ax_b = [x % b.ndim for x in ax_b]
    letters = iter(_L)
    sa = [next(letters) for _ in range(a.ndim)]
    sb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(ax_a, ax_b):
        sb[j] = sa[i]
    out = [c for k, c in enumerate(sa) if k not in ax_a] + \
        [c for k, c in enumerate(sb) if k not in ax_b]
    return contract2("".join(sa), "".join(sb), "".join(out), a, b, session)


@implements(np.kron)
def _kron(a, b):
    session = find_session([a, b])
    a, b = _arr(lift(a, session)), _arr(lift(b, session))
    if a.ndim != 2 or b.ndim != 2:
        if a.ndim == 1 and b.ndim == 1:
            return np.reshape(_outer(a, b), (-1,))
        raise unsupported_error("np.kron of arrays that are not both 1-d or both 2-d")
    r = contract2("ij", "kl", "ikjl", a, b, session)
    return np.reshape(r, (a.shape[0] * b.shape[0], a.shape[1] * b.shape[1]))


@implements(np.cross)
def _cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    session = find_session([a, b])
    a, b = lift(a, session), lift(b, session)
    if np.shape(a)[-1] != 3 or np.shape(b)[-1] != 3 or axis is not None:
        raise unsupported_error("np.cross other than 3-vectors along the last axis")
    a0, a1, a2 = (a[..., k] for k in range(3))
    b0, b1, b2 = (b[..., k] for k in range(3))
    return np.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], axis=-1)


# ----- linear algebra with a constant matrix -----

def _inverse_pattern(A) -> np.ndarray:
    """Structural pattern of inv(A): dense within each connected block of A + A^T."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    S = sp.csr_array(A) if not _is_sparse(A) else sp.csr_array(A)
    S = (abs(S) + abs(S).T)
    S.eliminate_zeros()
    _, labels = connected_components(S, directed=False)
    return labels[:, None] == labels[None, :]


def dense_smooth(out_shape, operands, session) -> TracedArray:
    """Every output element depends smoothly on every traced input entry (conservative).

    Used for linear algebra with a traced matrix (``solve``, ``inv``, ``det``): entries of
    ``A^{-1}`` are rational functions of all entries of A, so first- and second-order
    dependence may be complete.
    """
    m = _size(out_shape)
    parts = [reduce_union(o) for o in operands if isinstance(o, TracedArray)]
    n = session.n
    g_all = sorted_unique(np.concatenate([p._g[1] for p in parts])) if parts else EMPTY
    ptr = np.arange(m + 1, dtype=np.int64) * g_all.size
    g = (ptr, np.tile(g_all, m))
    h = None
    if session.hessian:
        pairs = [p._h[1] for p in parts]
        sp_ = K.self_pairs(np.array([0, g_all.size], np.int64), g_all, n)[1]
        h_all = sorted_unique(np.concatenate(pairs + [sp_]))
        h = (np.arange(m + 1, dtype=np.int64) * h_all.size, np.tile(h_all, m))
    return TracedArray(session, out_shape, g, h, None, float)


@implements(np.linalg.solve)
def _solve(a, b):
    session = find_session([a, b])
    a, b = lift(a, session), lift(b, session)
    a_shape = a.shape if isinstance(a, TracedArray) else np.shape(a)
    b_shape = b.shape if isinstance(b, TracedArray) else np.shape(b)
    if len(a_shape) != 2:
        raise unsupported_error("batched np.linalg.solve")
    if has_deps(a):
        # x = A^{-1} b is smooth in all entries of A and b (dense, conservative)
        return dense_smooth(b_shape, [a, b], session)
    A = a._val if isinstance(a, TracedArray) else np.asarray(a)
    if A is None:
        raise unsupported_error("np.linalg.solve with a matrix of unknown values")
    P = _inverse_pattern(A).astype(float)
    if not isinstance(b, TracedArray):
        b = TracedArray.constant(session, np.asarray(b))
    if b.ndim == 1:
        return contract2("ij", "j", "i", P, b, session)
    return contract2("ij", "jk", "ik", P, b, session)


@implements(np.linalg.inv)
def _inv(a):
    session = find_session([a])
    a = lift(a, session)
    if a.ndim != 2:
        raise unsupported_error("batched np.linalg.inv")
    if has_deps(a):
        return dense_smooth(a.shape, [a], session)
    if a._val is not None:
        return TracedArray.constant(session, np.linalg.inv(a._val))
    raise unsupported_error("np.linalg.inv of a matrix with unknown values")


@implements(np.linalg.det)
def _det(a):
    session = find_session([a])
    a = lift(a, session)
    if a.ndim != 2:
        raise unsupported_error("batched np.linalg.det")
    return dense_smooth((), [a], session)


def _convolve_full(a, v, session):
    """Full discrete convolution ``out[k] = sum_i a[i] v[k - i]`` as a contraction."""
    n = a.shape[0] if isinstance(a, TracedArray) else np.shape(a)[0]
    m = v.shape[0] if isinstance(v, TracedArray) else np.shape(v)[0]
    i = np.arange(n)[:, None]
    j = np.arange(m)[None, :]
    T = np.zeros((n + m - 1, n, m))
    T[(i + j).ravel(), np.broadcast_to(i, (n, m)).ravel(), np.broadcast_to(j, (n, m)).ravel()] = 1
    if has_deps(a) and has_deps(v):
        return contract2("kij", "ij", "k", T, contract2("i", "j", "ij", a, v, session), session)
    traced, const, spec = (a, v, "kij,j->ki") if has_deps(a) else (v, a, "kij,i->kj")
    C = np.einsum(spec, T, (np.asarray(const) != 0).astype(float))
    return contract2("ki", "i", "k", C, traced, session)


@implements(np.convolve)
def _convolve(a, v, mode="full"):
    session = find_session([a, v])
    a, v = _arr(lift(a, session)), _arr(lift(v, session))
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError("object too deep for desired array")
    n, m = a.shape[0], v.shape[0]
    full = _convolve_full(a, v, session)
    if mode == "full":
        return full
    if mode == "same":
        L = max(n, m)
        start = (min(n, m) - 1) // 2
        return full[start:start + L]
    if mode == "valid":
        L = max(n, m) - min(n, m) + 1
        start = min(n, m) - 1
        return full[start:start + L]
    raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")


@implements(np.correlate)
def _correlate(a, v, mode="valid"):
    session = find_session([a, v])
    v = lift(v, session)
    v = v[::-1] if isinstance(v, TracedArray) else np.conj(np.asarray(v))[::-1]
    return _convolve(a, v, mode=mode)
