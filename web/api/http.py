"""HTTP helpers shared by the API views: problem responses in the document, entity tags.

Entity tags follow RFC 9110: ``If-None-Match`` is compared with the weak
comparison function (``W/"x"`` matches ``"x"``), ``*`` matches any
representation, and a 304 carries the ``ETag`` (and ``Vary``) a 200 would.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema

PROBLEM = "application/problem+json"
BEARER: list[dict[str, list[str]]] = [{"bearerAuth": []}]
JSON, CSV, XML = "application/json", "text/csv", "application/xml"

F = TypeVar("F", bound=Callable[..., Any])


def problems(blp: Blueprint, *codes: int) -> Any:
    """Declare RFC 9457 problem responses for ``codes`` on an operation of ``blp``.

    flask-smorest deep-copies an operation's documentation at each of its
    decorators, and a deep copy of a marshmallow schema rebuilds all its fields:
    with a schema instance per problem response, importing the API rebuilt
    hundreds of them. The documentation only reads the schema (apispec names
    the component ``Problem`` after its class), so the operation's problem
    responses share one instance that is its own deep copy.
    """
    from web.api.schemas import ProblemSchema

    schema = ProblemSchema()
    schema.__deepcopy__ = lambda memo: schema  # type: ignore[attr-defined]

    def decorate(view: Any) -> Any:
        for code in codes:
            view = blp.alt_response(code, schema=schema, content_type=PROBLEM)(view)
        return view

    return decorate


def problems_of(blp: Blueprint) -> Callable[..., Callable[[F], F]]:
    """:func:`problems` bound to ``blp``: ``problems = problems_of(blp)``, then ``@problems(404, 422)``."""

    def bound(*codes: int) -> Callable[[F], F]:
        return problems(blp, *codes)  # type: ignore[no-any-return]

    return bound


def negotiate(offered: tuple[str, ...], what: str = "this document") -> str:
    """The media type of ``offered`` the request's ``Accept`` prefers (the first without one).

    :raise ApiProblem: 406 ``not_acceptable`` listing what is offered.
    """
    from web.errors import ApiProblem

    accept = request.accept_mimetypes
    chosen = accept.best_match(offered) if accept else offered[0]
    if chosen is None:
        raise ApiProblem(
            406, "not_acceptable", f"{what} is available as {', '.join(offered)}", available=list(offered)
        )
    return chosen


def representation(body: str | bytes, mimetype: str, etag: str, *, filename: str | None = None) -> Response:
    """One negotiated representation of a document: its ETag, ``Vary: Accept``, and a CSV as an attachment."""
    response = Response(body, mimetype=mimetype)  # text/csv gets "; charset=utf-8" from werkzeug
    if filename is not None:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.set_etag(etag)
    response.vary.add("Accept")
    return response


def matches(etag: str) -> bool:
    """Whether the request's ``If-None-Match`` names ``etag`` (weak comparison, RFC 9110 §13.1.2)."""
    condition = request.if_none_match
    return bool(condition.star_tag or condition.contains_weak(etag))


def not_modified(etag: str, vary: tuple[str, ...] = ()) -> Response:
    response = Response(status=304)
    response.set_etag(etag)
    for header in vary:
        response.vary.add(header)
    return response


def json_with_etag(schema: Schema, data: Any, *, status: int = 200) -> Response:
    """``data`` dumped with ``schema`` as JSON, with a strong ETag over the body (304 when it matches)."""
    body = json.dumps(schema.dump(data), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    etag = hashlib.sha256(body).hexdigest()[:40]
    if status == 200 and matches(etag):
        return not_modified(etag)
    response = Response(body, status=status, mimetype="application/json")
    response.set_etag(etag)
    return response
