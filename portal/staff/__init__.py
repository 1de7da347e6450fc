"""Back office: staff login, incidents, refunds, the counter, meter reading.  Every action needs a role.

Importing the view modules registers their routes on the one staff blueprint.
"""

from portal.staff import counter, reading, views  # noqa: F401
from portal.staff.access import blueprint

__all__ = ["blueprint"]
