"""The storefront through plain HTML forms (the no-JavaScript path) and htmx partials."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from tests.storefront.conftest import csrf_token, make_app, start
from usecases.records import ConfigurationRecord, OrderRecord
from web.i18n import money, normalize_locale


def post(client: FlaskClient, path: str, **fields: str) -> object:
    return client.post(path, data={"csrf_token": csrf_token(client), **fields})


def choose(client: FlaskClient, config: str, attribute: str, value: str) -> object:
    return post(client, f"{config}/set", attribute=attribute, value=value)


def total_of(html: str) -> Decimal:
    match = re.search(r'data-testid="total">¥([\d,]+\.\d\d)<', html)
    assert match, "no total on the page"
    return Decimal(match.group(1).replace(",", ""))


def decisions_of(app: Flask, config: str) -> list[dict[str, object]]:
    engine = make_engine(app.config["DATABASE_URL"])
    try:
        with Session(engine) as s:
            record = s.get(ConfigurationRecord, config.rsplit("/", 1)[1])
            assert record is not None
            return json.loads(record.decisions)  # type: ignore[no-any-return]
    finally:
        engine.dispose()


def test_product_list_shows_every_demo_product_with_picture_and_price(client: FlaskClient) -> None:
    html = client.get("/?lang=en").get_data(as_text=True)
    assert "Wuhan city e-bike" in html and "Made-to-measure wardrobe" in html and "Wardrobe system" in html
    assert html.count("<svg class=\"illustration") == 3
    assert "From ¥6,999.00" in html
    assert 'href="/p/wuhan-bikes/city-ebike"' in html


def test_product_page_shows_picture_choices_delivery_and_start_form(client: FlaskClient) -> None:
    html = client.get("/p/foshan-wardrobes/modular-wardrobe?lang=en").get_data(as_text=True)
    assert 'class="illustration wardrobe"' in html
    assert "What you can choose" in html and "Door style" in html
    assert re.search(r"Ready in about \d+ working days", html)
    assert 'action="/p/foshan-wardrobes/modular-wardrobe/configure"' in html


def test_unknown_product_is_a_404_page(client: FlaskClient) -> None:
    response = client.get("/p/wuhan-bikes/tandem")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)


def test_configure_flow_with_plain_form_posts_updates_choice_price_and_picture(client: FlaskClient) -> None:
    config = start(client)
    before = client.get(config).get_data(as_text=True)
    assert "<form method=\"post\"" in before and 'id="v-frame_material-carbon"' in before
    response = choose(client, config, "frame_material", "carbon")
    assert response.status_code == 303  # the no-JS path: POST, redirect, GET
    assert response.headers["Location"].endswith("#attr-frame_material")
    after = client.get(config).get_data(as_text=True)
    assert re.search(r'id="v-frame_material-carbon"\s+class="choice is-selected"', after)
    assert total_of(after) > total_of(before)
    # The rules changed other attributes: the status says so, and they show where their value came from.
    assert "Updated:" in after and "required by a rule" in after
    # The picture follows the choice: carbon bikes are diamond frames (a straight top tube).
    assert "Step-through" in after


def test_per_value_price_deltas_are_shown(client: FlaskClient) -> None:
    html = client.get(start(client)).get_data(as_text=True)
    assert re.search(r"\+¥[\d,]+\.\d\d", html)
    assert "no extra cost" in html


def test_greyed_value_is_not_stored_and_shows_the_rule_and_the_buyers_own_choice(client: FlaskClient) -> None:
    config = start(client)
    choose(client, config, "frame_material", "carbon")
    page = client.get(config).get_data(as_text=True)
    assert re.search(r'id="v-frame_style-step_through"\s+class="choice is-impossible"\s+aria-pressed="false" '
                     r'aria-disabled="true"', page)
    response = choose(client, config, "frame_style", "step_through")
    assert response.status_code == 303
    assert "why=frame_style" in response.headers["Location"] and response.headers["Location"].endswith("#why")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Why “Frame style: Step-through” is not possible" in html
    assert "Carbon frames come in the diamond style only." in html
    assert "Frame material: Carbon fibre" in html  # the buyer's own choice that causes it
    assert "Make it possible" in html
    assert [d["attribute"] for d in decisions_of(client.application, config)] == ["frame_material"]


def test_greyed_reason_is_in_the_buyers_language(client: FlaskClient) -> None:
    config = start(client)
    choose(client, config, "frame_material", "carbon")
    html = client.get(f"{config}?why=frame_style&value=step_through&lang=zh_CN").get_data(as_text=True)
    assert "碳纤维车架仅提供菱形款式。" in html
    assert "为什么不能选" in html and "让它可选" in html


def test_repair_drops_the_conflicting_choice_and_applies_the_value_in_one_click(client: FlaskClient) -> None:
    config = start(client)
    choose(client, config, "frame_material", "carbon")
    preview = client.get(f"{config}?why=frame_style&value=step_through").get_data(as_text=True)
    assert "These options would change:" in preview
    response = post(client, f"{config}/repair", why="frame_style", value="step_through")
    assert response.status_code == 303
    html = client.get(config).get_data(as_text=True)
    assert re.search(r'id="v-frame_style-step_through"\s+class="choice is-selected"', html)
    assert not re.search(r'id="v-frame_material-carbon"\s+class="choice is-selected"', html)
    assert decisions_of(client.application, config) == [{"attribute": "frame_style", "value": "step_through"}]


def test_set_attribute_checkboxes_toggle_one_element(client: FlaskClient) -> None:
    config = start(client)
    html = client.get(f"{config}?view=all").get_data(as_text=True)
    assert 'type="checkbox" name="element" value="panniers"' in html
    shown = re.findall(r'name="shown" value="([a-z_]+)"', html)
    checked = re.findall(r'name="element" value="([a-z_]+)" id="[^"]+" checked', html)
    response = client.post(f"{config}/set", data={"csrf_token": csrf_token(client), "attribute": "accessories",
                                                   "shown": shown, "element": [*checked, "panniers"]})
    assert response.status_code == 303
    assert decisions_of(client.application, config) == [
        {"attribute": "accessories", "element": "panniers", "included": True}
    ]


def test_int_attribute_with_many_values_is_a_select_respecting_the_step(client: FlaskClient) -> None:
    config = start(client, "foshan-wardrobes", "modular-wardrobe")
    html = client.get(config).get_data(as_text=True)
    select_html = html[html.index('id="sel-width"'):html.index("</select>", html.index('id="sel-width"'))]
    values = [int(v) for v in re.findall(r'<option value="(\d+)"', select_html)]
    assert values == list(range(600, 2401, 50))
    choose(client, config, "width", "1200")
    assert decisions_of(client.application, config) == [{"attribute": "width", "value": 1200}]
    response = choose(client, config, "width", "1234")  # off the 50 mm grid
    assert response.status_code == 303
    assert "is not a value of Width" in client.get(config).get_data(as_text=True)


def test_finish_for_me_cheapest_decides_every_open_option(client: FlaskClient) -> None:
    config = start(client)
    recommended = total_of(client.get(config).get_data(as_text=True))
    post(client, f"{config}/complete", objective="cheapest")
    html = client.get(config).get_data(as_text=True)
    assert "All 20 options decided." in html
    assert total_of(html) <= recommended


def test_undo_takes_back_the_last_choice(client: FlaskClient) -> None:
    config = start(client)
    choose(client, config, "rack", "false")
    choose(client, config, "fenders", "false")
    post(client, f"{config}/undo")
    assert decisions_of(client.application, config) == [{"attribute": "rack", "value": False}]
    post(client, f"{config}/undo")
    response = post(client, f"{config}/undo")
    assert response.status_code == 303
    assert "There is nothing to undo." in client.get(config).get_data(as_text=True)


def test_htmx_request_gets_the_panel_partial_from_the_same_endpoint(client: FlaskClient) -> None:
    config = start(client)
    response = client.post(f"{config}/set", data={"csrf_token": csrf_token(client), "attribute": "frame_material",
                                                  "value": "carbon"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="panel"') and "<html" not in html
    assert 'id="live" hx-swap-oob="innerHTML"' in html and "Total: ¥" in html
    assert 'aria-live="polite"' in html
    greyed = client.post(f"{config}/set", data={"csrf_token": csrf_token(client), "attribute": "frame_style",
                                                "value": "mixte"}, headers={"HX-Request": "true"})
    assert greyed.status_code == 200
    assert 'id="why"' in greyed.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    config = start(client)
    response = client.post(f"{config}/set", data={"attribute": "rack", "value": "false"})
    assert response.status_code == 400
    assert decisions_of(client.application, config) == []


def test_summary_shows_breakdown_delivery_quote_button_and_order_form(client: FlaskClient) -> None:
    config = start(client)
    html = client.get(f"{config}/summary").get_data(as_text=True)
    assert "Base price" in html and "¥6,999.00" in html
    assert re.search(r'data-testid="delivery">\w+ \d+, \d{4}<', html)
    assert 'id="save-quote"' in html and f'href="{config}" id="continue-link"' in html
    assert re.search(r'name="idempotency_key" value="[0-9a-f]{32}"', html)


def _order_count(app: Flask) -> int:
    engine = make_engine(app.config["DATABASE_URL"])
    try:
        with Session(engine) as s:
            return int(s.scalar(select(func.count()).select_from(OrderRecord)) or 0)
    finally:
        engine.dispose()


def test_double_submitted_order_form_makes_one_order(client: FlaskClient) -> None:
    config = start(client)
    html = client.get(f"{config}/summary").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html)
    assert key
    form = {"csrf_token": csrf_token(client), "idempotency_key": key.group(1), "name": "Li Wei",
            "email": "li.wei@example.com", "quantity": "2", **ADDRESS}
    before = _order_count(client.application)
    first = client.post(f"{config}/order", data=form)
    second = client.post(f"{config}/order", data=form)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert _order_count(client.application) == before + 1
    thanks = client.get(first.headers["Location"]).get_data(as_text=True)
    number = re.search(r'data-testid="order-number">(SO-[\w-]+)<', thanks)
    assert number and "Thank you, Li Wei!" in thanks
    status_link = re.search(r'href="(/orders/[^"]+)" id="status-link"', thanks)
    assert status_link
    status = client.get(status_link.group(1).replace("&amp;", "&"))
    assert status.status_code == 200 and number.group(1) in status.get_data(as_text=True)


def test_order_status_needs_the_access_token(client: FlaskClient) -> None:
    config = start(client)
    html = client.get(f"{config}/summary").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', html)
    assert key
    placed = client.post(f"{config}/order", data={"csrf_token": csrf_token(client), "idempotency_key": key.group(1),
                                                  "name": "Ann", "email": "ann@example.com", "quantity": "1",
                                                  **ADDRESS})
    number = placed.headers["Location"].split("/")[2]
    assert client.get(f"/orders/{number}?t=wrong").status_code == 404
    assert client.get(f"/orders/{number}").status_code == 404


def test_order_form_errors_are_shown_next_to_the_fields(client: FlaskClient) -> None:
    config = start(client)
    response = post(client, f"{config}/order", idempotency_key="a" * 32, name="", email="nope", quantity="0")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please enter your name." in html and 'aria-invalid="true"' in html
    assert "Please enter a quantity from 1 to 99." in html


def share_path(app: Flask, config: str) -> str:
    """The live share link of a configuration (no longer offered; links given out earlier still open)."""
    engine = make_engine(app.config["DATABASE_URL"])
    try:
        with Session(engine) as s:
            record = s.get(ConfigurationRecord, config.rsplit("/", 1)[1])
            assert record is not None
            return f"/s/{record.share_token}"
    finally:
        engine.dispose()


ADDRESS = {"phone": "+86 138 0013 8000", "street": "88 Zhongshan Road", "city": "Wuhan",
           "postal_code": "430000", "country": "CN"}


def test_share_link_shows_the_configuration_and_copies_it(client: FlaskClient) -> None:
    config = start(client)
    choose(client, config, "frame_material", "steel")
    share = re.search(r"(/s/[\w-]+)", share_path(client.application, config))  # links given out before quotes
    assert share
    html = client.get(share.group(1)).get_data(as_text=True)
    assert "4130 chromoly steel" in html and "Make it mine" in html
    copied = post(client, f"{share.group(1)}/copy")
    assert copied.status_code == 303 and copied.headers["Location"] != config
    assert decisions_of(client.application, copied.headers["Location"]) == [
        {"attribute": "frame_material", "value": "steel"}
    ]


@pytest.mark.slow
def test_share_link_revalidates_against_a_changed_catalog_and_offers_the_repair(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from catalog.demo import demo_catalog_paths
    from catalog.files import load_catalog_file
    from catalog.services import import_catalog
    from catalog.snapshot import Label, Rule
    from configurator.rules.catalog_check import expression_checker

    app = make_app(tmp_path / "demo.sqlite")
    with app.test_client() as client:
        config = start(client)
        choose(client, config, "frame_material", "steel")
        share = re.search(r"(/s/[\w-]+)", share_path(app, config))
        assert share
        # The workshop stops welding steel frames: a new version with a rule against it.
        path = next(p for p in demo_catalog_paths() if "bike" in p.name)
        catalog = load_catalog_file(path, expression_checker=expression_checker)
        bike = catalog.products[0]
        rule = Rule("no-steel", Label("Steel frames are sold out.", "钢架已售罄。"), text="frame_material != steel")
        changed = dataclasses.replace(catalog, products=(dataclasses.replace(bike, rules=(*bike.rules, rule)),))
        engine = make_engine(app.config["DATABASE_URL"])
        with Session(engine) as s:
            import_catalog(s, changed, source="test", publish=True)
            s.commit()
        engine.dispose()
        html = client.get(share.group(1) + "?lang=en").get_data(as_text=True)
        assert "The catalog was updated since this configuration was saved" in html
        assert "Steel frames are sold out." in html
        assert "To continue, these choices would be dropped: Frame material: 4130 chromoly steel" in html
        assert "Repair and continue" in html
        copied = post(client, f"{share.group(1)}/copy")
        assert copied.status_code == 303
        assert decisions_of(app, copied.headers["Location"]) == []


def test_chinese_page_shows_translated_ui_strings_not_only_catalog_labels(client: FlaskClient) -> None:
    response = client.get("/?lang=zh_CN")
    html = response.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    assert "为您定制，按单生产" in html  # a UI string from messages.mo
    assert "武汉城市电助力自行车" in html  # a catalog label
    assert "lang=zh_CN" in response.headers.get("Set-Cookie", "")
    assert "为您定制，按单生产" in client.get("/").get_data(as_text=True)  # remembered in the cookie


@pytest.mark.parametrize("count", [1, 5, 34871616])
def test_chinese_plural_strings_use_the_chinese_plural_rule(demo_app: Flask, count: int) -> None:
    """Chinese has one plural form: every count must get it, not the English msgid_plural."""
    from flask import render_template_string

    template = '{{ ngettext("%(num)s combination is still open.", "%(num)s combinations are still open.", n, num=n) }}'
    with demo_app.test_request_context("/?lang=zh_CN"):
        assert render_template_string(template, n=count) == f"还有 {count} 种组合可选。"
    with demo_app.test_request_context("/?lang=en"):
        english = render_template_string(template, n=count)
    assert english == (f"{count} combination is still open." if count == 1 else f"{count} combinations are still open.")


def test_accept_language_picks_chinese(demo_app: Flask) -> None:
    with demo_app.test_client() as fresh:
        html = fresh.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}).get_data(as_text=True)
        assert "为您定制，按单生产" in html
        html = fresh.get("/", headers={"Accept-Language": "fr-FR,en;q=0.5"}).get_data(as_text=True)
        assert "Made for you, built to order" in html


@pytest.mark.parametrize(
    ("amount", "locale", "expected"),
    [("1999", "en", "¥1,999.00"), ("1999", "zh_CN", "¥1,999.00"), ("1234567.5", "en", "¥1,234,567.50"),
     ("0", "zh_CN", "¥0.00")],
)
def test_money_uses_the_yuan_sign_and_locale_grouping(amount: str, locale: str, expected: str) -> None:
    assert money(Decimal(amount), "CNY", locale) == expected


@pytest.mark.parametrize(("given", "expected"), [("zh-CN", "zh_CN"), ("zh_Hans_CN", "zh_CN"), ("en-GB", "en"),
                                                 ("de", None), ("", None)])
def test_locale_spellings_normalise_to_the_apps_codes(given: str, expected: str | None) -> None:
    assert normalize_locale(given) == expected


def test_every_value_source_of_the_engine_reads_as_words_in_both_languages(demo_app: Flask) -> None:
    """A value the engine filled (a default, or the cheapest compatible value when a choice ruled the
    default out) is never shown as "open": each source the engine reports has its own words."""
    from configurator.engine import SOURCES
    from web.storefront.views import source_text

    for lang in ("en", "zh-CN"):
        with demo_app.test_request_context("/", headers={"Accept-Language": lang}, query_string={"lang": lang}):
            open_text = source_text(None)
            texts = {source: source_text(source) for source in SOURCES}
            assert all(text != open_text for text in texts.values()), (lang, texts)
            assert len(set(texts.values())) == len(SOURCES), (lang, texts)
