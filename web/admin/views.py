"""Views of the manufacturer's workspace (blueprint ``admin``, under ``/admin``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select

from bom import bom_csv, explode, order_b2mml, xml_bytes
from bom.checks import check_catalog
from bom.errors import BomError
from catalog.errors import CatalogError
from catalog.files import CatalogInvalid, Problem, dump_catalog, load_catalog_text
from catalog.services import (
    CatalogVersionInfo,
    archive_version,
    create_draft,
    discard_draft,
    import_catalog,
    list_catalogs,
    list_versions,
    load_version,
)
from catalog.snapshot import AttributeKind, Catalog, Product
from configurator import Configurator, ConfiguratorError, Decision, format_value, parse_decision
from configurator.checks import CatalogReport, format_configuration
from configurator.rules import expression_checker
from jobs.settings import broker_url
from usecases.compile_guard import (
    CatalogTooComplex,
    check_catalog_compiles,
    current_limits,
)
from usecases.compiled_models import prepare_version
from usecases.publishing import ChecksFailed, compile_jobs_available, publish_checked, version_checks
from usecases.records import OrderRecord, ProductionOrderRecord, User
from usecases.version_diff import affected_records, semantic_diff
from web import database
from web.accounts import (
    ROLES,
    AccountError,
    authenticate,
    create_user,
    end_session,
    require_role,
    revoke_sessions,
    set_password,
    start_session,
)
from web.admin import bp
from web.admin.diff import structural_changes, summary, unified_diff
from web.admin.gantt import gantt_svg
from web.admin.labels import order_details, report_status, report_title
from web.i18n import current_locale, label_text
from web.limits import login_check, login_failed, login_succeeded

MAX_REASONS = 60
"""Most impossible values explained on one test bench page (each explanation is a solver search)."""


# --------------------------------------------------------------------------- helpers


def _backend() -> str:
    return str(current_app.config.get("SOLVER_BACKEND") or "auto")


def _version_label(info: CatalogVersionInfo) -> str:
    return f"v{info.number} ({info.status.value})"


def _published_in_force(code: str) -> tuple[CatalogVersionInfo, Catalog] | None:
    try:
        return load_version(database.session(), code)
    except CatalogError:
        return None


def _identical_to_version_in_force(code: str, number: int) -> int | None:
    """The number of the version in force when version ``number`` has the very same content, else None."""
    current = _published_in_force(code)
    if current is None or current[0].number == number:
        return None
    try:
        candidate, _content = load_version(database.session(), code, number, published_only=False)
    except CatalogError:
        return None
    return current[0].number if candidate.content_hash == current[0].content_hash else None


def _draft(code: str) -> tuple[CatalogVersionInfo, Catalog] | None:
    versions = list_versions(database.session(), code)
    draft = next((v for v in versions if v.is_draft), None)
    if draft is None:
        return None
    return load_version(database.session(), code, draft.number, published_only=False)


def _last_published(code: str, before: int | None = None) -> tuple[CatalogVersionInfo, Catalog] | None:
    """The version in force, else the latest published or archived one (below ``before``)."""
    current = _published_in_force(code)
    if current is not None and (before is None or current[0].number < before):
        return current
    candidates = [
        v
        for v in list_versions(database.session(), code)
        if not v.is_draft and (before is None or v.number < before)
    ]
    if not candidates:
        return None
    return load_version(database.session(), code, candidates[-1].number)


@dataclass(frozen=True, slots=True)
class SourceLine:
    number: int
    text: str
    problems: tuple[Problem, ...]


def annotated(text: str, problems: Sequence[Problem]) -> tuple[list[SourceLine], list[Problem]]:
    """The text's lines with the problems found on each; problems without a line are returned apart."""
    by_line: dict[int, list[Problem]] = {}
    unplaced: list[Problem] = []
    lines = text.splitlines() or [""]
    for problem in problems:
        if 1 <= problem.line <= len(lines):
            by_line.setdefault(problem.line, []).append(problem)
        else:
            unplaced.append(problem)
    return [SourceLine(i, line, tuple(by_line.get(i, ()))) for i, line in enumerate(lines, 1)], unplaced


def _validate_text(text: str, filename: str) -> tuple[Catalog | None, list[Problem]]:
    try:
        catalog = load_catalog_text(
            text, filename=filename, expression_checker=expression_checker, limits=current_limits()
        )
    except CatalogInvalid as exc:
        return None, list(exc.problems)
    except ValueError as exc:  # an unknown format name
        return None, [Problem(filename, 0, 0, "", str(exc))]
    try:
        # Before anything is stored; each model compiled here is kept (publishing will not compile it
        # again). With a job engine a model over the request's time budget is accepted: publishing
        # leaves it to the compile job.
        check_catalog_compiles(catalog, session=database.session(), defer=compile_jobs_available())
    except CatalogTooComplex as exc:
        loc = catalog.product(exc.product).loc
        line, column = (loc.line, loc.column) if loc else (0, 0)
        return None, [Problem(filename, line, column, exc.product, str(exc))]
    return catalog, []


