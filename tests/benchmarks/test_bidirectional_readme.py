"""Rendering of the bidirectional benchmark's README section (the drift test against
docs/bidirectional.json is in test_readme.py)."""
from pathlib import Path

from benchmarks import bidirectional

README = Path(__file__).resolve().parents[2] / "README.md"


def test_render_of_a_tiny_result():
    data = {"machine": "test", "coloring": [
        {"problem": p, "matrix": "m", "n": 3, "nnz": 7, "method": meth, "colors": c,
         "seconds": 1e-3, "published": None}
        for p, c in (("column", 3), ("row", 3), ("bicolor", 2), ("bicolor_substitution", 2))
        for meth in ("largest_first", "best+improve")],
        "end_to_end": [{"n": 3, "mode": "bidirectional", "products": 2, "prepare_s": 0.5,
                        "steady_s": 1e-4, "note": ""}]}
    text = bidirectional.render(data)
    assert text.startswith(bidirectional.README_START) and "| m | 7 | 3 (1 ms) / 3 |" in text
    assert "| 3 | bidirectional | 2 |" in text
