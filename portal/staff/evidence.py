"""What the review pages show as evidence: the meter's daily use as a chart (an interval of a
monthly-read meter is one wide bar of its average day), a rule's detail in words, and the audit
trail of an item as rows (the account history shows the same rows)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from billing.audit import AuditEntry
from billing.kwh import format_kwh
from billing.money import format_yuan
from billing.review_queue import Evidence, staff_names
from portal.charts import Chart, Point, bar_chart
from portal.filters import name_of, percent
from portal.i18n import gettext as _
from portal.staff.loss import percent_tick, rate_bp

LABELS = 6  # about this many dates under a chart


def kwh_tick(value: int, step: int) -> str:
    return str(value // 1000) if step % 1000 == 0 else format_kwh(value)


def use_chart(found: Evidence) -> Chart | None:
    """Use per day between the reads around the flagged day, that day marked."""
    if not found.intervals:
        return None
    origin, end = found.intervals[0].start, found.intervals[-1].end
    extent = (end - origin).days
    points = [Point((span.start - origin).days, span.days, span.daily_wh,
                    _("{start} 至 {end}：日均 {use} kWh", start=span.start.isoformat(), end=span.end.isoformat(),
                      use=format_kwh(span.daily_wh)),
                    " ".join(css for css, on in (("flagged", span.flagged), ("negative", span.daily_wh < 0)) if on))
              for span in found.intervals]
    step = max(1, -(-extent // LABELS))
    labels = [(at, (origin + timedelta(days=at)).strftime("%m-%d")) for at in range(0, extent + 1, step)]
    marks = [((found.day - origin).days, found.day.strftime("%m-%d"))] if origin <= found.day <= end else []
    return bar_chart(points, extent=extent, tick=kwh_tick, labels=labels, marks=marks)


def loss_chart(found: Evidence) -> Chart | None:
    """A district finding: the district's daily loss rate around the day, that day marked."""
    rated = [(figure, rate_bp(figure)) for figure in found.losses]
    rated = [(figure, rate) for figure, rate in rated if rate is not None]
    if not rated:
        return None
    origin = rated[0][0].starts_on
    extent = (rated[-1][0].starts_on - origin).days + 1
    points = [Point((figure.starts_on - origin).days, 1, rate, f"{figure.starts_on.isoformat()} {percent(rate, 10_000)}",
                    " ".join(css for css, on in (("flagged", figure.starts_on == found.day), ("negative", rate < 0),
                                                 ("estimated", figure.estimated or not figure.complete)) if on))
              for figure, rate in rated]
    step = max(1, -(-extent // LABELS))
    labels = [(at + 0.5, (origin + timedelta(days=at)).strftime("%m-%d")) for at in range(0, extent, step)]
    return bar_chart(points, extent=extent, tick=percent_tick, labels=labels)


def detail_rows(detail: dict) -> list[tuple[str, str]]:
    """A rule's evidence in words: named keys, kWh for ``_wh`` values, yuan for ``_fen``."""
    rows = []
    for key, value in detail.items():
        if isinstance(value, int) and not isinstance(value, bool) and key.endswith(("_wh", "_fen")):
            shown = f"{format_kwh(value)} kWh" if key.endswith("_wh") else f"¥{format_yuan(value)}"
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        rows.append((name_of("detail_names", key), shown))
    return rows


@dataclass(frozen=True)
class AuditRow:
    entry: AuditEntry
    who: str
    before: dict
    after: dict
    assigned: str  # the reader a re-read was sent to, by name


def audit_rows(session: Session, trail: list[tuple[AuditEntry, str]]) -> list[AuditRow]:
    decoded = [(entry, who, json.loads(entry.before) or {}, json.loads(entry.after) or {}) for entry, who in trail]
    names = staff_names(session, [after["assigned_to"] for *_, after in decoded if after.get("assigned_to")])
    return [AuditRow(entry, who, before, after, names.get(after.get("assigned_to"), ""))
            for entry, who, before, after in decoded]
