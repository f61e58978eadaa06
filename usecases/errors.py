"""Errors of the use cases: a stable ``reason`` code, a message, and details.

No status code lives here: ``web.errors`` maps every reason to HTTP in one
table, and the command line prints the message. ``extra`` carries the fields a
caller needs to point at the place (``field``, ``missing``, the current
``configuration`` on a stale write, ...).
"""

from __future__ import annotations

from typing import Any

__all__ = ["UseCaseError"]


class UseCaseError(Exception):
    """A request the use cases refuse, identified by ``reason``.

    >>> err = UseCaseError("invalid_quantity", "quantity must be 1..9", field="quantity")
    >>> err.reason, str(err), err.extra
    ('invalid_quantity', 'quantity must be 1..9', {'field': 'quantity'})
    """

    def __init__(self, reason: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.extra = extra
