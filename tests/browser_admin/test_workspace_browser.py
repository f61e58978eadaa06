"""The workspace in a real browser: sign in, upload a broken catalog, fix it in the editor, check,
publish, and see the change in the storefront; anonymous visitors are refused every page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, expect

from tests.admin.conftest import BOXES, PASSWORD

BROKEN = BOXES.replace("name: {en: Box, zh-CN: 盒子}", "name: {en: Sturdy box, zh-CN: 结实的盒子}").replace(
    "size == large -> lid", "size == larg -> lid"
)


def test_author_uploads_fixes_checks_and_publishes(server: dict[str, Any], browser: Browser) -> None:
    base = server["url"]
    page = browser.new_page()
    try:
        page.goto(f"{base}/admin/catalogs/boxes")
        expect(page).to_have_url(f"{base}/admin/login?next=/admin/catalogs/boxes")
        page.fill("input[name=email]", "editor@example.com")
        page.fill("input[name=password]", PASSWORD)
        page.click("#login-form button[type=submit]")
        expect(page).to_have_url(f"{base}/admin/catalogs/boxes")

        # upload a file with a typo in a rule: the problem is shown at its line
        page.goto(f"{base}/admin/upload")
        page.set_input_files(
            "input[name=file]",
            files=[{"name": "boxes.yaml", "mimeType": "text/yaml", "buffer": BROKEN.encode()}],
        )
        page.click("#upload-form button[type=submit]")
        problem = page.locator(".problem")
        expect(problem).to_have_count(1)
        expect(problem.locator(".msg")).to_contain_text("larg")
        expect(problem.locator(".problem-line")).to_contain_text("size == larg -> lid")
        expect(page.locator(".gutter .err")).to_have_count(1)

        # fix it in the editor and save: the draft is stored
        text = page.input_value("#catalog-text")
        page.fill("#catalog-text", text.replace("size == larg -> lid", "size == large -> lid"))
        page.click("#save")
        expect(page).to_have_url(f"{base}/admin/catalogs/boxes")
        expect(page.locator(".flash")).to_contain_text("No problems found")

        # run the checks on the draft
        page.click("#run-checks")
        expect(page.locator("#verdict")).to_contain_text("No errors")
        expect(page.locator("tr[data-check=bom_requirement]")).to_contain_text(
            "holds for every valid configuration"
        )

        # publish it now
        page.goto(f"{base}/admin/catalogs/boxes")
        page.click("#publish-2")
        expect(page.locator(".flash")).to_contain_text("Published v2")
        expect(page.locator("#version-2")).to_contain_text("(in force)")

        # the storefront sells the new version
        page.goto(f"{base}/")
        expect(page.locator("body")).to_contain_text("Sturdy box")
    finally:
        page.close()


def test_anonymous_visitor_is_refused_every_workspace_page(server: dict[str, Any], browser: Browser) -> None:
    app = server["app"]
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin.") or rule.endpoint in ("admin.login", "admin.static"):
            continue
        if "GET" not in (rule.methods or ()):
            continue
        values = {arg: {"code": "boxes", "number": 1, "user_id": 1, "report_id": 1}.get(arg, "X") for arg in rule.arguments}
        urls.append(rule.build(values)[1])
    assert len(urls) >= 12
    context = browser.new_context()
    page = context.new_page()
    try:
        for url in urls:
            page.goto(f"{server['url']}{url}")
            assert page.url.startswith(f"{server['url']}/admin/login?next="), url
            expect(page.locator("#login-form")).to_be_visible()
        # form posts without a session are refused outright
        response = page.request.post(f"{server['url']}/admin/catalogs/boxes/versions/1/archive")
        assert response.status in (400, 401)
    finally:
        context.close()
