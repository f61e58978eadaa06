"""Catalog files (format c2m-catalog/1, YAML or JSON): load, validate, dump.

>>> from catalog.files import load_catalog_text, dump_catalog
>>> catalog = load_catalog_text("format: c2m-catalog/1\\ncode: shop\\nname: {en: Shop, zh-CN: 商店}\\ncurrency: CNY\\n")
>>> catalog.name.get("zh-CN")
'商店'
>>> load_catalog_text(dump_catalog(catalog, "json")) == catalog
True
"""

from __future__ import annotations

from catalog.files.dump import canonical_json, content_hash, document_from_catalog, dump_catalog
from catalog.files.limits import CatalogLimits
from catalog.files.load import catalog_from_document, guess_format, load_catalog_file, load_catalog_text
from catalog.files.problems import CatalogInvalid, Problem
from catalog.files.schema import FORMAT
from catalog.files.validate import ExpressionChecker

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
