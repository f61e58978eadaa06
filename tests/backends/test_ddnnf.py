"""The d4-compiled d-DNNF backend: encoding, budgets, unsatisfiable models, agreement with the MDD and SAT."""

from __future__ import annotations

import hashlib
import importlib.util
import itertools
import logging
from pathlib import Path

import pytest

from configurator.backends.base import CompileBudgetExceeded
from configurator.backends.brute import BruteBackend
from configurator.backends.select import make_backend
from configurator.model import Constraint, Model, Variable

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("py_d4") is None, reason="the d4 compiler (PyPI d4solver) is not installed"
)

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"


def _ddnnf():  # type: ignore[no-untyped-def]
    from configurator.backends import ddnnf

    return ddnnf


def test_every_auxiliary_of_the_encoding_is_determined_by_the_model_variables() -> None:
    """The CNF's model count equals the solution count: no auxiliary may take two values."""
    ddnnf = _ddnnf()
    # A 9-value domain (ladder at-most-one) and a sparse table (support variables).
    big = Variable("big", tuple(range(9)), "big")
    flag = Variable("flag", (False, True), "flag")
    small = Variable("small", ("x", "y", "z"), "small")
    rows = frozenset({(0, False, "x"), (3, True, "y"), (8, True, "z"), (8, False, "z")})
    model = Model(
        "enc-determined",
        (big, flag, small),
        (Constraint("t", ("big", "flag", "small"), lambda *v: v in rows, rows),),
    )
    cnf = ddnnf.encode_cnf(model)
    assert cnf.nvars > 9 + 1 + 3  # auxiliaries were introduced
    models = 0
    for bits in itertools.product((False, True), repeat=cnf.nvars):
        if all(any(bits[abs(lit) - 1] == (lit > 0) for lit in clause) for clause in cnf.clauses):
            models += 1
    assert models == BruteBackend(model).count({}) == 4
    assert ddnnf.DdnnfBackend(model).count({}) == 4


def test_an_unsatisfiable_model_answers_none_and_zero() -> None:
    model = Model(
        "ddnnf-unsat",
        (Variable("a", (1, 2), "a"), Variable("b", (1, 2), "b")),
        (Constraint("lt", ("a", "b"), lambda a, b: a < b), Constraint("gt", ("a", "b"), lambda a, b: a > b)),
    )
    backend = make_backend(model, prefer="ddnnf")
    assert backend.propagate({}) is None
    assert backend.count({}) == 0
    assert backend.solve({}) is None


def test_a_compilation_over_its_time_budget_is_stopped_with_an_error_naming_model_and_budget() -> None:
    model = Model("ddnnf-budget-probe", tuple(Variable(f"v{i}", (0, 1, 2), f"v{i}") for i in range(8)), ())
    with pytest.raises(CompileBudgetExceeded, match=r"'ddnnf-budget-probe' within the time budget of 0 s"):
        make_backend(model, prefer="ddnnf", time_budget_s=0.0)


def _corpus_model(rel: str) -> Model:
    if not CORPUS.is_dir():
        pytest.skip(f"../shared/corpus not present: {CORPUS} (the feature-model corpus lives outside the repository)")
    from catalog.featuremodels import convert_feature_model
    from configurator.build import build_model

    product = convert_feature_model(CORPUS / rel).catalog.products[0]
    return build_model(product, key="ddnnf-test:" + hashlib.sha256(repr(product).encode()).hexdigest()[:24])


@pytest.mark.corpus
@pytest.mark.parametrize(
    "rel", ["flamapy/Pizzas.uvl", "flamapy/Truck.uvl", "flamapy/JHipster.uvl", "featureide/BerkeleyDB.xml",
            "featureide/E-Shop.xml"]
)
def test_corpus_models_agree_with_the_decision_diagram(rel: str) -> None:
    model = _corpus_model(rel)
    mdd, dd = make_backend(model, prefer="mdd"), make_backend(model, prefer="ddnnf")
    assert dd.count({}) == mdd.count({})
    domains = mdd.propagate({})
    assert domains is not None and dd.propagate({}) == domains
    open_vars = [n for n, d in domains.items() if len(d) > 1][:6]
    for name in open_vars:
        for value in sorted(domains[name], key=repr):
            restrict = {name: frozenset({value})}
            assert dd.propagate(restrict) == mdd.propagate(restrict)
            assert dd.count(restrict) == mdd.count(restrict)
    assert dd.solve({}) == mdd.solve({})