def _parse_moment(text: str | None, field: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            _("%(field)s: %(text)s is not a date and time (YYYY-MM-DDTHH:MM)", field=field, text=repr(text))
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _safe_next(target: str | None) -> str:
    # Only same-site paths inside the workspace: never an open redirect.
    if target and target.startswith("/admin") and not urlsplit(target).netloc and not target.startswith("//"):
        return target
    return url_for("admin.dashboard")


# --------------------------------------------------------------------------- accounts


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        email = request.form.get("email", "")
        login_check(email)  # 429 with Retry-After while the account or the address is locked
        account = authenticate(database.session(), email, request.form.get("password", ""))
        if account is None:
            login_failed(email)
            error = _("Unknown e-mail or wrong password.")
        else:
            login_succeeded(email)
            login_user(start_session(database.session(), account))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("admin/login.html", error=error), 401 if error else 200


@bp.post("/logout")
@require_role("viewer")
def logout() -> Any:
    end_session(database.session(), current_user._get_current_object())
    logout_user()
    flash(_("Signed out."), "info")
    return redirect(url_for("admin.login"))


@bp.get("/users")
@require_role("admin")
def users() -> Any:
    rows = database.session().scalars(select(User).order_by(User.email)).all()
    return render_template("admin/users.html", users=rows, roles=ROLES)


@bp.post("/users")
@require_role("admin")
def create_user_view() -> Any:
    session = database.session()
    try:
        user = create_user(
            session,
            request.form.get("email", ""),
            request.form.get("password", ""),
            request.form.get("role", ""),
        )
    except AccountError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.users")), 303
    session.commit()
    flash(_("Created %(role)s %(email)s.", role=user.role, email=user.email), "info")
    return redirect(url_for("admin.users")), 303


@bp.post("/users/<int:user_id>")
@require_role("admin")
def update_user(user_id: int) -> Any:
    session = database.session()
    user = session.get(User, user_id)
    if user is None:
        abort(404)
    role = request.form.get("role")
    if role is not None:
        if role not in ROLES:
            abort(400, f"unknown role {role!r}")
        user.role = role
    if "active" in request.form:
        user.active = request.form["active"] == "1"
        if not user.active:
            revoke_sessions(session, user.id)
    if user.id == current_user.user_id and (user.role != "admin" or not user.active):
        session.rollback()
        flash(_("You cannot remove your own admin access."), "error")
        return redirect(url_for("admin.users")), 303
    if request.form.get("password"):
        try:
            set_password(session, user, request.form["password"])  # signs the user out everywhere
        except AccountError as exc:
            session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("admin.users")), 303
    session.commit()
    flash(_("Updated %(email)s: %(role)s, %(access)s.", email=user.email, role=user.role,
            access=_("active") if user.active else _("disabled")), "info")
    return redirect(url_for("admin.users")), 303


# --------------------------------------------------------------------------- catalogs


@bp.get("/")
@require_role("viewer")
def dashboard() -> Any:
    session = database.session()
    catalogs = list_catalogs(session)
    orders = session.scalar(select(func.count()).select_from(OrderRecord)) or 0
    open_pos = (
        session.scalar(
            select(func.count())
            .select_from(ProductionOrderRecord)
            .where(ProductionOrderRecord.status == "released")
        )
        or 0
    )
    return render_template("admin/dashboard.html", catalogs=catalogs, orders=orders, open_pos=open_pos)


@bp.route("/upload", methods=["GET", "POST"])
@require_role("viewer")
def upload() -> Any:
    """Upload a catalog file; problems are shown inline, and valid files become the catalog's draft."""
    if request.method == "GET":
        return render_template("admin/upload.html")
    if not current_user.can("editor"):
        abort(403, "uploading catalogs needs the editor role")
    file = request.files.get("file")
    if file is None or not file.filename:
        flash(_("Choose a catalog file (.yaml, .yml or .json)."), "error")
        return render_template("admin/upload.html"), 400
    raw = file.read()
    filename = file.filename
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        problem = Problem(
            filename, 1, 1, "", f"the file is not valid UTF-8 (byte {exc.start}); save it as UTF-8"
        )
        return render_template(
            "admin/editor.html", text="", filename=filename, **_annotations("", [problem])
        ), 422
    return _save_text(text, filename, code=None)


