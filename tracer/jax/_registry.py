"""The table of the JAX front-end: one :class:`Rule` per ``jax.lax`` primitive.

The rule modules (``_elementwise``, ``_reductions``, ``_shapes``, ``_indexing``,
``_control``, ``_linalg``) each call :func:`register` once per primitive; the
interpreter (``_interpreter``) looks the rules up by primitive name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional

#: Derivative flags of an elementwise primitive: ``(d1, d2)`` for one operand,
#: ``(da, db, daa, dbb, dab)`` for two (the layout of ``tracer._derivatives``).
DerivativeFlags = tuple[bool, ...]


@dataclass(frozen=True)
class Rule:
    """How the interpreter evaluates one primitive.

    Attributes
    ----------
    evaluate : callable
        ``evaluate(invals, **params)`` returning one value, or a list of values for
        primitives with ``multiple_results``. It only calls numpy API functions, so it runs
        on plain arrays and on the traced arrays of the engine alike.
    opaque_aware : bool
        ``evaluate`` receives :class:`~tracer.jax._values.Opaque` inputs unchanged (it
        needs to know which inputs have unknown values); otherwise it gets dummy constants.
    passthrough : bool
        ``evaluate`` also runs when the inputs are only constants and opaque values, because
        some outputs may still be known constants (calls, control flow). Implies
        ``opaque_aware``.
    needs_avals : bool
        ``evaluate`` also receives ``_out_avals`` and ``_in_avals`` (shapes and dtypes).
    constants_by_jax : bool
        ``evaluate`` only handles traced inputs; with constant inputs JAX evaluates the
        primitive itself (linear algebra, FFT: exact without a numpy re-implementation).
    derivatives : tuple of bool or None
        For elementwise primitives: which derivatives can be nonzero, ``(d1, d2)`` or
        ``(da, db, daa, dbb, dab)``. ``tests/tracer/test_operator_tables.py`` checks
        every declared flag against JAX's own derivatives.
    """

    evaluate: Callable[..., Any]
    opaque_aware: bool = False
    passthrough: bool = False
    needs_avals: bool = False
    constants_by_jax: bool = False
    derivatives: Optional[DerivativeFlags] = None

    @property
    def receives_opaque(self) -> bool:
        """True when ``evaluate`` gets :class:`Opaque` inputs unchanged."""
        return self.opaque_aware or self.passthrough


#: primitive name -> its :class:`Rule`
RULES: dict[str, Rule] = {}


def register(name: str, evaluate: Callable[..., Any], *, opaque_aware: bool = False,
             passthrough: bool = False, needs_avals: bool = False,
             constants_by_jax: bool = False,
             derivatives: Optional[DerivativeFlags] = None) -> Rule:
    """Register the rule of the primitive ``name`` (once: a second rule is a bug).

    Parameters
    ----------
    name : str
        The primitive's name (``eqn.primitive.name``).
    evaluate, opaque_aware, passthrough, needs_avals, constants_by_jax, derivatives
        The fields of :class:`Rule`.

    Returns
    -------
    Rule
        The registered record.

    Raises
    ------
    ValueError
        If ``name`` already has a rule, or ``derivatives`` has neither 2 nor 5 flags.
    """
    if name in RULES:
        raise ValueError(f"the JAX primitive {name!r} already has a rule; register each "
                         "primitive once")
    if derivatives is not None:
        derivatives = tuple(bool(d) for d in derivatives)
        if len(derivatives) not in (2, 5):
            raise ValueError(f"derivative flags of {name!r} must be (d1, d2) or "
                             f"(da, db, daa, dbb, dab), got {derivatives}")
    rule = Rule(evaluate, opaque_aware=opaque_aware, passthrough=passthrough,
                needs_avals=needs_avals, constants_by_jax=constants_by_jax,
                derivatives=derivatives)
    RULES[name] = rule
    return rule


__all__ = ["Rule", "RULES", "register", "DerivativeFlags"]
