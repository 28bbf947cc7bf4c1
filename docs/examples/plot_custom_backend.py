"""
A custom backend, checked with ``check_backend``
================================================

A backend only has to compute batched derivative products; sparsead does the rest
(detection, coloring, decompression, output formats, adapters). This example writes a
complex-step backend: for real-analytic ``f``, ``J v = Im f(x + i h v) / h`` with a tiny
``h`` is exact to rounding, because there is no subtraction of nearly equal numbers.
It implements only the plain batched ``jvp``: the default
:meth:`sparsead.backends.Backend.products`, the one call the pipeline makes, calls it and
gathers the nonzeros. The conformance suite :func:`sparsead.testing.check_backend` then
checks it on every scenario, and the backend is registered by name.
"""

import matplotlib.pyplot as plt
import numpy as np

import sparsead
from sparsead.backends import Backend, register_backend
from sparsead.testing import check_backend


class ComplexStep(Backend):
    """Jacobian-vector products by complex step (numpy functions)."""

    name = "complex-step"
    array_library = "numpy"          # f is written with numpy: the numpy tracer detects

    def prepare(self, f, x, args=(), *, kinds=frozenset({"jvp"})):
        if not kinds <= {"jvp"}:
            raise NotImplementedError("complex-step computes JVPs only")
        return f, args               # nothing to compile: the context is passed back

    def supports(self, kind):
        return kind == "jvp"

    def value(self, ctx, x):
        f, args = ctx
        return np.asarray(f(x, *args)).ravel()

    def jvp(self, ctx, x, V):        # V: (k, n), one seed per color
        f, args = ctx
        h = 1e-30 if x.dtype == np.float64 else 1e-15
        rows = [np.imag(np.asarray(f(x + 1j * h * v.reshape(x.shape), *args))).ravel() / h
                for v in V]
        return self.value(ctx, x), np.stack(rows)   # (m,) and (k, m)


# %%
# Run the conformance suite
# -------------------------
# Values are compared with complex-step references in float64 and float32; each
# evaluation must cost exactly one backend call with ``ncolors`` seeds. Hessian scenarios
# are skipped, since this backend has no ``hvp``. Any failure raises ``AssertionError``
# with the list.

report = check_backend(ComplexStep())
print(report.summary())

# %%
# Register it and use it by name
# ------------------------------

register_backend("complex-step", ComplexStep)


def f(x):
    return np.exp(x[1:] - x[:-1]) * np.cos(x[1:]) + 1e3 * x[:-1] ** 2


x = np.linspace(0.0, 3.0, 200)
J_cs = sparsead.jacobian(f, x, backend="complex-step")
J_fd = sparsead.jacobian(f, x, backend="fd")
J_central = sparsead.jacobian(f, x, backend=sparsead.backends.FiniteDifferences(method="central"))

# the exact Jacobian, by hand: two diagonals
e, c, s = np.exp(x[1:] - x[:-1]), np.cos(x[1:]), np.sin(x[1:])
main = -e * c + 2e3 * x[:-1]
upper = e * c - e * s
exact = np.zeros((x.size - 1, x.size))
exact[np.arange(x.size - 1), np.arange(x.size - 1)] = main
exact[np.arange(x.size - 1), np.arange(1, x.size)] = upper

# %%
# Accuracy against the exact Jacobian
# -----------------------------------
# Forward differences lose about half the digits, central differences a third; complex
# step keeps them all.

fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
for name, J in (("forward differences", J_fd), ("central differences", J_central),
                ("complex step", J_cs)):
    err = np.abs(J.toarray() - exact)[exact != 0] / np.maximum(np.abs(exact[exact != 0]), 1)
    err = np.maximum(err, 1e-18)
    print(f"{name:>20}: max relative error {err.max():.1e}")
    ax.hist(np.log10(err), bins=40, alpha=0.6, label=name)
ax.set_xlabel("log10 relative error of each nonzero")
ax.set_ylabel("count")
ax.legend()
plt.show()
