"""Decimal, derived and text attributes, lookup tables and variant parts: catalog, engine, BOM, validation."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from bom import explode
from bom.canonical import canonical_json
from bom.documents import production_order_from_document
from bom.orders import create_production_order
from catalog.files import CatalogInvalid, dump_catalog, load_catalog_file, load_catalog_text
from configurator import Configurator, Decision, InvalidValue, UnknownAttribute
from configurator.derived import derived_values, plain_product
from configurator.texts import InvalidText
from web.cli import main

HERE = Path(__file__).parent
DESK = HERE / "desk.yaml"
BROKEN = HERE / "desk-broken.yaml"


@pytest.fixture(scope="module")
def shop():  # type: ignore[no-untyped-def]
    return load_catalog_file(DESK)


def line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(text)


def brute_force(product, rule_texts):  # type: ignore[no-untyped-def]
    """Every configuration of the solver attributes for which the (plain) rules hold, by enumeration."""
    from configurator.rules import check_expression, evaluate, parse_expression

    attrs = product.attributes
    exprs = [check_expression(parse_expression(t), attrs, kind="rule") for t in rule_texts]
    out = []
    for values in itertools.product(*(a.domain() for a in attrs)):
        env = dict(zip([a.code for a in attrs], values, strict=True))
        if all(evaluate(e, env) is True for e in exprs):
            out.append(env)
    return out


def test_derived_attributes_are_not_choices_and_counts_stay_exact(shop) -> None:  # type: ignore[no-untyped-def]
    desk = shop.product("desk")
    assert [a.code for a in desk.attributes] == ["frame", "top", "width", "height"]
    assert [a.code for a in desk.derived] == ["legs", "top_price"]
    conf = Configurator(desk, backend="mdd")
    assert "legs" not in {s.code for s in conf.state().attributes}
    with pytest.raises(UnknownAttribute):
        conf.state([Decision("legs", 4)])
    plain = plain_product(desk)
    expected = brute_force(plain, [r.text for r in plain.rules])
    # folding (2 legs) desks are at most 75.0 high: 3 of the 5 heights
    assert len(expected) == 2 * 3 * (5 + 3)
    for backend in ("mdd", "ddnnf", "sat", "reference", "brute"):
        assert Configurator(desk, backend=backend).count() == len(expected), backend


def test_decimal_values_are_exact_and_parsed_from_text(shop) -> None:  # type: ignore[no-untyped-def]
    desk = shop.product("desk")
    height = desk.attribute("height")
    assert list(height.domain()) == [Decimal(v) for v in ("70.0", "72.5", "75.0", "77.5", "80.0")]
    conf = Configurator(desk)
    state = conf.state([Decision("frame", "folding")])
    assert state.attribute("height").possible == (Decimal("70.0"), Decimal("72.5"), Decimal("75.0"))
    assert conf.state([Decision("height", "72.50")]).attribute("height").value == Decimal("72.5")
    with pytest.raises(InvalidValue, match="a decimal 70.0..80.0 in steps of 2.5"):
        conf.state([Decision("height", "72.4")])


def test_prices_read_lookup_tables_and_decimal_formulas(shop) -> None:  # type: ignore[no-untyped-def]
    desk = shop.product("desk")
    conf = Configurator(desk)
    decisions = [Decision(a, v) for a, v in (("frame", "fixed"), ("top", "oak"), ("width", 1200), ("height", "77.5"))]
    # 300 base + 120.50 from the table + (77.5 - 75) * 4 = 10
    assert conf.state(decisions).price.total == Decimal("430.50")
    values = derived_values(desk, {"frame": "fixed", "top": "oak", "width": 1200, "height": Decimal("77.5")})
    assert values["legs"] == 4 and values["top_price"] == Decimal("120.50")


def test_variant_part_texts_and_derived_quantities_reach_bom_and_production_order(shop) -> None:  # type: ignore[no-untyped-def]
    config = {"frame": "folding", "top": "birch", "width": 1400, "height": Decimal("72.5")}
    bom = explode(shop, "desk", config, texts={"engraving": "  Anna B "})
    lines = {i.position: i for i in bom.items}
    assert lines["0010"].item == "TOP-BIRCH"
    assert lines["0020"].total_quantity == 2  # legs: folding frame
    assert lines["0030"].texts == (("engraving", "Anna B"),) and bom.texts == (("engraving", "Anna B"),)
    from datetime import date

    order = create_production_order(
        shop, "1", "h", "desk", config, quantity=1, due_date=date(2027, 1, 8), number="PO-1",
        texts={"engraving": "Anna B"},
    )
    import json

    document = json.loads(canonical_json(order))
    assert document["texts"] == {"engraving": "Anna B"}
    assert production_order_from_document(document).bom.items[2].texts == (("engraving", "Anna B"),)
    # without texts the documents carry no texts key at all (existing digests do not change)
    assert b"texts" not in canonical_json(explode(shop, "desk", config))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("A" * 21, "21 characters; at most 20"),
        ("Anna<3", "does not match the allowed characters"),
        ("two\nlines", "must be one line"),
    ],
)
def test_a_bad_text_is_refused_naming_the_field(shop, text: str, problem: str) -> None:  # type: ignore[no-untyped-def]
    config = {"frame": "fixed", "top": "oak", "width": 1200, "height": Decimal("80.0")}
    with pytest.raises(InvalidText, match=problem) as info:
        explode(shop, "desk", config, texts={"engraving": text})
    assert info.value.field == "engraving" and "engraving" in str(info.value)


def test_unknown_text_field_is_refused(shop) -> None:  # type: ignore[no-untyped-def]
    config = {"frame": "fixed", "top": "oak", "width": 1200, "height": Decimal("80.0")}
    with pytest.raises(InvalidText, match="no text field 'monogram'"):
        explode(shop, "desk", config, texts={"monogram": "AB"})


def test_dump_round_trips_the_new_keys(shop) -> None:  # type: ignore[no-untyped-def]
    for fmt in ("yaml", "json"):
        assert load_catalog_text(dump_catalog(shop, fmt), format=fmt) == shop


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        ('min: "70.0"', 'min: "70.05"', "not a decimal with at most 1 decimal places"),
        ("places: 1, ", "", "missing required key 'places'"),
        ('pattern: "[A-Za-z0-9 ]*"', 'pattern: "(a"', "pattern: not a valid pattern"),
        ('item: "TOP-{top}"', 'item: "TOP-{tpo}"', "{tpo} is not an enum, bool, int or decimal attribute; did you mean 'top'?"),
        ("- [oak, 1400, \"140\"]", "- [oak, 1450, \"140\"]", "1450 is not a value of width"),
        ("- [oak, 1400, \"140\"]", "- [oak, 1200, \"140\"]", "the key ['oak', 1200] is already listed"),
        ("type: int, min: 1200", "type: int, min: \"1200.5\"", "for decimal numbers use type: decimal"),
    ],
)
def test_file_errors_have_their_position(replace: str, by: str, message: str) -> None:
    text = DESK.read_text(encoding="utf-8")
    assert replace in text
    with pytest.raises(CatalogInvalid) as info:
        load_catalog_text(text.replace(replace, by, 1), filename="desk.yaml")
    found = [f"{p.line}:{p.column} {p.message}" for p in info.value.problems]
    assert any(message in f for f in found), found
    line = next(n for n, t in enumerate(text.replace(replace, by, 1).splitlines(), 1) if by and by in t) if by else None
    if line is not None:
        assert any(f.startswith(f"{line}:") and message in f for f in found), found


def test_validate_is_clean_on_a_good_catalog() -> None:
    result = CliRunner().invoke(main, ["catalog", "validate", str(DESK)])
    assert result.exit_code == 0 and result.output.strip() == f"{DESK}: ok", result.output


def test_validate_reports_model_problems_at_their_lines_with_an_example() -> None:
    result = CliRunner().invoke(main, ["catalog", "validate", str(BROKEN)])
    assert result.exit_code == 1
    out = result.output.splitlines()
    path = str(BROKEN)

    def has(anchor: str, words: str) -> bool:
        prefix = f"{path}:{line_of(BROKEN, anchor)}:"
        return any(line.startswith(prefix) and words in line for line in out)

    assert has("code: top_cost", "the lookup table has no row for top=walnut, for top=walnut")
    assert has("derived: \"if(top == oak, 6, 2)\"", "the formula gives 6, outside its values (2..4), for top=oak")
    assert has('item: "TOP-{top}"', "resolves to TOP-WALNUT, which is not a part or module of the catalog, for top=walnut")
    assert has("pos: 30, item: FRAME", "parameter span = width gives 2000, outside FRAME.span (1000..1800 step 100), for")
    assert has("pos: 40, item: FRAME", "parameter motors = motors: the parameter motors is int, but motors is a choice")
    assert has("pos: 40, item: FRAME", "parameter span = width - 100 gives 1900, outside FRAME.span")
    assert has("pos: 20, item: LEG", "is negative or cannot be computed for top=oak, width=1200")
    assert len(out) == 7, out


def test_demo_catalogs_validate_clean() -> None:
    demo = Path(__file__).resolve().parents[2] / "catalog" / "demo"
    files = sorted(str(p) for p in demo.glob("*.yaml"))
    result = CliRunner().invoke(main, ["catalog", "validate", *files])
    assert result.exit_code == 0, result.output
    bikes = load_catalog_file(demo / "city-bikes.yaml").product("city-ebike")
    assert [a.code for a in bikes.derived] == ["seat_tube_mm"] and bikes.texts[0].code == "engraving"


def test_texts_in_csv_and_b2mml(shop) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io
    from datetime import date

    from bom.export import bom_csv, order_b2mml, xml_bytes

    config = {"frame": "fixed", "top": "oak", "width": 1200, "height": Decimal("80.0")}
    bom = explode(shop, "desk", config, texts={"engraving": "Anna B"})
    rows = list(csv.DictReader(io.StringIO(bom_csv(bom))))
    assert [r["texts"] for r in rows] == ["", "", "engraving=Anna B"]
    order = create_production_order(
        shop, "1", "h", "desk", config, quantity=1, due_date=date(2027, 1, 8), number="PO-2", texts={"engraving": "Anna B"}
    )
    xml = xml_bytes(order_b2mml(order, shop)).decode()
    assert "<ID>text/engraving</ID>" in xml and "<ValueString>Anna B</ValueString>" in xml


def test_derived_attributes_may_read_each_other_but_not_in_a_cycle() -> None:
    from bom.model_checks import derived_findings
    from catalog.snapshot import Attribute, AttributeKind, Derivation, Label, Product, Rule

    width = Attribute("width", AttributeKind.INT, Label("Width"), minimum=1, maximum=4)

    def derived(code: str, formula: str) -> Attribute:
        return Attribute(code, AttributeKind.INT, Label(code), minimum=0, maximum=20, derived=Derivation(formula=formula))

    chain = Product(
        "p", Label("P"), Decimal(0), (width,),
        derived=(derived("double", "width * 2"), derived("quad", "double * 2")),
        rules=(Rule("r", Label("r"), text="quad != 8"),),
    )
    assert plain_product(chain).rules[0].text == "width * 2 * 2 != 8"
    assert Configurator(chain, backend="brute").count() == 3
    assert derived_findings(chain, backend="sat") == []
    cycle = Product(
        "p", Label("P"), Decimal(0), (width,), derived=(derived("a", "b + 1"), derived("b", "a + 1")),
    )
    [finding] = derived_findings(cycle, backend="sat")
    assert "cycle: a -> b -> a" in finding.message
