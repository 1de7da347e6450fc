"""Back office: staff login, incidents, refunds, the counter, meter reading (抄表) and meter
changes, the review queue, account histories, error assessment, line loss and late-fee waivers.  Every
action needs a role.

Importing the view modules registers their routes on the one staff blueprint.
"""

from portal.staff import accounts, assessment, counter, loss, meters, reading, review, views, waivers  # noqa: F401
from portal.staff.access import blueprint

__all__ = ["blueprint"]
