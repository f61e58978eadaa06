"""Abuse limits (429 with Retry-After), login lockout, public catalog listings, server-side
session revocation, no-store on workspace pages, WWW-Authenticate on 401."""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.security.conftest import BIKE
from web.accounts import create_user
from web.limits import limiter

PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def limited(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    def build(**config: Any) -> Flask:
        app = make_app(RATELIMIT_ENABLED=True, WTF_CSRF_ENABLED=False, **config)
        limiter.reset()
        return app

    return build


def redis_config() -> dict[str, Any]:
    """Rate-limit storage in the test Redis (a key prefix of its own), or skip the test without one."""
    import redis

    url = os.environ.get("C2M_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {url}: {exc}")
    return {"RATELIMIT_STORAGE_URI": url, "RATELIMIT_KEY_PREFIX": f"c2m-test-{uuid.uuid4().hex[:8]}"}


def add_user(app: Flask, role: str = "admin") -> str:
    email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
    with Session(app.extensions["c2m.engine"]) as session:
        create_user(session, email, PASSWORD, role)
        session.commit()
    return email


def csrf(client: FlaskClient) -> str:
    match = CSRF.search(client.get("/admin/login").get_data(as_text=True))
    assert match is not None
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/admin/login", data={"email": email, "password": password, "csrf_token": csrf(client)})


def assert_429(response: Any) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)[:300]
    assert int(response.headers["Retry-After"]) >= 1


def test_order_creation_is_limited_per_address(limited: Callable[..., Flask]) -> None:
    app = limited(RATE_LIMIT_ORDERS="2 per minute")
    client = app.test_client()
    statuses = []
    for _ in range(3):
        created = client.post("/api/v1/configurations", json={"product": BIKE[1], "catalog": BIKE[0]})
        cid = created.get_json()["id"]
        client.post(f"/api/v1/configurations/{cid}/complete", json={"objective": "defaults", "apply": True})
        response = client.post("/api/v1/orders", json={"configuration_id": cid}, headers={"Idempotency-Key": uuid.uuid4().hex})
        statuses.append(response.status_code)
    assert statuses[:2] == [201, 201]
    assert_429(response)
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["reason"] == "too_many_requests"
    # Another kind of request from the same address is not affected.
    assert client.get("/api/v1/products").status_code == 200


@pytest.mark.parametrize(
    ("setting", "request_"),
    [
        ("RATE_LIMIT_CONFIGURATION_WRITES", ("POST", "/api/v1/configurations", {"product": BIKE[1], "catalog": BIKE[0]})),
        ("RATE_LIMIT_ORDER_LOOKUP", ("GET", "/api/v1/orders/SO-1?access_token=x", None)),
        ("RATE_LIMIT_SHARE_LINKS", ("GET", "/api/v1/shared/nothing-here", None)),
        ("RATE_LIMIT_CATALOG_UPLOAD", ("POST", "/api/v1/catalogs", None)),
        ("RATE_LIMIT_ORDER_LOOKUP", ("GET", "/orders/SO-1", None)),
        ("RATE_LIMIT_SHARE_LINKS", ("GET", "/s/nothing-here", None)),
    ],
)
def test_each_abuse_limit_answers_429(limited: Callable[..., Flask], setting: str, request_: tuple[str, str, Any]) -> None:
    app = limited(**{setting: "2 per minute"})
    client = app.test_client()
    method, path, body = request_
    for _ in range(2):
        assert client.open(path, method=method, json=body).status_code != 429
    assert_429(client.open(path, method=method, json=body))


def test_login_locks_the_account_progressively(limited: Callable[..., Flask]) -> None:
    app = limited(LOGIN_LOCKOUT_ACCOUNT_FAILURES=3, LOGIN_LOCKOUT_BASE_S=60)
    email = add_user(app)
    client = app.test_client()
    for _ in range(3):
        assert sign_in(client, email, "wrong password").status_code == 401
    locked = sign_in(client, email)  # even the right password, while locked
    assert_429(locked)
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    # Another account from the same address still signs in.
    assert sign_in(app.test_client(), add_user(app)).status_code == 302


def test_login_locks_an_address_guessing_many_accounts(limited: Callable[..., Flask]) -> None:
    app = limited(LOGIN_LOCKOUT_ADDRESS_FAILURES=4, LOGIN_LOCKOUT_ACCOUNT_FAILURES=100)
    client = app.test_client()
    for i in range(4):
        assert sign_in(client, f"nobody{i}@example.com", "guess").status_code == 401
    assert_429(sign_in(client, add_user(app)))


def test_thirty_wrong_passwords_are_not_all_checked(limited: Callable[..., Flask]) -> None:
    app = limited()
    email = add_user(app)
    client = app.test_client()
    statuses = [sign_in(client, email, f"guess {i}").status_code for i in range(30)]
    assert statuses.count(401) == 5 and statuses.count(429) == 25, statuses


