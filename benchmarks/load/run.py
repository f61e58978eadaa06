"""Load test: gunicorn + PostgreSQL on 127.0.0.1, a realistic buyer journey, bounded in time.

    .venv/bin/python -m benchmarks.load.run [--seconds 60] [--users 8] [--workers 2] [--threads 4] [--servers 1]

What it does, from scratch every run:

1. creates a fresh PostgreSQL database (``C2M_LOAD_ADMIN_URL``, default
   ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``), migrates it and
   imports + publishes the demo catalogs;
2. starts ``c2m serve --production`` (gunicorn, ``web/gunicorn_conf.py``) on a
   free loopback port, with Redis rate-limit storage when ``C2M_REDIS_URL`` is
   set, the public rate limit raised for the load and the request log sent to a file;
3. runs ``--users`` client threads (plain ``http.client``, one keep-alive
   connection each) for ``--seconds``; each repeats the journey
   browse products → open one product → create a configuration → 3 decisions
   (random values the state offers as possible) → complete (``apply``) →
   place the order (with an Idempotency-Key);
   meanwhile one more client asks ``GET /healthz`` (no database, no engine) every
   50 ms: the baseline of the same server under the same load;
4. stops gunicorn, counts the orders in the database, and checks they equal
   the orders the clients were told were created (each exactly once);
5. prints a table per step (requests, requests/s, p50/p95/p99 ms, errors), the
   server's CPU per journey (user + system of the gunicorn processes, from /proc)
   and appends it to ``benchmarks/RESULTS.md`` under "## Load".

Everything is bounded: the run stops after ``--seconds`` (at most 120), the
server gets 60 s to start, and the database is dropped at the end.
Exit status 1 when any request failed or the order counts differ.

``--repo DIR`` serves the code of another checkout (with its ``DIR/.venv`` Python): a
baseline measured by the same client code, run alternately with this checkout.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "RESULTS.md"
STEPS = ("browse", "product", "create", "decide", "complete", "order")
BASELINE = "healthz"
"""The baseline row: ``GET /healthz`` from one more client, every 50 ms, during the load."""
MAX_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Stats:
    """Latencies and errors per step, shared by the client threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_samples: list[str] = []
        self.orders: list[str] = []

    def record(self, step: str, ms: float, ok: bool, detail: str = "") -> None:
        with self.lock:
            self.latencies[step].append(ms)
            if not ok:
                self.errors[step] += 1
                if len(self.error_samples) < 10:
                    self.error_samples.append(f"{step}: {detail[:300]}")


