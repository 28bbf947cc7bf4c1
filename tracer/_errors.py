"""Errors raised while tracing."""

from __future__ import annotations

import builtins
import dis
import linecache
import re
import sys

from ._math import MATH_RULES
from ._user_code import _is_library_module


class TracingError(Exception):
    """A function cannot be traced as written; the message names the operation and the fix."""


class _JaxCodeDetected(Exception):
    """Internal: JAX code touched a numpy traced array (``__jax_array__``); re-dispatch to JAX."""


LOCAL_HINT = ("If both branches are valid code for every x, write the choice with "
              "np.where(cond, a, b) or np.select(...): the pattern is then exact and holds "
              'for every x (global). Otherwise use mode="local" to get the pattern at this '
              "particular x only, where control flow follows the actual values.")

BUFFER_HINT = ("If you are writing traced values into a numpy buffer created outside f, "
               "allocate the buffer inside f instead, with np.zeros_like(x), np.empty_like(x) "
               "or np.zeros(n, like=x), so that it can hold traced values.")


def control_flow_error(operation: str) -> TracingError:
    """Error for value-dependent control flow in global mode."""
    return TracingError(
        f"{operation} depends on the value of a traced array, which is unknown in "
        f'mode="global" (the pattern must hold for every x). {LOCAL_HINT}')


def conversion_error(operation: str) -> TracingError:
    """Error for converting a traced value to a plain Python/numpy number."""
    return TracingError(
        f"{operation} on a traced value would return a plain number and silently drop its "
        "dependence on x, so it is not allowed in any mode. If this comes from a math-module "
        "function (math.sin, math.exp, math.sqrt, ...), use the numpy equivalent instead "
        "(np.sin, np.cos, np.tan, np.exp, np.log, np.sqrt, np.tanh, np.arctan2, ...). "
        + BUFFER_HINT)


class _NotAnIndexError(TracingError, TypeError):
    """A traced non-integer used as an index: numpy's own scalar raises TypeError there."""


def not_an_index_error(dtype) -> TracingError:
    """Error for ``operator.index`` of a traced value whose dtype is not an integer one."""
    return _NotAnIndexError(
        f"A traced {dtype} value cannot be used as an index (int), as numpy's {dtype} "
        "scalar cannot: only integers can. Convert it with .astype(int) in "
        'mode="local", where its value is known.')


def library_caller() -> str | None:
    """The library function (numpy, scipy, ...) that user code called, if one is on the stack."""
    frame = sys._getframe(1)
    found = None
    while frame is not None:
        mod = frame.f_globals.get("__name__", "") or ""
        top = mod.partition(".")[0]
        if top == "tracer":
            pass
        elif top in ("numpy", "scipy"):
            name = getattr(frame.f_code, "co_qualname", frame.f_code.co_name)
            public = mod.replace("numpy", "np", 1).split("._")[0]
            found = f"{public}.{name}"
        else:
            break
        frame = frame.f_back
    return found


def array_conversion_error(what: str) -> TracingError:
    """``__array__`` on a traced value: a numpy/scipy function or a plain buffer wanted numbers."""
    store = plain_array_store_error(what)
    if store is not None:
        return store
    caller = library_caller()
    lead = (f"{caller} tried to convert a traced {what} into a plain numpy array (the tracer "
            f"cannot trace {caller} on this input). " if caller else
            f"A numpy operation tried to convert a traced {what} into a plain numpy array. ")
    return TracingError(
        lead + "This happens when traced values are written into a numpy array that was "
        "created outside the traced function, or when they are passed to a function that the "
        "tracer does not support (build arrays of traced scalars with np.array([...]) or "
        "np.stack). " + BUFFER_HINT)


def unsupported_error(name: str, detail: str = "") -> TracingError:
    """Error for a numpy function the tracer does not support."""
    msg = (f"The tracer does not support {name}"
           + (f" ({detail})" if detail else "")
           + ". Rewrite this step with supported numpy operations "
           "(elementwise ufuncs, reductions, indexing, reshaping, products); "
           "the tracer never falls back to running it silently.")
    return TracingError(msg)


_MATH_TO_NUMPY = {"fabs": "np.abs", "pow": "np.power", "asin": "np.arcsin", "acos": "np.arccos",
                  "atan": "np.arctan", "atan2": "np.arctan2", "asinh": "np.arcsinh",
                  "acosh": "np.arccosh", "atanh": "np.arctanh", "fsum": "np.sum",
                  "prod": "np.prod", "dist": "np.linalg.norm", "erf": "scipy.special.erf"}


