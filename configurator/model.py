"""Backend-neutral constraint model (IR) compiled from a catalog product.

A :class:`Model` is a list of finite-domain solver variables and a list of
constraints, each over a small scope with an exact predicate. Every backend
(reference python-constraint2, decision diagram, SAT fallback, brute force)
consumes this same IR, so they cannot disagree about what a rule means.

Mapping from attributes to solver variables:

- enum, bool and int attributes: one variable named like the attribute, whose
  domain is the attribute's domain (choice codes, ``(False, True)``, ints).
- set attributes: one bool variable per element, named ``"<attr>[<elem>]"``;
  ``Model.set_elements[attr]`` lists them in order.

Constraints carry the id of the rule they come from (``rule_id``); several
constraints may share one rule id. ``predicate`` receives the values of
``scope`` in order and must be pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from catalog.snapshot import Value


def element_var(attribute: str, element: str) -> str:
    """Solver variable name of one element of a set attribute.

    >>> element_var("accessories", "bell")
    'accessories[bell]'
    """
    return f"{attribute}[{element}]"


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    domain: tuple[Value, ...]
    attribute: str
    """The catalog attribute this variable belongs to."""
    element: str | None = None
    """For a set attribute's element variable: the element code."""
    auxiliary: bool = False
    """Introduced by ``configurator.decompose`` to split a large rule: a function of the
    attribute variables (one value per assignment of them), belonging to no attribute."""


@dataclass(frozen=True, slots=True)
class Constraint:
    rule_id: str
    scope: tuple[str, ...]
    predicate: Callable[..., bool] = field(compare=False)
    """Called as ``predicate(*values_in_scope_order)``."""
    allowed: frozenset[tuple[Value, ...]] | None = field(default=None, compare=False)
    """When known, the exact allowed tuples (tables); backends may use it instead of the predicate."""


@dataclass(frozen=True, slots=True)
class Model:
    """An immutable, backend-neutral model of one product."""

    key: str
    """Stable identity: catalog content hash + product code (cache key)."""
    variables: tuple[Variable, ...]
    constraints: tuple[Constraint, ...]
    set_elements: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """attribute code -> element variable names, for set attributes."""

    def variable(self, name: str) -> Variable:
        for v in self.variables:
            if v.name == name:
                return v
        raise KeyError(name)


Restriction = Mapping[str, frozenset[Value]]
"""Allowed values per solver variable; variables not mentioned are unrestricted."""
