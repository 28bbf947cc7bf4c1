"""Pluggable differentiation backends.

Built-in: ``"fd"`` (:class:`FiniteDifferences`, numpy), ``"jax"`` and ``"torch"`` (optional
extras, imported lazily), and :class:`Custom` for the user's own derivative callables.
A third-party backend subclasses :class:`Backend` and can be registered by name with
:func:`register_backend`; :func:`sparsead.testing.check_backend` checks it.
"""
from ._registry import available_backends, get_backend, register_backend
from .base import Backend, ProductRequest
from .custom import Custom
from .fd import FiniteDifferences

__all__ = ["Backend", "Custom", "FiniteDifferences", "ProductRequest", "available_backends",
           "get_backend", "register_backend"]
