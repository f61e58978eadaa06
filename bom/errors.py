"""Errors of the bom package. Every class has a stable machine ``reason``."""

from __future__ import annotations


class BomError(Exception):
    """Root of every bom error."""

    reason = "bom_error"
