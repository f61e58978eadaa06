"""Free texts a buyer writes (engraving, monogram): checked against the product's text fields.

Texts are not solver variables: no rule reads them, so they never change
which configurations are valid. A text is checked on its own: its length
(characters) and its pattern, matched with RE2 (linear time in the text's
length whatever the pattern, so a catalog's pattern cannot stall a request).

>>> from catalog.snapshot import Label, Product, TextField
>>> from decimal import Decimal
>>> field = TextField("engraving", Label("Engraving"), max_length=12, pattern="[A-Za-z ]*")
>>> p = Product("bike", Label("Bike"), Decimal("1"), (), texts=(field,))
>>> check_texts(p, {"engraving": "  Anna  "})
{'engraving': 'Anna'}
>>> check_texts(p, {"engraving": "Anna 4ever"})
Traceback (most recent call last):
...
configurator.texts.InvalidText: invalid text for engraving: 'Anna 4ever' does not match the allowed characters [A-Za-z ]*
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import re2

from catalog.snapshot import Product, TextField
from configurator.errors import ConfiguratorError


class InvalidText(ConfiguratorError):
    """A text is too long, too short, of characters its pattern refuses, or names no text field."""

    reason = "invalid_text"

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"invalid text for {field}: {problem}")
        self.field = field
        self.problem = problem


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)


def check_text(field: TextField, value: object) -> str:
    """The text with surrounding spaces removed, or :class:`InvalidText` naming the field."""
    if not isinstance(value, str):
        raise InvalidText(field.code, f"must be a text, got {type(value).__name__}")
    text = value.strip()
    if "\n" in text or "\r" in text:
        raise InvalidText(field.code, "must be one line")
    if len(text) > field.max_length:
        raise InvalidText(field.code, f"{len(text)} characters; at most {field.max_length}")
    if text and len(text) < field.min_length:
        raise InvalidText(field.code, f"{len(text)} characters; at least {field.min_length}")
    if not text and field.required:
        raise InvalidText(field.code, "required")
    if text and field.pattern is not None and _compiled(field.pattern).fullmatch(text) is None:
        raise InvalidText(field.code, f"{text!r} does not match the allowed characters {field.pattern}")
    return text


def check_texts(product: Product, values: Mapping[str, object]) -> dict[str, str]:
    """Every given text checked (empty ones left out); a required field must be given."""
    fields = {f.code: f for f in product.texts}
    for code in values:
        if code not in fields:
            known = ", ".join(fields) or "none"
            raise InvalidText(code, f"{product.code} has no text field {code!r} (text fields: {known})")
    out: dict[str, str] = {}
    for code, field in fields.items():
        text = check_text(field, values.get(code, ""))
        if text:
            out[code] = text
    return out


__all__ = ["InvalidText", "check_text", "check_texts"]
