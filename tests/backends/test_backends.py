"""Edge cases and errors shared by the brute-force, reference and SAT backends."""

from __future__ import annotations

from fractions import Fraction

import pytest

from catalog.snapshot import Value
from configurator.backends.base import BackendTimeout, SearchLimitExceeded, UnknownVariable
from configurator.backends.brute import BruteBackend
from configurator.backends.reference import ReferenceBackend
from configurator.backends.sat import SatBackend
from configurator.model import Constraint, Model, Variable

NAMES = ["brute", "reference", "sat"]


def make(name: str, model: Model) -> BruteBackend | ReferenceBackend | SatBackend:
    if name == "brute":
        return BruteBackend(model)
    if name == "reference":
        return ReferenceBackend(model)
    return SatBackend(model)


def bike() -> Model:
    frame = Variable("frame", ("aluminium", "steel", "carbon"), "frame")
    rack = Variable("rack", (False, True), "rack")
    gears = Variable("gears", (1, 3, 8, 11), "gears")
    return Model(
        "bike",
        (frame, rack, gears),
        (
            Constraint("carbon-no-rack", ("frame", "rack"), lambda f, r: not (f == "carbon" and r)),
            Constraint("steel-gears", ("frame", "gears"), lambda f, g: f != "steel" or g <= 8),
        ),
    )


@pytest.mark.parametrize("name", NAMES)
def test_model_without_variables_has_exactly_one_empty_solution(name: str) -> None:
    backend = make(name, Model("empty", (), ()))
    assert backend.propagate({}) == {}
    assert backend.count({}) == 1
    assert backend.solve({}) == {}


@pytest.mark.parametrize("name", NAMES)
def test_false_constant_rule_makes_every_query_unsatisfiable(name: str) -> None:
    model = Model("const", (Variable("a", (1, 2), "a"),), (Constraint("never", (), lambda: False),))
    backend = make(name, model)
    assert backend.propagate({}) is None
    assert backend.count({}) == 0
    assert backend.solve({}) is None


@pytest.mark.parametrize("name", NAMES)
def test_choosing_carbon_rules_out_the_rack(name: str) -> None:
    result = make(name, bike()).propagate({"frame": frozenset({"carbon"})})
    assert result == {
        "frame": frozenset({"carbon"}),
        "rack": frozenset({False}),
        "gears": frozenset({1, 3, 8, 11}),
    }


@pytest.mark.parametrize("name", NAMES)
def test_emptied_domain_is_unsatisfiable_not_an_error(name: str) -> None:
    backend = make(name, bike())
    assert backend.propagate({"gears": frozenset()}) is None
    assert backend.count({"gears": frozenset({99})}) == 0
    assert backend.solve({"frame": frozenset()}) is None


@pytest.mark.parametrize("name", NAMES)
def test_count_under_restriction(name: str) -> None:
    backend = make(name, bike())
    # 24 combinations, less carbon with a rack (4) and steel with 11 gears (2).
    assert backend.count({}) == 3 * 2 * 4 - 4 - 2
    assert backend.count({"frame": frozenset({"steel"})}) == 6


@pytest.mark.parametrize("name", NAMES)
def test_cheapest_solution_then_earliest_values(name: str) -> None:
    backend = make(name, bike())
    # A discount on carbon outweighs everything else; rack stays at its earlier value False.
    w: dict[str, dict[Value, Fraction]] = {
        "frame": {"carbon": Fraction(-100)},
        "gears": {1: Fraction(5), 3: Fraction(5)},
    }
    assert backend.solve({}, w) == {"frame": "carbon", "rack": False, "gears": 8}
    # Equal weights on every value: the tie-break alone decides.
    flat: dict[str, dict[Value, Fraction]] = {"gears": {g: Fraction(7, 3) for g in (1, 3, 8, 11)}}
    assert backend.solve({}, flat) == {"frame": "aluminium", "rack": False, "gears": 1}


@pytest.mark.parametrize("name", NAMES)
def test_unknown_variable_in_restriction_is_named(name: str) -> None:
    with pytest.raises(UnknownVariable, match="'colour'") as info:
        make(name, bike()).propagate({"colour": frozenset({"red"})})
    assert info.value.reason == "unknown_variable"


@pytest.mark.parametrize("name", NAMES)
def test_unknown_variable_in_weights_is_named(name: str) -> None:
    with pytest.raises(UnknownVariable, match="'colour'"):
        make(name, bike()).solve({}, {"colour": {"red": Fraction(1)}})


