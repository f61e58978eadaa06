"""Storefront routes.

One function per action; :func:`respond` decides the answer. A plain form
POST gets ``303 See Other`` back to the configure page (messages travel as
flashed messages, a greyed value's explanation as ``?why=...`` in the URL);
an htmx request (header ``HX-Request``) gets the configure panel itself
(``storefront/_panel.html``), rendered from the very same context, plus an
out-of-band update of the page's polite live region.

Configuration logic lives in :mod:`usecases.configurations`; this module
only turns form fields into its JSON decisions and its results into pages.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask import abort, current_app, flash, get_flashed_messages, redirect, render_template, request, url_for
from flask_babel import format_date, ngettext
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from bom.errors import BomError
from bom.instances import ComponentInstance, product_instances, unused_attributes
from catalog.errors import CatalogError
from catalog.snapshot import Attribute, AttributeKind, Product, TextField
from configurator import (
    AnyDecision,
    ConfiguratorError,
    OptimizationLimitExceeded,
    SetElement,
    State,
    ValueImpossible,
    format_value,
)
from configurator.derived import definitions, derived_values
from configurator.rules import references
from configurator.texts import InvalidText, check_text
from usecases import catalogs
from usecases import configurations as configs
from web import database
from web.i18n import current_locale, label_text
from web.storefront import bp
from web.storefront.delivery import DeliveryEstimate, delivery_estimate

BUTTONS_MAX = 12
"""Int attributes with at most this many values are shown as buttons, larger ones as a select."""
ILLUSTRATIONS = frozenset({"bike", "wardrobe"})
"""Illustration templates shipped in ``storefront/illustrations/<name>.svg``."""
OBJECTIVES = ("defaults", "cheapest")


# --------------------------------------------------------------------------- display helpers


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def value_label(attr: Attribute, value: object) -> str:
    """A value as the buyer reads it, in the request's language."""
    if value is None:
        return "—"
    if attr.kind is AttributeKind.BOOL:
        return str(_("Yes") if value else _("No"))
    if isinstance(value, frozenset | set | list | tuple):
        chosen = [c for c in attr.choices if c.code in value]
        return ", ".join(label_text(c.label) for c in chosen) if chosen else _("none")
    if attr.kind in (AttributeKind.ENUM, AttributeKind.SET):
        for choice in attr.choices:
            if choice.code == value:
                return label_text(choice.label)
        return str(value)
    return f"{value} {attr.unit}" if attr.unit else str(value)


def derived_rows(product: Product, values: Mapping[str, object]) -> list[dict[str, Any]]:
    """The product's derived attributes, read-only: label, value as the buyer reads it, and what it follows from.

    A value is shown once the attributes it reads are settled (``None`` before), never as a choice.
    """
    if not product.derived:
        return []
    known = {code: value for code, value in values.items() if value is not None}
    computed = derived_values(product, known)
    defs = definitions(product)
    by_code = {a.code: a for a in product.attributes}
    rows = []
    for attr in product.derived:
        sources = sorted(references(defs[attr.code]), key=lambda c: [a.code for a in product.attributes].index(c)
                         if c in by_code else len(by_code))
        names = ", ".join(label_text(by_code[c].label) for c in sources if c in by_code)
        value = computed.get(attr.code)
        rows.append({"code": attr.code, "label": label_text(attr.label),
                     "value": _derived_label(attr, value) if value is not None else None,
                     "follows": names})
    return rows


def _derived_label(attr: Attribute, value: object) -> str:
    if attr.kind is AttributeKind.DECIMAL and isinstance(value, Fraction | int) and not isinstance(value, bool):
        exact = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1).scaleb(-attr.places))
        return value_label(attr, format(exact, "f"))
    return value_label(attr, value)


def text_error(field: TextField, value: str) -> str | None:
    """Why a buyer's text cannot be kept, in the request's language (``None`` when it can).

    The check itself is :func:`configurator.texts.check_text` (RE2 pattern); this only words it.
    """
    try:
        check_text(field, value)
    except InvalidText:
        text = value.strip()
        if "\n" in text or "\r" in text:
            return _("One line only.")
        if len(text) > field.max_length:
            return _("At most %(count)s characters; this text has %(length)s.", count=field.max_length,
                     length=len(text))
        if not text:
            return _("Please write this text: it is required.")
        if len(text) < field.min_length:
            return _("At least %(count)s characters; this text has %(length)s.", count=field.min_length,
                     length=len(text))
        return _("This text has characters that are not allowed here.")
    return None


def texts_view(
    product: Product, stored: Mapping[str, str], form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """One input per text field of the product: label, hint, limits, the value (as typed after an error)."""
    out = []
    for f in product.texts:
        value = form.get(f"text-{f.code}", "") if form is not None else stored.get(f.code, "")
        if f.description is not None:
            hint = label_text(f.description)
        elif f.pattern is not None:  # no wording from the catalog: the pattern itself
            hint = _("Allowed characters: %(pattern)s", pattern=f.pattern)
        else:
            hint = ""
        out.append({"code": f.code, "label": label_text(f.label), "hint": hint, "max_length": f.max_length,
                    "required": f.required, "value": value, "error": (errors or {}).get(f.code)})
    return out


def text_rows(product: Product, texts: Mapping[str, str]) -> list[dict[str, str]]:
    """The buyer's texts for a summary, quote or order page (fields left empty are not listed)."""
    return [{"code": f.code, "label": label_text(f.label), "value": texts[f.code]}
            for f in product.texts if texts.get(f.code)]


def decision_text(product: Product, decision: AnyDecision) -> str:
    """One of the buyer's decisions, e.g. "Rear rack: Yes" or "Accessories: without Bell"."""
    try:
        attr = product.attribute(decision.attribute)
    except KeyError:
        return str(decision)
    name = label_text(attr.label)
    if isinstance(decision, SetElement):
        element = value_label(attr, decision.element)
        if decision.included:
            return str(_("%(attribute)s: with %(value)s", attribute=name, value=element))
        return str(_("%(attribute)s: without %(value)s", attribute=name, value=element))
    return f"{name}: {value_label(attr, decision.value)}"


SOURCE_TEXT = {
    "user": lambda: _("your choice"),
    "implied": lambda: _("required by a rule"),
    "default": lambda: _("suggested default"),
    "cheapest": lambda: _("suggested: lowest price"),
    "completed": lambda: _("filled by “Finish for me”"),
}
"""How each value source of the engine reads to a buyer (``None``: still open)."""


def source_text(source: str | None) -> str:
    return str(SOURCE_TEXT[source]() if source in SOURCE_TEXT else _("open"))


@dataclass(frozen=True, slots=True)
class Change:
    """An attribute whose value differs between two states."""

    code: str
    label: str
    before: str
    after: str
    source: str | None


def changes_between(product: Product, before: State, after: State) -> list[Change]:
    out: list[Change] = []
    for attr in product.attributes:
        old = _value_of(before, attr.code)
        new = _value_of(after, attr.code)
        if old != new:
            out.append(Change(attr.code, label_text(attr.label), value_label(attr, old), value_label(attr, new),
                              after.attribute(attr.code).source))
    return out


def _value_of(state: State, code: str) -> object:
    try:
        return state.attribute(code).value
    except KeyError:
        return None


def changes_text(changes: Iterable[Change]) -> str:
    parts = []
    for c in changes:
        if c.after == "—":
            parts.append(str(_("%(attribute)s: open again", attribute=c.label)))
        elif c.source in ("implied", "default", "cheapest", "completed"):
            parts.append(f"{c.label}: {c.after} ({source_text(c.source)})")
        else:
            parts.append(f"{c.label}: {c.after}")
    return str(_("Updated: %(changes)s.", changes="; ".join(parts))) if parts else ""


def illustration(product: Product, values: Mapping[str, object], uid: str) -> Markup:
    """The product's picture drawn for ``values`` (inline SVG), or a neutral placeholder."""
    name = product.image if product.image in ILLUSTRATIONS else "generic"
    title = _("Picture of %(product)s as configured", product=label_text(product.name))
    svg = render_template(f"storefront/illustrations/{name}.svg", v=values, uid=uid, title=title,
                          initials=label_text(product.name)[:1])
    # Safe: Flask autoescapes .svg templates, so the rendered text is already escaped markup.
    return Markup(svg)  # nosec B704


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"illustration": illustration, "source_text": source_text}


