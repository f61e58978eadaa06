"""A server-rendered SVG Gantt chart of a production order's scheduled operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

ROW = 28
CHART_WIDTH = 900
"""Width of the time axis in viewBox units; the SVG scales to its container (``width="100%"``)."""
AXIS = 38
PAD_RIGHT = 16
MIN_TICK_SPACING = 78
"""Tick labels at least this far apart (viewBox units), so they never overlap."""
STEPS = tuple(timedelta(minutes=m) for m in (5, 10, 15, 30, 60, 120, 180, 240, 360, 720, 1440, 2880, 4320, 10080))


def _parse(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _text_width(text: str) -> float:
    """Approximate width of ``text`` at 12 px: CJK characters are about twice as wide as Latin ones."""
    return sum(12.0 if ord(ch) > 0x2E80 else 6.8 for ch in text)


def _ticks(start: datetime, end: datetime) -> tuple[list[datetime], timedelta]:
    """Tick marks at the smallest step (5 min .. 1 week) that keeps their labels apart."""
    seconds = max((end - start).total_seconds(), 60.0)
    step = STEPS[-1]
    for candidate in STEPS:
        if candidate.total_seconds() / seconds * CHART_WIDTH >= MIN_TICK_SPACING:
            step = candidate
            break
    first = start.replace(second=0, microsecond=0)
    if step >= timedelta(days=1):
        first = first.replace(hour=0, minute=0)
    elif step >= timedelta(hours=1):
        hours = int(step.total_seconds() // 3600)
        first = first.replace(hour=first.hour - first.hour % hours, minute=0)
    else:
        minutes = int(step.total_seconds() // 60)
        first = first.replace(minute=first.minute - first.minute % minutes)
    ticks: list[datetime] = []
    moment = first
    while moment <= end:
        if moment >= start:
            ticks.append(moment)
        moment += step
    return ticks, step


def gantt_svg(operations: Sequence[Mapping[str, Any]], *, locale: str = "en") -> Markup:
    """One bar per operation on a shared time axis (``planned_start`` .. ``planned_end``).

    The chart is as wide as its container (the SVG scales with its viewBox); the label column
    fits the longest operation label, tick labels never overlap and stay inside the chart.

    >>> svg = gantt_svg([{"name": {"en": "Weld"}, "work_center": "WELD", "op": 10,
    ...                   "planned_start": "2026-01-05T08:00:00", "planned_end": "2026-01-05T09:30:00"}])
    >>> svg.count("<rect class=\\"bar\\""), "Weld" in svg, 'width="100%"' in svg
    (1, True, True)
    """
    chinese = locale.startswith("zh")
    if not operations:
        return Markup('<p class="empty">{}</p>').format("没有已排程的工序。" if chinese else "No scheduled operations.")
    spans = [(_parse(o["planned_start"]), _parse(o["planned_end"])) for o in operations]
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    total = max((end - start).total_seconds(), 60.0)
    labels = []
    for op in operations:
        name = op.get("name") or {}
        label = name.get("zh-CN" if chinese else "en") or name.get("en") or ""
        labels.append(f"{op.get('op', '')} {label} · {op.get('work_center', '')}")
    label_width = min(max(_text_width(t) for t in labels) + 16, 360.0)
    height = AXIS + ROW * len(operations) + 8
    width = label_width + CHART_WIDTH + PAD_RIGHT

    def x(moment: datetime) -> float:
        return label_width + (moment - start).total_seconds() / total * CHART_WIDTH

    title = f"{len(operations)} 道工序的甘特图" if chinese else f"Gantt chart of {len(operations)} operations"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" role="img" viewBox="0 0 {width:.0f} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}">',
    ]
    ticks, step = _ticks(start, end)
    previous_day = None
    last_right = 0.0
    for tick in ticks:
        tx = x(tick)
        if step >= timedelta(days=1):
            text = tick.strftime("%m-%d")
        elif tick.date() != previous_day:
            text = tick.strftime("%m-%d %H:%M")
        else:
            text = tick.strftime("%H:%M")
        previous_day = tick.date()
        size = _text_width(text)
        anchor, left = "middle", tx - size / 2
        if tx + size / 2 > width - 2:
            anchor, left = "end", tx - size  # the last label ends at the chart's edge instead of being cut off
        elif left < label_width:
            anchor, left = "start", tx
        parts.append(f'<line class="tick" x1="{tx:.1f}" y1="{AXIS - 6}" x2="{tx:.1f}" y2="{height - 4}"/>')
        if left < last_right + 8:
            previous_day = None if text.count(" ") else previous_day  # the next shown label names the day
            continue  # it would overlap the label before it: the line alone marks the tick
        last_right = left + size
        parts.append(f'<text class="tick-label" x="{tx:.1f}" y="{AXIS - 12}" text-anchor="{anchor}">{text}</text>')
    for row, ((s, e), label) in enumerate(zip(spans, labels, strict=True)):
        y = AXIS + row * ROW
        bar_title = f"{label}: {s:%Y-%m-%d %H:%M} – {e:%Y-%m-%d %H:%M}"
        bar_x, bar_w = x(s), max(x(e) - x(s), 3.0)
        if row % 2:
            parts.append(f'<rect class="stripe" x="0" y="{y}" width="{width:.0f}" height="{ROW}"/>')
        parts.append(f'<text class="op-label" x="6" y="{y + ROW / 2 + 4:.1f}">{escape(label)}</text>')
        parts.append(
            f'<rect class="bar" x="{bar_x:.1f}" y="{y + 5}" width="{bar_w:.1f}" height="{ROW - 10}" rx="3">'
            f"<title>{escape(bar_title)}</title></rect>"
        )
    parts.append("</svg>")
    # Safe: every text from the data went through escape() above; the rest is numbers and fixed markup.
    return Markup("".join(parts))  # nosec B704
