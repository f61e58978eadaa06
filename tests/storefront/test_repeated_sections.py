"""A product with a repeated component: one storefront step per instance in use."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

from tests.storefront.conftest import csrf_token, start
from tests.storefront.test_storefront import ADDRESS


def page(client: FlaskClient, config: str) -> str:
    return client.get(f"{config}?lang=en&view=all").get_data(as_text=True)


def count(client: FlaskClient, config: str, value: int) -> None:
    client.post(
        f"{config}/set",
        data={"csrf_token": csrf_token(client), "attribute": "section_count", "value": str(value)},
    )


def test_one_step_per_section_in_use(client: FlaskClient) -> None:
    config = start(client, "foshan-wardrobes", "pax-system")
    html = page(client, config)
    assert client.get(config).status_code == 200
    # two sections by default: the third is not shown until the buyer asks for it
    assert "Section 1" in html and "Section 2" in html and "Section 3" not in html
    assert 'name="attribute" value="section2_width"' in html or "section2_width" in html
    count(client, config, 3)
    assert "Section 3" in page(client, config)
    count(client, config, 1)
    html = page(client, config)
    assert "Section 1" in html and "Section 2" not in html and "Section 3" not in html


def test_chinese_section_labels(client: FlaskClient) -> None:
    config = start(client, "foshan-wardrobes", "pax-system")
    html = client.get(f"{config}?lang=zh-CN&view=all").get_data(as_text=True)
    assert "第 1 段" in html and "第 2 段" in html


def finish(client: FlaskClient, config: str, sections: int) -> None:
    """Choose the number of sections and section 2's drawer, and let the defaults decide the rest."""
    count(client, config, sections)
    client.post(f"{config}/set", data={"csrf_token": csrf_token(client), "attribute": "section2_drawers", "value": "1"})
    client.post(f"{config}/complete", data={"csrf_token": csrf_token(client), "objective": "defaults"})


def test_summary_and_quote_leave_out_sections_not_in_use(client: FlaskClient) -> None:
    config = start(client, "foshan-wardrobes", "pax-system")
    finish(client, config, 2)
    summary = client.get(f"{config}/summary?lang=en").get_data(as_text=True)
    assert "Section 1" in summary and "Section 2" in summary
    assert "Section 3" not in summary  # its pinned width, door, ... are not the buyer's choices
    assert "Plinth height" in summary and "7.5 cm" in summary
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', summary)
    assert key
    quote = client.post(f"{config}/quote", data={"csrf_token": csrf_token(client), "quantity": "1"})
    assert quote.status_code == 303
    page = client.get(quote.headers["Location"] + "?lang=en").get_data(as_text=True)
    assert "Section 2" in page and "Section 3" not in page
    count(client, config, 3)
    assert "Section 3" in client.get(f"{config}/summary?lang=en").get_data(as_text=True)


def test_order_pages_show_one_row_per_section_in_use(client: FlaskClient) -> None:
    config = start(client, "foshan-wardrobes", "pax-system")
    finish(client, config, 2)
    summary = client.get(f"{config}/summary?lang=en").get_data(as_text=True)
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', summary)
    assert key
    placed = client.post(f"{config}/order", data={
        "csrf_token": csrf_token(client), "idempotency_key": key.group(1), "name": "Ann", "email": "ann@example.com",
        "quantity": "1", **ADDRESS})
    assert placed.status_code == 303, placed.get_data(as_text=True)
    thanks = client.get(placed.headers["Location"] + "&lang=en").get_data(as_text=True)
    rows = dict(re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]*)</td></tr>', thanks))
    assert "Drawers ×1" in rows["Section 2"] and "Width: 800 mm" in rows["Section 2"]
    assert "Drawers ×0" in rows["Section 1"]
    assert "Section 3" not in thanks and "section3" not in thanks
    assert rows["Plinth height"] == "7.5 cm"
    chinese = client.get(placed.headers["Location"] + "&lang=zh-CN").get_data(as_text=True)
    assert "第 2 段" in chinese and "抽屉数 ×1" in chinese and "宽度：800 mm" in chinese and "第 3 段" not in chinese
    assert "踢脚板高度" in chinese


def test_decimal_plinth_height_in_both_languages(client: FlaskClient) -> None:
    config = start(client, "foshan-wardrobes", "pax-system")
    english = client.get(f"{config}?lang=en&view=all").get_data(as_text=True)
    assert "Plinth height" in english and "10.5" in english and "12.0" in english
    chinese = client.get(f"{config}?lang=zh-CN&view=all").get_data(as_text=True)
    assert "踢脚板高度" in chinese and "柜门下方内缩的踢脚板。" in chinese
    client.post(f"{config}/set", data={"csrf_token": csrf_token(client), "attribute": "plinth_height", "value": "12.0"})
    html = client.get(f"{config}?lang=en&view=all").get_data(as_text=True)
    assert "Tall plinth" in html  # the surcharge (12.0 - 7.5) * 36 = 162
    assert "162.00" in html
