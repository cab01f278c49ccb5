"""Collection fixtures: the office tests' world (clerks at Pestyaki and Alekhino) and two
collection partners added through the service, each with its key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from selpo.collection import service
from selpo.kit.clock import FrozenClock
from selpo.models import CollectionPartner
from tests.conftest import TEST_NOW
from tests.office.world import OfficeWorld, cheap_password_hashing, make_world
from tests.web.conftest import install_pages

DEPOT = "DH-155650"  # the Pestyaki district hub of the bundled region


@pytest.fixture(autouse=True)
def _cheap_passwords() -> Iterator[None]:
    with cheap_password_hashing():
        yield


@pytest.fixture
def world(session: Session, clock: FrozenClock) -> OfficeWorld:
    """Pestyaki and Alekhino with a signed-in clerk each, OZON serving both."""
    return make_world(session, clock)


@pytest.fixture
def pages(app: FastAPI) -> Iterator[TestClient]:
    """An HTTP client of the test app (pages and API); it follows no redirects."""
    install_pages(app)
    with TestClient(app, follow_redirects=False) as client:
        yield client


@dataclass(frozen=True)
class Partner:
    """A partner and the bearer header of its key."""

    row: CollectionPartner
    secret: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret}"}


@dataclass(frozen=True)
class Partners:
    ecotex: Partner  # textile and knitwear at Pestyaki only; coupons from 1 kg
    charity: Partner  # clothes at every office of the region; no coupons


@pytest.fixture
def partners(session: Session, world: OfficeWorld) -> Partners:
    ecotex = service.add_partner(
        session,
        code="ECOTEX",
        name="ЭкоТекс",
        takes=["textile", "knitwear"],
        offices="155650",
        depot=DEPOT,
        now=TEST_NOW,
        coupon_prefix="ECO",
        coupon_min_g=1000,
        coupon_note="Скидка 10 % в магазинах ЭкоТекс",
    )
    charity = service.add_partner(
        session,
        code="CHARITY",
        name="Добрые вещи",
        takes=["clothes"],
        offices="region",
        depot=DEPOT,
        now=TEST_NOW,
    )
    keys = {p.code: service.issue_key(session, partner=p, now=TEST_NOW) for p in (ecotex, charity)}
    session.flush()
    return Partners(Partner(ecotex, keys["ECOTEX"]), Partner(charity, keys["CHARITY"]))
