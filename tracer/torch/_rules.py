"""Rules of the torch front-end: one row per aten operator (``ATEN_RULES``).

A rule receives a :class:`RuleContext` and the operator's arguments, with constant tensors
as numpy arrays (sparse ones as ``scipy.sparse``) and traced values as the engine's
traced arrays, and returns the result computed with numpy functions. The numpy engine
then derives the pattern from its own derivative table (which first, second and cross
derivatives of each function can be nonzero), exactly as for numpy code. A few operators
without a numpy twin use an expression with the same derivative structure (``sigmoid`` is
``scipy.special.expit``, ``softmax`` is ``exp(x) / sum(exp(x))``); operators that return
indices or counts of traced values (``argmax``, ``sort``'s indices) give dependence-free
arrays with unknown values.
"""

from __future__ import annotations

import itertools
import math
import numbers
from typing import Any, Callable

import numpy as np
import scipy.special as sc

from .._array import TracedArray
from .._errors import TracingError, conversion_error
from .._products import matmul
from .._sets import index_grid

#: aten operator name (overload packet, e.g. ``"mul"``) -> ``rule(ctx, *args, **kwargs)``
ATEN_RULES: dict[str, Callable[..., Any]] = {}


class RuleContext:
    """What a rule may need besides its arguments: the session and the result's metadata."""

    __slots__ = ("session", "meta", "name", "op")

    def __init__(self, session, meta, name: str, op=None):
        self.session = session
        self.meta = meta  # fake tensor(s) of the result: shape and dtype
        self.name = name
        self.op = op

    def unknown(self, meta=None):
        """Dependence-free result(s) with unknown values (indices, counts, random draws)."""
        meta = self.meta if meta is None else meta
        if isinstance(meta, (list, tuple)):
            return type(meta)(self.unknown(m) for m in meta)
        return TracedArray.unknown(self.session, tuple(meta.shape), numpy_dtype(meta.dtype))


def register(*names: str):
    """Decorator: one rule for the aten operators ``names``."""

    def deco(rule):
        for name in names:
            ATEN_RULES[name] = rule
        return rule

    return deco


# ------------------------------------------------------------------------ conversions
_DTYPES: dict = {}


def numpy_dtype(dtype) -> np.dtype:
    """The numpy dtype of a torch dtype (``None`` stays ``None``)."""
    if dtype is None or isinstance(dtype, np.dtype):
        return dtype
    d = _DTYPES.get(dtype)
    if d is None:
        import torch

        try:
            d = torch.empty(0, dtype=dtype).numpy().dtype
        except TypeError:  # bfloat16 and friends: no numpy dtype
            d = np.dtype(np.float32)
        _DTYPES[dtype] = d
    return d


def to_numpy(x):
    """Constant tensors as numpy arrays (sparse ones as ``scipy.sparse``), dtypes as numpy."""
    import torch

    if isinstance(x, torch.Tensor):
        if x.layout == torch.sparse_coo:
            import scipy.sparse as sp

            x = x.coalesce()
            idx = x.indices().numpy()
            return sp.coo_array((x.values().numpy(), (idx[0], idx[1])),
                                shape=tuple(x.shape)).tocsr()
        if x.layout == torch.sparse_csr:
            import scipy.sparse as sp

            return sp.csr_array((x.values().numpy(), x.col_indices().numpy(),
                                 x.crow_indices().numpy()), shape=tuple(x.shape))
        return x.detach().resolve_conj().resolve_neg().cpu().numpy()
    if isinstance(x, torch.dtype):
        return numpy_dtype(x)
    return x


def _ndim(x) -> int:
    return len(np.shape(x)) if not isinstance(x, TracedArray) else x.ndim


def _shape(x) -> tuple:
    return tuple(x.shape) if hasattr(x, "shape") else ()


def _dim(d: int, ndim: int) -> int:
    return d + ndim if d < 0 else d


def _axes(dim, ndim: int):
    """torch ``dim`` argument as a numpy ``axis`` (``None`` and ``[]`` mean all)."""
    if dim is None:
        return None
    if isinstance(dim, numbers.Integral):
        return _dim(int(dim), max(ndim, 1))
    dim = list(dim)
    if not dim:
        return None
    return tuple(_dim(int(d), max(ndim, 1)) for d in dim)


