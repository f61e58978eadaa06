"""The manufacturer's workspace at ``/admin/``: accounts, catalog authoring, checks, test bench,
publishing, and order and production follow-up. Every page needs a signed-in user (see
``web.accounts`` for roles)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "admin",
    __name__,
    url_prefix="/admin",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

from web.admin import findings, views  # noqa: E402,F401  (registers the routes and filters on bp)
