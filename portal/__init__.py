"""The web layer: ``create_app()``, blueprints, templates, CLI commands and error mapping."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from portal import errors, filters, i18n, security
from portal.config import NAMES, PROJECT_ROOT, load_settings
from portal.wiring import build_services, close_reading_connection

csrf = CSRFProtect()


def create_app(overrides: Mapping[str, object] | None = None) -> Flask:
    """The portal; ``overrides`` replace settings, and its other keys (a test's ENGINE, CLOCK,
    GATEWAYS, Flask's own keys) are injected as they are."""
    settings = load_settings(os.environ, overrides)
    injected = {key: value for key, value in (overrides or {}).items() if key not in NAMES}
    app = Flask(
        __name__,
        instance_path=settings.INSTANCE_PATH,
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(asdict(settings), **injected)
    # A form's CSRF token lives as long as the login behind it, which the server ends by its own idle
    # and absolute lifetimes; so a page can be kept with its forms' tokens (portal.pages.views).
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", WTF_CSRF_TIME_LIMIT=None)
    # Werkzeug's canonical-URL redirects (/manager -> /manager/, /pay//x -> /pay/x) would copy the
    # request's query string into Location: serve both spellings instead.
    app.url_map.strict_slashes = app.url_map.merge_slashes = False
    if settings.PROXIES:  # else every client is the proxy, and one busy moment throttles them all
        hops = settings.PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["dianfei"] = build_services(settings, injected)
    app.teardown_request(close_reading_connection)
    security.init_app(app, app.extensions["dianfei"].gateways)  # before CSRF, which reads the body
    csrf.init_app(app)
    i18n.init_app(app)
    filters.init_app(app)
    errors.init_app(app)
    _register_blueprints(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from portal import auth, health
    from portal.api import blueprint as api_blueprint
    from portal.callbacks import views as callbacks
    from portal.manager import documents as manager_documents, views as manager
    from portal.pages import bills as bill_pages, payments as pay_pages, views as pages
    from portal.pages import binding, history, reminders, usage
    from portal.staff import blueprint as staff_blueprint
    from portal.wechat import views as wechat_login

    for blueprint in (auth.blueprint, health.blueprint, pages.blueprint, pay_pages.blueprint, bill_pages.blueprint,
                      manager.blueprint, manager_documents.blueprint, binding.blueprint, usage.blueprint,
                      history.blueprint, reminders.blueprint,
                      staff_blueprint, callbacks.blueprint, wechat_login.blueprint, api_blueprint):
        app.register_blueprint(blueprint)
    csrf.exempt(callbacks.blueprint)
    csrf.exempt(api_blueprint)  # bearer tokens, never cookies: nothing for a forged form to borrow