def _resolve_name(dotted: str, frame):
    parts = dotted.split(".")
    scopes = (frame.f_locals, frame.f_globals, vars(builtins))
    obj = next((sc[parts[0]] for sc in scopes if parts[0] in sc), None)
    for p in parts[1:]:
        obj = getattr(obj, p, None)
    return obj


def _math_call_in_user_code() -> str | None:
    """Name of the ``math.<fn>`` called on the line that triggered the conversion, if any."""
    frame = sys._getframe(1)
    while frame is not None:
        mod = frame.f_globals.get("__name__", "") or ""
        if mod.partition(".")[0] != "tracer":
            text = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
            try:  # narrow to the exact call expression (Python >= 3.11)
                pos = list(frame.f_code.co_positions())[frame.f_lasti // 2]
                if pos[0] == pos[1] == frame.f_lineno and pos[2] is not None:
                    text = text[pos[2]:pos[3]]
            except (AttributeError, IndexError, TypeError):
                pass
            m = re.match(r"\s*([A-Za-z_][\w\.]*)\s*\(", text)
            if m:  # resolve the callee (also `fn(x)` with fn = math.sin)
                obj = _resolve_name(m.group(1), frame)
                if getattr(obj, "__module__", None) == "math":
                    return obj.__name__
            m = re.search(r"\bmath\.(\w+)\s*\(", text)
            return m.group(1) if m else None
        frame = frame.f_back
    return None


def float_conversion_error(operation: str) -> TracingError:
    """``float()`` on a traced value; names the numpy equivalent of a math-module call,
    or the plain numpy array that a traced value was assigned into."""
    store = plain_array_store_error("value")
    if store is not None:
        return store
    fn = _math_call_in_user_code()
    if fn is not None:
        np_name = _MATH_TO_NUMPY.get(fn, f"np.{fn}")
        how = (f"through a reference bound before the trace (e.g. `from math import {fn}`): "
               f"only math.{fn}(...) looked up while tracing is routed to {np_name}"
               if fn in MATH_RULES else "and the tracer does not route this math function")
        return TracingError(
            f"math.{fn} was called on a traced value {how}. The math module converts its "
            f"argument to a plain float, which would drop its dependence on x. Use {np_name} "
            f"instead.")
    return conversion_error(operation)


_STORE_OPS = frozenset(op for name, op in dis.opmap.items()
                       if name in ("STORE_SUBSCR", "STORE_SLICE"))


def _user_frame():
    """The innermost frame outside the tracer package (the code that triggered it)."""
    frame = sys._getframe(2)
    while frame is not None and (frame.f_globals.get("__name__", "") or "").partition(
            ".")[0] == "tracer":
        frame = frame.f_back
    return frame


def plain_array_store_error(what: str) -> TracingError | None:
    """The error for ``buf[...] = traced`` with ``buf`` a plain ``numpy.ndarray``, if the
    conversion being refused comes from such an assignment (else None).

    numpy converts the assigned value to a number (``float()``/``__array__``) only when the
    target is a numpy array of its own; a traced buffer never asks. The assignment is
    recognised by the instruction the user's frame is executing.
    """
    frame = _user_frame()
    if frame is None or frame.f_lasti < 0:
        return None
    code = frame.f_code.co_code
    if frame.f_lasti >= len(code) or code[frame.f_lasti] not in _STORE_OPS:
        return None
    module = frame.f_globals.get("__name__", "") or ""
    library = (f" The assignment is in {module}, which counts as library code, so its "
               f"np.zeros/np.empty return plain arrays; if that is the function you trace, "
               f'declare it with tracer.user_namespaces("{module}").'
               if _is_library_module(module) else "")
    return TracingError(
        f"A traced {what} was assigned into a plain numpy.ndarray (line {frame.f_lineno} of "
        f"{frame.f_code.co_filename}). That array was not allocated as a traced buffer: it "
        "was created outside f, or inside f by an allocator bound before the trace (`from "
        "numpy import zeros` at module level binds numpy's own function), or by a library "
        "function. Allocate it inside f with np.zeros(...), np.zeros_like(x) or "
        "np.empty_like(x), written with the `np.` prefix, so that it can hold traced values."
        + library)
