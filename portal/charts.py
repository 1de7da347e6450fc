"""Bar charts drawn on the server as inline SVG (templates/staff/_chart.html): they need no
JavaScript and no inline style, so they work under the strict Content-Security-Policy; colours
come from classes in app.css.  Bars may have different widths (a monthly-read meter's interval
spans many days) and negative values (negative use, negative line loss) hang below the zero line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 64, 8, 12, 26  # room for the value ticks and the x labels


@dataclass(frozen=True)
class Point:
    """One bar in chart units: from ``start`` over ``span`` along x (days, months), ``value`` up."""

    start: float
    span: float
    value: int
    title: str  # what a tooltip and a screen reader say
    css: str = ""  # a modifier class: flagged, negative, estimated


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    css: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int  # y of the plot's bottom edge
    zero: float  # y of the zero line
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, value label)
    labels: list[tuple[float, str]]  # (x, label) under the plot
    marks: list[tuple[float, str, str]]  # (x, label, text-anchor): vertical lines, e.g. the flagged day


def nice_step(span: int) -> int:
    """A round step (1, 2 or 5 times a power of ten) that cuts ``span`` into about four."""
    raw = max(span / 4, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(int(m * magnitude) for m in (1, 2, 5, 10) if m * magnitude >= raw)


def bar_chart(points: list[Point], *, extent: float, tick: Callable[[int, int], str],
              labels: list[tuple[float, str]] = (), marks: list[tuple[float, str]] = ()) -> Chart:
    """Lay out ``points`` over x from 0 to ``extent``; ``tick(value, step)`` writes a value label."""
    values = [point.value for point in points] or [0]
    step = nice_step(max(values + [0]) - min(values + [0]))
    low, high = math.floor(min(values + [0]) / step) * step, math.ceil(max(values + [0]) / step) * step
    high = high if high > low else low + step
    plot_w, plot_h, bottom = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM, HEIGHT - BOTTOM

    def x(at: float) -> float:
        return round(LEFT + plot_w * at / max(extent, 1), 1)

    def y(value: int) -> float:
        return round(TOP + plot_h * (high - value) / (high - low), 1)

    bars = []
    for point in points:
        left, right = x(point.start), x(point.start + point.span)
        gap = 1 if right - left > 3 else 0
        top, base = sorted((y(point.value), y(0)))
        bars.append(Bar(left, top, max(right - left - gap, 1), max(base - top, 1), point.title, point.css))
    ticks = [(y(value), tick(value, step)) for value in range(low, high + 1, step)]
    # A mark's label reads away from the right edge, where it would be cut off.
    shown_marks = [(x(at), text, "end" if x(at) > WIDTH - RIGHT - 60 else "start") for at, text in marks]
    return Chart(WIDTH, HEIGHT, LEFT, WIDTH - RIGHT, TOP, bottom, y(0), bars, ticks,
                 [(x(at), text) for at, text in labels], shown_marks)
