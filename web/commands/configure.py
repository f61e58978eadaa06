"""`c2m` commands: configure a product from a catalog file, and model statistics.

``c2m configure PRODUCT --catalog FILE [--set ATTR=VALUE]... [--json] [--lang en|zh-CN]``
prints the propagated state; exit 1 on a conflict or bad input, with the
reason on stderr. ``c2m model stats PRODUCT --catalog FILE [--backend ...]``
prints the size of the compiled model.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from catalog.errors import CatalogError
from catalog.files import CatalogInvalid, content_hash, load_catalog_file
from configurator import (
    AttributeState,
    Configurator,
    ConfiguratorError,
    Decision,
    SetElement,
    State,
    format_value,
    load_product,
    parse_decision,
)
from configurator.decisions import AnyDecision
from configurator.rules import expression_checker
from web.commands.db import database_session, url_option

BACKENDS = ("auto", "mdd", "ddnnf", "sat", "reference", "brute")


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _open(catalog_file: str, product: str, backend: str) -> Configurator:
    """Load the product or exit 1 with every catalog problem as FILE:LINE:COL lines.

    Compiling a large model takes seconds: a terminal shows a spinner meanwhile (stderr, never when piped).
    """
    from web.commands.progress import Progress, wanted

    try:
        with Progress(wanted(False), "compiling") as progress:
            progress.step(product)
            catalog = load_catalog_file(catalog_file, expression_checker=expression_checker)
            return load_product(catalog, product, catalog_key=content_hash(catalog), backend=backend)
    except CatalogInvalid as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        sys.exit(1)
    except (CatalogError, ConfiguratorError) as exc:
        _fail(str(exc))
        raise  # unreachable: _fail exits


def _json_value(value: object) -> Any:
    if isinstance(value, frozenset):
        return sorted(value)
    return value


def _decision_text(d: AnyDecision) -> str:
    return str(d)


def _unavailable(conf: Configurator, decisions: tuple[AnyDecision, ...], attr: AttributeState,
                 lang: str) -> list[dict[str, Any]]:
    """Why each impossible value is impossible (rules and the decisions that exclude it)."""
    out: list[dict[str, Any]] = []
    for v in attr.values:
        if v.possible:
            continue
        why = conf.explain(decisions, attr.code, v.value)
        if why.possible:
            continue
        out.append({
            "value": _json_value(v.value),
            "decisions": [_decision_text(d) for d in why.decisions],
            "rules": [{"id": r.rule_id, "message": r.message.get(lang)} for r in why.rules],
        })
    return out


def _state_document(conf: Configurator, state: State, lang: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for attr in state.attributes:
        values = []
        for v in attr.values:
            entry: dict[str, Any] = {
                "value": _json_value(v.value),
                "possible": v.possible,
                "selected": v.selected,
                "source": v.source,
                "price_delta": None if v.price_delta is None else str(v.price_delta),
            }
            if v.possible_out is not None:
                entry["possible_out"] = v.possible_out
            values.append(entry)
        attributes[attr.code] = {
            "kind": attr.kind.value,
            "label": conf.product.attribute(attr.code).label.get(lang),
            "value": None if attr.value is None else _json_value(attr.value),
            "source": attr.source,
            "possible": [_json_value(v) for v in attr.possible],
            "values": values,
            "unavailable": _unavailable(conf, state.decisions, attr, lang),
        }
    conflict = None
    if state.conflict is not None:
        conflict = {
            "decisions": [_decision_text(d) for d in state.conflict.decisions],
            "rules": [{"id": r.rule_id, "message": r.message.get(lang)} for r in state.conflict.rules],
            "dropped": [_decision_text(d) for d in state.conflict.dropped],
        }
    return {
        "product": state.product,
        "decisions": [_decision_text(d) for d in state.decisions],
        "attributes": attributes,
        "conflict": conflict,
        "price": {
            "currency": state.price.currency,
            "base": str(state.price.base),
            "total": str(state.price.total),
            "lines": [
                {"rule_id": p.rule_id, "label": p.label.get(lang), "amount": str(p.amount),
                 "attributes": list(p.decisions)}
                for p in state.price.lines
            ],
        },
        "complete": state.complete,
        "missing": list(state.missing),
        "count": state.count,
    }


def _shown(value: object) -> str:
    return format_value(value) if value is not None else "-"


def _print_table(conf: Configurator, doc: dict[str, Any], lang: str) -> None:
    product = conf.product
    click.echo(f"{product.code}: {product.name.get(lang)}")
    rows = [("ATTRIBUTE", "VALUE", "SOURCE", "POSSIBLE")]
    notes: list[tuple[int, str]] = []
    for code, a in doc["attributes"].items():
        value = a["value"]
        shown_value = ",".join(value) if isinstance(value, list) else _shown(value)
        possible = ", ".join(_shown(v) for v in a["possible"]) or "-"
        rows.append((code, shown_value or "{}", a["source"] or "-", possible))
        for u in a["unavailable"]:
            reason = "; ".join(r["message"] for r in u["rules"]) or "no rule admits it"
            because = f" (because {', '.join(u['decisions'])})" if u["decisions"] else ""
            notes.append((len(rows) - 1, f"    not {_shown(u['value'])}: {reason}{because}"))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for i, r in enumerate(rows):
        line = "  ".join(cell.ljust(widths[k]) for k, cell in enumerate(r[:3])) + "  " + r[3]
        click.echo(click.style(line, bold=True) if i == 0 else line)
        for row, note in notes:
            if row == i:
                click.echo(click.style(note, dim=True))
    price = doc["price"]
    click.echo("")
    click.echo(f"base price {price['base']} {price['currency']}")
    for line in price["lines"]:
        click.echo(f"  {line['label']}: {line['amount']}")
    click.echo(f"total {price['total']} {price['currency']}")
    status = "complete" if doc["complete"] else f"missing: {', '.join(doc['missing'])}"
    click.echo(f"{status}; {doc['count']} valid configuration{'s' if doc['count'] != 1 else ''}")


@click.command("configure")
@click.argument("product")
@click.option("--catalog", "catalog_file", required=True, metavar="FILE", help="Catalog file (YAML or JSON).")
@click.option("--set", "settings", multiple=True, metavar="ATTR=VALUE",
              help="A decision, repeatable, in order. Sets: a=x,y (whole set), a=+x or a=-x (one element).")
@click.option("--json", "as_json", is_flag=True, help="Print the state as JSON.")
@click.option("--lang", type=click.Choice(["en", "zh-CN"]), default="en", show_default=True)
@click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True)
def configure(product: str, catalog_file: str, settings: tuple[str, ...], as_json: bool, lang: str,
              backend: str) -> None:
    """Print the propagated configuration state of PRODUCT after the --set decisions."""
    conf = _open(catalog_file, product, backend)
    decisions: list[Decision | SetElement] = []
    try:
        for text in settings:
            decisions.append(parse_decision(conf.product, text))
        state = conf.state(decisions)
        doc = _state_document(conf, state, lang)
    except ConfiguratorError as exc:
        _fail(str(exc))
        return
    if as_json:
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        _print_table(conf, doc, lang)
    if state.conflict is not None:
        conflict = doc["conflict"]
        rules = "; ".join(r["message"] for r in conflict["rules"])
        _fail(f"conflicting decisions {', '.join(conflict['decisions'])}: {rules} "
              f"(state shown without {', '.join(conflict['dropped'])})")


@click.group("model")
def model() -> None:
    """Inspect compiled product models."""


@model.command("stats")
@click.argument("product")
@click.option("--catalog", "catalog_file", required=True, metavar="FILE", help="Catalog file (YAML or JSON).")
@click.option("--backend", type=click.Choice(BACKENDS), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def stats(product: str, catalog_file: str, backend: str, as_json: bool) -> None:
    """Print the size of PRODUCT's compiled model: variables, constraints, backend, compile time, count."""
    from web.commands.progress import Progress, wanted

    conf = _open(catalog_file, product, backend)
    try:
        with Progress(wanted(False), "counting") as progress:
            progress.step(product)
            figures = conf.stats()
    except ConfiguratorError as exc:
        _fail(str(exc))
        return
    doc = {
        "product": figures.product,
        "variables": figures.variables,
        "constraints": figures.constraints,
        "rules": figures.rules,
        "backend": figures.backend,
        "compile_seconds": round(figures.compile_seconds, 4),
        "nodes": figures.size,
        "count": figures.count,
        "choice": list(figures.choice),
    }
    if as_json:
        click.echo(json.dumps(doc, indent=2))
        return
    for key, value in doc.items():
        if key == "choice":
            for i, note in enumerate(figures.choice):
                click.echo(f"{'backend choice' if i == 0 else '':<16}{note}")
            continue
        click.echo(f"{key.replace('_', ' '):<16}{'-' if value is None else value}")


