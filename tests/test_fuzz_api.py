"""Fuzzing the HTTP API from its own OpenAPI description (schemathesis, in-process ASGI, bounded).

Every operation the app documents gets schema-valid and schema-invalid requests (schemathesis' example,
coverage and fuzzing phases; at most MAX_EXAMPLES generated cases per operation), and every response must

- not be a 5xx, and
- fit the OpenAPI description: a documented status code, a documented content type, a body that validates
  against the documented schema, the documented headers.

The determinations run in this process (the session engine) rather than in the engine child process:
the routes, validation and error handlers are the same; tests/test_isolation.py and tests/test_load.py
cover the child process. A failure prints schemathesis' reproduction (a curl command).
"""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is in the `test` extra")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis import checks  # noqa: E402

from hazard_kb.api.app import create_app  # noqa: E402
from hazard_kb.engine import service  # noqa: E402

MAX_EXAMPLES = 25
SLOW = "/v1/audit"  # no parameters, and recomputes the whole audit per request (seconds each): called once
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]

app = create_app()  # in-process engine: the lifespan takes the process-wide default engine
# the description as the app serves it at /openapi.json, read without starting the app
schema = schemathesis.openapi.from_dict(app.openapi())
schema.app = app


@pytest.fixture(scope="module", autouse=True)
def _share_the_session_engine(engine):
    """The app's lifespan (started by schemathesis on the first call) takes `default_engine()`; make that
    the session's engine instead of compiling the knowledge base a second time."""
    with service._default_lock:
        if service._default is None:
            service._default = engine
    yield


SETTINGS = dict(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


@schema.exclude(path=SLOW).parametrize()
@settings(max_examples=MAX_EXAMPLES, **SETTINGS)
def test_no_5xx_and_every_response_fits_the_openapi_description(case):
    case.call_and_validate(checks=CHECKS)


def test_the_audit_fits_its_description_too():
    # the whole audit of 429 criteria takes ~4 s alone and over 10 s (schemathesis' default) on a loaded 2-core machine
    schema[SLOW]["GET"].Case().call_and_validate(checks=CHECKS, timeout=120)
