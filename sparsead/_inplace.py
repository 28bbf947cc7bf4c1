"""In-place functions ``f(out, x, *args)``: recognising them and wrapping them as
out-of-place ``f(x, *args) -> out``."""

from __future__ import annotations

import inspect
from typing import Any, Callable

import numpy as np

from ._errors import SparseADError


def missing_out_argument(f: Callable, given: int) -> bool:
    """Whether ``f`` needs exactly one positional argument more than the ``given`` ones:
    the mark of an in-place function called without its output buffer."""
    try:
        params = inspect.signature(f).parameters.values()
    except (TypeError, ValueError):  # builtins and other callables without a signature
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return False
    required = [p for p in params if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(required) == given + 1


def missing_out_error(call: str, inplace_call: str, example: str) -> SparseADError:
    """The error for an in-place function called without its output buffer
    (:func:`missing_out_argument`): ``call`` is how it was called, ``inplace_call`` how it
    looks, ``example`` an ``out=`` that fits."""
    name = call.split("(", 1)[0]
    return SparseADError(
        f"{name} needs one more positional argument than {call} gives it: it looks like an "
        f"in-place function {inplace_call}. Pass out= ({example}); its values are ignored")


def inplace_to_outofplace(f: Callable, template: Any, library: str) -> Callable:
    """Wrap an in-place ``f(out, x, *args)`` as ``f(x, *args) -> out`` (numpy backends).

    A new output buffer is allocated per call, because backends may keep the returned
    array; its dtype follows x when x is complex (complex-step differences).
    """
    if library != "numpy":
        raise SparseADError(f"in-place functions (out=) are supported only for numpy "
                            f"backends (fd, custom); a {library} function must return its "
                            f"output")
    template = np.asarray(template)
    shape, dtype = template.shape, template.dtype

    def f_out_of_place(x, *args):
        buf = np.zeros(shape, dtype=np.result_type(dtype, x.dtype))
        f(buf, x, *args)
        return buf

    f_out_of_place.__wrapped__ = f  # type: ignore[attr-defined]
    return f_out_of_place