@model.command("prepare")
@click.argument("code")
@click.option("--version", "number", type=int, help="Version number (default: the version in force).")
@click.option("--force", is_flag=True, help="Compile again even when a valid compiled model is stored.")
@url_option
def prepare_command(code: str, number: int | None, force: bool, url: str | None) -> None:
    """Compile every product of a stored catalog version once and store the compiled models,
    so web workers and new processes load them instead of compiling.

    Each model (with its priced part) compiles in a child process under a compile job's limits:
    the address space C2M_COMPILE_MEMORY_MB, the time budget C2M_COMPILE_JOB_BUDGET_S and the node
    budget C2M_COMPILE_NODE_BUDGET. A model over one is stored as failed (requests answer
    model_too_large) and the command exits 1 naming the product, the model key and the limit;
    run it again with a higher limit to compile it.
    """
    from usecases.catalogs import load_catalog
    from usecases.compiled_models import prepare_version
    from web.commands.catalog import capped_budget, not_compiled, use_app_settings

    use_app_settings()
    budget = capped_budget()
    with database_session(url) as session:
        try:
            number = number if number is not None else load_catalog(session, code).number
            prepared = prepare_version(session, code, number, force=force, capped=budget)
        except CatalogError as exc:
            raise click.ClickException(str(exc)) from exc
    for m in prepared:
        size = "-" if m.size_bytes is None else str(m.size_bytes)
        click.echo(f"{m.product:<32}{m.status:<9}{m.backend or '-':<7}{m.seconds:>9.2f} s {size:>12} bytes"
                   + (f"  {m.detail}" if m.detail else ""))
    failed = not_compiled(code, number, prepared)
    if failed:
        _fail(failed)


