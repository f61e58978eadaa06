"""Publishing the demo catalogs: wall and CPU time of ``c2m catalog import --publish``, and how many
times each product's model is compiled, against a baseline tree (side by side, rounds alternating).

    .venv/bin/python -m benchmarks.bench_publish --baseline /path/to/main [--rounds 3] [--no-write]

Each run is a new process on a fresh SQLite database (migrated by that tree's ``c2m db upgrade``),
without a job engine, so publishing compiles what it compiles in the process: the compile guard
(a child process, its CPU time included) and then compile-on-publish (``prepare_version``).
Compiles per publish: the guard's (every product in a tree whose guard keeps nothing; the products
it lists as "compiled and stored" in one that keeps its artifacts) plus the models
``prepare_version`` reports ``ready`` (compiled again) rather than ``stored``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.results import machine, stamp, write_section

REPO = Path(__file__).resolve().parents[1]
CATALOGS = ("city-bikes.yaml", "wardrobes.yaml")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("C2M_BROKER_URL", "C2M_REDIS_URL", "C2M_DATABASE_URL")}
    env["PYTHONPATH"] = ""
    return env


def _cli(tree: Path, args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", *args],
        cwd=tree, env=_env(), capture_output=True, text=True, timeout=1800,
    )


def _compiles(stdout: str, keeps_artifacts: bool) -> int:
    published = re.search(r"published \S+ version \d+, (\d+) products", stdout)
    assert published, stdout
    guard = re.search(r"models compiled and stored while checking: (.*)", stdout)
    if keeps_artifacts:
        by_guard = len(guard.group(1).split(", ")) if guard else 0
    else:
        by_guard = int(published.group(1))  # that guard compiles every product and keeps nothing
    again = len(re.findall(r"^model \S+: ready", stdout, flags=re.M))
    return by_guard + again


def run_once(tree: Path, catalog: str) -> dict[str, float]:
    keeps = (tree / "usecases" / "compile_guard.py").read_text().count("class GuardReport") > 0
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/publish.sqlite"
        upgraded = _cli(tree, ["db", "upgrade", "--url", url])
        assert upgraded.returncode == 0, upgraded.stderr
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = _cli(tree, ["catalog", "import", "--publish", "--url", url, str(REPO / "catalog" / "demo" / catalog)])
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert done.returncode == 0, done.stderr + done.stdout
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "compiles": _compiles(done.stdout, keeps)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the tree to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    trees = {"baseline": args.baseline.resolve(), "this tree": REPO}
    runs: dict[tuple[str, str], list[dict[str, float]]] = {}
    load = os.getloadavg()[0]
    for _ in range(args.rounds):
        for catalog in CATALOGS:
            for name, tree in trees.items():  # alternating, so load on the machine hits both alike
                runs.setdefault((catalog, name), []).append(run_once(tree, catalog))
    rows = [
        "| catalog | tree | runs | wall s (median) | CPU s (median) | compiles per publish | CPU × baseline |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for catalog in CATALOGS:
        base_cpu = statistics.median(r["cpu"] for r in runs[(catalog, "baseline")])
        for name in trees:
            rs = runs[(catalog, name)]
            cpu = statistics.median(r["cpu"] for r in rs)
            compiles = sorted({int(r["compiles"]) for r in rs})
            rows.append(
                f"| {catalog} | {name} | {len(rs)} | {statistics.median(r['wall'] for r in rs):.2f} | {cpu:.2f} | "
                f"{'/'.join(map(str, compiles))} | {cpu / base_cpu:.2f} |"
            )
    table = "\n".join(rows)
    print(table)
    if not args.no_write:
        body = (
            f"{stamp()}, {machine()} (shared; load {load:.2f} at the start); "
            f"`python -m benchmarks.bench_publish --baseline {args.baseline} --rounds {args.rounds}` "
            "(SQLite, no job engine: the CLI compiles in the process).\n\n"
            f"{table}\n\n"
            "CPU includes the compile guard's child process. Compiles per publish counts each product "
            "model compiled: by the guard, plus by compile-on-publish when it did not find the guard's artifact."
        )
        write_section("publish", "Publishing the demo catalogs: compiles per publish and time", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