def _annotations(text: str, problems: Sequence[Problem]) -> dict[str, Any]:
    lines, unplaced = annotated(text, problems)
    return {"lines": lines, "problems": problems, "unplaced": unplaced}


def _save_text(text: str, filename: str, *, code: str | None) -> Any:
    """Validate ``text``; store it as the draft when valid, else show it again with every problem."""
    catalog, problems = _validate_text(text, filename)
    if catalog is not None and code is not None and catalog.code != code:
        problems = [
            Problem(filename, 2, 1, "code", f"code: the catalog code is {catalog.code!r}, expected {code!r}")
        ]
        catalog = None
    if catalog is None:
        return (
            render_template(
                "admin/editor.html", text=text, filename=filename, code=code, **_annotations(text, problems)
            ),
            422,
        )
    session = database.session()
    try:
        info = import_catalog(session, catalog, source=filename)
        session.commit()
    except CatalogError as exc:
        session.rollback()
        flash(_("Not stored: %(reason)s", reason=exc), "error")
        return render_template(
            "admin/editor.html", text=text, filename=filename, code=code, **_annotations(text, [])
        ), 409
    flash(_("Saved %(code)s draft v%(number)s (%(products)s products). No problems found.", code=catalog.code,
            number=info.number, products=len(catalog.products)), "info")
    return redirect(url_for("admin.catalog", code=catalog.code), 303)


@bp.get("/catalogs/<code>")
@require_role("viewer")
def catalog(code: str) -> Any:
    session = database.session()
    versions = list_versions(session, code)
    current = _published_in_force(code)
    from usecases.compiled_models import list_compiled

    return render_template(
        "admin/catalog.html",
        code=code,
        # The compiled models of the version in force: ready, failed, or preparing (a compile job
        # has not stored them yet, and the storefront answers 503 model_preparing for them).
        models=list_compiled(session, current[0].content_hash) if current else [],
        checks=version_checks(session, code),
        versions=list(reversed(versions)),
        current=current[0] if current else None,
        draft=next((v for v in versions if v.is_draft), None),
        now=datetime.now(UTC),
    )


@bp.route("/catalogs/<code>/edit", methods=["GET", "POST"])
@require_role("viewer")
def edit(code: str) -> Any:
    """The draft in a text editor; saving re-validates and keeps the text when it has problems."""
    if request.method == "POST":
        if not current_user.can("editor"):
            abort(403, "editing catalogs needs the editor role")
        return _save_text(
            request.form.get("text", ""), request.form.get("filename") or f"{code}.yaml", code=code
        )
    draft = _draft(code)
    if draft is None:
        flash(_("This catalog has no draft: open one first."), "error")
        return redirect(url_for("admin.catalog", code=code))
    info, content = draft
    text = dump_catalog(content, "yaml")
    return render_template(
        "admin/editor.html",
        text=text,
        filename=info.source or f"{code}.yaml",
        code=code,
        draft=info,
        **_annotations(text, []),
    )


@bp.get("/new")
@require_role("editor")
def new_catalog() -> Any:
    text = "format: c2m-catalog/1\ncode: my-catalog\nname: {en: My catalog, zh-CN: 我的目录}\ncurrency: CNY\nparts: []\nproducts: []\n"
    return render_template(
        "admin/editor.html", text=text, filename="new.yaml", code=None, **_annotations(text, [])
    )


@bp.post("/new")
@require_role("editor")
def save_new_catalog() -> Any:
    return _save_text(request.form.get("text", ""), request.form.get("filename") or "new.yaml", code=None)


@bp.post("/catalogs/<code>/draft")
@require_role("editor")
def open_draft(code: str) -> Any:
    session = database.session()
    number = request.form.get("from", type=int)
    info = create_draft(session, code, from_number=number)
    session.commit()
    flash(_("Draft v%(number)s is open (%(comment)s).", number=info.number, comment=info.comment or _("new")), "info")
    return redirect(url_for("admin.edit", code=code), 303)


@bp.post("/catalogs/<code>/draft/discard")
@require_role("editor")
def discard(code: str) -> Any:
    session = database.session()
    discard_draft(session, code)
    session.commit()
    flash(_("Draft discarded."), "info")
    return redirect(url_for("admin.catalog", code=code), 303)


