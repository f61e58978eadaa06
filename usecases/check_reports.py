"""Catalog check reports in the formats pipelines read: linter lines, JSON and JUnit XML.

One finding is one line ``FILE:LINE:COL: severity: product: message [check]``,
the way ruff, eslint (unix format) and compilers print, so editors and CI
annotate the right line. JSON is the machine form (also what the API returns
and what is stored with a published version); JUnit XML has one test case per
product and check, so GitHub and GitLab list what passed and what failed.

Nothing here imports Flask: the command line uses it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalog.snapshot import SourceLoc
from configurator.checks import CatalogReport, Finding, Severity

__all__ = [
    "CheckedFile",
    "finding_json",
    "finding_line",
    "junit_xml",
    "location",
    "report_json",
    "summary_text",
]


@dataclass(frozen=True, slots=True)
class CheckedFile:
    """The checks of one catalog file: ``problems`` when it could not be read (then no ``report``)."""

    path: str
    report: CatalogReport | None
    problems: tuple[tuple[SourceLoc | None, str], ...] = ()
    product_locs: Mapping[str, SourceLoc] | None = None

    def findings(self) -> tuple[Finding, ...]:
        return self.report.all_findings() if self.report is not None else ()

    def count(self, severity: Severity) -> int:
        own = sum(1 for f in self.findings() if f.severity is severity)
        return own + (len(self.problems) if severity is Severity.ERROR else 0)


def location(finding: Finding, path: str, product_locs: Mapping[str, SourceLoc] | None = None) -> SourceLoc:
    """Where a finding points: its own position, else its product's, else the top of the file."""
    if finding.loc is not None:
        return finding.loc
    if product_locs and finding.product in product_locs:
        return product_locs[finding.product]
    return SourceLoc(path, 1, 1)


def finding_line(finding: Finding, path: str, product_locs: Mapping[str, SourceLoc] | None = None) -> str:
    """The linter line of a finding.

    >>> f = Finding("dead_value", Severity.WARNING, "bike", "frame=carbon", "frame: carbon can never be chosen",
    ...             loc=SourceLoc("shop.yaml", 12, 9))
    >>> finding_line(f, "shop.yaml")
    'shop.yaml:12:9: warning: bike: frame: carbon can never be chosen [dead_value]'
    """
    loc = location(finding, path, product_locs)
    return f"{loc.file}:{loc.line}:{loc.column}: {finding.severity.value}: {finding.product}: {finding.message} [{finding.check}]"


def finding_json(
    finding: Finding, path: str, product_locs: Mapping[str, SourceLoc] | None = None
) -> dict[str, Any]:
    """A finding as JSON (values of a configuration as strings, sets as sorted lists)."""
    loc = location(finding, path, product_locs)
    return {
        "file": loc.file,
        "line": loc.line,
        "column": loc.column,
        "severity": finding.severity.value,
        "check": finding.check,
        "product": finding.product,
        "subject": finding.subject,
        "message": finding.message,
        "msgid": finding.msgid or None,
        "params": dict(finding.params),
        "configuration": {code: _json_value(value) for code, value in finding.configuration},
        "rules": list(finding.rules),
    }


def _json_value(value: object) -> object:
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def report_json(files: Sequence[CheckedFile]) -> dict[str, Any]:
    """The JSON report of ``c2m catalog check``: per file, products with counts and every finding."""
    out: list[dict[str, Any]] = []
    for checked in files:
        findings: list[dict[str, Any]] = [
            {
                "file": loc.file if loc else checked.path,
                "line": loc.line if loc else 0,
                "column": loc.column if loc else 0,
                "severity": "error",
                "check": "catalog_file",
                "product": None,
                "subject": None,
                "message": message,
                "configuration": {},
                "rules": [],
            }
            for loc, message in checked.problems
        ]
        findings += [finding_json(f, checked.path, checked.product_locs) for f in checked.findings()]
        report = checked.report
        out.append(
            {
                "file": checked.path,
                "catalog": report.catalog if report else None,
                "products": [
                    {
                        "code": p.product,
                        "configurations": p.count,
                        "previous_configurations": p.previous_count,
                        "seconds": round(sum(s for _, s in p.timings), 3),
                    }
                    for p in (report.products if report else ())
                ],
                "errors": checked.count(Severity.ERROR),
                "warnings": checked.count(Severity.WARNING),
                "findings": findings,
            }
        )
    return {
        "errors": sum(f["errors"] for f in out),
        "warnings": sum(f["warnings"] for f in out),
        "files": out,
    }


