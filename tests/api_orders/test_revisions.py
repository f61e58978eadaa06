"""Optimistic concurrency on configurations: a revision per stored change, stale writes refused."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from usecases.configurations import StaleRevision, add_decision, create_configuration, get_configuration

WRITERS = 19


def _box(client: FlaskClient) -> dict[str, Any]:
    response = client.post("/api/v1/configurations", json={"catalog": "tiny-shop", "product": "box"})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def test_every_change_counts_a_revision_and_a_stale_one_gets_the_current_configuration(
    client: FlaskClient,
) -> None:
    created = _box(client)
    assert created["revision"] == 1
    url = f"/api/v1/configurations/{created['id']}"
    first = client.post(f"{url}/decisions", json={"attribute": "size", "value": "small", "revision": 1})
    assert first.status_code == 200 and first.get_json()["revision"] == 2
    # A second tab still on revision 1 decides the same attribute: refused with the current state.
    stale = client.post(f"{url}/decisions", json={"attribute": "size", "value": "large", "revision": 1})
    problem = stale.get_json()
    assert stale.status_code == 409 and problem["reason"] == "stale_revision", problem
    assert problem["current_revision"] == 2
    assert problem["configuration"]["revision"] == 2
    assert problem["configuration"]["decisions"] == [{"attribute": "size", "value": "small"}]
    assert problem["configuration"]["state"]["attributes"]  # the current state, to show instead
    # Another attribute, untouched since revision 1: applied on top of revision 2.
    rebased = client.post(f"{url}/decisions", json={"attribute": "width", "value": 300, "revision": 1})
    assert rebased.status_code == 200, rebased.get_json()
    assert rebased.get_json()["revision"] == 3
    assert rebased.get_json()["decisions"] == [
        {"attribute": "size", "value": "small"}, {"attribute": "width", "value": 300}]
    # Undo and remove check the revision strictly (they are not rebased).
    assert client.post(f"{url}/undo?revision=1").status_code == 409
    assert client.delete(f"{url}/decisions/size?revision=2").status_code == 409
    assert client.post(f"{url}/undo?revision=3").get_json()["revision"] == 4
    # Without a revision a change applies to the stored one.
    assert (
        client.post(f"{url}/decisions", json={"attribute": "width", "value": 200}).get_json()["revision"] == 5
    )


def test_a_late_decision_that_no_longer_fits_is_refused_with_the_current_state(client: FlaskClient) -> None:
    url = f"/api/v1/configurations/{_box(client)['id']}"
    assert client.post(f"{url}/decisions", json={"attribute": "lid", "value": False, "revision": 1}).status_code == 200
    # Made on revision 1 (lid still open), "large" needs a lid: on top of revision 2 it conflicts.
    late = client.post(f"{url}/decisions", json={"attribute": "size", "value": "large", "revision": 1})
    assert late.status_code == 409 and late.get_json()["reason"] == "stale_revision", late.get_json()
    assert late.get_json()["configuration"]["decisions"] == [{"attribute": "lid", "value": False}]


def test_concurrent_decisions_on_one_configuration_never_lose_an_update(
    factory: sessionmaker[Session],
) -> None:
    """Writers that all read the same revision and decide the same attribute: exactly one is stored,
    every other is refused (re-read, the attribute has changed since: not rebased)."""
    with factory() as session:
        configuration_id = create_configuration(session, "box", [], catalog_code="tiny-shop").id
        session.commit()
    barrier = threading.Barrier(WRITERS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        outcome = "error"
        try:
            with factory() as session:
                configuration = get_configuration(session, configuration_id)
                session.commit()  # end the read transaction: the write below starts its own
                barrier.wait(30)
                try:
                    add_decision(
                        session, configuration, {"attribute": "lid", "value": n % 2 == 0}, on_conflict="keep"
                    )
                    outcome = "stored"
                except StaleRevision:
                    outcome = "stale"
        finally:
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == WRITERS
    stored = outcomes.count("stored")
    with factory() as session:
        final = get_configuration(session, configuration_id)
        assert len(final.raw) == stored == 1, outcomes
        assert final.revision == 1 + stored
        assert outcomes.count("stale") == WRITERS - stored


def test_concurrent_decisions_on_different_attributes_all_land(factory: sessionmaker[Session]) -> None:
    """Writers that all read the same revision and decide different attributes: each one is rebased
    onto the others' writes, so every decision is stored (no lost update, no refusal)."""
    from tests.api_orders.conftest import BIKE

    with factory() as session:
        configuration = create_configuration(session, BIKE[1], [], catalog_code=BIKE[0])
        configuration_id = configuration.id
        shown = configuration.state().values()  # a valid configuration: deciding any part of it fits
        session.commit()
    chosen = [(code, value) for code, value in shown.items() if not isinstance(value, frozenset)][:WRITERS]
    assert len(chosen) >= 12
    barrier = threading.Barrier(len(chosen))
    outcomes: list[str] = []
    lock = threading.Lock()

    def write(attribute: str, value: object) -> None:
        outcome = "error"
        try:
            with factory() as session:
                read = get_configuration(session, configuration_id)
                session.commit()
                barrier.wait(30)
                try:
                    add_decision(session, read, {"attribute": attribute, "value": value})
                    outcome = "stored"
                except StaleRevision:
                    outcome = "stale"
        finally:
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=write, args=pair) for pair in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert outcomes.count("stored") == len(chosen), outcomes
    with factory() as session:
        final = get_configuration(session, configuration_id)
        assert sorted(entry["attribute"] for entry in final.raw) == sorted(code for code, _ in chosen)
        assert final.revision == 1 + len(chosen)


