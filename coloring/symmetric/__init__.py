"""Star and acyclic colorings of symmetric patterns (Hessians).

- :mod:`coloring.symmetric._graph`: the adjacency graph with numbered edges.
- :mod:`coloring.symmetric._star`: star coloring (GTMP 2007, Alg. 4.1) and its plan.
- :mod:`coloring.symmetric._acyclic`: acyclic coloring (GTMP 2007, Alg. 3.1) and its plan.
- :mod:`coloring.symmetric._improve`: the improvement pass (iterated greedy on orders).
- :mod:`coloring.symmetric._postprocess`: dropping colors decompression never reads.
- :mod:`coloring.symmetric._coloring`: the entry point :func:`color_symmetric` and the
  checks.

The decompression indices of these plans live in :mod:`coloring._decompression`.
"""
