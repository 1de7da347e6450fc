"""WSGI entry point: ``gunicorn wsgi:app``; the ``dianfei`` command binds to the same factory.

A wrong setting stops the process with the same one line per problem that ``dianfei`` prints, not
a traceback, and with exit status 4: gunicorn's "application failed to load", on which its master
stops instead of starting workers that would fail the same way forever.
"""

import sys

from portal import create_app
from portal.cli import ONE_LINE_ERRORS

APP_LOAD_ERROR = 4

try:
    app = create_app()
except ONE_LINE_ERRORS as error:
    print("\n".join(f"dianfei: {line}" for line in str(error).splitlines()), file=sys.stderr)
    sys.exit(APP_LOAD_ERROR)
