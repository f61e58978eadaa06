"""The workspace pages a job engine changes, in both languages at 1366 and 390 px: the jobs page with
a failed compiled model, the checks page's report queued then done, and the diff page with its
semantic diff queued then done. axe-core finds no serious or critical violation, nothing scrolls
sideways on a phone, and screenshots go to test-artifacts/screens/ (git-ignored)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.admin.conftest import BOXES, PASSWORD
from tests.browser.conftest import ARTIFACTS, serious_violations

pytestmark = pytest.mark.slow

SCREENS = ARTIFACTS / "screens"
PRICIER = BOXES.replace('- {id: large, when: size == large, add: "5.00", label: Large}',
                        '- {id: large, when: size == large, add: "7.00", label: Large}')


@pytest.fixture(scope="module")
def job_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A workspace server with a job engine on the stub broker, a draft to diff and a failed model."""
    import os

    from werkzeug.serving import make_server

    import jobs.db
    import jobs.engine
    from catalog.db import make_engine
    from catalog.files import load_catalog_text
    from catalog.services import import_catalog, load_version
    from jobs.settings import JobSettings
    from tests.admin.conftest import populate
    from usecases.compiled_models import mark_queued
    from usecases.records import CompiledModelRecord
    from web import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('browser-jobs') / 'admin.sqlite'}"
    populate(url)
    engine = make_engine(url)
    with Session(engine) as session:
        import_catalog(session, load_catalog_text(PRICIER), source="boxes.yaml")
        info = load_version(session, "boxes")[0]
        mark_queued(session, info.content_hash, ["box"], "auto")
        session.commit()
        row = session.scalars(select(CompiledModelRecord)).one()
        row.status, row.attempts = "failed", 1
        row.detail = (f"over the memory budget of 8192 MB (model {info.content_hash}:box): product 'box': the "
                      "model does not compile within the memory budget of 8192 MB (the compiler ran out of memory)")
        session.commit()
    engine.dispose()
    saved = os.environ.get("C2M_DATABASE_URL")
    os.environ["C2M_DATABASE_URL"] = url
    jobs_engine = jobs.engine.install(jobs.engine.build_broker("stub://", JobSettings.from_env()))
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-admin-tests", "RATELIMIT_ENABLED": False})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield {"url": f"http://127.0.0.1:{httpd.server_port}", "jobs": jobs_engine}
    finally:
        httpd.shutdown()
        thread.join(timeout=5)
        app.extensions["c2m.engine"].dispose()
        jobs_engine.broker.close()
        jobs.engine.reset()
        jobs.db.dispose()
        if saved is None:
            os.environ.pop("C2M_DATABASE_URL", None)
        else:
            os.environ["C2M_DATABASE_URL"] = saved


def _sign_in(page: Page, base: str) -> None:
    page.goto(f"{base}/admin/login")
    page.fill("input[name=email]", "admin@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("#login-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/admin/$"))


def _visit(browser: Browser, base: str, stage: str, paths: list[tuple[str, str]]) -> list[str]:
    problems: list[str] = []
    for width, height in ((1366, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
        page = context.new_page()
        try:
            _sign_in(page, base)
            for lang in ("en", "zh_CN"):
                for name, path in paths:
                    page.goto(f"{base}{path}?lang={lang}")
                    expect(page.locator("html")).to_have_attribute("lang", "zh-CN" if lang == "zh_CN" else "en")
                    if width == 1366:
                        problems += [f"{name} {stage} ({lang}): {v}" for v in serious_violations(page)]
                    else:
                        scroll = page.evaluate("document.documentElement.scrollWidth")
                        if scroll > width:
                            problems.append(f"{name} {stage} ({lang}) is {scroll} px wide at {width} px")
                    page.screenshot(path=str(SCREENS / f"workspace-{name}-{stage}-{lang}-{width}.png"),
                                    full_page=True)
        finally:
            context.close()
    return problems


def test_job_pages_queued_then_done_are_accessible_and_fit_a_phone(
    job_server: dict[str, Any], browser: Browser
) -> None:
    from tests.jobs.conftest import run_jobs

    SCREENS.mkdir(parents=True, exist_ok=True)
    base = job_server["url"]
    paths = [("jobs-models", "/admin/jobs"), ("checks-job", "/admin/catalogs/boxes/checks"),
             ("diff-job", "/admin/catalogs/boxes/diff")]
    problems = _visit(browser, base, "queued", paths)
    run_jobs(job_server["jobs"])
    problems += _visit(browser, base, "done", paths)
    assert not problems, "\n".join(problems)
