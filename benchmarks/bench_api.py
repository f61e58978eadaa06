"""API throughput of what users do, side by side against one production server.

Creates a fresh PostgreSQL database (``C2M_LOAD_ADMIN_URL``, default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), imports and
publishes the demo catalogs, starts ``c2m serve --production`` (gunicorn,
``--workers`` processes × ``--server-threads`` threads, rate-limit storage in
Redis at ``C2M_BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/0``, public
limit raised for the run) and measures, in ``--rounds`` alternating rounds so
that a change in the load of a shared machine hits every row alike:

- ``GET /healthz`` (the baseline: no database, no engine);
- a click: ``POST /api/v1/configurations/{id}/decisions`` on a fresh
  configuration (no decision yet) and on a long one (every attribute but one
  decided); every click goes to its own configuration, as every buyer's does. These
  repeat one decision history, so the state after the click comes from the server's
  state cache; a third click row (``new click``) gives every click a decision history
  never made before (1–4 decisions and the click, all from one valid complete
  configuration), so the engine computes every state, as a buyer's own path mostly does;
- complete: ``POST …/complete`` (defaults, not applied) on a fresh configuration;
- order placement: ``POST /api/v1/orders`` from a complete saved configuration
  (one order per configuration, a fresh ``Idempotency-Key`` each): re-validation,
  order, frozen BOM, production order and outbox events in one transaction, in two rows:
  ``order`` cycles copies of a few complete configurations of every demo product
  (``ORDER_VARIANTS`` each, one enum choice decided and the rest completed by the
  engine), taken in turn, so after the first round the server's computed-order cache
  answers their validation, explosion and documents; ``new order`` orders each of
  ``UNIQUE_ORDERS`` different complete configurations (a random walk over the valid
  complete configurations of the demo products, every one checked by the engine) once,
  so every order pays its whole computation, as a campaign's orders mostly do;
- an ERP pull: ``GET /api/v1/production-orders?limit=50`` with an ``erp:read`` token;
- at a light load (one client thread, no queueing): ``/healthz`` and the clicks again,
  so the click's own cost shows apart from waiting for the two CPUs.

The configurations the clicks and orders consume are copies (one SQL
``INSERT … SELECT``) of configurations made through the API before the run.
Per row: requests/s, client p50/p95/p99, the server's own p50/p95 (from its
JSON request log, tagged per row with ``X-Request-Id``), server CPU per request
(user + system of the gunicorn processes, from /proc) and errors (any other
status). At the end the orders answered 201 are compared with the orders and
production orders in the database (and the distinct BOMs among them counted).
Exit status 1 on any error or mismatch.

    .venv/bin/python -m benchmarks.bench_api [--seconds 30] [--threads 4] [--rounds 3] [--unique-orders 4500] [--repo DIR]

``--repo DIR`` serves the code of another checkout (with its ``DIR/.venv`` Python), so
a baseline is measured by the same client code, alternating with this checkout's runs.

Writes its table to its section of ``benchmarks/RESULTS.md`` (``--no-write`` not).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

from benchmarks.load.run import free_port, percentile, process_tree_cpu

REPO = Path(__file__).resolve().parents[1]
PRODUCT = "city-ebike"
POOL = 12000
"""Configurations copied per consumed kind (fresh, long, complete); a run stops a row when its pool is spent."""

LIGHT = ("healthz", "fresh click", "long click", "new click")
"""The rows measured again with one client thread (``light …``): the cost without queueing."""

ORDER_PRODUCTS = (
    ("wuhan-bikes", "city-ebike"),
    ("foshan-wardrobes", "modular-wardrobe"),
    ("foshan-wardrobes", "pax-system"),
)
"""The demo products ordered in the order row."""
ORDER_VARIANTS = 3
"""Different complete configurations ordered per product in the cycled order row."""
NEW_CLICKS = 5000
"""Configurations prepared for the ``new click`` rows, each clicked once with its own decision."""
UNIQUE_ORDERS = 4500
"""Complete configurations never ordered before, for the ``new order`` row (each ordered once)."""

LIMITS = ("ORDERS", "CONFIGURATION_WRITES", "ORDER_LOOKUP", "SHARE_LINKS")
"""The abuse limits the measured operations count against (``web.limits``)."""

Call = tuple[str, str, Any, dict[str, str], int]
"""method, path, JSON body (or None), headers, expected status."""


@dataclass
class Row:
    name: str
    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0
    cpu: float = 0.0
    db_cpu: float = 0.0
    samples: list[str] = field(default_factory=list)


class Connection:
    """One client thread's keep-alive connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Accept": "application/json", **(headers or {})}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=data, headers=hdrs)
            response = self.conn.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            return 0, repr(exc).encode()


