from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from bom import WorkCalendar, create_production_order, explode, route
from bom_package.bom_testcatalog import make_catalog
from catalog.snapshot import BomLine

DUE = date(2025, 3, 14)  # a Friday


def _order(catalog, config, **kw):
    args = {"quantity": 1, "due_date": DUE, "number": "PO-1"} | kw
    return create_production_order(catalog, "7", "abc123", "cargo-bike", config, **args)


def test_routing_selects_operations_and_puts_module_work_first(catalog, config):
    ops = route(catalog, explode(catalog, "cargo-bike", config))
    assert [(o.path, o.item, o.op) for o in ops] == [
        ("0020", "WHEEL", 10),
        ("0060", "SHELF", 10),
        ("0060", "SHELF", 20),
        ("", "cargo-bike", 10),
        ("", "cargo-bike", 20),
        ("", "cargo-bike", 30),
    ]
    assert [o.sequence for o in ops] == [1, 2, 3, 4, 5, 6]
    assert [o.level for o in ops] == [1, 1, 1, 0, 0, 0]


def test_deselected_operations_are_left_out(catalog, config):
    config.update(frame_material="aluminium", rack=False, shelves=0)
    ops = route(catalog, explode(catalog, "cargo-bike", config))
    assert [(o.item, o.op) for o in ops] == [("WHEEL", 10), ("cargo-bike", 20)]


def test_run_time_is_multiplied_by_the_quantity_built(catalog, config):
    ops = route(catalog, explode(catalog, "cargo-bike", config, quantity=3))
    wheel = ops[0]
    assert (wheel.quantity, wheel.setup_min, wheel.run_min) == (Decimal(6), Decimal(5), Decimal(12))
    assert wheel.run_total == Decimal(72)
    assert wheel.duration == Decimal(77)
    cut = ops[1]  # shelf depth 300 -> 3 min per shelf, 2 shelves per bike
    assert (cut.quantity, cut.run_min, cut.duration) == (Decimal(6), Decimal(3), Decimal(28))
    assemble = ops[4]
    assert assemble.run_min == Decimal(28)  # 20 + gears
    assert assemble.inputs == (("gears", 8),)


def test_nested_module_operations_come_before_their_parents():
    from catalog.snapshot import Label, Module, Operation

    inner = Module(
        "INNER",
        Label("Inner"),
        components=(BomLine(10, "BOLT"),),
        operations=(Operation(10, Label("Inner op"), "X", run_min="1"),),
    )
    outer = Module(
        "OUTER",
        Label("Outer"),
        components=(BomLine(10, "INNER", "2"),),
        operations=(Operation(10, Label("Outer op"), "Y", run_min="1"),),
    )
    cat = make_catalog(bom=(BomLine(10, "OUTER"), BomLine(20, "INNER")), modules=(inner, outer))
    config = {
        "frame_material": "steel",
        "gears": 3,
        "rack": False,
        "accessories": frozenset(),
        "shelves": 0,
        "shelf_depth": 200,
        "finish": "raw",
    }
    ops = route(cat, explode(cat, "cargo-bike", config))
    assert [(o.path, o.item, o.level) for o in ops][:3] == [
        ("0010/0010", "INNER", 2),
        ("0010", "OUTER", 1),
        ("0020", "INNER", 1),
    ]
    assert ops[0].quantity == Decimal(2)


def test_backward_scheduling_ends_on_the_due_date_and_chains_operations(catalog, config):
    order = _order(catalog, config)
    assert order.planned_end == datetime(2025, 3, 14, 16, 0)
    ops = order.operations
    assert ops[-1].planned_end == order.planned_end
    for earlier, later in zip(ops, ops[1:], strict=False):
        assert earlier.planned_end == later.planned_start
    # fit rack: 0 + 5 min; assemble: 10 + 28 min
    assert ops[-1].planned_start == datetime(2025, 3, 14, 15, 55)
    assert ops[-2].planned_start == datetime(2025, 3, 14, 15, 17)
    assert order.planned_start == ops[0].planned_start


def test_long_orders_cross_weekends_in_working_time(catalog, config):
    order = _order(catalog, config, quantity=20, due_date=date(2025, 3, 17))  # a Monday
    total = sum(int(Decimal(s.operation.duration) * 60) for s in order.operations)
    assert total > 8 * 3600  # more than a day of work
    assert order.planned_start.date() < date(2025, 3, 17)
    assert all(s.planned_start.isoweekday() <= 5 for s in order.operations)


