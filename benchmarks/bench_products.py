"""Product benchmark: the engine facade (the click) per model and backend, side by side.

``python -m benchmarks.bench_engine --products`` (or ``python -m benchmarks.bench_products``) prints one
table and writes it to ``benchmarks/RESULTS.md`` (section "engine-products"). Rows: demo bike, demo
wardrobe, Renault as a catalog product, E-Shop, Automotive01, Automotive02_V4 (corpus feature models,
skipped when ../shared/corpus is absent) and generated 1,000 / 10,000-attribute products; columns per
backend (decision diagram, d-DNNF, SAT):

- compile: building the ``Configurator`` (model and backend), wall seconds (its CPU seconds, d4's child
  included, are printed on stderr with each row: the machine is shared);
- propagate median / p99: ``backend.propagate`` under each query's decisions;
- click median / p99: ``Configurator.state(decisions)`` (everything a storefront shows: possible values,
  exact price deltas, defaults, price, count);
- count, cheapest (``complete(..., "cheapest")``), explain and repair of an impossible value (median ms);
- peak RSS of the child process (MB).

Queries are click sequences: from the empty configuration, each step picks a random attribute and a random
possible value (seeded), as a buyer would; every state along the way is one query. Each (model, backend)
runs in its own child process with a wall-clock limit; SAT runs only where it answers in seconds.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus"
CASES = ("bike", "wardrobe", "renault", "e-shop", "automotive01", "automotive02", "gen-1000", "gen-10000")
EXPLAIN_CASES = {"bike": 3, "wardrobe": 3, "e-shop": 3, "gen-1000": 1}
"""Cases whose explain/repair are timed, and how many times: explain's minimal rule set (QuickXplain over
the rules, a SAT check per subset) takes about a minute on gen-1000 and longer on Renault's 113 tables and
the largest models."""
BACKENDS = ("mdd", "ddnnf", "sat")
SAT_CASES = ("bike",)
"""Cases on which SAT answers a click in seconds (its propagation is a sequence of SAT calls, and its
click prices each value with one weighted solve); it gets ``SAT_QUERIES`` queries."""
SAT_QUERIES = 4
COMPILE_BUDGET_S = 150.0
"""Time budget of each compiler (d4 needs about a minute of a loaded core on Automotive02_V4)."""
FEATURE_MODELS = {
    "e-shop": "featureide/E-Shop.xml",
    "automotive01": "featureide/Automotive01.xml",
    "automotive02": "featureide/Automotive02_V4.xml",
}


def load_case(case: str) -> Any:
    """The catalog product of a case."""
    if case in ("bike", "wardrobe"):
        from catalog.files import load_catalog_file
        from configurator.rules import expression_checker

        name = "city-bikes.yaml" if case == "bike" else "wardrobes.yaml"
        return load_catalog_file(ROOT / "catalog" / "demo" / name, expression_checker=expression_checker).products[0]
    if case == "renault":
        from benchmarks.renault import renault_product

        return renault_product()
    if case in FEATURE_MODELS:
        from catalog.featuremodels import convert_feature_model

        return convert_feature_model(CORPUS / FEATURE_MODELS[case]).catalog.products[0]
    from benchmarks.generate import generate_product

    return generate_product(int(case.split("-", 1)[1]), seed=0)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t) * 1000, out


def _p(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_child(case: str, backend: str, queries: int, steps: int) -> dict[str, Any]:
    import logging

    logging.disable(logging.WARNING)
    from catalog.snapshot import AttributeKind
    from configurator import Configurator, Decision, SetElement

    product = load_case(case)
    cpu = _cpu_s()
    t = time.perf_counter()
    conf = Configurator(product, backend=backend, catalog_key=f"bench-products:{case}", time_budget_s=COMPILE_BUDGET_S)
    compile_s = time.perf_counter() - t
    compile_cpu_s = _cpu_s() - cpu
    rng = random.Random(42)
    prop: list[float] = []
    click: list[float] = []
    counts: list[float] = []
    cheap: list[float] = []
    expl: list[float] = []
    rep: list[float] = []
    deadline = time.monotonic() + 120
    while len(click) < queries and time.monotonic() < deadline:
        decisions: list[Any] = []
        for _ in range(steps):
            restrict = conf._restrict(conf.check(decisions))
            ms, _ = _timed(lambda r=restrict: conf.backend.propagate(r))
            prop.append(ms)
            ms, state = _timed(lambda d=tuple(decisions): conf.state(d))
            click.append(ms)
            if len(counts) < 5:
                counts.append(_timed(lambda d=tuple(decisions): conf.count(d))[0])
            if len(cheap) < 3:
                cheap.append(_timed(lambda d=tuple(decisions): conf.complete(d, "cheapest"))[0])
            blocked = [(a, v) for a in state.attributes for v in a.values if not v.possible]
            if blocked and len(expl) < EXPLAIN_CASES.get(case, 0):
                a, v = rng.choice(blocked)
                value = v.value
                expl.append(_timed(lambda a=a, value=value, d=tuple(decisions): conf.explain(d, a.code, value))[0])
                try:
                    rep.append(_timed(lambda a=a, value=value, d=tuple(decisions): conf.repair(d, a.code, value))[0])
                except Exception:  # noqa: BLE001 - a value the rules alone exclude has no repair
                    pass
            open_attrs = [a for a in state.attributes if any(v.possible and not v.selected for v in a.values)]
            if not open_attrs or len(click) >= queries:
                break
            a = rng.choice(open_attrs)
            v = rng.choice([v for v in a.values if v.possible and not v.selected])
            decisions.append(SetElement(a.code, str(v.value), True) if a.kind is AttributeKind.SET
                             else Decision(a.code, v.value))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def med(xs: list[float]) -> float | None:
        return statistics.median(xs) if xs else None

    return {
        "case": case, "backend": conf.backend.name, "asked": backend, "compile_s": compile_s,
        "compile_cpu_s": compile_cpu_s,
        "variables": len(conf.model.variables), "n": len(click),
        "prop_med": med(prop), "prop_p99": _p(prop, 0.99) if prop else None,
        "click_med": med(click), "click_p99": _p(click, 0.99) if click else None,
        "count": med(counts), "cheapest": med(cheap), "explain": med(expl), "repair": med(rep), "peak_mb": peak,
    }


def _cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children (d4 compiles in a child)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _spawn(case: str, backend: str, queries: int, steps: int, limit: float) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_products", "--child", case, backend,
           "--queries", str(queries), "--steps", str(steps)]
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return {"case": case, "asked": backend, "error": f"killed after {limit:.0f} s"}
    try:
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    except (json.JSONDecodeError, IndexError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"case": case, "asked": backend, "error": f"failed: {tail}"[:160]}


def _ms(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.2f}" if x < 10 else f"{x:.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    head = ["model", "backend", "compile (s)", "propagate median / p99 (ms)", "click median / p99 (ms)",
            "count (ms)", "cheapest (ms)", "explain (ms)", "repair (ms)", "peak RSS (MB)"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['case']} | {r['asked']} | {r['error']} |" + " |" * (len(head) - 3))
            continue
        used = r["backend"] if r["backend"] == r["asked"] else f"{r['asked']} → {r['backend']}"
        out.append("| " + " | ".join([
            f"{r['case']} ({r['variables']} vars)", used, f"{r['compile_s']:.2f}",
            f"{_ms(r['prop_med'])} / {_ms(r['prop_p99'])}", f"{_ms(r['click_med'])} / {_ms(r['click_p99'])} (n={r['n']})",
            _ms(r["count"]), _ms(r["cheapest"]), _ms(r["explain"]), _ms(r["repair"]), f"{r['peak_mb']:.0f}",
        ]) + " |")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--child", nargs=2, metavar=("CASE", "BACKEND"), help=argparse.SUPPRESS)
    ap.add_argument("--queries", type=int, default=30)
    ap.add_argument("--steps", type=int, default=6, help="clicks per sequence")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--backends", default=",".join(BACKENDS))
    ap.add_argument("--limit-s", type=float, default=400.0, help="wall-clock limit per child")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child[0], args.child[1], args.queries, args.steps)))
        return 0
    started = time.monotonic()
    rows: list[dict[str, Any]] = []
    for case in args.cases.split(","):
        if case in FEATURE_MODELS and not CORPUS.is_dir():
            rows.append({"case": case, "asked": "all", "error": "skipped: ../shared/corpus is absent"})
            continue
        for backend in args.backends.split(","):
            if backend == "sat" and case not in SAT_CASES:
                rows.append({"case": case, "asked": "sat", "error": "not run: the SAT click (one weighted solve per value) takes minutes here"})
                continue
            n = min(args.queries, SAT_QUERIES) if backend == "sat" else args.queries
            rows.append(_spawn(case, backend, n, args.steps, args.limit_s))
            row = rows[-1]
            compiled = (f"; compile {row['compile_s']:.1f} s wall, {row['compile_cpu_s']:.1f} s CPU ({row['backend']})"
                        if "compile_cpu_s" in row else "")
            print(f"  {case} / {backend}: done at {time.monotonic() - started:.0f} s{compiled}", file=sys.stderr)
    text = table(rows)
    print(text)
    if not args.no_write:
        from benchmarks.results import machine, stamp, write_section

        command = "python -m benchmarks.bench_engine --products"
        body = (f"- date: {stamp()}\n- machine: {machine()}\n- command: `{command}` "
                f"(took {time.monotonic() - started:.0f} s)\n"
                "- note: the machine is shared (2 cores, other jobs running); wall-clock medians.\n\n" + text + "\n\n"
                + (__doc__ or "").split("\n\n", 1)[1])
        write_section("engine-products", "Engine per product: compile, propagate, click, count, cheapest, "
                      "explain, repair", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
