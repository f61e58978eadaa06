"""API throughput: the configuration state endpoint against a trivial endpoint.

Starts gunicorn (2 sync workers) on 127.0.0.1 with a fresh SQLite database
holding the demo catalogs, creates one configuration, then for ``--seconds``
each loads ``GET /api/v1/configurations/{id}`` (the state: database read,
re-validation against the pinned version, engine state, prices, rendering; full
200 responses) and ``GET /healthz`` with ``--threads`` client threads (one
connection per request, as gunicorn's sync workers close them). The seconds
are split over ``--rounds`` alternating rounds so that a change in the load of
a shared machine hits both endpoints alike. Prints requests/s and p99 latency
for both and the ratio state/healthz (target at least 50 %), plus a row for
the state revalidated with ``If-None-Match`` (304, no body: what a browser
that already holds the state pays), and writes the table to its section of
``benchmarks/RESULTS.md``.

Rate limiting is switched off for the run. The server's request log (one JSON
line per request) goes to a file, as it would to a log collector in
production, not to this terminal. Usage::

    .venv/bin/python -m benchmarks.bench_api [--seconds 10] [--threads 4] [--rounds 4]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _seed(url: str) -> None:
    from sqlalchemy.orm import Session

    from catalog.db import make_engine, upgrade_database
    from catalog.demo import demo_catalog_paths
    from catalog.files import load_catalog_file
    from catalog.services import import_catalog

    upgrade_database(url)
    engine = make_engine(url)
    with Session(engine) as session:
        for path in demo_catalog_paths():
            import_catalog(session, load_catalog_file(path), publish=True)
        session.commit()
    engine.dispose()


def _request(
    port: int, method: str, path: str, body: object | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, http.client.HTTPResponse]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        payload = json.dumps(body).encode() if body is not None else None
        sent = dict(headers or {})
        if payload:
            sent["Content-Type"] = "application/json"
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        return response.status, response.read(), response
    finally:
        conn.close()


def _wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if _request(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /healthz in time")


Measure = tuple[list[float], float, int, float]
"""Latencies (s) of the expected answers, elapsed seconds, errors, CPU seconds of the workers."""


def _worker_cpu(master: int) -> float:
    """User + system CPU seconds of the gunicorn workers (children of ``master``), from /proc (0 elsewhere).

    Throughput on a shared machine moves with the other jobs; the CPU the
    workers spend per request moves less (contention still inflates it), so
    it is reported beside it.
    """
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        if int(fields[1]) == master:  # fields after "(comm)": state, ppid, ..., utime (11), stime (12)
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _load(
    port: int,
    path: str,
    seconds: float,
    threads: int,
    headers: dict[str, str] | None = None,
    expect: int = 200,
    master: int = 0,
) -> Measure:
    """``threads`` clients hitting ``path`` for ``seconds``; any status but ``expect`` is an error."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        nonlocal errors
        mine: list[float] = []
        failed = 0
        while time.monotonic() < stop:
            started = time.perf_counter()
            try:
                status, _, _ = _request(port, "GET", path, headers=headers)
                ok = status == expect
            except OSError:
                ok = False
            if ok:
                mine.append(time.perf_counter() - started)
            else:
                failed += 1
        with lock:
            latencies.extend(mine)
            errors += failed

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    cpu = _worker_cpu(master)
    began = time.monotonic()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return latencies, time.monotonic() - began, errors, _worker_cpu(master) - cpu


Row = tuple[float, float, int, float]
"""Requests/s, p99 ms, errors, server CPU ms per request."""