def _forget_values(x):
    """The same dependence with unknown values (for rules whose values would be wrong)."""
    if isinstance(x, TracedArray):
        x._sync()
        return TracedArray(x._s, x.shape, x._g, x._h, None, x.dtype)
    return x


def _traced(ctx: RuleContext, x) -> TracedArray:
    if isinstance(x, TracedArray):
        return x
    return TracedArray.constant(ctx.session, np.array(x))


# ------------------------------------------------------------------------ elementwise
_UNARY = {
    "abs": np.abs, "absolute": np.abs, "neg": np.negative, "negative": np.negative,
    "positive": np.positive, "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1,
    "special_expm1": np.expm1, "special_exp2": np.exp2, "log": np.log, "log2": np.log2,
    "log10": np.log10, "log1p": np.log1p, "special_log1p": np.log1p, "sqrt": np.sqrt,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "arcsin": np.arcsin,
    "acos": np.arccos, "arccos": np.arccos, "atan": np.arctan, "arctan": np.arctan,
    "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh, "asinh": np.arcsinh,
    "arcsinh": np.arcsinh, "acosh": np.arccosh, "arccosh": np.arccosh, "atanh": np.arctanh,
    "arctanh": np.arctanh, "reciprocal": np.reciprocal, "square": np.square,
    "sign": np.sign, "sgn": np.sign, "floor": np.floor, "ceil": np.ceil, "trunc": np.trunc,
    "fix": np.trunc, "isnan": np.isnan, "isinf": np.isinf, "isfinite": np.isfinite,
    "isposinf": np.isinf, "isneginf": np.isinf, "signbit": np.signbit,
    "logical_not": np.logical_not, "bitwise_not": np.invert, "deg2rad": np.deg2rad,
    "rad2deg": np.rad2deg, "conj_physical": np.conjugate,
    # smooth special functions: scipy.special ufuncs, known to the engine's table
    "erf": sc.erf, "special_erf": sc.erf, "erfc": sc.erfc, "special_erfc": sc.erfc,
    "erfinv": sc.erfinv, "special_erfinv": sc.erfinv, "lgamma": sc.gammaln,
    "special_gammaln": sc.gammaln, "digamma": sc.digamma, "special_digamma": sc.digamma,
    "special_psi": sc.digamma, "sigmoid": sc.expit, "special_expit": sc.expit,
    "i0": sc.i0, "special_i0": sc.i0, "special_i0e": sc.i0e, "special_i1": sc.i1,
    "special_i1e": sc.i1e, "special_ndtr": sc.ndtr, "special_log_ndtr": sc.log_ndtr,
    "special_ndtri": sc.ndtri, "special_erfcx": sc.erfcx, "special_entr": sc.entr,
    "sinc": sc.sinc, "special_sinc": sc.sinc,
}
for _name, _fn in _UNARY.items():
    register(_name)(lambda ctx, x, *_, _fn=_fn, **__: _fn(x))


@register("rsqrt")
def _rsqrt(ctx, x):
    return 1.0 / np.sqrt(x)


@register("round", "special_round")
def _round(ctx, x, decimals=0):
    return np.round(x, decimals)


@register("frac")
def _frac(ctx, x):
    return x - np.trunc(x)


@register("logit", "special_logit")
def _logit(ctx, x, eps=None):
    return sc.logit(x if eps is None else np.clip(x, eps, 1.0 - eps))


@register("relu")
def _relu(ctx, x):
    return np.maximum(x, 0.0)


@register("hardtanh")
def _hardtanh(ctx, x, min_val=-1.0, max_val=1.0):
    return np.clip(x, min_val, max_val)


@register("elu")
def _elu(ctx, x, alpha=1.0, scale=1.0, input_scale=1.0):
    return np.where(x > 0, scale * x, (scale * alpha) * np.expm1(input_scale * x))


@register("leaky_relu")
def _leaky_relu(ctx, x, negative_slope=0.01):
    return np.where(x > 0, x, negative_slope * x)


@register("silu")
def _silu(ctx, x):
    return x * sc.expit(x)


@register("gelu")
def _gelu(ctx, x, approximate="none"):
    return x * sc.ndtr(x)  # tanh approximation: same derivative structure


@register("softplus")
def _softplus(ctx, x, beta=1.0, threshold=20.0):
    return np.logaddexp(0.0, beta * x) / beta  # linear above threshold: a subset


