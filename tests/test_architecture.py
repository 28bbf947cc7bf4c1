"""The import graph of the library: layers that point one way, and no cycles.

The graph is read from the source with ``ast`` (nothing is imported), counting imports
inside functions as well as those at the top of a file. An import of a package counts as an
import of its ``__init__``; ``from a import b`` counts as an import of ``a.b`` when that is a
module, and of ``a`` otherwise.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tracer", "coloring", "sparsead")

# who may import whom, between the packages of this repository
ALLOWED = {
    "tracer": {"tracer"},
    "coloring": {"coloring"},
    "sparsead": {"sparsead", "tracer", "coloring"},
}
OUTSIDE = ("benchmarks", "tests", "docs")

# Repository modules that may be imported inside a function: the front-ends of optional
# dependencies, loaded when first used so that a numpy user does not pay for them.
LAZY = {"tracer.jax", "tracer.torch"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def imported_names(path: Path):
    """Yield ``(name, inside_function, lineno)`` for each import statement in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    this = module_name(path)
    package = this if path.name == "__init__.py" else this.rpartition(".")[0]
    in_function = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            in_function.update(id(n) for n in ast.walk(node)
                               if isinstance(n, (ast.Import, ast.ImportFrom)))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, id(node) in in_function, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            for alias in node.names:
                full = f"{origin}.{alias.name}"
                yield (full if full in MODULES else origin), id(node) in in_function, node.lineno


def resolve(name: str) -> str | None:
    """The repository module that ``name`` lands in (its longest known prefix), if any."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph():
    graph = {m: set() for m in MODULES}
    for m, path in MODULES.items():
        for name, _, _ in imported_names(path):
            target = resolve(name)
            if target is not None and target != m:
                graph[m].add(target)
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index, low, on_stack, stack, found = {}, {}, set(), [], []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on_stack:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_graph_reader_sees_a_planted_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_reader_resolves_relative_and_from_imports():
    graph = import_graph()
    # sparsead/__init__.py imports from its submodules; coloring's from its own
    assert any(t.startswith("sparsead.") for t in graph["sparsead"])
    assert any(t.startswith("coloring.") for t in graph["coloring"])


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    graph = import_graph()
    inside = [c for c in cycles(graph) if c[0].split(".")[0] == package]
    assert inside == [], f"import cycles in {package}: {inside}"


@pytest.mark.parametrize("package", PACKAGES)
def test_layers_point_one_way(package):
    wrong = []
    for m, path in MODULES.items():
        if m.split(".")[0] != package:
            continue
        for name, _, line in imported_names(path):
            top = name.split(".")[0]
            if top in OUTSIDE or (top in PACKAGES and top not in ALLOWED[package]):
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert wrong == []


@pytest.mark.parametrize("package", PACKAGES)
def test_function_level_imports_are_for_optional_dependencies_only(package):
    """Imports of the repository's own modules sit at the top of the file (except the
    optional front-ends in LAZY, whose dependencies are optional)."""
    inside = []
    for m, path in MODULES.items():
        if m.split(".")[0] != package:
            continue
        for name, in_function, line in imported_names(path):
            if in_function and resolve(name) is not None and resolve(name) not in LAZY:
                inside.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert inside == []
