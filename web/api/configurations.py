"""API: configurations (public, rate-limited, addressed by an unguessable UUID).

A configuration is created pinned to the catalog version in force and keeps
that version; every response carries the re-computed state in the language of
``Accept-Language``. Stored decisions that no longer validate are listed in
``invalid_decisions`` instead of disappearing. Greyed values carry reasons
only with ``?reasons=true`` or through ``GET .../explain`` (one diagnosis per
value costs more than the whole state; see ``usecases.configurations``).

Problems: unknown configuration/product 404; unknown attribute or value 422
with ``field`` naming where it is in the request; contradicting decisions 409
(reason ``conflict``) with the culprit decisions and rules; a body of the wrong
shape 422 with per-field messages; malformed JSON 400.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import Response, request
from flask_smorest import Blueprint
from sqlalchemy.orm import Session

from configurator import ConflictError, RuleRef
from configurator.decisions import AnyDecision
from configurator.texts import InvalidText
from usecases import configurations as service
from usecases.configurations import Configuration
from usecases.errors import UseCaseError
from web import database
from web.api.catalog import ACCEPT_LANGUAGE, request_locale
from web.api.http import problems_of
from web.api.schemas import (
    AddDecisionSchema,
    CompleteSchema,
    CompletionSchema,
    ConfigurationSchema,
    CreateConfigurationSchema,
    ExplainQuerySchema,
    ExplanationSchema,
    RemoveDecisionQuerySchema,
    RepairResultSchema,
    RepairSchema,
    ReplaceDecisionsSchema,
    ReplaceTextsSchema,
    RevisionQuerySchema,
    SharedConfigurationSchema,
    StateQuerySchema,
)
from web.errors import ApiProblem, status_of
from web.limits import public

blp = Blueprint(
    "configurations",
    __name__,
    url_prefix="/api/v1",
    description="Configure a product: decide, explain, repair.",
)

F = TypeVar("F", bound=Callable[..., Any])


problems = problems_of(blp)


def _rules(rules: tuple[RuleRef, ...], locale: str) -> list[dict[str, str]]:
    return [{"rule_id": r.rule_id, "message": r.message.get(locale)} for r in rules]


def _conflict_problem(
    culprits: tuple[AnyDecision, ...], rules: tuple[RuleRef, ...], detail: str
) -> ApiProblem:
    locale = request_locale()
    return ApiProblem(
        status_of("conflict"),
        "conflict",
        detail,
        culprits=[service.decision_to_json(d) for d in culprits],
        rules=_rules(rules, locale),
    )


def _stale_problem(exc: service.StaleRevision) -> ApiProblem:
    """409 ``stale_revision`` carrying the configuration as it is stored now."""
    session = database.session()
    session.rollback()
    current = service.get_configuration(session, exc.configuration_id)
    return ApiProblem(
        status_of(exc.reason),
        exc.reason,
        exc.detail,
        current_revision=current.revision,
        configuration=configuration_json(current, locale=request_locale()),
    )


def conflicts_as_problems(view: F) -> F:
    """Turn decision conflicts into problems that name the culprits and the rules, and a stale
    revision into a problem carrying the current configuration."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except service.DecisionConflict as exc:
            raise _conflict_problem(exc.culprits, exc.rules, str(exc)) from None
        except ConflictError as exc:
            raise _conflict_problem(exc.conflict.decisions, exc.conflict.rules, str(exc)) from None
        except service.DecisionNotFound as exc:
            raise ApiProblem(status_of(exc.reason), exc.reason, str(exc), attribute=exc.attribute) from None
        except service.NothingToUndo as exc:
            raise ApiProblem(status_of(exc.reason), exc.reason, str(exc)) from None
        except service.StaleRevision as exc:
            raise _stale_problem(exc) from None

    return wrapper  # type: ignore[return-value]


