"""The semantic diff in the workspace's diff page and the API, with the order that a new version breaks."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.admin.conftest import BOXES, csrf_token
from web.auth import create_token

# v2 drops large boxes without a lid... and the lid itself: the placed order (large, lid, 200 mm) is not valid any more.
V2 = BOXES.replace('base_price: "10.00"', 'base_price: "12.00"').replace(
    "      - {id: large-needs-lid, rule: size == large -> lid, message: Large boxes need a lid.}\n",
    "      - {id: large-needs-lid, rule: size == large -> lid, message: Large boxes need a lid.}\n"
    "      - {id: no-wide-large, rule: size == large -> width <= 100, message: Large boxes are narrow.}\n",
)


def upload_draft(client: FlaskClient) -> None:
    response = client.post(
        "/admin/upload",
        data={"csrf_token": csrf_token(client), "file": (io.BytesIO(V2.encode()), "boxes.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]


def test_workspace_diff_shows_counts_examples_prices_and_broken_orders(editor: FlaskClient) -> None:
    upload_draft(editor)
    html = editor.get("/admin/catalogs/boxes/diff").get_data(as_text=True)
    # v1: small x lid x 3 widths = 6, large needs a lid: 3 -> 9; v2: large only 100 mm -> 7.
    row = re.search(r'<tr id="semantic-box"[^>]*>(.*?)</tr>', html, re.S)
    assert row is not None
    cells = re.findall(r"<td>([\d,]+)</td>", row.group(1))
    assert cells == ["9", "7", "7", "2", "0"]
    assert "breaks rule no-wide-large of v2" in html
    assert "+2.00" in html  # base price 10 -> 12
    assert re.search(r"0 of 0 saved configurations and\s+1 of 1 open orders are not valid", html)


def test_api_diff_between_the_version_in_force_and_the_draft(app: Flask, editor: FlaskClient) -> None:
    upload_draft(editor)
    with Session(app.extensions["c2m.engine"]) as session:
        _row, secret = create_token(session, "ci", ["catalog:write"])
        session.commit()
    client = app.test_client()
    response = client.get("/api/v1/catalogs/boxes/diff", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["a"], body["b"]) == ("boxes@1", "boxes@2")
    (box,) = body["products"]
    assert (box["configurations_a"], box["configurations_b"], box["in_both"]) == (9, 7, 7)
    assert box["example_only_in_a"]["configuration"]["size"] == "large"
    assert body["affected"]["orders"][0]["reasons"] == ["breaks rule no-wide-large of B"]
    bad = client.get("/api/v1/catalogs/boxes/diff?from=x", headers={"Authorization": f"Bearer {secret}"})
    assert bad.status_code == 400 and bad.get_json()["reason"] == "bad_request"
    assert client.get("/api/v1/catalogs/boxes/diff").status_code == 401


BROKEN_BOXES = BOXES.replace(
    "      - {id: small-ok, set: {size: small}, expect: accept}\n",
    "      - {id: small-ok, set: {size: small}, expect: accept}\n"
    "      - {id: large-no-lid-ok, set: {size: large, lid: false}, expect: accept}\n",
)


def test_workspace_publish_blocks_on_errors_and_admins_can_skip_with_a_reason(
    login: Callable[[str], FlaskClient],
) -> None:
    editor = login("editor")
    response = editor.post(
        "/admin/upload",
        data={"csrf_token": csrf_token(editor), "file": (io.BytesIO(BROKEN_BOXES.encode()), "boxes.yaml")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    refused = editor.post("/admin/catalogs/boxes/versions/2/publish", data={"csrf_token": csrf_token(editor)})
    assert refused.status_code == 409
    assert "large-no-lid-ok" in refused.get_data(as_text=True)
    # An editor's "skip" is ignored: only admins may publish without checks.
    ignored = editor.post(
        "/admin/catalogs/boxes/versions/2/publish",
        data={"csrf_token": csrf_token(editor), "skip_checks": "on", "skip_reason": "urgent"},
    )
    assert ignored.status_code == 409
    admin = login("admin")
    forced = admin.post(
        "/admin/catalogs/boxes/versions/2/publish",
        data={"csrf_token": csrf_token(admin), "skip_checks": "on", "skip_reason": "price list due today"},
    )
    assert forced.status_code == 303
    html = admin.get("/admin/catalogs/boxes").get_data(as_text=True)
    assert "skipped by workspace:admin@example.com: price list due today" in html
