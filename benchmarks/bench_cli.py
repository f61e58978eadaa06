"""Start-up time of the ``c2m`` command line, side by side with the interpreter and an eager-import baseline.

Each command runs as a fresh process (as a user or a CI job runs it), ``--runs``
times in alternating rounds so load on the machine hits every row alike; the
table gives medians and the ratio to the interpreter's own start-up.

The baseline row imports what ``c2m`` used to import before it ran any command:
every command module, the Flask application's modules and one argon2 hash.

Command: ``python -m benchmarks.bench_cli [--runs 15]``.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.results import machine, stamp, write_section

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "checks" / "data" / "shop-v1.yaml"
DEMO = ROOT / "catalog" / "demo" / "city-bikes.yaml"
CLI = "from web.cli import main; main()"
EAGER = (
    "import web.commands.bom, web.commands.catalog, web.commands.configure, web.commands.db, "
    "web.commands.serve, web.commands.token, web.commands.user, web.commands.webhook, web.commands.worker; "
    "import web.accounts; web.accounts._dummy_hash()"
)

ROWS: list[tuple[str, list[str]]] = [
    ("python -c pass (interpreter floor)", [sys.executable, "-c", "pass"]),
    ("c2m --help", [sys.executable, "-c", CLI, "--help"]),
    (
        f"c2m catalog validate {SMALL.name} (1 product)",
        [sys.executable, "-c", CLI, "catalog", "validate", str(SMALL)],
    ),
    (
        f"c2m catalog validate {DEMO.name} (demo)",
        [sys.executable, "-c", CLI, "catalog", "validate", str(DEMO)],
    ),
    ("baseline: eager imports of the old c2m", [sys.executable, "-c", EAGER]),
]


PACKAGES = ("catalog", "configurator", "bom", "web")


def compile_bytecode() -> None:
    """Write the project's bytecode caches first, as ``pip install`` does.

    Otherwise, with ``PYTHONDONTWRITEBYTECODE`` set (common in containers and CI),
    every run would compile the project's sources again and the table would time the
    compiler instead of the command.
    """
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", *PACKAGES], cwd=ROOT, check=True, stdout=subprocess.DEVNULL
    )


def run(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="Print only; leave RESULTS.md alone.")
    args = parser.parse_args(argv)
    times: dict[str, list[float]] = {name: [] for name, _ in ROWS}
    cpu: dict[str, list[float]] = {name: [] for name, _ in ROWS}
    compile_bytecode()
    started = time.perf_counter()
    for _ in range(args.runs):
        for name, command in ROWS:
            wall, used = run(command)
            times[name].append(wall)
            cpu[name].append(used)
    floor = statistics.median(times[ROWS[0][0]])
    lines = [
        "| command | median s | min s | max s | × interpreter | median CPU s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, _ in ROWS:
        values = times[name]
        median = statistics.median(values)
        lines.append(
            f"| {name} | {median:.3f} | {min(values):.3f} | {max(values):.3f} | {median / floor:.1f} "
            f"| {statistics.median(cpu[name]):.3f} |"
        )
    body = "\n".join(
        [
            f"### {stamp()} — {args.runs} runs per row, alternating",
            "",
            f"Machine: {machine()} (shared with other work; load: {Path('/proc/loadavg').read_text().split()[0]}). "
            f"Command: `python -m benchmarks.bench_cli --runs {args.runs}` (took {time.perf_counter() - started:.0f} s).",
            "",
            *lines,
            "",
            "Bytecode caches are written before the runs (as after `pip install`). "
            "Target: `c2m --help` and `c2m catalog validate` on a demo catalog start in ≤ 0.3 s.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("cli", "Command line start-up", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