def configuration_json(
    configuration: Configuration,
    *,
    reasons: bool = False,
    with_state: bool = True,
    locale: str | None = None,
) -> dict[str, Any]:
    """The API form of a configuration: pinned version, stored decisions, invalid ones, state.

    Exactly the shape of :class:`ConfigurationSchema` (checked by the schema
    conformance test), with datetimes already in ISO 8601.
    """
    record = configuration.record
    document: dict[str, Any] = {
        "id": record.id,
        "share_token": record.share_token,
        "catalog": record.catalog_code,
        "version": record.version_number,
        "content_hash": record.content_hash,
        "revision": record.revision,
        "product": record.product_code,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "decisions": configuration.raw,
        "invalid_decisions": [
            {"index": i.index, "decision": i.decision, "reason": i.reason, "detail": i.detail}
            for i in configuration.invalid
        ],
        "texts": configuration.texts,
    }
    if with_state:
        document["state"] = configuration.document(locale or request_locale(), reasons=reasons)
    return document


def respond(document: dict[str, Any], status: int = 200) -> Response:
    """A JSON response built directly: the state is the bulk of most answers and is already
    rendered (and cached) in its documented shape, so a second pass through marshmallow
    would only cost time (it dominated the state endpoint's profile)."""
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, mimetype="application/json")


