"""Engine benchmark: compile and query times of every backend on Renault and generated products.

Run ``python -m benchmarks.bench_engine`` (full, under 10 minutes) or with
``--quick`` (under a minute). ``--products`` runs the per-product table instead
(the click through the engine facade, every backend side by side: see
``benchmarks/bench_products.py``). It prints one table and writes it, with the
date, the machine and the command, to ``benchmarks/RESULTS.md``.

How it measures:

- Queries are random partial configurations drawn from valid solutions
  (uniform samples of the compiled diagram, or SAT solutions with random
  weights when the diagram does not compile): a random number of variables
  fixed to a solution's values, so every query is consistent. Every backend
  gets the same queries.
- Each (model, backend) pair runs in a child process, so compile time, query
  times and peak memory (``ru_maxrss`` of that child: interpreter, model,
  compiled structure and solver) belong to it alone, and a runaway backend is
  killed at its time limit.
- The reference backend (python-constraint2) gets a per-query timeout and
  only the first few queries; "timeout" means every one of them timed out.
  The speed ratio compares medians on the queries both answered.
- explain/repair go through ``configurator.engine.Configurator`` with the
  backend injected (generated products only: Renault is a bare model, not a
  catalog product), and only up to ``ENGINE_MAX_VARS`` solver variables:
  explain's rule-subset checks take minutes per query on gen-10000.
- Large cases (``LARGE_VARS`` and up, i.e. gen-10000) get ``LARGE_QUERIES``
  queries instead of the full count, so their children finish within the
  per-child limit.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from benchmarks.generate import generate_product
from benchmarks.renault import RENAULT_PATH, load_renault
from catalog.snapshot import AttributeKind, Product, Value
from configurator.model import Model

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
BACKENDS = ("mdd", "sat", "reference")
ENGINE_MAX_VARS = 5_000
"""explain/repair are timed only on models up to this many solver variables."""
LARGE_CASE_SIZE = 10_000
"""Generated cases with at least this many attributes get ``LARGE_QUERIES`` queries."""
LARGE_QUERIES = 50


# --------------------------------------------------------------------------- cases


def load_case(case: str) -> tuple[Model, Product | None]:
    """The model of a case ("renault" or "gen-<n>") and, for generated ones, the product."""
    if case == "renault":
        return load_renault(RENAULT_PATH), None
    from configurator.build import build_model

    n = int(case.split("-", 1)[1])
    product = generate_product(n, seed=0)
    return build_model(product, key=f"bench:{product.code}"), product


def _sample_mdd(backend: Any, rng: random.Random) -> dict[str, Value]:
    """A uniformly random solution: walk the diagram choosing edges in proportion to path counts."""
    d = backend._d
    u, out = 0, {}
    for i in range(d.n):
        below = d.below[i + 1]
        weights = [below[x] for x in d.dsts[i][u]]
        pick = rng.randrange(sum(weights))
        e = 0
        while pick >= weights[e]:
            pick -= weights[e]
            e += 1
        out[d.model.variables[d.order[i]].name] = d.domains[i][d.vals[i][u][e]]
        u = d.dsts[i][u][e]
    return out


def make_queries(case: str, n: int, seed: int) -> dict[str, Any]:
    """Restrictions (solver level) and decisions (attribute level) shared by every backend."""
    from configurator.backends.base import CompileBudgetExceeded
    from configurator.backends.mdd import MddBackend
    from configurator.backends.sat import SatBackend

    model, product = load_case(case)
    rng = random.Random(seed)
    sampler: Callable[[], dict[str, Value]]
    try:
        mdd = MddBackend(model)
        sampler = lambda: _sample_mdd(mdd, rng)  # noqa: E731
    except CompileBudgetExceeded:
        sat = SatBackend(model)

        def sampler() -> dict[str, Value]:
            w = {v.name: {x: Fraction(rng.randint(0, 9)) for x in v.domain} for v in model.variables}
            s = sat.solve({}, w)
            assert s is not None
            return s

    names = [v.name for v in model.variables]
    queries, decisions = [], []
    for _ in range(n):
        sol = sampler()
        k = rng.randint(1, max(1, min(20, len(names) // 2)))
        queries.append({v: [sol[v]] for v in rng.sample(names, k)})
        if product is not None:
            decisions.append(_decisions(product, sol, rng))
    weights = {v.name: {json.dumps(x): rng.randint(0, 20) for x in v.domain} for v in model.variables}
    return {"case": case, "queries": queries, "decisions": decisions, "weights": weights}


def _decisions(product: Product, sol: dict[str, Value], rng: random.Random) -> list[list[Any]]:
    from configurator.model import element_var

    attrs = rng.sample(list(product.attributes), min(len(product.attributes), rng.randint(2, 8)))
    out: list[list[Any]] = []
    for a in attrs:
        if a.kind is AttributeKind.SET:
            out.append([a.code, sorted(c.code for c in a.choices if sol[element_var(a.code, c.code)])])
        else:
            out.append([a.code, sol[a.code]])
    return out


# --------------------------------------------------------------------------- one child run


def _median_ms(xs: Sequence[float]) -> float | None:
    return statistics.median(xs) * 1e3 if xs else None


def _p99_ms(xs: Sequence[float]) -> float | None:
    if not xs:
        return None
    s = sorted(xs)
    return s[min(len(s) - 1, round(0.99 * (len(s) - 1)))] * 1e3


def _timed(fn: Callable[[], object], timeouts: list[int]) -> float | None:
    """Seconds ``fn`` took, or ``None`` on a backend timeout (counted; after 3, calls are skipped)."""
    from configurator.backends.base import BackendTimeout

    if timeouts[0] >= 3:
        return None
    t = time.perf_counter()
    try:
        fn()
    except BackendTimeout:
        timeouts[0] += 1
        return None
    return time.perf_counter() - t


def run_child(
    case: str, backend_name: str, spec_path: str, ref_timeout: float, ref_queries: int
) -> dict[str, Any]:
    from configurator.backends.select import make_backend

    spec = json.loads(Path(spec_path).read_text())
    model, product = load_case(case)
    out: dict[str, Any] = {"case": case, "backend": backend_name, "variables": len(model.variables)}
    out["constraints"] = len(model.constraints)
    t = time.perf_counter()
    try:
        be = make_backend(
            model, prefer=backend_name, time_budget_s=ref_timeout if backend_name == "reference" else None
        )
    except Exception as exc:  # report any backend failure as a table cell, not a crash
        out["error"] = f"{type(exc).__name__}: {exc}"[:160]
        return out
    out["compile_s"] = time.perf_counter() - t
    stats = getattr(be, "stats", None)
    if stats is not None:
        out["mdd_nodes"], out["mdd_edges"] = stats.mdd_nodes, stats.mdd_edges
    limit = ref_queries if backend_name == "reference" else len(spec["queries"])
    restricts = [{k: frozenset(v) for k, v in q.items()} for q in spec["queries"][:limit]]
    timeouts = [0]
    try:
        prop = [_timed(lambda r=r: be.propagate(r), timeouts) for r in restricts]
        out["propagate"] = prop
        small = restricts[: max(1, min(20, len(restricts)))]
        out["count_ms"] = _median_ms(
            [x for x in (_timed(lambda r=r: be.count(r), timeouts) for r in small) if x]
        )
        few = restricts[: max(1, min(10, len(restricts)))]
        weights = {
            n: {json.loads(k): Fraction(w) for k, w in per.items()} for n, per in spec["weights"].items()
        }
        out["complete_ms"] = _median_ms(
            [x for x in (_timed(lambda r=r: be.solve(r), timeouts) for r in few) if x]
        )
        out["cheapest_ms"] = _median_ms(
            [x for x in (_timed(lambda r=r: be.solve(r, weights), timeouts) for r in few) if x]
        )
        if product is not None and spec["decisions"] and len(model.variables) <= ENGINE_MAX_VARS:
            out.update(_engine_times(product, be, spec["decisions"][: len(few)], timeouts))
    except Exception as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"[:160]
    out["timeouts"] = timeouts[0]  # after 3 timeouts a backend's remaining queries are skipped
    out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def _engine_times(
    product: Product, be: Any, decision_lists: list[list[list[Any]]], timeouts: list[int]
) -> dict[str, Any]:
    try:
        from configurator.decisions import Decision
        from configurator.engine import Configurator
    except ImportError:
        return {}
    eng = Configurator(product, solver=be)
    rng = random.Random(5)
    explain, repair = [], []
    for dl in decision_lists:
        ds = [Decision(a, frozenset(v) if isinstance(v, list) else v) for a, v in dl]
        decided = {a for a, _ in dl}
        free = [a for a in product.attributes if a.code not in decided and a.kind is not AttributeKind.SET]
        if not free:
            continue
        target = rng.choice(free)
        value = rng.choice(target.domain())
        x = _timed(lambda ds=ds, t=target, v=value: eng.explain(ds, t.code, v), timeouts)
        if x is not None:
            explain.append(x)

        def do_repair(ds: list[Decision] = ds, t: Any = target, v: Value = value) -> None:
            from configurator.engine import ValueImpossible

            try:
                eng.repair(ds, t.code, v)
            except ValueImpossible:
                pass

        x = _timed(do_repair, timeouts)
        if x is not None:
            repair.append(x)
    return {"explain_ms": _median_ms(explain), "repair_ms": _median_ms(repair)}


# --------------------------------------------------------------------------- parent: table


def _fmt(x: float | None, unit: str = "") -> str:
    if x is None:
        return "–"
    if x >= 100:
        return f"{x:.0f}{unit}"
    if x >= 10:
        return f"{x:.1f}{unit}"
    return f"{x:.2f}{unit}"


def _row(r: dict[str, Any], ref: dict[str, Any] | None, ref_timeout: float, engine: bool) -> list[str]:
    name = f"{r['case']} ({r.get('variables', '?')} vars)"
    if "error" in r and "compile_s" not in r:
        return [name, r["backend"], r["error"], *["–"] * (7 if engine else 5)]
    prop = r.get("propagate", [])
    done = [x for x in prop if x is not None]
    if prop and not done:
        med, p99 = "timeout", "timeout"
    else:
        med, p99 = _fmt(_median_ms(done)), _fmt(_p99_ms(done))
    ratio = "–"
    if ref is not None and r["backend"] != "reference" and done:
        ref_prop = ref.get("propagate", [])
        pairs = [(a, b) for a, b in zip(ref_prop, prop, strict=False) if a is not None and b is not None]
        if pairs:
            ratio = f"{statistics.median(a for a, _ in pairs) / statistics.median(b for _, b in pairs):.0f}x"
        elif ref_prop:
            ratio = f"> {ref_timeout / statistics.median(done):.0f}x"
    size = f" [{r['mdd_nodes']} nodes]" if "mdd_nodes" in r else ""
    cells = [
        name,
        r["backend"] + size,
        _fmt(r.get("compile_s"), " s"),
        f"{med} / {p99}" + (f" (n={len(done)})" if len(done) != len(prop) or len(prop) <= 50 else ""),
        _fmt(r.get("count_ms")),
        _fmt(r.get("complete_ms")) + " / " + _fmt(r.get("cheapest_ms")),
    ]
    if engine:
        cells += [_fmt(r.get("explain_ms")), _fmt(r.get("repair_ms"))]
    cells += [f"{r.get('peak_mb', 0):.0f}", ratio + (f"; {r['error']}" if "error" in r else "")]
    return cells


def _machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = "?"
    try:
        kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
        ram = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} CPUs (nproc), {cpu}, {ram} RAM, Python {platform.python_version()}"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if "--products" in args_list:
        # The per-product table (the click through the engine facade): benchmarks/bench_products.py.
        from benchmarks import bench_products

        return bench_products.main([a for a in args_list if a != "--products"])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="small sizes and fewer queries (< 1 minute)")
    ap.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    ap.add_argument("--child", nargs=3, metavar=("CASE", "BACKEND", "SPEC"), help=argparse.SUPPRESS)
    ap.add_argument("--ref-timeout", type=float, default=None)
    ap.add_argument("--ref-queries", type=int, default=None)
    args = ap.parse_args(argv)
    quick = args.quick
    ref_timeout = args.ref_timeout or (0.5 if quick else 2.0)
    ref_queries = args.ref_queries or (5 if quick else 10)
    if args.child:
        case, backend, spec = args.child
        print(json.dumps(run_child(case, backend, spec, ref_timeout, ref_queries)))
        return 0
    cases = ["gen-10", "gen-100", "gen-1000"] if quick else ["gen-10", "gen-100", "gen-1000", "gen-10000"]
    if RENAULT_PATH.is_file():
        cases.insert(0, "renault")
    n_queries = 60 if quick else 200
    budget = 55.0 if quick else 570.0
    child_limit = 25.0 if quick else 100.0
    started = time.monotonic()
    try:
        import configurator.engine  # noqa: F401

        engine = True
    except ImportError:
        engine = False
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            if time.monotonic() - started > budget:
                rows.append({"case": case, "backend": "all", "error": "skipped: benchmark time budget spent"})
                continue
            spec_path = Path(tmp) / f"{case}.json"
            spec_path.write_text(json.dumps(make_queries(case, _queries_for(case, n_queries), seed=42)))
            for backend in BACKENDS:
                left = budget - (time.monotonic() - started)
                if left < 3:
                    rows.append(
                        {"case": case, "backend": backend, "error": "skipped: benchmark time budget spent"}
                    )
                    continue
                rows.append(
                    _spawn(case, backend, spec_path, min(child_limit, left), ref_timeout, ref_queries)
                )
                print(f"  {case} / {backend}: done at {time.monotonic() - started:.0f} s", file=sys.stderr)
    text = _table(rows, ref_timeout, engine, quick, n_queries)
    print(text)
    if not args.no_write:
        _write(text, quick, time.monotonic() - started)
    return 0


def _queries_for(case: str, n_queries: int) -> int:
    """Queries for one case: fewer for the largest generated products (see the module docstring).

    >>> _queries_for("gen-10000", 200), _queries_for("gen-1000", 200), _queries_for("renault", 200)
    (50, 200, 200)
    """
    if case.startswith("gen-") and int(case.split("-", 1)[1]) >= LARGE_CASE_SIZE:
        return min(n_queries, LARGE_QUERIES)
    return n_queries


def _spawn(
    case: str, backend: str, spec: Path, limit: float, ref_timeout: float, ref_queries: int
) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.bench_engine", "--child", case, backend, str(spec)]
    cmd += ["--ref-timeout", str(ref_timeout), "--ref-queries", str(ref_queries)]
    try:
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=limit, check=False)
    except subprocess.TimeoutExpired:
        return {"case": case, "backend": backend, "error": f"killed after {limit:.0f} s"}
    try:
        return dict(json.loads(done.stdout.strip().splitlines()[-1]))
    except (json.JSONDecodeError, IndexError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"case": case, "backend": backend, "error": f"crashed: {tail}"[:160]}


def _table(rows: list[dict[str, Any]], ref_timeout: float, engine: bool, quick: bool, n_queries: int) -> str:
    head = [
        "model",
        "backend",
        "compile",
        "propagate median / p99 (ms)",
        "count (ms)",
        "complete / cheapest (ms)",
    ]
    if engine:
        head += ["explain (ms)", "repair (ms)"]
    head += ["peak RSS (MB)", "propagate speed vs reference"]
    refs = {r["case"]: r for r in rows if r.get("backend") == "reference" and "propagate" in r}
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(_row(r, refs.get(r["case"]), ref_timeout, engine)) + " |")
    notes = [
        "",
        f"Queries: {n_queries} random partial configurations per model (1-20 variables fixed to the values of a "
        f"uniformly sampled valid solution); count over 20 of them, complete/cheapest over 10. The reference "
        f"backend runs only its first queries with a {ref_timeout:g} s timeout each. Medians are per query. "
        f"Cases of {LARGE_CASE_SIZE} or more generated attributes get {LARGE_QUERIES} queries (n= in the cell); "
        f"explain/repair are timed only up to {ENGINE_MAX_VARS} solver variables.",
    ]
    if not engine:
        notes.append(
            "explain/repair: `configurator.engine` is not importable here, so those columns are left out."
        )
    return "\n".join(lines + notes)


def _write(table: str, quick: bool, seconds: float) -> None:
    command = "python -m benchmarks.bench_engine" + (" --quick" if quick else "")
    from benchmarks.results import write_section

    body = (
        f"- date: {dt.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}\n"
        f"- machine: {_machine()}\n"
        f"- command: `{command}` (took {seconds:.0f} s)\n"
        "- note: the machine is shared; timings are wall-clock and vary with load.\n\n" + table + "\n"
    )
    write_section("engine", "Engine: compile, propagate, count, complete, explain, repair", body)


if __name__ == "__main__":
    sys.exit(main())
