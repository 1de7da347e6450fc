"""Back office: staff login, incidents, refunds, the counter, the review queue, account histories,
error assessment, line loss and meter changes.  Every action needs a role.

Importing the view modules registers their routes on the one staff blueprint.
"""

from portal.staff import accounts, assessment, counter, loss, meters, review, views  # noqa: F401
from portal.staff.access import blueprint

__all__ = ["blueprint"]
