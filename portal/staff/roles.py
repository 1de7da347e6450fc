"""Which staff role may do what: the one table that the route guards (``staff_required``) and the
navigation, buttons and dashboard all read, so a link is shown exactly when it can be followed.

admin may do everything.
"""

from __future__ import annotations

from collections.abc import Iterable

COUNTER = "counter"  # take money at the counter, print receipts, close the drawer
REQUEST_REFUND = "request_refund"  # list refunds and ask for one
DECIDE_REFUND = "decide_refund"  # approve or reject a refund someone else asked for
INCIDENTS = "incidents"  # see payment incidents and decide them
READ_METERS = "read_meters"  # 抄表: the day's meters on the phone, enter reads, re-read orders
READ_PHOTOS = "read_photos"  # the meter photo a reader attached to a read
REVIEW = "review"  # 复核: decide the items of the review queue (read findings, held bills)
ACCOUNT_HISTORY = "account_history"  # find an account; its whole story: reads, bills, money, notices, dunning, audit
ASSESSMENT = "assessment"  # 差错考核 of readers and reviewers, with its CSV
LINE_LOSS = "line_loss"  # 台区线损 by district, with its trend
CHANGE_METER = "change_meter"  # record a meter change (换表) or a multiplier change (倍率)
BILL_PDF = "bill_pdf"  # a bill of any state (held, issued, cancelled) as its PDF
CORRECT_BILL = "correct_bill"  # 作废 an issued bill with a reason, 重开 a cancelled one from the corrected reads
REQUEST_WAIVER = "request_waiver"  # list late-fee waivers (减免) and ask for one
DECIDE_WAIVER = "decide_waiver"  # approve or refuse a waiver someone else asked for
FINANCE_REPORTS = "finance_reports"  # 营销财务月报: the monthly statement, its charts, CSV and XLSX
CHANNEL_REPORT = "channel_report"  # the daily report per payment channel, with its CSV
RECONCILE = "reconcile"  # 对账 exceptions queue: heal, refund, note, ask for and approve (others') write-offs
COLLECTIONS = "collections"  # 催费: the debtors' worklist, promises to pay and instalment plans, supply orders
AUDIT_LOG = "audit_log"  # read the audit log of every staff action

ADMIN = "admin"
GRANTS: dict[str, frozenset[str]] = {
    "reader": frozenset({READ_METERS, READ_PHOTOS, ACCOUNT_HISTORY, CHANGE_METER}),
    # marketing's desk reads the finance statement too: both departments see the same figures
    "reviewer": frozenset({REVIEW, READ_PHOTOS, ACCOUNT_HISTORY, ASSESSMENT, LINE_LOSS, BILL_PDF, CORRECT_BILL, FINANCE_REPORTS}),
    # the service hall looks accounts up for the person at the counter
    "cashier": frozenset({COUNTER, REQUEST_REFUND, BILL_PDF, REQUEST_WAIVER, COLLECTIONS, ACCOUNT_HISTORY}),
    "finance": frozenset({INCIDENTS, REQUEST_REFUND, DECIDE_REFUND, BILL_PDF, REQUEST_WAIVER, DECIDE_WAIVER,
                          FINANCE_REPORTS, CHANNEL_REPORT, RECONCILE, COLLECTIONS, ACCOUNT_HISTORY, AUDIT_LOG}),
}
PERMISSIONS = frozenset().union(*GRANTS.values())


def may(roles: Iterable[str], permission: str) -> bool:
    """Whether someone holding ``roles`` may do ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    roles = set(roles)
    return ADMIN in roles or any(permission in GRANTS.get(role, ()) for role in roles)