@register("nan_to_num")
def _nan_to_num(ctx, x, nan=None, posinf=None, neginf=None):
    return np.nan_to_num(x, nan=0.0 if nan is None else nan, posinf=posinf, neginf=neginf)


_BINARY = {
    "mul": np.multiply, "multiply": np.multiply, "floor_divide": np.floor_divide,
    "remainder": np.remainder, "fmod": np.fmod, "float_power": np.float_power,
    "atan2": np.arctan2, "arctan2": np.arctan2, "hypot": np.hypot, "maximum": np.maximum,
    "minimum": np.minimum, "fmax": np.fmax, "fmin": np.fmin, "eq": np.equal,
    "ne": np.not_equal, "not_equal": np.not_equal, "lt": np.less, "less": np.less,
    "le": np.less_equal, "less_equal": np.less_equal, "gt": np.greater,
    "greater": np.greater, "ge": np.greater_equal, "greater_equal": np.greater_equal,
    "logical_and": np.logical_and, "logical_or": np.logical_or,
    "logical_xor": np.logical_xor, "bitwise_and": np.bitwise_and,
    "bitwise_or": np.bitwise_or, "bitwise_xor": np.bitwise_xor, "copysign": np.copysign,
    "nextafter": np.nextafter, "logaddexp": np.logaddexp, "logaddexp2": np.logaddexp2,
    "heaviside": np.heaviside, "xlogy": sc.xlogy, "special_xlogy": sc.xlogy,
    "special_xlog1py": sc.xlog1py,
}
for _name, _fn in _BINARY.items():
    register(_name)(lambda ctx, a, b, *_, _fn=_fn, **__: _fn(a, b))


def _scaled(b, alpha):
    return b if alpha == 1 else alpha * b


@register("add")
def _add(ctx, a, b, alpha=1):
    return np.add(a, _scaled(b, alpha))


@register("sub", "subtract")
def _sub(ctx, a, b, alpha=1):
    return np.subtract(a, _scaled(b, alpha))


@register("rsub")
def _rsub(ctx, a, b, alpha=1):
    return np.subtract(b, _scaled(a, alpha))


@register("div", "divide", "true_divide")
def _div(ctx, a, b, rounding_mode=None):
    if rounding_mode is None:
        return np.divide(a, b)
    if rounding_mode == "floor":
        return np.floor_divide(a, b)
    return np.trunc(np.divide(a, b))  # "trunc": piecewise constant


@register("pow")
def _pow(ctx, a, b):
    if isinstance(b, numbers.Number) and not isinstance(b, bool):
        if b == 0:  # x ** 0 is the constant 1
            return np.ones(_shape(a), dtype=numpy_dtype(ctx.meta.dtype))
        if b == 1:
            return a
    return np.power(a, b)


@register("where")
def _where(ctx, cond, a=None, b=None):
    if a is None:
        raise TracingError("torch.where(condition) with one argument gives the indices of "
                           "the nonzeros of a traced tensor, which depend on its values")
    return np.where(cond, a, b)


@register("clamp", "clip")
def _clamp(ctx, x, min=None, max=None):  # noqa: A002 (torch's argument names)
    if min is None and max is None:
        return x
    if min is None:
        return np.minimum(x, max)
    if max is None:
        return np.maximum(x, min)
    return np.minimum(np.maximum(x, min), max)


@register("clamp_min")
def _clamp_min(ctx, x, m):
    return np.maximum(x, m)


@register("clamp_max")
def _clamp_max(ctx, x, m):
    return np.minimum(x, m)


@register("lerp")
def _lerp(ctx, a, b, w):
    return a + w * (b - a)


@register("addcmul")
def _addcmul(ctx, s, t1, t2, value=1):
    return s + _scaled(t1 * t2, value)


@register("addcdiv")
def _addcdiv(ctx, s, t1, t2, value=1):
    return s + _scaled(t1 / t2, value)


@register("masked_fill")
def _masked_fill(ctx, x, mask, value):
    return np.where(mask, value, x)


# ------------------------------------------------------------------------ reductions
def _reduction(fn):
    def rule(ctx, x, dim=None, keepdim=False, dtype=None, **_):
        return fn(x, axis=_axes(dim, _ndim(x)), keepdims=bool(keepdim))

    return rule


register("sum", "nansum")(_reduction(np.sum))
register("mean", "nanmean")(_reduction(np.mean))
register("amax")(_reduction(np.max))
register("amin")(_reduction(np.min))