@model.command("artifacts")
@click.option("--catalog", "code", help="Only the version in force of this catalog.")
@click.option("--verify", is_flag=True, help="Load every ready model through a fresh cache and time it.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@url_option
def artifacts_command(code: str | None, verify: bool, as_json: bool, url: str | None) -> None:
    """List the stored compiled models (status, backend, size); with --verify, load them and
    print the cache figures (hits, misses, evictions, artifact loads, compiles)."""
    from usecases.catalogs import load_catalog
    from usecases.compiled_models import list_compiled
    from web.commands.catalog import use_app_settings

    use_app_settings()
    rows: list[dict[str, Any]] = []
    cache_stats: dict[str, object] | None = None
    with database_session(url) as session:
        hashes = None
        if code is not None:
            hashes = {load_catalog(session, code).content_hash}
        for info in list_compiled(session):
            if hashes is not None and info.model_key.split(":", 1)[0] not in hashes:
                continue
            rows.append({
                "record": info.record_id, "model": info.model_key, "backend": info.backend,
                "status": info.status, "compiled_backend": info.compiled_backend, "bytes": info.size_bytes,
                "compile_seconds": info.compile_seconds, "detail": info.detail,
            })
        if verify:
            cache_stats = _verify(session, code, rows)
    if as_json:
        click.echo(json.dumps({"models": rows, "cache": cache_stats}, indent=2, default=str))
        return
    for row in rows:
        extra = f"  load {row['load_ms']} ms {row['verify']}" if "load_ms" in row else ""
        click.echo(f"{row['record']:>5} {row['status']:<9} {row['compiled_backend'] or '-':<6} "
                   f"{row['bytes'] or 0:>10} B  {row['model']}{extra}")
    if cache_stats is not None:
        for cache in cache_stats["caches"]:  # type: ignore[attr-defined]
            click.echo(f"cache {cache['name']}: {cache['entries']}/{cache['size']} entries, {cache['hits']} hits, "
                       f"{cache['misses']} misses, {cache['evictions']} evictions")
        click.echo(f"artifact loads {cache_stats['artifact_loads']}, rejected {cache_stats['artifact_rejects']}, "
                   f"compiles {cache_stats['compiles']}")


def _verify(session: Any, code: str | None, rows: list[dict[str, Any]]) -> dict[str, object]:
    """Load every product in force (of ``code``) through fresh caches; note time and outcome per row."""
    import time

    from sqlalchemy.orm import sessionmaker

    from usecases.catalogs import ModelCaches, catalogs_in_force, get_configurator
    from usecases.compiled_models import ArtifactStore

    caches = ModelCaches(artifacts=ArtifactStore(sessionmaker(session.get_bind(), expire_on_commit=False)))
    by_model = {row["model"]: row for row in rows}
    for loaded in catalogs_in_force(session):
        if code is not None and loaded.code != code:
            continue
        for product in loaded.catalog.products:
            started = time.perf_counter()
            try:
                get_configurator(loaded.catalog, product.code, loaded.content_hash, caches=caches)
                outcome = "ok"
            except Exception as exc:  # a domain error (too large, preparing): shown, not fatal
                outcome = f"{getattr(exc, 'reason', type(exc).__name__)}: {exc}"
            row = by_model.get(f"{loaded.content_hash}:{product.code}")
            if row is not None:
                row["load_ms"] = round((time.perf_counter() - started) * 1000, 1)
                row["verify"] = outcome
    return caches.stats()


COMMANDS: list[click.Command] = [configure, model]
