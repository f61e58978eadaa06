"""Feature-model benchmark: import, compile, count and propagate every corpus model.

One command, bounded time (each model runs in its own process with a wall-clock limit):

    .venv/bin/python -m benchmarks.bench_featuremodels [--limit-s 240] [--no-write]

Prints a Markdown table (features, constraints, parse s, compile s / backend,
count or "—", unrestricted propagate ms, propagate median ms, peak MB) and
writes it to benchmarks/RESULTS.md under "Feature models" (``--no-write``:
print only). Propagation is measured on the backend directly (no price, no
count): once with no restriction (core and dead features), then queries each
fixing 1-5 features of a valid configuration (20 on the decision diagram,
with a fresh configuration each; 5 on the SAT fallback, whose queries take
seconds on the largest models, all from one configuration). Counting is exact on the decision diagram and
on the d-DNNF; the SAT fallback's model counter is not run. A model that does not
finish within ``--limit-s`` gets a "killed" row.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / ".." / "shared" / "corpus"
MODELS = [
    "flamapy/Pizzas.uvl", "flamapy/MobilePhone.uvl", "flamapy/Truck.uvl", "flamapy/JHipster.uvl",
    "featureide/Car.xml", "featureide/SortingLine.xml", "featureide/PPU.xml", "featureide/BerkeleyDB.xml",
    "featureide/UVLAttributedSandwich.uvl", "featureide/UVLSparseAttributesSandwich.uvl",
    "uvl_parser/Sundermann2024_Pizza.uvl", "uvl_parser/Horcas2026_Pizza.uvl", "uvl_parser/bike.uvl",
    "splot/smartwatch.sxfm", "splot/bamboobike_splot.sxfm", "splot/REAL-FM-16.splx", "splot/REAL-FM-11.splx",
    "splot/DELL.splx", "splot/printers.sxfm",
    "featureide/E-Shop.xml", "featureide/Automotive01.xml", "featureide/Automotive02_V4.xml",
]


def measure(rel: str) -> dict[str, object]:
    import logging

    logging.disable(logging.WARNING)
    from catalog.featuremodels import convert_feature_model
    from configurator.backends.select import make_backend
    from configurator.build import build_model

    t0 = time.perf_counter()
    conv = convert_feature_model(CORPUS / rel)
    parse_s = time.perf_counter() - t0
    product = conv.catalog.products[0]
    t0 = time.perf_counter()
    model = build_model(product, key=f"bench:{rel}")
    backend = make_backend(model, time_budget_s=60)
    compile_s = time.perf_counter() - t0
    count: str = "—"
    count_ms: float | None = None
    if backend.name in ("mdd", "ddnnf"):
        t0 = time.perf_counter()
        count = f"{backend.count({}):,}"
        count_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    backend.propagate({})
    unrestricted_ms = (time.perf_counter() - t0) * 1000
    rng = random.Random(7)
    codes = list(conv.order)
    solution = backend.solve({})
    times = []
    compiled = backend.name in ("mdd", "ddnnf")
    for _ in range(20 if compiled else 5):
        assert solution is not None
        fixed = rng.sample(codes, k=min(len(codes), rng.randint(1, 5)))
        restrict = {c: frozenset({solution[c]}) for c in fixed}
        t0 = time.perf_counter()
        backend.propagate(restrict)
        times.append((time.perf_counter() - t0) * 1000)
        if compiled:
            # A fresh configuration per query (the SAT fallback's lexicographic solve takes seconds
            # on the largest models, so it reuses the one configuration it found).
            solution = backend.solve({c: frozenset({not solution[c]}) for c in rng.sample(codes, k=1)}) or solution
    return {
        "model": rel,
        "features": len(conv.order),
        "constraints": sum(1 for r in product.rules if r.id.startswith("ctc-")) + len(conv.skipped),
        "skipped": len(conv.skipped),
        "parse_s": parse_s,
        "compile_s": compile_s,
        "backend": backend.name,
        "count": count,
        "unrestricted_ms": unrestricted_ms,
        "propagate_ms": statistics.median(times),
        "count_ms": count_ms,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--limit-s", type=float, default=240.0, help="wall-clock limit per model")
    ap.add_argument("--no-write", action="store_true", help="print only; leave benchmarks/RESULTS.md alone")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    if not CORPUS.is_dir():
        sys.exit(f"../shared/corpus not present at {CORPUS}")
    rows = [
        "| model | features | CTCs (not enforced) | parse s | compile s / backend | count | propagate {} ms "
        "| propagate median ms | count ms | peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    started = time.perf_counter()
    for rel in MODELS:
        try:
            out = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_featuremodels", "--one", rel],
                cwd=ROOT, capture_output=True, text=True, timeout=args.limit_s, check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            row = (f"| {rel} | {r['features']} | {r['constraints']} ({r['skipped']}) | {r['parse_s']:.2f} | "
                   f"{r['compile_s']:.2f} / {r['backend']} | {r['count']} | {r['unrestricted_ms']:.2f} | "
                   f"{r['propagate_ms']:.2f} | {'—' if r['count_ms'] is None else format(r['count_ms'], '.1f')} | "
                   f"{r['peak_mb']:.0f} |")
        except subprocess.TimeoutExpired:
            row = f"| {rel} | ? | ? | – | killed after {args.limit_s:.0f} s | — | – | – | – | – |"
        except subprocess.CalledProcessError as exc:
            row = f"| {rel} | ? | ? | – | failed: {exc.stderr.strip().splitlines()[-1][:120]} | — | – | – | – | – |"
        rows.append(row)
        print(row, flush=True)
    total = time.perf_counter() - started
    head = (f"### {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC — "
            f"`python -m benchmarks.bench_featuremodels` ({total:.0f} s, {os.cpu_count()} CPUs, shared machine)\n\n")
    note = ("\nCTCs: cross-tree constraints of the file (in parentheses: how many are not enforced, see "
            "docs/feature-models.md). Compile: build_model + backend (\"auto\": decision diagram, then the d-DNNF "
            "compiled by d4, then SAT, each when the previous exceeds its budget; the time includes the failed "
            "attempts). Count: exact, on the decision diagram or the d-DNNF (not on SAT). Propagate {}: no restriction (core/dead features). Propagate median: 20 queries (SAT: 5) "
            "fixing 1-5 features, on the backend. Peak MB: the model's own process (max RSS).\n")
    if not args.no_write:
        from benchmarks.results import write_section

        write_section("featuremodels", "Feature models", head + "\n".join(rows) + "\n" + note)


if __name__ == "__main__":
    main()
