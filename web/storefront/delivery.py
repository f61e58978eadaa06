"""Delivery estimates shown to the buyer before ordering.

The promise itself is :func:`usecases.orders.due_date_for` (longest part
lead time + routing time + the product's own lead time, in working days): the
storefront shows the date an order placed today would get, and how many
working days away it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bom import WorkCalendar, explode, route
from catalog.snapshot import Catalog
from usecases.orders import due_date_for


@dataclass(frozen=True, slots=True)
class DeliveryEstimate:
    ready_on: date
    """The due date an order placed ``today`` would get."""
    working_days: int
    """Working days from ``today`` to ``ready_on``."""


def working_days_between(start: date, end: date, calendar: WorkCalendar) -> int:
    """Working days after ``start`` up to and including ``end``.

    >>> working_days_between(date(2025, 3, 7), date(2025, 3, 11), WorkCalendar())  # Fri -> Tue
    2
    """
    days, current = 0, start
    while current < end:
        current += timedelta(days=1)
        if calendar.is_working_day(current):
            days += 1
    return days


def delivery_estimate(
    catalog: Catalog,
    product_code: str,
    configuration: Mapping[str, Any],
    *,
    quantity: int = 1,
    today: date | None = None,
    calendar: WorkCalendar | None = None,
) -> DeliveryEstimate:
    """When a complete configuration ordered ``today`` would be ready."""
    cal = calendar or WorkCalendar()
    start = today or date.today()
    bom = explode(catalog, product_code, configuration, quantity=quantity)
    ready = due_date_for(catalog.product(product_code), bom, route(catalog, bom), start, cal)
    return DeliveryEstimate(ready, working_days_between(start, ready, cal))
