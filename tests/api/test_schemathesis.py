"""Property-based conformance of the whole API to its own OpenAPI document (schemathesis 4).

Every operation registered under ``/api/v1`` (also those added by other
blueprints) gets a bounded number of generated requests, schema-valid and
schema-violating, sent to the WSGI app on the demo database (SQLite, and
PostgreSQL when ``C2M_TEST_DATABASE_URL`` is set) with a token that has every
scope and without any token. A request must never yield a 5xx, and every response must
match the documented status codes, content types and schemas; requests that
violate the schema must be refused with a 4xx. (Schema-valid requests may
still be refused: a catalog document or a decision is checked against the
catalog's content, which no JSON schema can express, so Schemathesis'
"positive data acceptance" check is left out.)

Schemathesis' lazy pytest loader (``from_fixture``) needs a private pytest
attribute that pytest 9 removed, so the operations are driven here with
``APIOperation.as_strategy`` and Hypothesis' ``@given`` instead; failures of
every operation are collected and reported together.
"""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance
from sqlalchemy.orm import Session

from web.api import API_MODULES
from web.auth import SCOPES, create_token

MAX_EXAMPLES = 15


@pytest.fixture
def full_token(app: Flask) -> str:
    with Session(app.extensions["c2m.engine"]) as session:
        _row, secret = create_token(session, "schemathesis", list(SCOPES))
        session.commit()
    return secret


def _run(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

    check()


def _blueprint_names() -> list[str]:
    """The tag of each API module's operations (flask-smorest tags them with the blueprint name)."""
    names: list[str] = []
    for module_name in API_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue
        names.append(module.blp.name)
    return names


@pytest.mark.slow
@pytest.mark.parametrize("credentials", ["token", "anonymous"])
@pytest.mark.parametrize("tag", _blueprint_names())
def test_every_operation_conforms_to_the_openapi_document(
    app: Flask, full_token: str, tag: str, credentials: str
) -> None:
    """With a token of every scope, and without one (operations needing a token must answer a
    documented 401, public ones the same as with a token)."""
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {full_token}"} if credentials == "token" else {}
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if tag not in operation.definition.raw.get("tags", []):
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, headers)
            except Unsatisfiable:
                # Nothing in this operation can be made schema-violating (e.g. no parameters).
                if mode is not GenerationMode.NEGATIVE:
                    raise
            except BaseException as exc:  # collect every operation's failure, then report them all
                if isinstance(exc, KeyboardInterrupt):
                    raise
                failures.append(f"{operation.method.upper()} {operation.path} [{mode.value}]: {exc!r}"[:3000])
    assert operations > 0
    assert not failures, "\n\n".join(failures)
