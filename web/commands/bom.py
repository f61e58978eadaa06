"""`c2m` commands: bom, production-order.

Both read a catalog file, take the configuration as ``--set ATTR=VALUE``
options (set attributes: comma-separated codes), and write the export to
standard output. Bad input (unreadable catalog, unknown product or attribute,
invalid value, incomplete or invalid configuration) exits with status 1 and a
message on standard error.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import click

from bom import (
    BomError,
    bom_b2mml,
    bom_csv,
    canonical_json,
    create_production_order,
    digest,
    explode,
    order_b2mml,
    parts_csv,
    route,
    xml_bytes,
)
from bom.errors import UnknownProduct
from catalog.errors import CatalogError
from catalog.files import content_hash, load_catalog_file
from catalog.snapshot import Catalog, Product
from configurator import Configurator, ConfiguratorError, SetElement, effective_decisions, parse_decision
from configurator.texts import InvalidText


def _fail(message: str) -> click.ClickException:
    return click.ClickException(message)


def _load(path: str) -> Catalog:
    try:
        return load_catalog_file(path)
    except CatalogError as exc:
        raise _fail(str(exc)) from None


def _product(catalog: Catalog, code: str) -> Product:
    try:
        return catalog.product(code)
    except KeyError:
        known = ", ".join(p.code for p in catalog.products)
        raise _fail(f"{UnknownProduct(code)}; the catalog has: {known}") from None


def _configuration(
    catalog: Catalog, product: Product, settings: Sequence[str], complete: bool
) -> dict[str, Any]:
    """Parse ``--set`` options; with ``complete``, let the configurator fill the rest."""
    try:
        decisions = effective_decisions(parse_decision(product, setting) for setting in settings)
        if complete:
            configurator = Configurator(product, catalog_key=content_hash(catalog), currency=catalog.currency)
            return dict(configurator.complete(decisions))
    except ConfiguratorError as exc:
        raise _fail(str(exc)) from None
    values: dict[str, Any] = {}
    for d in decisions:
        if isinstance(d, SetElement):
            raise _fail(f"--set {d}: give the whole set (ATTR=a,b,c), or add --complete")
        values[d.attribute] = d.value
    return values


def _date(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{option} {text!r}: expected a date YYYY-MM-DD") from None


def _configured(
    catalog_path: str, product_code: str, settings: tuple[str, ...], complete: bool
) -> tuple[Catalog, Product, dict[str, Any]]:
    """The catalog file, its product and the configuration the options describe (errors name the option)."""
    catalog = _load(catalog_path)
    product = _product(catalog, product_code)
    return catalog, product, _configuration(catalog, product, settings, complete)


def _emit(data: bytes | str) -> None:
    click.echo(data.encode("utf-8") if isinstance(data, str) else data, nl=False)


def _options(*decorators: Any) -> Any:
    """Several click decorators applied as one (in the order written)."""

    def apply(command: Any) -> Any:
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


configured_product = _options(
    click.argument("product_code", metavar="PRODUCT"),
    click.option("--catalog", "catalog_path", required=True, type=click.Path(dir_okay=False), help="Catalog file."),
    click.option("--set", "settings", multiple=True, metavar="ATTR=VALUE", help="An attribute value (repeatable)."),
    click.option("--quantity", default=1, show_default=True, type=int, help="Units to build (a positive integer)."),
)
"""The product, its catalog file, its settings and the quantity: how both commands name a configured product."""
configured_product_tail = _options(
    click.option("--complete", is_flag=True, help="Fill unset attributes with the configurator (defaults first)."),
    click.option(
        "--text", "text_settings", multiple=True, metavar="FIELD=TEXT", help="A text field (engraving...), repeatable."
    ),
)
"""``--complete`` and ``--text``, shared by both commands."""


@click.command("bom")
@configured_product
@click.option(
    "--format",
    "fmt",
    default="json",
    show_default=True,
    type=click.Choice(["json", "csv", "csv-flat", "b2mml"]),
)
@configured_product_tail
def bom_command(
    product_code: str,
    catalog_path: str,
    settings: tuple[str, ...],
    quantity: int,
    fmt: str,
    complete: bool,
    text_settings: tuple[str, ...],
) -> None:
    """Explode the BOM of a configured PRODUCT."""
    catalog, product, configuration = _configured(catalog_path, product_code, settings, complete)
    try:
        bom = explode(catalog, product.code, configuration, quantity=quantity, texts=_texts(text_settings))
        if fmt == "json":
            _emit(canonical_json(bom) + b"\n")
        elif fmt == "csv":
            _emit(bom_csv(bom))
        elif fmt == "csv-flat":
            _emit(parts_csv(bom))
        else:
            _emit(xml_bytes(bom_b2mml(bom, route(catalog, bom), catalog)))
    except (BomError, InvalidText) as exc:
        raise _fail(str(exc)) from None


def _texts(settings: tuple[str, ...]) -> dict[str, str]:
    """``--text FIELD=TEXT`` options as a mapping (checked by the BOM explosion)."""
    out: dict[str, str] = {}
    for setting in settings:
        field, sep, text = setting.partition("=")
        if not sep or not field.strip():
            raise _fail(f"--text {setting!r}: expected FIELD=TEXT")
        out[field.strip()] = text
    return out


@click.command("production-order")
@configured_product
@click.option("--due", "due", required=True, metavar="YYYY-MM-DD", help="Due date.")
@click.option("--today", "today", metavar="YYYY-MM-DD", help="Check the due date is reachable from this day.")
@click.option("--number", default=None, help="Order number (default: PO-<due date>-<BOM digest prefix>).")
@click.option(
    "--catalog-version", default="file", show_default=True, help="Catalog version recorded on the order."
)
@click.option("--format", "fmt", default="json", show_default=True, type=click.Choice(["json", "b2mml"]))
@configured_product_tail
def production_order_command(
    product_code: str,
    catalog_path: str,
    settings: tuple[str, ...],
    quantity: int,
    due: str,
    today: str | None,
    number: str | None,
    catalog_version: str,
    fmt: str,
    complete: bool,
    text_settings: tuple[str, ...],
) -> None:
    """Create a production order for a configured PRODUCT, scheduled backwards from --due."""
    catalog, product, configuration = _configured(catalog_path, product_code, settings, complete)
    due_date = _date("--due", due)
    today_date = _date("--today", today) if today is not None else None
    texts = _texts(text_settings)
    try:
        if number is None:
            bom = explode(catalog, product.code, configuration, quantity=quantity, texts=texts)
            number = f"PO-{due_date:%Y%m%d}-{digest(bom)[:8].upper()}"
        order = create_production_order(
            catalog,
            catalog_version,
            content_hash(catalog),
            product.code,
            configuration,
            quantity=quantity,
            due_date=due_date,
            number=number,
            today=today_date,
            texts=texts,
        )
    except (BomError, InvalidText) as exc:
        raise _fail(str(exc)) from None
    if fmt == "json":
        _emit(canonical_json(order) + b"\n")
    else:
        _emit(xml_bytes(order_b2mml(order, catalog)))


COMMANDS: list[click.Command] = [bom_command, production_order_command]
