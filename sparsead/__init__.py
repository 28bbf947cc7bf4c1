"""sparsead: sparse Jacobians and Hessians from compressed JVP/HVP products.

Pipeline: detect the sparsity pattern (:mod:`tracer`, or ``sparsity=``), color it
(:mod:`coloring`), evaluate all colors' products in one batched backend call, and gather
the values into a scipy sparse matrix through a precomputed index.

Main entry points
-----------------
- :func:`jacobian` / :func:`prepare_jacobian` -> :class:`SparseJacobian`
  (``J(x)``, ``J(x, out=M)``, ``J.value_and_jacobian(x)``, ``J.structure()``/``J.values(x)``).
- :func:`hessian` / :func:`prepare_hessian` -> :class:`SparseHessian` (star coloring and
  direct decompression by default, ``coloring="acyclic"`` for substitution, ``uplo``),
  :func:`value_gradient_and_hessian`.
- :func:`hvp_operator` -> :class:`HVPOperator` (a scipy ``LinearOperator`` with ``.at``).
- Adapters: :func:`ode_jacobian` (``solve_ivp``), :func:`least_squares_jacobian`,
  :func:`trust_constr_hessian`, :class:`IpoptAdapter` (cyipopt/Pyomo triplets).
- Backends: ``"fd"``, ``"jax"``, ``"torch"``, :class:`backends.Custom`; the protocol is
  :class:`backends.Backend` and :func:`sparsead.testing.check_backend` checks one.

Exceptions
----------
Each names the problem and the fix, and subclasses the builtin a caller would catch:

- ``SparseADError`` (``ValueError``): bad input (shape, dtype, pattern, ``out``, options).
- ``SparsityDetectionError`` (``SparseADError``): no pattern could be detected; pass
  ``sparsity=`` or ``sparsity_from=``.
- ``BackendUnavailableError`` (``ImportError``): a backend's library is not installed.
- ``UnsupportedProductError`` (``NotImplementedError``): a backend lacks a product (e.g.
  ``"fd"`` Hessians without ``grad=``).
- ``ColorEvaluationError`` (``RuntimeError``): an
  evaluation on an ``executor=`` failed; ``.color`` names the color.

They (listed in :mod:`sparsead.errors`), :class:`HVPOperator` and :class:`ODEJacobian`
are attributes of the package but not in ``__all__``, which keeps ``help(sparsead)`` to
the entry points.

Example
-------
>>> import numpy as np, sparsead
>>> def f(x):
...     y = x ** 2
...     y[1:] += x[:-1]
...     return y
>>> J = sparsead.prepare_jacobian(f, np.ones(5))      # detect, color: 2 colors
>>> J.ncolors, J.mode
(2, 'column')
>>> J(np.arange(5.0)).toarray()[1].round(6)
array([1., 2., 0., 0., 0.])
"""
from . import backends

# attributes of the package, not in __all__ (see "Exceptions" above)
from ._errors import (  # noqa: F401
    BackendUnavailableError,
    ColorEvaluationError,
    SparseADError,
    SparsityDetectionError,
    UnsupportedProductError,
)
from ._version import __version__  # noqa: F401  (the one place the version is set)
from .adapters import (
    IpoptAdapter,
    ODEJacobian,  # noqa: F401
    least_squares_jacobian,
    ode_jacobian,
    trust_constr_hessian,
)
from .hessian import SparseHessian, hessian, prepare_hessian, value_gradient_and_hessian
from .jacobian import SparseJacobian, jacobian, prepare_jacobian

__all__ = [
    "backends", "jacobian", "prepare_jacobian", "SparseJacobian",
    "hessian", "prepare_hessian", "SparseHessian", "value_gradient_and_hessian",
    "hvp_operator", "ode_jacobian", "least_squares_jacobian", "trust_constr_hessian",
    "IpoptAdapter",
]

_LAZY = {"hvp_operator": ".hvp", "HVPOperator": ".hvp"}


def __getattr__(name: str):
    # scipy.sparse.linalg (LinearOperator, the base of HVPOperator) takes a noticeable
    # part of the import time: imported on first use only.
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
