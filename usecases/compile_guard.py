"""Compile a catalog's products under the compile budget *before* a version is stored or published.

A catalog that validates can still describe a model too large to compile (a
sum over fourteen numbers 0..60, a table spanning millions of combinations).
:func:`check_catalog_compiles` compiles every product the way buyers' requests
will (same backend choice, same node budget), in a child process with:

- a **time budget** per product (``COMPILE_BUDGET_S``, default
  :data:`DEFAULT_COMPILE_BUDGET_S`): the decision diagram gives up at it, and the
  child is killed when a product has run ``COMPILE_GUARD_GRACE_S`` beyond it;
- a **node budget** (``COMPILE_NODE_BUDGET``, default :data:`DEFAULT_COMPILE_NODE_BUDGET`),
  which also sizes the decision-diagram library's memory allowance;
- a **memory budget** (``COMPILE_MEMORY_MB``, default :data:`DEFAULT_COMPILE_MEMORY_MB`):
  the child's address space is capped with ``RLIMIT_AS``, so a runaway compile
  fails alone instead of taking the web worker (and every other shop) down.

A product over any budget raises :class:`CatalogTooComplex` (422, reason
``catalog_too_complex``) naming the product, the attribute with the most values
among those of the failing rule, and the limit; nothing is stored. Callers (API
upload and publish, workspace upload and publish, the command line) call it
right before ``import_catalog`` / ``publish_version``.

The child is ``python -m usecases.compile_guard``: it reads the catalog
document on stdin and writes one JSON line per event on stdout.
"""

from __future__ import annotations

import json
import os
import re
import selectors
import subprocess  # nosec B404 - runs this module with the current interpreter, no shell
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from catalog.files import CatalogLimits, catalog_from_document, document_from_catalog
from catalog.files.limits import DEFAULT_MAX_ATTRIBUTE_VALUES, DEFAULT_MAX_MODEL_VALUES
from catalog.services import load_version
from catalog.snapshot import Catalog, Product
from configurator.errors import BudgetExceeded, ConfiguratorError
from usecases.settings import (
    DEFAULT_COMPILE_BUDGET_S,
    DEFAULT_COMPILE_MEMORY_MB,
    DEFAULT_COMPILE_NODE_BUDGET,
    current_settings,
)

COMPILE_GUARD_GRACE_S = 15.0
"""Extra seconds (interpreter start-up, the SAT fallback) before the child is killed."""


class CatalogTooComplex(ConfiguratorError):
    """A product of an uploaded or published catalog does not compile within the budget."""

    reason = "catalog_too_complex"

    def __init__(self, product: str, attribute: str | None, limit: str, detail: str) -> None:
        where = f", attribute {attribute!r}" if attribute else ""
        super().__init__(
            f"product {product!r}{where}: the model does not compile within the {limit} ({detail}); "
            "reduce the attribute's values or split the rule, or ask the operator to raise the budget"
        )
        self.product = product
        self.attribute = attribute
        self.limit = limit


@dataclass(frozen=True, slots=True)
class CompileBudget:
    """The bounds of compiling one product's model."""

    time_s: float = DEFAULT_COMPILE_BUDGET_S
    nodes: int = DEFAULT_COMPILE_NODE_BUDGET
    memory_mb: int = DEFAULT_COMPILE_MEMORY_MB
    backend: str = "auto"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CompileBudget:
        """The budget of the application's settings (``COMPILE_BUDGET_S``, ``COMPILE_NODE_BUDGET``,
        ``COMPILE_MEMORY_MB``, ``SOLVER_BACKEND``), defaults for those unset.

        >>> CompileBudget.from_config({"COMPILE_BUDGET_S": 2}).time_s
        2.0
        """
        return cls(
            time_s=float(config.get("COMPILE_BUDGET_S") or DEFAULT_COMPILE_BUDGET_S),
            nodes=int(config.get("COMPILE_NODE_BUDGET") or DEFAULT_COMPILE_NODE_BUDGET),
            memory_mb=int(config.get("COMPILE_MEMORY_MB") or DEFAULT_COMPILE_MEMORY_MB),
            backend=str(config.get("SOLVER_BACKEND") or "auto"),
        )


def current_budget() -> CompileBudget:
    """The budget of the running application's settings, or the defaults outside one."""
    config = current_settings()
    return CompileBudget.from_config(config) if config is not None else CompileBudget()


