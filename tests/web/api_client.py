"""The mini-program as the API tests play it: a Flask test client that logs in by SMS code, sends
the bearer token, and checks every answer against the OpenAPI document (portal/api/spec.py): the
status is documented for the operation (or falls to its ``default``), and the body matches."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import jsonschema_rs

from portal.api.spec import DOCUMENT

_OPERATIONS = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$"), path) for path in DOCUMENT["paths"]]


def documented_schema(method: str, path: str, status: int) -> dict | None:
    """The schema of the documented answer, None for an answer without a body.  A path or method
    the document does not have must be a 404 or 405 error; a status it does not list, an Error."""
    found = [template for pattern, template in _OPERATIONS if pattern.match(path)]
    operation = DOCUMENT["paths"][found[0]].get(method.lower()) if found else None
    if operation is None:
        assert status == (405 if found else 404), f"{method} {path} answered {status}"
        return {"$ref": "#/components/schemas/Error"}
    answer = operation["responses"].get(str(status)) or operation["responses"]["default"]
    content = answer.get("content", {}).get("application/json")
    return None if content is None else content["schema"]


def check_answer(method: str, path: str, answer) -> None:
    if not path.startswith("/api/v1/") or path.endswith("/openapi.json"):
        return
    schema = documented_schema(method, path, answer.status_code)
    if schema is None:
        assert not answer.get_data(), f"{method} {path} answered {answer.status_code} with an undocumented body"
        return
    assert answer.is_json, f"{method} {path} answered {answer.status_code} {answer.content_type}"
    validator = jsonschema_rs.Draft202012Validator({**schema, "components": DOCUMENT["components"]})
    errors = [error.message for error in validator.iter_errors(answer.get_json())]
    assert not errors, f"{method} {path} {answer.status_code}: {errors} in {answer.get_json()}"


@dataclass
class Api:
    """One phone's mini-program: ``token`` once logged in."""

    client: object
    token: str | None = None
    headers: dict = field(default_factory=dict)

    def call(self, method: str, path: str, *, json=None, token: str | None = None, **kwargs):
        headers = dict(self.headers)
        bearer = token or self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        headers.update(kwargs.pop("headers", {}))
        answer = self.client.open(path, method=method, json=json, headers=headers, **kwargs)
        check_answer(method, path.split("?", 1)[0], answer)
        return answer

    def get(self, path: str, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path: str, json=None, **kwargs):
        return self.call("POST", path, json={} if json is None else json, **kwargs)

    def log_in(self, phone: str) -> str:
        sent = self.post("/api/v1/login/code", {"phone": phone})
        assert sent.status_code == 202, sent.get_json()
        answer = self.post("/api/v1/login", {"phone": phone, "code": sent.get_json()["demo_code"]})
        assert answer.status_code == 201, answer.get_json()
        self.token = answer.get_json()["token"]
        return self.token


def api(app, phone: str | None = None) -> Api:
    """A fresh client (no cookies), logged in as ``phone`` if given."""
    found = Api(app.test_client())
    if phone:
        found.log_in(phone)
    return found
