"""What building the application costs a new worker: no migration tooling, one document."""

from __future__ import annotations

import json
import subprocess  # nosec B404 - runs this interpreter on a fixed script
import sys
from pathlib import Path

from web import create_app

ROOT = Path(__file__).resolve().parents[2]

CHILD = """
import json, sys
from web import create_app
create_app({"DATABASE_URL": "sqlite://", "TESTING": True, "SECRET_KEY": "test", "RATELIMIT_ENABLED": False})
print(json.dumps(sorted(name for name in sys.modules if name == "alembic" or name.startswith("alembic."))))
"""


def test_create_app_does_not_import_alembic() -> None:
    done = subprocess.run(  # nosec B603 - fixed arguments
        [sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def _openapi() -> bytes:
    app = create_app({"DATABASE_URL": "sqlite://", "TESTING": True, "SECRET_KEY": "test", "RATELIMIT_ENABLED": False})
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.data


def test_every_application_of_a_process_documents_the_same_api() -> None:
    # The blueprints' documentation is registered once per application; the schemas it names
    # are shared between the copies (web.api._share_schemas), so a second application must
    # render exactly the same document as the first.
    first, second = _openapi(), _openapi()
    assert first == second
    document = json.loads(first)
    problem = {"$ref": "#/components/schemas/Problem"}
    responses = document["paths"]["/api/v1/products/{code}"]["get"]["responses"]
    assert responses["404"]["content"]["application/problem+json"]["schema"] == problem
