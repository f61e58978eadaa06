from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from bom import SchedulingError, WorkCalendar

FRI = date(2025, 3, 7)
SAT = date(2025, 3, 8)
MON = date(2025, 3, 10)


def test_default_calendar_is_one_eight_hour_shift_monday_to_friday():
    cal = WorkCalendar()
    assert cal.start_of(MON) == datetime(2025, 3, 10, 8, 0)
    assert cal.end_of(MON) == datetime(2025, 3, 10, 16, 0)
    assert [cal.is_working_day(date(2025, 3, d)) for d in range(7, 11)] == [True, False, False, True]


@pytest.mark.parametrize(
    ("end", "minutes", "expected"),
    [
        (datetime(2025, 3, 10, 16, 0), 60, datetime(2025, 3, 10, 15, 0)),
        (datetime(2025, 3, 10, 9, 0), 120, datetime(2025, 3, 7, 15, 0)),  # over the weekend
        (datetime(2025, 3, 10, 20, 0), 30, datetime(2025, 3, 10, 15, 30)),  # after hours: from end of day
        (datetime(2025, 3, 9, 12, 0), 30, datetime(2025, 3, 7, 15, 30)),  # Sunday: from Friday's end
        (datetime(2025, 3, 10, 16, 0), 8 * 60 * 2, datetime(2025, 3, 7, 8, 0)),  # exactly two days
        (datetime(2025, 3, 10, 12, 0), 0, datetime(2025, 3, 10, 12, 0)),
    ],
)
def test_subtract_counts_working_time_only(end, minutes, expected):
    assert WorkCalendar().subtract(end, minutes * 60) == expected


@pytest.mark.parametrize(
    ("start", "minutes", "expected"),
    [
        (datetime(2025, 3, 7, 15, 0), 120, datetime(2025, 3, 10, 9, 0)),
        (datetime(2025, 3, 8, 10, 0), 30, datetime(2025, 3, 10, 8, 30)),
        (datetime(2025, 3, 10, 6, 0), 60, datetime(2025, 3, 10, 9, 0)),
    ],
)
def test_add_counts_working_time_only(start, minutes, expected):
    assert WorkCalendar().add(start, minutes * 60) == expected


def test_working_days_arithmetic_skips_weekends_and_holidays():
    cal = WorkCalendar(holidays=frozenset({date(2025, 3, 6)}))
    assert cal.subtract_working_days(MON, 2) == date(2025, 3, 5)  # Fri, then Thu is a holiday -> Wed
    assert cal.add_working_days(FRI, 1) == MON
    assert cal.subtract_working_days(SAT, 0) == FRI
    assert cal.end_of_day(SAT) == datetime(2025, 3, 7, 16, 0)


def test_calendar_is_configurable():
    cal = WorkCalendar(day_start=time(6, 0), shifts=2, working_days=frozenset({1, 2, 3, 4, 5, 6}))
    assert cal.end_of(SAT) == datetime(2025, 3, 8, 22, 0)
    assert cal.subtract(datetime(2025, 3, 10, 7, 0), 2 * 3600) == datetime(2025, 3, 8, 21, 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"working_days": frozenset()},
        {"working_days": frozenset({0})},
        {"shifts": 0},
        {"day_start": time(20, 0)},
    ],
)
def test_unusable_calendars_are_rejected(kwargs):
    with pytest.raises(SchedulingError):
        WorkCalendar(**kwargs)


def test_a_calendar_without_any_working_day_in_reach_fails_clearly():
    mondays = frozenset(date(2014, 1, 6) + timedelta(weeks=k) for k in range(1100))
    cal = WorkCalendar(working_days=frozenset({1}), holidays=mondays)
    with pytest.raises(SchedulingError, match="no working day"):
        cal.working_day_on_or_before(date(2025, 3, 12))


def test_blocks_ending_at_midnight_are_counted_on_their_own_day():
    cal = WorkCalendar(shifts=2)  # 08:00-24:00
    assert cal.end_of_day(SAT) == datetime(2025, 3, 8, 0, 0)
    assert cal.subtract(datetime(2025, 3, 8, 0, 0), 3600) == datetime(2025, 3, 7, 23, 0)
    assert cal.subtract(datetime(2025, 3, 8, 12, 0), 3600) == datetime(2025, 3, 7, 23, 0)
    assert cal.add(datetime(2025, 3, 7, 23, 30), 3600) == datetime(2025, 3, 10, 8, 30)


def test_working_day_counts_are_kept_per_calendar_and_day(monkeypatch):
    """Every production order counts the same lead times from the same days: counted once per
    calendar, day and number of days, then found again without walking the days."""
    christmas = WorkCalendar(holidays=frozenset({date(2026, 12, 25)}))
    assert christmas.add_working_days(date(2026, 12, 21), 7) == date(2026, 12, 31)
    assert christmas.subtract_working_days(date(2027, 1, 4), 7) == date(2026, 12, 23)
    walked: list[date] = []
    real = WorkCalendar.is_working_day
    monkeypatch.setattr(WorkCalendar, "is_working_day", lambda self, day: walked.append(day) or real(self, day))
    assert christmas.add_working_days(date(2026, 12, 21), 7) == date(2026, 12, 31)
    assert christmas.subtract_working_days(date(2027, 1, 4), 7) == date(2026, 12, 23)
    assert walked == []
    assert WorkCalendar().add_working_days(date(2026, 12, 21), 7) == date(2026, 12, 30)  # its own calendar's count
    assert walked