@bp.get("/catalogs/<code>/diff")
@require_role("viewer")
def diff(code: str) -> Any:
    """The draft (or ``?version=N``) against the last published version before it."""
    session = database.session()
    number = request.args.get("version", type=int)
    if number is None:
        draft = _draft(code)
        if draft is None:
            flash(_("No draft to compare; showing the version in force."), "info")
            target = _published_in_force(code)
            if target is None:
                abort(404, f"catalog {code!r} has no draft and no version in force")
        else:
            target = draft
    else:
        target = load_version(session, code, number, published_only=False)
    info, after = target
    base = _last_published(code, before=info.number)
    before = base[1] if base else None
    text = unified_diff(
        before,
        after,
        before_name=f"{code} {_version_label(base[0])}" if base else "(nothing published)",
        after_name=f"{code} {_version_label(info)}",
    )
    changes = structural_changes(before, after)
    semantic = affected = job = None
    if before is not None and base is not None:
        # What the change does to the space of products, and to what buyers saved or ordered on the base:
        # with a job engine, the stored diff or its job (never computed here); without one, computed here.
        from usecases.version_diff import diff_from_json, request_diff

        actor = f"workspace:{current_user.email}"
        job = _report_on_view(lambda s: request_diff(s, code, base[0].number, info.number, requested_by=actor,
                                                     requeue_failed=False))
        if job is not None:
            if job.status == "done" and job.result is not None:
                semantic, affected = diff_from_json(job.result)
        else:
            names = (f"v{base[0].number}", f"v{info.number}")
            semantic = semantic_diff(before, after, backend=_backend(), names=names)
            affected = affected_records(
                session, code, base[0].number, before, after, backend=_backend(), name_b=names[1]
            )
    return render_template(
        "admin/diff.html",
        code=code,
        info=info,
        base=base[0] if base else None,
        diff_lines=text.splitlines(),
        changes=changes,
        summary=summary(changes),
        semantic=semantic,
        affected=affected,
        job=job,
        format_configuration=format_configuration,
    )


# --------------------------------------------------------------------------- checks and publishing


def _run_checks(
    code: str, number: int | None
) -> tuple[CatalogVersionInfo, CatalogReport, CatalogVersionInfo | None]:
    session = database.session()
    if number is None:
        target = _draft(code) or _published_in_force(code)
        if target is None:
            abort(404, f"catalog {code!r} has no draft and no version in force")
    else:
        target = load_version(session, code, number, published_only=False)
    info, content = target
    base = _last_published(code, before=info.number)
    report = check_catalog(
        content,
        previous=base[1] if base else None,
        backend=_backend(),
        catalog_key=f"draft:{info.content_hash}" if info.is_draft else info.content_hash,
    )
    return info, report, base[0] if base else None


@bp.get("/catalogs/<code>/checks")
@require_role("viewer")
def checks(code: str) -> Any:
    """Every check of the draft (or ``?version=N``): with a job engine, the stored report (its job sent
    when there is none yet, shown queued or running until done); without one, computed here."""
    from usecases.check_reports import request_check

    number = request.args.get("version", type=int)
    actor = f"workspace:{current_user.email}"
    try:
        job = _report_on_view(lambda s: request_check(s, code, number, requested_by=actor, requeue_failed=False))
    except CatalogError as exc:
        abort(404, str(exc))
    if job is not None:
        return redirect(url_for("admin.report", report_id=job.id), 303)
    info, report, base = _run_checks(code, number)
    return render_template("admin/checks.html", code=code, info=info, report=report, base=base, blocked=False)


@bp.post("/catalogs/<code>/versions/<int:number>/publish")
@require_role("editor")
def publish(code: str, number: int) -> Any:
    """Run every check, then publish unless one is an error (warnings do not block)."""
    try:
        valid_from = _parse_moment(request.form.get("valid_from"), _("valid from"))
        valid_to = _parse_moment(request.form.get("valid_to"), _("valid to"))
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.catalog", code=code), 303)
    identical = _identical_to_version_in_force(code, number)
    if identical is not None:
        flash(_("Not published: v%(number)s is identical to v%(current)s, the version in force. Change the draft "
                "first.", number=number, current=identical), "error")
        return redirect(url_for("admin.catalog", code=code), 303)
    skip = request.form.get("skip_checks") == "on"
    session = database.session()
    try:
        # The same path as the CLI and the API: checks on the exact stored draft, publish under lock.
        published = publish_checked(
            session,
            code,
            number=number,
            valid_from=valid_from,
            valid_to=valid_to,
            skip_checks=skip and current_user.can("admin"),
            skip_reason=request.form.get("skip_reason"),
            actor=f"workspace:{current_user.email}",
            backend=_backend(),
        )
        session.commit()
    except ChecksFailed as exc:
        session.rollback()
        info = load_version(session, code, number, published_only=False)[0]
        base = _last_published(code, before=number)
        flash(_("Not published: the checks found %(num)s error(s). Fix them and try again.",
                num=len(exc.report.errors)), "error")
        return (
            render_template(
                "admin/checks.html",
                code=code,
                info=info,
                report=exc.report,
                base=base[0] if base else None,
                blocked=True,
            ),
            409,
        )
    except (CatalogError, CatalogTooComplex) as exc:
        session.rollback()
        flash(_("Not published: %(reason)s", reason=exc), "error")
        return redirect(url_for("admin.catalog", code=code), 303)
    if broker_url() is None:  # without a job engine: compiled once here, loaded by every worker
        prepare_version(session, code, number)
    info = published.info
    window = _("from %(when)s UTC", when=f"{info.valid_from:%Y-%m-%d %H:%M}") if info.valid_from else ""
    if info.valid_to:
        window += " " + _("to %(when)s UTC", when=f"{info.valid_to:%Y-%m-%d %H:%M}")
    if published.skipped:
        flash(_("Published v%(number)s %(window)s WITHOUT checks (recorded on the version).",
                number=number, window=window), "error")
        return redirect(url_for("admin.catalog", code=code), 303)
    warnings = len(published.warnings)
    flash(_("Published v%(number)s %(window)s", number=number, window=window).strip()
          + (" " + _("with %(num)s warning(s).", num=warnings) if warnings else "."), "info")
    return redirect(url_for("admin.catalog", code=code), 303)


