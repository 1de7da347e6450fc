"""台区 line loss at the desk: each district's latest daily and monthly loss rate (supply, customers,
loss, and whether an estimated read or a missing one went into it) and its monthly trend over about
fourteen months, from the figures ``billing.line_loss`` keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import render_template
from sqlalchemy import func
from sqlmodel import select

from billing.accounts import District
from billing.clock import beijing_date
from billing.db import read_session
from billing.line_loss import DAY, MONTH, DistrictLoss
from billing.money import round_half_up
from portal.charts import Chart, Point, bar_chart
from portal.filters import percent
from portal.i18n import gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.roles import LINE_LOSS
from portal.wiring import services

TREND_MONTHS = 14


def rate_bp(figure: DistrictLoss) -> int | None:
    """Loss / supply in basis points (half-up), or None without supply."""
    return round_half_up(figure.loss_wh * 10_000, figure.supply_wh) if figure.supply_wh > 0 else None


@dataclass
class DistrictLine:
    district: District
    day: DistrictLoss | None = None
    month: DistrictLoss | None = None
    trend: list[DistrictLoss] = field(default_factory=list)  # oldest first
    chart: Chart | None = None


def _months_back(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 - months
    return date(index // 12, index % 12 + 1, 1)


def percent_tick(value: int, step: int) -> str:
    return f"{value // 100}%" if step % 100 == 0 else percent(value, 10_000)


def trend_chart(trend: list[DistrictLoss], since: date) -> Chart | None:
    points = []
    for figure in trend:
        rate = rate_bp(figure)
        if rate is None:
            continue
        flags = [(_("含估抄"), figure.estimated), (_("数据不全"), not figure.complete)]
        title = " ".join([figure.starts_on.strftime("%Y-%m"), percent(rate, 10_000), *(text for text, on in flags if on)])
        css = " ".join(css for css, on in (("negative", rate < 0), ("estimated", figure.estimated or not figure.complete)) if on)
        at = (figure.starts_on.year - since.year) * 12 + figure.starts_on.month - since.month
        points.append(Point(at, 1, rate, title, css))
    if not points:
        return None
    labels = [(at + 0.5, _months_back(since, -at).strftime("%y-%m")) for at in range(0, TREND_MONTHS, 2)]
    return bar_chart(points, extent=TREND_MONTHS, tick=percent_tick, labels=labels)


def loss_lines(db, today: date) -> list[DistrictLine]:
    since = _months_back(today.replace(day=1), TREND_MONTHS - 1)
    lines = {d.id: DistrictLine(d) for d in db.exec(select(District).order_by(District.code))}
    latest = select(DistrictLoss.district_id, DistrictLoss.period, func.max(DistrictLoss.starts_on).label("last")) \
        .group_by(DistrictLoss.district_id, DistrictLoss.period).subquery()
    for figure in db.exec(select(DistrictLoss).join(latest, (latest.c.district_id == DistrictLoss.district_id)
                                                    & (latest.c.period == DistrictLoss.period)
                                                    & (latest.c.last == DistrictLoss.starts_on))):
        setattr(lines[figure.district_id], "day" if figure.period == DAY else "month", figure)
    for figure in db.exec(select(DistrictLoss).where(DistrictLoss.period == MONTH, DistrictLoss.starts_on >= since)
                          .order_by(DistrictLoss.starts_on)):
        lines[figure.district_id].trend.append(figure)
    for line in lines.values():
        line.chart = trend_chart(line.trend, since)
    return list(lines.values())


@blueprint.get("/loss")
@staff_required(LINE_LOSS)
def line_loss_page():
    svc = services()
    with read_session(svc.engine) as db:
        lines = loss_lines(db, beijing_date(svc.clock()))
    return render_template("staff/loss.html", lines=lines, rate_bp=rate_bp)