def test_reference_timeout_raises_solver_timeout() -> None:
    # 4**12 combinations and a rule that only fails at the last variable: far
    # more than 50 ms of backtracking.
    variables = tuple(Variable(f"v{i}", (0, 1, 2, 3), f"v{i}") for i in range(12))
    model = Model("slow", variables, (Constraint("odd", ("v0", "v11"), lambda a, b: a + b < 100),))
    backend = ReferenceBackend(model, timeout_s=0.05)
    with pytest.raises(BackendTimeout) as info:
        backend.count({})
    assert info.value.reason == "solver_timeout"
    assert info.value.timeout_s == 0.05


def test_brute_force_refuses_search_spaces_above_its_limit() -> None:
    variables = tuple(Variable(f"v{i}", (0, 1, 2, 3), f"v{i}") for i in range(5))
    backend = BruteBackend(Model("wide", variables, ()), limit=1000)
    with pytest.raises(SearchLimitExceeded, match="1024 combinations") as info:
        backend.count({})
    assert info.value.reason == "search_limit"
    # A restriction shrinks the search space below the limit.
    assert backend.count({"v0": frozenset({0})}) == 256


def test_sat_count_refuses_to_search_past_its_node_limit() -> None:
    # Every pair of neighbours related: one component, no caching shortcut at first.
    variables = tuple(Variable(f"v{i}", (0, 1, 2), f"v{i}") for i in range(8))
    constraints = tuple(
        Constraint(f"r{i}", (f"v{i}", f"v{j}"), lambda a, b: a != b)
        for i in range(8)
        for j in range(i + 1, 8)
        if j - i < 3
    )
    model = Model("dense", variables, constraints)
    with pytest.raises(SearchLimitExceeded, match="more than 2 search nodes") as info:
        SatBackend(model, count_node_limit=2).count({})
    assert info.value.reason == "search_limit"
    assert SatBackend(model).count({}) == BruteBackend(model).count({})


def test_sat_counts_independent_clusters_without_enumerating_them() -> None:
    # 20 independent pairs of 4-valued variables: 10**20 solutions, counted by
    # multiplying components instead of visiting them.
    variables = tuple(Variable(f"v{i}", (0, 1, 2, 3), f"v{i}") for i in range(40))
    constraints = tuple(
        Constraint(f"r{i}", (f"v{i}", f"v{i + 1}"), lambda a, b: a + b != 3) for i in range(0, 40, 2)
    )
    backend = SatBackend(Model("clusters", variables, constraints), count_node_limit=1000)
    assert backend.count({}) == 12**20
    assert backend.count({"v0": frozenset({0})}) == 3 * 12**19


@pytest.mark.parametrize("name", NAMES)
def test_count_distinguishes_residual_rules_that_leave_the_same_domains(name: str) -> None:
    # After fixing x, both branches leave y and z with full domains, but the
    # rule left over differs (3 completions for x = 0, 2 for x = 1).
    variables = tuple(Variable(n, (0, 1), n) for n in ("x", "y", "z"))
    rule = Constraint("r", ("x", "y", "z"), lambda x, y, z: (y or z) if x == 0 else y == z)
    assert make(name, Model("residual", variables, (rule,))).count({}) == 5


def test_sat_refuses_to_tabulate_huge_rule_scopes_naming_the_rule() -> None:
    variables = tuple(Variable(f"v{i}", tuple(range(20)), f"v{i}") for i in range(3))
    model = Model(
        "big", variables, (Constraint("sum-cap", ("v0", "v1", "v2"), lambda a, b, c: a + b + c < 30),)
    )
    with pytest.raises(SearchLimitExceeded, match="rule 'sum-cap' spans 8000"):
        SatBackend(model, table_limit=5000)


def test_sat_uses_the_allowed_tuples_of_a_table() -> None:
    variables = (Variable("a", (1, 2), "a"), Variable("b", (1, 2), "b"))
    allowed = frozenset({(1, 2), (2, 1)})
    # The predicate would allow everything: the backend must read `allowed`.
    model = Model("table", variables, (Constraint("t", ("a", "b"), lambda a, b: True, allowed=allowed),))
    assert SatBackend(model).count({}) == 2


def test_sat_backend_answers_repeated_queries_on_one_solver() -> None:
    backend = SatBackend(bike())
    first = backend.propagate({"frame": frozenset({"carbon"})})
    backend.propagate({"rack": frozenset({True})})
    assert backend.propagate({"frame": frozenset({"carbon"})}) == first
    assert backend.propagate({}) == BruteBackend(bike()).propagate({})
