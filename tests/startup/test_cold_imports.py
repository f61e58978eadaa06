"""What a new process loads before it builds a model: the solver backends and numpy, and the
job engine's Dramatiq and Redis, are imported when first used, not at start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

HEAVY = ("numpy", "configurator.backends.ddnnf", "configurator.backends.sat", "configurator.backends.mdd",
         "pysat", "constraint", "dd")

WEB_WORKER = r"""
import json, sys
from web import create_app
create_app({"DATABASE_URL": sys.argv[1], "TESTING": True, "SECRET_KEY": "test", "RATELIMIT_ENABLED": False})
at_start = sorted(set(sys.argv[2:]) & set(sys.modules))
from decimal import Decimal
from catalog.snapshot import Attribute, AttributeKind, Catalog, Label, Product
from configurator import load_product
shop = Catalog("shop", Label("Shop"), "EUR", (), (), (Product(
    "lamp", Label("Lamp"), Decimal("20.00"), (Attribute("dimmable", AttributeKind.BOOL, Label("Dim")),)),))
assert load_product(shop, "lamp", backend="sat").count([]) == 2
print(json.dumps({"at_start": at_start, "after_a_model": sorted(set(sys.argv[2:]) & set(sys.modules))}))
"""

JOB_WORKER = r"""
import json, sys
import jobs.engine, jobs.heartbeat, jobs.settings, jobs.sweeper
print(json.dumps(sorted(set(sys.argv[1:]) & set(sys.modules))))
"""


def _run(*args: str) -> object:
    env = {k: v for k, v in os.environ.items() if not k.startswith("C2M_")}  # no job engine configured
    done = subprocess.run([sys.executable, "-c", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_create_app_loads_no_solver_backend_and_no_job_engine(tmp_path: Path) -> None:
    """A web worker built by ``create_app`` has loaded neither numpy nor a solver backend (the
    first model built loads them) nor, without a broker configured, Dramatiq and Redis."""
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    loaded = _run(WEB_WORKER, url, *HEAVY, "dramatiq", "redis")
    assert loaded == {"at_start": [], "after_a_model": ["configurator.backends.sat", "numpy", "pysat"]}


def test_job_worker_imports_load_no_solver_backend() -> None:
    """The job worker's modules (the engine, its actors, the sweeper) leave the backends to the
    first job that builds a model."""
    assert _run(JOB_WORKER, *HEAVY) == []


def test_progress_is_one_alias_wherever_it_is_named() -> None:
    """``Progress`` moved to ``configurator.progress``; the names callers used still give it."""
    import configurator
    from configurator.backends import ddnnf
    from configurator.progress import Progress

    assert configurator.Progress is Progress
    assert ddnnf.Progress is Progress
