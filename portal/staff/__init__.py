"""Back office: staff login, incidents, refunds, the counter, meter reading (抄表) and meter
changes, the review queue, account histories, error assessment and line loss.  Every action needs a role.

Importing the view modules registers their routes on the one staff blueprint.
"""

from portal.staff import accounts, assessment, counter, loss, meters, reading, review, views  # noqa: F401
from portal.staff.access import blueprint

__all__ = ["blueprint"]
