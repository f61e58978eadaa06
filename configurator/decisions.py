"""Buyer decisions: what they are, how text becomes one, how they combine.

Two decision types cover every attribute kind:

- :class:`Decision` ``(attribute, value)`` fixes an enum, bool or int
  attribute to one value, or a set attribute to an exact set (a
  ``frozenset`` of element codes: every element is fixed in or out).
- :class:`SetElement` ``(attribute, element, included)`` fixes one element of
  a set attribute in or out and leaves the other elements open. This is what
  a storefront checkbox produces.

A configuration is an ordered sequence of decisions, oldest first. A later
decision replaces an earlier one on the same attribute; for set attributes
the unit is the element: ``SetElement(a, e, ...)`` replaces an earlier
``SetElement(a, e, ...)``, and when an earlier whole-set ``Decision(a, S)``
exists the toggle folds into it (the whole-set decision is replaced by the
updated set, placed at the toggle's position, since the buyer has just
restated the set). :func:`effective_decisions` computes that normal form; the
engine always works on it, so explanations and repairs speak of decisions
the buyer can see.

>>> effective_decisions([Decision("frame", "steel"), SetElement("acc", "bell"), Decision("frame", "carbon")])
(SetElement(attribute='acc', element='bell', included=True), Decision(attribute='frame', value='carbon'))
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from catalog.snapshot import Attribute, AttributeKind, Product, Value
from configurator.errors import ConfiguratorError
from configurator.model import Model, element_var

AttributeValue = Value | frozenset[str]
"""The value of one attribute: a value code, an int, a bool, or for a set attribute a frozenset of codes."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The buyer fixed ``attribute`` to ``value`` (a frozenset for a set attribute)."""

    attribute: str
    value: AttributeValue

    def __str__(self) -> str:
        return f"{self.attribute}={format_value(self.value)}"


@dataclass(frozen=True, slots=True)
class SetElement:
    """The buyer put ``element`` into (``included``) or left it out of a set attribute."""

    attribute: str
    element: str
    included: bool = True

    def __str__(self) -> str:
        return f"{self.attribute}={'+' if self.included else '-'}{self.element}"


AnyDecision = Decision | SetElement


class UnknownAttribute(ConfiguratorError):
    """A decision or configuration names an attribute the product does not have."""

    reason = "unknown_attribute"

    def __init__(self, attribute: str, product: str, known: Sequence[str]) -> None:
        self.attribute = attribute
        self.product = product
        self.suggestions = tuple(difflib.get_close_matches(attribute, list(known), n=3))
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"product {product!r} has no attribute {attribute!r}{hint}")


class InvalidValue(ConfiguratorError):
    """A value is not in the attribute's domain (wrong type, unknown code, off the int grid)."""

    reason = "invalid_value"

    def __init__(self, attribute: str, value: object, allowed: str) -> None:
        self.attribute = attribute
        self.value = value
        self.allowed = allowed
        shown = format_value(value) if isinstance(value, str | int | frozenset) else repr(value)
        super().__init__(f"invalid value {shown!r} for attribute {attribute!r}: allowed {allowed}")


