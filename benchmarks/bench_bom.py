"""Benchmark BOM explosion and production orders.

    python -m benchmarks.bench_bom [--repeats N]

1. Explosion of a generated super BOM of about 10,000 lines over 5 levels
   (configurable modules receiving parameters, conditions and quantity
   formulas on most lines); target: median <= 50 ms.
2. Configuration -> production order (validate, explode, route, schedule,
   canonical JSON + SHA-256) for every demo product; target: median <= 100 ms.

Medians are over warm runs (formulas parsed and models compiled once per
catalog, as in a running server); the cold first run is shown too. The
verdict uses the median CPU time of this process: on a shared machine, wall
time also counts time spent waiting for other processes.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from bom import canonical_json, create_production_order, digest, explode
from catalog.files import content_hash, load_catalog_file
from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    Catalog,
    Choice,
    Label,
    Module,
    Operation,
    Part,
    Product,
    Rule,
)
from configurator import Configurator

DEMO = Path(__file__).resolve().parents[1] / "catalog" / "demo"

_FINISHES = ("raw", "oiled", "painted")


def _attributes() -> tuple[Attribute, ...]:
    return (
        Attribute(
            "width", AttributeKind.INT, Label("Width"), minimum=400, maximum=2400, step=100, default=800
        ),
        Attribute(
            "finish",
            AttributeKind.ENUM,
            Label("Finish"),
            choices=tuple(Choice(f, Label(f)) for f in _FINISHES),
            default="raw",
        ),
    )


def generate_catalog(*, fanout: int = 4, leaf_parts: int = 36, parts_per_module: int = 6) -> Catalog:
    """A product whose super BOM is a 5-level tree of configurable modules (10,060 lines with the defaults).

    Levels 1-3 are modules with ``fanout`` sub-module lines and ``parts_per_module``
    part lines; level 4 modules hold ``leaf_parts`` part lines. Every module receives
    ``width`` and ``finish`` from its parent; part lines alternate between
    unconditional, finish-dependent and width-dependent, with constant and formula
    quantities.
    """
    n_parts = 200
    parts = tuple(
        Part(f"P{i:04d}", Label(f"Part {i}"), cost=Decimal(i % 50 + 1) / 4, lead_time_days=i % 7)
        for i in range(n_parts)
    )
    modules: list[Module] = []
    counter = [0]

    def part_lines(count: int, start_pos: int, seed: int) -> list[BomLine]:
        lines = []
        for k in range(count):
            code = f"P{(seed * 31 + k * 7) % n_parts:04d}"
            pos = start_pos + 10 * k
            kind = k % 4
            if kind == 0:
                lines.append(BomLine(pos, code, "2", op=10))
            elif kind == 1:
                lines.append(BomLine(pos, code, "width / 400", when='finish == "painted"', op=10))
            elif kind == 2:
                lines.append(BomLine(pos, code, "1", when="width >= 1200", scrap_pct=Decimal("2.5")))
            else:
                lines.append(BomLine(pos, code, "ceil(width / 300) + 1", when='finish != "raw"'))
        return lines

    def module(level: int) -> str:
        counter[0] += 1
        code = f"M{level}-{counter[0]:04d}"
        lines: list[BomLine] = []
        if level < 4:
            for k in range(fanout):
                child = module(level + 1)
                lines.append(
                    BomLine(10 * (k + 1), child, "1", params=(("width", "width"), ("finish", "finish")))
                )
            lines += part_lines(parts_per_module, 10 * (fanout + 1), counter[0])
        else:
            lines += part_lines(leaf_parts, 10, counter[0])
        rules: tuple[Rule, ...] = ()
        if level == 1:
            rules = (
                Rule(
                    f"r-{code.lower()}",
                    Label("No painted narrow"),
                    text='finish == "painted" -> width >= 600',
                ),
            )
        modules.append(
            Module(
                code,
                Label(code),
                components=tuple(lines),
                operations=(
                    Operation(10, Label("Build"), f"WC{level}", setup_min="5", run_min="width / 200"),
                ),
                attributes=_attributes(),
                rules=rules,
            )
        )
        return code

    top = [module(1) for _ in range(fanout)]
    product = Product(
        "generated",
        Label("Generated"),
        Decimal(100),
        _attributes(),
        rules=(Rule("wide-painted", Label("Wide painted"), text='width > 2000 -> finish != "painted"'),),
        bom=tuple(
            BomLine(10 * (k + 1), code, "1", params=(("width", "width"), ("finish", "finish")), op=10)
            for k, code in enumerate(top)
        ),
        routing=(Operation(10, Label("Final assembly"), "FINAL", setup_min="15", run_min="30"),),
    )
    return Catalog("generated", Label("Generated"), "CNY", parts, tuple(modules), (product,))


def super_bom_lines(catalog: Catalog) -> int:
    return sum(len(m.components) for m in catalog.modules) + sum(len(p.bom) for p in catalog.products)


def _time(fn: Callable[[], Any], repeats: int) -> tuple[float, float, float]:
    """(cold wall ms, median wall ms, median CPU ms) of ``fn``."""
    started = time.perf_counter()
    fn()
    cold = (time.perf_counter() - started) * 1000
    wall, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        fn()
        cpu.append((time.process_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return cold, statistics.median(wall), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeats", type=int, default=15, help="warm runs per case (default 15)")
    args = parser.parse_args(argv)
    repeats = max(1, min(args.repeats, 200))
    rows: list[tuple[str, str, float, float, float, float]] = []

    catalog = generate_catalog()
    config = {"width": 1400, "finish": "painted"}
    cold, median, best = _time(lambda: explode(catalog, "generated", config), repeats)
    exploded = len(explode(catalog, "generated", config).items)
    rows.append(
        (
            "explode generated super BOM",
            f"{super_bom_lines(catalog)} lines -> {exploded}",
            cold,
            median,
            best,
            50.0,
        )
    )

    for file in sorted(DEMO.glob("*.yaml")):
        demo = load_catalog_file(file)
        catalog_hash = content_hash(demo)
        for product in demo.products:
            configuration = Configurator(product, catalog_key=catalog_hash).complete()

            def order(
                demo: Catalog = demo,
                code: str = product.code,
                conf: Any = configuration,
                key: str = catalog_hash,
            ) -> None:
                po = create_production_order(
                    demo,
                    "1",
                    key,
                    code,
                    conf,
                    quantity=1,
                    due_date=date(2025, 6, 30),
                    number="PO-BENCH",
                )
                canonical_json(po)
                digest(po.bom)

            cold, median, best = _time(order, repeats)
            rows.append(
                (f"production order {demo.code}/{product.code}", "end to end", cold, median, best, 100.0)
            )

    header = ("case", "size", "cold ms", "median wall ms", "median CPU ms", "target ms", "ok (CPU)")
    table = [header] + [
        (name, size, f"{c:.1f}", f"{m:.1f}", f"{b:.1f}", f"{t:.0f}", "yes" if b <= t else "NO")
        for name, size, c, m, b, t in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    from benchmarks.results import machine, stamp, write_section

    markdown = [f"- date: {stamp()}", f"- machine: {machine()}", "- command: `python -m benchmarks.bench_bom`", ""]
    markdown += ["| " + " | ".join(row) + " |" for row in table[:1]]
    markdown += ["|" + "---|" * len(header)]
    markdown += ["| " + " | ".join(row) + " |" for row in table[1:]]
    write_section("bom", "BOM explosion and production orders", "\n".join(markdown))
    return 0 if all(c <= t for _, _, _, _, c, t in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
