"""Name -> backend registry, with lazy imports of the optional array libraries."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable

from .._errors import BackendUnavailableError, install_instructions
from .base import Backend

#: name -> (module, class name or None, required package or None, pip extra or None).
#: A class name of None means "the Backend subclass in the module whose ``name`` matches".
_BUILTIN: dict[str, tuple[str, str | None, str | None, str | None]] = {
    "fd": ("sparsead.backends.fd", "FiniteDifferences", None, None),
    "jax": ("sparsead.backends.jax_backend", None, "jax", "jax"),
    "torch": ("sparsead.backends.torch_backend", None, "torch", "torch"),
}
_REGISTERED: dict[str, Callable[..., Backend]] = {}


def register_backend(name: str, factory: Callable[..., Backend]) -> None:
    """Make ``get_backend(name, **options)`` call ``factory(**options)``.

    Parameters
    ----------
    name : str
        Registry name; may shadow a built-in.
    factory : callable
        Returns a :class:`~sparsead.backends.Backend` instance (a class works).
    """
    _REGISTERED[name] = factory


def _installed(package: str) -> bool:
    try:
        return importlib.util.find_spec(package) is not None
    except (ValueError, ImportError):  # e.g. sys.modules[package] = None (blocked)
        return False


def available_backends() -> list[str]:
    """Names that :func:`get_backend` accepts and whose array library is installed."""
    names = []
    for name, (_, _, package, _) in _BUILTIN.items():
        if package is None or _installed(package):
            names.append(name)
    return sorted(set(names) | set(_REGISTERED))


def _find_class(module: Any, name: str) -> type[Backend] | None:
    for obj in vars(module).values():
        if (isinstance(obj, type) and issubclass(obj, Backend) and obj is not Backend
                and getattr(obj, "name", None) == name and obj.__module__ == module.__name__):
            return obj
    return None


def get_backend(backend: str | Backend = "fd", **options: Any) -> Backend:
    """Return a backend instance from a name or pass an instance through.

    Parameters
    ----------
    backend : str or Backend
        ``"fd"``, ``"jax"``, ``"torch"``, a name given to :func:`register_backend`, or an
        instance (returned unchanged; ``options`` must then be empty).
    **options
        Constructor options, e.g. ``get_backend("fd", method="central")``.

    Raises
    ------
    BackendUnavailableError
        The backend's array library is missing; the message names the pip extra.
    ValueError
        Unknown name.
    """
    if isinstance(backend, Backend):
        if options:
            raise TypeError(f"options {sorted(options)} given with a backend instance; "
                            f"configure the instance instead")
        return backend
    if not isinstance(backend, str):
        raise TypeError(f"backend must be a name or a sparsead.backends.Backend instance, "
                        f"not {type(backend).__name__}")
    if backend in _REGISTERED:
        return _REGISTERED[backend](**options)
    if backend not in _BUILTIN:
        raise ValueError(f"unknown backend {backend!r}; available: {available_backends()} "
                         f"(or pass a Backend instance, e.g. sparsead.backends.Custom(...))")
    module_name, class_name, package, extra = _BUILTIN[backend]
    if package is not None and not _installed(package):
        raise BackendUnavailableError(
            f"backend {backend!r} needs {package}, which is not installed: "
            f"{install_instructions(package, extra)}")
    module = importlib.import_module(module_name)
    cls = getattr(module, class_name) if class_name else _find_class(module, backend)
    if cls is None:
        raise BackendUnavailableError(f"module {module_name} defines no Backend subclass "
                                      f"with name {backend!r}")
    return cls(**options)
