"""Against a real server: while (and after) a poison catalog is uploaded, /healthz and another
product's click stay fast, because the compile check runs in its own bounded process."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from catalog.db import make_engine
from tests.faults.conftest import Server
from tests.faults.test_model_too_large import oversized_catalog
from web.auth import create_token


def upload(port: int, token: str, text: str, out: dict[str, Any]) -> None:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request(
            "POST",
            "/api/v1/catalogs?publish=true",
            body=text.encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/yaml"},
        )
        response = conn.getresponse()
        out["status"] = response.status
        out["body"] = response.read().decode()
    finally:
        conn.close()
        out["seconds"] = time.monotonic() - started


def test_poison_upload_does_not_slow_the_rest(db_url: str, start_server: Callable[..., Server]) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session:
        _row, secret = create_token(session, "poison", ["catalog:write"])
        session.commit()
    engine.dispose()
    server = start_server(db_url, C2M_COMPILE_BUDGET_S="3", C2M_THREADS="4")
    assert server.request("POST", "/api/v1/configurations", {"product": "city-ebike", "catalog": "wuhan-bikes"})[0] == 201
    result: dict[str, Any] = {}
    worker = threading.Thread(target=upload, args=(server.port, secret, oversized_catalog("poison-live"), result))
    worker.start()
    during: list[float] = []
    time.sleep(0.3)
    while worker.is_alive() and len(during) < 40:
        started = time.monotonic()
        assert server.request("GET", "/healthz", timeout=10)[0] == 200
        status, _doc = server.request(
            "POST", "/api/v1/configurations", {"product": "city-ebike", "catalog": "wuhan-bikes"}, timeout=10
        )
        assert status == 201
        during.append(time.monotonic() - started)
    worker.join(timeout=120)
    assert result["status"] == 422, result
    assert "catalog_too_complex" in result["body"] and "huge" in result["body"]
    assert during, "the upload finished before anything was measured"
    assert max(during) < 2.0, during  # healthz + a click of another shop's product, while compiling
    started = time.monotonic()
    assert server.request("GET", "/healthz")[0] == 200
    assert server.request("POST", "/api/v1/configurations", {"product": "city-ebike", "catalog": "wuhan-bikes"})[0] == 201
    assert time.monotonic() - started < 2.0