@register("prod")
def _prod(ctx, x, dim=None, keepdim=False, dtype=None):
    if isinstance(dim, numbers.Integral) or dim is None:
        return np.prod(x, axis=_axes(dim, _ndim(x)), keepdims=bool(keepdim))
    raise TracingError(f"internal: unexpected prod dim {dim!r}")


def _max_min(fn, pair):
    def rule(ctx, x, dim=None, keepdim=False):
        if isinstance(dim, (TracedArray, np.ndarray)):  # max.other: elementwise
            return pair(x, dim)
        if dim is None:
            return fn(x)
        values = fn(x, axis=_dim(int(dim), max(_ndim(x), 1)), keepdims=bool(keepdim))
        return values, ctx.unknown(ctx.meta[1])

    return rule


register("max")(_max_min(np.max, np.maximum))
register("min")(_max_min(np.min, np.minimum))


@register("argmax", "argmin", "any", "all", "count_nonzero", "argsort", "bucketize",
          "searchsorted", "nonzero_static")
def _value_dependent_result(ctx, *args, **kwargs):
    return ctx.unknown()


def _var_std(fn):
    def rule(ctx, x, dim=None, unbiased=None, keepdim=False, *, correction=None):
        if isinstance(dim, bool):  # var(x, unbiased)
            unbiased, dim = dim, None
        ddof = correction if correction is not None else (0 if unbiased is False else 1)
        return fn(x, axis=_axes(dim, _ndim(x)), ddof=ddof, keepdims=bool(keepdim))

    return rule


register("var")(_var_std(np.var))
register("std")(_var_std(np.std))


@register("linalg_vector_norm")
def _vector_norm(ctx, x, ord=2, dim=None, keepdim=False, dtype=None):  # noqa: A002
    axis = _axes(dim, _ndim(x))
    keep = bool(keepdim)
    if ord == 0:
        return ctx.unknown()  # a count of nonzeros
    if ord == 2:
        return np.sqrt(np.sum(x * x, axis=axis, keepdims=keep))
    if ord == 1:
        return np.sum(np.abs(x), axis=axis, keepdims=keep)
    if math.isinf(ord):
        return (np.max if ord > 0 else np.min)(np.abs(x), axis=axis, keepdims=keep)
    return np.sum(np.abs(x) ** ord, axis=axis, keepdims=keep) ** (1.0 / ord)


@register("dist")
def _dist(ctx, a, b, p=2):
    return np.reshape(_vector_norm(ctx, np.reshape(a - b, (-1,)), ord=p), ())


@register("_cdist_forward")
def _cdist(ctx, x1, x2, p=2.0, compute_mode=None):
    d = np.expand_dims(x1, -2) - np.expand_dims(x2, -3)  # (..., P, R, M)
    return _vector_norm(ctx, d, ord=p, dim=-1)


