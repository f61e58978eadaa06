"""`c2m token create/list/revoke`, and that a created token works (and stops working) on the API."""

from __future__ import annotations

from click.testing import CliRunner
from flask.testing import FlaskClient

from web.commands.token import token_group


def test_create_list_revoke_and_use_a_token(demo_url: str, client: FlaskClient) -> None:
    runner = CliRunner()
    created = runner.invoke(
        token_group, ["create", "--name", "Tooling", "--scope", "catalog:write", "--url", demo_url]
    )
    assert created.exit_code == 0, created.output
    secret = next(line for line in created.output.splitlines() if line.startswith("c2m_"))
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/v1/catalogs/wuhan-bikes/versions/1/publish", headers=auth).status_code == 409

    listed = runner.invoke(token_group, ["list", "--json", "--url", demo_url])
    assert listed.exit_code == 0
    assert '"scopes": [\n      "catalog:write"\n    ]' in listed.output and secret not in listed.output

    revoked = runner.invoke(token_group, ["revoke", "1", "--url", demo_url])
    assert revoked.exit_code == 0
    assert client.post("/api/v1/catalogs/wuhan-bikes/versions/1/publish", headers=auth).status_code == 401
    again = runner.invoke(token_group, ["revoke", "1", "--url", demo_url])
    assert again.exit_code == 1 and "already revoked" in again.output


def test_unknown_scope_is_refused(demo_url: str) -> None:
    result = CliRunner().invoke(token_group, ["create", "--name", "x", "--scope", "root", "--url", demo_url])
    assert result.exit_code == 2
    assert "'root' is not one of" in result.output
