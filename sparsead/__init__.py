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
from ._errors import (
                      BackendUnavailableError,
                      ColorEvaluationError,
                      SparseADError,
                      SparsityDetectionError,
                      UnsupportedProductError,
)
from ._version import __version__  # noqa: F401  (the one place the version is set)
from .adapters import (
                      IpoptAdapter,
                      ODEJacobian,
                      least_squares_jacobian,
                      ode_jacobian,
                      trust_constr_hessian,
)
from .hessian import SparseHessian, hessian, prepare_hessian, value_gradient_and_hessian
from .hvp import HVPOperator, hvp_operator
from .jacobian import SparseJacobian, jacobian, prepare_jacobian

__all__ = [
    "backends", "jacobian", "prepare_jacobian", "SparseJacobian",
    "hessian", "prepare_hessian", "SparseHessian", "value_gradient_and_hessian",
    "hvp_operator", "HVPOperator",
    "ode_jacobian", "ODEJacobian", "least_squares_jacobian", "trust_constr_hessian",
    "IpoptAdapter",
    "SparseADError", "SparsityDetectionError", "BackendUnavailableError",
    "UnsupportedProductError", "ColorEvaluationError",
]