@register("var_mean")
def _var_mean(ctx, x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    var = _var_std(np.var)(ctx, x, dim, unbiased, keepdim, correction=correction)
    if isinstance(dim, bool):
        dim = None
    return var, np.mean(x, axis=_axes(dim, _ndim(x)), keepdims=bool(keepdim))


@register("logsumexp", "special_logsumexp")
def _logsumexp(ctx, x, dim=None, keepdim=False):
    return np.log(np.sum(np.exp(x), axis=_axes(dim, _ndim(x)), keepdims=bool(keepdim)))


@register("_softmax", "softmax", "special_softmax")
def _softmax(ctx, x, dim, *_, **__):
    e = np.exp(x)
    return e / np.sum(e, axis=_dim(int(dim), max(_ndim(x), 1)), keepdims=True)


@register("_log_softmax", "log_softmax", "special_log_softmax")
def _log_softmax(ctx, x, dim, *_, **__):
    return x - np.log(np.sum(np.exp(x), axis=_dim(int(dim), max(_ndim(x), 1)), keepdims=True))


@register("cumsum")
def _cumsum(ctx, x, dim, dtype=None):
    return np.cumsum(x, axis=_dim(int(dim), max(_ndim(x), 1)))


@register("cumprod")
def _cumprod(ctx, x, dim, dtype=None):
    return np.cumprod(x, axis=_dim(int(dim), max(_ndim(x), 1)))


@register("logcumsumexp")
def _logcumsumexp(ctx, x, dim):
    return np.log(np.cumsum(np.exp(x), axis=_dim(int(dim), max(_ndim(x), 1))))


@register("cummax", "cummin")
def _cummax(ctx, x, dim):
    # piecewise linear: each output is one of the inputs up to it (the union of cumsum)
    values = _forget_values(np.cumsum(x, axis=_dim(int(dim), max(_ndim(x), 1))))
    return values, ctx.unknown(ctx.meta[1])


@register("sort")
def _sort(ctx, x, dim=-1, descending=False, stable=None):
    # every output of a sorted line may be any of its inputs: the union along dim
    return _line_union(x, dim), ctx.unknown(ctx.meta[1])


@register("topk")
def _topk(ctx, x, k, dim=-1, largest=True, sorted=True):  # noqa: A002
    axis = _dim(int(dim), max(_ndim(x), 1))
    u = _line_union(x, dim)
    key = (slice(None),) * axis + (slice(0, int(k)),)
    return u[key], ctx.unknown(ctx.meta[1])


def _line_union(x, dim):
    axis = _dim(int(dim), max(_ndim(x), 1))
    total = np.sum(x, axis=axis, keepdims=True)
    return _forget_values(np.broadcast_to(total, _shape(x)) * 1.0)


# ------------------------------------------------------------------------ shapes
@register("view", "_unsafe_view", "reshape", "view_copy", "_reshape_alias")
def _view(ctx, x, size, *_):
    return np.reshape(x, tuple(size))


@register("clone", "alias", "contiguous", "detach", "lift_fresh_copy", "lift_fresh",
          "_conj", "resolve_conj", "resolve_neg", "alias_copy", "detach_copy")
def _identity(ctx, x, *_, **__):
    return x


@register("_to_copy", "to")
def _to_copy(ctx, x, *args, dtype=None, **_):
    dtype = numpy_dtype(dtype) if dtype is not None else numpy_dtype(ctx.meta.dtype)
    if isinstance(x, TracedArray):
        return x.astype(dtype)
    return np.asarray(x, dtype=dtype)


@register("copy")
def _copy(ctx, dst, src, non_blocking=False):
    out = np.broadcast_to(src, _shape(dst))
    dtype = numpy_dtype(ctx.meta.dtype)
    return out.astype(dtype) if isinstance(out, TracedArray) else np.array(out, dtype=dtype)


@register("expand", "expand_copy")
def _expand(ctx, x, size, implicit=False):
    shape = _shape(x)
    size = list(size)
    lead = len(size) - len(shape)
    for k in range(len(shape)):
        if size[lead + k] == -1:
            size[lead + k] = shape[k]
    return np.broadcast_to(x, tuple(size))


@register("unsqueeze", "unsqueeze_", "unsqueeze_copy")
def _unsqueeze(ctx, x, dim):
    return np.expand_dims(x, _dim(int(dim), _ndim(x) + 1))


@register("squeeze", "squeeze_", "squeeze_copy")
def _squeeze(ctx, x, dim=None):
    shape = _shape(x)
    if dim is None:
        axes = tuple(k for k, d in enumerate(shape) if d == 1)
    else:
        dims = [dim] if isinstance(dim, numbers.Integral) else list(dim)
        axes = tuple(sorted({_dim(int(d), max(len(shape), 1)) for d in dims}))
        axes = tuple(a for a in axes if a < len(shape) and shape[a] == 1)
    return np.squeeze(x, axis=axes) if axes else x


@register("permute", "permute_copy")
def _permute(ctx, x, dims):
    return np.transpose(x, tuple(_dim(int(d), _ndim(x)) for d in dims))


@register("transpose", "transpose_", "transpose_copy", "swapaxes", "swapdims")
def _transpose(ctx, x, d0, d1):
    return np.swapaxes(x, int(d0), int(d1)) if _ndim(x) > 1 else x


@register("t", "t_", "t_copy", "numpy_T")
def _t(ctx, x):
    return np.transpose(x) if _ndim(x) > 1 else x


@register("select", "select_copy")
def _select(ctx, x, dim, index):
    dim = _dim(int(dim), _ndim(x))
    return x[(slice(None),) * dim + (int(index),)]


def _slice_key(ndim, dim, start, end, step):
    dim = _dim(int(dim), ndim)
    return (slice(None),) * dim + (slice(start, end, step),)


@register("slice", "slice_copy")
def _slice(ctx, x, dim=0, start=None, end=None, step=1):
    return x[_slice_key(_ndim(x), dim, start, end, step)]


@register("cat", "concat", "concatenate")
def _cat(ctx, tensors, dim=0):
    keep = [t for t in tensors if not (_ndim(t) == 1 and _shape(t)[0] == 0)] or tensors[:1]
    return np.concatenate(keep, axis=_dim(int(dim), _ndim(keep[0])))


@register("stack")
def _stack(ctx, tensors, dim=0):
    return np.stack(tensors, axis=_dim(int(dim), _ndim(tensors[0]) + 1))


@register("roll")
def _roll(ctx, x, shifts, dims=()):
    shifts, dims = list(shifts), list(dims)
    if not dims:
        return np.reshape(np.roll(np.reshape(x, (-1,)), int(shifts[0])), _shape(x))
    return np.roll(x, tuple(int(s) for s in shifts), axis=tuple(int(d) for d in dims))


@register("flip")
def _flip(ctx, x, dims):
    return np.flip(x, axis=tuple(int(d) for d in dims))


@register("repeat")
def _repeat(ctx, x, repeats):
    return np.tile(x, tuple(int(r) for r in repeats))


@register("diagonal", "diagonal_copy")
def _diagonal(ctx, x, offset=0, dim1=0, dim2=1):
    return np.diagonal(x, int(offset), int(dim1), int(dim2))


@register("tril")
def _tril(ctx, x, diagonal=0):
    return np.tril(x, int(diagonal))


@register("triu")
def _triu(ctx, x, diagonal=0):
    return np.triu(x, int(diagonal))


@register("unbind", "unbind_copy")
def _unbind(ctx, x, dim=0):
    dim = _dim(int(dim), _ndim(x))
    return [x[(slice(None),) * dim + (k,)] for k in range(_shape(x)[dim])]


@register("split", "split_with_sizes", "unsafe_split", "unsafe_split_with_sizes",
          "split_copy", "split_with_sizes_copy")
def _split(ctx, x, sizes, dim=0):
    dim = _dim(int(dim), _ndim(x))
    n = _shape(x)[dim]
    if isinstance(sizes, numbers.Integral):
        sizes = [min(int(sizes), n - s) for s in range(0, n, int(sizes))] or [0]
    bounds = np.cumsum([0] + list(sizes))
    return [x[(slice(None),) * dim + (slice(int(a), int(b)),)]
            for a, b in zip(bounds[:-1], bounds[1:])]


@register("constant_pad_nd")
def _constant_pad_nd(ctx, x, pad, value=0):
    ndim = _ndim(x)
    widths = [[0, 0] for _ in range(ndim)]
    for k in range(len(pad) // 2):
        widths[ndim - 1 - k] = [int(pad[2 * k]), int(pad[2 * k + 1])]
    key = tuple(slice(max(-a, 0), (_shape(x)[d] - max(-b, 0))) for d, (a, b) in
                enumerate(widths))
    x = x[key]
    return np.pad(x, [(max(a, 0), max(b, 0)) for a, b in widths], constant_values=value)


# ------------------------------------------------------------------------ indexing
def _index_key(indices):
    return tuple(slice(None) if i is None else i for i in indices)


@register("index", "_unsafe_index")
def _index(ctx, x, indices):
    return x[_index_key(indices)]


@register("index_select")
def _index_select(ctx, x, dim, index):
    return np.take(x, np.asarray(index), axis=_dim(int(dim), max(_ndim(x), 1)))


@register("gather")
def _gather(ctx, x, dim, index, sparse_grad=False):
    dim = _dim(int(dim), max(_ndim(x), 1))
    index = np.asarray(index)
    key = tuple(slice(None) if d == dim else slice(0, index.shape[d])
                for d in range(index.ndim))
    return np.take_along_axis(x[key], index, axis=dim)


@register("take")
def _take(ctx, x, index):
    return np.reshape(x, (-1,))[np.asarray(index)]


def _scatter_positions(shape, dim, index):
    """Flat positions written by ``scatter(dim, index)``, in the shape of ``index``."""
    index = np.asarray(index)
    dim = _dim(int(dim), max(len(shape), 1))
    grids = list(np.indices(index.shape, sparse=True))
    grids[dim] = index
    return index_grid(tuple(shape))[tuple(grids)]


def _source_part(src, index_shape):
    """The leading block of ``src`` that ``scatter`` reads (``src`` may be larger)."""
    if isinstance(src, numbers.Number) or _ndim(src) == 0:
        return src
    return src[tuple(slice(0, s) for s in index_shape)]


def _write(ctx, dst, positions, src, accumulate: bool):
    """``dst`` with ``src`` written (or added) at the flat ``positions`` (a new array)."""
    out = _traced(ctx, dst).copy()
    flat = np.reshape(out, (-1,))
    positions = np.asarray(positions, dtype=np.int64)
    if accumulate:
        np.add.at(flat, positions, np.broadcast_to(src, positions.shape))
        return _forget_values(out)
    unique = np.unique(positions)
    if unique.size == positions.size:
        flat[positions] = src
        return out
    # repeated positions: torch keeps one of the writes, unspecified which; take them all
    flat[unique] = 0.0
    np.add.at(flat, positions, np.broadcast_to(src, positions.shape))
    return _forget_values(out)


@register("scatter")
def _scatter(ctx, x, dim, index, src=None, value=None, reduce=None):
    src = value if src is None else src
    pos = _scatter_positions(_shape(x), dim, index)
    if reduce not in (None, "add"):
        raise TracingError(f"torch.scatter with reduce={reduce!r} is not supported by the "
                           "torch front-end; use scatter_add or scatter_reduce")
    return _write(ctx, x, pos, _source_part(src, pos.shape), accumulate=reduce == "add")


@register("scatter_add")
def _scatter_add(ctx, x, dim, index, src):
    pos = _scatter_positions(_shape(x), dim, index)
    return _write(ctx, x, pos, _source_part(src, pos.shape), accumulate=True)


@register("scatter_reduce")
def _scatter_reduce(ctx, x, dim, index, src, reduce, include_self=True):
    if reduce not in ("sum", "mean", "amax", "amin"):
        raise TracingError(f"torch.scatter_reduce with reduce={reduce!r} is not supported "
                           "by the torch front-end (sum, mean, amax and amin are)")
    pos = _scatter_positions(_shape(x), dim, index)
    if not include_self:
        x = _write(ctx, x, np.unique(pos), 0.0, accumulate=False)
    # sums, means and selections of the sources: linear or piecewise linear, the union
    return _write(ctx, x, pos, _source_part(src, pos.shape), accumulate=True)


@register("index_put", "_unsafe_index_put")
def _index_put(ctx, x, indices, values, accumulate=False):
    pos = index_grid(_shape(x))[_index_key(indices)]
    return _write(ctx, x, pos, values, accumulate=bool(accumulate))


def _axis_positions(shape, dim, index):
    dim = _dim(int(dim), max(len(shape), 1))
    return index_grid(tuple(shape))[(slice(None),) * dim + (np.asarray(index),)]


@register("index_add")
def _index_add(ctx, x, dim, index, source, alpha=1):
    return _write(ctx, x, _axis_positions(_shape(x), dim, index), _scaled(source, alpha),
                  accumulate=True)


@register("index_copy")
def _index_copy(ctx, x, dim, index, source):
    return _write(ctx, x, _axis_positions(_shape(x), dim, index), source, accumulate=False)


@register("index_fill")
def _index_fill(ctx, x, dim, index, value):
    return _write(ctx, x, _axis_positions(_shape(x), dim, index), value, accumulate=False)


@register("select_scatter")
def _select_scatter(ctx, x, src, dim, index):
    dim = _dim(int(dim), _ndim(x))
    pos = index_grid(_shape(x))[(slice(None),) * dim + (int(index),)]
    return _write(ctx, x, pos, src, accumulate=False)


@register("slice_scatter")
def _slice_scatter(ctx, x, src, dim=0, start=None, end=None, step=1):
    pos = index_grid(_shape(x))[_slice_key(_ndim(x), dim, start, end, step)]
    return _write(ctx, x, pos, src, accumulate=False)


@register("diagonal_scatter")
def _diagonal_scatter(ctx, x, src, offset=0, dim1=0, dim2=1):
    pos = np.diagonal(index_grid(_shape(x)), int(offset), int(dim1), int(dim2))
    return _write(ctx, x, pos, src, accumulate=False)


@register("fill")
def _fill(ctx, x, value):
    return np.broadcast_to(value, _shape(x)) * 1.0 if isinstance(value, TracedArray) \
        else np.full(_shape(x), value, dtype=numpy_dtype(ctx.meta.dtype))


@register("zero")
def _zero(ctx, x):
    return np.zeros(_shape(x), dtype=numpy_dtype(ctx.meta.dtype))


@register("zeros_like", "ones_like", "full_like", "empty_like", "rand_like", "randn_like",
          "randint_like", "new_zeros", "new_ones", "new_full", "new_empty",
          "new_empty_strided", "_shape_as_tensor")
def _shape_only(ctx, *args, **kwargs):
    """Operators that read only the shape and dtype of a traced tensor."""
    import torch

    def stand_in(a):
        if isinstance(a, TracedArray):
            return torch.zeros(a.shape, dtype=torch.from_numpy(np.zeros(0, a.dtype)).dtype)
        if isinstance(a, np.ndarray):
            return torch.from_numpy(a)
        if isinstance(a, np.dtype):
            return torch.from_numpy(np.zeros(0, a)).dtype
        return a

    if ctx.name.startswith(("empty", "new_empty", "rand")):
        return ctx.unknown()
    return to_numpy(ctx.op(*[stand_in(a) for a in args],
                           **{k: stand_in(v) for k, v in kwargs.items()}))


@register("_local_scalar_dense", "item")
def _item(ctx, x):
    raise conversion_error(".item() (or float(), int(), a Python scalar from a tensor)")


@register("_assert_tensor_metadata", "_assert_async", "_assert_scalar",
          "sym_constrain_range_for_size", "_functional_assert_async")
def _no_output(ctx, *args, **kwargs):
    return None


# ------------------------------------------------------------------------ products
@register("mm", "bmm", "matmul", "mv", "dot", "vdot", "inner", "linalg_matmul")
def _matmul(ctx, a, b):
    return matmul(a, b)


@register("addmm", "addmv", "baddbmm", "_sparse_addmm")
def _addmm(ctx, bias, a, b, beta=1, alpha=1):
    out = _scaled(matmul(a, b), alpha)
    return out if beta == 0 else out + _scaled(bias, beta)


@register("addbmm")
def _addbmm(ctx, bias, a, b, beta=1, alpha=1):
    out = _scaled(np.sum(matmul(a, b), axis=0), alpha)
    return out if beta == 0 else out + _scaled(bias, beta)


@register("einsum")
def _einsum(ctx, equation, tensors, path=None):
    return np.einsum(equation, *tensors)


@register("convolution", "_convolution")
def _convolution(ctx, x, w, bias, stride, padding, dilation, transposed, output_padding,
                 groups, *_):
    """N-d convolution as an einsum of the kernel with strided slices of the padded input."""
    if transposed:
        raise TracingError("transposed convolutions (conv_transpose*) are not supported by "
                           "the torch front-end")
    nsp = _ndim(w) - 2
    ks = _shape(w)[2:]
    if _ndim(x) == nsp + 1:  # unbatched input
        return _convolution(ctx, np.expand_dims(x, 0), w, bias, stride, padding, dilation,
                            transposed, output_padding, groups)[0]
    stride, padding, dilation = (list(v) * (nsp if len(v) == 1 else 1)
                                 for v in (stride, padding, dilation))
    xp = np.pad(x, [(0, 0), (0, 0)] + [(int(p), int(p)) for p in padding])
    sizes = _shape(xp)[2:]
    out_sp = [(s - dl * (k - 1) - 1) // st + 1
              for s, k, st, dl in zip(sizes, ks, stride, dilation)]
    patches = []
    for offs in itertools.product(*[range(k) for k in ks]):
        key = (slice(None), slice(None)) + tuple(
            slice(o * dl, o * dl + st * (n - 1) + 1, st)
            for o, dl, st, n in zip(offs, dilation, stride, out_sp))
        patches.append(xp[key])
    p = np.stack(patches, axis=2)  # (B, Cin, K, *out)
    b, cin = _shape(x)[:2]
    g = int(groups)
    cout = _shape(w)[0]
    k = len(patches)
    p = np.reshape(p, (b, g, cin // g, k) + tuple(out_sp))
    wr = np.reshape(w, (g, cout // g, cin // g, k))
    sp_letters = "xyzuvw"[:nsp]
    y = np.einsum(f"bgck{sp_letters},gock->bgo{sp_letters}", p, wr)
    y = np.reshape(y, (b, cout) + tuple(out_sp))
    if bias is not None:
        y = y + np.reshape(bias, (1, cout) + (1,) * nsp)
    return y
