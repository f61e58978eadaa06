"""Loading a stored compiled model in a new process, then clicking: this checkout against a baseline.

Each product's model is compiled once per checkout (its own artifact format) into a temporary file.
Then every run is a new process of that checkout that reads the catalog file and asks
``usecases.catalogs.get_configurator`` for the product with an artifact store that holds the file
(the path of a worker whose model was prepared at publishing), timing its steps apart:
``build_model`` (the product's constraint model, which the artifact does not replace),
``configurator.artifacts.load``, ``Configurator(...)`` around the loaded solver, and, where the
checkout does it, moving the cached model out of the garbage collector's generations. Then the
first state, then clicks: each picks an open attribute of the current state and one of its
possible values (a seeded random walk, never a conflict), timed one by one, with the collector's
pauses counted through ``gc.callbacks``. Rounds alternate the two checkouts so the load of the
machine hits both alike; the table gives medians.

Command::

    python -m benchmarks.bench_modelload [--runs 3] [--clicks 200] [--repo /work/main] [--automotive]

``--repo DIR`` is the baseline checkout (run with its ``DIR/.venv`` Python); ``--automotive`` adds
FeatureIDE's Automotive02_V4 from the shared corpus (``../shared``), compiled with d4 (about a
minute per checkout).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.results import RESULTS, machine, stamp, write_section

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / ".." / "shared" / "corpus" / "featureide"
AUTOMOTIVE = CORPUS / "Automotive02_V4.xml"
CONTENT_HASH = "bench-modelload"

COMMON = r"""
import gc, json, sys, time
sys.setrecursionlimit(100000)

def read_catalog(path):
    if path.endswith(".xml"):
        from catalog.featuremodels import load_feature_model
        return load_feature_model(path)
    from catalog.files import load_catalog_file
    return load_catalog_file(path)
"""

PREPARE = COMMON + r"""
from configurator.artifacts import dump
from configurator.backends.select import make_backend
from configurator.build import build_model
from usecases.compiled_models import model_key
path, code, backend, out, content_hash = sys.argv[1:6]
catalog = read_catalog(path)
product = catalog.product(code)
model = build_model(product, key=model_key(content_hash, code))
started = time.perf_counter()
solver = make_backend(model, prefer=backend)
from configurator import Configurator
# The priced part too (products whose price has auxiliaries), as prepare and the compile jobs store it.
priced = Configurator(product, catalog_key=content_hash, currency=catalog.currency, solver=solver).priced_backend()
seconds = time.perf_counter() - started
data = dump(solver, priced=priced)
with open(out, "wb") as fh:
    fh.write(data)
print(json.dumps({"backend": solver.name, "compile_s": seconds, "bytes": len(data)}))
"""

RUN = COMMON + r"""
import random, statistics
from datetime import UTC, datetime
path, code, backend, artifact, content_hash, clicks = sys.argv[1:7]
clicks = int(clicks)
out = {}
started = time.perf_counter()
catalog = read_catalog(path)
out["catalog_s"] = time.perf_counter() - started
from catalog.snapshot import AttributeKind
from configurator import Decision
from usecases import catalogs, compiled_models as cm
from usecases.catalogs import ModelCaches, get_configurator

def timed(name, fn):
    def wrapper(*args, **kwargs):
        t, c = time.perf_counter(), time.process_time()
        try:
            return fn(*args, **kwargs)
        finally:
            out[name + "_s"] = out.get(name + "_s", 0.0) + time.perf_counter() - t
            out[name + "_cpu"] = out.get(name + "_cpu", 0.0) + time.process_time() - c
    return wrapper

cm.build_model = timed("build_model", cm.build_model)
cm.load = timed("load", cm.load)
cm.Configurator = timed("configurator", cm.Configurator)
if hasattr(catalogs, "_freeze"):
    catalogs._freeze = timed("freeze", catalogs._freeze)
with open(artifact, "rb") as fh:
    data = fh.read()

class FileStore(cm.ArtifactStore):
    def find(self, content_hash, product_code, backend):
        return cm.StoredModel(1, "ready", backend, data, None, datetime.now(UTC))