@bp.post("/catalogs/<code>/versions/<int:number>/archive")
@require_role("editor")
def archive(code: str, number: int) -> Any:
    session = database.session()
    try:
        archive_version(session, code, number)
        session.commit()
    except CatalogError as exc:
        session.rollback()
        flash(_("Not archived: %(reason)s", reason=exc), "error")
        return redirect(url_for("admin.catalog", code=code), 303)
    flash(_("Archived v%(number)s: it is no longer sold; orders that pin it still read it.", number=number), "info")
    return redirect(url_for("admin.catalog", code=code), 303)


# --------------------------------------------------------------------------- test bench


@dataclass(frozen=True, slots=True)
class BenchValue:
    value: Any
    text: str
    possible: bool
    selected: bool
    source: str | None
    price_delta: Any
    reasons: tuple[str, ...]
    link: str | None
    out_link: str | None = None


def _bench_link(code: str, number: int, product: str, decisions: Iterable[str], add: str | None) -> str:
    kept = list(decisions)
    if add is not None:
        name = add.partition("=")[0]
        value = add.partition("=")[2]
        if value[:1] in ("+", "-"):
            element = value[1:]
            kept = [d for d in kept if d not in (f"{name}=+{element}", f"{name}=-{element}")]
        else:
            kept = [d for d in kept if d.partition("=")[0] != name]
        kept.append(add)
    return url_for("admin.bench", code=code, version=number, product=product, d=kept)


@bp.get("/catalogs/<code>/bench")
@require_role("viewer")
def bench(code: str) -> Any:
    """Configure a draft exactly as the storefront would, before anyone can buy it."""
    session = database.session()
    number = request.args.get("version", type=int)
    info, content = load_version(session, code, number, published_only=False)
    if not content.products:
        abort(404, f"version {info.number} of {code!r} has no products")
    product_code = request.args.get("product") or content.products[0].code
    try:
        product = content.product(product_code)
    except KeyError:
        abort(404, f"version {info.number} of {code!r} has no product {product_code!r}")
    texts = [t for t in request.args.getlist("d") if t.strip()]
    problems: list[str] = []
    decisions = []
    for text in texts:
        try:
            decisions.append(parse_decision(product, text))
        except ConfiguratorError as exc:
            problems.append(f"{text}: {exc}")
    # Keyed by the draft's own content, never by a published hash: the storefront's cache is left alone.
    prefix = "draft" if info.is_draft else "bench"
    conf = Configurator(
        product, catalog_key=f"{prefix}:{info.content_hash}", backend=_backend(), currency=content.currency
    )
    try:
        state = conf.state(decisions)
    except ConfiguratorError as exc:
        return render_template(
            "admin/bench.html",
            code=code,
            info=info,
            catalog=content,
            product=product,
            error=str(exc),
            rows=[],
        ), 422
    valid_texts = [
        f"{d.attribute}={_decision_value(d)}" if isinstance(d, Decision) else str(d) for d in state.decisions
    ]
    rows = _bench_rows(conf, product, state, valid_texts, code, info.number)
    bom = None
    bom_error = None
    if state.complete:
        try:
            bom = explode(content, product.code, state.values())
        except BomError as exc:
            bom_error = str(exc)
    return render_template(
        "admin/bench.html",
        code=code,
        info=info,
        catalog=content,
        product=product,
        state=state,
        rows=rows,
        problems=problems,
        decisions=valid_texts,
        bom=bom,
        bom_error=bom_error,
        reset=url_for("admin.bench", code=code, version=info.number, product=product.code),
        error=None,
    )