def test_public_catalog_listing_shows_only_versions_in_force(
    client: FlaskClient, token: Callable[..., dict[str, str]]
) -> None:
    text = "format: c2m-catalog/1\ncode: secret-plans\nname: Secret\ncurrency: CNY\n"
    headers = {**token("catalog:write"), "Content-Type": "application/yaml"}
    draft = client.post("/api/v1/catalogs?comment=launch+price+cut", data=text, headers=headers)
    assert draft.status_code == 201
    listed = client.get("/api/v1/catalogs").get_json()
    assert "secret-plans" not in [c["code"] for c in listed]
    for entry in listed:
        assert entry["draft_version"] is None
        assert [v["status"] for v in entry["versions"]] == ["published"]
        assert all(v["comment"] is None for v in entry["versions"])
    insider = client.get("/api/v1/catalogs", headers=token("catalog:write")).get_json()
    assert "secret-plans" in [c["code"] for c in insider]


def test_logout_revokes_the_session_cookie(app: Flask) -> None:
    email = add_user(app)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    assert client.get("/admin/users").status_code == 200
    stolen = client.get_cookie("session")
    assert stolen is not None
    assert client.post("/admin/logout", data={"csrf_token": csrf(client)}).status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen.value)
    response = thief.get("/admin/users")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_a_password_change_revokes_every_session(app: Flask) -> None:
    from usecases.records import User
    from web.accounts import set_password

    email = add_user(app)
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    assert client.get("/admin/users").status_code == 200
    with Session(app.extensions["c2m.engine"]) as session:
        user = session.query(User).filter_by(email=email).one()
        set_password(session, user, "a new long password")
        session.commit()
    assert client.get("/admin/users").status_code == 302
    assert sign_in(app.test_client(), email, "a new long password").status_code == 302


def test_admin_pages_are_not_stored_and_401_says_how_to_authenticate(app: Flask) -> None:
    client = app.test_client()
    assert sign_in(client, add_user(app)).status_code == 302
    page = client.get("/admin/users")
    assert page.headers["Cache-Control"] == "no-store"
    assert client.get("/admin/login").headers["Cache-Control"] == "no-store"
    unauthorized = app.test_client().post("/api/v1/catalogs", data="x", content_type="application/yaml")
    assert unauthorized.status_code == 401
    assert unauthorized.headers["WWW-Authenticate"].startswith("Bearer")
    bad = app.test_client().get("/api/v1/production-orders", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and "WWW-Authenticate" in bad.headers


@pytest.mark.parametrize("storage", ["memory", "redis"])
def test_public_operations_carry_the_public_limits_headers_and_one_429(
    limited: Callable[..., Flask], storage: str
) -> None:
    config: dict[str, Any] = {"PUBLIC_RATE_LIMIT": "3 per minute;50 per hour"}
    if storage == "redis":
        config.update(redis_config())
    app = limited(**config)
    client = app.test_client()
    seen = [client.get("/api/v1/products") for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Limit"] for r in seen] == ["3"] * 4  # the shortest window
    assert [r.headers["X-RateLimit-Remaining"] for r in seen] == ["2", "1", "0", "0"]
    for response in seen:
        assert 0 < int(response.headers["X-RateLimit-Reset"]) - time.time() <= 61
        assert 0 <= int(response.headers["Retry-After"]) <= 61
    assert_429(seen[-1])
    assert seen[-1].get_json()["reason"] == "too_many_requests"
    # Operations that are neither public nor abuse-limited count nothing and carry no headers.
    assert "X-RateLimit-Limit" not in client.get("/healthz").headers


def test_a_click_makes_one_round_trip_to_redis_for_every_limit_it_counts_against(
    limited: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    import redis

    app = limited(**redis_config(), RATE_LIMIT_CONFIGURATION_WRITES="5 per minute;50 per hour")
    client = app.test_client()
    cid = client.post("/api/v1/configurations", json={"product": BIKE[1], "catalog": BIKE[0]}).get_json()["id"]
    click = {"attribute": "frame_material", "value": "steel"}
    trips: list[str] = []
    single, batch = redis.Redis.execute_command, redis.client.Pipeline.execute

    def counted_single(self: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(str(args[0]))
        return single(self, *args, **kwargs)

    def counted_batch(self: Any, *args: Any, **kwargs: Any) -> Any:
        trips.append(f"pipeline of {len(self.command_stack)}")
        return batch(self, *args, **kwargs)

    monkeypatch.setattr(redis.Redis, "execute_command", counted_single)
    monkeypatch.setattr(redis.client.Pipeline, "execute", counted_batch)
    statuses = [client.post(f"/api/v1/configurations/{cid}/decisions", json=click).status_code for _ in range(5)]
    # Two windows of the public limit and two of the configuration writes limit, three commands each.
    assert trips == ["pipeline of 12"] * 5, trips
    assert statuses[:4] == [200] * 4 and statuses[4] == 429, statuses  # the create counted too
