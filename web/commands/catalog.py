"""`c2m` commands: catalog (validate, check, diff, import, export, list, versions, publish, archive).

Heavy modules (the database layer, the engine, feature-model readers) are
imported inside the commands that need them, so ``c2m catalog validate``
starts in a fraction of a second.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from web.commands.db import database_session, url_option

if TYPE_CHECKING:
    from catalog.files import ExpressionChecker
    from catalog.snapshot import Catalog
    from usecases.compile_guard import CompileBudget
    from usecases.compiled_models import PreparedModel


FEATURE_MODEL_SUFFIXES = (".uvl", ".xml", ".sxfm", ".splx")
"""``catalog.featuremodels.SUFFIXES``, repeated so reading a YAML file does not import the feature-model readers."""


def expression_checker() -> ExpressionChecker:
    """The configurator's check of rule and formula texts.

    Imported on first use (start-up of the command line stays fast) and never
    optional: an import failure is raised, not turned into files that pass
    without their rules being parsed.
    """
    from configurator.rules.catalog_check import expression_checker as checker

    return checker


def _read(path: Path) -> tuple[Catalog | None, list[str]]:
    """The catalog in ``path``, or the problem lines to print."""
    catalog, problems = _read_located(path)
    return catalog, [f"{loc.file}:{loc.line}:{loc.column}: {message}" for loc, message in problems]


def _read_located(path: Path) -> tuple[Catalog | None, list[tuple[Any, str]]]:
    """The catalog in ``path``, or its problems as (SourceLoc, message) pairs."""
    from catalog.files import CatalogInvalid, load_catalog_file
    from catalog.snapshot import SourceLoc

    try:
        # Feature models (.uvl, FeatureIDE .xml, SPLOT .sxfm/.splx) import as a one-product catalog;
        # their readers (ANTLR, XML) are imported only for such files.
        if path.suffix.lower() in FEATURE_MODEL_SUFFIXES:
            from catalog.featuremodels import load_feature_model

            return load_feature_model(path), []
        return load_catalog_file(path, expression_checker=expression_checker()), []
    except CatalogInvalid as exc:
        return None, [(SourceLoc(p.file, p.line, p.column), p.message) for p in exc.problems]
    except OSError as exc:
        return None, [(SourceLoc(str(path), 0, 0), f"cannot read the file: {exc.strerror or exc}")]


@click.group("catalog")
def catalog_group() -> None:
    """Catalogs: validate, check and diff files, import, publish, export, list."""


@catalog_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate_command(files: tuple[Path, ...]) -> None:
    """Check catalog files; print FILE: ok, or one line per problem (FILE:LINE:COL: message).

    Exits 1 when any file has a problem; every file is checked.
    """
    failed = False
    for path in files:
        catalog, problems = _read(path)
        if catalog is not None and not problems:
            errors, problems = _model_problems(catalog, path)
            failed = failed or errors
        else:
            failed = failed or bool(problems)
        for line in problems:
            click.echo(line)
        if not problems:
            click.echo(f"{path}: ok")
    if failed:
        raise SystemExit(1)


def _model_problems(catalog: Catalog, path: Path) -> tuple[bool, list[str]]:
    """What the engine finds statically: variant codes, module parameters, quantities, derived attributes."""
    from bom.model_checks import model_findings
    from configurator.checks import Severity

    out = []
    errors = False
    for finding in model_findings(catalog):
        if finding.severity is Severity.INFO:
            continue
        loc = finding.loc
        where = f"{loc.file}:{loc.line}:{loc.column}" if loc is not None else str(path)
        errors = errors or finding.severity is Severity.ERROR
        prefix = "warning: " if finding.severity is Severity.WARNING else ""
        out.append(f"{where}: {prefix}{finding.message}")
    return errors, out


BACKENDS = ("auto", "mdd", "ddnnf", "sat", "reference")


def backend_option(command: Any) -> Any:
    return click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="auto",
        show_default=True,
        help="Solver backend (auto: decision diagram, then the d-DNNF, then SAT, each within its budget).",
    )(command)


def _check_files(files: tuple[Path, ...], *, backend: str, show_progress: bool) -> list[Any]:
    """Read and check every file (a file that does not read gets its problems, no report)."""
    from bom.checks import check_catalog
    from catalog.files import content_hash
    from usecases.check_reports import CheckedFile
    from web.commands.progress import Progress

    out: list[CheckedFile] = []
    for path in files:
        catalog, problems = _read_located(path)
        if catalog is None:
            out.append(CheckedFile(str(path), None, tuple(problems)))
            continue
        with Progress(show_progress, f"checking {path}", total=len(catalog.products)) as progress:
            report = check_catalog(
                catalog,
                backend=backend,
                catalog_key=f"check:{content_hash(catalog)}",
                progress=progress.step,
            )
        locs = {p.code: p.loc for p in catalog.products if p.loc is not None}
        out.append(CheckedFile(str(path), report, (), locs))
    return out


@catalog_group.command("check")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--junit",
    "junit_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Also write a JUnit XML report to this file ('-' for stdout).",
)
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    default=None,
    help="Also write a JSON report to this file ('-' for stdout, then no text lines).",
)
@click.option(
    "--show-info", is_flag=True, help="Also print infos (passed golden tests, requirements that hold)."
)
@click.option("--warnings-as-errors", "strict", is_flag=True, help="Exit 1 on warnings too.")
@click.option("-q", "--quiet", is_flag=True, help="Print errors only: no warnings, progress or summary.")
@backend_option
def check_command(
    files: tuple[Path, ...],
    junit_path: Path | None,
    json_path: Path | None,
    show_info: bool,
    strict: bool,
    quiet: bool,
    backend: str,
) -> None:
    """Run every catalog check on FILES, for CI: one line per finding, FILE:LINE:COL: severity: message.

    The checks are those run before publishing: void products, dead and
    forced values, redundant rules, golden tests, BOM items, requirements and
    quantities over every valid configuration. Exit status: 0 without errors,
    1 when a check found an error (or a warning, with --warnings-as-errors),
    2 on a usage error.
    """
    import json

    from configurator.checks import Severity
    from usecases.check_reports import finding_line, junit_xml, location, report_json, summary_text
    from web.commands.progress import wanted

    to_stdout = "-" in (str(json_path), str(junit_path))
    started = time.perf_counter()
    checked = _check_files(files, backend=backend, show_progress=wanted(quiet or to_stdout))
    shown = {Severity.ERROR} if quiet else {Severity.ERROR, Severity.WARNING}
    if show_info and not quiet:
        shown.add(Severity.INFO)
    if not to_stdout:
        for result in checked:
            for loc, message in result.problems:
                click.echo(f"{loc.file}:{loc.line}:{loc.column}: error: {message} [catalog_file]")
            lines = [
                (
                    location(f, result.path, result.product_locs),
                    finding_line(f, result.path, result.product_locs),
                )
                for f in result.findings()
                if f.severity in shown
            ]
            for _loc, line in sorted(lines, key=lambda pair: (pair[0].line, pair[0].column)):
                click.echo(line)
    if json_path is not None:
        text = json.dumps(report_json(checked), ensure_ascii=False, indent=2)
        if str(json_path) == "-":
            click.echo(text)
        else:
            json_path.write_text(text + "\n", encoding="utf-8")
    if junit_path is not None:
        xml = junit_xml(checked)
        if str(junit_path) == "-":
            click.echo(xml.decode("utf-8"), nl=False)
        else:
            junit_path.write_bytes(xml)
    if not quiet:
        click.echo(summary_text(checked, time.perf_counter() - started), err=True)
    errors = sum(r.count(Severity.ERROR) for r in checked)
    warnings = sum(r.count(Severity.WARNING) for r in checked)
    if errors or (strict and warnings):
        raise SystemExit(1)


def skip_checks_options(command: Any) -> Any:
    command = click.option(
        "--reason",
        "skip_reason",
        default=None,
        metavar="TEXT",
        help="Why the checks are skipped (required with --skip-checks; stored with the version).",
    )(command)
    return click.option(
        "--skip-checks",
        is_flag=True,
        help="Emergencies only: publish without the catalog checks (logged and shown on the version).",
    )(command)


def _actor() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name in this environment (containers)
        return "cli"


def _publish(
    url: str | None,
    code: str,
    *,
    catalog: Catalog | None = None,
    number: int | None = None,
    source: str | None = None,
    comment: str | None = None,
    skip_checks: bool,
    skip_reason: str | None,
    backend: str,
    quiet: bool,
) -> None:
    """Check and publish (``usecases.publishing.publish_checked``); print the findings like ``check``."""
    from catalog.errors import CatalogError
    from jobs.hooks import hook_publishing
    from usecases.check_reports import finding_line
    from usecases.compile_guard import CatalogTooComplex
    from usecases.publishing import ChecksFailed, publish_checked
    from web.commands.progress import Progress, wanted

    hook_publishing()  # with a job engine configured, the commit queues compile-on-publish
    total = len(catalog.products) if catalog is not None else None
    with database_session(url) as session:
        try:
            with Progress(wanted(quiet) and not skip_checks, f"checking {code}", total=total) as progress:
                published = publish_checked(
                    session,
                    code,
                    catalog=catalog,
                    number=number,
                    source=source,
                    comment=comment,
                    skip_checks=skip_checks,
                    skip_reason=skip_reason,
                    actor=_actor(),
                    backend=backend,
                    progress=progress.step,
                )
            session.commit()
        except ChecksFailed as exc:
            session.rollback()
            for finding in exc.report.all_findings():
                if finding.severity.value != "info":
                    click.echo(finding_line(finding, exc.source))
            click.echo(f"error: {exc}; nothing was stored", err=True)
            raise SystemExit(1) from None
        except (CatalogError, CatalogTooComplex) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from exc
    info = published.info
    if not quiet and published.compiled:
        click.echo(f"models compiled and stored while checking: {', '.join(published.compiled)}")
    if published.deferred:
        click.echo(
            f"models PREPARING (over the request compile budget, left to the compile job): "
            f"{', '.join(published.deferred)}; the storefront answers 503 model_preparing for them "
            "until `c2m worker` has stored them (see `c2m model artifacts`, `c2m jobs`)"
        )
    failed = _prepare(url, code, info.number, quiet=quiet)
    if not quiet:
        for finding in published.warnings:
            click.echo(finding_line(finding, source or f"{code}@{info.number}"))
    verdict = (
        "checks SKIPPED" if published.skipped else f"checks passed, {len(published.warnings)} warning(s)"
    )
    click.echo(
        f"published {info.catalog_code} version {info.number}, {len(info.products)} products, "
        f"sha256 {info.content_hash} ({verdict})"
    )
    if failed:
        click.echo(f"error: {failed}", err=True)
        raise SystemExit(1)


def use_app_settings() -> None:
    """Compile with the backend and budgets the web workers use (``C2M_SOLVER_BACKEND``,
    ``C2M_COMPILE_BUDGET_S``, ``C2M_COMPILE_NODE_BUDGET``): the stored models are keyed by them."""
    import tempfile

    from usecases.settings import set_settings_source
    from web.config import DEFAULTS, from_environment

    settings = {**DEFAULTS, **from_environment(tempfile.gettempdir())}
    set_settings_source(lambda: settings)


def capped_budget() -> CompileBudget:
    """The limits of a compile run from the command line, a compile job's (``jobs.settings.compile_settings``):
    ``C2M_SOLVER_BACKEND``, ``C2M_COMPILE_NODE_BUDGET``, the address-space cap ``C2M_COMPILE_MEMORY_MB``
    and the time budget ``C2M_COMPILE_JOB_BUDGET_S``."""
    from jobs.settings import compile_settings
    from usecases.compile_guard import CompileBudget

    try:
        return CompileBudget.from_config(compile_settings())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def not_compiled(code: str, number: int, prepared: list[PreparedModel]) -> str | None:
    """The error of the models stored ``failed`` now (each detail names the product, the model key and
    the limit), or None."""
    failed = [m for m in prepared if m.status == "failed"]
    if not failed:
        return None
    listed = "; ".join(f"product {m.product!r}: {m.detail}" for m in failed)
    return (
        f"catalog {code!r} v{number}: {len(failed)} model(s) not compiled, stored as failed "
        f"(requests answer model_too_large): {listed}"
    )


def _prepare(url: str | None, code: str, number: int, *, quiet: bool) -> str | None:
    """Compile the published version's products once and store them (``usecases.compiled_models``),
    so that no web worker compiles them again: each in a child process under a compile job's limits
    (:func:`capped_budget`), never in this one. Returns the error of the models over a limit."""
    from jobs.settings import broker_url
    from usecases.compiled_models import prepare_version

    if broker_url() is not None:
        if not quiet:
            click.echo("models: compile-on-publish queued on the job engine")
            _warn_without_worker()
        return None
    use_app_settings()
    budget = capped_budget()
    with database_session(url) as session:
        prepared = prepare_version(session, code, number, capped=budget)
    if not quiet:
        for model in prepared:
            size = f", {model.size_bytes} bytes" if model.size_bytes is not None else ""
            click.echo(
                f"model {model.product}: {model.status} ({model.backend or '-'}, {model.seconds:.2f} s{size})"
                + (f": {model.detail}" if model.detail else "")
            )
    return not_compiled(code, number, prepared)


def _warn_without_worker() -> None:
    """Say so when no job worker is alive: the queued job waits until one starts."""
    from jobs.engine import current
    from jobs.status import engine_status

    try:
        problem = engine_status(current()).problem()
    except ValueError as exc:
        problem = str(exc)
    if problem:
        click.echo(f"WARNING: {problem}", err=True)


def _stored_ref(text: str) -> tuple[str, int | None] | None:
    """``CODE@N`` (a stored version), ``CODE@current`` or ``CODE@draft``; None for anything else."""
    code, at, which = text.rpartition("@")
    if not at or not code:
        return None
    if which.isdigit():
        return code, int(which)
    if which in ("current", "draft"):
        return code, None if which == "current" else -1
    return None


def _side(text: str, url: str | None, session: Any) -> tuple[Catalog, int | None]:
    """The catalog of one side of a diff: a file, else a stored version; with its number when stored."""
    from catalog.errors import CatalogError
    from catalog.services import load_version

    path = Path(text)
    ref = None if path.exists() else _stored_ref(text)
    if ref is None:
        catalog, problems = _read(path)
        if catalog is None:
            for line in problems:
                click.echo(line)
            raise SystemExit(1)
        return catalog, None
    code, number = ref
    try:
        if number == -1:
            info, catalog = load_version(session(), code, None, published_only=False)
            if not info.is_draft:
                raise click.ClickException(f"catalog {code!r} has no draft")
        else:
            info, catalog = load_version(session(), code, number, published_only=False)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from exc
    return catalog, info.number


@catalog_group.command("diff")
@click.argument("a")
@click.argument("b")
@click.option("--json", "as_json", is_flag=True, help="Print the diff as JSON.")
@click.option(
    "--exit-code",
    is_flag=True,
    help="Exit 1 when the spaces of configurations differ (like git diff --exit-code).",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress line.")
@backend_option
@url_option
def diff_command(
    a: str, b: str, as_json: bool, exit_code: bool, quiet: bool, backend: str, url: str | None
) -> None:
    """Semantic diff from A to B: per product, the configurations only in A, only in B and in both.

    A and B are catalog files or stored versions (CODE@N, CODE@current,
    CODE@draft; with --url). Counts are exact (compiled models); each side
    gets an example configuration with the rules or values that exclude it
    from the other, and a sample of configurations in both is priced for
    the largest price changes. When A is a stored version, saved
    configurations and open orders on it that B would not accept are listed.
    """
    import json
    from contextlib import ExitStack

    from web.commands.progress import Progress, wanted

    with ExitStack() as stack:
        opened: list[Any] = []

        def session() -> Any:
            if not opened:
                opened.append(stack.enter_context(database_session(url)))
            return opened[0]

        catalog_a, number_a = _side(a, url, session)
        catalog_b, _number_b = _side(b, url, session)
        if catalog_a.code != catalog_b.code:
            click.echo(f"note: comparing catalog {catalog_a.code} with {catalog_b.code}", err=True)
        from usecases.version_diff import affected_records, diff_json, diff_text, semantic_diff

        total = len({p.code for p in (*catalog_a.products, *catalog_b.products)})
        with Progress(wanted(quiet or as_json), "diff", total=total) as progress:
            result = semantic_diff(catalog_a, catalog_b, backend=backend, progress=progress.step)
            affected = None
            if number_a is not None:
                progress.step("saved configurations and orders")
                affected = affected_records(
                    session(), catalog_a.code, number_a, catalog_a, catalog_b, backend=backend
                )
    if as_json:
        click.echo(
            json.dumps(diff_json(result, affected, a=a, b=b), ensure_ascii=False, indent=2, default=str)
        )
    else:
        for line in diff_text(result, affected, a=a, b=b):
            click.echo(line)
    differs = any(p.status != "same" and (p.only_a or p.only_b) for p in result.products)
    if exit_code and differs:
        raise SystemExit(1)


@catalog_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--publish",
    is_flag=True,
    help="Publish the imported version right away (after every check), then compile its models (capped; see above).",
)
@click.option("--comment", default=None, help="A note stored with the version.")
@skip_checks_options
@backend_option
@click.option("-q", "--quiet", is_flag=True, help="No progress and no warnings; errors and the result only.")
@url_option
def import_command(
    file: Path,
    publish: bool,
    comment: str | None,
    skip_checks: bool,
    skip_reason: str | None,
    backend: str,
    quiet: bool,
    url: str | None,
) -> None:
    """Validate FILE and store it as the draft (or with --publish, the published) version of its catalog.

    With --publish every catalog check runs first (as `c2m catalog check`):
    an error stores nothing and exits 1; warnings are printed and stored with
    the version. Then the version's models are compiled and stored
    (compile-on-publish): with a job engine (C2M_BROKER_URL) a compile job is
    queued; without one, each model compiles in a child process under a
    compile job's limits (C2M_COMPILE_MEMORY_MB, C2M_COMPILE_JOB_BUDGET_S,
    C2M_COMPILE_NODE_BUDGET), and a model over one is stored as failed and
    the command exits 1 naming the product, the model key and the limit (the
    version stays published; see `c2m model prepare`).
    """
    from catalog.errors import CatalogError
    from catalog.services import import_catalog

    if skip_checks and not publish:
        raise click.UsageError("--skip-checks only applies with --publish")
    use_app_settings()  # the compile budgets of the web workers (C2M_COMPILE_BUDGET_S, ...)
    from web.commands.progress import Progress, wanted

    with Progress(wanted(quiet), "reading", total=None) as progress:
        progress.step(file.name)
        catalog, problems = _read(file)
    if catalog is None:
        for line in problems:
            click.echo(line)
        raise SystemExit(1)
    if publish:
        _publish(
            url,
            catalog.code,
            catalog=catalog,
            source=file.name,
            comment=comment,
            skip_checks=skip_checks,
            skip_reason=skip_reason,
            backend=backend,
            quiet=quiet,
        )
        return
    with Progress(wanted(quiet), "storing", total=None) as progress, database_session(url) as session:
        progress.step(file.name)
        try:
            info = import_catalog(session, catalog, source=file.name, publish=publish, comment=comment)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(
        f"imported {info.catalog_code} version {info.number} ({info.status}), "
        f"{len(info.products)} products, sha256 {info.content_hash}"
    )


@catalog_group.command("export")
@click.argument("code")
@click.option(
    "--version",
    "number",
    type=click.IntRange(min=1),
    default=None,
    help="Version number (default: in force).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["yaml", "json", "uvl"]),
    default=None,
    help="Output format (default: from the file extension, else yaml); uvl writes a feature model.",
)
@url_option
def export_command(
    code: str, number: int | None, output: Path | None, fmt: str | None, url: str | None
) -> None:
    """Write a stored catalog version as a catalog file (to stdout without -o)."""
    from catalog.errors import CatalogError
    from catalog.featuremodels import dump_uvl
    from catalog.files import dump_catalog
    from catalog.services import export_catalog

    if fmt is None:
        suffix = output.suffix.lower() if output is not None else ""
        fmt = {".json": "json", ".uvl": "uvl"}.get(suffix, "yaml")
    with database_session(url) as session:
        try:
            catalog = export_catalog(session, code, number)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
    if fmt == "uvl":
        try:
            text = dump_uvl(catalog)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
    else:
        text = dump_catalog(catalog, format=fmt)
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@catalog_group.command("list")
@url_option
def list_command(url: str | None) -> None:
    """List stored catalogs with their versions in force, latest and draft."""
    from catalog.services import list_catalogs

    with database_session(url) as session:
        catalogs = list_catalogs(session)
    if not catalogs:
        click.echo("no catalogs")
        return
    rows: list[tuple[str, ...]] = [("CODE", "NAME", "VERSIONS", "IN FORCE", "LATEST", "DRAFT")]
    for c in catalogs:
        rows.append(
            (
                c.code,
                c.name.en,
                str(c.version_count),
                _number(c.current_number),
                _number(c.latest_number),
                _number(c.draft_number),
            )
        )
    _print_table(rows)


@catalog_group.command("versions")
@click.argument("code")
@url_option
def versions_command(code: str, url: str | None) -> None:
    """List the versions of catalog CODE."""
    from catalog.errors import CatalogError
    from catalog.services import list_versions
    from usecases.publishing import version_checks

    with database_session(url) as session:
        try:
            versions = list_versions(session, code)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
        checks = version_checks(session, code)
    rows: list[tuple[str, ...]] = [
        ("VERSION", "STATUS", "PUBLISHED", "VALID FROM", "VALID TO", "PRODUCTS", "SHA256", "CHECKS", "SOURCE")
    ]
    for v in versions:
        rows.append(
            (
                str(v.number),
                v.status.value,
                _when(v.published_at),
                _when(v.valid_from),
                _when(v.valid_to),
                str(len(v.products)),
                v.content_hash[:12],
                checks[v.number].short() if v.number in checks else "-",
                v.source or "-",
            )
        )
    _print_table(rows)


@catalog_group.command("publish")
@click.argument("code")
@click.argument("number", type=click.IntRange(min=1))
@skip_checks_options
@backend_option
@click.option("-q", "--quiet", is_flag=True, help="No progress and no warnings; errors and the result only.")
@url_option
def publish_command(
    code: str,
    number: int,
    skip_checks: bool,
    skip_reason: str | None,
    backend: str,
    quiet: bool,
    url: str | None,
) -> None:
    """Run every catalog check on draft version NUMBER of catalog CODE, then publish it.

    An error finding publishes nothing and exits 1; warnings are stored with the version.
    Compile-on-publish then runs as with `c2m catalog import --publish`: a job when a job
    engine is configured, else each model in a child process under a compile job's limits
    (C2M_COMPILE_MEMORY_MB, C2M_COMPILE_JOB_BUDGET_S, C2M_COMPILE_NODE_BUDGET); a model over
    one is stored as failed and the command exits 1 naming the product, the model key and
    the limit.
    """
    _publish(
        url,
        code,
        number=number,
        skip_checks=skip_checks,
        skip_reason=skip_reason,
        backend=backend,
        quiet=quiet,
    )


@catalog_group.command("archive")
@click.argument("code")
@click.argument("number", type=click.IntRange(min=1))
@url_option
def archive_command(code: str, number: int, url: str | None) -> None:
    """Withdraw published version NUMBER of catalog CODE from sale."""
    from catalog.errors import CatalogError
    from catalog.services import archive_version

    with database_session(url) as session:
        try:
            info = archive_version(session, code, number)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"archived {code} version {info.number}")


def _number(value: int | None) -> str:
    return "-" if value is None else str(value)


def _when(value: Any) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


def _print_table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


COMMANDS: list[click.Command] = [catalog_group]