def _decision_value(decision: Decision) -> str:
    value = decision.value
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return format_value(value)


def _bench_rows(
    conf: Configurator, product: Product, state: Any, decisions: list[str], code: str, number: int
) -> list[Any]:
    rows = []
    budget = MAX_REASONS
    for attribute in product.attributes:
        attr_state = state.attribute(attribute.code)
        values: list[BenchValue] = []
        for v in attr_state.values:
            reasons: tuple[str, ...] = ()
            impossible = not v.possible
            if impossible and budget > 0 and attribute.kind is not AttributeKind.INT:
                budget -= 1
                why = conf.explain(state.decisions, attribute.code, v.value)
                reasons = tuple(r.message.en for r in why.rules) + tuple(
                    f"because of {d}" for d in why.decisions
                )
            shown = format_value(v.value)
            if attribute.kind is AttributeKind.SET:
                link = (
                    _bench_link(code, number, product.code, decisions, f"{attribute.code}=+{v.value}")
                    if v.possible
                    else None
                )
                out_link = (
                    _bench_link(code, number, product.code, decisions, f"{attribute.code}=-{v.value}")
                    if v.possible_out
                    else None
                )
            else:
                link = (
                    _bench_link(code, number, product.code, decisions, f"{attribute.code}={shown}")
                    if v.possible
                    else None
                )
                out_link = None
            values.append(
                BenchValue(
                    v.value, shown, v.possible, v.selected, v.source, v.price_delta, reasons, link, out_link
                )
            )
        rows.append((attribute, attr_state, values))
    return rows


# --------------------------------------------------------------------------- orders and production


def _date_arg(name: str) -> date | None:
    text = request.args.get(name) or ""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        abort(400, f"{name}: {text!r} is not a date (YYYY-MM-DD)")


def _filters() -> dict[str, Any]:
    return {
        "status": request.args.get("status") or "",
        "product": request.args.get("product") or "",
        "from": _date_arg("from"),
        "to": _date_arg("to"),
    }


def _within(query: Any, column: Any, filters: dict[str, Any]) -> Any:
    if filters["from"] is not None:
        query = query.where(column >= datetime.combine(filters["from"], time.min, tzinfo=UTC))
    if filters["to"] is not None:
        query = query.where(
            column < datetime.combine(filters["to"] + timedelta(days=1), time.min, tzinfo=UTC)
        )
    return query


@bp.get("/orders")
@require_role("viewer")
def orders() -> Any:
    filters = _filters()
    query = select(OrderRecord)
    if filters["status"]:
        query = query.where(OrderRecord.status == filters["status"])
    if filters["product"]:
        query = query.where(OrderRecord.product_code == filters["product"])
    query = _within(query, OrderRecord.created_at, filters)
    session = database.session()
    rows = session.scalars(query.order_by(OrderRecord.id.desc()).limit(500)).all()
    statuses = session.scalars(select(OrderRecord.status).distinct().order_by(OrderRecord.status)).all()
    products = session.scalars(
        select(OrderRecord.product_code).distinct().order_by(OrderRecord.product_code)
    ).all()
    return render_template(
        "admin/orders.html", rows=rows, filters=filters, statuses=statuses, products=products
    )


@bp.get("/orders/<number>")
@require_role("viewer")
def order(number: str) -> Any:
    session = database.session()
    row = session.scalars(select(OrderRecord).where(OrderRecord.number == number)).first()
    if row is None:
        abort(404, f"no order {number}")
    bom = json.loads(row.bom)
    return render_template(
        "admin/order.html",
        **order_details(row),
        order=row,
        configuration=json.loads(row.configuration),
        decisions=json.loads(row.decisions),
        price=json.loads(row.price_breakdown),
        bom=bom,
        nodes=bom_tree(bom.get("items", [])),
    )


@bp.get("/production-orders")
@require_role("viewer")
def production_orders() -> Any:
    filters = _filters()
    query = select(ProductionOrderRecord, OrderRecord).join(
        OrderRecord, ProductionOrderRecord.order_id == OrderRecord.id
    )
    if filters["status"]:
        query = query.where(ProductionOrderRecord.status == filters["status"])
    if filters["product"]:
        query = query.where(OrderRecord.product_code == filters["product"])
    query = _within(query, ProductionOrderRecord.created_at, filters)
    session = database.session()
    rows = session.execute(query.order_by(ProductionOrderRecord.id.desc()).limit(500)).all()
    statuses = session.scalars(
        select(ProductionOrderRecord.status).distinct().order_by(ProductionOrderRecord.status)
    ).all()
    products = session.scalars(
        select(OrderRecord.product_code).distinct().order_by(OrderRecord.product_code)
    ).all()
    return render_template(
        "admin/production_orders.html",
        rows=[(po, o, json.loads(po.document)) for po, o in rows],
        filters=filters,
        statuses=statuses,
        products=products,
    )


