"""A server-rendered SVG Gantt chart of a production order's scheduled operations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from markupsafe import Markup, escape

ROW = 26
LABEL_WIDTH = 260
CHART_WIDTH = 720
AXIS = 34


def _parse(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _ticks(start: datetime, end: datetime) -> list[datetime]:
    """Tick marks: hours for short spans, days beyond two days."""
    span = end - start
    step = timedelta(hours=1) if span <= timedelta(hours=12) else timedelta(hours=4)
    if span > timedelta(days=2):
        step = timedelta(days=1)
    first = start.replace(minute=0, second=0, microsecond=0)
    if step == timedelta(days=1):
        first = first.replace(hour=0)
    ticks: list[datetime] = []
    moment = first
    while moment <= end and len(ticks) < 40:
        if moment >= start:
            ticks.append(moment)
        moment += step
    return ticks


def gantt_svg(operations: Sequence[Mapping[str, Any]], *, locale: str = "en") -> Markup:
    """One bar per operation on a shared time axis (``planned_start`` .. ``planned_end``).

    >>> svg = gantt_svg([{"name": {"en": "Weld"}, "work_center": "WELD", "op": 10,
    ...                   "planned_start": "2026-01-05T08:00:00", "planned_end": "2026-01-05T09:30:00"}])
    >>> svg.count("<rect class=\\"bar\\""), "Weld" in svg
    (1, True)
    """
    if not operations:
        return Markup('<p class="empty">No scheduled operations.</p>')
    spans = [(_parse(o["planned_start"]), _parse(o["planned_end"])) for o in operations]
    start = min(s for s, _ in spans)
    end = max(e for _, e in spans)
    total = max((end - start).total_seconds(), 60.0)
    height = AXIS + ROW * len(operations) + 8
    width = LABEL_WIDTH + CHART_WIDTH + 10

    def x(moment: datetime) -> float:
        return LABEL_WIDTH + (moment - start).total_seconds() / total * CHART_WIDTH

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="Gantt chart of {len(operations)} operations">',
    ]
    for tick in _ticks(start, end):
        tx = x(tick)
        text = tick.strftime("%m-%d %H:%M")
        parts.append(f'<line class="tick" x1="{tx:.1f}" y1="{AXIS - 6}" x2="{tx:.1f}" y2="{height - 4}"/>')
        parts.append(
            f'<text class="tick-label" x="{tx:.1f}" y="{AXIS - 10}" text-anchor="middle">{text}</text>'
        )
    for row, (op, (s, e)) in enumerate(zip(operations, spans, strict=True)):
        y = AXIS + row * ROW
        name = op.get("name") or {}
        label = name.get("zh-CN" if locale.startswith("zh") else "en") or name.get("en") or ""
        title = f"{op.get('op')} {label} @ {op.get('work_center')}: {s:%Y-%m-%d %H:%M} – {e:%Y-%m-%d %H:%M}"
        bar_x, bar_w = x(s), max(x(e) - x(s), 2.0)
        parts.append(
            f'<text class="op-label" x="4" y="{y + ROW / 2 + 4:.1f}">{escape(str(op.get("op", "")))} '
            f"{escape(label)} · {escape(str(op.get('work_center', '')))}</text>"
        )
        parts.append(
            f'<rect class="bar" x="{bar_x:.1f}" y="{y + 4}" width="{bar_w:.1f}" height="{ROW - 8}" rx="3">'
            f"<title>{escape(title)}</title></rect>"
        )
    parts.append("</svg>")
    # Safe: every text from the data went through escape() above; the rest is numbers and fixed markup.
    return Markup("".join(parts))  # nosec B704