def format_value(value: object) -> str:
    """Render a value as the CLI and messages spell it.

    >>> format_value(True), format_value(frozenset({"lock", "bell"})), format_value(7)
    ('true', 'bell,lock', '7')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, frozenset):
        return ",".join(sorted(str(v) for v in value))
    return str(value)


def allowed_text(attribute: Attribute) -> str:
    """A short description of an attribute's domain for error messages.

    >>> from catalog.snapshot import Label
    >>> allowed_text(Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12))
    'an integer 1..12'
    """
    if attribute.kind is AttributeKind.BOOL:
        return "true or false"
    if attribute.kind is AttributeKind.INT:
        step = f" in steps of {attribute.step}" if attribute.step > 1 else ""
        return f"an integer {attribute.minimum}..{attribute.maximum}{step}"
    if attribute.kind is AttributeKind.DECIMAL:
        values = attribute.domain()
        step = f" in steps of {Decimal(attribute.step).scaleb(-attribute.places)}" if len(values) > 1 else ""
        return f"a decimal {values[0]}..{values[-1]}{step}"
    codes = ", ".join(c.code for c in attribute.choices)
    if attribute.kind is AttributeKind.SET:
        return f"a comma-separated subset of {{{codes}}}"
    return f"one of {{{codes}}}"


def check_value(attribute: Attribute, value: object) -> AttributeValue:
    """Return ``value`` if it belongs to the attribute's domain, else raise :class:`InvalidValue`.

    Lists, tuples and sets are accepted for set attributes and returned as a frozenset.

    >>> from catalog.snapshot import Label
    >>> check_value(Attribute("rack", AttributeKind.BOOL, Label("Rack")), True)
    True
    """
    kind = attribute.kind
    if kind is AttributeKind.SET:
        if isinstance(value, list | tuple | set | frozenset) and all(isinstance(v, str) for v in value):
            codes = {c.code for c in attribute.choices}
            elements = frozenset(value)
            if elements <= codes and len(elements) == len(value):
                return elements
        raise InvalidValue(attribute.code, value, allowed_text(attribute))
    if kind is AttributeKind.BOOL:
        if isinstance(value, bool):
            return value
    elif kind is AttributeKind.INT:
        if isinstance(value, int) and not isinstance(value, bool) and value in attribute.domain():
            return value
    elif kind is AttributeKind.DECIMAL:
        number: object = value
        if isinstance(value, str):
            try:
                number = Decimal(value.strip())
            except ArithmeticError:
                number = None
        if isinstance(number, int | Decimal) and not isinstance(number, bool) and number in attribute.domain():
            # the attribute's own spelling: 75 -> Decimal("75.0") with places 1
            return Decimal(number).quantize(Decimal(1).scaleb(-attribute.places))
    elif isinstance(value, str) and value in attribute.domain():
        return value
    raise InvalidValue(attribute.code, value, allowed_text(attribute))


def parse_value(attribute: Attribute, text: str) -> AttributeValue:
    """Parse a value typed on the command line or sent by a form.

    ``true``/``false`` (also ``yes``/``no``, ``1``/``0``) for bools, decimal
    integers for ints, a code for enums, comma-separated codes for sets (an
    empty text is the empty set).

    >>> from catalog.snapshot import Choice, Label
    >>> acc = Attribute("acc", AttributeKind.SET, Label("Acc"),
    ...                 choices=(Choice("bell", Label("Bell")), Choice("lock", Label("Lock"))))
    >>> sorted(parse_value(acc, "lock, bell"))
    ['bell', 'lock']
    >>> parse_value(acc, "horn")
    Traceback (most recent call last):
    ...
    configurator.decisions.InvalidValue: invalid value 'horn' for attribute 'acc': allowed a comma-separated subset of {bell, lock}
    """
    raw = text.strip()
    kind = attribute.kind
    if kind is AttributeKind.BOOL:
        lowered = raw.lower()
        if lowered in ("true", "yes", "1", "on"):
            return True
        if lowered in ("false", "no", "0", "off"):
            return False
        raise InvalidValue(attribute.code, raw, allowed_text(attribute))
    if kind is AttributeKind.INT:
        try:
            number = int(raw, 10)
        except ValueError:
            raise InvalidValue(attribute.code, raw, allowed_text(attribute)) from None
        return check_value(attribute, number)
    if kind is AttributeKind.DECIMAL:
        return check_value(attribute, raw)
    if kind is AttributeKind.SET:
        parts = [p.strip() for p in raw.split(",")] if raw else []
        if any(not p for p in parts):
            raise InvalidValue(attribute.code, raw, allowed_text(attribute))
        codes = {c.code for c in attribute.choices}
        if not set(parts) <= codes:
            raise InvalidValue(attribute.code, raw, allowed_text(attribute))
        return frozenset(parts)
    return check_value(attribute, raw)


def find_attribute(product: Product, code: str) -> Attribute:
    """The product's attribute ``code`` or :class:`UnknownAttribute` with suggestions."""
    try:
        return product.attribute(code)
    except KeyError:
        raise UnknownAttribute(code, product.code, [a.code for a in product.attributes]) from None


