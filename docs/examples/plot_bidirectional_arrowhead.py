"""
A nonsymmetric arrowhead: JVPs and VJPs together
================================================

Some Jacobians have a dense row *and* a dense column: a constraint that sums all
variables next to a variable that enters every residual, a hub in a network. Column
coloring then needs one JVP per column (the dense row makes every two columns share a
row), and row coloring one VJP per row (the dense column does the same to the rows). A
*bicoloring* (:func:`coloring.color` with ``problem="bicolor"``) colors some columns and
some rows: the dense row comes from one VJP and the rest from a few JVPs.

With a backend that has both products, ``mode="auto"`` of
:func:`sparsead.prepare_jacobian` tries a bicoloring when the pattern has dense rows or
columns, and keeps it when it needs fewer products (``mode="bidirectional"`` forces it).
"""

import time

import jax
import jax.numpy as jnp
import matplotlib.pyplot as plt
import numpy as np

import sparsead

jax.config.update("jax_enable_x64", True)   # x is float64: let JAX compute in 64 bits


def f(x):
    head = jnp.sum(x ** 2, keepdims=True)       # output 0 depends on every x: a dense row
    tail = x[1:] * x[-1] + jnp.sin(x[1:])       # x[-1] enters every output: a dense column
    return jnp.concatenate([head, tail])


n = 1000
x = np.linspace(0.1, 1.0, n)

# %%
# The pattern is detected from the jaxpr of ``f``: the diagonal, row 0 and column
# ``n - 1``. ``mode="auto"`` picks a bicoloring with three products; forcing columns or
# rows needs ``n`` of them.

prepared = {mode: sparsead.prepare_jacobian(f, x, backend="jax", mode=mode)
            for mode in ("auto", "column", "row")}
for mode, J in prepared.items():
    print(f"{mode:>6}: {J.mode:>13}, {J.ncolors} products")
bi = prepared["auto"].coloring
print(f"bicoloring: {bi.ncolumn_colors} JVP(s), {bi.nrow_colors} VJP(s)")

# %%
# All three give the same matrix, equal to JAX's dense Jacobian.

dense = np.asarray(jax.jacfwd(f)(jnp.asarray(x)))
for mode, J in prepared.items():
    assert np.allclose(J(x).toarray(), dense, rtol=1e-12, atol=1e-12), mode

# %%
# Evaluating at new points costs one batched call of three products instead of ``n``.
# The times are from the machine that built this page.


def median_seconds(J, repeats=15):
    M = J(x)
    times = []
    for k in range(repeats):
        start = time.perf_counter()
        J(x + 1e-3 * k, out=M)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


seconds = {mode: median_seconds(J) for mode, J in prepared.items()}
for mode, s in seconds.items():
    print(f"{mode:>6}: J(x, out=M) in {1e3 * s:.2f} ms")

pattern = prepared["auto"].sparsity
fig, (ax_pattern, ax_products) = plt.subplots(1, 2, figsize=(9, 4))
ax_pattern.spy(pattern, markersize=0.5)
ax_pattern.set_title(f"pattern ({n} x {n}, nnz = {pattern.nnz})")
ax_products.bar(list(prepared), [J.ncolors for J in prepared.values()], color="tab:blue")
ax_products.set_yscale("log")
ax_products.set_ylabel("products per Jacobian")
ax_products.set_title("mode of prepare_jacobian")
fig.tight_layout()
