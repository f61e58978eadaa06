"""Cheapest completion of the demo products, this code against a baseline revision, side by side.

``python -m benchmarks.bench_cheapest [--baseline REV] [--limit-s 300] [--no-write]`` times
``Configurator.complete((), "cheapest")`` (CPU seconds, one cold run per fresh process, after the first
``state``) per demo product and backend, and prints the total found. The baseline is ``git archive REV``
unpacked in a temporary directory and run by the same interpreter; a run over ``--limit-s`` shows as
``> limit``. Writes section "cheapest" of ``benchmarks/RESULTS.md`` unless ``--no-write``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.results import machine, stamp, write_section

ROOT = Path(__file__).resolve().parents[1]
CASES = (
    ("catalog/demo/wardrobes.yaml", "pax-system"),
    ("catalog/demo/wardrobes.yaml", "modular-wardrobe"),
    ("catalog/demo/city-bikes.yaml", "city-ebike"),
)
BACKENDS = ("auto", "ddnnf")

CHILD = """
import sys, time
from catalog.files.load import load_catalog_file
from configurator.engine import Configurator
from configurator.pricing import price
path, code, backend = sys.argv[1:4]
product = next(p for p in load_catalog_file(path).products if p.code == code)
conf = Configurator(product, backend=backend)
conf.state(())
start = time.process_time()
got = conf.complete((), "cheapest")
print(time.process_time() - start, price(product, got).total)
"""


def run(tree: Path, path: str, code: str, backend: str, limit_s: float) -> tuple[str, str]:
    """(CPU seconds, total) of one cold cheapest completion in a fresh process on the code in ``tree``."""
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(tree / path), code, backend],
            cwd=tree, env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
            capture_output=True, text=True, timeout=limit_s, check=True,
        ).stdout.split()
    except subprocess.TimeoutExpired:
        return f"> {limit_s:.0f}", "—"
    except subprocess.CalledProcessError as exc:
        return "error", exc.stderr.strip().splitlines()[-1][:60]
    return f"{float(out[0]):.3f}", out[1]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="main", help="git revision to compare with (default: main)")
    parser.add_argument("--limit-s", type=float, default=300.0, help="wall seconds per run before giving up")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        archive = subprocess.run(["git", "archive", args.baseline], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive, check=True)
        for path, code in CASES:
            for backend in BACKENDS:
                before, before_total = run(base, path, code, backend, args.limit_s)
                after, after_total = run(ROOT, path, code, backend, args.limit_s)
                try:
                    ratio = f"{float(before) / float(after):.1f}x"
                except ValueError:
                    ratio = "—"
                rows.append(f"| {code} | {backend} | {before} | {after} | {ratio} | {before_total} | {after_total} |")
    table = "\n".join([
        f"| product | backend | baseline {args.baseline} CPU (s) | this code CPU (s) | speed-up | baseline total "
        "| this code total |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])
    body = (f"- date: {stamp()}\n- machine: {machine()}\n- command: `python -m benchmarks.bench_cheapest "
            f"--baseline {args.baseline} --limit-s {args.limit_s:.0f}`\n"
            "- one cold `complete((), \"cheapest\")` per fresh process, CPU seconds (`time.process_time`)\n\n"
            + table)
    print(table)
    if not args.no_write:
        write_section("cheapest", "Cheapest completion of the demo products", body)


if __name__ == "__main__":
    main()