def _production_order(number: str) -> ProductionOrderRecord:
    row = (
        database.session()
        .scalars(select(ProductionOrderRecord).where(ProductionOrderRecord.number == number))
        .first()
    )
    if row is None:
        abort(404, f"no production order {number}")
    return row


@bp.get("/production-orders/<number>")
@require_role("viewer")
def production_order(number: str) -> Any:
    row = _production_order(number)
    document = json.loads(row.document)
    operations = document.get("operations", [])
    return render_template(
        "admin/production_order.html",
        po=row,
        order=row.order,
        document=document,
        nodes=bom_tree(document.get("bom", {}).get("items", [])),
        gantt=gantt_svg(operations, locale=current_locale()),
        operations=operations,
    )


def _stored(number: str) -> Any:
    """The production order as stored (its document read back, never re-exploded) and its catalog."""
    from usecases.orders import stored_with_catalog

    return stored_with_catalog(database.session(), _production_order(number))


@bp.get("/production-orders/<number>/bom.csv")
@require_role("viewer")
def production_order_csv(number: str) -> Response:
    production, _catalog = _stored(number)
    return Response(
        bom_csv(production.bom),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{number}-bom.csv"'},
    )


@bp.get("/production-orders/<number>/b2mml.xml")
@require_role("viewer")
def production_order_b2mml(number: str) -> Response:
    production, catalog = _stored(number)
    return Response(
        xml_bytes(order_b2mml(production, catalog)),
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{number}-b2mml.xml"'},
    )


@dataclass(slots=True)
class TreeNode:
    item: dict[str, Any]
    children: list[TreeNode]


def bom_tree(items: Iterable[dict[str, Any]]) -> list[TreeNode]:
    """Nest the exploded BOM's items by their paths (``"0020/0010"`` is a child of ``"0020"``).

    >>> [(n.item["path"], [c.item["path"] for c in n.children]) for n in bom_tree(
    ...     [{"path": "0010"}, {"path": "0020"}, {"path": "0020/0010"}])]
    [('0010', []), ('0020', ['0020/0010'])]
    """
    roots: list[TreeNode] = []
    by_path: dict[str, TreeNode] = {}
    for item in items:
        node = TreeNode(item, [])
        path = str(item["path"])
        by_path[path] = node
        parent = path.rpartition("/")[0]
        (by_path[parent].children if parent in by_path else roots).append(node)
    return roots


@bp.app_template_filter("admin_label")
def _admin_label(label: Any) -> str:
    """A catalog label (object or ``{"en", "zh-CN"}``) in the workspace's language."""
    if isinstance(label, dict):
        chinese = current_locale().startswith("zh")
        return str((label.get("zh-CN") if chinese else None) or label.get("en") or "")
    if label is None:
        return ""
    return label_text(label) if hasattr(label, "get") else str(label)


__all__ = ["annotated", "bom_tree"]


# --------------------------------------------------------------------------- background jobs


@bp.get("/jobs")
@require_role("viewer")
def jobs() -> Any:
    """The job engine's queues (waiting, delayed retries, running, dead), its recent failures, and
    the webhook outbox with the given-up events."""
    from jobs.engine import current
    from jobs.status import jobs_status

    try:
        engine = current()
        config_error = None
    except ValueError as exc:  # a malformed C2M_BROKER_URL: shown, the outbox still listed
        engine, config_error = None, str(exc)
    from usecases.check_reports import list_reports

    session = database.session()
    status = jobs_status(session, engine)
    return render_template(
        "admin/jobs.html", status=status, config_error=config_error, reports=list_reports(session, limit=20)
    )


def _report_on_view(request_report: Callable[[Any], Any]) -> Any:
    """With a job engine configured: the stored report of a check or diff page, its job sent when it is
    new (a failed one is shown as it is: "Run it again" queues it). None without a job engine: the
    page computes in the request, under its budget, as before."""
    from jobs.engine import current, send_report
    from usecases.check_reports import get_report, not_sent

    try:
        engine = current()
    except ValueError:  # a malformed broker URL: no job engine (the jobs page says why)
        engine = None
    if engine is None:
        return None
    session = database.session()
    report, new = request_report(session)
    session.commit()
    if new:
        try:
            send_report(report.id)
        except Exception as exc:  # the broker away: the row says so, the page shows it failed
            not_sent(session, report.id, f"{type(exc).__name__}: {exc}")
        report = get_report(session, report.id)
    return report