def _summary(measures: list[Measure]) -> Row:
    """The row of one endpoint over its rounds."""
    latencies = sorted(x for m in measures for x in m[0])
    elapsed = sum(m[1] for m in measures)
    errors = sum(m[2] for m in measures)
    cpu = sum(m[3] for m in measures)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan")
    answered = len(latencies) + errors
    return (
        len(latencies) / elapsed if elapsed else 0.0,
        p99,
        errors,
        cpu * 1000 / answered if answered else float("nan"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per endpoint (max 60)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (max 16)")
    parser.add_argument(
        "--rounds", type=int, default=4, help="alternating rounds the seconds are split over (max 10)"
    )
    parser.add_argument("--no-write", action="store_true", help="do not append to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    seconds = min(max(args.seconds, 1.0), 60.0)
    threads = min(max(args.threads, 1), 16)
    rounds = min(max(args.rounds, 1), 10)

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        _seed(url)
        port = _free_port()
        env = dict(os.environ, C2M_DATABASE_URL=url, C2M_SECRET_KEY="bench")
        env.pop("C2M_REDIS_URL", None)
        log = open(Path(tmp) / "server.log", "wb")  # closed in finally
        server = subprocess.Popen(
            [
                sys.executable, "-m", "gunicorn",
                "--workers", "2", "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
                "web:create_app({'RATELIMIT_ENABLED': False})",
            ],
            cwd=REPO, env=env, start_new_session=True, stderr=log,
        )  # fmt: skip
        try:
            _wait_ready(port, time.monotonic() + 60)
            status, body, _ = _request(
                port,
                "POST",
                "/api/v1/configurations",
                {
                    "product": "city-ebike",
                    "decisions": [
                        {"attribute": "frame_material", "value": "aluminium"},
                        {"attribute": "gears", "value": 8},
                        {"attribute": "accessories", "element": "phone_mount"},
                    ],
                },
            )
            if status != 201:
                raise SystemExit(f"creating the configuration failed: {status} {body[:300]!r}")
            state_path = f"/api/v1/configurations/{json.loads(body)['id']}"
            for path in (state_path, "/healthz"):  # warm both workers' caches
                for _ in range(4):
                    _request(port, "GET", path)
            status, body, response = _request(port, "GET", state_path)
            etag = response.getheader("ETag")
            if status != 200 or not etag:
                raise SystemExit(f"the state answered {status} without an ETag")
            size = len(body)
            measures: dict[str, list[Measure]] = {"state": [], "health": [], "revalidate": []}
            share = seconds / rounds
            for _ in range(rounds):
                measures["state"].append(_load(port, state_path, share, threads, master=server.pid))
                measures["health"].append(_load(port, "/healthz", share, threads, master=server.pid))
            measures["revalidate"].append(
                _load(
                    port,
                    state_path,
                    seconds,
                    threads,
                    headers={"If-None-Match": etag},
                    expect=304,
                    master=server.pid,
                )
            )
        except BaseException:
            log.flush()
            sys.stderr.write((Path(tmp) / "server.log").read_text(errors="replace")[-3000:])
            raise
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            log.close()

    state, health, revalidate = (_summary(measures[k]) for k in ("state", "health", "revalidate"))
    ratio = state[0] / health[0] if health[0] else 0.0
    rows = [
        (f"GET /api/v1/configurations/{{id}} (state, 200, {size} B)", state),
        ("GET /healthz", health),
        ("GET /api/v1/configurations/{id} + If-None-Match (304)", revalidate),
    ]
    revalidate_ratio = revalidate[0] / health[0] if health[0] else 0.0
    lines = [
        f"{'endpoint':56} {'req/s':>8} {'p99 ms':>8} {'errors':>7} {'server CPU ms/req':>18}",
        *(f"{name:56} {r[0]:8.1f} {r[1]:8.1f} {r[2]:7d} {r[3]:18.2f}" for name, r in rows),
        f"state/healthz throughput ratio (full 200 responses): {ratio:.0%} (target >= 50%)",
        f"revalidated state (304)/healthz: {revalidate_ratio:.0%}",
        f"server CPU per request, healthz/state: {health[3] / state[3]:.0%} (less load-dependent counterpart of the ratio)",
    ]
    print("\n".join(lines))
    if not args.no_write:
        _append(rows, ratio, revalidate_ratio, seconds, threads, rounds)
    return 0


def _append(
    rows: list[tuple[str, Row]],
    ratio: float,
    revalidate_ratio: float,
    seconds: float,
    threads: int,
    rounds: int,
) -> None:
    from benchmarks.results import machine, write_section

    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = [
        f"### {stamp} — gunicorn 2 sync workers, SQLite, {threads} client threads on the same host, "
        f"{seconds:g} s per endpoint in {rounds} alternating rounds",
        "",
        f"Machine: {machine()} (shared with other work). Command: `python -m benchmarks.bench_api`.",
        "",
        "| endpoint | req/s | p99 ms | errors | server CPU ms/req |",
        "|---|---:|---:|---:|---:|",
        *(f"| `{name}` | {r[0]:.1f} | {r[1]:.1f} | {r[2]} | {r[3]:.2f} |" for name, r in rows),
        "",
        f"State/healthz throughput ratio (full 200 responses): **{ratio:.0%}** (target ≥ 50 %). "
        f"Revalidated with `If-None-Match` (304): {revalidate_ratio:.0%} of healthz. "
        f"Server CPU per request (both workers, from /proc), healthz/state: {rows[1][1][3] / rows[0][1][3]:.0%}; "
        "it moves less than requests/s with the other jobs on the machine. "
        "The client threads run on the same 2 cores.",
        "",
    ]

    write_section("api", "API: state endpoint vs a trivial endpoint", "\n".join(table))


if __name__ == "__main__":
    raise SystemExit(main())
