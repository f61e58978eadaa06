"""B2MML carries what a shop floor needs: the configuration on every segment, the operations
definition the order points to, and the item master; all validated against the ISA-95 schemas."""

from __future__ import annotations

import csv
import functools
import io
import json
import warnings
from typing import Any

import pytest
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy.orm import Session, sessionmaker

from usecases.catalogs import load_catalog

from .conftest import B2MML_DIR, BIKE, bearer, post_order

NS = {"b": "http://www.mesa.org/xml/B2MML"}
XML = "application/xml"


@functools.cache
def _schema(entry: str) -> Any:
    xmlschema = pytest.importorskip("xmlschema")
    path = B2MML_DIR / entry
    if not path.is_file():
        pytest.skip(f"../shared/b2mml not present: {path} is missing")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the shared folder leaves out unused BatchML includes
        return xmlschema.XMLSchema(str(path), validation="lax")


def _xml(data: bytes) -> Any:
    return etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False))


def _get(client: FlaskClient, url: str, token: str, accept: str = "application/json") -> Any:
    response = client.get(url, headers={**bearer(token), "Accept": accept})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def bike(client: FlaskClient, bike_order: dict[str, Any]) -> dict[str, Any]:
    return post_order(client, bike_order, "b2mml-bike").get_json()


def test_every_segment_requirement_carries_the_whole_configuration(
    client: FlaskClient, bike: dict[str, Any], tokens: dict[str, str], factory: sessionmaker[Session]
) -> None:
    number = bike["production_orders"][0]["number"]
    data = _get(client, f"/api/v1/production-orders/{number}", tokens["erp"], XML).data
    _schema("B2MML-OperationsSchedule.xsd").validate(data.decode("utf-8"))
    root = _xml(data)
    with factory() as session:
        product = load_catalog(session, BIKE[0]).product(BIKE[1])
    configuration = bike["configuration"]
    requirements = root.findall(".//b:SegmentRequirement", NS)
    assert requirements
    for requirement in requirements:
        parameters = {p.findtext("b:ID", namespaces=NS): p for p in requirement.findall("b:SegmentParameter", NS)}
        for attribute in product.attributes:
            p = parameters[attribute.code]
            value = configuration[attribute.code]
            expected = (
                ",".join(value) if isinstance(value, list) else str(value).lower() if isinstance(value, bool)
                else str(value)
            )
            assert p.findtext("b:Value/b:ValueString", namespaces=NS) == expected, attribute.code
            labels = {d.get("languageID"): d.text for d in p.findall("b:Description", NS)}
            assert labels["en"] == attribute.label.en
            if attribute.label.zh_CN and attribute.label.zh_CN != attribute.label.en:
                assert labels["zh-CN"] == attribute.label.zh_CN
            unit = p.find("b:Value/b:UnitOfMeasure", NS)
            if attribute.unit == "mm":
                assert (unit.text, unit.get("name"), unit.get("listID")) == ("MMT", "mm", "UNECERec20")
            choices = {c.code: c.label for c in attribute.choices}
            chosen = value if isinstance(value, list) else [value]
            children = {c.findtext("b:ID", namespaces=NS): c for c in p.findall("b:ParameterChild", NS)}
            for code in chosen:
                if str(code) in choices:
                    child = children[f"{attribute.code}={code}"]
                    assert child.findtext("b:Description", namespaces=NS) == choices[str(code)].en


def test_units_are_unece_codes_with_the_catalog_unit_as_name(
    client: FlaskClient, bike: dict[str, Any], tokens: dict[str, str]
) -> None:
    number = bike["production_orders"][0]["number"]
    root = _xml(_get(client, f"/api/v1/production-orders/{number}", tokens["erp"], XML).data)
    units = root.findall(".//b:MaterialRequirement/b:Quantity/b:UnitOfMeasure", NS)
    assert units
    for unit in units:
        if unit.get("listID") is not None:
            assert unit.get("listID") == "UNECERec20" and unit.get("listAgencyID") == "6"
            assert unit.get("name")  # the catalog's own unit is kept
    assert {u.text for u in units} >= {"H87"}


