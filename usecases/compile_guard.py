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
import signal
import subprocess  # nosec B404 - runs this module with the current interpreter, no shell
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.files import CatalogLimits, catalog_from_document, document_from_catalog
from catalog.files.limits import DEFAULT_MAX_ATTRIBUTE_VALUES, DEFAULT_MAX_MODEL_VALUES
from catalog.services import load_version
from catalog.snapshot import Catalog, Product
from configurator.errors import BudgetExceeded, ConfiguratorError
from usecases.errors import UseCaseError
from usecases.settings import (
    DEFAULT_COMPILE_BUDGET_S,
    DEFAULT_COMPILE_MEMORY_MB,
    DEFAULT_COMPILE_NODE_BUDGET,
    current_settings,
)

COMPILE_GUARD_GRACE_S = 15.0
"""Extra seconds (interpreter start-up, the SAT fallback) before the child is killed."""


STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})
"""Signals that stop a compile child from outside (a shutdown), unlike running out of memory
(``MemoryError``, ``std::bad_alloc`` → abort, a segfault, the kernel's SIGKILL)."""


class CompileInterrupted(RuntimeError):
    """The compile child was stopped by a shutdown signal: nothing is known about the model."""


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


DEFAULT_COMPILE_JOB_ATTEMPTS = 3
"""Compile jobs that may start on one model before it is marked ``failed`` (``C2M_COMPILE_JOB_ATTEMPTS``):
a job whose worker is killed (SIGKILL, the host's out-of-memory killer) or whose broker message is
lost every time would otherwise leave the model "preparing" for ever."""


@dataclass(frozen=True, slots=True)
class JobModel:
    """What a compile job did with one product's model."""

    product: str
    model_key: str
    status: str
    """``ready`` (compiled now), ``stored`` (already there), ``busy`` (another process is
    preparing it), ``failed`` (over a budget now, or given up after its attempts) or
    ``failed_before`` (a failure recorded earlier, kept)."""
    detail: str | None = None
    attempts: int = 0


class ModelsNotCompiled(UseCaseError):
    """A compile job ended with models over the budget: their rows say ``failed`` (requests answer
    "too large"); this error makes the job's failure visible (``c2m jobs``, the workspace's jobs page)."""

    def __init__(self, code: str, number: int, failed: list[JobModel]) -> None:
        listed = "; ".join(f"product {m.product!r} (model {m.model_key}): {m.detail}" for m in failed)
        super().__init__(
            "models_not_compiled", f"catalog {code!r} v{number}: {len(failed)} model(s) not compiled: {listed}",
            products=[m.product for m in failed],
        )
        self.failed = failed


def _model_row(session: Session, key: str, backend: str) -> Any:
    from sqlalchemy import select

    from configurator.artifacts import FORMAT_VERSION
    from usecases.records import CompiledModelRecord

    return session.scalars(
        select(CompiledModelRecord).where(
            CompiledModelRecord.model_key == key,
            CompiledModelRecord.backend == backend,
            CompiledModelRecord.format_version == FORMAT_VERSION,
        ),
        execution_options={"populate_existing": True},
    ).one_or_none()


def _gave_up(attempts: int) -> str:
    return (
        f"the compile job gave up after {attempts} attempt(s) (C2M_COMPILE_JOB_ATTEMPTS): each was "
        "killed or lost before it finished (a worker out of memory or killed, a broker message lost)"
    )


def _utcnow() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _take_markers(
    session: Session, catalog: Catalog, content_hash: str, backend: str, *, owner: str,
    max_attempts: int, again: bool,
) -> tuple[list[str], list[JobModel]]:
    """The marker phase of a compile job (the same rules as ``usecases.compiled_models.prepare``):
    returns the products this job compiles (their markers taken, attempt counted, committed) and
    the outcomes of the others."""
    from configurator.artifacts import FORMAT_VERSION
    from usecases.compiled_models import QUEUED, StoredModel, mark_failed, model_key
    from usecases.records import CompiledModelRecord

    todo: list[str] = []
    out: list[JobModel] = []
    now = _utcnow()
    for product in catalog.products:
        key = model_key(content_hash, product.code)
        row = _model_row(session, key, backend)
        if row is not None:
            if row.status == "ready":
                out.append(JobModel(product.code, key, "stored", attempts=row.attempts))
                continue
            if row.status == "failed" and not again:
                out.append(JobModel(product.code, key, "failed_before", row.detail, row.attempts))
                continue
            ours = row.detail in (QUEUED, owner)
            if row.status == "preparing" and not ours and not StoredModel(
                row.id, row.status, None, None, row.detail, row.updated_at
            ).abandoned:
                out.append(JobModel(product.code, key, "busy", row.detail, row.attempts))
                continue
        else:
            row = CompiledModelRecord(
                model_key=key, content_hash=content_hash, product_code=product.code, backend=backend,
                format_version=FORMAT_VERSION, status="preparing", created_at=now, updated_at=now, attempts=0,
            )
            session.add(row)
        if again and row.status == "failed":
            row.attempts = 0
        if row.attempts >= max_attempts:
            detail = _gave_up(row.attempts)
            mark_failed(session, row, detail)
            out.append(JobModel(product.code, key, "failed", detail, row.attempts))
            continue
        row.status = "preparing"
        row.detail = owner
        row.attempts = (row.attempts or 0) + 1
        row.updated_at = now
        todo.append(product.code)
    session.commit()
    return todo, out


