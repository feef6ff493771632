"""The API keeps its own contract (issue 13): a bounded schemathesis run against /openapi.json,
public and authenticated, finds no server error and no response that breaks the schema."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance
from portal_helpers import PASSWORD, START, Clock

from copyright_guard.core.policy import load_policy
from copyright_guard.store import reviewers
from copyright_guard.store.db import connect
from copyright_guard.web.app import create_app

pytestmark = pytest.mark.timeout(120)


def _app():
    """The portal on a fresh SQLite database with one reviewer (built at import: schemathesis reads
    the schema to generate the test cases before any fixture runs)."""
    from argon2 import PasswordHasher

    path = Path(tempfile.mkdtemp(prefix="cg-contract-")) / "portal.db"
    engine = connect(f"sqlite:///{path}")
    hasher, reviewers._HASHER = reviewers._HASHER, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        reviewers.add(engine, "rev1", PASSWORD, now=START)
    finally:
        reviewers._HASHER = hasher
    # Generous limits: the run must reach the handlers, not the rate limiter.
    return create_app(engine, load_policy(), secret_key="contract-test-secret", clock=Clock(START),
                      submissions_per_hour=100_000, logins_per_15_minutes=100_000)


APP = _app()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
# Left out, deliberately: "schema-valid request rejected" (positive_data_acceptance). Some rules
# are not JSON Schema: a domain must be a registrable name, an attachment's bytes must be of its
# declared type, a note must not carry control characters, a reference must exist. They answer 422
# or 404, which the schema documents; everything else (status codes, content types, headers,
# bodies, no 5xx, 401 without credentials) is checked.
NOT_SCHEMA_RULES = [positive_data_acceptance]
BASIC = {"Authorization": "Basic " + base64.b64encode(f"rev1:{PASSWORD}".encode()).decode()}


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_public_and_anonymous(case):
    case.call_and_validate(excluded_checks=NOT_SCHEMA_RULES)


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_authenticated(case):
    # ignored_auth re-sends the case with broken credentials, which our headers would replace;
    # the anonymous run checks that a reviewer route without credentials is a 401.
    case.call_and_validate(headers=BASIC, excluded_checks=[*NOT_SCHEMA_RULES, ignored_auth])


def test_a_405_names_every_method_of_the_resource(client):
    response = client.put("/api/complaints")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"  # two routes, one resource (RFC 9110 §15.5.6)


def test_the_documented_422_is_the_one_sent(client):
    schema = client.get("/openapi.json").json()
    documented = schema["paths"]["/api/complaints"]["post"]["responses"]["422"]["content"]["application/json"]["schema"]
    assert documented == {"$ref": "#/components/schemas/InvalidInput"}
    answer = client.post("/api/complaints", json={"name": "x"})
    assert answer.status_code == 422
    assert set(answer.json()) == {"detail", "errors"} and isinstance(answer.json()["detail"], str)
    assert client.get("/api/figures", params={"perod": "month"}).status_code == 422  # a typo is not ignored


def test_the_schema_says_what_a_valid_complaint_needs(client):
    complaint = client.get("/openapi.json").json()["components"]["schemas"]["ComplaintIn"]
    assert complaint["properties"]["description"]["minLength"] == 20
    assert {"required": ["urls"], "properties": {"urls": {"minItems": 1}}} in complaint["anyOf"]
