"""Two clicks made on the same page: a second choice on another option is applied on top of the first
(both land); one on the same option, or one that no longer fits, is refused and the page shows what is
saved."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from tests.storefront.conftest import csrf_token, start
from tests.storefront.test_storefront import decisions_of


def _revision(html: str) -> str:
    found = re.findall(r'name="revision" value="(\d+)"', html)
    assert found and len(set(found)) == 1, "every form carries the same revision"
    return found[0]


def test_a_second_click_made_on_the_same_page_lands_on_top_of_the_first(demo_app: Flask, client: FlaskClient) -> None:
    config = start(client)
    shown = _revision(client.get(config).get_data(as_text=True))
    headers = {"HX-Request": "true", "X-Request-Seq": "2"}
    first = client.post(f"{config}/set", data={"csrf_token": csrf_token(client), "revision": shown, "view": "all",
                                               "attribute": "child_seat", "value": "true"}, headers=headers)
    assert first.status_code == 200
    assert _revision(first.get_data(as_text=True)) == str(int(shown) + 1)
    # The second click was made on the same (older) page, before the first answer arrived.
    second = client.post(f"{config}/set", data={"csrf_token": csrf_token(client), "revision": shown, "view": "all",
                                                "attribute": "express", "value": "true"},
                         headers={**headers, "X-Request-Seq": "3"})
    assert second.status_code == 200
    html = second.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="panel"') and second.headers["X-Request-Seq"] == "3"
    assert _revision(html) == str(int(shown) + 2)
    assert decisions_of(demo_app, config) == [{"attribute": "child_seat", "value": True},
                                              {"attribute": "express", "value": True}]
    # The answer shows both choices as stored.
    assert 'id="v-child_seat-true"' in html and 'id="v-express-true"' in html
    for value_id in ("v-child_seat-true", "v-express-true"):
        tag = html[html.index(f'id="{value_id}"') - 300:html.index(f'id="{value_id}"') + 200]
        assert 'aria-pressed="true"' in tag[tag.rindex("<button"):], value_id


def test_a_click_on_an_option_changed_since_the_page_was_shown_is_refused(
    demo_app: Flask, client: FlaskClient
) -> None:
    config = start(client)
    shown = _revision(client.get(config).get_data(as_text=True))
    headers = {"HX-Request": "true", "X-Request-Seq": "2"}
    data = {"csrf_token": csrf_token(client), "revision": shown, "attribute": "frame_material", "value": "carbon"}
    assert client.post(f"{config}/set", data=data, headers=headers).status_code == 200
    second = client.post(f"{config}/set", data={**data, "value": "steel"}, headers={**headers, "X-Request-Seq": "3"})
    assert second.status_code == 409
    html = second.get_data(as_text=True)
    assert "changed in the meantime" in html
    assert _revision(html) == str(int(shown) + 1)
    assert decisions_of(demo_app, config) == [{"attribute": "frame_material", "value": "carbon"}]


def test_without_javascript_the_stale_form_redirects_to_the_saved_configuration(
    demo_app: Flask, client: FlaskClient
) -> None:
    config = start(client)
    shown = _revision(client.get(config).get_data(as_text=True))
    data = {"csrf_token": csrf_token(client), "revision": shown, "attribute": "frame_material", "value": "carbon"}
    assert client.post(f"{config}/set", data=data).status_code == 303
    stale = client.post(f"{config}/undo", data=data)  # undo is never rebased: made on the older page
    assert stale.status_code == 303
    assert "changed in the meantime" in client.get(stale.headers["Location"]).get_data(as_text=True)
    assert decisions_of(demo_app, config) == [{"attribute": "frame_material", "value": "carbon"}]