class Client:
    """One buyer: a keep-alive connection and the journey."""

    def __init__(self, ports: list[int], stats: Stats, rng: random.Random) -> None:
        self.ports = ports
        self.stats = stats
        self.rng = rng
        # One keep-alive connection per server; requests go round-robin over them, so with
        # several servers consecutive steps of one journey land on different processes.
        self.conns = [http.client.HTTPConnection("127.0.0.1", p, timeout=60) for p in ports]
        self.turn = 0

    def call(
        self, step: str, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        index = self.turn % len(self.conns)
        self.turn += 1
        conn = self.conns[index]
        started = time.perf_counter()
        try:
            conn.request(method, path, body=data, headers=hdrs)
            response = conn.getresponse()
            raw = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self.conns[index] = http.client.HTTPConnection("127.0.0.1", self.ports[index], timeout=60)
            self.stats.record(step, (time.perf_counter() - started) * 1000, False, repr(exc))
            return 0, None
        ms = (time.perf_counter() - started) * 1000
        ok = 200 <= status < 300
        self.stats.record(step, ms, ok, f"{status} {raw[:300]!r}")
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, None

    def journey(self) -> None:
        status, page = self.call("browse", "GET", "/api/v1/products?page_size=50")
        if status != 200:
            return
        item = self.rng.choice(page["items"])
        catalog, product = item["catalog"], item["code"]
        status, _ = self.call("product", "GET", f"/api/v1/products/{product}?catalog={catalog}")
        if status != 200:
            return
        status, cfg = self.call(
            "create", "POST", "/api/v1/configurations", {"product": product, "catalog": catalog}
        )
        if status != 201:
            return
        cid = cfg["id"]
        for _ in range(3):
            choice = self._pick(cfg["state"])
            if choice is None:
                break
            status, updated = self.call("decide", "POST", f"/api/v1/configurations/{cid}/decisions", choice)
            if status != 200:
                return
            cfg = updated
        status, _ = self.call(
            "complete",
            "POST",
            f"/api/v1/configurations/{cid}/complete",
            {"objective": "defaults", "apply": True},
        )
        if status != 200:
            return
        status, order = self.call(
            "order",
            "POST",
            "/api/v1/orders",
            {"configuration_id": cid, "customer_name": "Load test"},
            {"Idempotency-Key": str(uuid.uuid4())},
        )
        if status == 201:
            with self.stats.lock:
                self.stats.orders.append(order["number"])

    def _pick(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """A decision a buyer could make: a possible, not yet selected value of an open attribute."""
        options = []
        for attribute in state["attributes"]:
            if attribute["kind"] == "set" or attribute["source"] == "decided":
                continue
            values = [v["value"] for v in attribute["values"] if v["possible"] and not v["selected"]]
            if values:
                options.append((attribute["code"], values))
        if not options:
            return None
        code, values = self.rng.choice(options)
        return {"attribute": code, "value": self.rng.choice(values)}


WARM_UP_S = 5.0
"""Seconds of journeys before the measured run."""


def _journeys(client: Client, stop: float) -> None:
    while time.monotonic() < stop:
        client.journey()


def wait_ready(ports: list[int], servers: list[subprocess.Popen[bytes]], log_path: Path) -> None:
    """Until every server answers ``/readyz`` (60 s in all)."""
    deadline = time.monotonic() + 60
    for port, server in zip(ports, servers, strict=True):
        while True:
            try:
                probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                probe.request("GET", "/readyz")
                if probe.getresponse().status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"server did not start; see {log_path}")
            time.sleep(0.3)


def process_tree_cpu(root: int) -> float:
    """User + system CPU seconds of ``root`` and its descendants (gunicorn's master and workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        pid = int(stat.parent.name)
        parents[pid] = int(fields[1])
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, cpu in times.items():
        p = pid
        while p in parents and p != root:
            p = parents[p]
        if p == root:
            total += cpu
    return total


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted ``values``.

    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([1.0, 2.0, 3.0, 4.0], 99)
    (2.0, 4.0)
    """
    if not values:
        return float("nan")
    rank = max(1, -(-len(values) * q // 100))
    return values[int(rank) - 1]


def table(stats: Stats, seconds: float) -> list[str]:
    lines = [
        "| step | requests | req/s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    total = 0
    errors = 0
    for step in (*STEPS, BASELINE):
        lat = sorted(stats.latencies.get(step, []))
        if step == BASELINE:
            step = f"{BASELINE} (baseline)"
            lines.append(
                f"| {step} | {len(lat)} | {len(lat) / seconds:.1f} | {percentile(lat, 50):.1f} | "
                f"{percentile(lat, 95):.1f} | {percentile(lat, 99):.1f} | {stats.errors.get(BASELINE, 0)} |"
            )
            errors += stats.errors.get(BASELINE, 0)
            continue
        total += len(lat)
        errors += stats.errors.get(step, 0)
        lines.append(
            f"| {step} | {len(lat)} | {len(lat) / seconds:.1f} | {percentile(lat, 50):.0f} | "
            f"{percentile(lat, 95):.0f} | {percentile(lat, 99):.0f} | {stats.errors.get(step, 0)} |"
        )
    lines.insert(
        2 + len(STEPS), f"| **all journey steps** | {total} | {total / seconds:.1f} | | | | {errors} |"
    )
    return lines


def append_results(block: list[str]) -> None:
    from benchmarks.results import write_section

    write_section("load", "Load", "\n".join(block))


def main(argv: list[str] | None = None) -> int:  # noqa: C901 - one linear script
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help="separate `c2m serve --production` instances on their own ports; clients go round-robin",
    )
    parser.add_argument("--no-results", action="store_true", help="Do not append to benchmarks/RESULTS.md.")
    parser.add_argument(
        "--repo", type=Path, default=REPO, help="serve the code of this checkout (its .venv Python); a baseline"
    )
    args = parser.parse_args(argv)
    served = args.repo.resolve()
    python = str(served / ".venv" / "bin" / "python") if served != REPO else sys.executable
    seconds = min(args.seconds, MAX_SECONDS)

    from sqlalchemy.orm import Session

    from catalog.db import make_engine, upgrade_database
    from catalog.demo import demo_catalog_paths
    from catalog.files import load_catalog_file
    from catalog.services import import_catalog

    admin_url = os.environ.get("C2M_LOAD_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    dbname = f"c2m_load_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{dbname}"'))
    url = make_url(admin_url).set(database=dbname).render_as_string(hide_password=False)
    servers: list[subprocess.Popen[bytes]] = []
    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"{dbname}.log"
    try:
        upgrade_database(url)
        engine = make_engine(url)
        with Session(engine) as session:
            for path in demo_catalog_paths():
                import_catalog(session, load_catalog_file(path), publish=True)
            session.commit()
        ports = [free_port() for _ in range(max(1, args.servers))]
        env = {
            **os.environ,
            "C2M_DATABASE_URL": url,
            "C2M_SECRET_KEY": secrets.token_hex(32),
            "C2M_PUBLIC_RATE_LIMIT": "1000000 per minute",
            "C2M_RATE_LIMIT_ORDERS": "1000000 per minute",
            "C2M_RATE_LIMIT_CONFIGURATION_WRITES": "1000000 per minute",
            "C2M_RATE_LIMIT_ORDER_LOOKUP": "1000000 per minute",
            "C2M_RATE_LIMIT_SHARE_LINKS": "1000000 per minute",
            "C2M_THREADS": str(args.threads),
            # Rate-limit counters in Redis, as in production (C2M_BENCH_REDIS_URL).
            "C2M_REDIS_URL": os.environ.get("C2M_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
            "C2M_MAX_REQUESTS": "1000000",  # steady state: no worker recycling in the middle of the run
        }
        env.pop("C2M_READ_DATABASE_URL", None)
        with log_path.open("wb") as log:
            for port in ports:
                servers.append(
                    subprocess.Popen(
                        [python, "-c", "from web.cli import main; main()", "serve", "--production",
                         "--bind", f"127.0.0.1:{port}", "--workers", str(args.workers)],
                        cwd=served, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                    )
                )  # fmt: skip
        wait_ready(ports, servers, log_path)
        time.sleep(2)  # let the workers finish compiling the models (post_worker_init)

        stats = Stats()

        def user(n: int) -> None:
            client = Client(ports, stats, random.Random(n))  # a reproducible load mix, not a secret
            while time.monotonic() < stop:
                client.journey()

        def baseline() -> None:
            client = Client(ports, stats, random.Random(-1))
            while time.monotonic() < stop:
                client.call(BASELINE, "GET", "/healthz")
                time.sleep(0.05)

        # Warm-up (not measured; its orders are counted in the consistency check): every worker
        # compiles and caches on first use what the measured journeys then reuse.
        warm = Stats()
        warm_stop = time.monotonic() + WARM_UP_S
        warmers = [
            threading.Thread(target=_journeys, args=(Client(ports, warm, random.Random(-2 - i)), warm_stop))
            for i in range(args.users)
        ]
        for t in warmers:
            t.start()
        for t in warmers:
            t.join(timeout=WARM_UP_S + 120)
        stop = time.monotonic() + seconds
        cpu_before = sum(process_tree_cpu(s.pid) for s in servers)
        started = time.monotonic()
        threads = [threading.Thread(target=user, args=(i,)) for i in range(args.users)]
        threads.append(threading.Thread(target=baseline))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 120)
        elapsed = time.monotonic() - started
        server_cpu = sum(process_tree_cpu(s.pid) for s in servers) - cpu_before
    finally:
        for server in servers:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
        for server in servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    try:
        with engine.connect() as conn:
            in_db = set(conn.execute(text("SELECT number FROM orders")).scalars())
            po_count = conn.execute(text("SELECT count(*) FROM production_orders")).scalar_one()
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()

    placed = stats.orders + warm.orders
    errors = sum(stats.errors.values()) + sum(warm.errors.values())
    journeys = len(stats.latencies.get("order", []))
    consistent = len(placed) == len(set(placed)) == len(in_db) == po_count and set(placed) == in_db
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    servers_text = f"{len(servers)} servers (round-robin) × " if len(servers) > 1 else ""
    block = [
        f"### {when} — {servers_text}gunicorn {args.workers} gthread workers × {args.threads} threads, PostgreSQL, "
        f"{args.users} client threads, {elapsed:.0f} s",
        "",
        "Journey per client: browse → product → create configuration → up to 3 decisions → complete → order.",
        f"Machine: {os.cpu_count()} CPUs shared with other work; client and server on the same host. "
        f"Command: `python -m benchmarks.load.run --seconds {seconds:g} --users {args.users} "
        f"--workers {args.workers} --threads {args.threads}"
        f"{f' --servers {len(servers)}' if len(servers) > 1 else ''}`"
        f"{f' serving {served}' if served != REPO else ''}; load average {os.getloadavg()[0]:.1f} at the end.",
        "",
        *table(stats, elapsed),
        "",
        f"Orders placed (201 answers, {len(warm.orders)} of them in the {WARM_UP_S:g} s warm-up): "
        f"{len(placed)} ({len(stats.orders) / elapsed:.1f}/s measured); orders in the database "
        f"afterwards: {len(in_db)}; production orders: {po_count}; {'consistent' if consistent else 'INCONSISTENT'}. "
        f"Server CPU (gunicorn processes, /proc): {server_cpu:.1f} s, "
        f"{server_cpu * 1000 / journeys if journeys else float('nan'):.1f} ms per journey. "
        f"Load average at the end: {os.getloadavg()[0]:.1f}.",
    ]
    print("\n".join(block))
    for sample in warm.error_samples + stats.error_samples:
        print("error:", sample)
    if not args.no_results:
        append_results(block)
    return 0 if errors == 0 and consistent else 1


if __name__ == "__main__":
    raise SystemExit(main())
