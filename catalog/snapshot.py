"""Immutable snapshot of a catalog: what the engine (configurator, bom) reads.

These frozen dataclasses are the contract between the catalog package (files,
database) and the engine. They hold no database ids and no ORM rows. Rule,
condition and formula texts are kept as source text here; the configurator
parses them. Every object that came from a file carries a ``loc`` (file, line,
column of its mapping in the source) so that later errors can point back to the
exact place; ``loc`` never takes part in equality or hashing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from enum import StrEnum

Value = str | int | bool | Decimal
"""An attribute value: an enum/set value code, an int, a bool, or a decimal (exact)."""

LOCALES = ("en", "zh-CN")


@dataclass(frozen=True, slots=True)
class SourceLoc:
    """Where an object was read from: 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Label:
    """A translated text. ``en`` is required; ``zh_CN`` falls back to ``en``."""

    en: str
    zh_CN: str = ""

    def get(self, locale: str) -> str:
        """Return the text for ``locale`` ("en", "zh-CN", "zh_CN", "zh"...).

        >>> Label("Frame", "车架").get("zh-CN")
        '车架'
        >>> Label("Frame").get("zh_Hans_CN")
        'Frame'
        """
        if locale.lower().replace("_", "-").startswith("zh"):
            return self.zh_CN or self.en
        return self.en


class AttributeKind(StrEnum):
    ENUM = "enum"
    BOOL = "bool"
    INT = "int"
    SET = "set"
    DECIMAL = "decimal"


class DecimalRange(Sequence[Decimal]):
    """The values ``minimum + k*step`` of a decimal attribute, from scaled integers (no floats).

    >>> r = DecimalRange(700, 710, 5, 1)
    >>> list(r), Decimal("70.5") in r, Decimal("70.25") in r, len(r)
    ([Decimal('70.0'), Decimal('70.5'), Decimal('71.0')], True, False, 3)
    """

    __slots__ = ("_range", "places")

    def __init__(self, minimum: int, maximum: int, step: int, places: int) -> None:
        self._range = range(minimum, maximum + 1, max(step, 1))
        self.places = places

    def __len__(self) -> int:
        return len(self._range)

    def __getitem__(self, index: int) -> Decimal:  # type: ignore[override]
        return Decimal(self._range[index]).scaleb(-self.places)

    def __contains__(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            return False
        scaled = Decimal(value).scaleb(self.places)
        return scaled == scaled.to_integral_value() and int(scaled) in self._range

    def __iter__(self) -> Iterator[Decimal]:
        return (Decimal(k).scaleb(-self.places) for k in self._range)

    def __repr__(self) -> str:
        return f"DecimalRange({self._range.start}, {self._range.stop - 1}, {self._range.step}, {self.places})"


@dataclass(frozen=True, slots=True)
class Choice:
    """One value of an enum or set attribute."""

    code: str
    label: Label
    description: Label | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Attribute:
    """A configurable property of a product (or of a configurable module).

    - ``enum``: ``choices`` non-empty; ``default`` a choice code.
    - ``bool``: ``default`` a bool.
    - ``int``: ``minimum``..``maximum`` inclusive with ``step`` (values are
      ``minimum + k*step``); ``unit`` such as "mm"; ``default`` an int.
    - ``set``: ``choices`` non-empty; ``min_count``..``max_count`` selected;
      ``default`` a tuple of choice codes (kept in ``default_set``).
    - ``decimal``: like ``int`` with ``places`` decimal places: ``minimum``,
      ``maximum`` and ``step`` are scaled integers (value times 10**places),
      values are exact ``Decimal``s; ``default`` a Decimal.
    """

    code: str
    kind: AttributeKind
    label: Label
    choices: tuple[Choice, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    step: int = 1
    min_count: int = 0
    max_count: int | None = None
    default: Value | None = None
    default_set: tuple[str, ...] | None = None
    unit: str | None = None
    group: str | None = None
    """Storefront step this attribute is shown in (a code from Product.groups)."""
    description: Label | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)
    derived: Derivation | None = None
    """For a derived attribute: how its value is computed (never a buyer's choice)."""
    places: int = 0
    """Decimal places of a decimal attribute."""

    def domain(self) -> Sequence[Value]:
        """Every value of a single-valued attribute (enum, bool, int), in order.

        For a set attribute: the element codes. An int attribute's domain is a
        ``range``: symbolic, so asking its size or whether it holds a value
        costs the same for 0..9 as for 0..999999999 (nothing is materialised
        unless a caller iterates; the catalog limits bound how many values an
        attribute may have, see ``catalog.files.limits``).

        >>> Attribute("n", AttributeKind.INT, Label("n"), minimum=2, maximum=8, step=3).domain()
        range(2, 9, 3)
        >>> huge = Attribute("n", AttributeKind.INT, Label("n"), minimum=0, maximum=10**12).domain()
        >>> len(huge), 10**11 in huge
        (1000000000001, True)
        """
        if self.kind is AttributeKind.BOOL:
            return (False, True)
        if self.kind is AttributeKind.INT:
            assert self.minimum is not None and self.maximum is not None
            return range(self.minimum, self.maximum + 1, max(self.step, 1))
        if self.kind is AttributeKind.DECIMAL:
            assert self.minimum is not None and self.maximum is not None
            return DecimalRange(self.minimum, self.maximum, self.step, self.places)
        return tuple(c.code for c in self.choices)

    def domain_size(self) -> int:
        """How many values the attribute can take (a set attribute: how many elements it offers).

        >>> Attribute("n", AttributeKind.INT, Label("n"), minimum=0, maximum=999999).domain_size()
        1000000
        """
        return len(self.domain())


@dataclass(frozen=True, slots=True)
class Derivation:
    """How a derived attribute's value follows from other attributes.

    Either ``formula`` (an expression in the rule language, e.g.
    ``"if(frame == fixed, 4, 2)"``) or a lookup table: ``columns`` are the key
    attributes and each row is (key values, result). A derived attribute is
    never offered to the buyer; rules, prices, conditions and quantities that
    name it read the formula or table in its place.
    """

    formula: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[tuple[Value, ...], Value], ...] = ()
    text_loc: SourceLoc | None = field(default=None, compare=False, repr=False)
    """Position of the first character of ``formula`` in the file."""
    row_locs: tuple[SourceLoc | None, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class TextField:
    """A free text the buyer writes (engraving, monogram): not a solver variable.

    ``max_length`` bounds its length in characters; ``pattern`` (a regular
    expression matched against the whole text) restricts its characters.
    It is printed on the BOM line ``pos`` (or on the whole BOM when ``None``)
    and on the production order.
    """

    code: str
    label: Label
    max_length: int
    min_length: int = 0
    pattern: str | None = None
    required: bool = False
    pos: int | None = None
    description: Label | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Rule:
    """A hard constraint: either ``text`` in the rule language or a table.

    Table rules: ``columns`` are attribute codes; each row has one cell per
    column; a cell is a value, a range text ``"1..12"``, ``"*"`` (any), or for
    several values a tuple. ``allow=True`` lists allowed rows (any other
    combination is forbidden), ``allow=False`` lists forbidden rows.
    """

    id: str
    message: Label
    text: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[Value | tuple[Value, ...], ...], ...] = ()
    allow: bool = True
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)
    text_loc: SourceLoc | None = field(default=None, compare=False, repr=False)
    """Position of the first character of ``text`` in the file."""

    @property
    def is_table(self) -> bool:
        return self.text is None