def test_concurrent_api_decisions_made_on_one_revision_all_land(app: Flask) -> None:
    """Over HTTP: clients that all saw revision 1 send decisions on different attributes at once;
    every one is stored (rebased), none overwrites another, and the answers' revisions are all different."""
    from tests.api_orders.conftest import BIKE

    client = app.test_client()
    created = client.post("/api/v1/configurations", json={"catalog": BIKE[0], "product": BIKE[1]}).get_json()
    url = f"/api/v1/configurations/{created['id']}"
    shown = {a["code"]: a["value"] for a in created["state"]["attributes"]
             if a["value"] is not None and not isinstance(a["value"], list)}
    chosen = list(shown.items())[:12]
    barrier = threading.Barrier(len(chosen))
    answers: list[tuple[int, Any]] = []
    lock = threading.Lock()

    def send(attribute: str, value: object) -> None:
        own = app.test_client()
        barrier.wait(30)
        response = own.post(f"{url}/decisions", json={"attribute": attribute, "value": value, "revision": 1})
        with lock:
            answers.append((response.status_code, response.get_json().get("revision")))

    threads = [threading.Thread(target=send, args=pair) for pair in chosen]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(status for status, _ in answers) == [200] * len(chosen), answers
    assert sorted(revision for _, revision in answers) == list(range(2, 2 + len(chosen)))
    final = client.get(url).get_json()
    assert sorted(d["attribute"] for d in final["decisions"]) == sorted(code for code, _ in chosen)


def test_a_late_decision_is_refused_when_the_changes_since_its_revision_are_not_known(
    factory: sessionmaker[Session],
) -> None:
    """Rows from before the change log (or older than it reaches) are never guessed: 409, not a rebase."""
    from sqlalchemy import update

    from usecases.records import ConfigurationRecord

    with factory() as session:
        configuration = create_configuration(session, "box", [], catalog_code="tiny-shop")
        add_decision(session, configuration, {"attribute": "size", "value": "small"})
        session.execute(update(ConfigurationRecord).where(ConfigurationRecord.id == configuration.id)
                        .values(changes=None))
        session.commit()
    with factory() as session:
        late = get_configuration(session, configuration.id, revision=1, rebase_decision=True)
        try:
            add_decision(session, late, {"attribute": "width", "value": 200})
        except StaleRevision as exc:
            assert exc.extra["current_revision"] == 2
        else:
            raise AssertionError("a decision made on revision 1 was rebased across an unknown change")
