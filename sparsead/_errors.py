"""Exceptions raised by sparsead.

Every error names the problem and the fix. They subclass the builtin exception a user
would naturally catch (``ValueError``, ``ImportError``, ``NotImplementedError``).
"""


class SparseADError(ValueError):
    """Bad input to the sparse differentiation pipeline (shape, dtype, pattern, ``out``)."""


class SparsityDetectionError(SparseADError):
    """No sparsity pattern could be obtained; pass ``sparsity=`` or ``sparsity_from=``."""


class BackendUnavailableError(ImportError):
    """A backend's array library is not installed; the message says how to install it."""


def install_instructions(package: str, extra: str) -> str:
    """Commands that install an optional dependency: the package itself from PyPI, or the
    repository's extra from a clone (sparsead is not on PyPI)."""
    return (f'pip install {package}  (or, in a clone of the sparsead repository, '
            f'pip install -e ".[{extra}]")')


class UnsupportedProductError(NotImplementedError):
    """A backend cannot compute the requested product (e.g. ``"fd"`` Hessians without ``grad=``)."""


class ColorEvaluationError(RuntimeError):
    """The evaluation of one color's product failed in an executor's worker; ``color``
    is its index and the worker's exception is the ``__cause__``."""

    def __init__(self, message: str, color: int) -> None:
        super().__init__(message)
        self.color = color