@dataclass(frozen=True, slots=True)
class PriceTable:
    """A price looked up by the values of ``columns``: rows are (*values, amount)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[tuple[Value | tuple[Value, ...], ...], Decimal], ...]


@dataclass(frozen=True, slots=True)
class PriceRule:
    """A surcharge (or discount, when negative).

    Exactly one of ``add`` (a decimal text or an arithmetic formula over int and
    bool attributes, e.g. ``"gears * 40"``), ``percent`` (percentage of the
    base price plus all ``add``/``table`` lines, e.g. ``"10"``) or ``table``.
    ``when`` is an optional condition in the rule language.
    """

    id: str
    label: Label
    when: str | None = None
    add: str | None = None
    percent: str | None = None
    table: PriceTable | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BomLine:
    """A super-BOM line of a product or a component line of a module.

    ``qty`` is a formula text (``"2"``, ``"width / 500 + 1"``); ``when`` an
    optional condition; ``op`` links to a routing operation number; ``params``
    passes values to a configurable module: (module attribute, expression over
    the parent's attributes).
    """

    pos: int
    item: str
    qty: str = "1"
    when: str | None = None
    scrap_pct: Decimal = Decimal("0")
    op: int | None = None
    params: tuple[tuple[str, str], ...] = ()
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Operation:
    """A routing operation; ``setup_min``/``run_min`` are formula texts (minutes;
    run time is per unit produced)."""

    op: int
    name: Label
    work_center: str
    setup_min: str = "0"
    run_min: str = "0"
    when: str | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Part:
    code: str
    name: Label
    uom: str = "pc"
    cost: Decimal = Decimal("0")
    lead_time_days: int = 0
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Module:
    """A standardized assembly. Configurable when it has attributes."""

    code: str
    name: Label
    components: tuple[BomLine, ...] = ()
    operations: tuple[Operation, ...] = ()
    attributes: tuple[Attribute, ...] = ()
    rules: tuple[Rule, ...] = ()
    uom: str = "pc"
    lead_time_days: int = 0
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    @property
    def configurable(self) -> bool:
        return bool(self.attributes)


@dataclass(frozen=True, slots=True)
class Group:
    """A storefront step grouping attributes."""

    code: str
    label: Label


@dataclass(frozen=True, slots=True)
class ProductTest:
    """A golden test configuration written in the catalog file.

    ``decisions`` are (attribute, value) pairs; set values are tuples of codes.
    ``expect`` is "accept" (the decisions are consistent and, when
    ``complete`` is true, form a complete valid configuration) or "reject"
    (inconsistent; ``reason`` names the rule id expected among the causes).
    """

    id: str
    decisions: tuple[tuple[str, Value | tuple[str, ...]], ...]
    expect: str = "accept"
    reason: str | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class BomRequirement:
    """A promise about the BOM of every valid configuration, checked over the whole space.

    The requirement counts the product's super-BOM lines that a configuration
    selects (their ``when`` holds) among those it names: by position
    (``positions``) or by item code pattern (``items``; ``*`` matches any
    characters, e.g. ``"FRAME-*"``). The count must be ``exactly`` N, or lie
    within ``at_least``..``at_most``. The catalog checks look for a valid
    configuration breaking it (a counter-example) on the compiled model.

    >>> BomRequirement("one-frame", Label("Exactly one frame"), items=("FRAME-*",), exactly=1).bounds()
    (1, 1)
    """

    id: str
    message: Label
    items: tuple[str, ...] = ()
    positions: tuple[int, ...] = ()
    exactly: int | None = None
    at_least: int | None = None
    at_most: int | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    def bounds(self) -> tuple[int, int | None]:
        """The allowed line count as (lowest, highest or ``None`` for no upper bound)."""
        if self.exactly is not None:
            return self.exactly, self.exactly
        return self.at_least or 0, self.at_most


@dataclass(frozen=True, slots=True)
class Repeat:
    """A repeated component as the catalog author wrote it (``repeat:``).

    Loading unrolls it into the product's ordinary attributes, groups, rules
    and BOM lines (``catalog.files.repeat``); the product keeps this authored
    form as well, so that writing the catalog back out reproduces the file's
    ``repeat:`` entry instead of the generated entries. ``attributes`` are in
    the order written (derived ones included); ``minimum`` is 0 when not written.
    """

    code: str
    label: Label
    maximum: int
    minimum: int = 0
    default: int | None = None
    group: str | None = None
    attributes: tuple[Attribute, ...] = ()
    rules: tuple[Rule, ...] = ()
    bom: tuple[BomLine, ...] = ()
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    def generated(self) -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[int]]:
        """The codes of the attributes, groups and rules, and the BOM positions, unrolling generates.

        >>> shelves = Attribute("shelves", AttributeKind.INT, Label("Shelves"), minimum=1, maximum=3)
        >>> bay = Repeat("bay", Label("Bay"), 2, minimum=1, attributes=(shelves,),
        ...              rules=(Rule("r", Label("m"), text="shelves > 1"),), bom=(BomLine(10, "SHELF"),))
        >>> [sorted(names) for names in bay.generated()]
        [['bay1_shelves', 'bay2_shelves', 'bay_count'], ['bay-1', 'bay-2'], ['bay-2-unused', 'r-1', 'r-2'], [1001, 1002]]
        """
        instances = range(1, self.maximum + 1)
        attributes = {f"{self.code}_count"} | {f"{self.code}{i}_{a.code}" for i in instances for a in self.attributes}
        groups = {f"{self.code.lower()}-{i}" for i in instances}
        rules = {f"{r.id}-{i}" for i in instances for r in self.rules}
        rules |= {f"{self.code.lower()}-{i}-unused" for i in instances if i > self.minimum}
        positions = {line.pos * REPEAT_POSITION_FACTOR + i for i in instances for line in self.bom}
        return frozenset(attributes), frozenset(groups), frozenset(rules), frozenset(positions)


REPEAT_POSITION_FACTOR = 100
"""Instance ``i`` of a repeated BOM line at ``pos: p`` is at position ``p * REPEAT_POSITION_FACTOR + i``."""


@dataclass(frozen=True)
class Product:
    """A product of a catalog: attributes, rules, prices, super BOM and routing.

    Products serve as keys of the engine's caches (price model, rewritten
    product, compiled model), so their hash is computed once and kept: a
    product of a large catalog (tens of thousands of attributes) would
    otherwise be hashed in full at every cache lookup. The kept hash is not a
    field: it takes no part in equality, ``repr``, ``replace`` or the catalog
    document, and it is left out when a product is pickled or copied (string
    hashes differ between processes).

    >>> p = Product("bike", Label("Bike"), Decimal("100"), ())
    >>> hash(p) == hash(p) == hash(replace(p, loc=SourceLoc("c.yaml", 1, 1))), "_hash" in p.__getstate__()
    (True, False)
    """

    code: str
    name: Label
    base_price: Decimal
    attributes: tuple[Attribute, ...]
    rules: tuple[Rule, ...] = ()
    prices: tuple[PriceRule, ...] = ()
    bom: tuple[BomLine, ...] = ()
    routing: tuple[Operation, ...] = ()
    groups: tuple[Group, ...] = ()
    tests: tuple[ProductTest, ...] = ()
    description: Label | None = None
    image: str | None = None
    """Name of an illustration template shipped with the storefront, optional."""
    lead_time_days: int = 0
    """Assembly lead time added to the production time for delivery estimates."""
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)
    requires: tuple[BomRequirement, ...] = ()
    """BOM requirements checked over every valid configuration (see :class:`BomRequirement`)."""
    derived: tuple[Attribute, ...] = ()
    """Derived attributes (each with ``derived`` set): computed, never chosen, not solver variables."""
    texts: tuple[TextField, ...] = ()
    """Free texts the buyer writes (see :class:`TextField`)."""
    repeats: tuple[Repeat, ...] = ()
    """Repeated components as written (see :class:`Repeat`); their unrolled entries are in the
    product's attributes, groups, rules and BOM like any other."""
    modules: tuple[Module, ...] = field(default=(), compare=False, repr=False)
    """The catalog's modules the super BOM reaches (any depth), filled in by :class:`Catalog`:
    the configurator compiles the configurable ones into the product's model."""

    def attribute(self, code: str) -> Attribute:
        for a in self.attributes:
            if a.code == code:
                return a
        raise KeyError(code)

    def __hash__(self) -> int:
        try:
            return self.__dict__["_hash"]  # type: ignore[no-any-return]
        except KeyError:
            pass
        value = hash(tuple(getattr(self, name) for name in _PRODUCT_HASHED))
        object.__setattr__(self, "_hash", value)
        return value

    def __getstate__(self) -> dict[str, object]:
        return {name: value for name, value in self.__dict__.items() if name != "_hash"}


