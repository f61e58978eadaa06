"""Values filled by "Finish for me" are labelled as such, never as the buyer's choice, and stay changeable."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.storefront.conftest import start
from tests.storefront.test_storefront import choose, decisions_of, post
from usecases import configurations as configs
from web import database

LABELS = {"en": ("filled by “Finish for me”", "your choice"), "zh_CN": ("由“帮我选完”填写", "您的选择")}


def _badges(html: str) -> list[str]:
    return re.findall(r'<span class="badge badge-([\w-]+)">([^<]*)</span>', html)


@pytest.mark.parametrize("lang", ["en", "zh_CN"])
def test_after_finish_for_me_the_filled_values_say_so_and_the_buyers_own_choice_says_hers(
    demo_app: Flask, client: FlaskClient, lang: str
) -> None:
    config = start(client)
    choose(client, config, "child_seat", "true")
    post(client, f"{config}/complete", objective="defaults")
    stored = decisions_of(demo_app, config)
    assert stored[0] == {"attribute": "child_seat", "value": True}  # the buyer's own: no origin
    assert len(stored) > 5 and all(entry.get("origin") == "completed" for entry in stored[1:])
    filled, mine = LABELS[lang]
    html = client.get(f"{config}?view=all&lang={lang}").get_data(as_text=True)
    badges = _badges(html)
    assert ("user", mine) in badges and badges.count(("user", mine)) == 1
    assert badges.count(("completed", filled)) == len(stored) - 1
    summary = client.get(f"{config}/summary?lang={lang}").get_data(as_text=True)
    assert filled in summary


def test_values_ruled_out_only_by_filled_values_stay_offered_and_choosing_one_refills_them(
    demo_app: Flask, client: FlaskClient
) -> None:
    config = start(client)
    post(client, f"{config}/complete", objective="defaults")
    with demo_app.app_context():
        cfg = configs.get_configuration(database.session(), config.rsplit("/", 1)[1])
        engine_state = cfg.configurator.state(cfg.history)  # every filled value as a hard decision
        shown = cfg.state()
        freed = [
            (a.code, v.value)
            for a, hard in zip(shown.attributes, engine_state.attributes, strict=True)
            if a.kind.value != "set"
            for v, h in zip(a.values, hard.values, strict=True)
            if v.possible and not h.possible
        ]
        document = cfg.document("en")
    assert freed, "the demo bike has values that only the filled values rule out"
    assert {a["source"] for a in document["attributes"]} == {"completed"}
    attribute, value = freed[0]
    item = next(v for a in document["attributes"] if a["code"] == attribute for v in a["values"]
                if v["value"] == value)
    assert item["possible"] and item["replaces_completed"] and item["price_delta"] is None
    html = client.get(f"{config}?view=all").get_data(as_text=True)
    assert "changes filled options" in html
    # The buyer chooses it: stored as theirs, the filled values in its way are dropped, no conflict.
    response = choose(client, config, attribute, str(value).lower() if isinstance(value, bool) else str(value))
    assert response.status_code == 303  # type: ignore[attr-defined]
    stored = decisions_of(demo_app, config)
    assert stored[-1] == {"attribute": attribute, "value": value}
    with demo_app.app_context():
        cfg = configs.get_configuration(database.session(), config.rsplit("/", 1)[1])
        state = cfg.state()
        assert state.conflict is None and state.complete
        assert state.attribute(attribute).source == "user"
        assert state.attribute(attribute).value == value
        assert "completed" in {a.source for a in state.attributes}  # the others stay filled


def test_the_api_reports_filled_values_with_source_completed(demo_app: Flask, client: FlaskClient) -> None:
    created = client.post("/api/v1/configurations", json={"catalog": "wuhan-bikes", "product": "city-ebike",
                                                          "decisions": [{"attribute": "express", "value": True}]})
    assert created.status_code == 201, created.get_json()
    url = f"/api/v1/configurations/{created.get_json()['id']}"
    finished = client.post(f"{url}/complete", json={"objective": "defaults", "apply": True})
    assert finished.status_code == 200, finished.get_json()
    body = client.get(url).get_json()
    sources = {a["code"]: a["source"] for a in body["state"]["attributes"]}
    assert sources.pop("express") == "user"
    assert set(sources.values()) == {"completed"}


def test_undo_after_finish_for_me_takes_back_everything_it_filled(demo_app: Flask, client: FlaskClient) -> None:
    config = start(client)
    choose(client, config, "child_seat", "true")
    post(client, f"{config}/complete", objective="defaults")
    assert len(decisions_of(demo_app, config)) > 5
    post(client, f"{config}/undo")
    assert decisions_of(demo_app, config) == [{"attribute": "child_seat", "value": True}]
