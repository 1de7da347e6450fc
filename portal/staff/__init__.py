"""Back office: staff login, incidents, refunds, the counter, meter reading (抄表) and meter
changes, the review queue, account histories, error assessment, line loss, late-fee waivers, collections
(催费) with its supply orders, the audit-log viewer, the monthly finance statement, the daily channel report and the 对账 exceptions queue.  Every
action needs a role.

Importing the view modules registers their routes on the one staff blueprint.
"""

from portal.staff import (  # noqa: F401
    accounts, assessment, audit_viewer, channel_report, collections, counter, finance, loss, meters, reading, reconciliation,
    review, supply_orders, views,
    waivers,
)
from portal.staff.access import blueprint

__all__ = ["blueprint"]
