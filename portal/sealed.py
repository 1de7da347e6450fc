"""Values a page carries to its next request that the server must not take on trust: signed with
the app's secret under a purpose (the salt), with a lifetime."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from billing.errors import InvalidInput


def seal(purpose: str, data: object) -> str:
    return URLSafeTimedSerializer(current_app.secret_key, salt=purpose).dumps(data)


def unseal(purpose: str, token: str, *, max_age: int, field: str) -> object:
    """What ``seal`` sealed, if the token is ours, unaltered and younger than ``max_age`` seconds."""
    try:
        return URLSafeTimedSerializer(current_app.secret_key, salt=purpose).loads(token, max_age=max_age)
    except BadSignature:
        raise InvalidInput(field, "the page expired or was altered") from None
