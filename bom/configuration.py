"""Checking a configuration before it becomes a BOM: complete, in domain, valid.

Domain checks reuse :func:`configurator.decisions.check_value`; rules are
checked by the configurator (every violated rule, not just the first).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bom.errors import IncompleteConfiguration, InvalidConfiguration
from bom.formulas import CompiledCatalog
from bom.lines import Assignment
from catalog.snapshot import Attribute, AttributeKind, Module, Product
from configurator import InvalidValue, check_value


def check_values(
    where: str,
    attributes: tuple[Attribute, ...],
    configuration: Mapping[str, Any],
    *,
    complete: bool,
) -> dict[str, Any]:
    """Check every value against its attribute; return the values keyed by code.

    Unknown attributes and out-of-domain values raise
    :class:`InvalidConfiguration` (all of them at once); with ``complete``,
    missing attributes raise :class:`IncompleteConfiguration` first.

    >>> from catalog.snapshot import Label
    >>> gears = Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12)
    >>> check_values("bike", (gears,), {"gears": 13}, complete=True)
    Traceback (most recent call last):
    ...
    bom.errors.InvalidConfiguration: bike: configuration is invalid: gears: invalid value '13' for attribute 'gears': allowed an integer 1..12
    """
    if complete:
        missing = [a.code for a in attributes if a.code not in configuration]
        if missing:
            raise IncompleteConfiguration(where, missing)
    by_code = {a.code: a for a in attributes}
    problems: list[tuple[str, str]] = []
    env: dict[str, Any] = {}
    for code, value in configuration.items():
        attribute = by_code.get(code)
        if attribute is None:
            problems.append((code, f"unknown attribute {code!r}"))
            continue
        try:
            checked = check_value(attribute, value)
        except InvalidValue as exc:
            problems.append((code, str(exc)))
            continue
        if attribute.kind is AttributeKind.SET:
            assert isinstance(checked, frozenset)
            n = len(checked)
            if n < attribute.min_count or (attribute.max_count is not None and n > attribute.max_count):
                upper = attribute.max_count if attribute.max_count is not None else "any"
                problems.append((code, f"{n} values selected, allowed {attribute.min_count}..{upper}"))
                continue
        env[code] = checked
    if problems:
        raise InvalidConfiguration(where, problems)
    return env


def assignment(attributes: tuple[Attribute, ...], env: Mapping[str, Any]) -> Assignment:
    """The values of ``env`` in attribute order, sets as sorted tuples (a BOM's stored form)."""
    out = []
    for a in attributes:
        if a.code in env:
            v = env[a.code]
            out.append((a.code, tuple(sorted(v)) if isinstance(v, frozenset) else v))
    return tuple(out)


def rule_violations(
    comp: CompiledCatalog, owner: Product | Module, env: Mapping[str, Any]
) -> list[tuple[str, str]]:
    """Every rule of a product or configurable module that ``env`` breaks, as (rule id, English message).

    The configurator's ``validate`` decides (the same compiled rules as the
    storefront); a module is checked as a product made of its own attributes
    and rules.
    """
    if not owner.rules:
        return []
    return [(v.rule_id, v.message.en) for v in comp.configurator(owner).validate(env)]
