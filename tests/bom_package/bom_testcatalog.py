"""A small cargo-bike catalog built from snapshot constructors, shared by the bom tests.

A module with a unique name (not ``conftest``) so test files can import it
without clashing with other test folders' conftest modules.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from catalog.snapshot import (
    Attribute,
    AttributeKind,
    BomLine,
    Catalog,
    Choice,
    Label,
    Module,
    Operation,
    Part,
    Product,
    Rule,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
B2MML_DIR = SHARED / "b2mml"


def _enum(code: str, *values: str, default: str | None = None) -> Attribute:
    return Attribute(
        code,
        AttributeKind.ENUM,
        Label(code),
        choices=tuple(Choice(v, Label(v)) for v in values),
        default=default,
    )


def _int(code: str, lo: int, hi: int, step: int = 1, default: int | None = None) -> Attribute:
    return Attribute(code, AttributeKind.INT, Label(code), minimum=lo, maximum=hi, step=step, default=default)


def make_catalog(
    *,
    extra_parts: tuple[Part, ...] = (),
    bom: tuple[BomLine, ...] | None = None,
    modules: tuple[Module, ...] | None = None,
) -> Catalog:
    parts = (
        Part("FRAME-ALU", Label("Aluminium frame", "铝合金车架"), cost=Decimal("420.00"), lead_time_days=5),
        Part("FRAME-STEEL", Label("Steel frame", "钢车架"), cost=Decimal("300.00"), lead_time_days=3),
        Part("RIM", Label("Rim", "轮圈"), cost=Decimal("40.00"), lead_time_days=2),
        Part("SPOKE", Label("Spoke", "辐条"), cost=Decimal("0.50"), lead_time_days=1),
        Part("CHAIN", Label("Chain", "链条"), cost=Decimal("25.00"), lead_time_days=2),
        Part("RACK", Label("Rack", "货架"), cost=Decimal("80.00"), lead_time_days=4),
        Part("BELL", Label("Bell", "车铃"), cost=Decimal("15.00")),
        Part("LIGHT", Label("Light", "车灯"), cost=Decimal("30.00"), lead_time_days=2),
        Part("BOLT", Label("Bolt", "螺栓"), cost=Decimal("0.10")),
        Part("BOARD", Label("Shelf board", "搁板"), uom="m2", cost=Decimal("60.00"), lead_time_days=3),
        Part("PAINT", Label("Paint", "油漆"), uom="l", cost=Decimal("35.00"), lead_time_days=1),
        *extra_parts,
    )
    wheel = Module(
        "WHEEL",
        Label("Wheel", "车轮"),
        components=(
            BomLine(10, "RIM", "1", op=10),
            BomLine(20, "SPOKE", "32", scrap_pct=Decimal("5"), op=10),
        ),
        operations=(Operation(10, Label("Lace wheel", "编轮"), "WHEEL", setup_min="5", run_min="12"),),
    )
    shelf = Module(
        "SHELF",
        Label("Shelf", "搁架"),
        components=(
            BomLine(10, "BOARD", "depth / 1000", op=10),
            BomLine(20, "PAINT", "depth / 2000", when="finish == painted", op=20),
            BomLine(30, "BOLT", "4"),
        ),
        operations=(
            Operation(10, Label("Cut board", "裁板"), "CUT", setup_min="10", run_min="depth / 100"),
            Operation(20, Label("Paint", "喷漆"), "PAINT", run_min="15", when="finish == painted"),
        ),
        attributes=(
            _int("depth", 200, 400, 100, default=300),
            _enum("finish", "raw", "painted", default="raw"),
        ),
        rules=(
            Rule(
                "painted-max-depth",
                Label("Painted shelves are at most 300 mm deep."),
                text="finish == painted -> depth <= 300",
            ),
        ),
    )
    product = Product(
        "cargo-bike",
        Label("Cargo bike", "货运自行车"),
        Decimal("2999.00"),
        attributes=(
            _enum("frame_material", "aluminium", "steel", default="aluminium"),
            _int("gears", 1, 12, default=8),
            Attribute("rack", AttributeKind.BOOL, Label("rack"), default=False),
            Attribute(
                "accessories",
                AttributeKind.SET,
                Label("accessories"),
                choices=(Choice("bell", Label("Bell")), Choice("lights", Label("Lights"))),
                max_count=2,
                default_set=("bell",),
            ),
            _int("shelves", 0, 3, default=0),
            _int("shelf_depth", 200, 400, 100, default=300),
            _enum("finish", "raw", "painted", default="raw"),
        ),
        rules=(
            Rule(
                "steel-gears",
                Label("Steel frames take at most 8 gears."),
                text="frame_material == steel -> gears <= 8",
            ),
        ),
        bom=bom
        if bom is not None
        else (
            BomLine(10, "FRAME-ALU", "1", when="frame_material == aluminium", op=10),
            BomLine(11, "FRAME-STEEL", "1", when="frame_material == steel", op=10),
            BomLine(20, "WHEEL", "2", op=20),
            BomLine(30, "CHAIN", "1", when="gears >= 2"),
            BomLine(40, "RACK", "1", when="rack", op=30),
            BomLine(50, "BELL", "1", when="has(accessories, bell)"),
            BomLine(51, "LIGHT", "2", when="has(accessories, lights)", op=20),
            BomLine(
                60,
                "SHELF",
                "shelves",
                when="shelves > 0",
                op=20,
                params=(("depth", "shelf_depth"), ("finish", "finish")),
            ),
            BomLine(70, "BOLT", "gears * 2 + 4", scrap_pct=Decimal("10"), op=20),
        ),
        routing=(
            Operation(
                10,
                Label("Weld frame", "焊接车架"),
                "WELD",
                setup_min="15",
                run_min="30",
                when="frame_material == steel",
            ),
            Operation(20, Label("Assemble", "总装"), "ASSY", setup_min="10", run_min="20 + gears"),
            Operation(30, Label("Fit rack", "安装货架"), "ASSY", run_min="5", when="rack"),
        ),
    )
    return Catalog(
        "test-bikes",
        Label("Test bikes", "测试自行车"),
        "CNY",
        parts=parts,
        modules=modules if modules is not None else (wheel, shelf),
        products=(product,),
    )


BASE_CONFIG = {
    "frame_material": "steel",
    "gears": 8,
    "rack": True,
    "accessories": frozenset({"bell", "lights"}),
    "shelves": 2,
    "shelf_depth": 300,
    "finish": "painted",
}
