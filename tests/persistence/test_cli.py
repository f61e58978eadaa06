"""The `c2m db` and `c2m catalog` commands, run through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner, Result

from catalog.files import load_catalog_file, load_catalog_text
from web.commands import catalog as catalog_commands
from web.commands import db as db_commands

# The two command groups under test, mounted as web/cli.py mounts them, without
# importing the other packages' commands.
main = click.Group("c2m", commands=[*db_commands.COMMANDS, *catalog_commands.COMMANDS])

DATA = Path(__file__).resolve().parent / "data"
VALID = DATA / "bikes.yaml"
INVALID = DATA / "invalid.yaml"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def upgraded_url(database_url: str) -> str:
    result = run("db", "upgrade", "--url", database_url)
    assert result.exit_code == 0, result.output
    return database_url


# ---------------------------------------------------------------- validate


def test_validate_prints_ok_and_exits_0_for_valid_files() -> None:
    result = run("catalog", "validate", VALID)
    assert result.exit_code == 0
    assert result.output == f"{VALID}: ok\n"


def test_validate_prints_one_line_per_problem_and_checks_every_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    result = run("catalog", "validate", INVALID, VALID, missing)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines == [
        f"{INVALID}:4:11: currency: 'yuan' is not a 3-letter ISO 4217 currency code such as CNY or EUR",
        f"{INVALID}:12:52: products[0].attributes[0].min: empty domain: min 9 is greater than max 1",
        f"{VALID}: ok",
        f"{missing}:0:0: cannot read the file: No such file or directory",
    ]


def test_validate_reports_bad_rule_text_when_the_rule_checker_is_available(tmp_path: Path) -> None:
    pytest.importorskip(
        "configurator.rules.catalog_check", reason="the configurator's rule checker is not present"
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text(VALID.read_text(encoding="utf-8").replace("gears <= 5", "gears <= "), encoding="utf-8")
    result = run("catalog", "validate", broken)
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert line.startswith(f"{broken}:25:")
    assert "products[0].rules[0].rule" in line


# ---------------------------------------------------------------- db upgrade


def test_db_upgrade_creates_the_schema_and_reports_the_revision(database_url: str) -> None:
    from catalog.db import head_revisions

    result = run("db", "upgrade", "--url", database_url)
    assert result.exit_code == 0, result.output
    assert result.output == f"database at revision {', '.join(head_revisions())}\n"
    assert run("db", "upgrade", "--url", database_url).exit_code == 0  # idempotent


def test_db_upgrade_creates_the_folder_of_a_sqlite_file(tmp_path: Path) -> None:
    target = tmp_path / "instance" / "c2m.sqlite"
    result = run("db", "upgrade", "--url", f"sqlite:///{target}")
    assert result.exit_code == 0, result.output
    assert target.exists()


def test_url_defaults_to_c2m_database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "from-env.sqlite"
    monkeypatch.setenv("C2M_DATABASE_URL", f"sqlite:///{target}")
    assert run("db", "upgrade").exit_code == 0
    assert run("catalog", "import", VALID).exit_code == 0
    assert "bikes" in run("catalog", "list").output
    assert target.exists()


@pytest.mark.parametrize(
    "args", [("list",), ("export", "bikes"), ("import", VALID)], ids=["list", "export", "import"]
)
def test_commands_on_a_database_without_tables_ask_for_an_upgrade(
    database_url: str, args: tuple[str, ...]
) -> None:
    result = run("catalog", *args, "--url", database_url)
    assert result.exit_code == 1
    assert "database not initialised: run c2m db upgrade" in result.output


def test_commands_leave_no_sqlite_file_behind_when_the_database_is_missing(tmp_path: Path) -> None:
    target = tmp_path / "nothing.sqlite"
    result = run("catalog", "list", "--url", f"sqlite:///{target}")
    assert result.exit_code == 1
    assert "database not initialised: run c2m db upgrade" in result.output
    assert not target.exists()


# ---------------------------------------------------------------- import, list, export


def test_import_stores_a_draft_and_list_shows_it(upgraded_url: str) -> None:
    result = run("catalog", "import", VALID, "--url", upgraded_url)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("imported bikes version 1 (draft), 2 products, sha256 ")
    listing = run("catalog", "list", "--url", upgraded_url).output.splitlines()
    assert listing[0].split() == ["CODE", "NAME", "VERSIONS", "IN", "FORCE", "LATEST", "DRAFT"]
    assert listing[1].split() == ["bikes", "Bikes", "1", "-", "1", "1"]


def test_import_with_publish_then_export_round_trips(upgraded_url: str, tmp_path: Path) -> None:
    assert run("catalog", "import", VALID, "--publish", "--url", upgraded_url).exit_code == 0
    out = tmp_path / "exported.yaml"
    result = run("catalog", "export", "bikes", "-o", out, "--url", upgraded_url)
    assert result.exit_code == 0, result.output
    assert load_catalog_file(out) == load_catalog_file(VALID)
    listing = run("catalog", "list", "--url", upgraded_url).output.splitlines()
    assert listing[1].split() == ["bikes", "Bikes", "1", "1", "1", "-"]


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_to_stdout_in_either_format(upgraded_url: str, fmt: str) -> None:
    run("catalog", "import", VALID, "--url", upgraded_url)
    result = run("catalog", "export", "bikes", "--version", "1", "--format", fmt, "--url", upgraded_url)
    assert result.exit_code == 0, result.output
    parsed = json.loads(result.output) if fmt == "json" else yaml.safe_load(result.output)
    assert parsed["code"] == "bikes"
    assert load_catalog_text(result.output, filename=f"out.{fmt}") == load_catalog_file(VALID)


def test_export_format_follows_the_output_extension(upgraded_url: str, tmp_path: Path) -> None:
    run("catalog", "import", VALID, "--publish", "--url", upgraded_url)
    out = tmp_path / "bikes.json"
    assert run("catalog", "export", "bikes", "-o", out, "--url", upgraded_url).exit_code == 0
    assert json.loads(out.read_text(encoding="utf-8"))["code"] == "bikes"


def test_import_of_an_invalid_file_prints_problems_and_writes_nothing(upgraded_url: str) -> None:
    result = run("catalog", "import", INVALID, "--url", upgraded_url)
    assert result.exit_code == 1
    assert result.output.splitlines()[0].startswith(f"{INVALID}:4:11: currency:")
    assert run("catalog", "list", "--url", upgraded_url).output == "no catalogs\n"


def test_export_of_an_unknown_catalog_or_version_fails_clearly(upgraded_url: str) -> None:
    result = run("catalog", "export", "nope", "--url", upgraded_url)
    assert result.exit_code == 1 and "catalog 'nope' not found" in result.output
    run("catalog", "import", VALID, "--url", upgraded_url)
    result = run("catalog", "export", "bikes", "--url", upgraded_url)
    assert result.exit_code == 1 and "no published version in force" in result.output
    result = run("catalog", "export", "bikes", "--version", "4", "--url", upgraded_url)
    assert result.exit_code == 1 and "version 4 of catalog 'bikes' not found" in result.output


def test_publish_archive_and_versions_commands(upgraded_url: str) -> None:
    run("catalog", "import", VALID, "--url", upgraded_url)
    assert run("catalog", "publish", "bikes", "1", "--url", upgraded_url).exit_code == 0
    again = run("catalog", "publish", "bikes", "1", "--url", upgraded_url)
    assert again.exit_code == 1 and "is published and cannot be published again" in again.output
    assert (
        run("catalog", "archive", "bikes", "1", "--url", upgraded_url).output == "archived bikes version 1\n"
    )
    rows = run("catalog", "versions", "bikes", "--url", upgraded_url).output.splitlines()
    assert rows[1].split()[:2] == ["1", "archived"]
    assert rows[1].split()[-1] == "bikes.yaml"