def respond_configuration(
    configuration: Configuration,
    status: int = 200,
    *,
    reasons: bool = False,
    shared: bool = False,
    conditional: bool = False,
) -> Response:
    """:func:`configuration_json` as a response, splicing in the cached JSON bytes of the state.

    With ``conditional`` (the GET operations) the response carries an ``ETag``
    (see :func:`state_etag`) and answers ``304 Not Modified`` without a body
    when ``If-None-Match`` names it; ``Cache-Control: private, no-cache`` lets
    the buyer's browser keep the document but ask every time (a decision made
    in another tab must show), and no shared cache keep it (the id is a secret).
    """
    locale = request_locale()
    head = configuration_json(configuration, reasons=reasons, with_state=False, locale=locale)
    if shared:  # read-only: the id (which allows changes) and the token itself stay private
        del head["id"], head["share_token"], head["revision"]
    text = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    state = configuration.rendered(locale, reasons=reasons)
    if not conditional:
        return Response(_splice(text, state.body), status=status, mimetype="application/json")
    etag = state_etag(text, state.digest)
    if request.if_none_match.contains_weak(etag) or request.if_none_match.star_tag:
        response = Response(status=304)
    else:
        response = Response(_splice(text, state.body), status=status, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Accept-Language"  # a fresh response: no Vary to merge with yet
    return response


def _splice(head: bytes, state: bytes) -> bytes:
    """The head object (without its closing brace) and ``"state":`` the state bytes."""
    return b"".join((head[:-1], b',"state":', state, b"}"))


def state_etag(head: bytes, state_digest: str) -> str:
    """The entity tag of a configuration response: SHA-256 over the head bytes and the state's digest.

    The state's digest stands for its bytes, so the tag changes exactly when
    the body would: another decision, another ``updated_at``, another language
    or ``reasons`` (the state part differs), a rebase (another version).

    >>> state_etag(b'{"id":"a"}', "00") == state_etag(b'{"id":"a"}', "00"), state_etag(b'{}', "00") == state_etag(b'{}', "01")
    (True, False)
    """
    return hashlib.sha256(head + b"\0" + state_digest.encode("ascii")).hexdigest()[:40]


def _load(configuration_id: str, revision: int | None = None, *, rebase_decision: bool = False) -> Configuration:
    return service.get_configuration(
        database.session(), configuration_id, revision=revision, rebase_decision=rebase_decision
    )


ID_PATH = "/configurations/<string(maxlength=64):configuration_id>"


@blp.route("/configurations", methods=["POST"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Start a configuration")
@blp.arguments(CreateConfigurationSchema())
@blp.response(201, ConfigurationSchema)
@problems(400, 404, 409, 422, 429)
@conflicts_as_problems
def create(body: dict[str, Any]) -> Response:
    """Create a configuration of ``product`` (optionally with decisions), pinned to the version in force.

    Keep ``id`` private (it allows changes); ``share_token`` gives read-only access via ``/shared/{token}``.
    """
    with _texts_problems():
        configuration = service.create_configuration(
            database.session(),
            body["product"],
            body["decisions"],
            catalog_code=body.get("catalog"),
            on_conflict=body["on_conflict"],
            texts=body["texts"],
        )
    return respond_configuration(configuration, 201)


IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "required": False,
    "schema": {"type": "string"},
    "description": "The ETag of a response received before: 304 without a body if nothing changed.",
}
CONDITIONAL_HEADERS = {
    "ETag": {
        "schema": {"type": "string"},
        "description": "Changes whenever the body would (decisions, state, language, version).",
    },
    "Cache-Control": {"schema": {"type": "string"}, "description": "private, no-cache"},
}
NOT_MODIFIED = "Not modified: If-None-Match names the current ETag (no body)."


@blp.route(ID_PATH, methods=["GET"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE, IF_NONE_MATCH], summary="A configuration and its state")
# An instance, not the class: webargs would build (and deep-copy the fields of) a new schema per request.
@blp.arguments(StateQuerySchema(), location="query")
@blp.response(200, ConfigurationSchema, headers=CONDITIONAL_HEADERS)
@blp.alt_response(304, description=NOT_MODIFIED, headers=CONDITIONAL_HEADERS)
@problems(404, 422, 429)
def get(query: dict[str, Any], configuration_id: str) -> Response:
    """Re-validated against the pinned version on every read; with ``If-None-Match`` a 304 when unchanged."""
    configuration = service.read_configuration(database.engine(), configuration_id)
    return respond_configuration(configuration, reasons=query["reasons"], conditional=True)


@blp.route("/shared/<string(maxlength=128):share_token>", methods=["GET"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE, IF_NONE_MATCH], summary="A shared configuration (read-only)")
@blp.response(200, SharedConfigurationSchema, headers=CONDITIONAL_HEADERS)
@blp.alt_response(304, description=NOT_MODIFIED, headers=CONDITIONAL_HEADERS)
@problems(404, 429)
def shared(share_token: str) -> Response:
    configuration = service.get_shared(database.read_session(), share_token)
    return respond_configuration(configuration, shared=True, conditional=True)


@blp.route(f"{ID_PATH}/decisions", methods=["POST"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Add a decision")
@blp.arguments(AddDecisionSchema())
@blp.response(200, ConfigurationSchema)
@problems(400, 404, 409, 422, 429)
@conflicts_as_problems
def add_decision(body: dict[str, Any], configuration_id: str) -> Response:
    """Add one decision. A decision that contradicts earlier ones is a 409 naming the culprits,
    unless ``on_conflict`` is ``keep`` (then the state reports the conflict).

    A decision made on an older ``revision`` is applied on top of the stored one when no later
    revision changed its attribute and it still fits; otherwise 409 ``stale_revision`` with the
    current configuration."""
    on_conflict = body.pop("on_conflict")
    revision = body.pop("revision", None)
    session = _single_statement_session()
    configuration = service.add_decision(
        session,
        service.get_configuration(session, configuration_id, revision=revision, rebase_decision=True),
        body,
        on_conflict=on_conflict,
    )
    return respond_configuration(configuration)


def _single_statement_session() -> Session:
    """The request's session, on PostgreSQL in autocommit: a click is one SELECT and one UPDATE
    conditional on the revision read, each atomic by itself, so a transaction around them adds
    nothing but the BEGIN and COMMIT round trips (at READ COMMITTED it isolates nothing more).
    SQLite keeps its transaction (its explicit ``BEGIN`` makes the read and the write one unit)."""
    session = database.session()
    if not session.in_transaction() and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    return session


@blp.route(f"{ID_PATH}/decisions", methods=["PUT"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Replace every decision")
@blp.arguments(ReplaceDecisionsSchema())
@blp.response(200, ConfigurationSchema)
@problems(400, 404, 409, 422, 429)
@conflicts_as_problems
def replace_decisions(body: dict[str, Any], configuration_id: str) -> Response:
    configuration = service.replace_decisions(
        database.session(),
        _load(configuration_id, body.get("revision")),
        body["decisions"],
        on_conflict=body["on_conflict"],
    )
    return respond_configuration(configuration)


@contextmanager
def _texts_problems() -> Iterator[None]:
    """A text that cannot be kept: 422 ``invalid_text`` naming ``texts.<code>``."""
    try:
        yield
    except InvalidText as exc:
        raise UseCaseError("invalid_text", str(exc), field=f"texts.{exc.field}") from None


@blp.route(f"{ID_PATH}/texts", methods=["PUT"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Replace the buyer's texts")
@blp.arguments(ReplaceTextsSchema())
@blp.response(200, ConfigurationSchema)
@problems(400, 404, 409, 422, 429)
def replace_texts(body: dict[str, Any], configuration_id: str) -> Response:
    """Replace the configuration's free texts (engraving, monogram); the decisions stay as they are.
    Nothing is stored when one text cannot be kept (422 ``invalid_text``, ``field`` ``texts.<code>``)."""
    with _texts_problems():
        configuration = service.set_texts(
            database.session(), _load(configuration_id, body.get("revision")), body["texts"]
        )
    return respond_configuration(configuration)


@blp.route(f"{ID_PATH}/decisions/<string(maxlength=200):attribute>", methods=["DELETE"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Remove the decision on an attribute (or one set element)")
@blp.arguments(RemoveDecisionQuerySchema, location="query")
@blp.response(200, ConfigurationSchema)
@problems(404, 422, 429)
@conflicts_as_problems
def remove_decision(query: dict[str, Any], configuration_id: str, attribute: str) -> Response:
    configuration = service.remove_decision(
        database.session(), _load(configuration_id, query.get("revision")), attribute, query.get("element")
    )
    return respond_configuration(configuration)


@blp.route(f"{ID_PATH}/undo", methods=["POST"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Undo the last decision")
@blp.arguments(RevisionQuerySchema, location="query")
@blp.response(200, ConfigurationSchema)
@problems(404, 409, 422, 429)
@conflicts_as_problems
def undo(query: dict[str, Any], configuration_id: str) -> Response:
    return respond_configuration(service.undo(database.session(), _load(configuration_id, query.get("revision"))))


@blp.route(f"{ID_PATH}/explain", methods=["GET"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Why a value is not possible")
@blp.arguments(ExplainQuerySchema, location="query")
@blp.response(200, ExplanationSchema)
@problems(404, 422, 429)
def explain(query: dict[str, Any], configuration_id: str) -> dict[str, Any]:
    """The minimal set of the buyer's decisions and the rules that rule ``attribute=value`` out
    (``possible: true`` and empty lists when it is possible after all)."""
    configuration = _load(configuration_id)
    why = service.explain(configuration, query["attribute"], query["value"], included=query["included"])
    return service.explanation_document(why, request_locale())


@blp.route(f"{ID_PATH}/repair", methods=["POST"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="Decisions to drop so a value becomes possible")
@blp.arguments(RepairSchema)
@blp.response(200, RepairResultSchema)
@problems(400, 404, 409, 422, 429)
@conflicts_as_problems
def repair(body: dict[str, Any], configuration_id: str) -> Response:
    """A minimal set of decisions to drop (the oldest first) so ``attribute=value`` becomes possible;
    with ``apply``, the repaired decisions are stored. 422 ``value_impossible`` when no repair helps."""
    fix, configuration = service.repair(
        database.session(),
        _load(configuration_id),
        body["attribute"],
        body["value"],
        included=body["included"],
        apply=body["apply"],
    )
    return respond(
        {
            "drop": [service.decision_to_json(d) for d in fix.drop],
            "keep": [service.decision_to_json(d) for d in fix.keep],
            "decisions": [service.decision_to_json(d) for d in fix.decisions],
            "applied": body["apply"],
            "configuration": configuration_json(configuration) if body["apply"] else None,
        }
    )


@blp.route(f"{ID_PATH}/complete", methods=["POST"])
@public
@blp.doc(parameters=[ACCEPT_LANGUAGE], summary="A full valid configuration extending the decisions")
@blp.arguments(CompleteSchema())
@blp.response(200, CompletionSchema)
@problems(400, 404, 409, 422, 429)
@conflicts_as_problems
def complete(body: dict[str, Any], configuration_id: str) -> Response:
    """``defaults`` (defaults, then first possible values) or ``cheapest`` (minimal total price);
    with ``apply`` every remaining attribute is decided and stored."""
    values, configuration = service.complete(
        database.session(), _load(configuration_id), body["objective"], apply=body["apply"]
    )
    return respond(
        {
            "objective": body["objective"],
            "values": {code: service.json_value(v) for code, v in values.items()},
            "applied": body["apply"],
            "configuration": configuration_json(configuration) if body["apply"] else None,
        }
    )