class Pool:
    """Configuration ids handed out once each, across threads."""

    def __init__(self, ids: list[Any]) -> None:
        self.ids = ids
        self.lock = threading.Lock()

    def take(self) -> Any:
        with self.lock:
            return self.ids.pop() if self.ids else None


def _backend_cpu(engine: Any) -> dict[int, float]:
    """User + system CPU seconds of every PostgreSQL backend serving ``engine``'s database but
    this one (the server's pooled connections), from /proc (the database runs on this host)."""
    tick = os.sysconf("SC_CLK_TCK")
    with engine.connect() as c:
        pids = c.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        ).scalars()
        out = {}
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def _run(
    port: int,
    row: Row,
    make: Callable[[int], Call | None],
    seconds: float,
    threads: int,
    master: int,
    database: Any = None,
) -> None:
    """``threads`` clients sending ``make(n)`` for ``seconds``; appends to ``row``."""
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    counter = iter(range(10**9))
    tag = _tag(row.name)

    def client() -> None:
        conn = Connection(port)
        mine: list[float] = []
        failed = 0
        samples: list[str] = []
        while time.monotonic() < stop:
            with lock:
                n = next(counter)
            call = make(n)
            if call is None:
                break  # pool spent
            method, path, body, headers, expect = call
            started = time.perf_counter()
            status, raw = conn.send(
                method, path, body, {**headers, "X-Request-Id": f"bench-{tag}-{uuid.uuid4().hex}"}
            )
            if status == expect:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
                if len(samples) < 3:
                    samples.append(f"{status} {raw[:300]!r}")
        conn.conn.close()
        with lock:
            row.latencies.extend(mine)
            row.errors += failed
            row.samples.extend(samples)

    pool = [threading.Thread(target=client) for _ in range(threads)]
    db_before = _backend_cpu(database) if database is not None else {}
    cpu = process_tree_cpu(master)
    began = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    row.elapsed += time.monotonic() - began
    row.cpu += process_tree_cpu(master) - cpu
    if database is not None:  # a backend that started during the row counts from 0
        row.db_cpu += sum(t - db_before.get(pid, 0.0) for pid, t in _backend_cpu(database).items())


def _tag(name: str) -> str:
    """The row's tag in its request ids (``bench-<tag>-<uuid>``): the name without spaces or dashes."""
    return name.replace(" ", "_").replace("-", "_")


def _server_times(log_path: Path) -> dict[str, list[float]]:
    """The server's own durations (ms) per row tag, from its JSON request log."""
    out: dict[str, list[float]] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        rid = str(doc.get("request_id", ""))
        if rid.startswith("bench-") and "duration_ms" in doc:
            out.setdefault(rid.split("-")[1], []).append(float(doc["duration_ms"]))
    return out


def _copies(engine: Any, source: str, n: int) -> list[str]:
    """``n`` copies of configuration ``source`` (new ids and share tokens), in one statement."""
    with engine.begin() as conn:
        return list(
            conn.execute(
                text(
                    "INSERT INTO configurations (id, share_token, catalog_code, version_number, content_hash,"
                    " product_code, decisions, created_at, updated_at)"
                    " SELECT gen_random_uuid()::text, md5(random()::text) || md5(g::text || random()::text),"
                    " catalog_code, version_number, content_hash, product_code, decisions, created_at, updated_at"
                    " FROM configurations, generate_series(1, :n) AS g WHERE id = :id RETURNING id"
                ),
                {"n": n, "id": source},
            ).scalars()
        )


