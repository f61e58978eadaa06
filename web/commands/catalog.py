"""`c2m` commands: catalog (validate, import, export, list, versions, publish, archive)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from catalog.errors import CatalogError
from catalog.featuremodels import dump_uvl, is_feature_model, load_feature_model
from catalog.files import CatalogInvalid, ExpressionChecker, dump_catalog, load_catalog_file
from catalog.services import (
    archive_version,
    export_catalog,
    import_catalog,
    list_catalogs,
    list_versions,
    publish_version,
)
from catalog.snapshot import Catalog
from web.commands.db import database_session, url_option


def expression_checker() -> ExpressionChecker | None:
    """The configurator's check of rule and formula texts, when that package provides it.

    Without it, files are still checked for structure and references, only
    the expressions themselves are not parsed.
    """
    try:
        from configurator.rules.catalog_check import expression_checker as checker
    except ImportError:
        return None
    return checker


def _read(path: Path) -> tuple[Catalog | None, list[str]]:
    """The catalog in ``path``, or the problem lines to print."""
    try:
        # Feature models (.uvl, FeatureIDE .xml, SPLOT .sxfm/.splx) import as a one-product catalog.
        if is_feature_model(path):
            return load_feature_model(path), []
        return load_catalog_file(path, expression_checker=expression_checker()), []
    except CatalogInvalid as exc:
        return None, [str(problem) for problem in exc.problems]
    except OSError as exc:
        return None, [f"{path}:0:0: cannot read the file: {exc.strerror or exc}"]


def _status(text: str, *, end: bool = False) -> None:
    """A one-line progress note on a terminal only (nothing when stderr is piped or redirected)."""
    if sys.stderr.isatty():
        click.echo("\r\033[K" + text, nl=False, err=True)
        if end:
            click.echo("\r\033[K", nl=False, err=True)


@click.group("catalog")
def catalog_group() -> None:
    """Catalogs: validate files, import, publish, export, list."""


@catalog_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def validate_command(files: tuple[Path, ...]) -> None:
    """Check catalog files; print FILE: ok, or one line per problem (FILE:LINE:COL: message).

    Exits 1 when any file has a problem; every file is checked.
    """
    failed = False
    for path in files:
        _catalog, problems = _read(path)
        if problems:
            failed = True
            for line in problems:
                click.echo(line)
        else:
            click.echo(f"{path}: ok")
    if failed:
        raise SystemExit(1)


@catalog_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--publish", is_flag=True, help="Publish the imported version right away.")
@click.option("--comment", default=None, help="A note stored with the version.")
@url_option
def import_command(file: Path, publish: bool, comment: str | None, url: str | None) -> None:
    """Validate FILE and store it as the draft (or with --publish, the published) version of its catalog."""
    started = time.monotonic()
    _status(f"reading {file.name}...")
    catalog, problems = _read(file)
    _status("", end=True)
    if catalog is None:
        for line in problems:
            click.echo(line)
        raise SystemExit(1)
    _status(f"read {file.name} in {time.monotonic() - started:.1f} s; storing...")
    with database_session(url) as session:
        try:
            info = import_catalog(session, catalog, source=file.name, publish=publish, comment=comment)
        except CatalogError as exc:
            _status("", end=True)
            raise click.ClickException(str(exc)) from exc
    _status("", end=True)
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
    with database_session(url) as session:
        try:
            versions = list_versions(session, code)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
    rows: list[tuple[str, ...]] = [
        ("VERSION", "STATUS", "PUBLISHED", "VALID FROM", "VALID TO", "PRODUCTS", "SHA256", "SOURCE")
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
                v.source or "-",
            )
        )
    _print_table(rows)


@catalog_group.command("publish")
@click.argument("code")
@click.argument("number", type=click.IntRange(min=1))
@url_option
def publish_command(code: str, number: int, url: str | None) -> None:
    """Publish draft version NUMBER of catalog CODE."""
    with database_session(url) as session:
        try:
            info = publish_version(session, code, number)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"published {code} version {info.number}, sha256 {info.content_hash}")


@catalog_group.command("archive")
@click.argument("code")
@click.argument("number", type=click.IntRange(min=1))
@url_option
def archive_command(code: str, number: int, url: str | None) -> None:
    """Withdraw published version NUMBER of catalog CODE from sale."""
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
