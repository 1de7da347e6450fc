"""Error assessment (差错考核) at the desk: per reader and per reviewer, one month at a time, the work
done, the errors found in it later and the error rate (``billing.assessment``); and the same month
as CSV for Excel (UTF-8 with a BOM, or Excel reads the Chinese as mojibake)."""

from __future__ import annotations

import csv
import io
from datetime import date

from flask import Response, render_template

from billing.assessment import READER, Assessment, assess
from billing.db import read_session
from portal.filters import percent
from portal.i18n import gettext as _
from portal.staff.access import blueprint, staff_required
from portal.staff.months import asked_month, recent_months
from portal.staff.roles import ASSESSMENT
from portal.wiring import services

MONTHS_OFFERED = 13


def _assessment() -> tuple[Assessment, date]:
    month, current = asked_month()
    with read_session(services().engine) as db:
        return assess(db, month), current


@blueprint.get("/assessment")
@staff_required(ASSESSMENT)
def assessment_page():
    found, current = _assessment()
    return render_template("staff/assessment.html", found=found, months=recent_months(current, MONTHS_OFFERED))


@blueprint.get("/assessment.csv")
@staff_required(ASSESSMENT)
def assessment_csv():
    found, _current = _assessment()
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("月份"), _("岗位"), _("工号"), _("姓名"), _("工作量"), _("差错"), _("差错率")])
    month = found.month.strftime("%Y-%m")
    for line in found.lines:
        role = _("抄表员") if line.role == READER else _("复核员")
        writer.writerow([month, role, line.username, line.name, line.work, line.errors, percent(line.errors, line.work)])
    bills = found.bills
    for role, errors in ((_("账单作废"), bills.cancelled), (_("账单重开"), bills.reissued)):
        writer.writerow([month, role, "", "", bills.issued, errors, percent(errors, bills.issued)])
    filename = f"assessment-{month}.csv"
    return Response(out.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
