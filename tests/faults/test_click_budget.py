"""A click that cannot finish within the per-click budget answers 503 click_budget, and the worker
keeps serving (the deadline is checked between the engine's passes; no thread is killed)."""

from __future__ import annotations

from tests.faults.test_model_too_large import app_with_catalog, configure


def test_a_click_over_the_budget_is_a_clear_problem_and_the_worker_keeps_serving(db_url: str) -> None:
    app, code = app_with_catalog(db_url, SOLVER_BACKEND="mdd", CLICK_BUDGET_MS=1e-6)
    client = app.test_client()
    try:
        status, problem, _ = configure(client, code, "medium")
        assert status == 503, problem
        assert problem["reason"] == "click_budget"
        assert "medium" in problem["detail"] and "budget" in problem["detail"]
        assert client.get("/readyz").status_code == 200
        # The same worker, with a generous budget, answers the same click in full.
        app.config["CLICK_BUDGET_MS"] = 60_000
        status, doc, _ = configure(client, code, "medium")
        assert status == 201, doc
        assert doc["state"]["count"] > 0
    finally:
        app.extensions["c2m.engine"].dispose()

