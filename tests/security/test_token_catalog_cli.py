"""`c2m token create --catalog CODE`: the limit is stored and shown; an unknown catalog is refused."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog.db import make_engine
from usecases.records import ApiToken
from web.cli import main


def test_token_create_with_a_catalog_limit(db_url: str) -> None:
    runner = CliRunner()
    created = runner.invoke(
        main, ["token", "create", "--name", "ERP bikes", "--scope", "erp:read", "--catalog", "wuhan-bikes",
               "--url", db_url],
    )
    assert created.exit_code == 0, created.output
    assert "limited to catalog wuhan-bikes" in created.output
    listed = json.loads(runner.invoke(main, ["token", "list", "--json", "--url", db_url]).output)
    assert [t["catalog"] for t in listed] == ["wuhan-bikes"]
    assert "catalog wuhan-bikes" in runner.invoke(main, ["token", "list", "--url", db_url]).output

    refused = runner.invoke(
        main, ["token", "create", "--name", "x", "--scope", "erp:read", "--catalog", "no-such-shop", "--url", db_url]
    )
    assert refused.exit_code == 2
    assert "no catalog 'no-such-shop'" in refused.output
    engine = make_engine(db_url)
    with Session(engine) as session:
        assert [t.catalog_code for t in session.scalars(select(ApiToken))] == ["wuhan-bikes"]
    engine.dispose()
