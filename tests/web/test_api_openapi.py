"""The OpenAPI document is true: served at /api/v1/openapi.json, every /api/v1 route of the app is
in it with its methods and every operation in it is a route, and it is a valid OpenAPI 3.1
document.  (That the answers match its schemas is checked on every call of the API tests, by
tests/web/api_client.py, and by the schemathesis run.)"""

from __future__ import annotations

import re

import pytest

from portal.api.spec import DOCUMENT
from tests.web.api_client import api

IMPLICIT = {"HEAD", "OPTIONS"}


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            found |= {(method, path) for method in rule.methods - IMPLICIT}
    return found


def _documented() -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in DOCUMENT["paths"].items() for method in operations}


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_every_route_is_documented_and_every_operation_is_a_route(engine, app):
    assert _routes(app) == _documented()
    served = api(app).get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json() == DOCUMENT


def test_the_document_is_valid_openapi_and_its_references_resolve():
    import schemathesis

    schema = schemathesis.openapi.from_dict(DOCUMENT)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(_documented())
    names = set(DOCUMENT["components"]["schemas"])
    refs = set(re.findall(r"#/components/schemas/(\w+)", str(DOCUMENT)))
    assert refs <= names and names - refs == set(), names - refs
