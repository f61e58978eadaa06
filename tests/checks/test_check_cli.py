"""`c2m catalog check`: linter lines at the real positions, exit codes, JSON and JUnit reports; a lazy CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from web.cli import LAZY_COMMANDS, all_commands, main

DATA = Path(__file__).parent / "data"
BROKEN = DATA / "broken.yaml"
GOOD = DATA / "shop-v1.yaml"


def line_of(path: Path, text: str) -> int:
    """1-based line of the first line containing ``text``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["catalog", "check", *args])
    return result.exit_code, result.output


def test_every_problem_of_the_issue_is_an_error_at_its_line() -> None:
    code, out = run(str(BROKEN))
    assert code == 1
    lines = out.splitlines()
    path = str(BROKEN)
    expected = [
        (line_of(BROKEN, "id: too-wide"), "error: bench: bench has no valid configuration", "[void_product]"),
        (line_of(BROKEN, "id: wide-pine-ok"), "error: desk: test wide-pine-ok FAILED", "[golden_test]"),
        (line_of(BROKEN, "id: some-top"), "error: desk: requirement some-top", "[bom_requirement]"),
        (line_of(BROKEN, "{code: teak"), "warning: desk: wood: teak can never be chosen", "[dead_value]"),
    ]
    for line, text, check in expected:
        assert any(
            entry.startswith(f"{path}:{line}:") and text in entry and entry.endswith(check) for entry in lines
        ), (line, text, out)
    assert "3 errors, 1 warning in 1 file" in out


def test_clean_catalog_exits_0_and_prints_no_findings() -> None:
    code, out = run(str(GOOD))
    assert code == 0, out
    assert [line for line in out.splitlines() if ": error:" in line or ": warning:" in line] == []


def test_quiet_prints_errors_only_and_no_summary() -> None:
    code, out = run("--quiet", str(BROKEN))
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 3 and all(": error: " in line for line in lines)


def test_warnings_as_errors(tmp_path: Path) -> None:
    # Only the dead value remains: a warning, exit 0 unless warnings count as errors.
    text = GOOD.read_text(encoding="utf-8").replace(
        "          - {code: pine, name: {en: Pine, zh-CN: 松木}}\n",
        "          - {code: pine, name: {en: Pine, zh-CN: 松木}}\n"
        "          - {code: teak, name: {en: Teak, zh-CN: 柚木}}\n",
    )
    text = text.replace(
        "    prices:\n", "      - {id: no-teak, rule: wood != teak, message: Sold out}\n    prices:\n", 1
    )
    path = tmp_path / "warn.yaml"
    path.write_text(text, encoding="utf-8")
    assert run(str(path))[0] == 0
    assert run("--warnings-as-errors", str(path))[0] == 1


def test_json_report_on_stdout_is_the_only_output() -> None:
    result = CliRunner().invoke(main, ["catalog", "check", "--json", "-", str(BROKEN), str(GOOD)])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["errors"], report["warnings"]) == (3, 1)
    broken, good = report["files"]
    assert good["errors"] == 0 and good["products"][0]["configurations"] == 2 * 5 * 2 - 2 * 2
    void = next(f for f in broken["findings"] if f["check"] == "void_product")
    assert void["line"] == line_of(BROKEN, "id: too-wide") and void["rules"] == ["too-wide"]
    requirement = next(f for f in broken["findings"] if f["check"] == "bom_requirement")
    assert requirement["configuration"]["wood"] == "pine" and requirement["configuration"]["drawer"] is True


def test_junit_report_lists_cases_and_failures(tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    code, _ = run("--junit", str(target), str(BROKEN), str(GOOD))
    assert code == 1
    root = etree.fromstring(target.read_bytes())
    assert root.get("failures") == "3"
    broken = root.find(f"testsuite[@name='{BROKEN}']")
    assert broken is not None and broken.get("failures") == "3"
    failed = sorted(c.get("name") for c in broken.iter("testcase") if c.find("failure") is not None)
    assert failed == ["bom requirement some-top", "golden test wide-pine-ok", "model"]
    good = root.find(f"testsuite[@name='{GOOD}']")
    assert good is not None and good.get("failures") == "0" and int(good.get("tests") or 0) >= 5


def test_unreadable_file_is_an_error_line_and_other_files_are_still_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: c2m-catalog/1\ncode: [\n", encoding="utf-8")
    code, out = run(str(bad), str(GOOD))
    assert code == 1
    assert any(line.startswith(f"{bad}:") and ": error: " in line for line in out.splitlines())
    assert "1 error, 0 warnings in 2 files" in out


def test_feature_model_suffixes_match_the_readers() -> None:
    from catalog.featuremodels import SUFFIXES
    from web.commands.catalog import FEATURE_MODEL_SUFFIXES

    assert FEATURE_MODEL_SUFFIXES == SUFFIXES


def test_lazy_table_matches_the_commands() -> None:
    commands = all_commands()
    assert set(commands) == set(LAZY_COMMANDS)
    for name, command in commands.items():
        assert command.name == name
        assert LAZY_COMMANDS[name][2] == command.get_short_help_str(500), name


@pytest.mark.parametrize(
    "args, absent",
    [
        (["--help"], ["flask", "sqlalchemy", "argon2", "configurator.engine", "lark"]),
        (["catalog", "validate", str(GOOD)], ["flask", "sqlalchemy", "argon2", "antlr4"]),
    ],
)
def test_fast_commands_do_not_import_heavy_modules(args: list[str], absent: list[str]) -> None:
    code = (
        "import sys\n"
        "from web.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        f"print(sorted(m for m in {absent!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


class FakeTerminal:
    def __init__(self, tty: bool) -> None:
        self.tty = tty
        self.text = ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_draws_on_a_terminal_only_and_erases_itself() -> None:
    import time

    from web.commands.progress import Progress, wanted

    assert not wanted(False, FakeTerminal(False))  # type: ignore[arg-type]
    assert not wanted(True, FakeTerminal(True))  # type: ignore[arg-type]
    terminal = FakeTerminal(True)
    assert wanted(False, terminal)  # type: ignore[arg-type]
    with Progress(True, "checking", total=2, stream=terminal) as progress:  # type: ignore[arg-type]
        progress.step("bike")
        time.sleep(0.35)
    assert "checking bike (1/2)" in terminal.text
    assert terminal.text.endswith("\r")  # the line is blanked at the end
    silent = FakeTerminal(True)
    with Progress(False, "checking", stream=silent) as progress:  # type: ignore[arg-type]
        progress.step("bike")
    assert silent.text == ""


def test_a_rule_too_large_for_the_redundancy_check_is_reported_not_fatal() -> None:
    from decimal import Decimal

    from catalog.snapshot import Attribute, AttributeKind, Label, Product, Rule
    from configurator.checks import Severity, check_product

    digits = tuple(Attribute(f"d{i}", AttributeKind.INT, Label(f"d{i}"), minimum=0, maximum=9) for i in range(6))
    product = Product(
        "p",
        Label("P"),
        Decimal("1"),
        digits,
        rules=(Rule("digits", Label("sum"), text=" + ".join(f"d{i}" for i in range(6)) + " == 27"),),
    )
    report = check_product(product, backend="sat")
    (skipped,) = [f for f in report.findings if f.check == "redundant_rule"]
    assert skipped.severity is Severity.INFO and "redundancy not checked" in skipped.message
    assert not report.errors
