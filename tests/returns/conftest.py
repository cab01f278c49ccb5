"""Returns fixtures: the office world (``tests.office.world``) on the test's database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from selpo.kit.clock import FrozenClock
from tests.office.world import OfficeWorld, cheap_password_hashing, make_world


@pytest.fixture(autouse=True)
def _cheap_passwords() -> Iterator[None]:
    with cheap_password_hashing():
        yield


@pytest.fixture
def world(session: Session, clock: FrozenClock) -> OfficeWorld:
    """Pestyaki and Alekhino with a signed-in clerk each, OZON serving both."""
    return make_world(session, clock)
