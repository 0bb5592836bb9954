"""The OpenAPI document matches the real routes, and schemathesis finds no server error behind it."""

from __future__ import annotations

import collections
import itertools
import re
import time

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from exam_server.api.errors import CODES
from tests.api.conftest import open_sitting

_PARAM = re.compile(r"<(?:[^:<>]+:)?(\w+)>")
# Generated cases per operation and mode: enough to meet each check, few enough to run in about a minute.
EXAMPLES = 25
# A schema-valid request may still be refused for what it means, never for its form (that is 400): an ID
# whose check digit fails (422), a face that does not match (422), an expired check-in (410), a busy face pool.
# Two 400s answer well-formed values the schema cannot judge: a capture's nonce_invalid (a nonce this sitting
# was never given) and an answer's letter the item does not offer (E on a four-option item).
CONFIG = """
[checks.positive_data_acceptance]
expected-statuses = ["2xx", "401", "403", "404", "409", "410", "422", "503"]

[[operations]]
include-path-regex = "/(captures|answers/[^/]+)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "410", "422", "503"]
"""


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


def test_schemathesis_all_checks_pass(app, db, exam, kiosk, monkeypatch):
    """Every built-in check of schemathesis (status codes, schemas, headers, negative data refused, positive data
    accepted, unsupported methods answered 405 with Allow, authentication not ignored...) on every operation."""
    from exam_server.services.throttle import parse_limits

    # Its authentication checks send hundreds of requests without a token from one address, which the per-address
    # limit would answer 429 (tests/api/test_rate_limit.py tests that); the kiosk token keeps its real limit.
    monkeypatch.setitem(app.extensions["api_limits"], "anonymous", parse_limits("100000 per minute"))
    exam.plan.face_policy = {"min_interval_seconds": 0, "max_interval_seconds": 0, "retry_after_seconds": 0}
    db.session.commit()
    sitting = open_sitting(db, exam, kiosk.id)
    config = schemathesis.config.SchemathesisConfig.from_str(CONFIG)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)
    headers = {"Authorization": f"Bearer {kiosk.token}"}
    started = time.monotonic()
    failures, calls = [], []
    turn = itertools.count()

    def exercise(operation, mode) -> None:
        """Run one operation's generated cases in one mode (a function per pair, so its closure binds them)."""

        @settings(
            max_examples=EXAMPLES,
            # The same cases every run: a CI run that fails must fail again on the developer's machine.
            derandomize=True,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case):
            positive = mode is GenerationMode.POSITIVE
            # Half the valid cases aim at the kiosk's real sitting so that its code paths run too; a negative
            # case keeps what it broke (a path or a missing token) so that its refusal can be checked.
            if positive and "sitting_id" in (case.path_parameters or {}) and next(turn) % 2:
                case.path_parameters["sitting_id"] = sitting.id
            sent = headers if positive or "Authorization" in (case.headers or {}) else {}
            response = case.call(headers=sent)
            calls.append((operation.label, mode.value, response.status_code))
            try:
                case.validate_response(response, headers=sent)
            except (AssertionError, BaseExceptionGroup) as exc:  # schemathesis raises a group of failures
                failures.append((operation.label, mode.value, response.status_code, str(exc)[:800]))

        check()

    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            exercise(result.ok(), mode)
    print(collections.Counter(calls))
    assert failures == [], "\n\n".join(map(str, failures))
    assert time.monotonic() - started < 120


def test_the_drift_schemathesis_found_is_gone(client, db, kiosk):
    """Issue 14, finding 10: 404 for a path the int converter refuses is documented, a 405 names the allowed
    methods, and a citizen ID must have 18 characters by the schema already."""
    document = client.get("/api/v1/openapi.json").get_json()
    for path, operations in document["paths"].items():
        for operation in operations.values():
            if any(p["schema"]["type"] == "integer" for p in operation.get("parameters", [])):
                assert (
                    "not_found"
                    in operation["responses"]["404"]["content"]["application/json"]["schema"]["properties"]["error"][
                        "enum"
                    ]
                ), path
    wrong = kiosk.get("/api/v1/sittings/not-a-number/clock")
    assert (wrong.status_code, wrong.get_json()["error"]) == (404, "not_found")
    refused = kiosk.client.delete("/api/v1/ping", headers={"Authorization": f"Bearer {kiosk.token}"})
    assert refused.status_code == 405 and set(refused.headers["Allow"].split(", ")) >= {"GET"}
    checkin = document["components"]["schemas"]["CheckinRequest"]["properties"]["citizen_id"]
    assert checkin["pattern"] == "^[0-9]{17}[0-9Xx]$"
    short = kiosk.post("/api/v1/checkins", json={"citizen_id": "37130219900307777"})
    assert (short.status_code, short.get_json()["error"], short.get_json()["field"]) == (
        422,
        "invalid_citizen_id",
        "citizen_id",
    )
