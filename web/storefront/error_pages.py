"""Styled HTML error pages (English and 简体中文) for browsers; API clients keep problem+json.

:func:`error_page` is what the application's error handlers return for a page request:
a page in the site's layout that says what happened in the buyer's language, without
internal details (those go to the log).
"""

from __future__ import annotations

from flask import render_template
from werkzeug.wrappers import Response

from web.storefront import bp

SHOWN = (400, 403, 404, 405, 410, 422, 429, 500)


def error_page(status: int, headers: dict[str, str] | None = None) -> Response:
    """The styled page for ``status`` (statuses without their own text read as 500's)."""
    from flask import current_app

    html = render_template("storefront/error.html", status=status if status in SHOWN else 500)
    response = current_app.response_class(html, status=status, mimetype="text/html")
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


__all__ = ["SHOWN", "bp", "error_page"]
