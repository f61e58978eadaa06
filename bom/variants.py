"""Variant parts: a BOM line item such as ``TOP-{top}`` chosen by attribute values.

Each ``{attribute}`` placeholder is replaced by the attribute's value written
in upper case (``oak`` gives ``TOP-OAK``; ints and decimals as written,
``12.5``; bools ``TRUE``/``FALSE``), and the result must be a part or module of
the catalog. The catalog checks resolve every placeholder combination that a
valid configuration reaches (see ``bom.checks.variant_findings``).

>>> placeholders("TOP-{top}-{width}")
('top', 'width')
>>> variant_code("TOP-{top}-{width}", {"top": "oak", "width": 1200})
'TOP-OAK-1200'
>>> variant_code("BOLT", {})
'BOLT'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders(item: str) -> tuple[str, ...]:
    """The attribute codes an item template names, in order, without repeats."""
    return tuple(dict.fromkeys(_PLACEHOLDER.findall(item)))


def is_variant(item: str) -> bool:
    return "{" in item


def shown(value: object) -> str:
    """A value as it appears inside a variant code.

    >>> shown(True), shown(Decimal("12.50")), shown("oak")
    ('TRUE', '12.50', 'OAK')
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value).upper()


def variant_code(item: str, values: Mapping[str, object]) -> str:
    """The item code for these attribute values (``KeyError`` for a value missing from ``values``)."""
    if "{" not in item:
        return item
    return _PLACEHOLDER.sub(lambda m: shown(values[m.group(1)]), item)


__all__ = ["is_variant", "placeholders", "shown", "variant_code"]
