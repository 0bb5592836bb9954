"""The OpenAPI document matches the real routes, and schemathesis finds no server error behind it."""

from __future__ import annotations

import collections
import itertools
import re
import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import content_type_conformance
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from exam_server.api.errors import CODES
from tests.api.conftest import open_sitting

_PARAM = re.compile(r"<(?:[^:<>]+:)?(\w+)>")


def test_document_and_url_map_agree(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    routes = {
        (_PARAM.sub(r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert routes == documented
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if int(status) >= 400:
                    codes = response["content"]["application/json"]["schema"]["properties"]["error"]["enum"]
                    assert all(CODES[code][0] == int(status) for code in codes), (path, method, status)


def test_contract_document_names_every_route_and_code():
    from tests.conftest import REPO

    contract = (REPO / "docs" / "kiosk-api.md").read_text()
    for code in CODES:
        assert f"`{code}`" in contract, f"docs/kiosk-api.md does not mention {code}"
    for path in ("/api/v1/ping", "/api/v1/checkins", "/frames", "/answers/", "/clock", "/captures", "/submit"):
        assert path in contract


def test_schemathesis_finds_no_server_error(app, db, exam, kiosk):
    exam.plan.face_policy = {"min_interval_seconds": 0, "max_interval_seconds": 0, "retry_after_seconds": 0}
    db.session.commit()
    sitting = open_sitting(db, exam, kiosk.id)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    started = time.monotonic()
    failures, calls = [], []
    turn = itertools.count()

    def exercise(operation, mode) -> None:
        """Run one operation's generated cases in one mode (a function per pair, so its closure binds them)."""

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            # Half the cases aim at the kiosk's real sitting so that its code paths run too.
            if "sitting_id" in (case.path_parameters or {}) and next(turn) % 2:
                case.path_parameters["sitting_id"] = sitting.id
            response = case.call(headers=headers)
            calls.append((operation.label, response.status_code))
            if response.status_code >= 500:
                failures.append((operation.label, response.status_code, response.text[:300]))
            elif mode is GenerationMode.POSITIVE:
                try:
                    case.validate_response(
                        response,
                        checks=[response_schema_conformance, status_code_conformance, content_type_conformance],
                    )
                except Exception as exc:  # schemathesis raises a group of failures
                    failures.append((operation.label, response.status_code, str(exc)[:500]))

        check()

    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(result.ok(), mode)
    assert failures == []
    print(collections.Counter(calls))
    assert time.monotonic() - started < 60