def current_limits() -> CatalogLimits:
    """The catalog domain-size limits of the running application (``CATALOG_MAX_ATTRIBUTE_VALUES``,
    ``CATALOG_MAX_MODEL_VALUES``), the catalog package's defaults outside one or when unset."""
    config = current_settings()
    if config is None:
        return CatalogLimits()
    return CatalogLimits(
        max_attribute_values=int(config.get("CATALOG_MAX_ATTRIBUTE_VALUES") or DEFAULT_MAX_ATTRIBUTE_VALUES),
        max_model_values=int(config.get("CATALOG_MAX_MODEL_VALUES") or DEFAULT_MAX_MODEL_VALUES),
    )


def load_draft_catalog(session: Session, code: str, number: int) -> Catalog:
    """The content of version ``number`` of catalog ``code`` (any status), to check before publishing."""
    return load_version(session, code, number, published_only=False)[1]


@dataclass(frozen=True, slots=True)
class GuardReport:
    """What the compile guard did with each product of a catalog."""

    seconds: float
    compiled: tuple[str, ...] = ()
    """Compiled by the guard's child (and stored as an artifact when a session was given)."""
    deferred: tuple[str, ...] = ()
    """Over the request's time budget, accepted for a compile job (``defer`` only)."""


def check_catalog_compiles(
    catalog: Catalog,
    budget: CompileBudget | None = None,
    *,
    session: Session | None = None,
    defer: bool = False,
) -> GuardReport:
    """Compile every product of ``catalog`` within ``budget`` in a child process.

    With a ``session`` each compiled model is kept: the child writes its artifact
    (:mod:`configurator.artifacts`, keyed by the catalog's content hash) and it is
    stored in ``compiled_models`` (committed on ``session``), so no worker compiles
    that model key again. A product whose artifact is already stored is compiled
    all the same: the artifact may come from a more generous budget (an upload
    checked before the budget was lowered), and publishing must hold the budget in
    force. With ``defer`` (a job engine runs the compile
    jobs) a product over the *time* budget is not refused but reported in
    ``deferred``: the caller leaves it to a compile job. Node and memory budgets
    always refuse.

    :raise CatalogTooComplex: a product exceeds the budget (and is not deferred).
    """
    from catalog.files import content_hash as hash_of
    from usecases.compiled_models import store_artifact

    budget = budget or current_budget()
    started = time.monotonic()
    if not catalog.products:
        return GuardReport(0.0)
    digest = hash_of(catalog)
    if session is not None:
        session.commit()  # hold no transaction (on SQLite: no write lock) while the child compiles
    remaining = [p.code for p in catalog.products]
    compiled: list[str] = []
    deferred: list[str] = []
    document = json.dumps(document_from_catalog(catalog), ensure_ascii=False).encode()
    with tempfile.TemporaryDirectory(prefix="c2m-guard-") as folder:
        while remaining:
            options = {
                "products": remaining,
                "content_hash": digest,
                "artifacts": folder if session is not None else None,
                "defer": defer,
            }
            for event in _run_child(catalog, document, budget, options):
                kind = event["event"]
                if kind == "compiled":
                    code = str(event["product"])
                    compiled.append(code)
                    if session is not None:
                        artifact = Path(str(event["file"]))
                        store_artifact(session, digest, code, budget.backend, artifact.read_bytes(),
                                       str(event["backend"]), float(event["seconds"]))
                        session.commit()
                        artifact.unlink()
                elif kind == "deferred":
                    deferred.append(str(event["product"]))
            done = set(compiled) | set(deferred)
            remaining = [code for code in remaining if code not in done]
    return GuardReport(time.monotonic() - started, tuple(compiled), tuple(deferred))


