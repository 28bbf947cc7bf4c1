"""coloring: Numba graph coloring, compression and decompression of sparse matrices."""
