"""Schemathesis over the whole OpenAPI, against the real app and database, with a marketplace's
key and with the operator's: no server error, and every answer as the schema documents it
(status code, content type, body, headers; errors as problem details).

Bounded for CI: a few derandomized examples per operation and mode (valid and invalid data),
no shrinking; every failure is collected and reported at once.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from selpo.collection import service as collection_service
from selpo.logistics import timetables
from tests.conftest import TEST_NOW
from tests.fixtures.builders import admin_headers, make_shipment, marketplace_key

EXAMPLES = 6  # per operation, mode and key: about 15 s per backend on a small machine
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


def _failure_text(exc: BaseException) -> str:
    # Keep what was wrong and the response; drop schemathesis's curl line (it holds the key).
    return str(exc).split("Reproduce with", 1)[0].strip()[:800]


def _fuzz(
    operation: APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    headers: dict[str, str],
    failures: dict[str, set[str]],
) -> int:
    """Run one operation in one mode; record what fails; say how many cases ran."""
    cases = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def probe(case: Case[Any]) -> None:
        nonlocal cases
        cases += 1
        try:
            case.call_and_validate(headers=headers, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:
            failures[f"{operation.label} ({mode.value})"].add(_failure_text(exc))

    try:
        probe()
    except Unsatisfiable:
        pass  # nothing to negate in an operation without parameters
    return cases


def _partner_headers(session: Session) -> dict[str, str]:
    partner = collection_service.add_partner(
        session,
        code="FUZZ",
        name="Fuzz",
        takes=["textile"],
        offices="region",
        depot="DH-155650",
        now=TEST_NOW,
    )
    secret = collection_service.issue_key(session, partner=partner, now=TEST_NOW)
    return {"Authorization": f"Bearer {secret}"}


@pytest.mark.slow
@pytest.mark.parametrize("who", ["marketplace", "operator", "partner"])
def test_the_api_answers_as_documented(app: FastAPI, session: Session, who: str) -> None:
    timetables.generate_timetable(session, now=TEST_NOW, seed=7)
    ozon = marketplace_key(session, "OZON", now=TEST_NOW)
    make_shipment(session, ozon.marketplace, now=TEST_NOW)
    headers = ozon.headers if who == "marketplace" else admin_headers(session, now=TEST_NOW)
    if who == "partner":  # a collection partner's key, over its own routes
        headers = _partner_headers(session)
    session.commit()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: dict[str, set[str]] = defaultdict(set)
    cases = 0
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    assert len(operations) > 25
    if who == "partner":
        operations = [o for o in operations if o.path.startswith("/v1/collections")]
        assert len(operations) == 4

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            cases += _fuzz(operation, mode, headers, failures)

    report = "\n\n".join(
        f"== {label}\n" + "\n--\n".join(sorted(texts)) for label, texts in sorted(failures.items())
    )
    assert not failures, f"{len(failures)} operations answered off their schema:\n{report}"
    assert cases > len(operations) * EXAMPLES
