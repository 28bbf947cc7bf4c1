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


# (benchmark module, its JSON in docs/, the function rendering the README section)
GENERATED_SECTIONS = [("brusselator", "brusselator.json", "readme_section"),
                      ("hessian", "hessian.json", "readme_section"),
                      ("scale", "scale.json", "readme_section"),
                      ("jax_native", "jax_native.json", "readme_section"),
                      ("bidirectional", "bidirectional.json", "render")]


@pytest.mark.parametrize("module, saved, render", GENERATED_SECTIONS)
def test_readme_results_come_from_the_benchmark_json(module, saved, render):
    """Each generated README section is its script's rendering of the committed JSON."""
    import importlib
    import json

    bench = importlib.import_module(f"benchmarks.{module}")
    data = json.loads((README.parent / "docs" / saved).read_text())
    text = README.read_text()
    section = text[text.index(bench.README_START):
                   text.index(bench.README_END) + len(bench.README_END)]
    assert section == getattr(bench, render)(data)