# --------------------------------------------------------------------------- the configure panel


@dataclass(frozen=True, slots=True)
class Why:
    """The greyed value the buyer asked about."""

    attribute: str
    value: str
    included: bool = True

    def query(self) -> dict[str, str]:
        args = {"why": self.attribute, "value": self.value}
        if not self.included:
            args["included"] = "0"
        return args


def why_from(args: Mapping[str, str]) -> Why | None:
    attribute, value = args.get("why"), args.get("value")
    if not attribute or value is None:
        return None
    return Why(attribute, value, args.get("included", "1") not in ("0", "false"))


def explanation_view(cfg: configs.Configuration, why: Why) -> dict[str, Any] | None:
    """Why a value is greyed and what "make it possible" would change, ready for the template."""
    product = cfg.product
    try:
        attr = product.attribute(why.attribute)
        explanation = configs.explain(cfg, why.attribute, why.value, included=why.included)
    except (KeyError, ConfiguratorError):
        return None
    if attr.kind is AttributeKind.SET:
        shown = value_label(attr, why.value)
        wanted = (_("%(value)s in %(attribute)s", value=shown, attribute=label_text(attr.label)) if why.included
                  else _("%(attribute)s without %(value)s", value=shown, attribute=label_text(attr.label)))
    else:
        wanted = f"{label_text(attr.label)}: {value_label(attr, explanation.value)}"
    view: dict[str, Any] = {
        "attribute": attr.code,
        "value": why.value,
        "included": why.included,
        "wanted": wanted,
        "possible": explanation.possible,
        "rules": [label_text(r.message) for r in explanation.rules],
        "culprits": [decision_text(product, d) for d in explanation.decisions],
        "repairable": False,
        "changes": [],
        "dropped": [],
    }
    if explanation.possible:
        return view
    try:
        fix, _unused = configs.repair(database.session(), cfg, why.attribute, why.value, included=why.included)
    except ValueImpossible:
        return view
    after = cfg.configurator.state(fix.decisions)
    view["repairable"] = True
    view["dropped"] = [decision_text(product, d) for d in fix.drop]
    view["changes"] = changes_between(product, cfg.state(), after)
    view["price_after"] = after.price.total
    return view


def attribute_view(
    attr: Attribute, doc: Mapping[str, Any], decided: set[str], dead: frozenset[object] = frozenset()
) -> dict[str, Any]:
    """One attribute for the template; values in ``dead`` (no configuration can use them) are left
    out unless selected, so a buyer only sees values some choice of theirs can reach."""
    values: list[dict[str, Any]] = []
    for item in doc["values"]:
        raw = item["value"]
        if raw in dead and not item["selected"]:
            continue
        delta = item["price_delta"]
        values.append({
            "value": raw,
            "form_value": format_value(raw),
            "label": value_label(attr, raw),
            "description": next((label_text(c.description) for c in attr.choices
                                 if c.code == raw and c.description is not None), None),
            "possible": item["possible"],
            "possible_out": item.get("possible_out", True),
            "selected": item["selected"],
            "source": item["source"],
            "delta": Decimal(delta) if delta is not None else None,
            "replaces": bool(item.get("replaces_completed")),
            "id": f"v-{attr.code}-{format_value(raw)}",
        })
    if attr.kind is AttributeKind.SET:
        widget = "checkboxes"
    elif attr.kind is AttributeKind.INT and len(values) > BUTTONS_MAX:
        widget = "select"
    else:
        widget = "buttons"
    value = doc["value"]
    if attr.kind is AttributeKind.SET and value is not None:
        value = frozenset(value)
    return {
        "code": attr.code,
        "label": label_text(attr.label),
        "description": label_text(attr.description) if attr.description else None,
        "kind": attr.kind.value,
        "widget": widget,
        "unit": attr.unit,
        "source": doc["source"],
        "value_text": value_label(attr, value) if value is not None else None,
        "options": values,
        "min_count": attr.min_count,
        "max_count": attr.max_count if attr.max_count is not None else len(attr.choices),
        "selected_count": sum(1 for v in values if v["selected"]),
        "decided": attr.code in decided,
    }


VIEW_ALL = "all"
"""The ``view`` that shows every step on one page (otherwise ``view`` is the code of the one step shown)."""
MANY_CONFIGURATIONS = 1000
"""Above this many configurations left, the buyer reads "many", not a number."""


def count_text(count: int) -> str:
    """How many configurations are left, in words that help a buyer (never a ten-digit number)."""
    if count <= 1:
        return str(_("Your choices settle every option."))
    if count > MANY_CONFIGURATIONS:
        return str(_("Many combinations are still open."))
    # flask-babel passes the count to the message as num itself
    return str(ngettext("%(num)s combination is still open.", "%(num)s combinations are still open.", count))


def _current_step(steps: list[dict[str, Any]], view: str | None, why: Why | None, anchor: str | None) -> str:
    codes = [s["code"] for s in steps]
    focus = why.attribute if why is not None else anchor
    if focus:
        for step in steps:
            if any(a["code"] == focus for a in step["attributes"]):
                if view == VIEW_ALL:
                    return VIEW_ALL
                return str(step["code"])
    if view == VIEW_ALL or view in codes:
        return str(view)
    return str(codes[0]) if codes else VIEW_ALL


