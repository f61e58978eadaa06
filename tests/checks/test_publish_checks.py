"""Every path to publishing runs the catalog checks on the exact content: CLI, API and the shared service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.db import make_engine
from catalog.files import load_catalog_file
from catalog.services import import_catalog, list_catalogs, list_versions, update_draft
from configurator.rules.catalog_check import expression_checker
from usecases.publishing import (
    ChecksFailed,
    DraftChanged,
    SkipReasonMissing,
    publish_checked,
    version_checks,
)
from web.auth import create_token
from web.cli import main

DATA = Path(__file__).parent / "data"
BROKEN = DATA / "broken.yaml"
GOOD = DATA / "shop-v1.yaml"


def load(path: Path) -> Any:
    return load_catalog_file(path, expression_checker=expression_checker)


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


# --------------------------------------------------------------------------- command line


def test_cli_import_publish_of_a_broken_catalog_stores_nothing(migrated_url: str) -> None:
    code, out = cli("catalog", "import", str(BROKEN), "--publish", "--url", migrated_url)
    assert code == 1
    assert f"{BROKEN}:" in out and ": error: bench: bench has no valid configuration" in out
    assert "nothing was stored" in out
    engine = make_engine(migrated_url)
    with Session(engine) as session:
        assert list_catalogs(session) == ()
    engine.dispose()


def test_cli_skip_checks_needs_a_reason_and_is_shown_on_the_version(migrated_url: str) -> None:
    code, out = cli("catalog", "import", str(BROKEN), "--publish", "--skip-checks", "--url", migrated_url)
    assert code == 1 and "needs a reason" in out
    code, out = cli(
        "catalog",
        "import",
        str(BROKEN),
        "--publish",
        "--skip-checks",
        "--reason",
        "price fix",
        "--url",
        migrated_url,
    )
    assert code == 0, out
    assert "checks SKIPPED" in out
    code, out = cli("catalog", "versions", "desks", "--url", migrated_url)
    assert "SKIPPED" in out
    engine = make_engine(migrated_url)
    with Session(engine) as session:
        stored = version_checks(session, "desks")[1]
    engine.dispose()
    assert stored.skipped and stored.skip_reason == "price fix" and stored.skipped_by.startswith("cli")


def test_cli_publish_of_a_draft_checks_it_and_stores_the_warnings(migrated_url: str, tmp_path: Path) -> None:
    # A dead value (warning only): published, the warning kept with the version.
    text = GOOD.read_text(encoding="utf-8").replace(
        "          - {code: pine, name: {en: Pine, zh-CN: 松木}}\n",
        "          - {code: pine, name: {en: Pine, zh-CN: 松木}}\n          - {code: teak, name: {en: Teak}}\n",
    )
    text = text.replace(
        "    prices:\n", "      - {id: no-teak, rule: wood != teak, message: Sold out}\n    prices:\n", 1
    )
    warn = tmp_path / "warn.yaml"
    warn.write_text(text, encoding="utf-8")
    assert cli("catalog", "import", str(BROKEN), "--url", migrated_url)[0] == 0  # drafts may be broken
    code, out = cli("catalog", "publish", "desks", "1", "--url", migrated_url)
    assert code == 1 and ": error: desk: test wide-pine-ok FAILED" in out
    assert cli("catalog", "import", str(warn), "--url", migrated_url)[0] == 0  # replaces the draft
    code, out = cli("catalog", "publish", "desks", "1", "--url", migrated_url)
    assert code == 0, out
    assert "teak can never be chosen" in out and "1 warning(s)" in out
    engine = make_engine(migrated_url)
    with Session(engine) as session:
        stored = version_checks(session, "desks")[1]
    engine.dispose()
    assert not stored.skipped and stored.warning_count == 1
    # A stored draft is a JSON document without file positions: the subject says where.
    assert stored.findings[0]["check"] == "dead_value" and stored.findings[0]["subject"] == "wood=teak"


# --------------------------------------------------------------------------- the shared service


def test_a_draft_changed_while_it_is_checked_is_not_published(session: Session, engine: Any) -> None:
    import_catalog(session, load(GOOD), source="shop-v1.yaml")
    session.commit()
    broken_desk_only = load(BROKEN)

    def swap(_product: str) -> None:
        # Another editor saves the draft while the checks run.
        with Session(engine) as other:
            update_draft(other, "desks", broken_desk_only)
            other.commit()

    with pytest.raises(DraftChanged):
        publish_checked(session, "desks", number=1, actor="test", progress=swap)
    session.rollback()
    assert [v.status.value for v in list_versions(session, "desks")] == ["draft"]


def test_errors_raise_checks_failed_with_the_findings(session: Session) -> None:
    with pytest.raises(ChecksFailed) as failed:
        publish_checked(session, "desks", catalog=load(BROKEN), source="broken.yaml", actor="test")
    assert len(failed.value.errors) == 3
    assert {f["check"] for f in failed.value.findings_json()} == {
        "void_product",
        "golden_test",
        "bom_requirement",
        "dead_value",
    }
    with pytest.raises(SkipReasonMissing):
        publish_checked(
            session, "desks", catalog=load(BROKEN), actor="test", skip_checks=True, skip_reason=" "
        )


# --------------------------------------------------------------------------- API


@pytest.fixture
def app(migrated_url: str) -> Iterator[Flask]:
    from tests.api.conftest import make_app

    application = make_app(migrated_url, RATELIMIT_ENABLED=False)
    yield application
    application.extensions["c2m.engine"].dispose()


@pytest.fixture
def writer(app: Flask) -> dict[str, str]:
    with Session(app.extensions["c2m.engine"]) as session:
        _row, secret = create_token(session, "ci", ["catalog:write"])
        session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_api_upload_with_publish_answers_422_with_the_findings(app: Flask, writer: dict[str, str]) -> None:
    client: FlaskClient = app.test_client()
    response = client.post(
        "/api/v1/catalogs?publish=true",
        data=BROKEN.read_bytes(),
        content_type="application/yaml",
        headers=writer,
    )
    assert response.status_code == 422
    body = response.get_json()
    assert body["reason"] == "checks_failed"
    assert any(line.startswith("upload.yaml:") and "[void_product]" in line for line in body["errors"])
    void = next(f for f in body["findings"] if f["check"] == "void_product")
    assert void["rules"] == ["too-wide"] and void["line"] > 1
    assert client.get("/api/v1/catalogs").get_json() == []


def test_api_publish_checks_the_draft_and_skip_checks_is_recorded(app: Flask, writer: dict[str, str]) -> None:
    client: FlaskClient = app.test_client()
    created = client.post(
        "/api/v1/catalogs", data=BROKEN.read_bytes(), content_type="application/yaml", headers=writer
    )
    assert created.status_code == 201 and created.get_json()["checks"] is None
    refused = client.post("/api/v1/catalogs/desks/versions/1/publish", json={}, headers=writer)
    assert refused.status_code == 422 and refused.get_json()["reason"] == "checks_failed"
    assert client.get("/api/v1/catalogs", headers=writer).get_json()[0]["versions"][0]["status"] == "draft"
    no_reason = client.post(
        "/api/v1/catalogs/desks/versions/1/publish", json={"skip_checks": True}, headers=writer
    )
    assert no_reason.status_code == 422 and no_reason.get_json()["reason"] == "skip_reason_missing"
    forced = client.post(
        "/api/v1/catalogs/desks/versions/1/publish",
        json={"skip_checks": True, "skip_reason": "hotfix"},
        headers=writer,
    )
    assert forced.status_code == 200, forced.get_json()
    checks = forced.get_json()["checks"]
    assert (
        checks["skipped"] is True
        and checks["skip_reason"] == "hotfix"
        and checks["skipped_by"].startswith("api:")
    )
    listed = client.get("/api/v1/catalogs", headers=writer).get_json()[0]["versions"][0]
    assert listed["status"] == "published" and listed["checks"]["skipped"] is True
    assert listed["checks"]["skip_reason"] is None  # listings give the summary only


def test_api_upload_of_a_good_catalog_publishes_with_its_checks(app: Flask, writer: dict[str, str]) -> None:
    client: FlaskClient = app.test_client()
    response = client.post(
        "/api/v1/catalogs?publish=true",
        data=GOOD.read_bytes(),
        content_type="application/yaml",
        headers=writer,
    )
    assert response.status_code == 201, response.get_json()
    checks = response.get_json()["checks"]
    assert checks["skipped"] is False and checks["warnings"] == 0
    assert checks["content_hash"] == response.get_json()["content_hash"]
