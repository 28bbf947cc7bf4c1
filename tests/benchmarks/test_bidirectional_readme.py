"""The README's bidirectional section is the script's rendering of docs/bidirectional.json."""
import json
from pathlib import Path

import pytest

from benchmarks import bidirectional

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_section_matches_saved_results():
    saved = README.parent / "docs" / "bidirectional.json"
    if not saved.exists():
        pytest.skip("no docs/bidirectional.json yet (python -m benchmarks.bidirectional --docs)")
    text = README.read_text()
    start = text.index(bidirectional.README_START)
    end = text.index(bidirectional.README_END) + len(bidirectional.README_END)
    assert text[start:end] == bidirectional.render(json.loads(saved.read_text()))


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
