"""Read catalog files and documents into a validated ``Catalog``."""

from __future__ import annotations

from pathlib import Path as FilePath

from catalog.files.build import Builder
from catalog.files.limits import DEFAULT_LIMITS, CatalogLimits
from catalog.files.positions import Document, PlainValue, parse_json, parse_yaml, plain_document, to_plain
from catalog.files.problems import CatalogInvalid, Problem
from catalog.files.repeat import unroll_repeats
from catalog.files.schema import schema_problems
from catalog.files.validate import ExpressionChecker, Validator, clip_oversized_lists
from catalog.gcpause import gc_paused
from catalog.snapshot import Catalog

FORMATS = ("yaml", "json")


def guess_format(filename: str, text: str) -> str:
    """Guess "json" or "yaml" from the file suffix, or else from the content.

    >>> guess_format("bikes.yml", ""), guess_format("<string>", '  {"format": 1}')
    ('yaml', 'json')
    """
    suffix = FilePath(filename).suffix.lower()
    if suffix == ".json":
        return "json"
    if suffix in (".yaml", ".yml"):
        return "yaml"
    return "json" if text.lstrip("\ufeff \t\r\n")[:1] in ("{", "[") else "yaml"


def load_catalog_text(
    text: str,
    *,
    filename: str = "<string>",
    format: str | None = None,
    expression_checker: ExpressionChecker | None = None,
    limits: CatalogLimits = DEFAULT_LIMITS,
) -> Catalog:
    """Parse and validate catalog text (YAML or JSON).

    Raises ``CatalogInvalid`` listing every problem with its position.
    ``limits`` bounds attribute domains (see ``catalog.files.limits``).

    >>> text = "format: c2m-catalog/1\\ncode: shop\\nname: Shop\\ncurrency: CNY\\n"
    >>> load_catalog_text(text).code
    'shop'
    >>> load_catalog_text(text.replace("CNY", "yuan"), filename="shop.yaml")
    Traceback (most recent call last):
    ...
    catalog.files.problems.CatalogInvalid: 1 problem in catalog
    shop.yaml:4:11: currency: 'yuan' is not a 3-letter ISO 4217 currency code such as CNY or EUR
    """
    chosen = format or guess_format(filename, text)
    if chosen not in FORMATS:
        raise ValueError(f"unknown catalog file format {chosen!r}: expected 'yaml' or 'json'")
    text = text.removeprefix("\ufeff")
    doc = parse_json(text, filename) if chosen == "json" else parse_yaml(text, filename)
    return _validated(doc, expression_checker, limits)


def load_catalog_file(
    path: str | FilePath,
    *,
    expression_checker: ExpressionChecker | None = None,
    limits: CatalogLimits = DEFAULT_LIMITS,
) -> Catalog:
    """Read a ``.yaml``/``.yml``/``.json`` catalog file (UTF-8).

    Unreadable files and bad encodings are reported as ``CatalogInvalid``
    too, so a command line can print every problem the same way.
    """
    name = str(path)
    try:
        raw = FilePath(path).read_bytes()
    except OSError as error:
        raise CatalogInvalid(
            [Problem(name, 0, 0, "", f"cannot read the file: {error.strerror or error}")]
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        good = raw[: error.start].decode("utf-8")
        line = good.count("\n") + 1
        column = len(good) - (good.rfind("\n") + 1) + 1
        message = f"the file is not valid UTF-8 (byte 0x{raw[error.start]:02x}); save it as UTF-8"
        raise CatalogInvalid([Problem(name, line, column, "", message)]) from None
    return load_catalog_text(text, filename=name, expression_checker=expression_checker, limits=limits)


def catalog_from_document(
    document: object,
    *,
    filename: str = "<document>",
    expression_checker: ExpressionChecker | None = None,
    limits: CatalogLimits = DEFAULT_LIMITS,
) -> Catalog:
    """Validate a plain document (e.g. from ``document_from_catalog`` or a JSON
    request body) into a ``Catalog``; problems have line and column 0.

    >>> catalog_from_document({"format": "c2m-catalog/1", "code": "shop", "name": "Shop", "currency": "EUR"}).currency
    'EUR'
    """
    with gc_paused():  # a large catalog is a million objects that all stay alive
        doc, data = plain_document(document, filename)
        return _validated(doc, expression_checker, limits, data)


_PARSED: PlainValue = object()


def _validated(
    doc: Document, checker: ExpressionChecker | None, limits: CatalogLimits, data: PlainValue = _PARSED
) -> Catalog:
    """``data``: the plain copy of a document built from plain data (default: ``to_plain`` of its tree)."""
    problems = list(doc.problems)
    if data is _PARSED:
        if doc.root is None:
            raise CatalogInvalid(problems)
        data = to_plain(doc.root)
    problems.extend(clip_oversized_lists(doc, data, limits))
    found, dirty = schema_problems(data, doc)
    problems.extend(found)
    found, unrolled = unroll_repeats(data, doc, dirty)
    problems.extend(found)
    if unrolled:  # else texts naming the repeated component's attributes would only report follow-on problems
        problems.extend(Validator(doc, dirty, checker, limits).run(data))
    if problems:
        raise CatalogInvalid(problems)
    assert isinstance(data, dict)
    return Builder(doc).catalog(data)
