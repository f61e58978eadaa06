"""A product whose model is too large fails clearly within the compile budget, and the service
keeps serving every other product (the failure is remembered, not recompiled per request)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from catalog.files import load_catalog_text
from catalog.services import import_catalog
from configurator.rules.catalog_check import expression_checker
from web import create_app

BUDGET_S = 2.0


def oversized_catalog(code: str) -> str:
    """A shop with a tiny product, a medium one (a sum over 6 digits) and a huge one (a sum over
    14 numbers 0..60: about 10^25 combinations in one rule)."""
    huge = "\n".join(
        f"      - {{code: a{i}, name: A{i}, type: int, min: 0, max: 60, step: 1, default: 0}}" for i in range(14)
    )
    medium = "\n".join(
        f"      - {{code: d{i}, name: D{i}, type: int, min: 0, max: 9, step: 1, default: 0}}" for i in range(6)
    )
    return f"""format: c2m-catalog/1
code: {code}
name: Oversized shop {uuid.uuid4().hex}
currency: CNY
products:
  - code: tiny
    name: Tiny
    base_price: "1.00"
    attributes:
      - {{code: lid, name: Lid, type: bool, default: false}}
  - code: medium
    name: Medium
    base_price: "1.00"
    attributes:
{medium}
    rules:
      - {{id: digits, rule: "{' + '.join(f'd{i}' for i in range(6))} == 27", message: The digits sum to 27.}}
  - code: huge
    name: Huge
    base_price: "1.00"
    attributes:
{huge}
    rules:
      - {{id: total, rule: "{' + '.join(f'a{i}' for i in range(14))} == 300", message: The numbers sum to 300.}}
"""


def app_with_catalog(db_url: str, **config: Any) -> tuple[Flask, str]:
    code = f"oversized-{uuid.uuid4().hex[:8]}"  # new content, so no process-wide cache has it yet
    app = create_app(
        {"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "t", "RATELIMIT_ENABLED": False,
         "COMPILE_BUDGET_S": BUDGET_S, **config}
    )
    catalog = load_catalog_text(oversized_catalog(code), format="yaml", expression_checker=expression_checker)
    with Session(app.extensions["c2m.engine"]) as session:
        import_catalog(session, catalog, publish=True)
        session.commit()
    return app, code


def configure(client: Any, code: str, product: str) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    response = client.post("/api/v1/configurations", json={"product": product, "catalog": code})
    return response.status_code, response.get_json(), time.monotonic() - started


@pytest.mark.parametrize("backend", ["auto", "mdd"])
def test_a_model_too_large_fails_clearly_and_the_rest_keeps_working(db_url: str, backend: str) -> None:
    app, code = app_with_catalog(db_url, SOLVER_BACKEND=backend)
    client = app.test_client()
    try:
        status, problem, elapsed = configure(client, code, "huge")
        assert status == 503, problem
        assert problem["reason"] == "model_too_large"
        assert "huge" in problem["detail"] and "budget" in problem["detail"]
        assert elapsed < BUDGET_S + 10  # within the budget (plus slack for a loaded machine)
        again_status, _again, again_elapsed = configure(client, code, "huge")
        assert again_status == 503 and again_elapsed < 1.0  # remembered, not compiled again
        for product in ("tiny", "medium"):
            assert configure(client, code, product)[0] == 201, product
        assert configure(client, "wuhan-bikes", "city-ebike")[0] == 201
        assert client.get("/readyz").status_code == 200
        # The storefront shows the failure as a page, not a crash.
        page = client.get(f"/p/{code}/huge")
        assert page.status_code == 503
    finally:
        app.extensions["c2m.engine"].dispose()


def test_the_node_budget_bounds_the_decision_diagram(db_url: str) -> None:
    strict, code = app_with_catalog(db_url, SOLVER_BACKEND="mdd", COMPILE_NODE_BUDGET=40)
    try:
        status, problem, _ = configure(strict.test_client(), code, "medium")
        assert status == 503 and "node budget" in problem["detail"], problem
        assert configure(strict.test_client(), code, "tiny")[0] == 201
    finally:
        strict.extensions["c2m.engine"].dispose()
    # With "auto" the same budget falls back to the SAT backend: slower queries, but it serves.
    fallback, code = app_with_catalog(db_url, SOLVER_BACKEND="auto", COMPILE_NODE_BUDGET=40)
    try:
        status, doc, _ = configure(fallback.test_client(), code, "medium")
        assert status == 201, doc
        assert doc["state"]["count"] > 0
    finally:
        fallback.extensions["c2m.engine"].dispose()
