"""`c2m configure` and `c2m model stats`: JSON shape, human table, exit codes, error messages."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from web.commands.configure import configure, model

CATALOG = """\
format: c2m-catalog/1
code: shop
name: {en: Shop, zh-CN: 商店}
currency: CNY
products:
  - code: bike
    name: {en: Bike, zh-CN: 自行车}
    base_price: "1000.00"
    attributes:
      - {code: frame, name: {en: Frame, zh-CN: 车架}, type: enum, default: steel,
         values: [{code: steel, name: {en: Steel, zh-CN: 钢}}, {code: carbon, name: {en: Carbon, zh-CN: 碳纤维}}]}
      - {code: rack, name: {en: Rack, zh-CN: 货架}, type: bool}
      - {code: gears, name: {en: Gears, zh-CN: 变速}, type: int, min: 1, max: 3}
      - {code: accessories, name: {en: Accessories, zh-CN: 配件}, type: set, max_count: 2,
         values: [{code: bell, name: Bell}, {code: lock, name: Lock}, {code: lights, name: Lights}]}
    rules:
      - id: carbon-no-rack
        rule: frame == carbon -> not rack
        message: {en: "Carbon frames cannot carry a rack.", zh-CN: "碳纤维车架不能安装货架。"}
    prices:
      - {id: carbon, when: frame == carbon, add: "800.00", label: {en: Carbon frame, zh-CN: 碳纤维车架}}
      - {id: lights, when: "has(accessories, lights)", add: "50", label: Lights}