def _queue_report(request_report: Callable[[Any], Any], code: str) -> Any:
    """Store the request and send its job, then show the report; without a job engine say so."""
    from jobs.engine import current, send_report
    from usecases.check_reports import not_sent

    try:
        engine = current()
    except ValueError as exc:
        engine, problem = None, str(exc)
    else:
        problem = "no job engine is configured: set C2M_BROKER_URL (or C2M_REDIS_URL) and run `c2m worker`"
    if engine is None:  # nothing would ever run it: say so, store nothing
        flash(_("Not queued: %(reason)s", reason=problem), "error")
        return redirect(url_for("admin.catalog", code=code), 303)
    session = database.session()
    try:
        report, new = request_report(session)
        session.commit()
    except CatalogError as exc:
        session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.catalog", code=code), 303)
    if new:
        try:
            send_report(report.id)
        except Exception as exc:  # the broker away: the row says so, asking again queues it again
            not_sent(session, report.id, f"{type(exc).__name__}: {exc}")
            flash(_("Not queued: %(reason)s", reason=exc), "error")
            return redirect(url_for("admin.report", report_id=report.id), 303)
        flash(_("Queued: %(title)s.", title=report_title(report)), "info")
    else:
        flash(_("Already %(status)s: %(title)s.", status=report_status(report.status), title=report_title(report)),
              "info")
    return redirect(url_for("admin.report", report_id=report.id), 303)


@bp.post("/catalogs/<code>/checks/job")
@require_role("editor")
def check_job(code: str) -> Any:
    """Run every check of the draft (or ``version``) as a background job; its report is stored."""
    from usecases.check_reports import request_check

    number = request.form.get("version", type=int)
    again = request.form.get("again") == "1"
    actor = f"workspace:{current_user.email}"
    return _queue_report(lambda s: request_check(s, code, number, requested_by=actor, again=again), code)


@bp.post("/catalogs/<code>/diff/job")
@require_role("editor")
def diff_job(code: str) -> Any:
    """Run the semantic diff of versions ``a`` and ``b`` as a background job; its result is stored."""
    from usecases.version_diff import request_diff

    a, b = request.form.get("a", type=int), request.form.get("b", type=int)
    if a is None or b is None:
        abort(400, "the diff needs two version numbers, a and b")
    again = request.form.get("again") == "1"
    actor = f"workspace:{current_user.email}"
    return _queue_report(lambda s: request_diff(s, code, a, b, requested_by=actor, again=again), code)


@bp.get("/reports/<int:report_id>")
@require_role("viewer")
def report(report_id: int) -> Any:
    """A check or diff run as a job: queued, running, failed (with the error) or done (with the result)."""
    from usecases.check_reports import ReportNotFound, get_report

    try:
        found = get_report(database.session(), report_id)
    except ReportNotFound as exc:
        abort(404, str(exc))
    return render_template("admin/report.html", report=found)


@bp.post("/jobs/models/prepare")
@require_role("admin")
def prepare_models() -> Any:
    """Queue the compile job of a catalog version once more: its failed models are compiled again
    with fresh attempts (``c2m jobs prepare CODE N``)."""
    from jobs.engine import current

    code = request.form.get("code") or ""
    number = request.form.get("number", type=int)
    if not code or number is None:
        abort(400, "the compile job needs a catalog code and a version number")
    try:
        engine = current()
    except ValueError as exc:
        engine, problem = None, str(exc)
    else:
        problem = "no job engine is configured: set C2M_BROKER_URL (or C2M_REDIS_URL) and run `c2m worker`"
    if engine is None:
        flash(_("Not queued: %(reason)s", reason=problem), "error")
        return redirect(url_for("admin.jobs"), 303)
    try:
        engine.prepare_version.send(code, number, True)
    except Exception as exc:  # the broker away
        flash(_("Not queued: %(reason)s", reason=exc), "error")
        return redirect(url_for("admin.jobs"), 303)
    flash(_("Compile job queued for %(code)s v%(number)s.", code=code, number=number), "info")
    return redirect(url_for("admin.jobs"), 303)


@bp.post("/jobs/webhooks/retry")
@require_role("admin")
def retry_webhooks() -> Any:
    """Give every given-up webhook event (or the one named) a fresh attempt budget."""
    from usecases.outbox import retry_failed

    event_id = request.form.get("event") or None
    count = retry_failed(database.session(), event_id=event_id)
    flash(_("%(count)d webhook event(s) queued again.", count=count), "info")
    return redirect(url_for("admin.jobs")), 303
