"""Errors of the catalog package. Every class has a stable machine ``reason``."""

from __future__ import annotations


class CatalogError(Exception):
    """Root of every catalog error."""

    reason = "catalog_error"
