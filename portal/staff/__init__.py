"""Back office: staff login, incidents, refunds, the counter, meter changes.  Every action needs a role.

Importing the view modules registers their routes on the one staff blueprint.
"""

from portal.staff import counter, meters, views  # noqa: F401
from portal.staff.access import blueprint

__all__ = ["blueprint"]