def unused_instance(
    product: Product, state: State, codes: list[str], instances: Iterable[ComponentInstance] | None = None
) -> bool:
    """Whether ``codes`` are the attributes of one instance of a repeated component that is not in
    use: its guard (``section_count >= 2``) fails for the number of instances chosen, implied or
    suggested, or when that is open, for the most instances still possible. ``instances``: the
    product's (:func:`~bom.instances.product_instances`) when the caller has them."""
    wanted = set(codes)
    found = product_instances(product) if instances is None else instances
    instance = next((i for i in found if set(i.attributes) == wanted), None)
    if instance is None or instance.always:
        return False
    count = state.attribute(instance.count)
    if isinstance(count.value, int):
        return count.value < instance.index
    possible = [v for v in count.possible if isinstance(v, int)]
    return bool(possible) and max(possible) < instance.index


def panel_context(
    cfg: configs.Configuration, *, why: Why | None = None, changes: list[Change] | None = None,
    error: str | None = None, view: str | None = None, anchor: str | None = None,
    text_form: Mapping[str, str] | None = None, text_errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    locale = current_locale()
    state = cfg.state()
    product = cfg.product
    doc = configs.state_document(state, product, locale)
    docs = {a["code"]: a for a in doc["attributes"]}
    decided = {d.attribute for d in cfg.effective()}
    dead = configs.never_possible(cfg)
    views = {a.code: attribute_view(a, docs[a.code], decided, dead.get(a.code, frozenset()))
             for a in product.attributes}
    missing = set(state.missing)
    steps: list[dict[str, Any]] = []
    known = {g.code for g in product.groups}
    instances = product_instances(product)
    for group in product.groups:
        attrs = [views[a.code] for a in product.attributes if a.group == group.code]
        if attrs and not (instances and unused_instance(product, state, [a["code"] for a in attrs], instances)):
            steps.append({"code": group.code, "label": label_text(group.label), "attributes": attrs,
                          "done": not any(a["code"] in missing for a in attrs)})
    rest = [views[a.code] for a in product.attributes if a.group not in known]
    if rest:
        steps.append({"code": "more", "label": _("More options"), "attributes": rest,
                      "done": not any(a["code"] in missing for a in rest)})
    total = len(product.attributes)
    conflict = None
    if state.conflict is not None:
        conflict = {
            "decisions": [decision_text(product, d) for d in state.conflict.decisions],
            "rules": [label_text(r.message) for r in state.conflict.rules],
            "dropped": [decision_text(product, d) for d in state.conflict.dropped],
        }
    explanation = explanation_view(cfg, why) if why is not None else None
    status = changes_text(changes or [])
    current = _current_step(steps, view, why, anchor)
    index = next((i for i, s in enumerate(steps) if s["code"] == current), None)
    return {
        "view": current,
        "guided": index is not None,
        "step_index": index,
        "prev_step": steps[index - 1] if index else None,
        "next_step": steps[index + 1] if index is not None and index + 1 < len(steps) else None,
        "count_text": count_text(state.count),
        "cfg": cfg,
        "product": product,
        "catalog": cfg.catalog.catalog,
        "state": state,
        "values": state.values(),
        "price": state.price,
        "currency": state.price.currency,
        "steps": steps,
        "decided_count": total - len(missing),
        "total_count": total,
        "open_count": sum(1 for a in product.attributes if views[a.code]["value_text"] is None),
        "conflict": conflict,
        "invalid": cfg.invalid,
        "why": explanation,
        "changes": changes or [],
        "status": status,
        "error": error,
        "can_undo": bool(cfg.raw),
        "derived": derived_rows(product, state.values()),
        "texts": texts_view(product, cfg.texts, text_form, text_errors),
    }


def respond(
    cfg: configs.Configuration,
    before: State | None = None,
    *,
    why: Why | None = None,
    error: str | None = None,
    anchor: str | None = None,
) -> Response | str:
    """The answer to a configure action: the panel for htmx, else a redirect to the page."""
    changes = changes_between(cfg.product, before, cfg.state()) if before is not None else []
    view = request.form.get("view") or request.args.get("view")
    if is_htmx():
        html = render_template("storefront/_panel.html", oob=True,
                               **panel_context(cfg, why=why, changes=changes, error=error, view=view, anchor=anchor))
        return _with_sequence(html, cfg.revision)
    if error:
        flash(error, "error")
    text = changes_text(changes)
    if text:
        flash(text, "status")
    args: dict[str, Any] = dict(why.query()) if why is not None else {}
    if view:
        args["view"] = view
    if anchor:
        args["at"] = anchor
    target = url_for(".configure", config_id=cfg.id, **args)
    if why is not None:
        target += "#why"
    elif anchor:
        target += f"#attr-{anchor}"
    return redirect(target, 303)


def _with_sequence(html: str, revision: int | None = None) -> Response:
    """The panel, echoing the page's request sequence number (``X-Request-Seq``) and the stored
    revision it shows (``X-Configuration-Revision``): the page's script swaps in only answers
    showing a newer revision than the panel it shows (for the same revision, answers to later
    requests), so a slow answer never replaces a newer one, whichever order the server took them in."""
    response = current_app.make_response(html)
    if revision is not None:
        response.headers["X-Configuration-Revision"] = str(revision)
    seq = request.headers.get("X-Request-Seq", "")
    if seq.isdigit() and len(seq) <= 15:
        response.headers["X-Request-Seq"] = seq
    response.headers["Vary"] = "HX-Request"
    return response


def _configuration(config_id: str, *, rebase_decision: bool = False) -> configs.Configuration:
    """The configuration; a form's ``revision`` (the one the page showed) must still be the stored one,
    except for one choice (``rebase_decision``), which goes on top of later ones it commutes with."""
    sent = request.form.get("revision", "") if request.method == "POST" else ""
    revision = int(sent) if sent.isdigit() and len(sent) <= 9 else None
    return configs.get_configuration(database.session(), config_id, revision=revision,
                                     rebase_decision=rebase_decision)


# --------------------------------------------------------------------------- catalog pages


@bp.get("/")
def index() -> str:
    """Every product of every catalog in force, drawn in its default configuration."""
    items = []
    for loaded in catalogs.catalogs_in_force(database.read_session()):
        for product in loaded.catalog.products:
            configurator = catalogs.get_configurator(loaded.catalog, product.code, loaded.content_hash)
            state = configurator.state(())
            items.append({"loaded": loaded, "product": product, "state": state})
    return render_template("storefront/index.html", items=items)


@bp.get("/p/<catalog_code>/<product_code>")
def product_page(catalog_code: str, product_code: str) -> str:
    """A product: picture, description, what can be chosen, and the button to start."""
    loaded, product = catalogs.find_product(database.read_session(), product_code, catalog_code)
    configurator = catalogs.get_configurator(loaded.catalog, product.code, loaded.content_hash)
    state = configurator.state(())
    groups = []
    for group in product.groups:
        attrs = []
        for attr in product.attributes:
            if attr.group != group.code:
                continue
            usable = [v.value for v in state.attribute(attr.code).values if v.possible]  # dead values left out
            if attr.kind is AttributeKind.INT and len(usable) > BUTTONS_MAX:
                text = f"{usable[0]}–{usable[-1]}{' ' + attr.unit if attr.unit else ''}" if usable else ""
            else:
                text = " · ".join(value_label(attr, v) for v in usable)
            attrs.append({"label": label_text(attr.label), "shown": text})
        if attrs:
            groups.append({"label": label_text(group.label), "attributes": attrs})
    estimate = _estimate(loaded.catalog, product, state)
    return render_template("storefront/product.html", loaded=loaded, product=product, state=state,
                           groups=groups, estimate=estimate, value_label=value_label)


@bp.post("/p/<catalog_code>/<product_code>/configure")
def start(catalog_code: str, product_code: str) -> Response:
    """Create a configuration pinned to the catalog version in force and open it."""
    cfg = configs.create_configuration(database.session(), product_code, catalog_code=catalog_code)
    return redirect(url_for(".configure", config_id=cfg.id), 303)


# --------------------------------------------------------------------------- configuring


@bp.get("/configure/<config_id>")
def configure(config_id: str) -> str:
    """The configurator page (``?why=attr&value=v`` opens the explanation of a greyed value)."""
    cfg = _configuration(config_id)
    context = panel_context(cfg, why=why_from(request.args), view=request.args.get("view"),
                            anchor=request.args.get("at"))
    if is_htmx():
        return _with_sequence(render_template("storefront/_panel.html", oob=True, **context), cfg.revision)
    context["status"] = " ".join(str(m) for m in get_flashed_messages(category_filter=["status"]))
    return render_template("storefront/configure.html", **context)


@bp.post("/configure/<config_id>/texts")
def save_texts(config_id: str) -> Response | tuple[str, int]:
    """Keep the buyer's texts (engraving) on the configuration; a text that cannot be kept is named next
    to its field, with everything typed still in the form, and nothing is stored."""
    cfg = _configuration(config_id)
    typed = {f.code: request.form.get(f"text-{f.code}", "") for f in cfg.product.texts}
    errors: dict[str, str] = {}
    for f in cfg.product.texts:
        message = text_error(replace(f, required=False), typed[f.code])  # required: asked for when ordering
        if message is not None:
            errors[f.code] = message
    if errors:
        context = panel_context(cfg, view=request.form.get("view"), text_form=request.form, text_errors=errors,
                                error=_("Your text was not saved: please check it."))
        return render_template("storefront/configure.html", **context), 422
    configs.set_texts(database.session(), cfg, typed)
    flash(_("Your text is saved."), "status")
    args = {"view": request.form["view"]} if request.form.get("view") else {}
    return redirect(url_for(".configure", config_id=cfg.id, **args) + "#texts-title", 303)


def _set_entries(cfg: configs.Configuration, attr: Attribute) -> list[dict[str, Any]]:
    form = request.form
    if attr.kind is not AttributeKind.SET:
        value = form.get("value")
        if value is None:
            abort(400, "missing field 'value'")
        return [{"attribute": attr.code, "value": value}]
    # Checkboxes: only the elements rendered on the page (``shown``) are compared, so a
    # stale or partial form never silently drops elements it did not show.
    checked = set(form.getlist("element"))
    selected = {v.value for v in cfg.state().attribute(attr.code).values if v.selected}
    entries = []
    for element in form.getlist("shown"):
        wanted = element in checked
        if wanted != (element in selected):
            entries.append({"attribute": attr.code, "element": element, "included": wanted})
    toggle = form.get("toggle")  # a single element's own button (no-JS "why" path and tests)
    if toggle and not entries:
        entries.append({"attribute": attr.code, "element": toggle, "included": toggle not in selected})
    return entries


@bp.post("/configure/<config_id>/set")
def set_value(config_id: str) -> Response | str:
    """Choose a value (or tick set elements). A value that is not possible is not stored:
    the answer explains why and offers the repair."""
    session = database.session()
    cfg = _configuration(config_id, rebase_decision=True)
    before = cfg.state()
    try:
        attr = cfg.product.attribute(request.form.get("attribute", ""))
    except KeyError:
        abort(400, "unknown attribute")
    for entry in _set_entries(cfg, attr):
        try:
            cfg = configs.add_decision(session, cfg, entry, on_conflict="reject")
        except configs.DecisionConflict:
            if "element" in entry:
                why = Why(attr.code, entry["element"], entry["included"])
            else:
                why = Why(attr.code, str(entry["value"]))
            return respond(cfg, before, why=why)
        except ConfiguratorError:
            shown = entry.get("value", entry.get("element"))
            return respond(cfg, before, error=_("%(value)s is not a value of %(attribute)s.",
                                                value=shown, attribute=label_text(attr.label)), anchor=attr.code)
    return respond(cfg, before, anchor=attr.code)


@bp.post("/configure/<config_id>/repair")
def repair(config_id: str) -> Response | str:
    """Apply the repair: drop the fewest (oldest) choices that stand in the way, then choose the value."""
    cfg = _configuration(config_id)
    before = cfg.state()
    why = why_from(request.form)
    if why is None:
        abort(400, "missing fields 'why' and 'value'")
    try:
        _fix, cfg = configs.repair(database.session(), cfg, why.attribute, why.value, included=why.included,
                                   apply=True)
    except ValueImpossible:
        return respond(cfg, before, error=_("This value is excluded by the product's rules in every configuration."))
    return respond(cfg, before, anchor=why.attribute)


@bp.post("/configure/<config_id>/undo")
def undo(config_id: str) -> Response | str:
    """Take back the last choice."""
    cfg = _configuration(config_id)
    before = cfg.state()
    try:
        cfg = configs.undo(database.session(), cfg)
    except configs.NothingToUndo:
        return respond(cfg, before, error=_("There is nothing to undo."))
    return respond(cfg, before)


@bp.post("/configure/<config_id>/remove")
def remove(config_id: str) -> Response | str:
    """Forget the buyer's choice on one attribute (the rules and defaults decide again)."""
    cfg = _configuration(config_id)
    before = cfg.state()
    attribute = request.form.get("attribute", "")
    try:
        cfg = configs.remove_decision(database.session(), cfg, attribute)
    except ConfiguratorError:
        return respond(cfg, before, error=_("You have not chosen anything there."))
    return respond(cfg, before, anchor=attribute)


@bp.post("/configure/<config_id>/reset")
def reset(config_id: str) -> Response | str:
    """Start over: forget every choice."""
    cfg = _configuration(config_id)
    before = cfg.state()
    cfg = configs.replace_decisions(database.session(), cfg, [])
    return respond(cfg, before)


@bp.post("/configure/<config_id>/complete")
def finish(config_id: str) -> Response | str:
    """"Finish for me": decide every open attribute, the recommended way or the cheapest way."""
    cfg = _configuration(config_id)
    before = cfg.state()
    objective = request.form.get("objective", "defaults")
    if objective not in OBJECTIVES:
        abort(400, "objective is 'defaults' or 'cheapest'")
    try:
        _values, cfg = configs.complete(database.session(), cfg, objective, apply=True)
    except OptimizationLimitExceeded:
        return respond(cfg, before, error=_("Finding the cheapest configuration took too long; "
                                            "please choose a few options first."))
    except ConfiguratorError:
        return respond(cfg, before, error=_("Some of your choices do not go together; resolve them first."))
    return respond(cfg, before)


# --------------------------------------------------------------------------- summary, sharing


def _estimate(catalog: Any, product: Product, state: State, quantity: int = 1) -> DeliveryEstimate | None:
    values = state.values()
    if len(values) != len(product.attributes):
        return None
    try:
        return delivery_estimate(catalog, product.code, values, quantity=quantity)
    except BomError:
        current_app.logger.exception("delivery estimate failed for %s", product.code)
        return None


def summary_rows(product: Product, state: State) -> list[dict[str, Any]]:
    """The configuration grouped by step; an instance of a repeated component not in use is left out."""
    rows = []
    labels = {g.code: label_text(g.label) for g in product.groups}
    unused = unused_attributes(product, state.values())
    for attr in product.attributes:
        if attr.code in unused:
            continue
        a = state.attribute(attr.code)
        rows.append({"group": labels.get(attr.group or "", _("More options")), "label": label_text(attr.label),
                     "value": value_label(attr, a.value) if a.value is not None else None, "source": a.source})
    return rows


def _quantity_arg(raw: str | None) -> int:
    """The quantity asked for in a form or query (1 when missing or out of range)."""
    try:
        quantity = int(raw or "1")
    except ValueError:
        return 1
    return quantity if 1 <= quantity <= MAX_FORM_QUANTITY else 1


def totals_context(cfg: configs.Configuration, quantity: int) -> dict[str, Any]:
    """Unit price, quantity, total and the delivery date for that quantity, as shown before ordering."""
    state = cfg.state()
    return {"quantity": quantity, "unit_price": state.price.total, "order_total": state.price.total * quantity,
            "estimate": _estimate(cfg.catalog.catalog, cfg.product, state, quantity)}


@bp.get("/configure/<config_id>/summary")
def summary(config_id: str) -> str:
    """The configuration, its price, the quantity with its total and delivery date, quotes and the order form."""
    cfg = _configuration(config_id)
    html, _status = _summary_page(cfg, errors={}, key=uuid.uuid4().hex, status=200, form=request.args)
    return html


@bp.get("/configure/<config_id>/totals")
def totals(config_id: str) -> str:
    """The quantity box of the summary (htmx swaps it when the quantity changes)."""
    cfg = _configuration(config_id)
    return render_template("storefront/_totals.html", cfg=cfg, currency=cfg.state().price.currency, oob=True,
                           **totals_context(cfg, _quantity_arg(request.args.get("quantity"))))


@dataclass(frozen=True, slots=True)
class Revalidation:
    """A shared configuration checked against the catalog version in force now."""

    loaded: catalogs.LoadedCatalog
    product: Product
    state: State
    version_changed: bool
    invalid: list[str]
    conflict: dict[str, list[str]] | None

    @property
    def ok(self) -> bool:
        return not self.invalid and self.conflict is None


def revalidate(cfg: configs.Configuration) -> Revalidation:
    """Re-read the shared decisions against the version in force (they may have been saved
    under an older one): which no longer exist, which no longer go together, and the state
    that remains once the oldest conflicting ones are dropped (the engine's repair)."""
    session = database.session()
    loaded = catalogs.load_catalog(session, cfg.catalog.code)
    product = loaded.product(cfg.product.code)
    history: list[AnyDecision] = []
    invalid: list[str] = []
    for entry in cfg.raw:
        try:
            history.append(configs.decision_from_json(product, entry))
        except ConfiguratorError:
            attribute = entry.get("attribute") if isinstance(entry, Mapping) else None
            shown = entry.get("value", entry.get("element")) if isinstance(entry, Mapping) else entry
            invalid.append(f"{attribute}: {format_value(shown) if shown is not None else ''}")
    configurator = catalogs.get_configurator(loaded.catalog, product.code, loaded.content_hash)
    state = configurator.state(history)
    conflict = None
    if state.conflict is not None:
        conflict = {
            "decisions": [decision_text(product, d) for d in state.conflict.decisions],
            "rules": [label_text(r.message) for r in state.conflict.rules],
            "dropped": [decision_text(product, d) for d in state.conflict.dropped],
        }
    return Revalidation(loaded, product, state, loaded.content_hash != cfg.record.content_hash, invalid, conflict)


@bp.get("/s/<token>")
def shared(token: str) -> str:
    """A shared configuration, re-validated against the catalog in force."""
    cfg = configs.get_shared(database.session(), token)
    check = revalidate(cfg)
    return render_template(
        "storefront/shared.html", cfg=cfg, check=check, product=check.product, state=check.state,
        price=check.state.price, values=check.state.values(), rows=summary_rows(check.product, check.state),
        derived=derived_rows(check.product, check.state.values()), text_rows=text_rows(check.product, cfg.texts),
    )


@bp.post("/s/<token>/copy")
def copy_shared(token: str) -> Response:
    """Continue from a shared configuration: a new configuration of one's own, on the version in
    force, with the shared decisions that still hold (the dropped ones are the repair shown)."""
    session = database.session()
    cfg = configs.get_shared(session, token)
    check = revalidate(cfg)
    decisions = [configs.decision_to_json(d) for d in check.state.decisions]
    mine = configs.create_configuration(session, check.product.code, decisions, catalog_code=check.loaded.code)
    if not check.ok:
        flash(_("We adjusted the shared configuration to the current catalog."), "info")
    return redirect(url_for(".configure", config_id=mine.id), 303)


# --------------------------------------------------------------------------- quotes


def _values_of(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (frozenset(v) if isinstance(v, list) else v) for k, v in raw.items()}


def quote_context(quote: configs.Quote) -> dict[str, Any]:
    """A quote for the page and the PDF: labels from the catalog version it was made on."""
    loaded = catalogs.load_catalog(database.read_session(), quote.catalog_code, quote.version_number)
    product = loaded.product(quote.product_code)
    values = _values_of(quote.values)
    labels = {g.code: label_text(g.label) for g in product.groups}
    unused = unused_attributes(product, values)
    rows = [{"group": labels.get(a.group or "", _("More options")), "label": label_text(a.label),
             "value": value_label(a, values.get(a.code)), "source": quote.sources.get(a.code)}
            for a in product.attributes if a.code not in unused]
    lang = "zh-CN" if current_locale().startswith("zh") else "en"
    lines = [{"label": line.label.get(lang) or line.label.get("en", ""), "amount": line.amount} for line in quote.lines]
    return {"quote": quote, "loaded": loaded, "product": product, "values": values, "rows": rows, "lines": lines,
            "derived": derived_rows(product, values), "text_rows": text_rows(product, quote.texts),
            "currency": quote.currency, "expired": quote.expired()}


@bp.post("/configure/<config_id>/quote")
def save_quote(config_id: str) -> Response | tuple[str, int]:
    """Save a quote: a frozen snapshot with its own link (the configuration itself stays editable)."""
    cfg = _configuration(config_id)
    quantity = _quantity_arg(request.form.get("quantity"))
    state = cfg.state()
    if state.conflict is not None or not state.complete:
        return _summary_page(cfg, errors={"quote": _("Choose every option before saving a quote.")},
                             key=uuid.uuid4().hex, status=422)
    estimate = _estimate(cfg.catalog.catalog, cfg.product, state, quantity)
    quote = configs.save_quote(database.session(), cfg, quantity=quantity,
                               ready_on=estimate.ready_on if estimate else None)
    flash(_("Quote saved. Its link shows exactly this configuration and price until %(date)s, whatever "
            "you change later.", date=format_date(quote.valid_until, "long")), "status")
    return redirect(url_for(".quote_page", token=quote.token), 303)


def quote_problem_text(problem: Exception | None) -> str | None:
    """Why a quote cannot be ordered at its price, in the buyer's words (``None``: it can)."""
    if problem is None:
        return None
    reason = getattr(problem, "reason", "")
    extra = getattr(problem, "extra", {})
    if reason == "version_archived":
        return str(_("This product version has been withdrawn from sale (archived), so it can no longer be "
                     "ordered at the quoted price. Configure it again from this quote for the current version "
                     "and price."))
    if reason == "version_expired":
        ended = datetime.fromisoformat(extra["valid_to"])
        return str(_("The sale period of this product version ended on %(date)s (expired), so it can no longer "
                     "be ordered at the quoted price. Configure it again from this quote for the current version "
                     "and price.", date=format_date(ended.date(), "long")))
    if reason == "quote_price_changed":
        return str(_("The price of this configuration has changed since the quote, so it cannot be ordered at "
                     "the quoted price. Configure it again from this quote for today's price."))
    if reason == "quote_expired":
        return str(_("This quote has expired"))
    return str(_("The order could not be placed: %(detail)s", detail=str(problem)))


def _quote_page(
    quote: configs.Quote, *, errors: Mapping[str, str], key: str, status: int, form: Mapping[str, str]
) -> tuple[str, int]:
    from usecases.quote_orders import quote_order_problem

    problem = quote_order_problem(database.read_session(), quote)
    html = render_template("storefront/quote.html", errors=errors, idempotency_key=key, form=form,
                           countries=country_names(), order_problem=quote_problem_text(problem),
                           **quote_context(quote))
    return html, status


@bp.get("/q/<token>")
def quote_page(token: str) -> str:
    """A saved quote: configuration, catalog version, itemised price and validity, printable, and the
    form to order it at this price while the quote is valid and its catalog version on sale."""
    quote = configs.get_quote(database.read_session(), token)
    if quote.expired():
        raise configs.QuoteExpired(quote)
    html, _status = _quote_page(quote, errors={}, key=uuid.uuid4().hex, status=200, form={})
    return html


@bp.post("/q/<token>/order")
def order_quote(token: str) -> Response | tuple[str, int]:
    """Order the quote at its frozen price (its configuration, quantity and catalog version)."""
    from usecases.errors import UseCaseError
    from usecases.quote_orders import order_quote as place_quote_order
    from web.errors import status_of

    quote = configs.get_quote(database.session(), token)
    if quote.expired():
        raise configs.QuoteExpired(quote)
    errors, _quantity = _order_form_errors({**request.form, "quantity": str(quote.quantity)})
    key = request.form.get("idempotency_key", "")
    if errors:
        return _quote_page(quote, errors=errors, key=key if "form" not in errors else uuid.uuid4().hex,
                           status=422, form=request.form)
    try:
        body = place_quote_order(
            database.session(),
            token,
            idempotency_key=key,
            scope=ORDER_SCOPE,
            customer_name=request.form["name"].strip(),
            customer_email=request.form["email"].strip(),
            locale=current_locale(),
            delivery_address=delivery_address_of(request.form),
            notes=request.form.get("notes", "").strip() or None,
            purchase_order_ref=request.form.get("purchase_order_ref", "").strip() or None,
        ).body
    except UseCaseError as exc:
        if exc.reason == "quote_expired":
            raise configs.QuoteExpired(quote) from None
        message = quote_problem_text(exc)
        if exc.reason == "idempotency_key_reused":
            message = _("This form was already used for another order; please check and submit again.")
        fresh = uuid.uuid4().hex if exc.reason == "idempotency_key_reused" else key
        return _quote_page(quote, errors={"form": str(message)}, key=fresh, status=status_of(exc.reason),
                           form=request.form)
    return redirect(url_for(".order_placed", number=body["number"], t=body["access_token"]), 303)


@bp.get("/q/<token>/quote.pdf")
def quote_pdf(token: str) -> Response:
    """The quote as a PDF (WeasyPrint): the product drawing, the configuration and the itemised price."""
    from weasyprint import CSS, HTML

    quote = configs.get_quote(database.read_session(), token)
    if quote.expired():
        raise configs.QuoteExpired(quote)
    html = render_template("storefront/quote_pdf.html", **quote_context(quote))
    with current_app.open_resource("static/css/quote-print.css") as handle:
        css = handle.read().decode("utf-8")
    pdf = HTML(string=html, base_url=request.url_root).write_pdf(stylesheets=[CSS(string=css)])
    response = current_app.response_class(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="quote-{quote.product_code}-{token[:8]}.pdf"'
    return response


@bp.post("/q/<token>/configure")
def configure_from_quote(token: str) -> Response:
    """Continue from a quote (also an expired one): a new configuration of one's own with the quote's
    decisions, on the catalog version in force (what no longer fits is dropped and said)."""
    session = database.session()
    quote = configs.get_quote(session, token)
    loaded = catalogs.load_catalog(session, quote.catalog_code)
    product = loaded.product(quote.product_code)
    kept: list[AnyDecision] = []
    for entry in quote.decisions:
        try:
            kept.append(configs.decision_from_json(product, entry))
        except ConfiguratorError:
            continue
    configurator = catalogs.get_configurator(loaded.catalog, product.code, loaded.content_hash)
    state = configurator.state(kept)
    decisions = [configs.decision_to_json(d) for d in state.decisions]
    mine = configs.create_configuration(session, product.code, decisions, catalog_code=loaded.code)
    if len(decisions) != len(quote.decisions) or loaded.content_hash != quote.content_hash:
        flash(_("We adjusted the quoted configuration to the current catalog; please check the price."), "info")
    return redirect(url_for(".configure", config_id=mine.id), 303)


# --------------------------------------------------------------------------- error pages

NOT_FOUND_REASONS = ("catalog_not_found", "version_not_found", "product_not_found", "configuration_not_found",
                     "order_not_found", "quote_not_found")


@bp.errorhandler(configs.StaleRevision)
def _stale(exc: configs.StaleRevision) -> Response | tuple[Response | str, int]:
    """A click made on an older page than the stored configuration: nothing was stored; show the
    configuration as it is now (409 for htmx, which swaps it in), so what is shown is what is saved."""
    session = database.session()
    session.rollback()
    cfg = configs.get_configuration(session, exc.configuration_id)
    message = _("Your configuration changed in the meantime (another click or tab); "
                "this is how it is saved now. Please check and choose again.")
    answer = respond(cfg, error=message)
    return (answer, 409) if is_htmx() else answer


@bp.errorhandler(configs.QuoteExpired)
def _quote_expired(exc: configs.QuoteExpired) -> tuple[str, int]:
    return render_template("storefront/quote_expired.html", quote=exc.quote), 410


@bp.errorhandler(CatalogError)
@bp.errorhandler(configs.ConfigurationNotFound)
@bp.errorhandler(configs.QuoteNotFound)
def _not_found(exc: Exception) -> tuple[str, int]:
    status = 404 if getattr(exc, "reason", "") in NOT_FOUND_REASONS else 422
    return render_template("storefront/error.html", status=status), status


# --------------------------------------------------------------------------- orders

ORDER_SCOPE = "storefront"
"""Idempotency scope of storefront orders (the API scopes keys by token)."""
MAX_FORM_QUANTITY = 99


def _address_errors(form: Mapping[str, str]) -> dict[str, str]:
    """Problems with the delivery fields of the order form, by field name."""
    found: dict[str, str] = {}
    phone = form.get("phone", "").strip()
    digits = sum(ch.isdigit() for ch in phone)
    if not phone:
        found["phone"] = _("Please enter a phone number for the delivery.")
    elif digits < 6 or digits > 20 or any(not (ch.isdigit() or ch in "+-() ") for ch in phone):
        found["phone"] = _("Please enter a phone number like +86 138 0013 8000.")
    street = form.get("street", "").strip()
    if not street:
        found["street"] = _("Please enter the street and house number.")
    elif len(street) > 300:
        found["street"] = _("Please enter at most 300 characters.")
    city = form.get("city", "").strip()
    if not city:
        found["city"] = _("Please enter the city.")
    elif len(city) > 120:
        found["city"] = _("Please enter at most 120 characters.")
    postal = form.get("postal_code", "").strip()
    if not postal or len(postal) > 12 or not all(ch.isalnum() or ch in " -" for ch in postal):
        found["postal_code"] = _("Please enter the postal code, e.g. 430000.")
    if form.get("country", "") not in COUNTRIES:
        found["country"] = _("Please choose the country of delivery.")
    for name in ("notes", "purchase_order_ref"):
        if len(form.get(name, "")) > (1000 if name == "notes" else 64):
            found[name] = _("Please enter at most %(max)s characters.", max=1000 if name == "notes" else 64)
    return found


def _order_form_errors(form: Mapping[str, str]) -> tuple[dict[str, str], int]:
    errors: dict[str, str] = {}
    name = form.get("name", "").strip()
    email = form.get("email", "").strip()
    if not name:
        errors["name"] = _("Please enter your name.")
    elif len(name) > 200:
        errors["name"] = _("Please enter at most 200 characters.")
    local, at, domain = email.partition("@")
    if not (local and at and "." in domain) or len(email) > 254 or " " in email:
        errors["email"] = _("Please enter an email address like name@example.com.")
    quantity = 0
    try:
        quantity = int(form.get("quantity", "1"))
    except ValueError:
        pass
    if not 1 <= quantity <= MAX_FORM_QUANTITY:
        errors["quantity"] = _("Please enter a quantity from 1 to %(max)s.", max=MAX_FORM_QUANTITY)
    errors.update(_address_errors(form))
    key = form.get("idempotency_key", "")
    if not (16 <= len(key) <= 64 and key.isalnum()):
        errors["form"] = _("This form has expired; please reload the page.")
    return errors, quantity


def delivery_address_of(form: Mapping[str, str]) -> dict[str, str]:
    """The order's ``delivery_address`` object from the order form."""
    return {"name": form.get("name", "").strip(), "street": form.get("street", "").strip(),
            "city": form.get("city", "").strip(), "postal_code": form.get("postal_code", "").strip(),
            "country": form.get("country", ""), "phone": form.get("phone", "").strip()}


COUNTRIES = ("CN", "HK", "MO", "TW", "SG", "JP", "KR", "DE", "FR", "GB", "US")
"""Delivery countries offered in the order form (ISO 3166 codes; names come from the locale's data)."""


def country_names() -> list[tuple[str, str]]:
    from babel import Locale

    names = Locale.parse(current_locale()).territories
    return [(code, names.get(code, code)) for code in COUNTRIES]


def _summary_page(
    cfg: configs.Configuration, *, errors: Mapping[str, str], key: str, status: int,
    form: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    state = cfg.state()
    form = request.form if form is None else form
    html = render_template(
        "storefront/summary.html",
        cfg=cfg, product=cfg.product, state=state, price=state.price, values=state.values(),
        rows=summary_rows(cfg.product, state),
        derived=derived_rows(cfg.product, state.values()), text_rows=text_rows(cfg.product, cfg.texts),
        orderable=state.conflict is None and len(state.values()) == len(cfg.product.attributes),
        idempotency_key=key, form=form, errors=errors, countries=country_names(), currency=state.price.currency,
        **totals_context(cfg, _quantity_arg(form.get("quantity"))),
    )
    return html, status


@bp.post("/configure/<config_id>/order")
def place_order(config_id: str) -> Response | tuple[str, int]:
    """Place the order. The form's idempotency key (made when the summary was rendered) makes
    a double click or a resubmitted form return the same order instead of a second one."""
    from usecases import orders
    from usecases.errors import UseCaseError
    from web.errors import status_of

    cfg = _configuration(config_id)
    errors, quantity = _order_form_errors(request.form)
    key = request.form.get("idempotency_key", "")
    if errors:
        return _summary_page(cfg, errors=errors, key=key if "form" not in errors else uuid.uuid4().hex, status=422)
    try:
        placed = orders.place_order(
            database.session(),
            idempotency_key=key,
            scope=ORDER_SCOPE,
            configuration_id=cfg.id,
            quantity=quantity,
            customer_name=request.form["name"].strip(),
            customer_email=request.form["email"].strip(),
            locale=current_locale(),
            delivery_address=delivery_address_of(request.form),
            notes=request.form.get("notes", "").strip() or None,
            purchase_order_ref=request.form.get("purchase_order_ref", "").strip() or None,
            texts=cfg.texts,
        )
    except UseCaseError as exc:
        message = {
            "invalid_text": _("Please check your texts on the configure page: %(detail)s", detail=exc.detail),
            "configuration_incomplete": _("Some options are still open: choose them or use “Finish for me”."),
            "configuration_conflict": _("Some of your choices do not go together; please adjust them."),
            "idempotency_key_reused": _("This form was already used for another order; please check and submit again."),
            "idempotency_in_progress": _("Your order is being placed; please wait a moment and reload."),
            "version_archived": _("This product version is no longer sold; please configure it again."),
        }.get(exc.reason, _("The order could not be placed: %(detail)s", detail=exc.detail))
        fresh = uuid.uuid4().hex if exc.reason == "idempotency_key_reused" else key
        return _summary_page(cfg, errors={"form": message}, key=fresh, status=status_of(exc.reason))
    body = placed.body
    shown = request.form.get("shown_ready_on", "")
    if shown and body.get("due_date") and body["due_date"] != shown:
        from datetime import date as _date

        flash(_("The ready date is %(date)s, not the date shown before you ordered: the workshop's plan "
                "changed in the meantime.", date=format_date(_date.fromisoformat(body["due_date"]), "long")), "info")
    return redirect(url_for(".order_placed", number=body["number"], t=body["access_token"]), 303)


def _order_for(number: str) -> tuple[Any, dict[str, Any]]:
    """The order ``number`` if ``?t=`` is its access token (else 404, as for an unknown number)."""
    from usecases import orders

    session = database.read_session()
    order = orders.find_order(session, number)
    token = request.args.get("t", "")
    if order is None or not token or not orders.order_token_matches(order, token):
        abort(404)
    body = orders.order_body(order, list(order.production_orders))
    return order, body


def _order_view(order: Any, body: Mapping[str, Any]) -> dict[str, Any]:
    """Order data with catalog labels of the version it was placed on."""
    loaded = catalogs.load_catalog(database.read_session(), order.catalog_code, order.version_number)
    product = loaded.product(order.product_code)
    configuration = body["configuration"]
    rows = order_rows(product, {k: (frozenset(v) if isinstance(v, list) else v) for k, v in configuration.items()})
    rows += text_rows(product, _bom_texts(order.bom))
    from datetime import date as _date

    due = _date.fromisoformat(body["due_date"]) if body.get("due_date") else None
    address = None
    if getattr(order, "delivery_address", None):
        import json

        address = json.loads(order.delivery_address)
        address["country_name"] = dict(country_names()).get(address.get("country", ""), address.get("country", ""))
    return {"order": order, "body": body, "product": product, "rows": rows, "due": due, "address": address,
            "currency": body["currency"], "price": body["price"],
            "values": {k: (frozenset(v) if isinstance(v, list) else v) for k, v in configuration.items()}}


def order_rows(product: Product, values: Mapping[str, object]) -> list[dict[str, Any]]:
    """The ordered configuration, one row per attribute, a repeated component's instance in use as one
    row ("Section 2": "Width: 800 mm · Drawers ×3 · …"); instances not in use are left out."""
    instances = product_instances(product)
    unused = unused_attributes(product, values, instances)
    of: dict[str, ComponentInstance] = {code: i for i in instances for code in i.attributes}
    attributes = {a.code: a for a in product.attributes}
    rows: list[dict[str, Any]] = []
    done: set[tuple[str, int]] = set()
    for attr in product.attributes:
        if attr.code in unused:
            continue
        instance = of.get(attr.code)
        if instance is None:
            rows.append({"label": label_text(attr.label), "value": value_label(attr, values.get(attr.code))})
            continue
        if (instance.component, instance.index) in done:
            continue
        done.add((instance.component, instance.index))
        parts = [_instance_value(attributes[code], values.get(code)) for code in instance.attributes]
        rows.append({"label": label_text(instance.label), "value": " · ".join(parts), "instance": instance.index})
    return rows


def _instance_value(attr: Attribute, value: object) -> str:
    """One value of an instance in its row: a count as "Drawers ×3", the rest as "Width: 800 mm"."""
    if attr.kind is AttributeKind.INT and not attr.unit and isinstance(value, int) and not isinstance(value, bool):
        return f"{label_text(attr.label)} ×{value}"
    return _("%(attribute)s: %(value)s", attribute=label_text(attr.label), value=value_label(attr, value))


def _bom_texts(stored: str | None) -> dict[str, str]:
    """The buyer's texts as the order's BOM carries them (on the BOM itself or on the line they are printed on)."""
    import json

    found: dict[str, str] = {}

    def walk(node: object) -> None:
        if isinstance(node, Mapping):
            texts = node.get("texts")
            if isinstance(texts, Mapping):
                found.update({str(k): str(v) for k, v in texts.items()})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(stored) if stored else None)
    return found


@bp.get("/orders/<number>/thanks")
def order_placed(number: str) -> str:
    """Confirmation right after ordering: the order number and what happens next."""
    order, body = _order_for(number)
    return render_template("storefront/order_placed.html", token=request.args["t"], **_order_view(order, body))


@bp.get("/orders/<number>")
def order_status(number: str) -> str:
    """The buyer's order status page (``?t=`` is the order's access token)."""
    order, body = _order_for(number)
    return render_template("storefront/order_status.html", token=request.args["t"], **_order_view(order, body))
