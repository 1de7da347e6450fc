"""Back office: staff login, incidents, refunds, the counter, meter reading (抄表), the review
queue, account histories, error assessment and line loss.  Every action needs a role.

Importing the view modules registers their routes on the one staff blueprint.
"""

from portal.staff import accounts, assessment, counter, loss, reading, review, views  # noqa: F401
from portal.staff.access import blueprint

__all__ = ["blueprint"]
