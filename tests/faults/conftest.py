"""Fixtures of the fault tests: a populated database (PostgreSQL schema when
``C2M_TEST_DATABASE_URL`` is set, else a SQLite file), real server and worker
processes on loopback ports, and helpers to find and kill them."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from catalog.db import make_engine
from tests.security.conftest import populate

REPO = Path(__file__).resolve().parents[2]
POSTGRES_URL = os.environ.get("C2M_TEST_DATABASE_URL", "").strip()
needs_postgres = pytest.mark.skipif(
    not POSTGRES_URL, reason="needs PostgreSQL: set C2M_TEST_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
)


def schema_url(schema: str, application_name: str | None = None) -> str:
    query: dict[str, str] = {"options": f"-csearch_path={schema}"}
    if application_name:
        query["application_name"] = application_name
    return make_url(POSTGRES_URL).update_query_dict(query).render_as_string(hide_password=False)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A migrated database with the demo catalogs published: PostgreSQL when configured, else SQLite."""
    if not POSTGRES_URL:
        url = f"sqlite:///{tmp_path / 'faults.sqlite'}"
        populate(url)
        yield url
        return
    schema = f"fault_{uuid.uuid4().hex[:12]}"
    admin = make_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = schema_url(schema, f"c2m-{schema}")
        populate(url)
        yield url
    finally:
        # End any backend a killed process left behind, then drop the schema.
        with admin.begin() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = :name"),
                {"name": f"c2m-{schema}"},
            )
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name (field 2) may contain spaces: split after its closing parenthesis
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def request(
    port: int, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 60
) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = json.dumps(body).encode() if body is not None else None
        conn.request(method, path, body=data, headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        return response.status, json.loads(raw) if raw else None
    finally:
        conn.close()


class Server:
    """``c2m serve --production`` (gunicorn) on a free loopback port."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def wait_ready(self, timeout: float = 60.0, *, exclude: tuple[int, ...] = ()) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            if [w for w in self.workers() if w not in exclude]:
                try:
                    if request(self.port, "GET", "/readyz", timeout=5)[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn not ready in {timeout} s: {self.log.read_text()[-3000:]}")

    def request(self, *args: Any, **kwargs: Any) -> tuple[int, Any]:
        return request(self.port, *args, **kwargs)


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(url: str, **env: str) -> Server:
        port = free_port()
        log = tmp_path / f"gunicorn-{port}.log"
        environment = {
            **os.environ,
            "C2M_DATABASE_URL": url,
            "C2M_SECRET_KEY": "fault-test-secret",
            "C2M_PUBLIC_RATE_LIMIT": "100000 per minute",
            "C2M_RATE_LIMIT_ORDERS": "1000000 per minute",
            "C2M_RATE_LIMIT_CONFIGURATION_WRITES": "1000000 per minute",
            "C2M_RATE_LIMIT_ORDER_LOOKUP": "1000000 per minute",
            "C2M_RATE_LIMIT_SHARE_LINKS": "1000000 per minute",
            "C2M_WORKERS": "1",
            "C2M_THREADS": "2",
            **env,
        }
        for name in ("C2M_READ_DATABASE_URL", "C2M_REDIS_URL"):  # only what the test asks for
            if name not in env:
                environment.pop(name, None)
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-c", "from web.cli import main; main()", "serve", "--production",
                 "--allow-sqlite", "--bind", f"127.0.0.1:{port}"],
                cwd=REPO, env=environment, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )
        server = Server(process, port, log)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        if server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGTERM)
            try:
                server.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.process.pid, signal.SIGKILL)
                server.process.wait()


def completed_configuration(server: Server, catalog: str = "wuhan-bikes", product: str = "city-ebike") -> str:
    """A configuration the engine finished (every attribute decided); returns its id."""
    status, doc = server.request("POST", "/api/v1/configurations", {"product": product, "catalog": catalog})
    assert status == 201, doc
    cid = doc["id"]
    status, doc = server.request(
        "POST", f"/api/v1/configurations/{cid}/complete", {"objective": "defaults", "apply": True}
    )
    assert status == 200, doc
    return str(cid)
