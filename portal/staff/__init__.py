"""Back office: staff login, incidents, refunds, the counter, meter reading (抄表) and meter
changes, the review queue, account histories, error assessment, line loss, late-fee waivers and the
monthly finance statement.  Every
action needs a role.

Importing the view modules registers their routes on the one staff blueprint.
"""

from portal.staff import (accounts, assessment, counter, finance, loss, meters, reading, review,  # noqa: F401
                          views, waivers)
from portal.staff.access import blueprint

__all__ = ["blueprint"]
