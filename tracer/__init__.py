"""tracer: sparsity detection of numpy code by operator overloading (and of jax.numpy and
PyTorch code through their operator graphs).

Public API: :func:`jacobian_sparsity`, :func:`hessian_sparsity`, :class:`TracingError`,
:func:`user_namespaces`.

Tracing state is per thread: while one thread traces, other threads keep numpy's own
behaviour, and several threads may trace at the same time.

Modules
-------
In layers: each module imports only modules above it in this list.

``_derivatives``  Tables: nonzero derivatives of each ufunc; the operators and their ufuncs.
``_dtypes``       numpy's result dtype of a ufunc on operand kinds (numpy's TypeErrors).
``_math``         Table: the numpy rule of each smooth/piecewise ``math`` function.
``_user_code``    Which callers count as user code (:func:`user_namespaces`).
``_errors``       :class:`TracingError` and the messages that name the fix.
``_kernels``      Numba kernels on CSR-like index sets (gather, union, pairs, splice).
``_setops``       The set operations: numpy for small inputs, the kernels for large ones.
``_sets``         CSR set algebra on set arrays (gather, union, broadcast maps) and caches.
``_session``      The settings of a trace and the per-thread stack of running traces.
``_scalar``       :class:`TracedScalar` (frozensets) for loop-style code, by the table.
``_array``        :class:`TracedArray`: vectorized sets, views, pending writes.
``_construct``    Operands as traced arrays (lift, nested lists, buffers), find_session.
``_ufuncs``       Elementwise ufuncs on traced arrays, driven by ``_derivatives``.
``_registry``     ``@implements``: the numpy function -> handler registry.
``_indexing``     Indexing, assignment, views and buffered single-element writes.
``_reductions``   Reductions and scans (sum, max, prod, cumsum, var, norm, ufunc methods).
``_products``     einsum-style contractions with dense/scipy.sparse/traced factors, solve.
``_functions``    Shape/indexing functions, ``where``, allocation, value queries.
``_operators``    Operators and numpy protocols of both tracers, installed on the classes.
``_patching``     Per-thread numpy/math patches during a trace.
``_trace``        One trace on the engine: traced input, running f, the output's patterns.
``_interop``      Helpers for the JAX front-end (``jax``).
``jax``           The JAX front-end: jaxpr interpreter and primitive rules (subpackage).
``torch``         The torch front-end: aten graphs interpreted on the engine (subpackage).
``_api``          The public functions and the choice of front-end.
"""

from ._api import hessian_sparsity, jacobian_sparsity
from ._errors import TracingError
from ._user_code import user_namespaces

__all__ = ["jacobian_sparsity", "hessian_sparsity", "TracingError", "user_namespaces"]
