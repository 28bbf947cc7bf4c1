"""tracer: sparsity detection of numpy code by operator overloading (and of jax.numpy and
PyTorch code through their operator graphs).

Public API: :func:`jacobian_sparsity`, :func:`hessian_sparsity`, :class:`TracingError`,
:func:`user_namespaces`.

Tracing state is per thread: while one thread traces, other threads keep numpy's own
behaviour, and several threads may trace at the same time.

Modules
-------
``_kernels``      Numba kernels on CSR-like index sets (gather, union, pairs, splice).
``_derivatives``  Table: which first/second/cross derivatives of each ufunc can be nonzero.
``_array``        :class:`TracedArray` (vectorized sets), ufunc dispatch, registry.
``_scalar``       :class:`TracedScalar` (frozensets) for loop-style code.
``_indexing``     Indexing, assignment, views and buffered single-element writes.
``_functions``    Shape/indexing functions, ``where``, allocation, value queries.
``_reductions``   Reductions and scans (sum, max, prod, cumsum, var, norm, ufunc methods).
``_products``     einsum-style contractions with dense/scipy.sparse/traced factors, solve.
``_construct``    Arrays from lists of traced scalars, traced buffers.
``_patching``     Per-thread numpy/math patches during a trace; which callers are user code.
``_math``         Table: the numpy rule of each smooth/piecewise ``math`` function.
``_api``          The public functions and front-end dispatch.
``_interop``      Helpers for the JAX front-end (``_jax_frontend``).
``torch``         The torch front-end: aten graphs interpreted on the engine (subpackage).
"""

from ._api import hessian_sparsity, jacobian_sparsity
from ._errors import TracingError
from ._user_code import user_namespaces

__all__ = ["jacobian_sparsity", "hessian_sparsity", "TracingError", "user_namespaces"]