def summary_text(files: Sequence[CheckedFile], seconds: float) -> str:
    """``2 errors, 1 warning in 3 files (5 products, 1.2 s)``."""
    errors = sum(f.count(Severity.ERROR) for f in files)
    warnings = sum(f.count(Severity.WARNING) for f in files)
    products = sum(len(f.report.products) for f in files if f.report is not None)
    return (
        f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')} in {_plural(len(files), 'file')} "
        f"({_plural(products, 'product')}, {seconds:.1f} s)"
    )


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# Test cases of the JUnit report: one per product and check family; golden tests
# and BOM requirements one per test / requirement, so CI lists them by name.
_FAMILIES = {
    "void_product": "model",
    "check_failed": "model",
    "dead_value": "values",
    "forced_value": "values",
    "redundant_rule": "redundant rules",
    "bom_item": "bom items",
    "bom_quantity": "bom quantities",
    "count_change": "model",
    "product_change": "catalog",
}


def _case_name(finding: Finding) -> str:
    if finding.check == "golden_test":
        return f"golden test {finding.subject}"
    if finding.check == "bom_requirement":
        return f"bom requirement {finding.subject}"
    return _FAMILIES.get(finding.check, finding.check)


def junit_xml(files: Sequence[CheckedFile]) -> bytes:
    """JUnit XML: a test suite per file, a test case per product and check; errors are failures,
    warnings are printed in the case's ``system-out`` (they do not fail the case)."""
    from lxml import etree

    root = etree.Element("testsuites", name="c2m catalog check")
    total_tests = total_failures = 0
    for checked in files:
        suite = etree.SubElement(root, "testsuite", name=checked.path)
        cases: dict[tuple[str, str], list[Finding]] = {}
        if checked.report is not None:
            for product in checked.report.products:
                for name in ("model", "values", "redundant rules", "bom items", "bom quantities"):
                    cases[(product.product, name)] = []
        for finding in checked.findings():
            cases.setdefault((finding.product, _case_name(finding)), []).append(finding)
        tests = failures = 0
        if checked.problems:
            tests += 1
            failures += 1
            case = etree.SubElement(suite, "testcase", classname=checked.path, name="catalog file")
            failure = etree.SubElement(
                case, "failure", message=f"{len(checked.problems)} problem(s) in the file"
            )
            failure.text = "\n".join(_problem_line(checked.path, loc, m) for loc, m in checked.problems)
        for (code, name), findings in cases.items():
            tests += 1
            case = etree.SubElement(suite, "testcase", classname=f"{checked.path}.{code}", name=name)
            errors = [f for f in findings if f.severity is Severity.ERROR]
            others = [f for f in findings if f.severity is not Severity.ERROR]
            if errors:
                failures += 1
                failure = etree.SubElement(case, "failure", message=errors[0].message, type=errors[0].check)
                failure.text = "\n".join(finding_line(f, checked.path, checked.product_locs) for f in errors)
            if others:
                out = etree.SubElement(case, "system-out")
                out.text = "\n".join(finding_line(f, checked.path, checked.product_locs) for f in others)
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        total_tests += tests
        total_failures += failures
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", "0")
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _problem_line(path: str, loc: SourceLoc | None, message: str) -> str:
    return message if loc is None else f"{loc}: {message}"
