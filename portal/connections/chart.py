"""The Connection page's 24-hour charts, drawn on the server as SVG shapes (no JavaScript,
no chart library): this module turns counts per hour into rectangles, lines and tick
labels in a fixed coordinate box; templates/portal/_connection_chart.html writes them
out with a <title>, a <desc> and a table holding the same numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.utils import timezone

WIDTH, HEIGHT = 720, 200
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 12, 28  # margins around the plot area
LABEL_EVERY = 3  # an hour label under every third bar


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    css: str  # class of its shapes (colours live in the stylesheet)


@dataclass
class Chart:
    title: str
    description: str
    unit: str
    series: list
    rows: list  # one dict per hour: {"label": "14:00", values by series key, "cells"}
    bars: list = field(default_factory=list)  # {x, y, width, height, css, text}
    lines: list = field(default_factory=list)  # {points, css}
    dots: list = field(default_factory=list)  # {x, y, css, text}
    ticks: list = field(default_factory=list)  # {y, label}
    hour_labels: list = field(default_factory=list)  # {x, label}
    width: int = WIDTH
    height: int = HEIGHT
    empty: bool = False
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    tick_x: int = LEFT - 6
    hour_y: int = HEIGHT - 8
    middle: tuple = ((LEFT + WIDTH - RIGHT) // 2, TOP + (HEIGHT - TOP - BOTTOM) // 2)


def _nice_max(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten that is >= value (at least 1)."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _frame(chart: Chart, hours: list, top_value: float) -> tuple:
    """Ticks and hour labels; returns (slot width, y of a value)."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    slot = plot_w / len(hours)

    def y_of(value):
        return round(TOP + plot_h - plot_h * value / top_value, 1)

    for value in (0, top_value / 2, top_value):
        chart.ticks.append({"y": y_of(value), "label": f"{value:g}"})
    for i, hour in enumerate(hours):
        if (len(hours) - 1 - i) % LABEL_EVERY == 0:  # counted from the current hour
            chart.hour_labels.append({"x": round(LEFT + slot * (i + 0.5), 1),
                                      "label": _hour_label(hour)})
    return slot, y_of


def _cells(rows, series) -> None:
    """Each row's values in series order, for the table (templates cannot index)."""
    for row in rows:
        row["cells"] = [row[s.key] for s in series]


def _hour_label(hour) -> str:
    return timezone.localtime(hour).strftime("%H:00")


def stacked_bars(*, title, unit, series, hours, values_by_hour) -> Chart:
    """One stacked bar per hour: values_by_hour[hour][series.key], first series at the
    bottom."""
    rows = [{"label": _hour_label(h), **{s.key: values_by_hour[h][s.key] for s in series}}
            for h in hours]
    totals = {s.key: sum(r[s.key] for r in rows) for s in series}
    peak = max((sum(r[s.key] for s in series) for r in rows), default=0)
    summary = ", ".join(f"{totals[s.key]} {s.label.lower()}" for s in series)
    _cells(rows, series)
    chart = Chart(title=title, unit=unit, series=series, rows=rows, empty=peak == 0,
                  description=f"Last 24 hours: {summary}; at most {peak} in one hour.")
    slot, y_of = _frame(chart, hours, _nice_max(peak))
    for i, row in enumerate(rows):
        base = 0
        for s in series:
            value = row[s.key]
            if not value:
                continue
            top = y_of(base + value)
            chart.bars.append({
                "x": round(LEFT + slot * i + slot * 0.15, 1), "width": round(slot * 0.7, 1),
                "y": top, "height": round(y_of(base) - top, 1), "css": s.css,
                "text": f"{row['label']}: {value} {s.label.lower()}"})
            base += value
    return chart


def lines(*, title, unit, series, hours, values_by_hour) -> Chart:
    """One line per series through the hours that have a value (None: no point; the line
    breaks there)."""
    rows = [{"label": _hour_label(h), **{s.key: values_by_hour.get(h, {}).get(s.key)
                                         for s in series}} for h in hours]
    present = [r[s.key] for r in rows for s in series if r[s.key] is not None]
    peak = max(present, default=0)
    if present:
        parts = []
        for s in series:
            values = [r[s.key] for r in rows if r[s.key] is not None]
            parts.append(f"{s.label} between {min(values):g} and {max(values):g} {unit}")
        description = "Last 24 hours: " + "; ".join(parts) + "."
    else:
        description = "Last 24 hours: no calls."
    _cells(rows, series)
    chart = Chart(title=title, unit=unit, series=series, rows=rows, empty=not present,
                  description=description)
    slot, y_of = _frame(chart, hours, _nice_max(peak))
    for s in series:
        run = []
        for i, row in enumerate(rows + [{s.key: None}]):
            value = row[s.key]
            if value is None:
                if len(run) > 1:
                    chart.lines.append({"points": " ".join(f"{x},{y}" for x, y in run),
                                        "css": s.css})
                run = []
                continue
            point = (round(LEFT + slot * (i + 0.5), 1), y_of(value))
            run.append(point)
            chart.dots.append({"x": point[0], "y": point[1], "css": s.css,
                               "text": f"{row['label']}: {s.label} {value:g} {unit}"})
    return chart
