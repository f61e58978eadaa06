from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from bom_package.bom_testcatalog import make_catalog
from catalog.files import dump_catalog
from web.cli import main

DEMO = Path(__file__).resolve().parents[2] / "catalog" / "demo" / "city-bikes.yaml"
FULL = [
    "--set",
    "frame_material=steel",
    "--set",
    "gears=8",
    "--set",
    "rack=true",
    "--set",
    "accessories=bell,lights",
    "--set",
    "shelves=2",
    "--set",
    "shelf_depth=300",
    "--set",
    "finish=painted",
]


@pytest.fixture(scope="module")
def catalog_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("cli") / "bikes.yaml"
    path.write_text(dump_catalog(make_catalog(), "yaml"), encoding="utf-8")
    return str(path)


def _run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_bom_json_to_stdout(catalog_file):
    result = _run("bom", "cargo-bike", "--catalog", catalog_file, *FULL, "--quantity", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout_bytes)
    assert data["quantity"] == 2
    assert data["configuration"]["accessories"] == ["bell", "lights"]


@pytest.mark.parametrize(("fmt", "first"), [("csv", "level"), ("csv-flat", "item")])
def test_bom_csv_formats(catalog_file, fmt, first):
    result = _run("bom", "cargo-bike", "--catalog", catalog_file, *FULL, "--format", fmt)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8"))))
    assert rows[0][0] == first and len(rows) > 3


def test_bom_b2mml(catalog_file):
    result = _run("bom", "cargo-bike", "--catalog", catalog_file, *FULL, "--format", "b2mml")
    assert result.exit_code == 0, result.output
    root = etree.fromstring(
        result.stdout_bytes, parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )
    assert root.tag.endswith("OperationsDefinitionInformation")


def test_incomplete_configuration_is_an_error_listing_what_is_missing(catalog_file):
    result = _run("bom", "cargo-bike", "--catalog", catalog_file, "--set", "gears=3")
    assert result.exit_code == 1
    assert "missing: frame_material, rack, accessories, shelves, shelf_depth, finish" in result.stderr


def test_complete_fills_the_rest_with_the_configurator(catalog_file):
    result = _run("bom", "cargo-bike", "--catalog", catalog_file, "--set", "gears=3", "--complete")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout_bytes)
    assert data["configuration"]["gears"] == 3
    assert data["configuration"]["frame_material"] == "aluminium"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--set", "gears=thirteen"], "invalid value 'thirteen' for attribute 'gears'"),
        (["--set", "colour=red"], "has no attribute 'colour'"),
        (["--set", "gears"], "expected ATTR=VALUE"),
    ],
)
def test_bad_settings_exit_1_with_a_message(catalog_file, args, message):
    result = _run("bom", "cargo-bike", "--catalog", catalog_file, *args)
    assert result.exit_code == 1
    assert message in result.stderr


def test_rule_violation_and_unknown_product_and_missing_file(catalog_file, tmp_path):
    result = _run("bom", "cargo-bike", "--catalog", catalog_file, *FULL, "--set", "gears=11")
    assert result.exit_code == 1 and "steel-gears" in result.stderr
    result = _run("bom", "unicycle", "--catalog", catalog_file)
    assert result.exit_code == 1 and "unknown product 'unicycle'" in result.stderr
    result = _run("bom", "cargo-bike", "--catalog", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 1 and "cannot read" in result.stderr


def test_production_order_json_and_b2mml(catalog_file):
    args = ["production-order", "cargo-bike", "--catalog", catalog_file, *FULL, "--due", "2025-03-14"]
    result = _run(*args, "--today", "2025-03-12")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout_bytes)
    assert data["number"].startswith("PO-20250314-")
    assert data["catalog_version"] == "file" and len(data["catalog_hash"]) == 64
    assert data["feasibility"]["due_date_reachable"] is False
    result = _run(*args, "--format", "b2mml", "--number", "PO-7")
    assert result.exit_code == 0, result.stderr
    root = etree.fromstring(
        result.stdout_bytes, parser=etree.XMLParser(resolve_entities=False, no_network=True)
    )
    assert root.tag.endswith("OperationsSchedule")


def test_production_order_rejects_a_bad_due_date(catalog_file):
    result = _run("production-order", "cargo-bike", "--catalog", catalog_file, *FULL, "--due", "14/03/2025")
    assert result.exit_code == 1
    assert "--due '14/03/2025': expected a date YYYY-MM-DD" in result.stderr


def test_zero_quantity_is_rejected(catalog_file):
    result = _run("bom", "cargo-bike", "--catalog", catalog_file, *FULL, "--quantity", "0")
    assert result.exit_code == 1
    assert "positive integer" in result.stderr


@pytest.mark.skipif(not DEMO.exists(), reason="demo catalog not present")
def test_demo_catalog_with_complete(tmp_path):
    result = _run(
        "production-order",
        "city-ebike",
        "--catalog",
        str(DEMO),
        "--complete",
        "--due",
        "2025-06-30",
        "--format",
        "b2mml",
    )
    assert result.exit_code == 0, result.stderr
