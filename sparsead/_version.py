"""The version of the ``sparsead`` distribution (tracer, coloring and sparsead): set here only."""

__version__ = "0.1.0"
