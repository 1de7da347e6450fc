"""WSGI entry point: ``gunicorn wsgi:app``; the ``dianfei`` command binds to the same factory."""

from portal import create_app

app = create_app()
