"""The bit-parallel query passes of the MDD (chunked union maps, per-value maps, memos) against enumeration.

The random models here have layers wider than one byte of nodes and edges, so the
chunked unions combine several table look-ups, and every query is asked twice so
the second answer comes from the whole-set memos.
"""

from __future__ import annotations

import itertools
import random

import pytest

from catalog.snapshot import Value
from configurator.backends import mdd as mdd_module
from configurator.backends.mdd import MddBackend, _Union, clear_cache
from configurator.model import Constraint, Model, Restriction, Variable


def _table(rng: random.Random, doms: list[tuple[int, ...]], density: float) -> frozenset[tuple[Value, ...]]:
    rows = [t for t in itertools.product(*doms) if rng.random() < density]
    return frozenset(rows)


def random_model(seed: int) -> Model:
    rng = random.Random(seed)
    nvars = rng.randint(5, 7)
    variables = tuple(Variable(f"x{j}", tuple(range(rng.randint(2, 4))), f"x{j}") for j in range(nvars))
    cons = []
    for k in range(rng.randint(3, 6)):
        scope = rng.sample(variables, rng.randint(2, 3))
        allowed = _table(rng, [v.domain for v in scope], rng.uniform(0.5, 0.9))
        cons.append(
            Constraint(f"c{k}", tuple(v.name for v in scope), lambda *t, a=allowed: t in a, allowed=allowed)
        )
    return Model(key=f"bitparallel-{seed}", variables=variables, constraints=tuple(cons))


def enumerate_solutions(model: Model, restrict: Restriction) -> list[tuple[Value, ...]]:
    doms = [tuple(x for x in v.domain if x in restrict.get(v.name, v.domain)) for v in model.variables]
    names = [v.name for v in model.variables]
    out = []
    for t in itertools.product(*doms):
        env = dict(zip(names, t, strict=True))
        if all(c.predicate(*(env[s] for s in c.scope)) for c in model.constraints):
            out.append(t)
    return out


def random_restriction(model: Model, rng: random.Random) -> dict[str, frozenset[Value]]:
    restrict = {}
    for v in rng.sample(model.variables, rng.randint(1, len(model.variables))):
        # Mostly one value (the per-value fast paths), sometimes several (the edge-set path).
        k = 1 if rng.random() < 0.6 else rng.randint(1, len(v.domain))
        restrict[v.name] = frozenset(rng.sample(v.domain, k))
    return restrict


@pytest.mark.parametrize("seed", range(12))
def test_propagate_and_count_agree_with_enumeration_on_wide_random_models(seed: int) -> None:
    clear_cache()
    model = random_model(seed)
    be = MddBackend(model)
    rng = random.Random(1000 + seed)
    queries = [random_restriction(model, rng) for _ in range(40)]
    for restrict in queries + queries:  # second round answered through the memos
        sols = enumerate_solutions(model, restrict)
        assert be.count(restrict) == len(sols)
        expected = (
            {v.name: frozenset(s[j] for s in sols) for j, v in enumerate(model.variables)} if sols else None
        )
        assert be.propagate(restrict) == expected


def test_random_models_have_layers_wider_than_one_byte() -> None:
    # Guards the test above: without layers of more than 8 nodes the multi-chunk unions are not hit.
    widest = max(max(MddBackend(random_model(seed))._d.size) for seed in range(12))
    assert widest > 8


def test_results_are_the_same_when_the_union_tables_are_full(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny caps force the "table full, compute each time" and "memo cleared" branches.
    monkeypatch.setattr(mdd_module, "_UNION_TABLE_CAP", 1)
    monkeypatch.setattr(mdd_module, "_UNION_MEMO_CAP", 2)
    clear_cache()
    model = random_model(3)
    be = MddBackend(model)
    rng = random.Random(7)
    for _ in range(30):
        restrict = random_restriction(model, rng)
        sols = enumerate_solutions(model, restrict)
        assert be.count(restrict) == len(sols)
        expected = (
            {v.name: frozenset(s[j] for s in sols) for j, v in enumerate(model.variables)} if sols else None
        )
        assert be.propagate(restrict) == expected
    clear_cache()


@pytest.mark.parametrize("width", [1, 7, 8, 9, 16, 17, 40])
def test_union_is_the_or_of_the_images_of_the_set_bits(width: int) -> None:
    rng = random.Random(width)
    image = [rng.getrandbits(50) for _ in range(width)]
    union = _Union(image)
    for _ in range(50):
        s = rng.getrandbits(width)
        expected = 0
        for j in range(width):
            if s >> j & 1:
                expected |= image[j]
        assert union(s) == expected
        assert union(s) == expected  # memoised answer
