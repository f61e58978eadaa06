"""The buyer's storefront: product list, product pages, the configurator, summary, orders.

Every page works without JavaScript (forms POST, the server redirects, the
browser GETs the page again). With htmx the same form endpoints answer a
request carrying ``HX-Request`` with the configure panel only, which htmx
swaps in place; the views share one function per action and differ only in
how they respond (:func:`web.storefront.views.respond`).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("storefront", __name__, url_prefix="", template_folder="templates")

from web.storefront import views  # noqa: E402,F401  (registers the routes on bp)
