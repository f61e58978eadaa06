"""Every route of the app is either deliberately public or refuses anonymous and wrong-scope callers.

The classification below is the access policy; a route added without being
classified here fails ``test_every_route_is_classified``, so nobody exposes an
endpoint by accident.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session
from werkzeug.routing import Rule

from web.accounts import create_user
from web.auth import SCOPES

PUBLIC_PREFIXES = ("storefront.", "health.", "api-docs.", "configurations.")
"""Whole blueprints open to anyone: the shop, probes, API docs, configurations (addressed by
unguessable ids; see test_object_access)."""

PUBLIC_ENDPOINTS = {
    ("static", "GET"),
    ("admin.static", "GET"),
    ("admin.login", "GET"),
    ("admin.login", "POST"),
    ("swagger_assets.swagger_file", "GET"),
    ("catalog.products", "GET"),
    ("catalog.product", "GET"),
    ("catalog.catalogs", "GET"),
    ("orders.Orders", "POST"),  # storefront clients order without a token (idempotent, rate-limited)
}

API_SCOPES = {
    ("catalog.upload_catalog", "POST"): "catalog:write",
    ("catalog.publish", "POST"): "catalog:write",
    ("catalog.version_diff", "GET"): "catalog:write",
    ("orders.Orders", "GET"): "erp:read",
    ("orders.OrderByNumber", "GET"): "erp:read",  # or the order's own access token
    ("erp.ProductionOrders", "GET"): "erp:read",
    ("erp.ProductionOrderDocument", "GET"): "erp:read",
    ("erp.OperationsDefinition", "GET"): "erp:read",
    ("erp.Acknowledge", "POST"): "erp:write",
    ("erp.Start", "POST"): "erp:write",
    ("erp.Ship", "POST"): "erp:write",
    ("erp.Reject", "POST"): "erp:write",
    ("erp.Cancel", "POST"): "erp:write",
    ("master_data.ItemMaster", "GET"): "erp:read",
    ("events.Events", "GET"): "erp:read",
    ("webhooks.Webhooks", "GET"): "webhooks:manage",
    ("webhooks.Webhooks", "POST"): "webhooks:manage",
    ("webhooks.WebhookById", "GET"): "webhooks:manage",
    ("webhooks.RotateSecret", "POST"): "webhooks:manage",
    ("webhooks.Disable", "POST"): "webhooks:manage",
    ("webhooks.Enable", "POST"): "webhooks:manage",
    ("webhooks.Deliveries", "GET"): "webhooks:manage",
}


def operations(app: Flask) -> list[tuple[Rule, str]]:
    return sorted(
        ((rule, method) for rule in app.url_map.iter_rules() for method in rule.methods - {"HEAD", "OPTIONS"}),
        key=lambda rm: (rm[0].rule, rm[1]),
    )


def is_public(endpoint: str, method: str) -> bool:
    return endpoint.startswith(PUBLIC_PREFIXES) or (endpoint, method) in PUBLIC_ENDPOINTS


def is_admin(endpoint: str, method: str) -> bool:
    return endpoint.startswith("admin.") and (endpoint, method) not in PUBLIC_ENDPOINTS


def url_for_rule(rule: Rule) -> str:
    """A concrete URL of ``rule`` with placeholder arguments."""

    def fill(match: re.Match[str]) -> str:
        converter, name = match.group(1) or "", match.group(2)
        if converter.startswith("int"):
            return "1"
        if name == "code":
            return "wuhan-bikes"
        return "x" if name != "filename" else "app.css"

    return re.sub(r"<(?:([a-z]+(?:\([^)]*\))?):)?([a-z_]+)>", fill, rule.rule)


def call(client: Any, method: str, url: str, headers: dict[str, str] | None = None) -> Any:
    return client.open(url, method=method, headers=headers or {}, json={} if method in ("POST", "PUT") else None)


def csrf_header(client: Any) -> dict[str, str]:
    """A valid CSRF token for ``client``'s session (from the login form), so a POST reaches the
    login and role checks instead of stopping at the CSRF check before them."""
    html = client.get("/admin/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the login form carries a CSRF token"
    return {"X-CSRFToken": match.group(1)}


def test_every_route_is_classified(app: Flask) -> None:
    unclassified = [
        f"{method} {rule.rule} ({rule.endpoint})"
        for rule, method in operations(app)
        if not (is_public(rule.endpoint, method) or is_admin(rule.endpoint, method))
        and (rule.endpoint, method) not in API_SCOPES
    ]
    assert not unclassified, "classify these routes in tests/security/test_routes.py: " + "; ".join(unclassified)


def api_operations(app: Flask) -> list[tuple[str, str, str]]:
    return [
        (method, url_for_rule(rule), API_SCOPES[(rule.endpoint, method)])
        for rule, method in operations(app)
        if (rule.endpoint, method) in API_SCOPES
    ]


def test_every_protected_api_operation_refuses_anonymous_callers(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for method, url, _scope in api_operations(app):
        response = call(client, method, url)
        assert response.status_code == 401, (method, url, response.status_code)
        assert response.mimetype == "application/problem+json", (method, url)
        assert response.get_json()["reason"] == "unauthorized"
        checked += 1
    assert checked == len(API_SCOPES)


def test_every_protected_api_operation_refuses_wrong_scopes_and_bad_tokens(
    app: Flask, token: Callable[..., dict[str, str]]
) -> None:
    client = app.test_client()
    for method, url, scope in api_operations(app):
        others = [s for s in SCOPES if s != scope]
        response = call(client, method, url, token(*others))
        assert response.status_code == 403, (method, url, response.status_code)
        assert response.mimetype == "application/problem+json"
        assert response.get_json()["reason"] == "forbidden"
        for bad in ("Bearer c2m_not-a-real-token", "Basic dXNlcjpwYXNz", "Bearer "):
            refused = call(client, method, url, {"Authorization": bad})
            assert refused.status_code == 401, (method, url, bad, refused.status_code)


def test_every_workspace_page_needs_a_signed_in_user(app: Flask) -> None:
    client = app.test_client()
    csrf = csrf_header(client)
    pages = [(rule, method) for rule, method in operations(app) if is_admin(rule.endpoint, method)]
    assert len(pages) >= 15
    for rule, method in pages:
        url = url_for_rule(rule)
        response = call(client, method, url, csrf if method != "GET" else None)
        if method == "GET":
            assert response.status_code == 302, (url, response.status_code)
            assert response.headers["Location"].startswith("/admin/login"), url
        else:
            assert response.status_code in (401, 403), (method, url, response.status_code)


def test_workspace_roles_are_enforced_per_view(app: Flask) -> None:
    with Session(app.extensions["c2m.engine"]) as session:
        create_user(session, "viewer@example.com", "correct horse battery staple", "viewer")
        session.commit()
    client = app.test_client()
    csrf = csrf_header(client)
    signed_in = client.post(
        "/admin/login",
        data={"email": "viewer@example.com", "password": "correct horse battery staple"},
        headers=csrf,
    )
    assert signed_in.status_code in (302, 303)
    restricted = [
        (rule, method)
        for rule, method in operations(app)
        if is_admin(rule.endpoint, method)
        and getattr(app.view_functions[rule.endpoint], "_c2m_role", "viewer") != "viewer"
    ]
    assert restricted, "some workspace views need the editor or admin role"
    for rule, method in restricted:
        response = call(client, method, url_for_rule(rule), csrf if method != "GET" else None)
        assert response.status_code == 403, (method, rule.rule, response.status_code)


@pytest.mark.parametrize(
    "url",
    ["/", "/p/wuhan-bikes/city-ebike", "/p/foshan-wardrobes/modular-wardrobe", "/admin/login", "/api/v1/products"],
)
def test_security_headers_on_every_kind_of_page(client: Any, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'"
    assert "'unsafe-inline'" not in directives.get("style-src", "")
    assert directives["object-src"] == "'none'"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP
    assert len(response.headers["X-Request-Id"]) == 32


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style[\s>]", re.IGNORECASE)


def storefront_pages(client: Any) -> dict[str, str]:
    """Every kind of storefront page a buyer sees, rendered."""
    pages = {url: client.get(url).get_data(as_text=True) for url in ("/", "/p/wuhan-bikes/city-ebike")}
    csrf = csrf_header(client)
    for catalog, product in (("wuhan-bikes", "city-ebike"), ("foshan-wardrobes", "modular-wardrobe")):
        started = client.post(f"/p/{catalog}/{product}/configure", headers=csrf, follow_redirects=False)
        assert started.status_code in (302, 303), started.status_code
        configure = started.headers["Location"]
        pages[configure] = client.get(configure).get_data(as_text=True)
        pages[configure + "?lang=zh_CN"] = client.get(configure + "?lang=zh_CN").get_data(as_text=True)
        summary = configure.rstrip("/") + "/summary"
        pages[summary] = client.get(summary).get_data(as_text=True)
    return pages


def test_rendered_storefront_pages_carry_no_inline_script_or_style(client: Any) -> None:
    pages = storefront_pages(client)
    assert len(pages) >= 6
    for url, html in pages.items():
        assert "<html" in html, url
        assert not INLINE_SCRIPT.search(html), url
        assert not INLINE_HANDLER.search(html), url
        assert not STYLE_ELEMENT.search(html), url
        assert not STYLE_ATTRIBUTE.search(html), url
        assert "javascript:" not in html.lower(), url


def test_api_docs_allow_only_their_own_inline_script_by_hash(client: Any) -> None:
    from web.security import inline_script_hashes

    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    hashes = inline_script_hashes(response.get_data())
    assert len(hashes) == 1
    assert f"script-src 'self' {hashes[0]};" in csp
    assert "frame-ancestors 'none'" in csp


def test_hsts_only_over_https_from_a_trusted_proxy(make_app: Callable[..., Flask]) -> None:
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    untrusting = make_app().test_client()
    assert "Strict-Transport-Security" not in untrusting.get("/healthz", headers=forwarded).headers
    behind_proxy = make_app(TRUSTED_PROXIES=1).test_client()
    response = behind_proxy.get("/healthz", headers=forwarded)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Strict-Transport-Security" not in behind_proxy.get("/healthz").headers
    direct_https = make_app().test_client()
    assert "Strict-Transport-Security" in direct_https.get("/healthz", base_url="https://localhost").headers


def test_request_id_is_echoed_when_sane_and_replaced_when_not(client: Any) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "lb-42.a_b:c"}).headers["X-Request-Id"] == "lb-42.a_b:c"
    forged = client.get("/healthz", headers={"X-Request-Id": 'x" {"level":"error"}'}).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", forged)


def session_cookie(response: Any) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert cookies, response.headers
    return cookies[0]


@pytest.mark.parametrize(
    ("overrides", "secure"),
    [({}, False), ({"SECURE_COOKIES": True}, True), ({"PRODUCTION": True}, True)],
    ids=["development", "secure-cookies", "production"],
)
def test_session_cookie_flags(make_app: Callable[..., Flask], overrides: dict[str, Any], secure: bool) -> None:
    client = make_app(**overrides).test_client()
    cookie = session_cookie(client.get("/p/wuhan-bikes/city-ebike"))  # the CSRF token lives in the session
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert ("secure" in attributes) is secure


def test_production_refuses_to_start_without_a_secret_key(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from web import create_app
    from web.security import InsecureConfiguration

    monkeypatch.delenv("C2M_SECRET_KEY", raising=False)
    monkeypatch.setenv("C2M_PRODUCTION", "1")
    monkeypatch.setenv("C2M_DATABASE_URL", db_url)
    with pytest.raises(InsecureConfiguration, match="C2M_SECRET_KEY"):
        create_app()
    monkeypatch.setenv("C2M_SECRET_KEY", "k" * 64)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app.extensions["c2m.engine"].dispose()


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"C2M_DATABASE_URL": "postgresql+psycopg://db/c2m"}, [], "C2M_SECRET_KEY"),
        ({"C2M_SECRET_KEY": "k"}, [], "C2M_DATABASE_URL"),
        ({"C2M_SECRET_KEY": "k", "C2M_DATABASE_URL": "sqlite:////tmp/x.sqlite"}, [], "--allow-sqlite"),
        ({"C2M_SECRET_KEY": "k", "C2M_DATABASE_URL": "postgresql+psycopg://db/c2m"}, ["--demo"], "--demo"),
    ],
)
def test_serve_production_refuses_unsafe_settings(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], args: list[str], message: str
) -> None:
    from click.testing import CliRunner

    from web.cli import main

    for name in ("C2M_SECRET_KEY", "C2M_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, ["serve", "--production", *args], env=env)
    assert result.exit_code == 2
    assert message in result.output


def test_no_template_carries_inline_script_or_event_handlers() -> None:
    """The CSP forbids inline script everywhere (the workspace included): templates must not need it."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "web"
    templates = [p for p in root.rglob("templates/**/*") if p.suffix in (".html", ".svg", ".xml")]
    assert len(templates) >= 20
    for path in templates:
        source = path.read_text(encoding="utf-8")
        assert not INLINE_SCRIPT.search(source), path
        assert not INLINE_HANDLER.search(source), path
        assert "javascript:" not in source.lower(), path