def _run_child(
    catalog: Catalog, document: bytes, budget: CompileBudget, options: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Run the child on ``options["products"]`` and yield its ``compiled`` and ``deferred`` events.

    A child still compiling one product ``COMPILE_GUARD_GRACE_S`` past the time
    budget is killed: with ``options["defer"]`` that product is deferred (the
    caller runs a new child on the rest), otherwise it is refused.
    """
    child = subprocess.Popen(  # nosec B603 - fixed argument list, no shell
        [sys.executable, "-m", "usecases.compile_guard", json.dumps(asdict(budget)), json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    current: str | None = None
    try:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.write(document)
        child.stdin.close()
        per_product = budget.time_s + COMPILE_GUARD_GRACE_S
        deadline = [time.monotonic() + per_product]  # moved on as each product starts
        for event in _events(child.stdout, lambda: deadline[0]):
            kind = event.get("event")
            if kind == "start":
                current = str(event["product"])
                deadline[0] = time.monotonic() + per_product
            elif kind == "too_large":
                raise CatalogTooComplex(
                    str(event["product"]), event.get("attribute"), str(event["limit"]), str(event["detail"])
                )
            elif kind in ("compiled", "deferred"):
                yield event
            elif kind == "done":
                return
        product = current or options["products"][0]
        if time.monotonic() >= deadline[0]:
            if options["defer"]:
                yield {"event": "deferred", "product": product}
                return
            raise CatalogTooComplex(
                product,
                _largest_attribute(catalog.product(product)),
                f"time budget of {budget.time_s:g} s",
                f"still compiling after {budget.time_s + COMPILE_GUARD_GRACE_S:g} s",
            )
        child.wait(timeout=5)
        stderr = child.stderr.read().decode(errors="replace")[-500:] if child.stderr else ""
        if "MemoryError" in stderr or child.returncode < 0 or "bad_alloc" in stderr:
            raise CatalogTooComplex(
                product,
                _largest_attribute(catalog.product(product)),
                f"memory budget of {budget.memory_mb} MB",
                "the compiler ran out of memory",
            )
        raise RuntimeError(f"catalog compile check failed (exit {child.returncode}): {stderr}")
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()


def _events(stream: Any, deadline: Any) -> Iterator[dict[str, Any]]:
    """JSON lines from the child until it closes its output or ``deadline()`` passes."""
    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    buffer = b""
    try:
        while True:
            remaining = deadline() - time.monotonic()
            if remaining <= 0:
                return
            if not selector.select(timeout=min(remaining, 1.0)):
                continue
            chunk = os.read(stream.fileno(), 65536)
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    yield json.loads(line)
    finally:
        selector.close()


def _largest_attribute(product: Product, among: set[str] | None = None) -> str | None:
    """The attribute with the most values (among ``among`` when given and not empty)."""
    candidates = [a for a in product.attributes if not among or a.code in among]
    if not candidates:
        return None
    return max(candidates, key=lambda a: a.domain_size()).code


def _rule_attributes(product: Product, model: Any, detail: str) -> set[str]:
    """Attributes read by the rule named in a budget message (``... constraint 'total'``)."""
    named = set(re.findall(r"'([^']+)'", detail))
    variables = {v.name: v for v in model.variables}
    out: set[str] = set()
    for constraint in model.constraints:
        if constraint.rule_id in named:
            for name in constraint.scope:
                variable = variables.get(name)
                if variable is not None and not variable.auxiliary:
                    out.add(variable.attribute)
    return out


def _child(budget: CompileBudget, options: dict[str, Any]) -> int:
    """The child process: compile the products named in ``options`` of the catalog on stdin, report
    on stdout; with ``options["artifacts"]`` (a folder) write each compiled model there."""
    import resource

    memory = budget.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from configurator.artifacts import dump
    from configurator.backends.select import make_backend
    from configurator.build import build_model

    def emit(**event: Any) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    catalog = catalog_from_document(json.loads(sys.stdin.buffer.read()))
    wanted = options.get("products")
    folder = options.get("artifacts")
    for index, product in enumerate(catalog.products):
        if wanted is not None and product.code not in wanted:
            continue
        emit(event="start", product=product.code)
        started = time.perf_counter()
        # The engine's model key (content hash and product): the artifact is the one requests load.
        model = build_model(product, key=f"{options.get('content_hash') or 'compile-guard'}:{product.code}")
        try:
            solver = make_backend(
                model, prefer=budget.backend, node_budget=budget.nodes, time_budget_s=budget.time_s
            )
        except BudgetExceeded as exc:
            detail = str(exc)
            if "time budget" in detail:
                if options.get("defer"):
                    emit(event="deferred", product=product.code, detail=detail)
                    continue
                limit = f"time budget of {budget.time_s:g} s"
            elif "node budget" in detail or "memory allowance" in detail:
                limit = f"node budget of {budget.nodes:,} nodes"
            else:
                limit = "search limit of the SAT backend"
            among = _rule_attributes(product, model, detail)
            emit(
                event="too_large",
                product=product.code,
                attribute=_largest_attribute(product, among),
                limit=limit,
                detail=detail,
            )
            return 0
        seconds = time.perf_counter() - started
        path = None
        if folder:
            path = os.path.join(folder, f"{index}.c2m-model")
            with open(path, "wb") as out:
                out.write(dump(solver))
        emit(event="compiled", product=product.code, backend=solver.name, seconds=seconds, file=path)
        del solver
    emit(event="done")
    return 0


if __name__ == "__main__":
    sys.exit(_child(CompileBudget(**json.loads(sys.argv[1])), json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}))