"""


@pytest.fixture
def catalog_file(tmp_path: Path) -> str:
    path = tmp_path / "shop.yaml"
    path.write_text(CATALOG, encoding="utf-8")
    return str(path)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(configure, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_json_state_has_the_contract_fields(catalog_file: str) -> None:
    code, out, err = run("bike", "--catalog", catalog_file, "--set", "frame=carbon", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["attributes"]["rack"] == {**doc["attributes"]["rack"], "possible": [False], "value": False,
                                         "source": "implied"}
    assert doc["attributes"]["frame"]["source"] == "user"
    assert doc["attributes"]["gears"]["value"] is None
    assert doc["conflict"] is None
    assert doc["price"]["total"] == "1800.00"
    assert doc["price"]["lines"][0]["rule_id"] == "carbon"
    assert doc["complete"] is False
    assert doc["count"] == 3 * 7  # gears x accessory subsets of at most 2
    unavailable = doc["attributes"]["rack"]["unavailable"]
    assert unavailable == [{"value": True, "decisions": ["frame=carbon"],
                            "rules": [{"id": "carbon-no-rack", "message": "Carbon frames cannot carry a rack."}]}]


def test_set_values_are_comma_separated_and_elements_toggle(catalog_file: str) -> None:
    code, out, _ = run("bike", "--catalog", catalog_file, "--set", "accessories=bell,lights", "--json")
    assert code == 0
    acc = json.loads(out)["attributes"]["accessories"]
    assert acc["value"] == ["bell", "lights"] and acc["source"] == "user"
    code, out, _ = run("bike", "--catalog", catalog_file, "--set", "accessories=+lights", "--json")
    doc = json.loads(out)
    assert doc["price"]["total"] == "1050.00"
    assert doc["attributes"]["accessories"]["value"] is None


def test_lang_zh_cn_translates_messages(catalog_file: str) -> None:
    _, out, _ = run("bike", "--catalog", catalog_file, "--set", "frame=carbon", "--json", "--lang", "zh-CN")
    doc = json.loads(out)
    assert doc["attributes"]["rack"]["unavailable"][0]["rules"][0]["message"] == "碳纤维车架不能安装货架。"
    assert doc["attributes"]["frame"]["label"] == "车架"


def test_conflict_exits_1_with_the_state_and_a_message(catalog_file: str) -> None:
    code, out, err = run("bike", "--catalog", catalog_file, "--set", "rack=true", "--set", "frame=carbon", "--json")
    assert code == 1
    doc = json.loads(out)
    assert doc["conflict"] == {
        "decisions": ["rack=true", "frame=carbon"],
        "rules": [{"id": "carbon-no-rack", "message": "Carbon frames cannot carry a rack."}],
        "dropped": ["rack=true"],
    }
    assert "conflicting decisions rack=true, frame=carbon" in err


def test_human_table_shows_values_sources_and_greyed_reasons(catalog_file: str) -> None:
    code, out, _ = run("bike", "--catalog", catalog_file, "--set", "frame=carbon")
    assert code == 0
    assert "frame        carbon  user" in out
    assert "not true: Carbon frames cannot carry a rack. (because frame=carbon)" in out
    assert "total 1800.00 CNY" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "fram=carbon"], "has no attribute 'fram'; did you mean frame?"),
        (["--set", "gears=9"], "invalid value '9' for attribute 'gears': allowed an integer 1..3"),
        (["--set", "accessories=horn"], "allowed a comma-separated subset of {bell, lock, lights}"),
        (["--set", "rack"], "expected ATTR=VALUE"),
    ],
)
def test_bad_input_exits_1_with_a_clear_message(catalog_file: str, args: list[str], message: str) -> None:
    code, out, err = run("bike", "--catalog", catalog_file, *args)
    assert code == 1 and out == ""
    assert message in err


def test_unknown_product_suggests_codes(catalog_file: str) -> None:
    code, _, err = run("bik", "--catalog", catalog_file)
    assert code == 1
    assert "no product 'bik'; did you mean bike?" in err


def test_catalog_problems_are_file_line_column_lines(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(CATALOG.replace("frame == carbon -> not rack", "frame == titanium -> not rack"), encoding="utf-8")
    code, _, err = run("bike", "--catalog", str(bad))
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith(f"{bad}:")
    file_, line, column, _ = first.split(":", 3)
    assert int(line) > 0 and int(column) > 0
    assert "titanium" in first


def test_model_stats_reports_backend_and_count(catalog_file: str) -> None:
    result = CliRunner().invoke(model, ["stats", "bike", "--catalog", catalog_file, "--backend", "sat", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["backend"] == "sat" and doc["variables"] == 6 and doc["count"] == 63
    assert doc["rules"] == 2  # carbon-no-rack and accessories:count
    human = CliRunner().invoke(model, ["stats", "bike", "--catalog", catalog_file])
    assert "nodes" in human.stdout and "count           63" in human.stdout
    assert "backend choice  using mdd" in human.stdout


def test_model_stats_shows_why_auto_passed_over_the_decision_diagram(
    catalog_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the diagram exceeds its budget, "auto" compiles the d-DNNF and says why."""
    from configurator.backends import ddnnf, select

    if not ddnnf.available():
        pytest.skip("the d4 compiler (PyPI d4solver) is not installed")
    from collections import OrderedDict

    from configurator import engine
    from configurator.backends import mdd

    monkeypatch.setattr(select, "AUTO_MDD_TIME_BUDGET_S", 0.0)
    monkeypatch.setattr(engine, "_cache", OrderedDict())  # compile afresh, not the cached diagram
    monkeypatch.setattr(mdd, "_cache", OrderedDict())
    result = CliRunner().invoke(model, ["stats", "bike", "--catalog", catalog_file, "--json"])
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["backend"] == "ddnnf" and doc["count"] == 63 and doc["nodes"] > 0
    assert doc["choice"][0].startswith("mdd: time budget of 0 s exceeded")
    assert doc["choice"][-1] == "using ddnnf"


DEMO = Path(__file__).resolve().parents[2] / "catalog" / "demo" / "city-bikes.yaml"


def test_demo_catalog_configures(tmp_path: Path) -> None:
    if not DEMO.exists():
        pytest.skip("demo catalog not present")
    code, out, err = run("city-ebike", "--catalog", str(DEMO), "--set", "frame_material=carbon", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["attributes"]["frame_material"]["value"] == "carbon"
    assert doc["count"] > 0