def prepare_capped(
    session: Session,
    catalog: Catalog,
    content_hash: str,
    budget: CompileBudget,
    *,
    owner: str,
    max_attempts: int = DEFAULT_COMPILE_JOB_ATTEMPTS,
    again: bool = False,
) -> list[JobModel]:
    """Compile the models of one catalog content off the request path, each in a child process under
    ``budget`` (time, nodes, and the address space ``RLIMIT_AS`` of ``budget.memory_mb``), and
    store them in ``compiled_models``: what a compile job runs.

    The markers are taken as :func:`usecases.compiled_models.prepare` takes them (``owner`` is the
    job, ``job:<message id>``; :data:`~usecases.compiled_models.QUEUED` markers are taken over)
    and each take counts one attempt on the row; a model already at ``max_attempts`` is marked
    ``failed`` instead (its jobs were killed or lost each time). A model over a budget (the child
    ran out of memory, overran its time, or the compiler gave up) is stored ``failed`` naming the
    product, the model key and the limit; the worker itself never compiles. A failed row stays
    failed unless ``again`` (``c2m jobs prepare``), which also resets its attempts.

    An interruption (the job's time limit, a shutdown, the child crashing for another reason) puts
    this job's markers back to "queued for a compile job", so the retry takes them over.
    """
    from usecases.compiled_models import QUEUED, mark_failed, model_key, store_artifact

    if session.in_transaction():
        session.commit()
    try:
        todo, out = _take_markers(session, catalog, content_hash, budget.backend, owner=owner,
                                  max_attempts=max_attempts, again=again)
    except IntegrityError:  # another process inserted its markers first: take what is left
        session.rollback()
        todo, out = _take_markers(session, catalog, content_hash, budget.backend, owner=owner,
                                  max_attempts=max_attempts, again=again)
    remaining = list(todo)
    try:
        for done in compile_in_children(catalog, content_hash, todo, budget):
            key = model_key(content_hash, done.product)
            if done.too_large is None:
                assert done.artifact is not None and done.backend is not None
                store_artifact(session, content_hash, done.product, budget.backend, done.artifact, done.backend,
                               done.seconds)
                session.commit()
                out.append(JobModel(done.product, key, "ready"))
            else:
                detail = too_large_detail(done.too_large, key)
                row = _model_row(session, key, budget.backend)
                if row is not None:
                    mark_failed(session, row, detail)
                    session.commit()
                out.append(JobModel(done.product, key, "failed", detail, row.attempts if row else 0))
            remaining.remove(done.product)
    except BaseException:
        session.rollback()
        for code in remaining:
            row = _model_row(session, model_key(content_hash, code), budget.backend)
            if row is not None and row.status == "preparing" and row.detail == owner:
                row.detail = QUEUED
        session.commit()
        raise
    return out


@dataclass(frozen=True, slots=True)
class ChildCompiled:
    """What a capped child did with one product's model: its artifact (``artifact``, ``backend``,
    ``seconds``), or the budget it went over (``too_large``)."""

    product: str
    artifact: bytes | None = None
    backend: str | None = None
    seconds: float = 0.0
    too_large: CatalogTooComplex | None = None


def too_large_detail(exc: CatalogTooComplex, model_key: str) -> str:
    """The ``detail`` of a model stored ``failed`` over a budget: the limit, the model key, the product."""
    return f"over the {exc.limit} (model {model_key}): {exc}"