def test_due_date_on_a_weekend_ends_on_the_friday_before(catalog, config):
    order = _order(catalog, config, due_date=date(2025, 3, 16))
    assert order.planned_end == datetime(2025, 3, 14, 16, 0)


def test_material_is_needed_at_the_start_of_its_consuming_operation(catalog, config):
    order = _order(catalog, config)
    by_item = {m.item: m for m in order.materials}
    ops = {s.operation.key: s for s in order.operations}
    assert by_item["FRAME-STEEL"].need_date == ops[("", 10)].planned_start
    assert by_item["FRAME-STEEL"].consumed_by == (":10",)
    assert by_item["SPOKE"].need_date == ops[("0020", 10)].planned_start
    # BOLT is on an unlinked shelf line (order start) and on the assembly line: the earlier wins
    assert by_item["BOLT"].need_date == order.planned_start
    # CHAIN has no op link: needed at order start
    assert by_item["CHAIN"].need_date == order.planned_start
    assert by_item["CHAIN"].consumed_by == ()


def test_latest_order_date_subtracts_lead_time_in_working_days(catalog, config):
    order = _order(catalog, config)
    rack = next(m for m in order.materials if m.item == "RACK")
    assert rack.need_date.date() == date(2025, 3, 14)
    assert rack.lead_time_days == 4
    assert rack.latest_order_date == date(2025, 3, 10)
    paint = next(m for m in order.materials if m.item == "PAINT")
    assert paint.latest_order_date == date(2025, 3, 13)


def test_unselected_linked_operation_means_material_needed_at_order_start(catalog, config):
    config.update(frame_material="aluminium")  # op 10 (weld) only runs for steel
    order = _order(catalog, config)
    frame = next(m for m in order.materials if m.item == "FRAME-ALU")
    assert frame.need_date == order.planned_start


def test_feasibility_flags_an_unreachable_due_date(catalog, config):
    late = _order(catalog, config, today=date(2025, 3, 12))
    assert late.feasibility is not None
    assert late.feasibility.due_date_reachable is False
    assert "FRAME-STEEL" in late.feasibility.late_materials  # 3 working days, needed on Friday
    assert late.feasibility.earliest_end > late.planned_end
    fine = _order(catalog, config, today=date(2025, 3, 3))
    assert fine.feasibility is not None
    assert fine.feasibility.due_date_reachable is True
    assert fine.feasibility.late_materials == ()
    assert fine.feasibility.earliest_end <= fine.planned_end


def test_earliest_start_waits_for_the_longest_lead_time_needed_first(catalog, config):
    order = _order(catalog, config, today=date(2025, 3, 3))  # Monday
    assert order.feasibility is not None
    # the first operation (lace wheel) needs rims (2 days) and spokes (1 day), plus the parts no
    # operation consumes (chain: 2 days, bell and bolts: 0): two working days -> Wednesday
    assert order.feasibility.earliest_start == datetime(2025, 3, 5, 8, 0)


def test_order_carries_catalog_version_hash_and_configuration(catalog, config):
    order = _order(catalog, config, quantity=2)
    assert (order.number, order.catalog, order.catalog_version, order.catalog_hash) == (
        "PO-1",
        "test-bikes",
        "7",
        "abc123",
    )
    assert order.quantity == 2 and order.bom.quantity == 2
    assert dict(order.configuration)["shelves"] == 2


def test_a_different_calendar_changes_the_schedule(catalog, config):
    two_shifts = WorkCalendar(shifts=2)
    order = _order(catalog, config, calendar=two_shifts)
    assert order.planned_end == datetime(2025, 3, 15, 0, 0)
    assert order.calendar == two_shifts


def test_product_without_routing_starts_and_ends_on_the_due_date():
    cat = make_catalog(bom=(BomLine(10, "BOLT", "2"),))
    config = {
        "frame_material": "steel",
        "gears": 3,
        "rack": False,
        "accessories": frozenset(),
        "shelves": 0,
        "shelf_depth": 200,
        "finish": "raw",
    }
    from dataclasses import replace

    product = replace(cat.products[0], routing=())
    cat = replace(cat, products=(product,))
    order = create_production_order(
        cat, "1", "h", "cargo-bike", config, quantity=1, due_date=DUE, number="X", today=date(2025, 3, 3)
    )
    assert order.operations == ()
    assert order.planned_start == order.planned_end
    assert order.feasibility is not None and order.feasibility.due_date_reachable