def parse_decision(product: Product, text: str) -> AnyDecision:
    """Parse ``ATTR=VALUE`` (the CLI's ``--set``). For a set attribute,
    ``ATTR=+elem`` / ``ATTR=-elem`` is a :class:`SetElement` decision.

    >>> from catalog.snapshot import Label
    >>> p = Product("p", Label("P"), base_price=0,
    ...             attributes=(Attribute("rack", AttributeKind.BOOL, Label("Rack")),))
    >>> parse_decision(p, "rack=yes")
    Decision(attribute='rack', value=True)
    """
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise InvalidDecisionText(text)
    attribute = find_attribute(product, name)
    raw = raw.strip()
    if attribute.kind is AttributeKind.SET and raw[:1] in ("+", "-"):
        element = raw[1:].strip()
        if element not in {c.code for c in attribute.choices}:
            raise InvalidValue(attribute.code, element, allowed_text(attribute))
        return SetElement(attribute.code, element, raw[0] == "+")
    return Decision(attribute.code, parse_value(attribute, raw))


class InvalidDecisionText(ConfiguratorError):
    """A decision text is not of the form ``ATTR=VALUE``."""

    reason = "invalid_decision"

    def __init__(self, text: str) -> None:
        super().__init__(f"expected ATTR=VALUE, got {text!r}")
        self.text = text


def check_decision(product: Product, decision: AnyDecision) -> AnyDecision:
    """Validate a decision against the product; normalise set values to frozensets."""
    attribute = find_attribute(product, decision.attribute)
    if isinstance(decision, SetElement):
        if attribute.kind is not AttributeKind.SET:
            raise InvalidValue(attribute.code, f"{'+' if decision.included else '-'}{decision.element}",
                               allowed_text(attribute))
        if decision.element not in {c.code for c in attribute.choices}:
            raise InvalidValue(attribute.code, decision.element, allowed_text(attribute))
        return decision
    value = check_value(attribute, decision.value)
    return decision if value is decision.value else Decision(decision.attribute, value)


def effective_decisions(decisions: Iterable[AnyDecision]) -> tuple[AnyDecision, ...]:
    """Apply "later replaces earlier" and return the decisions still in force, oldest first.

    >>> [str(d) for d in effective_decisions([Decision("acc", frozenset({"bell"})), SetElement("acc", "lock")])]
    ['acc=bell,lock']
    """
    out: list[AnyDecision] = []
    for d in decisions:
        if isinstance(d, Decision):
            out = [o for o in out if o.attribute != d.attribute]
            out.append(d)
            continue
        whole = next((o for o in out if isinstance(o, Decision) and o.attribute == d.attribute), None)
        if whole is not None and isinstance(whole.value, frozenset):
            updated = whole.value | {d.element} if d.included else whole.value - {d.element}
            out.remove(whole)
            out.append(Decision(d.attribute, updated))
            continue
        out = [
            o for o in out
            if not (isinstance(o, SetElement) and o.attribute == d.attribute and o.element == d.element)
        ]
        out.append(d)
    return tuple(out)


def restriction_of(model: Model, decisions: Iterable[AnyDecision]) -> dict[str, frozenset[Value]]:
    """Translate (checked) decisions into a backend restriction on solver variables."""
    restrict: dict[str, frozenset[Value]] = {}
    for d in decisions:
        if isinstance(d, SetElement):
            restrict[element_var(d.attribute, d.element)] = frozenset({d.included})
        elif isinstance(d.value, frozenset):
            for name in model.set_elements[d.attribute]:
                element = model.variable(name).element
                restrict[name] = frozenset({element in d.value})
        else:
            restrict[d.attribute] = frozenset({d.value})
    return restrict
