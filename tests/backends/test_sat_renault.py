"""The SAT fallback handles the real Renault model: its sparse tables are encoded row by row."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

RENAULT = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "renault" / "megane.xml"


@pytest.mark.corpus
@pytest.mark.slow
def test_sat_propagation_on_renault_agrees_with_the_decision_diagram():
    if not RENAULT.is_file():
        pytest.skip(f"../shared/corpus not present: {RENAULT} (the Renault model lives outside the repository)")
    from benchmarks.renault import load_renault
    from configurator.backends.mdd import MddBackend
    from configurator.backends.sat import SatBackend

    model = load_renault(RENAULT)
    sat, mdd = SatBackend(model), MddBackend(model)
    rng = random.Random(7)
    restrictions = [{}]
    for _ in range(2):
        solution = mdd.solve({}, {v.name: {x: rng.randint(0, 9) for x in v.domain} for v in model.variables})
        assert solution is not None
        names = rng.sample(sorted(solution), 6)
        restrictions.append({n: frozenset({solution[n]}) for n in names})
    for restrict in restrictions:
        assert sat.propagate(restrict) == mdd.propagate(restrict)
