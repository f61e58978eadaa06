"""`python -m benchmarks.bench_coldstart --steps`: the cases of a prepared database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from benchmarks import bench_coldstart


def test_a_product_with_two_stored_models_is_one_case(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`c2m model artifacts` lists a row per stored model (model key and backend): a product stored
    twice (another backend, another version) is still timed once per round, not twice."""
    db = tmp_path / "bench.sqlite"
    db.write_bytes(b"")  # prepared: no `c2m db upgrade`
    files = sorted(path.name for path in (bench_coldstart.ROOT / "catalog" / "demo").glob("*.yaml"))
    codes = {name: f"cat{n}" for n, name in enumerate(files)}
    db.with_suffix(".cases.json").write_text(json.dumps(codes))  # imported: no `c2m catalog import`
    listings = {
        code: [
            {"model": f"hash1:{code}-a", "backend": "auto"},
            {"model": f"hash1:{code}-b", "backend": "auto"},
            {"model": f"hash1:{code}-a", "backend": "sat"},
            {"model": f"hash2:{code}-a", "backend": "auto"},
        ]
        for code in codes.values()
    }

    def fake_c2m(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
        assert args[:2] == ("model", "artifacts"), args
        return subprocess.CompletedProcess(args, 0, json.dumps({"models": listings[args[3]]}), "")

    monkeypatch.setattr(bench_coldstart, "c2m", fake_c2m)
    cases = bench_coldstart.steps_database(db, automotive=False)
    assert cases == [(name, codes[name], f"{codes[name]}-{suffix}") for name in files for suffix in "ab"]
