"""A catalog that would take the service down is refused before anything is stored, with 422
naming the product, the attribute and the limit; the rest of the service keeps serving."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask.testing import FlaskClient

from tests.faults.test_model_too_large import oversized_catalog
from tests.security.conftest import BIKE

POISON_RANGE = """format: c2m-catalog/1
code: poison
name: Poison
currency: CNY
products:
  - code: p
    name: P
    base_price: "1"
    attributes:
      - {code: n, name: N, type: int, min: 0, max: 999999, default: 0}
"""


def click(client: FlaskClient) -> tuple[int, float]:
    started = time.perf_counter()
    response = client.post("/api/v1/configurations", json={"product": BIKE[1], "catalog": BIKE[0]})
    return response.status_code, time.perf_counter() - started


def versions_of(client: FlaskClient, code: str) -> int:
    listed = client.get("/api/v1/catalogs").get_json()
    return sum(len(c["versions"]) for c in listed if c["code"] == code)


def test_the_314_byte_poison_catalog_is_refused_with_its_position(
    client: FlaskClient, token: Callable[..., dict[str, str]]
) -> None:
    headers = {**token("catalog:write"), "Content-Type": "application/yaml"}
    response = client.post("/api/v1/catalogs?publish=true", data=POISON_RANGE, headers=headers)
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["reason"] == "catalog_invalid"
    assert any(e.startswith("upload.yaml:10:9:") and "'n' offers 1,000,000 values" in e for e in problem["errors"])
    assert versions_of(client, "poison") == 0
    assert client.get("/healthz").status_code == 200


def test_a_model_over_the_compile_budget_is_refused_before_it_is_stored(
    make_app: Callable[..., object], token: Callable[..., dict[str, str]]
) -> None:
    app = make_app(COMPILE_BUDGET_S=2.0)
    client = app.test_client()  # type: ignore[attr-defined]
    assert click(client)[0] == 201
    text = oversized_catalog("oversized")
    started = time.perf_counter()
    headers = {**token("catalog:write"), "Content-Type": "application/yaml"}
    response = client.post("/api/v1/catalogs?publish=true", data=text, headers=headers)
    elapsed = time.perf_counter() - started
    assert response.status_code == 422, response.get_json()
    problem = response.get_json()
    assert problem["reason"] == "catalog_too_complex"
    assert problem["product"] == "huge" and problem["attribute"].startswith("a") and problem["limit"]
    assert "'huge'" in problem["detail"]
    assert elapsed < 30
    assert versions_of(client, "oversized") == 0  # nothing stored, so no buyer can ever compile it
    # The rest keeps serving, fast.
    started = time.perf_counter()
    assert client.get("/healthz").status_code == 200
    assert time.perf_counter() - started < 1.0
    status, seconds = click(client)
    assert status == 201 and seconds < 2.0


def test_publishing_a_draft_runs_the_compile_check_too(
    make_app: Callable[..., object], token: Callable[..., dict[str, str]]
) -> None:
    generous = make_app(COMPILE_BUDGET_S=2.0, COMPILE_NODE_BUDGET=10_000_000, SOLVER_BACKEND="mdd")
    client = generous.test_client()  # type: ignore[attr-defined]
    text = oversized_catalog("drafted").replace(
        "  - code: huge", "  - code: huge-unused\n    name: X\n    base_price: '1'\n  - code: skip"
    )
    # Store a draft with the medium product only (compiles), then publish under a tiny node budget.
    medium_only = text.split("  - code: skip")[0]
    headers = {**token("catalog:write"), "Content-Type": "application/yaml"}
    stored = client.post("/api/v1/catalogs", data=medium_only, headers=headers)
    assert stored.status_code == 201, stored.get_json()
    strict = make_app(COMPILE_NODE_BUDGET=40, SOLVER_BACKEND="mdd")
    strict_client = strict.test_client()  # type: ignore[attr-defined]
    number = stored.get_json()["number"]
    published = strict_client.post(
        f"/api/v1/catalogs/drafted/versions/{number}/publish", json={}, headers={"Authorization": headers["Authorization"]}
    )
    assert published.status_code == 422, published.get_json()
    assert published.get_json()["product"] == "medium"
    assert "node budget of 40" in published.get_json()["limit"]
