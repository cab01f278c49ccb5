"""API keys: who a key is, and its use recorded at most once a minute, apart from the request."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.marketplace import service
from selpo.marketplace.errors import MissingApiKey
from selpo.models import ApiKey
from tests.conftest import TEST_NOW
from tests.fixtures.builders import marketplace_key


def _principal(last_used: object = None) -> service.Principal:
    return service.Principal("marketplace", 7, 1, "OZON", last_used)  # type: ignore[arg-type]


class TestKeyUsage:
    def test_a_key_is_due_once_a_minute(self) -> None:
        usage = service.KeyUsage()
        assert usage.due(_principal(), TEST_NOW)
        assert not usage.due(_principal(), TEST_NOW + timedelta(seconds=59))
        assert usage.due(_principal(), TEST_NOW + timedelta(seconds=60))

    def test_a_recent_stored_use_is_not_written_again(self) -> None:
        usage = service.KeyUsage()
        assert not usage.due(_principal(TEST_NOW - timedelta(seconds=30)), TEST_NOW)
        assert usage.due(_principal(TEST_NOW - timedelta(minutes=5)), TEST_NOW)


class TestRecordKeyUse:
    def test_writes_only_when_the_stored_time_is_a_minute_old(self, session: Session) -> None:
        key = marketplace_key(session, "OZON", now=TEST_NOW)
        key_id = session.scalars(select(ApiKey.id).order_by(ApiKey.id.desc())).first()
        assert key_id is not None
        assert key.secret
        assert service.record_key_use(session, key_id=key_id, now=TEST_NOW)
        assert not service.record_key_use(
            session, key_id=key_id, now=TEST_NOW + timedelta(seconds=30)
        )
        assert service.record_key_use(session, key_id=key_id, now=TEST_NOW + timedelta(minutes=2))
        stored = session.scalars(select(ApiKey.last_used_at).where(ApiKey.id == key_id)).one()
        assert stored == TEST_NOW + timedelta(minutes=2)


def test_a_request_records_the_keys_use_once(client: TestClient, session: Session) -> None:
    key = marketplace_key(session, "OZON", now=TEST_NOW - timedelta(days=1))
    session.commit()
    prefix = key.secret.split("_")[1]
    for _ in range(3):
        assert client.get("/v1/shipments", headers=key.headers).status_code == 200
    session.expire_all()
    used = session.scalars(select(ApiKey.last_used_at).where(ApiKey.prefix == prefix)).one()
    assert used == TEST_NOW  # the app's frozen clock: written after the first answer


class TestAuthenticate:
    def test_a_marketplace_key_names_its_marketplace(self, session: Session) -> None:
        key = marketplace_key(session, "OZON", now=TEST_NOW)
        principal = service.authenticate(session, secret=key.secret, now=TEST_NOW)
        assert principal.marketplace_code == "OZON"
        assert principal.marketplace_id == key.marketplace.id
        assert not principal.is_admin

    def test_an_admin_key_names_no_marketplace(self, session: Session) -> None:
        issued = service.issue_key(session, now=TEST_NOW, marketplace=None)
        principal = service.authenticate(session, secret=issued.secret, now=TEST_NOW)
        assert principal.is_admin
        assert principal.marketplace_code is None

    def test_revoked_wrong_and_malformed_keys_are_refused(self, session: Session) -> None:
        key = marketplace_key(session, "OZON", now=TEST_NOW)
        prefix = key.secret.split("_")[1]
        with pytest.raises(MissingApiKey, match="not valid"):
            service.authenticate(session, secret=key.secret + "x", now=TEST_NOW)
        with pytest.raises(MissingApiKey, match="malformed"):
            service.authenticate(session, secret="nonsense", now=TEST_NOW)
        service.revoke_key(session, prefix=prefix, now=TEST_NOW)
        with pytest.raises(MissingApiKey, match="revoked"):
            service.authenticate(session, secret=key.secret, now=TEST_NOW)
