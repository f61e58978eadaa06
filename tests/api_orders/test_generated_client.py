"""A client generated from the OpenAPI document with openapi-python-client drives every ERP operation.

The generator runs on ``/api/v1/openapi.json`` in the test; the generated
package talks to the app through httpx's WSGI transport. Every answer must
parse into the generated model, and dumping that model again must give the
very JSON the server sent: a field the document does not declare (dropped by
the model), a missing one or a wrong type fails. Undocumented status codes
raise (``raise_on_unexpected_status``).
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from .conftest import post_order

httpx = pytest.importorskip("httpx", reason="httpx comes with the openapi-python-client test extra")
GENERATOR = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent)) or shutil.which(
    "openapi-python-client"
)

LARGE = [{"attribute": "size", "value": "large"}, {"attribute": "lid", "value": True}, {"attribute": "width", "value": 200}]


@pytest.fixture
def generated(tmp_path: Path, client: FlaskClient) -> Any:
    """The generated client package (module ``c2m_client``), imported from ``tmp_path``."""
    if GENERATOR is None:
        pytest.skip("openapi-python-client is not installed (pip install -e '.[test]')")
    spec = tmp_path / "openapi.json"
    spec.write_text(json.dumps(client.get("/api/v1/openapi.json").get_json()), encoding="utf-8")
    run = subprocess.run(  # noqa: S603 - our own generator, our own document
        [GENERATOR, "generate", "--path", str(spec), "--meta", "none", "--output-path", str(tmp_path / "c2m_client")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        for name in [m for m in sys.modules if m == "c2m_client" or m.startswith("c2m_client.")]:
            del sys.modules[name]
        yield importlib.import_module("c2m_client")
    finally:
        sys.path.remove(str(tmp_path))


def _client(generated: Any, app: Flask, token: str) -> Any:
    api = generated.AuthenticatedClient(base_url="http://c2m.test", token=token, raise_on_unexpected_status=True)
    api.set_httpx_client(
        httpx.Client(
            transport=httpx.WSGITransport(app=app),
            base_url="http://c2m.test",
            headers={"Authorization": f"Bearer {token}"},
        )
    )
    return api


def _same(response: Any) -> Any:
    """The parsed model, checked to dump back to exactly the JSON received."""
    assert response.parsed is not None, (response.status_code, response.content[:300])
    assert response.parsed.to_dict() == json.loads(response.content), "the model lost or changed fields"
    return response.parsed


def test_the_generated_client_calls_every_erp_operation(
    generated: Any, app: Flask, client: FlaskClient, tokens: dict[str, str]
) -> None:
    from_module = importlib.import_module
    erp = _client(generated, app, tokens["erp"])
    erp_write = _client(generated, app, tokens["erp_write"])
    hooks = _client(generated, app, tokens["hooks"])
    body = {"catalog": "tiny-shop", "product": "box", "decisions": LARGE, "purchase_order_ref": "PO-9"}
    numbers = [post_order(client, {**body, "quantity": q}, str(uuid.uuid4())).get_json() for q in (1, 2, 3)]
    order_number = numbers[0]["number"]
    pos = [n["production_orders"][0]["number"] for n in numbers]

    orders = from_module("c2m_client.api.orders")
    erp_api = from_module("c2m_client.api.erp")
    events = from_module("c2m_client.api.events")
    master = from_module("c2m_client.api.master_data")
    webhooks = from_module("c2m_client.api.webhooks")

    listed = _same(from_module(f"{orders.__name__}.list_orders").sync_detailed(client=erp, limit=2))
    assert [o.number for o in listed.items] == [numbers[0]["number"], numbers[1]["number"]]
    assert listed.items[0].price.lines[0].label.zh_cn == "Large"
    page = from_module(f"{erp_api.__name__}.list_production_orders").sync_detailed(client=erp, limit=10)
    assert len(_same(page).items) == 3
    again = from_module(f"{erp_api.__name__}.list_production_orders").sync_detailed(
        client=erp, limit=10, if_none_match=page.headers["etag"]
    )
    assert again.status_code == 304
    one = _same(from_module(f"{orders.__name__}.get_order").sync_detailed(order_number, client=erp))
    assert one.purchase_order_ref == "PO-9"
    document = _same(from_module(f"{erp_api.__name__}.get_production_order").sync_detailed(pos[0], client=erp))
    assert document.configuration.to_dict() == {"lid": True, "size": "large", "width": 200}
    bom = _same(from_module(f"{erp_api.__name__}.get_operations_definition").sync_detailed(pos[0], client=erp))
    assert bom.product == "box"
    items = _same(from_module(f"{master.__name__}.get_item_master").sync_detailed("tiny-shop", client=erp))
    assert {i.code: i.unit_code for i in items.items} == {"BOX-L": "H87", "BOX-S": "H87"}

    module = from_module("c2m_client.models")
    acknowledged = _same(
        from_module(f"{erp_api.__name__}.acknowledge_production_order").sync_detailed(
            pos[0], client=erp_write, body=module.ErpAction(erp_reference="1000123")
        )
    )
    assert acknowledged.status == "acknowledged" and acknowledged.erp_reference == "1000123"
    started = from_module(f"{erp_api.__name__}.start_production_order").sync_detailed(pos[0], client=erp_write)
    assert _same(started).status == "in_production"
    shipped = from_module(f"{erp_api.__name__}.ship_production_order").sync_detailed(
        pos[0], client=erp_write, body=module.Ship(shipment_reference="SF-1")
    )
    assert _same(shipped).shipment_reference == "SF-1"
    rejected = from_module(f"{erp_api.__name__}.reject_production_order").sync_detailed(
        pos[1], client=erp_write, body=module.StatusReason(reason="no large boxes this month")
    )
    assert _same(rejected).order_status == "rejected"
    cancelled = from_module(f"{erp_api.__name__}.cancel_production_order").sync_detailed(
        pos[2], client=erp_write, body=module.StatusReason(reason="buyer withdrew")
    )
    assert _same(cancelled).status == "cancelled"
    refused = from_module(f"{erp_api.__name__}.cancel_production_order").sync_detailed(
        pos[0], client=erp_write, body=module.StatusReason(reason="too late")
    )
    assert refused.status_code == 409 and _same(refused).reason == "invalid_transition"

    feed = _same(from_module(f"{events.__name__}.list_events").sync_detailed(client=erp, after=0, limit=100))
    assert [e.sequence for e in feed.items] == list(range(1, len(feed.items) + 1))

    created = _same(
        from_module(f"{webhooks.__name__}.create_webhook").sync_detailed(
            client=hooks, body=module.WebhookCreate(url="https://erp.example.com/c2m")
        )
    )
    assert created.secret.startswith("whsec_")
    assert len(_same(from_module(f"{webhooks.__name__}.list_webhooks").sync_detailed(client=hooks)).items) == 1
    assert _same(from_module(f"{webhooks.__name__}.get_webhook").sync_detailed(created.id, client=hooks)).active
    rotated = _same(from_module(f"{webhooks.__name__}.rotate_webhook_secret").sync_detailed(created.id, client=hooks))
    assert rotated.secret != created.secret
    disabled = _same(from_module(f"{webhooks.__name__}.disable_webhook").sync_detailed(created.id, client=hooks))
    assert disabled.active is False
    assert _same(from_module(f"{webhooks.__name__}.enable_webhook").sync_detailed(created.id, client=hooks)).active
    _same(from_module(f"{webhooks.__name__}.list_webhook_deliveries").sync_detailed(created.id, client=hooks))
