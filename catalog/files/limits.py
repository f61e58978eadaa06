"""Bounds on what a catalog file may say, so that a valid catalog is also a usable one.

A catalog is checked for meaning, not just syntax: an int attribute ``0..999999``
is well-formed but offers a million values to every buyer and to the solver; a
``lead_time_days`` of 999999999999 or a cost of ``1e999999999`` pass a type check
but make every later order fail. The validator refuses such values with the
file position, naming the limit.

Numeric bounds (fixed; the catalog format documents them):

- :data:`MAX_NUMBER_DIGITS` digits in any number written in a file;
- :data:`MAX_INTEGER`: int attribute bounds, defaults, steps, table cells;
- :data:`MAX_LEAD_TIME_DAYS` for parts, modules and products;
- :data:`MAX_AMOUNT` for costs, base prices and price amounts, with at most
  :data:`MAX_DECIMAL_PLACES` decimal places;
- :data:`MAX_QUANTITY` for quantities written as numbers;
- :data:`MAX_POSITION` for BOM positions and routing operation numbers.

Domain-size limits (:class:`CatalogLimits`; a deployment may lower or raise them):
values of one attribute, and values of all attributes of one product or
configurable module together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

MAX_NUMBER_DIGITS = 30
"""Digits (before any exponent) in one number of a catalog file."""
MAX_INTEGER = 1_000_000_000
"""Largest absolute value of an integer in a catalog (attribute bounds, defaults, cells)."""
MAX_LEAD_TIME_DAYS = 3650
"""Ten years: the largest lead time of a part, module or product."""
MAX_AMOUNT = Decimal("1000000000000")
"""Largest absolute money amount (cost, base price, price amount): 10^12 in the catalog's currency."""
MAX_DECIMAL_PLACES = 6
"""Decimal places of a money amount, a percentage or a scrap rate."""
MAX_QUANTITY = Decimal("1000000")
"""Largest quantity written as a number on a BOM line or as a routing time (minutes)."""
MAX_PERCENT = Decimal("1000")
"""Largest absolute percentage surcharge or discount."""
MAX_POSITION = 1_000_000
"""Largest BOM position, routing operation number or requirement count."""

DEFAULT_MAX_ATTRIBUTE_VALUES = 10_000
"""Values one attribute may offer: int range size, enum values, set elements."""
DEFAULT_MAX_MODEL_VALUES = 250_000
"""Values of every attribute of one product (or configurable module) added together."""


@dataclass(frozen=True, slots=True)
class CatalogLimits:
    """Domain-size limits applied by the validator.

    >>> CatalogLimits().max_attribute_values
    10000
    """

    max_attribute_values: int = DEFAULT_MAX_ATTRIBUTE_VALUES
    max_model_values: int = DEFAULT_MAX_MODEL_VALUES


DEFAULT_LIMITS = CatalogLimits()


def digits_of(number_text: str) -> int:
    """How many digits a number's text has before its exponent.

    >>> digits_of("-12.50e3"), digits_of("7")
    (4, 1)
    """
    mantissa = number_text.lower().split("e", 1)[0]
    return sum(ch.isdigit() for ch in mantissa)


def too_many_digits(number_text: str) -> str | None:
    """The problem with a number that has more than :data:`MAX_NUMBER_DIGITS` digits, else None.

    >>> too_many_digits("1" * 40)
    'a number with 40 digits: at most 30 digits are accepted'
    >>> too_many_digits("12") is None
    True
    """
    count = digits_of(number_text)
    if count > MAX_NUMBER_DIGITS:
        return f"a number with {count} digits: at most {MAX_NUMBER_DIGITS} digits are accepted"
    return None


def shorten(text: str, width: int = 40) -> str:
    """``text`` cut to ``width`` characters for an error message.

    >>> shorten("x" * 50, 10)
    'xxxxxxxxx…'
    """
    return text if len(text) <= width else text[: width - 1] + "…"


_UNSTORABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why a text cannot be stored (a control character such as NUL, or a lone surrogate), else None.

    >>> text_problem("a\\u0000b".encode().decode("unicode_escape"))
    'the text contains the control character U+0000'
    >>> text_problem("Frame 车架") is None
    True
    """
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    ch = found.group(0)
    if "\ud800" <= ch <= "\udfff":
        return f"the text contains a lone surrogate U+{ord(ch):04X} (not valid Unicode)"
    return f"the text contains the control character U+{ord(ch):04X}"


def storable(text: str) -> str:
    """``text`` without the characters :func:`text_problem` refuses (to go on checking the rest)."""
    return _UNSTORABLE.sub("", text)
