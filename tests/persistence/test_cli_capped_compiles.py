"""The command line compiles product models as a compile job does: in a child process capped in address
space (``C2M_COMPILE_MEMORY_MB``), time (``C2M_COMPILE_JOB_BUDGET_S``) and nodes
(``C2M_COMPILE_NODE_BUDGET``), never in its own process.

- ``c2m model prepare`` and compile-on-publish of ``c2m catalog import --publish`` (without a job
  engine) store a model over a limit as ``failed`` naming the product, the model key and the limit,
  and exit 1 saying so;
- within the limits the model is compiled in the child and stored ``ready``, the command's process
  compiling nothing;
- the priced part of a model (the model with price auxiliaries, stored in the same artifact) compiles
  within the same budget as the model: over it, the model is refused or stored ``failed`` naming the
  priced part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from catalog.demo import demo_catalog_paths
from configurator import engine
from tests.admin.conftest import BOXES
from usecases import compiled_models
from usecases.compile_guard import GuardReport
from usecases.records import CompiledModelRecord
from usecases.settings import set_settings_source
from web.commands import catalog as catalog_commands
from web.commands import configure as configure_commands

main = click.Group("c2m", commands=[*catalog_commands.COMMANDS, *configure_commands.COMMANDS])
WARDROBES = next(p for p in demo_catalog_paths() if p.name == "wardrobes.yaml")
PRICED_NODE_BUDGET = "20000"
"""Enough decision-diagram nodes for the models of the wardrobes (modular-wardrobe: about 5,400), not for
the priced part of modular-wardrobe (about 50,000)."""

LIMITS = pytest.mark.parametrize(
    ("env", "limit"),
    [
        ({"C2M_COMPILE_MEMORY_MB": "64"}, "memory budget of 64 MB"),
        ({"C2M_COMPILE_JOB_BUDGET_S": "1e-9"}, "time budget of 1e-09 s"),
    ],
    ids=["memory", "time"],
)


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No job engine (the command compiles itself), the decision diagram (a time budget it cannot
    meet is not rescued by the SAT fallback of "auto"); the settings the commands install are removed
    after the test."""
    for name in ("C2M_BROKER_URL", "C2M_REDIS_URL", "C2M_COMPILE_MEMORY_MB", "C2M_COMPILE_JOB_BUDGET_S",
                 "C2M_COMPILE_NODE_BUDGET", "C2M_COMPILE_BUDGET_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("C2M_SOLVER_BACKEND", "mdd")
    yield
    set_settings_source(lambda: None)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _boxes(tmp_path: Path) -> Path:
    path = tmp_path / "boxes.yaml"
    path.write_text(BOXES, encoding="utf-8")
    return path


def _imported(source: Path, url: str, *options: str) -> tuple[Result, str]:
    """``c2m catalog import`` and the content hash it printed."""
    result = run("catalog", "import", source, *options, "--url", url)
    found = re.search(r"sha256 ([0-9a-f]{64})", result.output)
    return result, found.group(1) if found else ""


def _published(source: Path, url: str) -> str:
    """Import and publish ``source`` within the default limits (its models stored by the publish
    guard); its content hash."""
    result, content_hash = _imported(source, url, "--publish", "--skip-checks", "--reason", "test")
    assert result.exit_code == 0, result.output
    return content_hash


def _rows(url: str) -> dict[str, CompiledModelRecord]:
    eng = make_engine(url)
    try:
        with Session(eng, expire_on_commit=False) as session:
            return {row.product_code: row for row in session.scalars(select(CompiledModelRecord))}
    finally:
        eng.dispose()


def _no_compiling_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any compilation in this process from here on fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("compiled a model in the command's own process")

    monkeypatch.setattr(engine, "_compiled", refuse)
    monkeypatch.setattr(engine, "_priced_backend", refuse)
    monkeypatch.setattr(compiled_models, "_compile", refuse)


def _guard_kept_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A publish guard that kept no artifact (as one whose artifacts were lost, or written under
    another backend): compile-on-publish has the models to compile."""
    import usecases.publishing

    monkeypatch.setattr(usecases.publishing, "check_catalog_compiles", lambda *a, **k: GuardReport(0.0))


@LIMITS
def test_model_prepare_over_a_limit_stores_the_model_failed_and_exits_1(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], limit: str
) -> None:
    content_hash = _published(_boxes(tmp_path), migrated_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    prepared = run("model", "prepare", "boxes", "--version", "1", "--force", "--url", migrated_url)
    key = f"{content_hash}:box"
    assert prepared.exit_code == 1, prepared.output
    assert "error: catalog 'boxes' v1: 1 model(s) not compiled" in prepared.stderr
    assert "product 'box'" in prepared.stderr and key in prepared.stderr and limit in prepared.stderr
    row = _rows(migrated_url)["box"]
    assert row.status == "failed" and row.artifact_sha256 is None
    assert key in (row.detail or "") and limit in (row.detail or "")


def test_model_prepare_within_the_limits_compiles_in_a_child_not_in_the_command(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _published(_boxes(tmp_path), migrated_url)
    monkeypatch.setenv("C2M_COMPILE_MEMORY_MB", "4096")
    _no_compiling_here(monkeypatch)
    stored = run("model", "prepare", "boxes", "--url", migrated_url)
    assert stored.exit_code == 0 and stored.output.split()[:2] == ["box", "stored"], stored.output
    prepared = run("model", "prepare", "boxes", "--force", "--url", migrated_url)
    assert prepared.exit_code == 0, prepared.output
    assert prepared.output.split()[:3] == ["box", "ready", "mdd"]
    row = _rows(migrated_url)["box"]
    assert (row.status, row.compiled_backend, row.detail) == ("ready", "mdd", None)


@LIMITS
def test_compile_on_publish_of_the_command_line_over_a_limit_stores_the_model_failed_and_exits_1(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], limit: str
) -> None:
    _guard_kept_nothing(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    published, content_hash = _imported(_boxes(tmp_path), migrated_url, "--publish")
    key = f"{content_hash}:box"
    assert published.exit_code == 1, published.output
    assert f"published boxes version 1, 1 products, sha256 {content_hash}" in published.stdout
    assert "model box: failed" in published.stdout
    assert "error: catalog 'boxes' v1: 1 model(s) not compiled" in published.stderr
    assert "product 'box'" in published.stderr and key in published.stderr and limit in published.stderr
    row = _rows(migrated_url)["box"]
    assert row.status == "failed" and key in (row.detail or "") and limit in (row.detail or "")


def test_compile_on_publish_of_the_command_line_compiles_in_a_child_not_in_the_command(
    migrated_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _guard_kept_nothing(monkeypatch)
    _no_compiling_here(monkeypatch)
    published, _ = _imported(_boxes(tmp_path), migrated_url, "--publish", "--skip-checks", "--reason", "test")
    assert published.exit_code == 0, published.output
    assert "model box: ready (mdd" in published.output
    assert _rows(migrated_url)["box"].status == "ready"


def test_model_prepare_compiles_the_priced_part_within_the_node_budget(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    content_hash = _published(WARDROBES, migrated_url)
    monkeypatch.setenv("C2M_COMPILE_NODE_BUDGET", PRICED_NODE_BUDGET)
    prepared = run("model", "prepare", "foshan-wardrobes", "--force", "--url", migrated_url)
    key = f"{content_hash}:modular-wardrobe"
    assert prepared.exit_code == 1, prepared.output
    assert "1 model(s) not compiled" in prepared.stderr
    assert key in prepared.stderr and "node budget of 20,000 nodes" in prepared.stderr
    assert "priced part" in prepared.stderr
    rows = _rows(migrated_url)
    assert rows["pax-system"].status == "ready"  # its priced part fits: one failure stops nothing else
    assert rows["modular-wardrobe"].status == "failed" and "priced part" in (rows["modular-wardrobe"].detail or "")


def test_the_publish_guard_refuses_a_priced_part_over_the_node_budget(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C2M_COMPILE_NODE_BUDGET", PRICED_NODE_BUDGET)
    published = run("catalog", "import", WARDROBES, "--publish", "--skip-checks", "--reason", "test",
                    "--url", migrated_url)
    assert published.exit_code == 1, published.output
    assert "product 'modular-wardrobe'" in published.output and "node budget of 20,000 nodes" in published.output
    assert "priced part" in published.output
    assert "published" not in published.stdout
    assert "modular-wardrobe" not in _rows(migrated_url)
