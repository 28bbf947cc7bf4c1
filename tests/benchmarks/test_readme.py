"""The README's examples run: every ```python block is executed; ```shell blocks are not."""
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)


def code_blocks(language):
    return [body for lang, body in FENCE.findall(README.read_text()) if lang == language]


def test_readme_has_the_two_setup_commands_exactly():
    shell = "\n".join(code_blocks("shell"))
    assert 'python -m pip install -e ".[bench]" && python -m benchmarks.brusselator' in shell
    ci_command = (README.parent / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci_command.startswith('python -m pip install -e ".[test]" && python -m ruff check .')
    assert ci_command in shell  # the README's test command is exactly what CI runs
    assert "python -m coloring MATRIX.mtx --problem star --order smallest_last" in shell


def test_readme_results_section_links_the_figures():
    text = README.read_text()
    start, end = text.index("<!-- results:start -->"), text.index("<!-- results:end -->")
    section = text[start:end]
    for name in ("docs/brusselator_pattern.png", "docs/brusselator_scaling.png"):
        if name in section:
            assert (README.parent / name).exists(), name


@pytest.mark.parametrize("index", range(len(code_blocks("python"))))
def test_readme_python_block_runs(index, capsys):
    code = code_blocks("python")[index]
    exec(compile(code, f"README.md python block {index}", "exec"), {"__name__": "readme"})


def test_readme_results_come_from_the_benchmark_json():
    """The README's figures are the script's rendering of docs/brusselator.json."""
    import json

    from benchmarks import brusselator

    saved = README.parent / "docs" / "brusselator.json"
    if not saved.exists():
        pytest.skip("no docs/brusselator.json yet (run the benchmark with --docs)")
    text = README.read_text()
    section = text[text.index(brusselator.README_START):
                   text.index(brusselator.README_END) + len(brusselator.README_END)]
    assert section == brusselator.readme_section(json.loads(saved.read_text()))


def test_readme_hessian_results_come_from_the_benchmark_json():
    import json

    from benchmarks import hessian

    saved = README.parent / "docs" / "hessian.json"
    if not saved.exists():
        pytest.skip("no docs/hessian.json yet (run the Hessian benchmark with --docs)")
    text = README.read_text()
    section = text[text.index(hessian.README_START):
                   text.index(hessian.README_END) + len(hessian.README_END)]
    assert section == hessian.readme_section(json.loads(saved.read_text()))


def test_readme_scale_results_come_from_the_benchmark_json():
    import json

    from benchmarks import scale

    saved = README.parent / "docs" / "scale.json"
    if not saved.exists():
        pytest.skip("no docs/scale.json yet (run python -m benchmarks.scale --docs)")
    text = README.read_text()
    section = text[text.index(scale.README_START):
                   text.index(scale.README_END) + len(scale.README_END)]
    assert section == scale.readme_section(json.loads(saved.read_text()))


def test_readme_jax_native_results_come_from_the_benchmark_json():
    import json

    from benchmarks import jax_native

    saved = README.parent / "docs" / "jax_native.json"
    if not saved.exists():
        pytest.skip("no docs/jax_native.json yet (run the benchmark with --docs)")
    text = README.read_text()
    section = text[text.index(jax_native.README_START):
                   text.index(jax_native.README_END) + len(jax_native.README_END)]
    assert section == jax_native.readme_section(json.loads(saved.read_text()))