caches = ModelCaches(artifacts=FileStore(lambda: None))
t = time.perf_counter()
conf = get_configurator(catalog, code, content_hash, backend=backend, caches=caches)
out["get_configurator_s"] = time.perf_counter() - t
assert caches.artifact_loads == 1 and caches.compiles == 0, (caches.artifact_loads, caches.compiles)
t = time.perf_counter()
state = conf.state([])
out["first_state_s"] = time.perf_counter() - t
out["tracked_objects"] = len(gc.get_objects())
pauses, began = [], {}

def on_gc(phase, info):
    if phase == "start":
        began["t"] = time.perf_counter()
    else:
        pauses.append((info["generation"], time.perf_counter() - began["t"]))

gc.callbacks.append(on_gc)
rng = random.Random(7)
times, decisions = [], []
while len(times) < clicks:
    open_ = [a for a in state.attributes if a.kind is not AttributeKind.SET and len(a.possible) > 1]
    if not open_:
        if not decisions:
            break
        decisions = []
        state = conf.state([])
        continue
    attr = rng.choice(open_)
    decisions = decisions + [Decision(attr.code, rng.choice(attr.possible))]
    t = time.perf_counter()
    state = conf.state(decisions)
    times.append(time.perf_counter() - t)
gc.callbacks.remove(on_gc)
times.sort()
out["clicks"] = len(times)
if times:
    out["click_median_ms"] = 1000 * statistics.median(times)
    out["click_p99_ms"] = 1000 * times[min(len(times) - 1, int(0.99 * len(times)))]
    out["click_max_ms"] = 1000 * times[-1]