def _order_configurations(session: Any) -> list[tuple[str, str]]:
    """Saved complete configurations to order: per product of :data:`ORDER_PRODUCTS`, up to
    :data:`ORDER_VARIANTS` different ones (one enum choice decided, the engine completing the
    rest with defaults). Returns (product, configuration id) pairs."""
    from configurator import ConfiguratorError, Decision
    from usecases.catalogs import get_configurator, load_catalog
    from usecases.configurations import create_configuration, decision_to_json
    from usecases.settings import set_settings_source

    # Preparation, not a measured click: no click budget on a loaded machine (this process only).
    set_settings_source(lambda: {"CLICK_BUDGET_MS": 3_600_000})
    made: list[tuple[str, str]] = []
    for catalog, product in ORDER_PRODUCTS:
        loaded = load_catalog(session, catalog)
        item = loaded.product(product)
        engine = get_configurator(loaded.catalog, product, loaded.content_hash)
        seen: list[dict[str, Any]] = []
        choices = [
            (a.code, c.code) for a in item.attributes if a.kind.value == "enum" and a.derived is None for c in a.choices
        ]
        for attribute, choice in choices:
            if len(seen) == ORDER_VARIANTS:
                break
            try:
                values = engine.complete([Decision(attribute, choice)])
            except ConfiguratorError:
                continue  # this choice rules the product out
            if values in seen:
                continue
            seen.append(values)
            decisions = [decision_to_json(Decision(code, value)) for code, value in values.items()]
            saved = create_configuration(session, product, decisions, catalog_code=catalog)
            made.append((product, saved.record.id))
    session.commit()
    return made


WALKED_KINDS = ("enum", "bool", "int", "decimal")
"""The single-valued attribute kinds the random walk changes (and a new click decides)."""


def _walk(configurator: Any, item: Any, n: int, rng: Any) -> list[dict[str, Any]]:
    """Up to ``n`` different valid complete configurations of ``item``: from the engine's default
    completion, change one single-valued attribute to a random value of its domain and keep the
    result when :meth:`Configurator.validate` finds no violation."""
    walk = [a for a in item.attributes if a.derived is None and a.kind.value in WALKED_KINDS]
    current = configurator.complete([])
    seen = {tuple((k, str(v)) for k, v in current.items())}
    found = [current]
    tries = 0
    while len(found) < n and tries < n * 20:
        tries += 1
        attribute = rng.choice(walk)
        domain = attribute.domain()
        candidate = {**current, attribute.code: domain[rng.randrange(len(domain))]}
        if configurator.validate(candidate):
            continue
        current = candidate
        key = tuple((k, str(v)) for k, v in candidate.items())
        if key not in seen:
            seen.add(key)
            found.append(candidate)
    return found


def _new_clicks(session: Any, n: int, seed: int = 33) -> list[tuple[str, dict[str, Any]]]:
    """``n`` configurations of :data:`PRODUCT`, each with its own click, so that no two clicks leave
    the same decision history (every click's state is computed by the engine, none comes from
    the state cache). Each is 1–4 decisions taken from one valid complete configuration (of
    :func:`_walk`) and the click is another single-valued attribute's value in that same
    configuration, so it fits. Returns (configuration id, click body) pairs."""
    import random

    from configurator import Decision
    from usecases.catalogs import get_configurator
    from usecases.configurations import create_configuration, decision_to_json

    rng = random.Random(seed)  # nosec B311 - benchmark data, not security
    saved = create_configuration(session, PRODUCT, [])
    session.flush()
    item, loaded = saved.product, saved.catalog
    configurator = get_configurator(loaded.catalog, item.code, loaded.content_hash)
    kinds = {a.code: a.kind.value for a in item.attributes if a.derived is None}
    made: list[tuple[str, dict[str, Any]]] = []
    seen: set[tuple[Any, ...]] = set()
    for values in _walk(configurator, item, n, rng) * 3:
        if len(made) == n:
            break
        decided = [code for code in values if code in kinds]
        rng.shuffle(decided)
        clickable = [code for code in decided if kinds[code] in WALKED_KINDS]
        if not clickable:
            continue
        click_on = clickable[0]
        before = [code for code in decided if code != click_on][: rng.randint(1, 4)]
        click = decision_to_json(Decision(click_on, values[click_on]))
        history = tuple(sorted((code, str(values[code])) for code in before)) + ((click_on, str(values[click_on])),)
        if history in seen:
            continue
        seen.add(history)
        decisions = json.dumps([decision_to_json(Decision(code, values[code])) for code in before], ensure_ascii=False)
        new_id = session.execute(
            text(
                "INSERT INTO configurations (id, share_token, catalog_code, version_number, content_hash,"
                " product_code, decisions, created_at, updated_at)"
                " SELECT gen_random_uuid()::text, md5(random()::text) || md5(random()::text), catalog_code,"
                " version_number, content_hash, product_code, :decisions, created_at, updated_at"
                " FROM configurations WHERE id = :src RETURNING id"
            ),
            {"src": saved.record.id, "decisions": decisions},
        ).scalar_one()
        made.append((new_id, click))
    session.commit()
    return made


