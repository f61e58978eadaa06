"""Against a real gunicorn with two worker processes: abuse limits are shared through Redis,
and a chunked body over the limit is refused (413), never cut short and stored."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Callable

import pytest
import redis
from sqlalchemy.orm import Session

from catalog.db import make_engine
from tests.faults.conftest import Server
from web.auth import create_token

REDIS_URL = "redis://127.0.0.1:6379/13"


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def fresh_get(port: int, path: str) -> int:
    """A new connection per request, so gunicorn spreads them over its workers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


@pytest.mark.skipif(not redis_available(), reason="needs Redis at 127.0.0.1:6379")
def test_abuse_limits_are_shared_by_every_worker(db_url: str, start_server: Callable[..., Server]) -> None:
    prefix = f"c2m-test-{uuid.uuid4().hex[:8]}"
    server = start_server(
        db_url, C2M_REDIS_URL=REDIS_URL, C2M_RATELIMIT_KEY_PREFIX=prefix, C2M_WORKERS="2",
        C2M_RATE_LIMIT_ORDER_LOOKUP="5 per hour",
    )
    try:
        statuses = [fresh_get(server.port, "/api/v1/orders/SO-1?access_token=x") for _ in range(12)]
        assert len(server.workers()) == 2
        assert statuses.count(429) == 7, statuses  # one budget of 5 for both processes together
        assert list(redis.Redis.from_url(REDIS_URL).scan_iter(match=f"*{prefix}*abuse*")), "counters not in Redis"
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)


def chunked_upload(port: int, token: str, body: bytes) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.putrequest("POST", "/api/v1/catalogs?publish=true")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", "application/yaml")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for start in range(0, len(body), 65536):
            piece = body[start : start + 65536]
            try:
                conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            except OSError:
                break  # the server answered early and closed
        else:
            conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_a_chunked_catalog_over_the_limit_is_refused_not_truncated(
    db_url: str, start_server: Callable[..., Server]
) -> None:
    engine = make_engine(db_url)
    with Session(engine) as session:
        _row, token = create_token(session, "chunked", ["catalog:write"])
        session.commit()
    engine.dispose()
    server = start_server(db_url, C2M_MAX_BODY_BYTES="100000")
    head = b"format: c2m-catalog/1\ncode: chunky\nname: Chunky\ncurrency: CNY\n"
    status, body = chunked_upload(server.port, token, head + b"# padding line\n" * 20_000)
    assert status == 413, body
    assert server.request("GET", "/api/v1/products/chunky")[0] == 404  # nothing stored
    status, body = chunked_upload(server.port, token, head + b"# padding line\n" * 100)
    assert status == 201, body
    assert server.request("GET", "/healthz")[0] == 200