out["gc_pauses"] = len(pauses)
out["gc_full"] = sum(1 for g, _ in pauses if g == 2)
out["gc_pause_ms"] = 1000 * sum(p for _, p in pauses)
out["gc_pause_max_ms"] = 1000 * max((p for _, p in pauses), default=0.0)
print(json.dumps(out))
"""


def _python(repo: Path) -> str:
    return sys.executable if repo == REPO else str(repo / ".venv" / "bin" / "python")


def _child(repo: Path, script: str, *args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(repo)}
    done = subprocess.run(
        [_python(repo), "-c", script, *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{repo}: {' '.join(args[:2])} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cases(automotive: bool) -> list[tuple[str, str, str, int]]:
    """(catalog file, product, backend, clicks factor): the demo products under ``auto``, Automotive02_V4 under d4."""
    sys.path.insert(0, str(REPO))
    from catalog.demo import demo_catalog_paths
    from catalog.files import load_catalog_file

    cases = [(str(p), product.code, "auto", 1) for p in demo_catalog_paths() for product in load_catalog_file(p).products]
    if automotive:
        if AUTOMOTIVE.exists():
            from catalog.featuremodels import load_feature_model

            cases.append((str(AUTOMOTIVE.resolve()), load_feature_model(AUTOMOTIVE).products[0].code, "ddnnf", 1))
        else:
            print(f"skipping Automotive02_V4: {AUTOMOTIVE} is not here (the shared corpus is absent)")
    return cases


def _med(runs: list[dict[str, Any]], key: str) -> float:
    values = [r[key] for r in runs if key in r]
    return statistics.median(values) if values else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="alternating rounds (max 10)")
    parser.add_argument("--clicks", type=int, default=200, help="clicks per run (demos: a quarter)")
    parser.add_argument("--repo", type=Path, default=None, help="baseline checkout (its .venv Python)")
    parser.add_argument("--automotive", action="store_true", help="add Automotive02_V4 (shared corpus)")
    parser.add_argument("--only-automotive", action="store_true", help="Automotive02_V4 alone")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    runs = min(max(args.runs, 1), 10)
    repos = [("this checkout", REPO)]
    if args.repo is not None and args.repo.resolve() != REPO:
        repos.append((f"baseline {args.repo}", args.repo.resolve()))
    cases = _cases(args.automotive or args.only_automotive)
    if args.only_automotive:
        cases = [c for c in cases if c[0].endswith(".xml")]
    tmp = Path(tempfile.mkdtemp(prefix="c2m-modelload-"))
    began = time.perf_counter()
    prepared: dict[tuple[str, str], dict[str, Any]] = {}
    for path, code, backend, _ in cases:
        for label, repo in repos:
            out = tmp / f"{code}-{len(prepared)}.artifact"
            info = _child(repo, PREPARE, path, code, backend, str(out), CONTENT_HASH)
            prepared[(code, label)] = {**info, "file": str(out)}
            print(f"{code} [{label}]: {info['backend']} artifact, {info['bytes']} bytes, compiled in {info['compile_s']:.1f} s",
                  flush=True)
    results: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for _round in range(runs):
        for path, code, backend, _ in cases:
            clicks = args.clicks if path.endswith(".xml") else max(1, args.clicks // 4)
            for label, repo in repos:
                figures = _child(repo, RUN, path, code, backend, prepared[(code, label)]["file"], CONTENT_HASH,
                                 str(clicks))
                results.setdefault((code, label), []).append(figures)
                print(f"{code} [{label}]: " + ", ".join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()), flush=True)
    lines = [
        "| product | code | stored model | runs | build_model s | artifact load s (CPU) | Configurator s | "
        "GC freeze s | first state s | clicks | click median ms | click p99 ms | GC pauses / full | "
        "GC pause total ms (max) | objects tracked |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _path, code, _backend, _ in cases:
        for label, _repo in repos:
            rs = results[(code, label)]
            info = prepared[(code, label)]
            freeze = _med(rs, "freeze_s")
            lines.append(
                f"| {code} | {label} | {info['backend']}, {info['bytes'] / 1024:.0f} KiB | {len(rs)} | "
                f"{_med(rs, 'build_model_s'):.3f} | {_med(rs, 'load_s'):.3f} ({_med(rs, 'load_cpu'):.3f}) | "
                f"{_med(rs, 'configurator_s'):.3f} | {'—' if freeze != freeze else f'{freeze:.3f}'} | "
                f"{_med(rs, 'first_state_s'):.3f} | {rs[-1]['clicks']} | {_med(rs, 'click_median_ms'):.1f} | "
                f"{_med(rs, 'click_p99_ms'):.1f} | {_med(rs, 'gc_pauses'):.0f} / {_med(rs, 'gc_full'):.0f} | "
                f"{_med(rs, 'gc_pause_ms'):.0f} ({_med(rs, 'gc_pause_max_ms'):.0f}) | {_med(rs, 'tracked_objects'):.0f} |"
            )
    command = "python -m benchmarks.bench_modelload" + (f" --runs {args.runs}" if args.runs != 3 else "") + (
        f" --clicks {args.clicks}" if args.clicks != 200 else "") + (f" --repo {args.repo}" if args.repo else "") + (
        " --only-automotive" if args.only_automotive else " --automotive" if args.automotive else "")
    entry = "\n".join([
        f"### {stamp()} — {runs} runs per row, alternating",
        "",
        f"Machine: {machine()} (shared with other work; load {Path('/proc/loadavg').read_text().split()[0]} at the end). "
        f"Command: `{command}` ({time.perf_counter() - began:.0f} s). Medians; wall seconds unless CPU is said.",
        "",
        *lines,
    ])
    print(entry)
    if not args.no_write:
        _write(entry)
    return 0


def _write(entry: str) -> None:
    """Add ``entry`` on top of this benchmark's section of RESULTS.md (older entries are kept below)."""
    key = "modelload"
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    begin, end = f"<!-- section: {key} -->", f"<!-- end: {key} -->"
    older = ""
    if begin in text and end in text:
        body = text.split(begin, 1)[1].split(end, 1)[0]
        older = body.split("\n", 3)[3] if body.count("\n") >= 3 else ""  # drop the heading lines
    write_section(key, "Cold start: a stored compiled model loaded in a new process, then clicks",
                  entry + ("\n\n" + older.strip() if older.strip() else ""))


if __name__ == "__main__":
    raise SystemExit(main())
