"""Attributes of a small bike product used across the rule-language tests."""

from __future__ import annotations

from catalog.snapshot import Attribute, AttributeKind, Choice, Label


def choices(*codes: str) -> tuple[Choice, ...]:
    return tuple(Choice(code, Label(code)) for code in codes)


FRAME = Attribute(
    "frame_material", AttributeKind.ENUM, Label("Frame"), choices=choices("aluminium", "steel", "carbon")
)
SIZE = Attribute("frame_size", AttributeKind.ENUM, Label("Size"), choices=choices("S", "M", "L", "XL"))
WHEEL = Attribute("wheel", AttributeKind.ENUM, Label("Wheel"), choices=choices("26", "29", "700c"))
RACK = Attribute("rack", AttributeKind.BOOL, Label("Rack"))
EXPRESS = Attribute("express", AttributeKind.BOOL, Label("Express"))
GEARS = Attribute("gears", AttributeKind.INT, Label("Gears"), minimum=1, maximum=12)
WIDTH = Attribute("width", AttributeKind.INT, Label("Width"), minimum=400, maximum=2400, step=50, unit="mm")
ACCESSORIES = Attribute(
    "accessories", AttributeKind.SET, Label("Accessories"), choices=choices("bell", "lock", "lights")
)
BIKE_ATTRIBUTES = (FRAME, SIZE, WHEEL, RACK, EXPRESS, GEARS, WIDTH, ACCESSORIES)
