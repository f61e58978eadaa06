"""What compiling configurable modules into the product's model costs.

Run ``python -m benchmarks.bench_modules``. For each demo product (and the
desk of ``tests/modules/desk.yaml``, whose module rules restrict the product),
the same product is compiled twice in the same run: with the modules its BOM
reaches (the model the storefront uses) and without them (the baseline: the
product's own rules only). Each row gives the median over ``RUNS`` fresh
compiles (backend "auto", no cache) of the compile time and of a first
``state([])``, the ratio to the baseline, the model's size and the number of
valid configurations. It prints the table and writes it to
``benchmarks/RESULTS.md`` (section "modules").
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

from benchmarks.results import machine, stamp, write_section
from catalog.demo import demo_catalog_paths
from catalog.files import load_catalog_file
from catalog.snapshot import Product
from configurator import Configurator
from configurator.modules import module_uses
from configurator.rules import expression_checker

ROOT = Path(__file__).resolve().parents[1]
DESK = ROOT / "tests" / "modules" / "desk.yaml"
RUNS = 5


def _measure(product: Product, runs: int) -> tuple[float, float, int, int, int]:
    compiles, states = [], []
    count = variables = constraints = 0
    for _ in range(runs):
        started = time.perf_counter()
        conf = Configurator(product, catalog_key=f"bench-modules-{uuid.uuid4().hex}")
        compiles.append(time.perf_counter() - started)
        started = time.perf_counter()
        count = conf.state([]).count
        states.append(time.perf_counter() - started)
        variables, constraints = len(conf.model.variables), len(conf.model.constraints)
    return statistics.median(compiles), statistics.median(states), count, variables, constraints


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    paths = [*demo_catalog_paths(), DESK]
    rows = [
        "| product | module uses | with modules: compile / first state (ms) | baseline (ms) | ratio compile / state "
        "| variables / constraints (baseline) | configurations (baseline) |",
        "|---|---|---|---|---|---|---|",
    ]
    for path in paths:
        catalog = load_catalog_file(path, expression_checker=expression_checker)
        for product in catalog.products:
            uses = len(module_uses(product))
            c1, s1, n1, v1, k1 = _measure(product, args.runs)
            c0, s0, n0, v0, k0 = _measure(replace(product, modules=()), args.runs)
            rows.append(
                f"| {path.name}:{product.code} | {uses} | {c1 * 1000:.1f} / {s1 * 1000:.1f} | "
                f"{c0 * 1000:.1f} / {s0 * 1000:.1f} | {c1 / c0:.2f}x / {s1 / s0:.2f}x | "
                f"{v1} / {k1} ({v0} / {k0}) | {n1} ({n0}) |"
            )
    table = "\n".join(rows)
    print(table)
    elapsed = time.perf_counter() - started
    body = (
        f"- date: {stamp()}\n- machine: {machine()}\n"
        f"- command: `python -m benchmarks.bench_modules --runs {args.runs}` (took {elapsed:.0f} s)\n"
        "- note: the machine is shared; timings are wall-clock medians and vary with load.\n\n"
        f"{table}\n\nBaseline: the same product compiled without its modules (its own rules only), in the same run. "
        "Variables include the auxiliary guard variables (one per module use whose selection depends on the "
        "configuration). A lower configuration count with modules means configurations the order would refuse."
    )
    if not args.no_write:
        write_section("modules", "Configurable modules in the product model: compile and first state", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