def _unique_configurations(session: Any, n: int, seed: int = 19) -> list[str]:
    """``n`` different complete configurations of the demo products of :data:`ORDER_PRODUCTS`
    (about a third each), saved, ids interleaved by product.

    A random walk over valid complete configurations per product (:func:`_walk`). Each kept
    configuration differs from every other one; it is stored with every attribute decided
    (copies of one configuration saved through the use case, with other decisions, in one
    ``INSERT`` per product).
    """
    import random

    from configurator import Decision
    from usecases.catalogs import get_configurator, load_catalog
    from usecases.configurations import create_configuration, decision_to_json

    rng = random.Random(seed)  # nosec B311 - benchmark data, not security
    groups: list[list[str]] = []
    per_product = -(-n // len(ORDER_PRODUCTS))
    for catalog, product in ORDER_PRODUCTS:
        loaded = load_catalog(session, catalog)
        item = loaded.product(product)
        configurator = get_configurator(loaded.catalog, product, loaded.content_hash)
        found = _walk(configurator, item, per_product, rng)
        template = create_configuration(session, product, [], catalog_code=catalog).record.id
        session.flush()
        rows = [
            {
                "src": template,
                "decisions": json.dumps(
                    [decision_to_json(Decision(code, value)) for code, value in values.items()], ensure_ascii=False
                ),
            }
            for values in found
        ]
        ids = [
            session.execute(
                text(
                    "INSERT INTO configurations (id, share_token, catalog_code, version_number, content_hash,"
                    " product_code, decisions, created_at, updated_at)"
                    " SELECT gen_random_uuid()::text, md5(random()::text) || md5(random()::text), catalog_code,"
                    " version_number, content_hash, product_code, :decisions, created_at, updated_at"
                    " FROM configurations WHERE id = :src RETURNING id"
                ),
                row,
            ).scalar_one()
            for row in rows
        ]
        groups.append(ids)
    session.commit()
    return _interleaved(groups)


def _interleaved(groups: list[list[str]]) -> list[str]:
    """The ids of every group taken in turn (a :class:`Pool` hands them out from the end)."""
    out = [ids[i] for i in range(max(map(len, groups), default=0)) for ids in groups if i < len(ids)]
    return out[::-1]


def _prepare(port: int) -> dict[str, Any]:
    """A fresh configuration, a long one (all but attribute A decided), a complete one; the click on A."""
    conn = Connection(port)
    status, raw = conn.send("POST", "/api/v1/configurations", {"product": PRODUCT})
    if status != 201:
        raise SystemExit(f"creating a configuration failed: {status} {raw[:300]!r}")
    fresh = json.loads(raw)["id"]
    status, raw = conn.send("POST", "/api/v1/configurations", {"product": PRODUCT})
    complete = json.loads(raw)["id"]
    status, raw = conn.send(
        "POST", f"/api/v1/configurations/{complete}/complete", {"objective": "defaults", "apply": True}
    )
    if status != 200:
        raise SystemExit(f"completing a configuration failed: {status} {raw[:300]!r}")
    decisions = json.loads(raw)["configuration"]["decisions"]
    single = [d for d in decisions if "value" in d and not isinstance(d["value"], list)]
    click = {"attribute": single[0]["attribute"], "value": single[0]["value"]}
    rest = [d for d in decisions if d["attribute"] != click["attribute"]]
    status, raw = conn.send("POST", "/api/v1/configurations", {"product": PRODUCT, "decisions": rest})
    if status != 201:
        raise SystemExit(f"creating the long configuration failed: {status} {raw[:300]!r}")
    long_id = json.loads(raw)["id"]
    return {"fresh": fresh, "long": long_id, "complete": complete, "click": click, "decided": len(rest)}


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - one linear script
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="load per row, all rounds (max 120)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (max 16)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (max 10)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--server-threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument(
        "--unique-orders", type=int, default=UNIQUE_ORDERS, help="configurations prepared for the new-order row"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/RESULTS.md")
    parser.add_argument(
        "--repo", type=Path, default=REPO, help="serve the code of this checkout (its .venv Python); a baseline"
    )
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 1.0), 120.0)
    threads = min(max(args.threads, 1), 16)
    rounds = min(max(args.rounds, 1), 10)

    from sqlalchemy.orm import Session

    from catalog.db import make_engine, upgrade_database
    from catalog.demo import demo_catalog_paths
    from catalog.files import load_catalog_file
    from catalog.services import import_catalog
    from web.auth import create_token

    admin_url = os.environ.get("C2M_LOAD_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    dbname = f"c2m_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{dbname}"'))
    url = make_url(admin_url).set(database=dbname).render_as_string(hide_password=False)
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{dbname}.log"
    server: subprocess.Popen[bytes] | None = None
    names = ("healthz", "fresh click", "long click", "new click", "complete", "order", "new order", "erp pull")
    rows = {k: Row(k) for k in (*names, *(f"light {k}" for k in LIGHT))}
    served = args.repo.resolve()
    python = str(served / ".venv" / "bin" / "python") if served != REPO else sys.executable
    warm = {k: Row(f"warm-{k}") for k in rows}
    placed = production = boms = repeated = 0
    to_order: list[tuple[str, str]] = []
    unique: list[str] = []
    new_clicks: list[tuple[str, dict[str, Any]]] = []
    prepared: dict[str, Any] = {}
    try:
        upgrade_database(url)
        engine = make_engine(url)
        with Session(engine) as session:
            for path in demo_catalog_paths():
                import_catalog(session, load_catalog_file(path), publish=True)
            _, erp_secret = create_token(session, "bench ERP", ["erp:read"])
            session.commit()
            to_order = _order_configurations(session)
            unique = _unique_configurations(session, args.unique_orders)
            new_clicks = _new_clicks(session, NEW_CLICKS)
        port = free_port()
        env = {
            **os.environ,
            "C2M_DATABASE_URL": url,
            "C2M_SECRET_KEY": secrets.token_hex(32),
            # Rate limits on (Redis round trips included, as in production) but out of the way.
            "C2M_PUBLIC_RATE_LIMIT": "100000000 per minute",
            **{f"C2M_RATE_LIMIT_{name}": "100000000 per minute" for name in LIMITS},
            "C2M_REDIS_URL": os.environ.get("C2M_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "C2M_THREADS": str(args.server_threads),
            # Steady state: no worker recycling (and recompiling) in the middle of a row.
            "C2M_MAX_REQUESTS": "1000000",
        }
        env.pop("C2M_READ_DATABASE_URL", None)
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [python, "-c", "from web.cli import main; main()", "serve", "--production",
                 "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)],
                cwd=served, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        probe = Connection(port)
        while probe.send("GET", "/readyz")[0] != 200:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start; see {log_path}")
            time.sleep(0.3)
        prepared = _prepare(port)
        pools = {k: Pool(_copies(engine, prepared[k], POOL)) for k in ("fresh", "long")}
        pools["complete"] = Pool(_interleaved([_copies(engine, c, POOL // len(to_order)) for _, c in to_order]))
        pools["unique"] = Pool(list(unique))
        pools["new clicks"] = Pool(list(new_clicks))
        click = prepared["click"]
        base = "/api/v1/configurations"
        auth = {"Authorization": f"Bearer {erp_secret}"}

        def consume(kind: str, build: Callable[[str], Call]) -> Callable[[int], Call | None]:
            def make(_: int) -> Call | None:
                cid = pools[kind].take()
                return None if cid is None else build(cid)

            return make

        makers: dict[str, Callable[[int], Call | None]] = {
            "healthz": lambda _: ("GET", "/healthz", None, {}, 200),
            "fresh click": consume("fresh", lambda c: ("POST", f"{base}/{c}/decisions", click, {}, 200)),
            "long click": consume("long", lambda c: ("POST", f"{base}/{c}/decisions", click, {}, 200)),
            "new click": lambda _: (
                None if (taken := pools["new clicks"].take()) is None
                else ("POST", f"{base}/{taken[0]}/decisions", taken[1], {}, 200)
            ),
            "complete": lambda _: (
                "POST", f"{base}/{prepared['fresh']}/complete", {"objective": "defaults", "apply": False}, {}, 200,
            ),
            "order": consume(
                "complete",
                lambda c: (
                    "POST", "/api/v1/orders", {"configuration_id": c, "customer_name": "Bench"},
                    {"Idempotency-Key": str(uuid.uuid4())}, 201,
                ),
            ),
            "new order": consume(
                "unique",
                lambda c: (
                    "POST", "/api/v1/orders", {"configuration_id": c, "customer_name": "Bench"},
                    {"Idempotency-Key": str(uuid.uuid4())}, 201,
                ),
            ),
            "erp pull": lambda _: ("GET", "/api/v1/production-orders?limit=50", None, auth, 200),
        }  # fmt: skip
        for name in LIGHT:
            makers[f"light {name}"] = makers[name]
        for name in names:  # warm every worker's caches and connections
            _run(port, warm[name], makers[name], 1.0, threads, server.pid)
        share = seconds / rounds
        for _ in range(rounds):
            for name, row in rows.items():
                light = name.startswith("light ")
                _run(port, row, makers[name], share, 1 if light else threads, server.pid,
                     engine if name in ("order", "new order") else None)  # fmt: skip
        with engine.connect() as c:
            placed = c.execute(text("SELECT count(*) FROM orders")).scalar_one()
            production = c.execute(text("SELECT count(*) FROM production_orders")).scalar_one()
            boms = c.execute(text("SELECT count(DISTINCT bom_hash) FROM orders")).scalar_one()
            repeated = c.execute(
                text("SELECT count(*) - count(DISTINCT configuration_id) FROM orders WHERE configuration_id = ANY(:ids)"),
                {"ids": unique},
            ).scalar_one()
        engine.dispose()
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()

    server_ms = _server_times(log_path)
    # The warm-up's orders are stored too; its errors count like the run's.
    ordered_201 = sum(len(rows[k].latencies) + len(warm[k].latencies) for k in ("order", "new order"))
    for name, row in warm.items():
        rows[name].errors += row.errors
        rows[name].samples.extend(row.samples)
    consistent = placed == production == ordered_201 and repeated == 0
    if consistent and not any(row.errors for row in rows.values()):
        log_path.unlink(missing_ok=True)
    else:
        print(f"server log kept: {log_path}")
    new_orders = len(rows["new order"].latencies) + len(warm["new order"].latencies)
    variety = (
        f"cycled row: {len(to_order)} configurations of {len({p for p, _ in to_order})} products taken in turn; "
        f"new-order row: {new_orders} orders of as many different configurations (of {len(unique)} prepared), "
        f"none ordered twice ({repeated} repeated); {boms} distinct BOMs stored"
    )
    return _report(
        rows, server_ms, prepared, ordered_201, placed, production, consistent, args, seconds, threads, rounds,
        served, variety,
    )  # fmt: skip


def _report(
    rows: dict[str, Row],
    server_ms: dict[str, list[float]],
    prepared: dict[str, Any],
    ordered_201: int,
    placed: int,
    production: int,
    consistent: bool,
    args: argparse.Namespace,
    seconds: float,
    threads: int,
    rounds: int,
    served: Path,
    variety: str,
) -> int:
    from benchmarks.results import machine, stamp, write_section

    def srv(row: Row, q: float) -> float:
        return percentile(sorted(server_ms.get(_tag(row.name), [])), q)

    labels = {
        "healthz": "`GET /healthz`",
        "fresh click": "click: `POST …/decisions`, fresh configuration",
        "long click": f"click: `POST …/decisions`, {prepared['decided']} decisions made",
        "new click": "click: `POST …/decisions`, a decision history never made before (state computed)",
        "complete": "`POST …/complete` (defaults, not applied)",
        "order": "`POST /api/v1/orders` (order + BOM + production order), 9 configurations cycled",
        "new order": "`POST /api/v1/orders`, every configuration ordered for the first time",
        "erp pull": "ERP pull: `GET /api/v1/production-orders?limit=50`",
    }
    for name in LIGHT:
        labels[f"light {name}"] = f"{labels[name]} — 1 client thread"
    table = [
        "| operation | requests | req/s | client p50 / p95 / p99 ms | server p50 / p95 ms | server CPU ms/req | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows.values():
        lat = sorted(x * 1000 for x in row.latencies)
        n = len(lat)
        rate = n / row.elapsed if row.elapsed else 0.0
        cpu = row.cpu * 1000 / (n + row.errors) if n + row.errors else float("nan")
        table.append(
            f"| {labels[row.name]} | {n} | {rate:.1f} | {percentile(lat, 50):.1f} / {percentile(lat, 95):.1f} / "
            f"{percentile(lat, 99):.1f} | {srv(row, 50):.2f} / {srv(row, 95):.2f} | {cpu:.2f} | {row.errors} |"
        )
    errors = sum(r.errors for r in rows.values())

    def order_figures(name: str) -> tuple[float, float]:
        """Orders per second and PostgreSQL CPU ms per order of row ``name``."""
        row = rows[name]
        rate = len(row.latencies) / row.elapsed if row.elapsed else 0.0
        return rate, row.db_cpu * 1000 / max(len(row.latencies) + row.errors, 1)

    (order_rate, order_db_ms), (new_rate, new_db_ms) = order_figures("order"), order_figures("new order")

    def client_p50(row: Row) -> float:
        return percentile(sorted(row.latencies), 50)

    def ratios(prefix: str) -> str:
        """Click p50 / healthz p50, server and client, for the rows under ``prefix``."""
        health, client_health = srv(rows[f"{prefix}healthz"], 50), client_p50(rows[f"{prefix}healthz"])
        parts = []
        for kind in ("fresh", "long", "new"):
            row = rows[f"{prefix}{kind} click"]
            server_ratio, client_ratio = srv(row, 50) / health, client_p50(row) / client_health
            verdict = "meets" if server_ratio <= 2 else "misses"
            parts.append(f"{kind} server {server_ratio:.1f}× ({verdict} ≤ 2×), client {client_ratio:.1f}×")
        return "; ".join(parts)

    summary = [
        f"Click p50 / healthz p50 at saturation ({threads} client threads): {ratios('')}. "
        f"At a light load (1 client thread): {ratios('light ')}. "
        f"Orders placed (target ≥ 100/s): {new_rate:.1f}/s when every configuration is ordered for the "
        f"first time, {order_rate:.1f}/s cycling 9 configurations; PostgreSQL CPU per order {new_db_ms:.2f} "
        f"and {order_db_ms:.2f} ms (its backends, from /proc). Errors: {errors}.",
        f"Orders answered 201 (run + warm-up): {ordered_201}; orders in the database: {placed}; "
        f"production orders: {production}; {'consistent' if consistent else 'INCONSISTENT'}. "
        f"Orders of {variety}.",
    ]
    print("\n".join(table + [""] + summary))
    for row in rows.values():
        for s in row.samples:
            print(f"error ({row.name}): {s}")
    if not args.no_write:
        body = [
            f"### {stamp()} — gunicorn {args.workers} gthread workers × {args.server_threads} threads, "
            f"PostgreSQL, Redis, {threads} client threads (keep-alive) on the same host, "
            f"{seconds:g} s per row in {rounds} alternating rounds, no worker recycling",
            "",
            f"Machine: {machine()}, shared with other work while this ran (load average "
            f"{os.getloadavg()[0]:.1f} at the end; absolute numbers move with the load; "
            "the ratios within one run less). Command: "
            f"`python -m benchmarks.bench_api --seconds {seconds:g} --threads {threads} --rounds {rounds}`"
            + (f" serving {served}" if served != REPO else "")
            + ".",
            "",
            *table,
            "",
            *summary,
            "",
            "Server p50/p95: the server's own duration from its request log (routing to response, "
            "without the connection and the client). Server CPU: user + system of the gunicorn processes "
            "per request, from /proc.",
        ]
        write_section("api", "API: what users do, against one production server", "\n".join(body))
    return 0 if errors == 0 and consistent else 1


if __name__ == "__main__":
    raise SystemExit(main())
