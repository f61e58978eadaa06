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
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
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


def check_catalog_compiles(catalog: Catalog, budget: CompileBudget | None = None) -> float:
    """Compile every product of ``catalog`` within ``budget`` in a child process.

    Returns the seconds taken. :raise CatalogTooComplex: a product exceeds the budget.
    """
    budget = budget or current_budget()
    if not catalog.products:
        return 0.0
    started = time.monotonic()
    document = json.dumps(document_from_catalog(catalog), ensure_ascii=False).encode()
    child = subprocess.Popen(  # nosec B603 - fixed argument list, no shell
        [sys.executable, "-m", "usecases.compile_guard", json.dumps(asdict(budget))],
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
            elif kind == "done":
                return time.monotonic() - started
        if time.monotonic() >= deadline[0]:
            product = current or catalog.products[0].code
            raise CatalogTooComplex(
                product,
                _largest_attribute(catalog.product(product)),
                f"time budget of {budget.time_s:g} s",
                f"still compiling after {budget.time_s + COMPILE_GUARD_GRACE_S:g} s",
            )
        child.wait(timeout=5)
        product = current or catalog.products[0].code
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


def _child(budget: CompileBudget) -> int:
    """The child process: compile each product of the catalog on stdin, report on stdout."""
    import resource

    memory = budget.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from configurator.backends.select import make_backend
    from configurator.build import build_model

    def emit(**event: Any) -> None:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()

    catalog = catalog_from_document(json.loads(sys.stdin.buffer.read()))
    for product in catalog.products:
        emit(event="start", product=product.code)
        model = build_model(product, key=f"compile-guard:{catalog.code}:{product.code}")
        try:
            solver = make_backend(
                model, prefer=budget.backend, node_budget=budget.nodes, time_budget_s=budget.time_s
            )
        except BudgetExceeded as exc:
            detail = str(exc)
            if "time budget" in detail:
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
        del solver
    emit(event="done")
    return 0


if __name__ == "__main__":
    sys.exit(_child(CompileBudget(**json.loads(sys.argv[1]))))