_PRODUCT_HASHED = tuple(f.name for f in fields(Product) if (f.compare if f.hash is None else f.hash))
"""The fields a product's hash covers: those of its equality (as the generated hash would)."""


@dataclass(frozen=True, slots=True)
class Catalog:
    """A whole catalog: the unit that is imported, versioned and published."""

    code: str
    name: Label
    currency: str
    parts: tuple[Part, ...]
    modules: tuple[Module, ...]
    products: tuple[Product, ...]
    format: str = "c2m-catalog/1"
    description: Label | None = None
    loc: SourceLoc | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Each product carries the modules its super BOM reaches, so a product alone compiles
        # into the model of the whole product (module rules included).
        linked = tuple(_with_modules(p, self.modules) for p in self.products)
        object.__setattr__(self, "products", linked)

    def product(self, code: str) -> Product:
        for p in self.products:
            if p.code == code:
                return p
        raise KeyError(code)

    def part(self, code: str) -> Part | None:
        for p in self.parts:
            if p.code == code:
                return p
        return None

    def module(self, code: str) -> Module | None:
        for m in self.modules:
            if m.code == code:
                return m
        return None


def reachable_modules(bom: Sequence[BomLine], modules: Sequence[Module]) -> tuple[Module, ...]:
    """The modules ``bom`` reaches through its lines and their components, at any depth, in
    the order first met (a cycle is followed once).

    >>> leaf = Module("LEAF", Label("Leaf"))
    >>> top = Module("TOP", Label("Top"), components=(BomLine(10, "LEAF"), BomLine(20, "BOLT")))
    >>> [m.code for m in reachable_modules((BomLine(10, "TOP"),), (leaf, top))]
    ['TOP', 'LEAF']
    """
    by_code = {m.code: m for m in modules}
    seen: dict[str, Module] = {}
    pending = [line.item for line in bom]
    while pending:
        code = pending.pop(0)
        module = by_code.get(code)
        if module is None or code in seen:
            continue
        seen[code] = module
        pending.extend(line.item for line in module.components)
    return tuple(seen.values())


def _with_modules(product: Product, modules: Sequence[Module]) -> Product:
    reached = reachable_modules(product.bom, modules)
    if reached == product.modules:
        return product
    return replace(product, modules=reached)
