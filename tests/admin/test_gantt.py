"""The Gantt chart fills its container, and its tick labels neither overlap nor leave the chart."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from web.admin.gantt import _text_width, gantt_svg


def _operations(hours: float, count: int = 15) -> list[dict[str, object]]:
    start = datetime(2026, 12, 17, 8, 7)
    step = timedelta(hours=hours / count)
    return [{"op": 10 * (i + 1), "name": {"en": f"Operation {i}", "zh-CN": f"工序 {i}"}, "work_center": "WC",
             "planned_start": (start + step * i).isoformat(), "planned_end": (start + step * (i + 1)).isoformat()}
            for i in range(count)]


@pytest.mark.parametrize("hours", [0.5, 3, 11, 31, 80, 400])
@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_tick_labels_stay_inside_and_apart(hours: float, locale: str) -> None:
    svg = str(gantt_svg(_operations(hours), locale=locale))
    assert 'width="100%"' in svg and "viewBox" in svg
    width = float(re.search(r'viewBox="0 0 ([\d.]+) ', svg).group(1))  # type: ignore[union-attr]
    boxes = []
    for x, anchor, text in re.findall(r'<text class="tick-label" x="([\d.]+)" y="[\d.]+" text-anchor="(\w+)">([^<]+)<', svg):
        size, at = _text_width(text), float(x)
        left = {"start": at, "middle": at - size / 2, "end": at - size}[anchor]
        boxes.append((left, left + size))
    assert len(boxes) >= 2
    assert all(0 <= left and right <= width for left, right in boxes)
    assert all(b[0] >= a[1] for a, b in zip(boxes, boxes[1:], strict=False))
    labels = re.findall(r'<text class="op-label"[^>]*>([^<]+)<', svg)
    assert len(labels) == 15 and ("工序" in labels[0]) == (locale == "zh_CN")