def test_the_operations_definition_the_order_points_to_can_be_fetched_and_validates(
    client: FlaskClient, bike: dict[str, Any], tokens: dict[str, str]
) -> None:
    number = bike["production_orders"][0]["number"]
    schedule = _xml(_get(client, f"/api/v1/production-orders/{number}", tokens["erp"], XML).data)
    definition_id = schedule.findtext(".//b:OperationsRequest/b:OperationsDefinitionID", namespaces=NS)
    url = f"/api/v1/production-orders/{number}/operations-definition"
    response = _get(client, url, tokens["erp"], XML)
    _schema("B2MML-OperationsDefinition.xsd").validate(response.data.decode("utf-8"))
    root = _xml(response.data)
    assert etree.QName(root).localname == "OperationsDefinitionInformation"
    assert root.findtext("b:OperationsDefinition/b:ID", namespaces=NS) == definition_id
    segment_ids = {s.findtext("b:ID", namespaces=NS) for s in root.findall(".//b:OperationsSegment", NS)}
    referenced = {r.findtext("b:OperationsSegmentID", namespaces=NS) for r in schedule.findall(".//b:SegmentRequirement", NS)}
    assert referenced <= segment_ids
    parameters = {p.findtext("b:ID", namespaces=NS) for p in root.findall(".//b:ParameterSpecification", NS)}
    assert set(bike["configuration"]) <= parameters
    as_json = _get(client, url, tokens["erp"]).get_json()
    assert as_json["format"] == "c2m-bom/1" and as_json["configuration"] == bike["configuration"]
    etag = response.headers["ETag"]
    cached = client.get(url, headers={**bearer(tokens["erp"]), "Accept": XML, "If-None-Match": f"W/{etag}"})
    assert cached.status_code == 304


def test_item_master_as_b2mml_json_and_csv(client: FlaskClient, tokens: dict[str, str], factory: sessionmaker[Session]) -> None:
    with factory() as session:
        catalog = load_catalog(session, BIKE[0]).catalog
    url = f"/api/v1/catalogs/{BIKE[0]}/item-master"
    data = _get(client, url, tokens["erp"], XML).data
    _schema("B2MML-Material.xsd").validate(data.decode("utf-8"))
    root = _xml(data)
    definitions = {d.findtext("b:ID", namespaces=NS): d for d in root.findall("b:MaterialDefinition", NS)}
    assert set(definitions) == {p.code for p in catalog.parts} | {m.code for m in catalog.modules}
    part = catalog.parts[0]
    props = {
        p.findtext("b:ID", namespaces=NS): p for p in definitions[part.code].findall("b:MaterialDefinitionProperty", NS)
    }
    assert props["UnitCost"].findtext("b:Value/b:ValueString", namespaces=NS) == format(part.cost.normalize(), "f")
    assert props["LeadTime"].findtext("b:Value/b:ValueString", namespaces=NS) == str(part.lead_time_days)
    assert props["UnitOfMeasure"].find("b:Value/b:UnitOfMeasure", NS).get("name") == part.uom

    body = _get(client, url, tokens["erp"]).get_json()
    assert body["format"] == "c2m-item-master/1" and body["currency"] == catalog.currency
    by_code = {i["code"]: i for i in body["items"]}
    assert by_code[part.code]["unit"] == part.uom and by_code[part.code]["lead_time_days"] == part.lead_time_days
    assert all(i["unit_cost"] is None for i in body["items"] if i["kind"] == "module")

    text = _get(client, url, tokens["erp"], "text/csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["code"] for r in rows} == set(by_code)
    assert json.loads(json.dumps(rows[0]))["unit_code"] in ("H87", "MTR", "MMT", "KGM", "SET", "")


def test_item_master_of_an_unknown_catalog_or_version_is_404(client: FlaskClient, tokens: dict[str, str]) -> None:
    for url in ("/api/v1/catalogs/nope/item-master", f"/api/v1/catalogs/{BIKE[0]}/item-master?version=999"):
        response = client.get(url, headers=bearer(tokens["erp"]))
        assert response.status_code == 404 and response.mimetype == "application/problem+json", url
