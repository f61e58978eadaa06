"""Instances of a product's repeated components, from the product's authored ``repeat:`` entries.

Loading a catalog unrolls a repeated component (``repeat:``, see
:mod:`catalog.files.repeat`) into ordinary attributes, rules and BOM lines and
keeps the entry as written (:attr:`catalog.snapshot.Product.repeats`). This
module reads the instances from that record:

- the component ``<code>`` has the int attribute ``<code>_count`` (the number
  of instances in use);
- instance ``i`` (1..maximum) holds the attributes ``<code><i>_<attribute>``
  of its storefront group ``<code>-<i>``, whose label names the instance
  ("Section 2");
- instance ``i`` is **in use** when its guard holds: ``<code>_count >= i``
  (always for ``i`` up to the component's minimum). The guard is what the
  loader puts on the instance's BOM lines, and the instance's ``-unused`` rule
  pins its attributes to their canonical values when it fails: the values of
  an instance not in use say nothing about the product;
- the instance's BOM lines are the entry's lines at position ``p * 100 + i``;
  the lines below a module of an instance belong to that instance too.

>>> from decimal import Decimal
>>> from catalog.snapshot import Attribute, AttributeKind, BomLine, Group, Label, Product, Repeat
>>> def a(code, group=None):
...     return Attribute(code, AttributeKind.INT, Label(code), minimum=0, maximum=3, group=group)
>>> bay = Repeat("bay", Label("Bay {i}"), 2, attributes=(a("shelves"),), bom=(BomLine(10, "SHELF"),))
>>> p = Product("p", Label("P"), Decimal(0), (a("bay_count"), a("bay1_shelves", "bay-1"), a("bay2_shelves", "bay-2")),
...             groups=(Group("bay-1", Label("Bay 1")), Group("bay-2", Label("Bay 2"))), repeats=(bay,))
>>> [(i.component, i.index, i.attributes, sorted(i.positions)) for i in product_instances(p)]
[('bay', 1, ('bay1_shelves',), [1001]), ('bay', 2, ('bay2_shelves',), [1002])]
>>> sorted(unused_attributes(p, {"bay_count": 1, "bay1_shelves": 2, "bay2_shelves": 0}))
['bay2_shelves']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bom.lines import BomItem, ConfigValue, InstanceRef
from catalog.files.repeat import POSITION_FACTOR
from catalog.snapshot import Label, Product

__all__ = ["ComponentInstance", "instance_lines", "product_instances", "unused_attributes"]

COUNT_SUFFIX = "_count"


@dataclass(frozen=True, slots=True)
class ComponentInstance:
    """Instance ``index`` (1-based) of the repeated component ``component`` of a product."""

    component: str
    index: int
    count: str
    """The attribute holding the number of instances in use (``<component>_count``)."""
    always: bool
    """In use in every configuration (``index`` is at most the count's minimum)."""
    attributes: tuple[str, ...]
    """The instance's attributes (product attribute codes), in the product's order."""
    label: Label
    """The instance's label ("Section 2"), its storefront group's."""
    positions: frozenset[int] = frozenset()
    """The positions of the instance's own lines in the product's BOM (``p * 100 + index``)."""

    @property
    def prefix(self) -> str:
        return f"{self.component}{self.index}_"

    def in_use(self, values: Mapping[str, Any]) -> bool | None:
        """Whether the guard ``<component>_count >= index`` holds in ``values`` (``None``: count not known)."""
        if self.always:
            return True
        count = values.get(self.count)
        if isinstance(count, bool) or not isinstance(count, int):
            return None
        return count >= self.index

    def short(self, code: str) -> str:
        """The instance attribute's own code (``section2_width`` → ``width``)."""
        return code[len(self.prefix) :]

    def ref(self, values: Mapping[str, Any]) -> InstanceRef:
        """The instance with its attribute values (own codes), as BOM lines carry it."""
        return InstanceRef(
            self.component,
            self.index,
            self.label,
            tuple((self.short(code), _stored(values[code])) for code in self.attributes if code in values),
        )


def product_instances(product: Product) -> tuple[ComponentInstance, ...]:
    """Every instance of every repeated component of ``product``, in the order the components are written."""
    out: list[ComponentInstance] = []
    groups = {g.code: g.label for g in product.groups}
    present = {a.code for a in product.attributes} | {a.code for a in product.derived}
    for repeat in product.repeats:
        for i in range(1, repeat.maximum + 1):
            group = f"{repeat.code.lower()}-{i}"
            codes = tuple(
                code for a in repeat.attributes if (code := f"{repeat.code}{i}_{a.code}") in present
            )
            positions = frozenset(line.pos * POSITION_FACTOR + i for line in repeat.bom)
            label = groups.get(group, repeat.label)
            out.append(
                ComponentInstance(
                    repeat.code, i, f"{repeat.code}{COUNT_SUFFIX}", i <= repeat.minimum, codes, label, positions
                )
            )
    return tuple(out)


def unused_attributes(
    product: Product, values: Mapping[str, Any], instances: Iterable[ComponentInstance] | None = None
) -> frozenset[str]:
    """The attributes of the instances whose guard fails in ``values`` (their values are pinned, not chosen)."""
    found = instances if instances is not None else product_instances(product)
    return frozenset(code for inst in found if inst.in_use(values) is False for code in inst.attributes)


def instance_lines(
    product: Product, values: Mapping[str, Any], items: tuple[BomItem, ...]
) -> tuple[BomItem, ...]:
    """``items`` with each line of an instance carrying it (:attr:`BomItem.instance`).

    A line of the product's own BOM at position ``p * 100 + i``, where ``p`` is a line of a
    ``repeat:`` entry's BOM, is that component's instance ``i``'s line. The lines below it
    (a module's components) belong to the same instance.
    """
    instances = product_instances(product)
    if not instances:
        return items
    by_position = {pos: inst for inst in instances for pos in inst.positions}
    refs: dict[tuple[str, int], InstanceRef] = {}
    top: dict[str, InstanceRef] = {}
    out: list[BomItem] = []
    for item in items:
        if item.level > 1:
            head = item.path.partition("/")[0]
            ref = top.get(head)
            out.append(item if ref is None else replace(item, instance=ref))
            continue
        inst = by_position.get(int(item.position))
        if inst is None:
            out.append(item)
            continue
        key = (inst.component, inst.index)
        ref = refs.get(key)
        if ref is None:
            ref = refs[key] = inst.ref(values)
        top[item.path] = ref
        out.append(replace(item, instance=ref))
    return tuple(out)


def _stored(value: Any) -> ConfigValue:
    if isinstance(value, frozenset | set):
        return tuple(sorted(value))
    return value  # type: ignore[no-any-return]
