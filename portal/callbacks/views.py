"""The channels' notify URLs.  No session, no CSRF (the channel signs instead); the body is read
raw, because the signature covers its exact bytes."""

from __future__ import annotations

from flask import Blueprint, Response, abort, request

from payments import callbacks
from portal.wiring import services

blueprint = Blueprint("callbacks", __name__, url_prefix="/callbacks")
CHANNELS = {"wechatpay": "wechat", "alipay": "alipay"}


@blueprint.post("/<name>")
def notify(name: str):
    svc = services()
    gateway = svc.gateways.get(CHANNELS.get(name, ""))
    if gateway is None:
        abort(404)
    answer = callbacks.handle(svc.engine, gateway, dict(request.headers), request.get_data(cache=False),
                              now=svc.clock())
    return Response(answer.body, status=answer.status, content_type=answer.content_type)
