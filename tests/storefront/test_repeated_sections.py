"""A product with a repeated component: one storefront step per instance in use."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.storefront.conftest import csrf_token, start


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