@pytest.mark.corpus
@pytest.mark.slow
def test_automotive01_propagates_like_sat_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    model = _corpus_model("featureide/Automotive01.xml")
    dd, sat = make_backend(model, prefer="ddnnf"), make_backend(model, prefer="sat")
    domains = dd.propagate({})
    assert domains is not None and domains == sat.propagate({})
    open_vars = [n for n, d in domains.items() if len(d) > 1 and not model.variable(n).auxiliary]
    for name in (open_vars[0], open_vars[len(open_vars) // 2], open_vars[-1]):
        restrict = {name: frozenset({True})}
        assert dd.propagate(restrict) == sat.propagate(restrict)
    total = dd.count({})
    assert total > 0
    # Every configuration either selects a feature or does not.
    name = open_vars[-1]
    assert dd.count({name: frozenset({True})}) + dd.count({name: frozenset({False})}) == total
    solution = dd.solve({name: frozenset({True})})
    assert solution is not None and solution[name] is True
    assert sat.propagate({n: frozenset({v}) for n, v in solution.items()}) is not None


@pytest.mark.parametrize("name", ["city-bikes.yaml", "wardrobes.yaml", "E-Shop.xml"])
def test_rules_of_one_form_are_encoded_once_with_the_same_clauses(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from configurator.backends import ddnnf
    from configurator.build import build_model

    if name.endswith(".xml"):
        path = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "featureide" / name
        if not path.is_file():
            pytest.skip(f"the feature-model corpus is absent ({path})")
        from catalog.featuremodels import convert_feature_model

        product = convert_feature_model(path).catalog.products[0]
    else:
        from catalog.files import load_catalog_file
        from configurator.rules import expression_checker

        demo = Path(__file__).resolve().parents[2] / "catalog" / "demo" / name
        product = load_catalog_file(demo, expression_checker=expression_checker).products[0]
    model = build_model(product, key=f"shapes:{name}")
    assert any(getattr(c.predicate, "shape", None) is not None for c in model.constraints)
    caches: list[ddnnf.ShapeCache] = []
    real_cache = ddnnf.ShapeCache

    class Kept(real_cache):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            caches.append(self)

    monkeypatch.setattr(ddnnf, "ShapeCache", Kept)
    cached = ddnnf.encode_cnf(model)
    monkeypatch.setattr(ddnnf, "shape_key", lambda predicate, domains: None)
    direct = ddnnf.encode_cnf(model)
    assert cached == direct  # the same clauses, in the same order
    shaped = sum(getattr(c.predicate, "shape", None) is not None for c in model.constraints)
    assert 0 < len(caches[0].plans) <= shaped
    if name.endswith(".xml"):
        assert len(caches[0].plans) < shaped // 2  # most feature-model rules share a form


def test_a_model_without_variables_has_one_solution_without_running_d4(monkeypatch: pytest.MonkeyPatch) -> None:
    ddnnf = _ddnnf()

    def no_d4(*args: object, **kwargs: object) -> str:
        raise AssertionError("d4 must not run on an empty formula (it cannot read one)")

    monkeypatch.setattr(ddnnf, "run_d4", no_d4)
    backend = make_backend(Model("ddnnf-no-variables", (), ()), prefer="ddnnf")
    assert backend.count({}) == 1
    assert backend.propagate({}) == {}
    assert backend.solve({}) == {}


def test_the_circuit_text_is_read_into_the_same_arrays_with_comments_and_any_line_order() -> None:
    ddnnf = _ddnnf()
    text = "o 1 0\nt 2 0\nf 3 0\na 4 0\n1 4 -1 0\n1 2 1 2 0\n4 2 2 0\n"
    ids, kind, parent, child, lens, lits = ddnnf._parse_nnf(text, "k")
    assert ids.tolist() == [1, 2, 3, 4]
    assert kind.tolist() == [ddnnf._OR, ddnnf._TRUE, ddnnf._FALSE, ddnnf._AND]
    assert (parent.tolist(), child.tolist(), lens.tolist(), lits.tolist()) == ([0, 0, 3], [3, 1, 1], [1, 2, 1], [-1, 1, 2, 2])
    commented = "c made by d4\n" + "\n".join(reversed(text.splitlines()[3:])) + "\n" + "\n".join(text.splitlines()[:3])
    again = ddnnf._parse_nnf(commented, "k")
    assert again[0].tolist() == ids.tolist() and again[1].tolist() == kind.tolist()
    assert sorted(zip(again[2].tolist(), again[3].tolist(), again[4].tolist(), strict=True)) == sorted(
        zip(parent.tolist(), child.tolist(), lens.tolist(), strict=True)
    )
    with pytest.raises(CompileBudgetExceeded, match="undeclared node"):
        ddnnf._parse_nnf("o 1 0\n1 7 0\n", "k")
    with pytest.raises(CompileBudgetExceeded, match="no circuit"):
        ddnnf._parse_nnf("", "k")
