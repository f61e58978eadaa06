"""The exploded bill of materials: frozen values, exact decimal quantities.

A :class:`BillOfMaterials` is what :func:`bom.explode.explode` returns for one
complete configuration: a multi-level list of :class:`BomItem` (depth-first,
each parent followed by its children, siblings in position order) and a flat
list of :class:`PartRequirement` (leaf parts summed over the whole tree).

Quantities are :class:`~decimal.Decimal`. They are computed exactly (rational
arithmetic) and converted once at the end: exactly when the fraction has a
finite decimal expansion, otherwise rounded half-even to
:data:`QUANTITY_PLACES` places.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import MAX_EMAX, MIN_EMIN, ROUND_HALF_EVEN, Context, Decimal
from enum import StrEnum
from fractions import Fraction

from catalog.snapshot import Label

_ZERO = Decimal(0)
_ONE = Decimal(1)

EXACT = Context(prec=200, Emax=MAX_EMAX, Emin=MIN_EMIN)
"""Decimal context for BOM arithmetic: wide enough that sums and products of
catalog quantities and prices never round (the default 28 digits could)."""

QUANTITY_PLACES = 6
"""Decimal places kept for a quantity or cost whose exact value does not terminate (e.g. 1/3)."""

ConfigValue = str | int | bool | tuple[str, ...]
"""An attribute value as stored in a BOM: set values are sorted tuples of element codes."""

Assignment = tuple[tuple[str, ConfigValue], ...]
"""Attribute values as ``(code, value)`` pairs, in the owner's attribute order."""


def to_decimal(value: Fraction | int | Decimal) -> Decimal:
    """Convert an exact rational to a Decimal: exact when it terminates, else rounded.

    >>> to_decimal(Fraction(5, 4))
    Decimal('1.25')
    >>> to_decimal(Fraction(1, 3))
    Decimal('0.333333')
    >>> to_decimal(3)
    Decimal('3')
    """
    if type(value) is int:  # the common cases, kept cheap for large BOMs
        return Decimal(value)
    if type(value) is Decimal:
        return _plain(value)
    f = Fraction(value)
    d = f.denominator
    # A fraction terminates in base 10 iff its reduced denominator is 2^a * 5^b.
    while d % 2 == 0:
        d //= 2
    while d % 5 == 0:
        d //= 5
    if d == 1:
        exact = EXACT.divide(Decimal(f.numerator), Decimal(f.denominator))
        return _plain(exact)
    rounded = EXACT.divide(Decimal(f.numerator), Decimal(f.denominator)).quantize(
        _ONE.scaleb(-QUANTITY_PLACES), rounding=ROUND_HALF_EVEN, context=EXACT
    )
    return _plain(rounded)


def _plain(d: Decimal) -> Decimal:
    """Strip trailing zeros without switching to exponent notation."""
    if d == 0:
        return _ZERO
    n = d.normalize(EXACT)
    # normalize() turns 1200 into 1.2E+3; integral values go back to plain digits.
    if n == n.to_integral_value():
        return n.quantize(_ONE, context=EXACT)
    return n


class ItemKind(StrEnum):
    PART = "part"
    MODULE = "module"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Why a line is in the BOM and where its quantity came from.

    ``condition`` is the ``when`` text of the super-BOM line (``None`` when
    unconditional), ``quantity_formula`` its ``qty`` text, ``inputs`` the
    attribute values (in the owner's context) the condition, the formula and
    any module ``params`` read, sorted by attribute code.
    """

    condition: str | None
    quantity_formula: str
    inputs: Assignment


@dataclass(frozen=True, slots=True)
class InstanceRef:
    """The instance of a repeated component a BOM line belongs to (see :mod:`bom.instances`).

    ``component`` is the repeated component's code, ``index`` the instance number
    (1-based), ``label`` the instance's label ("Section 2"), ``values`` the
    instance's attribute values by the component's own attribute codes
    (``width``, not ``section2_width``), in the product's attribute order.
    """

    component: str
    index: int
    label: Label
    values: Assignment


@dataclass(frozen=True, slots=True)
class BomItem:
    """One line of the exploded multi-level BOM.

    ``position`` is the super-BOM line position as four digits (``"0020"``),
    ``path`` the positions from the top (``"0020/0010"``), ``level`` 1 for the
    product's own lines. ``quantity_per`` is per one unit of the parent,
    ``total_quantity`` for the whole order (multiplied down the tree and by the
    order quantity), ``total_with_scrap`` adds ``scrap_pct`` percent;
    children of a module are computed from its ``total_with_scrap`` (the
    scrapped assemblies must be built too). ``cost`` is the rolled-up cost of
    the line: parts ``total_with_scrap * unit cost``, modules the sum of their
    children. ``op`` links to the owner's routing operation; ``configuration``
    is the module's own attribute values (configurable modules only);
    ``instance`` the repeated component's instance the line belongs to (its
    own lines and everything below them), ``None`` for the rest.
    """

    level: int
    position: str
    path: str
    item: str
    name: Label
    kind: ItemKind
    quantity_per: Decimal
    total_quantity: Decimal
    unit: str
    scrap_pct: Decimal
    total_with_scrap: Decimal
    cost: Decimal
    op: int | None
    owner: str
    """Code of the product or module whose BOM this line belongs to."""
    provenance: Provenance
    configuration: Assignment = ()
    texts: tuple[tuple[str, str], ...] = ()
    """The buyer's texts printed on this line (text fields placed at its position)."""
    instance: InstanceRef | None = None


@dataclass(frozen=True, slots=True)
class PartRequirement:
    """A leaf part summed over the whole BOM (the flat parts list)."""

    item: str
    name: Label
    unit: str
    total_quantity: Decimal
    total_with_scrap: Decimal
    unit_cost: Decimal
    cost: Decimal
    """``total_with_scrap * unit_cost``."""
    lead_time_days: int
    paths: tuple[str, ...]
    """Every BOM path where the part occurs."""


@dataclass(frozen=True, slots=True)
class BillOfMaterials:
    """The exploded BOM of one configured product, for ``quantity`` units."""

    catalog: str
    currency: str
    product: str
    product_name: Label
    quantity: int
    configuration: Assignment
    items: tuple[BomItem, ...]
    parts: tuple[PartRequirement, ...]
    total_cost: Decimal
    """Material cost of the whole order: the sum of the parts' costs."""
    texts: tuple[tuple[str, str], ...] = ()
    """Every text the buyer wrote (engraving, monogram), by text field code."""

    def unit_cost(self) -> Decimal:
        """Material cost of one unit.

        >>> BillOfMaterials("c", "CNY", "p", Label("P"), 4, (), (), (), Decimal("10")).unit_cost()
        Decimal('2.5')
        """
        return to_decimal(Fraction(self.total_cost) / self.quantity)

    def item_at(self, path: str) -> BomItem:
        """The line at ``path`` (``KeyError`` when absent)."""
        for item in self.items:
            if item.path == path:
                return item
        raise KeyError(path)

    def children(self, path: str) -> tuple[BomItem, ...]:
        """Direct children of the line at ``path`` (``""`` for the top level)."""
        prefix = f"{path}/" if path else ""
        depth = path.count("/") + 2 if path else 1
        return tuple(i for i in self.items if i.path.startswith(prefix) and i.level == depth)
