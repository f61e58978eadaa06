"""`c2m catalog import --publish` stores the compiled models; `c2m model prepare|artifacts` show and load them."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from web.commands import catalog as catalog_commands
from web.commands import configure as configure_commands
from web.commands import db as db_commands

main = click.Group(
    "c2m", commands=[*db_commands.COMMANDS, *catalog_commands.COMMANDS, *configure_commands.COMMANDS]
)
VALID = Path(__file__).resolve().parent / "data" / "bikes.yaml"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_publishing_stores_compiled_models_that_a_fresh_cache_loads(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without a job engine the command prepares the models itself (with one, a job does).
    monkeypatch.delenv("C2M_BROKER_URL", raising=False)
    monkeypatch.delenv("C2M_REDIS_URL", raising=False)
    assert run("db", "upgrade", "--url", database_url).exit_code == 0
    document = yaml.safe_load(VALID.read_text(encoding="utf-8"))
    code = f"bikes-{uuid.uuid4().hex[:8]}"
    document["code"] = code
    source = tmp_path / "bikes.yaml"
    source.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    published = run("catalog", "import", source, "--publish", "--skip-checks", "--reason", "test", "--url", database_url)
    assert published.exit_code == 0, published.output
    products = [p["code"] for p in document["products"]]
    # Compiled once, by the compile guard, which keeps its artifacts: preparing finds them stored.
    assert f"models compiled and stored while checking: {', '.join(products)}" in published.output
    for product in products:
        assert f"model {product}: stored" in published.output
    listed = run("model", "artifacts", "--catalog", code, "--verify", "--json", "--url", database_url)
    assert listed.exit_code == 0, listed.output
    doc = json.loads(listed.output)
    assert sorted(m["model"].split(":", 1)[1] for m in doc["models"]) == sorted(products)
    assert all(m["status"] == "ready" and m["verify"] == "ok" for m in doc["models"])
    assert doc["cache"]["artifact_loads"] == len(products) and doc["cache"]["compiles"] == 0
    again = run("model", "prepare", code, "--url", database_url)
    assert again.exit_code == 0, again.output
    assert all(line.split()[1] == "stored" for line in again.output.splitlines())
