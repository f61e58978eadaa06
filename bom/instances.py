"""Instances of a product's repeated components, read back from the unrolled product.

Loading a catalog unrolls a repeated component (``repeat:``, see
:mod:`catalog.files.repeat`) into ordinary attributes, rules and BOM lines;
the product keeps no separate record of it. The model still says everything
needed, and this module reads it back:

- the component ``<code>`` is an int attribute ``<code>_count`` with a maximum
  (the number of instances in use), exactly as the rule checker's ``count``/
  ``sum``/``all``/``any`` read it;
- instance ``i`` (1..maximum) holds the attributes ``<code><i>_<attribute>``
  of its storefront group ``<code>-<i>``, whose label names the instance
  ("Section 2");
- instance ``i`` is **in use** when its guard holds: ``<code>_count >= i``
  (always for ``i`` up to the count's minimum). The guard is what the loader
  puts on the instance's BOM lines, and the instance's ``-unused`` rule pins
  its attributes to their canonical values when it fails: the values of an
  instance not in use say nothing about the product;
- the instance's BOM lines are at position ``p * 100 + i``; the lines below a
  module of an instance belong to that instance too.

>>> from decimal import Decimal
>>> from catalog.snapshot import Attribute, AttributeKind, Group, Label, Product
>>> def a(code, group=None):
...     return Attribute(code, AttributeKind.INT, Label(code), minimum=0, maximum=3, group=group)
>>> p = Product("p", Label("P"), Decimal(0), (a("bay_count"), a("bay1_shelves", "bay-1"), a("bay2_shelves", "bay-2")),
...             groups=(Group("bay-1", Label("Bay 1")), Group("bay-2", Label("Bay 2"))))
>>> [(i.component, i.index, i.attributes) for i in product_instances(p)]
[('bay', 1, ('bay1_shelves',)), ('bay', 2, ('bay2_shelves',))]
>>> sorted(unused_attributes(p, {"bay_count": 1, "bay1_shelves": 2, "bay2_shelves": 0}))
['bay2_shelves']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bom.lines import BomItem, ConfigValue, InstanceRef
from catalog.files.repeat import POSITION_FACTOR
from catalog.snapshot import AttributeKind, Label, Product

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
    """Every instance of every repeated component of ``product`` (components in attribute order)."""
    out: list[ComponentInstance] = []
    groups = {g.code: g.label for g in product.groups}
    for counter in product.attributes:
        if not counter.code.endswith(COUNT_SUFFIX) or counter.kind is not AttributeKind.INT:
            continue
        if counter.maximum is None:
            continue
        component = counter.code.removesuffix(COUNT_SUFFIX)
        low = counter.minimum or 0
        for i in range(1, counter.maximum + 1):
            group = f"{component.lower()}-{i}"
            prefix = f"{component}{i}_"
            codes = tuple(a.code for a in product.attributes if a.group == group and a.code.startswith(prefix))
            if not codes or group not in groups:
                break  # not a repeated component (an ordinary int attribute ending in _count)
            out.append(ComponentInstance(component, i, counter.code, i <= low, codes, groups[group]))
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

    A line of the product's own BOM at position ``p * 100 + i`` is instance ``i``'s line
    when every instance attribute its condition, quantity and parameters read is instance
    ``i``'s; with several repeated components, the one whose attributes it reads. The
    lines below it (a module's components) belong to the same instance.
    """
    instances = product_instances(product)
    if not instances:
        return items
    owner: dict[str, ComponentInstance] = {code: inst for inst in instances for code in inst.attributes}
    components = {inst.component for inst in instances}
    by_key = {(inst.component, inst.index): inst for inst in instances}
    refs: dict[tuple[str, int], InstanceRef] = {}
    top: dict[str, InstanceRef] = {}
    out: list[BomItem] = []
    for item in items:
        if item.level > 1:
            head = item.path.partition("/")[0]
            ref = top.get(head)
            out.append(item if ref is None else replace(item, instance=ref))
            continue
        position = int(item.position)
        index = position % POSITION_FACTOR
        read = {owner[code] for code, _ in item.provenance.inputs if code in owner}
        inst: ComponentInstance | None = None
        if position >= POSITION_FACTOR and index >= 1:
            if len(read) == 1:
                (only,) = read
                inst = only if only.index == index else None
            elif not read and len(components) == 1:
                inst = by_key.get((next(iter(components)), index))
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
