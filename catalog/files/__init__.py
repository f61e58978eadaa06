"""Catalog files (format c2m-catalog/1, YAML or JSON): load, validate, dump.

>>> from catalog.files import load_catalog_text, dump_catalog
>>> catalog = load_catalog_text("format: c2m-catalog/1\\ncode: shop\\nname: {en: Shop, zh-CN: 商店}\\ncurrency: CNY\\n")
>>> catalog.name.get("zh-CN")
'商店'
>>> load_catalog_text(dump_catalog(catalog, "json")) == catalog
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from catalog.files.dump import canonical_json, content_hash, document_from_catalog, dump_catalog
    from catalog.files.limits import CatalogLimits
    from catalog.files.load import catalog_from_document, guess_format, load_catalog_file, load_catalog_text
    from catalog.files.problems import CatalogInvalid, Problem
    from catalog.files.schema import FORMAT
    from catalog.files.validate import ExpressionChecker

# Imported on first use (PEP 562): reading a file does not load the writer, and the reverse.
_LAZY: dict[str, str] = {
    "canonical_json": "dump",
    "content_hash": "dump",
    "document_from_catalog": "dump",
    "dump_catalog": "dump",
    "CatalogLimits": "limits",
    "catalog_from_document": "load",
    "guess_format": "load",
    "load_catalog_file": "load",
    "load_catalog_text": "load",
    "CatalogInvalid": "problems",
    "Problem": "problems",
    "FORMAT": "schema",
    "ExpressionChecker": "validate",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "FORMAT",
    "CatalogInvalid",
    "CatalogLimits",
    "ExpressionChecker",
    "Problem",
    "canonical_json",
    "catalog_from_document",
    "content_hash",
    "document_from_catalog",
    "dump_catalog",
    "guess_format",
    "load_catalog_file",
    "load_catalog_text",
]
