"""A simple work calendar for scheduling production orders.

Working time is one block per working day: ``shifts`` shifts of
``shift_hours`` hours back to back from ``day_start`` (default one 8-hour
shift, 08:00–16:00, Monday to Friday). Times are naive local datetimes of the
plant. Durations are counted in working seconds.

>>> from datetime import date, datetime
>>> cal = WorkCalendar()
>>> cal.end_of_day(date(2025, 3, 8))          # a Saturday: the Friday before
datetime.datetime(2025, 3, 7, 16, 0)
>>> cal.subtract(datetime(2025, 3, 10, 9, 0), 120 * 60)   # Monday 09:00 minus 2 h
datetime.datetime(2025, 3, 7, 15, 0)
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from bom.errors import SchedulingError

_MAX_SEARCH_DAYS = 3660
"""Give up looking for a working day after ten years (a calendar with no working days)."""


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """Working days and hours. ``working_days`` are ISO weekdays, Monday = 1."""

    day_start: time = time(8, 0)
    shifts: int = 1
    shift_hours: int = 8
    working_days: frozenset[int] = frozenset({1, 2, 3, 4, 5})
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not self.working_days or not self.working_days <= {1, 2, 3, 4, 5, 6, 7}:
            raise SchedulingError(
                f"working days must be a non-empty subset of 1..7 (Monday = 1), got {sorted(self.working_days)}"
            )
        if self.shifts < 1 or self.shift_hours < 1:
            raise SchedulingError("a working day needs at least one shift of at least one hour")
        start = self.day_start.hour * 3600 + self.day_start.minute * 60 + self.day_start.second
        if start + self.seconds_per_day > 24 * 3600:
            raise SchedulingError(
                f"{self.shifts} shift(s) of {self.shift_hours} h from {self.day_start.isoformat()} run past midnight"
            )

    @property
    def seconds_per_day(self) -> int:
        return self.shifts * self.shift_hours * 3600

    def is_working_day(self, day: date) -> bool:
        return day.isoweekday() in self.working_days and day not in self.holidays

    def start_of(self, day: date) -> datetime:
        return datetime.combine(day, self.day_start)

    def end_of(self, day: date) -> datetime:
        return self.start_of(day) + timedelta(seconds=self.seconds_per_day)

    def working_day_on_or_before(self, day: date) -> date:
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day -= timedelta(days=1)
        raise SchedulingError(f"no working day within {_MAX_SEARCH_DAYS} days before {day.isoformat()}")

    def working_day_on_or_after(self, day: date) -> date:
        for _ in range(_MAX_SEARCH_DAYS):
            if self.is_working_day(day):
                return day
            day += timedelta(days=1)
        raise SchedulingError(f"no working day within {_MAX_SEARCH_DAYS} days after {day.isoformat()}")

    def end_of_day(self, day: date) -> datetime:
        """End of work on ``day``, or on the last working day before it."""
        return self.end_of(self.working_day_on_or_before(day))

    def subtract_working_days(self, day: date, days: int) -> date:
        """The working day ``days`` working days before ``day`` (``day`` itself, moved back to a
        working day, when ``days`` is 0).

        >>> WorkCalendar().subtract_working_days(date(2025, 3, 10), 1)   # Monday -> Friday
        datetime.date(2025, 3, 7)
        """
        return _subtract_working_days(self, day, days)

    def add_working_days(self, day: date, days: int) -> date:
        """The working day ``days`` working days after ``day`` (moved forward to a working day first)."""
        return _add_working_days(self, day, days)

    def subtract(self, end: datetime, seconds: int) -> datetime:
        """The instant ``seconds`` working seconds before ``end``.

        When ``end`` lies outside working time it first moves back to the end of
        the previous working block.
        """
        if seconds <= 0:
            return end
        # Track the working day explicitly: a block may end at midnight, on the next calendar date.
        day, cursor = self._back_into_work(end)
        remaining = seconds
        while True:
            available = int((cursor - self.start_of(day)).total_seconds())
            if remaining <= available:
                return cursor - timedelta(seconds=remaining)
            remaining -= available
            day = self.working_day_on_or_before(day - timedelta(days=1))
            cursor = self.end_of(day)

    def add(self, start: datetime, seconds: int) -> datetime:
        """The instant ``seconds`` working seconds after ``start``."""
        if seconds <= 0:
            return start
        day, cursor = self._forward_into_work(start)
        remaining = seconds
        while True:
            available = int((self.end_of(day) - cursor).total_seconds())
            if remaining <= available:
                return cursor + timedelta(seconds=remaining)
            remaining -= available
            day = self.working_day_on_or_after(day + timedelta(days=1))
            cursor = self.start_of(day)

    def _back_into_work(self, moment: datetime) -> tuple[date, datetime]:
        """The working day and instant from which to count backwards (inside or at the end of a block)."""
        for day in (moment.date(), moment.date() - timedelta(days=1)):
            if self.is_working_day(day) and self.start_of(day) < moment <= self.end_of(day):
                return day, moment
        day = self.working_day_on_or_before(moment.date())
        if self.end_of(day) > moment:
            day = self.working_day_on_or_before(day - timedelta(days=1))
        return day, self.end_of(day)

    def _forward_into_work(self, moment: datetime) -> tuple[date, datetime]:
        """The working day and instant from which to count forwards (inside or at the start of a block)."""
        for day in (moment.date() - timedelta(days=1), moment.date()):
            if self.is_working_day(day) and self.start_of(day) <= moment < self.end_of(day):
                return day, moment
        day = self.working_day_on_or_after(moment.date())
        if self.start_of(day) < moment:
            day = self.working_day_on_or_after(day + timedelta(days=1))
        return day, self.start_of(day)

    def describe(self) -> dict[str, object]:
        """The calendar's parameters (recorded on a production order for reproducibility)."""
        return {
            "day_start": self.day_start.isoformat(timespec="minutes"),
            "shifts": self.shifts,
            "shift_hours": self.shift_hours,
            "working_days": sorted(self.working_days),
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
        }


# A production order counts the working days back from each part's need date and forward from
# today by its lead time: the same few (calendar, day, days) for every order of a day, each a
# walk day by day. Kept by value (a calendar is frozen; an error is raised again, not kept).


@functools.lru_cache(maxsize=4096, typed=True)
def _subtract_working_days(calendar: WorkCalendar, day: date, days: int) -> date:
    current = calendar.working_day_on_or_before(day)
    for _ in range(days):
        current = calendar.working_day_on_or_before(current - timedelta(days=1))
    return current


@functools.lru_cache(maxsize=4096, typed=True)
def _add_working_days(calendar: WorkCalendar, day: date, days: int) -> date:
    current = calendar.working_day_on_or_after(day)
    for _ in range(days):
        current = calendar.working_day_on_or_after(current + timedelta(days=1))
    return current
