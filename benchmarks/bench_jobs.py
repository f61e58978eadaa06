"""Webhook delivery throughput: the job engine (Dramatiq on Redis) against the built-in outbox loop.

    .venv/bin/python -m benchmarks.bench_jobs [--events 400] [--rounds 2] [--threads 4] [--no-write]

On a fresh PostgreSQL database (``C2M_LOAD_ADMIN_URL``, default the local server's ``postgres``
database) with one webhook endpoint (an in-process receiver answering 204), each round puts
``--events`` events in the outbox and starts one worker process: ``c2m worker`` on Redis
(``C2M_BENCH_REDIS_URL``, one process, ``--threads`` threads; the sweeper queues the jobs) and the
built-in loop (``c2m worker`` without a broker: one process, batches of 50, one delivery at a time),
alternating. Per row: seconds from the worker's start to its first delivery (start-up), seconds
from the first to the last delivery, deliveries per second over that span (median over rounds),
and, over all rounds, duplicates (deliveries of an id already received: 0 expected). Exits 1 when an event was not
delivered within 120 s or a duplicate arrived.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

REPO = Path(__file__).resolve().parents[1]


class Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.seen: set[str] = set()
        self.duplicates = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["content-length"]))
                with receiver.lock:
                    receiver.times.append(time.monotonic())
                    webhook_id = self.headers["webhook-id"]
                    if webhook_id in receiver.seen:
                        receiver.duplicates += 1
                    receiver.seen.add(webhook_id)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.times.clear()


def _round(kind: str, url: str, events: int, threads: int, receiver: Receiver, redis_url: str) -> dict[str, float]:
    from catalog.db import make_engine
    from usecases.outbox import enqueue
    from usecases.records import OutboxEvent

    engine = make_engine(url)
    with Session(engine) as session:
        for i in range(events):
            enqueue(session, "order.created", {"n": i})
        session.commit()
    receiver.reset()
    env = {key: value for key, value in os.environ.items() if key not in ("C2M_BROKER_URL", "C2M_REDIS_URL")}
    env["C2M_DATABASE_URL"] = url
    args = [sys.executable, "-c", "from web.cli import main; main()", "worker", "--url", url]
    if kind == "jobs":
        env.update(
            C2M_BROKER_URL=redis_url, C2M_JOBS_NAMESPACE=f"c2m-bench-{uuid.uuid4().hex[:8]}", C2M_JOBS_SWEEP_S="0.5"
        )
        args += ["--processes", "1", "--threads", str(threads)]
    else:
        args += ["--interval", "0.5"]
    started = time.monotonic()
    worker = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)  # fmt: skip
    try:
        deadline = started + 120
        while True:
            with Session(engine) as session:
                pending = session.scalar(
                    select(func.count()).select_from(OutboxEvent).where(OutboxEvent.delivered_at.is_(None))
                )
            if not pending:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"{kind}: {pending} events not delivered within 120 s")
            time.sleep(0.1)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        engine.dispose()
    first, last = min(receiver.times), max(receiver.times)
    span = max(last - first, 1e-6)
    return {"startup": first - started, "span": span, "rate": (len(receiver.times) - 1) / span}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="job threads of the Dramatiq worker")
    parser.add_argument("--no-write", action="store_true", help="do not write benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    events = min(max(args.events, 10), 5000)
    rounds = min(max(args.rounds, 1), 5)

    from catalog.db import make_engine, upgrade_database
    from usecases.outbox import add_endpoint

    admin_url = os.environ.get("C2M_LOAD_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("C2M_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    dbname = f"c2m_bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{dbname}"'))
    url = make_url(admin_url).set(database=dbname).render_as_string(hide_password=False)
    receiver = Receiver()
    results: dict[str, list[dict[str, float]]] = {"jobs": [], "loop": []}
    try:
        upgrade_database(url)
        engine = make_engine(url)
        with Session(engine) as session:
            add_endpoint(session, receiver.url, ["order.created"])
            session.commit()
        engine.dispose()
        for _ in range(rounds):
            for kind in ("jobs", "loop"):
                results[kind].append(_round(kind, url, events, args.threads, receiver, redis_url))
    finally:
        receiver.server.shutdown()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))
        admin.dispose()

    names = {
        "jobs": f"job engine: Dramatiq on Redis, 1 process × {args.threads} threads",
        "loop": "built-in outbox loop, 1 process",
    }
    lines = [
        "| worker | start-up s | delivery span s | deliveries/s (median) |",
        "|---|---:|---:|---:|",
    ]
    for kind in ("jobs", "loop"):
        rows = results[kind]
        lines.append(
            f"| {names[kind]} | {statistics.median(r['startup'] for r in rows):.2f} "
            f"| {statistics.median(r['span'] for r in rows):.2f} "
            f"| {statistics.median(r['rate'] for r in rows):.0f} |"
        )
    ratio = statistics.median(r["rate"] for r in results["jobs"]) / statistics.median(
        r["rate"] for r in results["loop"]
    )
    table = "\n".join(lines)
    print(table)
    print(f"job engine / built-in loop: {ratio:.2f}× the deliveries per second; duplicates: {receiver.duplicates}")
    if not args.no_write:
        from benchmarks.results import machine, stamp, write_section

        write_section(
            "jobs",
            "Background jobs: webhook delivery",
            f"{stamp()}, {machine()}; `python -m benchmarks.bench_jobs --events {events} --rounds {rounds} "
            f"--threads {args.threads}` ({events} events per round, one endpoint on loopback, PostgreSQL, "
            f"rounds alternating).\n\n{table}\n\nJob engine / built-in loop: {ratio:.2f}× the deliveries per "
            f"second; duplicate deliveries over every round of both workers: {receiver.duplicates}. Start-up is\n"
            "process start to first delivery (the Dramatiq worker imports, boots, then its sweeper runs).",
        )
    return 1 if receiver.duplicates else 0


if __name__ == "__main__":
    sys.exit(main())