def compile_in_children(
    catalog: Catalog,
    content_hash: str,
    products: list[str],
    budget: CompileBudget,
    *,
    started: Callable[[str], None] | None = None,
) -> Iterator[ChildCompiled]:
    """Compile the models of ``products`` (codes) with their priced parts, in child processes under
    ``budget`` (time, nodes, and the address space ``RLIMIT_AS`` of ``budget.memory_mb``), and yield
    one :class:`ChildCompiled` per product as it ends. A product over a budget ends its child: the
    next child compiles the rest. ``started(product)`` is called as each product's compile starts.

    What a compile job and the command line (``c2m model prepare``, compile-on-publish without a
    job engine) run, so that no runaway compile takes their process down.

    :raise CompileInterrupted: a child was stopped by a shutdown signal.
    :raise RuntimeError: a child failed for another reason than a budget (its last error line).
    """
    remaining = list(products)
    if not remaining:
        return
    document = json.dumps(document_from_catalog(catalog), ensure_ascii=False).encode()
    with tempfile.TemporaryDirectory(prefix="c2m-compile-") as folder:
        while remaining:
            options = {"products": remaining, "content_hash": content_hash, "artifacts": folder, "defer": False}
            try:
                for event in _run_child(catalog, document, budget, options):
                    if event["event"] == "start":
                        if started is not None and event.get("part") is None:
                            started(str(event["product"]))
                        continue
                    if event["event"] != "compiled":
                        continue
                    code = str(event["product"])
                    artifact = Path(str(event["file"]))
                    data = artifact.read_bytes()
                    artifact.unlink()
                    remaining.remove(code)
                    yield ChildCompiled(code, data, str(event["backend"]), float(event["seconds"]))
            except CatalogTooComplex as exc:
                remaining.remove(exc.product)
                yield ChildCompiled(exc.product, too_large=exc)


@dataclass(frozen=True, slots=True)
class ModelNotReady:
    """A compiled-model row still "preparing", or "failed", with the versions it serves."""

    record_id: int
    product: str
    model_key: str
    backend: str
    status: str
    detail: str | None
    attempts: int
    updated_at: Any
    versions: tuple[tuple[str, int], ...]
    """The published versions (catalog code, number) of its content hash."""

    @property
    def owner(self) -> str | None:
        """The job's message id when a compile job holds the marker (``job:<id>``)."""
        from usecases.compiled_models import JOB_OWNER

        if self.detail is not None and self.detail.startswith(JOB_OWNER):
            return self.detail.removeprefix(JOB_OWNER)
        return None


def models_not_ready(
    session: Session, *, status: str | None = None, older_than_s: float | None = None, limit: int = 200
) -> list[ModelNotReady]:
    """The compiled-model rows "preparing" or "failed" (or of ``status``), oldest first; with
    ``older_than_s`` only those not touched for that long. For ``c2m jobs``, the workspace's jobs
    page and the sweeper."""
    from datetime import timedelta

    from sqlalchemy import select

    from catalog.models import CatalogRecord as CatalogRow
    from catalog.models import CatalogVersion
    from usecases.records import CompiledModelRecord

    query = select(CompiledModelRecord).where(
        CompiledModelRecord.status.in_([status] if status else ["preparing", "failed"])
    )
    if older_than_s is not None:
        query = query.where(CompiledModelRecord.updated_at < _utcnow() - timedelta(seconds=older_than_s))
    rows = list(session.scalars(query.order_by(CompiledModelRecord.updated_at, CompiledModelRecord.id).limit(limit)))
    hashes = {row.content_hash for row in rows}
    versions: dict[str, list[tuple[str, int]]] = {}
    if hashes:
        for digest, code, number in session.execute(
            select(CatalogVersion.content_hash, CatalogRow.code, CatalogVersion.number)
            .join(CatalogRow, CatalogRow.id == CatalogVersion.catalog_id)
            .where(CatalogVersion.content_hash.in_(hashes), CatalogVersion.status != "draft")
            .order_by(CatalogRow.code, CatalogVersion.number)
        ):
            versions.setdefault(digest, []).append((code, number))
    return [
        ModelNotReady(row.id, row.product_code, row.model_key, row.backend, row.status, row.detail,
                      row.attempts or 0, row.updated_at, tuple(versions.get(row.content_hash, ())))
        for row in rows
    ]


def requeue_stale(
    session: Session, record_id: int, *, max_attempts: int
) -> str:
    """A "preparing" model whose compile job is lost (one more attempt when the job never took its
    marker): mark it failed when its attempts are spent (returns ``failed``), else put its marker
    back to "queued for a compile job" with a fresh time (returns ``queued``: the caller sends the
    job). ``gone`` when the row moved on meanwhile."""
    from sqlalchemy import select

    from usecases.compiled_models import QUEUED, mark_failed
    from usecases.records import CompiledModelRecord

    row = session.scalars(
        select(CompiledModelRecord).where(CompiledModelRecord.id == record_id),
        execution_options={"populate_existing": True},
    ).one_or_none()
    if row is None or row.status != "preparing":
        return "gone"
    if row.detail == QUEUED:
        # The job sent for it was lost before it took the marker: that counts as an attempt too
        # (a job taking a marker counts its own), so a message lost every time also ends.
        row.attempts = (row.attempts or 0) + 1
    if (row.attempts or 0) >= max_attempts:
        mark_failed(session, row, _gave_up(row.attempts))
        session.commit()
        return "failed"
    row.detail = QUEUED
    row.updated_at = _utcnow()
    session.commit()
    return "queued"


