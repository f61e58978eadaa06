"""HTTP hardening: security headers, cookie flags, proxy trust, production start-up checks.

Every response gets

- ``Content-Security-Policy``: scripts and styles only from this origin, no
  inline script or style (the storefront and its ``store.js`` need none:
  htmx is configured in a ``<meta>`` tag with its inline indicator styles and
  ``eval`` switched off), no plugins, no ``<base>`` rewriting, forms post only
  here, and ``frame-ancestors 'none'`` (no clickjacking). Two pages relax it,
  narrowly: the Swagger UI page (its fixed template has one inline bootstrap
  script, allowed by its SHA-256 hash, computed from the served bytes of that
  endpoint only, and React sets inline styles), and the workspace under
  ``/admin``, whose templates indent trees with ``style`` attributes
  (``style-src-attr``; ``<style>`` elements stay forbidden);
- ``X-Content-Type-Options: nosniff``, ``Referrer-Policy:
  strict-origin-when-cross-origin``, ``X-Frame-Options: DENY`` (for browsers
  without CSP level 2), ``Cross-Origin-Opener-Policy: same-origin``,
  ``Permissions-Policy`` switching off sensors the shop never uses;
- ``Strict-Transport-Security`` only when the request came over HTTPS (directly,
  or per ``X-Forwarded-Proto`` from a trusted proxy): sent over plain HTTP it
  would be ignored at best and lock a misconfigured site out at worst.

Proxies: with ``TRUSTED_PROXIES = n`` (``C2M_TRUSTED_PROXIES``) the app trusts
the last ``n`` hops of ``X-Forwarded-For/-Proto/-Host/-Port`` (werkzeug's
ProxyFix); with 0 (the default) it trusts none, so a client cannot spoof its
address for rate limits or pretend to be on HTTPS.

Cookies are HttpOnly and SameSite=Lax always; ``Secure`` when
``SECURE_COOKIES`` (``C2M_SECURE_COOKIES=1``) or ``PRODUCTION`` is on.
In production the app refuses to start without ``C2M_SECRET_KEY`` (a key made
up per process would sign cookies other workers reject).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

__all__ = [
    "ADMIN_POLICY",
    "BASE_POLICY",
    "HSTS",
    "InsecureConfiguration",
    "content_security_policy",
    "init_app",
    "inline_script_hashes",
]

BASE_POLICY: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
"""The policy of every page unless a narrower exception below applies."""

ADMIN_POLICY: dict[str, str] = {**BASE_POLICY, "style-src-attr": "'unsafe-inline'"}
"""The workspace: ``style`` attributes (tree indentation, Gantt bars) are allowed, nothing else."""

DOCS_ENDPOINTS = frozenset({"api-docs.openapi_swagger_ui"})
"""Endpoints whose fixed templates carry an inline bootstrap script (allowed by hash)."""

HSTS = "max-age=31536000; includeSubDomains"

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


class InsecureConfiguration(RuntimeError):
    """The application was asked to run in production with an unsafe setting."""

    reason = "insecure_configuration"


def content_security_policy(directives: dict[str, str]) -> str:
    """The header value of ``directives``.

    >>> content_security_policy({"default-src": "'self'", "frame-ancestors": "'none'"})
    "default-src 'self'; frame-ancestors 'none'"
    """
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def inline_script_hashes(html: bytes) -> list[str]:
    """CSP source expressions (``'sha256-...'``) of the inline ``<script>`` elements of ``html``.

    >>> inline_script_hashes(b'<script src="a.js"></script><script>go()</script>')
    ["'sha256-5KYv+PUboo5h+0+YAtGRPbwv5d/QxzHslP4YGnUaxRw='"]
    """
    out = []
    for match in _INLINE_SCRIPT.finditer(html):
        digest = base64.b64encode(hashlib.sha256(match.group(1)).digest()).decode("ascii")
        out.append(f"'sha256-{digest}'")
    return out


def _policy_for(response: Response) -> str:
    if request.endpoint in DOCS_ENDPOINTS and response.mimetype == "text/html" and not response.direct_passthrough:
        hashes = " ".join(inline_script_hashes(response.get_data()))
        return content_security_policy(
            {**BASE_POLICY, "script-src": f"'self' {hashes}".strip(), "style-src": "'self' 'unsafe-inline'"}
        )
    if request.path.startswith("/admin"):
        return content_security_policy(ADMIN_POLICY)
    return content_security_policy(BASE_POLICY)


def _headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _policy_for(response))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if (request.path.startswith("/admin") and request.endpoint != "admin.static") or response.status_code in (401, 403):
        # Workspace pages show orders, customers and drafts: never keep them in a shared or back-button cache.
        headers["Cache-Control"] = "no-store"
        headers.setdefault("Pragma", "no-cache")
    if response.status_code == 401 and "WWW-Authenticate" not in headers:
        if request.path.startswith("/api/"):
            headers["WWW-Authenticate"] = 'Bearer realm="c2m"'
        else:
            headers["WWW-Authenticate"] = 'FormBased realm="c2m workspace", login="/admin/login"'
    return response


def check_production(config: dict[str, Any] | Any) -> None:
    """Refuse unsafe settings when ``PRODUCTION`` is on.

    :raise InsecureConfiguration: no ``C2M_SECRET_KEY`` (the key is the one made up at start).
    """
    if not config.get("PRODUCTION"):
        return
    generated = config.get("GENERATED_SECRET_KEY")
    if not config.get("SECRET_KEY") or (generated is not None and config.get("SECRET_KEY") == generated):
        raise InsecureConfiguration(
            "production mode needs C2M_SECRET_KEY (e.g. python -c 'import secrets; print(secrets.token_hex(32))'): "
            "a key made up per process would make every worker reject the others' session cookies"
        )


def init_app(app: Flask) -> None:
    """Install the proxy trust, the cookie flags and the header hook on ``app``."""
    check_production(app.config)
    secure = bool(app.config.get("SECURE_COOKIES") or app.config.get("PRODUCTION"))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config.setdefault("REMEMBER_COOKIE_SAMESITE", "Lax")
    if secure:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )
    app.after_request(_headers)
