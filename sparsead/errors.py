"""The exceptions of sparsead, listed in one public place.

Each names the problem and the fix, and subclasses the builtin a caller would catch. They
are also attributes of the package (``sparsead.SparseADError``), but not in its
``__all__``, which keeps ``help(sparsead)`` to the entry points.
"""

from ._errors import (
    BackendUnavailableError,
    ColorEvaluationError,
    SparseADError,
    SparsityDetectionError,
    UnsupportedProductError,
)

__all__ = ["SparseADError", "SparsityDetectionError", "BackendUnavailableError",
           "UnsupportedProductError", "ColorEvaluationError"]
