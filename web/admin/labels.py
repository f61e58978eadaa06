"""What the workspace shows instead of internal codes: statuses, roles, units, yes/no, dates and the
catalog's own (translated) labels for products and attributes. Registered as template filters."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from flask import g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from web.admin import bp
from web.i18n import current_locale, label_text

ORDER_STATUS = {"accepted": _l("accepted"), "in_production": _l("in production"), "shipped": _l("shipped"),
                "cancelled": _l("cancelled")}
PO_STATUS = {"released": _l("released to the workshop"), "acknowledged": _l("taken up by the workshop")}
VERSION_STATUS = {"draft": _l("draft"), "published": _l("published"), "archived": _l("archived")}
ROLE = {"viewer": _l("viewer"), "editor": _l("editor"), "admin": _l("administrator")}
SEVERITY = {"error": _l("error"), "warning": _l("warning"), "info": _l("info")}
SOURCE = {"user": _l("chosen"), "implied": _l("required by a rule"), "default": _l("default"),
          "completed": _l("filled by “Finish for me”")}
UNIT = {"pc": _l("pc"), "set": _l("set"), "m": "m", "mm": "mm", "kg": "kg", "g": "g", "l": "l", "m2": "m²"}


def _lookup(table: Mapping[str, Any]) -> Callable[[Any], str]:
    def show(code: Any) -> str:
        return str(table.get(str(code), code)) if code is not None else ""

    return show


for name, table in (("order_status", ORDER_STATUS), ("po_status", PO_STATUS), ("version_status", VERSION_STATUS),
                    ("role_label", ROLE), ("severity_label", SEVERITY), ("source_label", SOURCE),
                    ("unit_label", UNIT)):
    bp.add_app_template_filter(_lookup(table), name)


@bp.app_template_filter("bench_value")
def bench_value(value: Any) -> str:
    """Booleans read as yes/no; everything else as it is."""
    if value is True:
        return _("yes")
    if value is False:
        return _("no")
    return str(value)


@bp.app_template_filter("when")
def when(value: Any) -> str:
    """An ISO datetime as "2026-12-08 08:00" (plant-local, as scheduled)."""
    try:
        return datetime.fromisoformat(str(value)).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return str(value or "")


def _product(catalog_code: str, version: int, product_code: str) -> Any:
    """The product as the pinned version defines it, looked up once per request (a page lists many
    rows of the same products); the version's content comes from the application's caches by hash."""
    from catalog.errors import CatalogError
    from usecases import catalogs
    from web import database

    seen: dict[tuple[str, int, str], Any] = g.setdefault("c2m_label_products", {})
    key = (catalog_code, version, product_code)
    if key not in seen:
        try:
            seen[key] = catalogs.load_catalog(database.read_session(), catalog_code, version).product(product_code)
        except CatalogError:  # a label is a nicety: an unknown version or product shows the code instead
            seen[key] = None
    return seen[key]


@bp.app_template_filter("product_name")
def product_name(code: str, catalog_code: str, version: int) -> str:
    product = _product(str(catalog_code), int(version), str(code))
    return label_text(product.name) if product is not None else str(code)


def order_details(order: Any) -> dict[str, Any]:
    """The order's configuration as rows of attribute label and value label, and its delivery address."""
    from web.storefront.views import order_rows

    configuration = json.loads(order.configuration)
    product = _product(order.catalog_code, order.version_number, order.product_code)
    rows = []
    if product is None:
        rows = [{"label": k, "value": v} for k, v in configuration.items()]
    else:  # a repeated component's instance in use as one row, those not in use left out
        rows = order_rows(product, {k: frozenset(v) if isinstance(v, list) else v for k, v in configuration.items()})
    address = json.loads(order.delivery_address) if getattr(order, "delivery_address", None) else None
    if address:
        from babel import Locale

        territories = Locale.parse(current_locale()).territories
        address["country"] = territories.get(address.get("country", ""), address.get("country", ""))
    return {"configuration_rows": rows, "address": address}


REPORT_STATUS = {"queued": _l("queued"), "running": _l("running"), "failed": _l("failed"), "done": _l("done")}
report_status = _lookup(REPORT_STATUS)
bp.add_app_template_filter(report_status, "report_status")


@bp.app_template_filter("report_title")
def report_title(report: Any) -> str:
    """A check or diff report's title in the reader's language ("check of shop v3 (against v2)")."""
    if report.kind == "diff":
        return _("diff of %(catalog)s v%(base)s → v%(version)s", catalog=report.catalog, base=report.base,
                 version=report.version)
    if report.base is not None:
        return _("check of %(catalog)s v%(version)s (against v%(base)s)", catalog=report.catalog,
                 version=report.version, base=report.base)
    return _("check of %(catalog)s v%(version)s", catalog=report.catalog, version=report.version)
