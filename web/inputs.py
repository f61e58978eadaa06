"""Strict request input: what reaches a view is bounded and well-formed, or the client gets a 4xx.

- **One body size limit** (``MAX_CONTENT_LENGTH``, ``C2M_MAX_BODY_BYTES``, default 4 MiB)
  whatever the transfer encoding: a body announced larger by ``Content-Length``
  is refused before it is read, and a ``Transfer-Encoding: chunked`` body is
  read up to the limit and refused with **413** when it goes past it — never
  silently cut (the WSGI middleware :class:`BodyLimit`).
- **Text**: a NUL character in the path, a query parameter or a form field is
  refused with 400 naming it (databases reject NUL, and no code, name or text
  of this application contains one).
- **JSON bodies** are checked before any view sees them: nesting deeper than
  :data:`MAX_JSON_DEPTH`, NUL characters, lone surrogates (``"\\ud800"``, which
  no UTF-8 text or database accepts), ``NaN``/``Infinity`` and integers beyond
  :data:`MAX_JSON_INT` (2^31 - 1: versions, quantities, order numbers) each get
  **422** naming the field (``field``: a JSON path such as ``decisions[0].value``).
- **Path integers** (``<int:number>``) beyond 2^31 - 1 do not match (404), and
  query parameters that are whole numbers beyond it get 400 naming the parameter.
- **Content-Type**: a write to the API with a body must be JSON (the catalog
  upload also takes YAML, plain text and multipart): anything else is **415**
  naming the accepted types.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request
from werkzeug.exceptions import BadRequest, NotFound, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from web.errors import PROBLEM_JSON, ApiProblem

MAX_JSON_DEPTH = 32
"""Nesting of arrays and objects in a JSON request body (the API's documents need about six)."""
MAX_JSON_INT = 2**31 - 1
"""Largest absolute integer in a JSON body, a query parameter or a path."""
JSON_TYPES = ("application/json", "application/problem+json", "application/merge-patch+json")
UPLOAD_ENDPOINTS: dict[str, tuple[str, ...]] = {
    "catalog.upload_catalog": (
        "application/json",
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        "text/plain",
        "multipart/form-data",
    ),
}
"""API endpoints that take other bodies than JSON, with the types they accept."""

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class BodyLimit:
    """WSGI middleware: one size limit for every request body, announced or chunked.

    ``limit()`` is read per request (the app's ``MAX_CONTENT_LENGTH``), so tests and
    deployments change it through the configuration.
    """

    def __init__(self, app: WsgiApp, limit: Callable[[], int | None]) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        limit = self.limit()
        if limit is None:
            return self.app(environ, start_response)
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length.strip() and not chunked:
            try:
                announced = int(length)
            except ValueError:
                return _problem(start_response, 400, "bad_request", "Content-Length is not a number")
            if announced > limit:
                return _too_large(start_response, limit)
            return self.app(environ, start_response)
        if chunked or environ.get("wsgi.input_terminated"):
            stream = environ["wsgi.input"]
            body = bytearray()
            while len(body) <= limit:
                chunk = stream.read(min(65536, limit + 1 - len(body)))
                if not chunk:
                    break
                body.extend(chunk)
            if len(body) > limit:
                return _too_large(start_response, limit)
            environ["wsgi.input"] = io.BytesIO(bytes(body))
            environ["CONTENT_LENGTH"] = str(len(body))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input_terminated"] = False
        return self.app(environ, start_response)


def _problem(start_response: StartResponse, status: int, reason: str, detail: str) -> list[bytes]:
    from werkzeug.http import HTTP_STATUS_CODES

    title = HTTP_STATUS_CODES.get(status, "Error")
    body = json.dumps(
        {"type": f"about:blank#{reason}", "title": title, "status": status, "detail": detail, "reason": reason}
    ).encode()
    start_response(
        f"{status} {title}",
        [("Content-Type", PROBLEM_JSON), ("Content-Length", str(len(body))), ("Connection", "close")],
    )
    return [body]


def _too_large(start_response: StartResponse, limit: int) -> list[bytes]:
    return _problem(
        start_response,
        413,
        "request_entity_too_large",
        f"the request body is larger than {limit} bytes (the limit for every body, chunked or not)",
    )


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` path parts within 0..2^31 - 1; a longer number does not match (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_JSON_INT)
        super().__init__(map, *args, **kwargs)


# --------------------------------------------------------------------------- checks


def _api() -> bool:
    return request.path.startswith("/api/")


def _refuse(status: int, reason: str, detail: str, field: str | None = None) -> None:
    if _api():
        raise ApiProblem(status, reason, detail, field=field)
    if status == 404:
        raise NotFound(detail)
    if status == 415:
        raise UnsupportedMediaType(detail)
    raise BadRequest(detail)


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not valid Unicode text)"
    return None


def check_request() -> None:
    """``before_request``: path, query, form and JSON body checks (see the module doc)."""
    problem = _text_problem(request.path)
    if problem:
        _refuse(404 if not _api() else 400, "bad_request", f"the path {problem}", "path")
    for name, value in request.args.items(multi=True):
        problem = _text_problem(name) or _text_problem(value)
        if problem:
            _refuse(400, "bad_request", f"query parameter {name!r} {problem}", name)
        stripped = value.strip().lstrip("+-")
        if stripped.isdigit() and (len(stripped) > 12 or int(stripped) > MAX_JSON_INT):
            _refuse(400, "out_of_range", f"query parameter {name!r} is out of range (at most {MAX_JSON_INT})", name)
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE") and not request.content_length:
        return
    if not request.content_length:
        return
    mimetype = request.mimetype
    if _api():
        accepted = UPLOAD_ENDPOINTS.get(request.endpoint or "", JSON_TYPES)
        if mimetype not in accepted:
            _refuse(
                415,
                "unsupported_media_type",
                f"Content-Type {mimetype or '(none)'!r} is not accepted here; send {', '.join(accepted)}",
                "Content-Type",
            )
    if mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in request.form.items(multi=True):
            problem = _text_problem(name) or _text_problem(value)
            if problem:
                _refuse(400, "bad_request", f"form field {name!r} {problem}", name)
        return
    if mimetype in JSON_TYPES or mimetype.endswith("+json"):
        # A catalog upload bounds its numbers itself (amounts go beyond 2^31), with file positions.
        check_json_body(request.get_data(cache=True), integers=request.endpoint not in UPLOAD_ENDPOINTS)


def check_json_body(raw: bytes, *, integers: bool = True) -> None:
    """Parse a JSON body and check it (depth, text, numbers); the view parses it again from cache.

    Syntax errors are left to the view's own parser (which answers 400 as usual).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse(400, "bad_request", f"the body is not valid UTF-8 (byte {exc.start})", "body")
        return
    try:
        document = json.loads(text, parse_constant=_no_constant)
    except _Constant as exc:
        _refuse(422, "validation_error", f"{exc.args[0]} is not a JSON number this API accepts", "body")
        return
    except RecursionError:
        _refuse(422, "validation_error", f"the JSON body is nested deeper than {MAX_JSON_DEPTH} levels", "body")
        return
    except ValueError:  # JSON syntax errors (also int strings over Python's digit limit)
        if _digit_run(text) > 4000:
            _refuse(422, "validation_error", f"a JSON number in the body is out of range (at most {MAX_JSON_INT})", "body")
        return
    _walk(document, integers=integers)


class _Constant(ValueError):
    pass


def _no_constant(name: str) -> Any:
    raise _Constant(name)


def _digit_run(text: str) -> int:
    longest = run = 0
    for ch in text:
        run = run + 1 if ch.isdigit() else 0
        longest = max(longest, run)
    return longest


def _walk(document: Any, *, integers: bool = True) -> None:
    """Iterative walk (no recursion): depth, NUL, surrogates, integer range, finite floats."""
    stack: list[tuple[Any, str, int]] = [(document, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            if depth >= MAX_JSON_DEPTH:
                _refuse(422, "validation_error", f"{path or 'the body'} is nested deeper than {MAX_JSON_DEPTH} levels", path or "body")
            for key, item in value.items():
                problem = _text_problem(key)
                where = f"{path}.{key}" if path else key
                if problem:
                    shown = key.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
                    _refuse(422, "validation_error", f"the key {shown!r} at {path or 'the top level'} {problem}", path or "body")
                stack.append((item, where, depth + 1))
        elif isinstance(value, list):
            if depth >= MAX_JSON_DEPTH:
                _refuse(422, "validation_error", f"{path or 'the body'} is nested deeper than {MAX_JSON_DEPTH} levels", path or "body")
            stack.extend((item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
        elif isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                _refuse(422, "validation_error", f"{path or 'the body'}: the text {problem}", path or "body")
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, int):
            if integers and abs(value) > MAX_JSON_INT:
                _refuse(422, "validation_error", f"{path or 'the body'}: {value} is out of range (at most {MAX_JSON_INT})", path or "body")
        elif isinstance(value, float) and not math.isfinite(value):
            _refuse(422, "validation_error", f"{path or 'the body'}: the number is out of range", path or "body")


def init_app(app: Flask) -> None:
    """Install the body limit middleware, the bounded ``int`` converter and the request checks."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    app.wsgi_app = BodyLimit(app.wsgi_app, lambda: app.config.get("MAX_CONTENT_LENGTH"))  # type: ignore[method-assign]
    app.before_request(check_request)
