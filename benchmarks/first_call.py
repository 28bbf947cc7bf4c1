"""What a user waits for the first time: cold and warm first calls, each in a new process.

Run from the repository root::

    python -m benchmarks.first_call                    # every case, 3 rounds
    python -m benchmarks.first_call --cases small bruss32 --rounds 5
    python -m benchmarks.first_call --lib old=/tmp/old --lib new=/tmp/new   # compare

Every measurement runs in a new Python process started outside the repository:

- **cold**: with an empty ``NUMBA_CACHE_DIR``, as on a machine where sparsead has never
  run (Numba compiles every kernel the call needs);
- **warm**: again with the cache the cold run filled (Numba loads its kernels from disk).

For each, the process reports the time to import ``tracer``, ``coloring`` and
``sparsead`` and the time of the case itself. The cases: a Jacobian of a 3-element
function, each python example of the README, and the first Jacobian of the 2D
Brusselator (detection, coloring, preparation, first evaluation) with the ``"fd"``
backend at N = 32 and 128. ``--lib LABEL=PATH`` measures the packages found at PATH
(e.g. a ``pip install --target PATH .`` of another commit) instead of this checkout;
with several, their runs are interleaved so that load on the machine hits all alike.
Results go to ``benchmarks/results/first_call.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from benchmarks._timing import fmt_time, text_table

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"

_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import tracer, coloring, sparsead
t1 = time.perf_counter()
sys.path.append({repo!r})  # benchmarks.problems only; the packages come from PYTHONPATH
exec(compile({code!r}, "case", "exec"), {{"__name__": "case"}})
t2 = time.perf_counter()
print("FIRST_CALL " + json.dumps({{"import": t1 - t0, "run": t2 - t1,
                                   "where": sparsead.__file__}}))
"""

_BRUSSELATOR = """
import numpy as np
import sparsead
from benchmarks import problems
N = {N}
x = problems.brusselator_initial(N)
if {backend!r} == "jax":
    import jax
    jax.config.update("jax_enable_x64", True)
    f = problems.make_brusselator_jax(N, 2.0)
else:
    f = problems.make_brusselator_numpy(N, 2.0)
J = sparsead.prepare_jacobian(f, x, backend={backend!r})
M = J(x)
"""


def readme_examples(path: Path = REPO / "README.md") -> dict[str, str]:
    """The README's python blocks, named ``readme1``, ``readme2``, ..."""
    fence = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
    blocks = [body for lang, body in fence.findall(path.read_text()) if lang == "python"]
    return {f"readme{i + 1}": body for i, body in enumerate(blocks)}


def brusselator_case(N: int, backend: str = "fd") -> str:
    """Code of the first Brusselator Jacobian at grid size N (detect, color, prepare, eval)."""
    return _BRUSSELATOR.format(N=int(N), backend=backend)


def all_cases() -> dict[str, str]:
    cases = {"small": "import numpy as np\nimport sparsead\n"
                      "sparsead.jacobian(lambda x: x**2, np.ones(3))\n"}
    cases.update(readme_examples())
    cases["bruss32"] = brusselator_case(32)
    cases["bruss128"] = brusselator_case(128)
    return cases


def run_case(code: str, cache_dir: str, lib: str | None = None,
             timeout: float = 600.0) -> dict[str, Any]:
    """Run ``code`` in a new process outside the repository; its import and run times.

    ``cache_dir`` becomes ``NUMBA_CACHE_DIR``; ``lib`` (default: this checkout) is where
    the packages are imported from.
    """
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=lib or str(REPO),
               MPLBACKEND="Agg")
    child = _CHILD.format(repo=str(REPO), code=textwrap.dedent(code))
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.run([sys.executable, "-c", child], cwd=cwd, env=env,
                              capture_output=True, text=True, timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("FIRST_CALL "):
            return json.loads(line[len("FIRST_CALL "):])
    raise RuntimeError(f"the case failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")


def cold_and_warm(code: str, lib: str | None = None) -> dict[str, Any]:
    """One cold run (empty Numba cache) and one warm run (the cache it filled)."""
    with tempfile.TemporaryDirectory() as cache:
        cold = run_case(code, cache, lib)
        warm = run_case(code, cache, lib)
    return {"cold": cold, "warm": warm}


def measure(cases: dict[str, str], libs: dict[str, str | None], rounds: int,
            progress: bool = True) -> dict[str, Any]:
    """Medians over ``rounds`` of cold and warm runs, rounds interleaved over the libs."""
    raw: dict[str, dict[str, list]] = {c: {lib: [] for lib in libs} for c in cases}
    for r in range(rounds):
        for name, code in cases.items():
            for label, path in libs.items():
                res = cold_and_warm(code, path)
                raw[name][label].append(res)
                if progress:
                    print(f"round {r + 1}/{rounds} {name:>9} {label}: cold "
                          f"{fmt_time(res['cold']['run'])}, warm {fmt_time(res['warm']['run'])}"
                          f" (+ import {fmt_time(res['cold']['import'])})", flush=True)
    out: dict[str, Any] = {}
    for name in cases:
        out[name] = {}
        for label in libs:
            runs = raw[name][label]
            out[name][label] = {
                f"{kind}_{part}": statistics.median(x[kind][part] for x in runs)
                for kind in ("cold", "warm") for part in ("import", "run")}
            out[name][label]["where"] = runs[0]["cold"]["where"]
    return out


def render(results: dict[str, Any]) -> str:
    header = ["case", "packages", "import", "cold run", "warm run", "cold total",
              "warm total"]
    rows = []
    for name, per in results["cases"].items():
        for label, r in per.items():
            rows.append([name, label, fmt_time(r["cold_import"]), fmt_time(r["cold_run"]),
                         fmt_time(r["warm_run"]),
                         fmt_time(r["cold_import"] + r["cold_run"]),
                         fmt_time(r["warm_import"] + r["warm_run"])])
    meta = results["meta"]
    return (f"First calls in a new process, medians of {meta['rounds']} rounds; load average "
            f"{meta['loadavg_before']} before, {meta['loadavg_after']} after. cold: empty "
            f"Numba cache; warm: the cache the cold run filled.\n" + text_table(header, rows))


def _loadavg() -> str:
    try:
        return ", ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", nargs="+", default=None,
                   help="cases to run (default: all: small, readme1.., bruss32, bruss128)")
    p.add_argument("--rounds", type=int, default=3, help="rounds per case (default: 3)")
    p.add_argument("--lib", action="append", default=None, metavar="LABEL=PATH",
                   help="measure the packages at PATH under LABEL; repeat to compare "
                        "(default: this checkout)")
    p.add_argument("--output", type=Path, default=RESULTS_DIR / "first_call.json",
                   help="JSON file to write (default: %(default)s)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    cases = all_cases()
    if args.cases:
        unknown = sorted(set(args.cases) - set(cases))
        if unknown:
            raise SystemExit(f"unknown case(s) {unknown}; choose from {sorted(cases)}")
        cases = {name: cases[name] for name in args.cases}
    libs: dict[str, str | None] = {"this checkout": None}
    if args.lib:
        libs = dict(item.split("=", 1) for item in args.lib)
    before = _loadavg()
    results = {"cases": measure(cases, libs, args.rounds)}
    results["meta"] = {"rounds": args.rounds, "loadavg_before": before,
                       "loadavg_after": _loadavg(), "cpus": os.cpu_count()}
    print(render(results))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=1))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