def _run_child(
    catalog: Catalog, document: bytes, budget: CompileBudget, options: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """Run the child on ``options["products"]`` and yield its ``start``, ``compiled`` and ``deferred``
    events.

    A child still compiling one product ``COMPILE_GUARD_GRACE_S`` past the time
    budget is killed: with ``options["defer"]`` that product is deferred (the
    caller runs a new child on the rest), otherwise it is refused. The priced
    part of a model (``start`` with ``part: priced``) is a second compile step
    with the time budget afresh, as each step of the "auto" chain has.
    """
    child = subprocess.Popen(  # nosec B603 - fixed argument list, no shell
        [sys.executable, "-m", "usecases.compile_guard", json.dumps(asdict(budget)), json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    current: str | None = None
    part = "model"
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
                part = str(event.get("part") or "model")
                deadline[0] = time.monotonic() + per_product
                yield event
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
            what = "its priced part (the model with price auxiliaries)" if part == "priced" else "the model"
            raise CatalogTooComplex(
                product,
                _largest_attribute(catalog.product(product)),
                f"time budget of {budget.time_s:g} s",
                f"still compiling {what} after {budget.time_s + COMPILE_GUARD_GRACE_S:g} s",
            )
        child.wait(timeout=5)
        stderr = child.stderr.read().decode(errors="replace")[-500:] if child.stderr else ""
        if -child.returncode in STOP_SIGNALS:
            # Stopped with its process group (a worker's graceful shutdown, Ctrl-C): not the model's fault.
            raise CompileInterrupted(f"the compile of {product!r} was stopped by signal {-child.returncode}")
        if child.returncode < 0 or any(sign in stderr for sign in OUT_OF_MEMORY):
            raise CatalogTooComplex(
                product,
                _largest_attribute(catalog.product(product)),
                f"memory budget of {budget.memory_mb} MB",
                "the compiler ran out of memory"
                + (" on its priced part (the model with price auxiliaries)" if part == "priced" else ""),
            )
        raise RuntimeError(f"catalog compile check failed (exit {child.returncode}): {stderr.strip()}")
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


OUT_OF_MEMORY = (
    "MemoryError", "bad_alloc", "failed to map segment", "Cannot allocate memory", "out of memory",
)
"""What a child capped in address space writes when the cap is reached (Python, C++, the loader, libc,
the decision-diagram library CUDD)."""


def _child(budget: CompileBudget, options: dict[str, Any]) -> int:
    """The child process: compile the products named in ``options`` of the catalog on stdin, report
    on stdout; with ``options["artifacts"]`` (a folder) write each compiled model there."""
    import resource

    # The code first, then the cap: the budget is for the model's compile, and an import under a small
    # cap fails in ways that do not say "memory" (a shared library that cannot be mapped).
    from configurator import Configurator
    from configurator.artifacts import dump
    from configurator.backends.select import available_backends, make_backend
    from configurator.build import build_model

    available_backends()  # imports the decision-diagram library too, when installed
    memory = budget.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

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
            # The backend over the model with price auxiliaries, which the first click would compile
            # otherwise: stored as the artifact's priced part, compiled within the same budgets (a
            # second step: the parent gives it the time budget afresh).
            priced = None
            if folder:
                built = Configurator(product, solver=solver, node_budget=budget.nodes, time_budget_s=budget.time_s)
                if built.priced_part_model() is not None:
                    emit(event="start", product=product.code, part="priced")
                    priced = built.priced_backend()
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
                out.write(dump(solver, priced=priced))
        emit(event="compiled", product=product.code, backend=solver.name, seconds=seconds, file=path)
        del solver, priced
    emit(event="done")
    return 0


def _main() -> None:
    budget = CompileBudget(**json.loads(sys.argv[1]))
    options = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    try:
        code = _child(budget, options)
    except MemoryError:
        # At the cap even a traceback may not be printable: say it in bytes already allocated.
        os.write(2, OUT_OF_MEMORY_LINE)
        os._exit(1)
    except Exception:  # the traceback, whose last line the parent reads (at the cap it may not fit)
        import traceback

        try:
            line = traceback.format_exc().encode(errors="replace")[-4000:]
        except MemoryError:
            line = OUT_OF_MEMORY_LINE
        os.write(2, line)
        os._exit(1)
    sys.exit(code)


OUT_OF_MEMORY_LINE = b"MemoryError: the compile reached its address-space cap\n"

if __name__ == "__main__":
    _main()
