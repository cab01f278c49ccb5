"""Importing the region: the real files, malformed rows, re-import, closures."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from selpo.db import create_db_engine, make_session_factory, session_scope
from selpo.kit.clock import FrozenClock
from selpo.marketplace import service as marketplace_service
from selpo.migrate import upgrade_to_head
from selpo.models import (
    District,
    Hub,
    Marketplace,
    MarketplaceConnection,
    PostOffice,
    Settlement,
)
from selpo.models.marketplace import UNSET_ACCEPTING_INDEX
from selpo.network.importer import import_region
from selpo.network.sources import OfficeSource
from tests.conftest import TEST_NOW
from tests.fixtures.regions import bundled_source, import_source, without_office


class TestImportRegion:
    def test_the_bundled_region_is_loaded(self, session: Session) -> None:
        offices = session.scalar(select(func.count()).select_from(PostOffice))
        rural = session.scalar(select(func.count()).where(PostOffice.rural.is_(True)))
        assert offices == 301
        # 188 derived rural + Новые Горки, which the 2021 census lists as a rural locality.
        assert rural == 189
        assert session.scalar(select(func.count()).select_from(District)) == 27

    def test_every_office_has_coordinates_and_flags_its_defaults(self, session: Session) -> None:
        for office in session.scalars(select(PostOffice)):
            assert 55.5 < office.lat < 58.5
            assert 39.0 < office.lon < 44.0
            assert office.opening_hours_is_default
            assert office.address_is_estimate
        # An office without a usable postal-code point stands at its locality's point (the
        # reference's rule, docs/data.md); none falls back to the district centre.
        fallback = session.scalars(
            select(PostOffice).where(PostOffice.coord_precision == "district_centre_fallback")
        ).all()
        assert fallback == []

    def test_every_locality_is_a_settlement(self, session: Session) -> None:
        assert session.scalar(select(func.count()).select_from(Settlement)) == 3_071
        with_office = session.scalar(
            select(func.count()).where(Settlement.has_post_office.is_(True))
        )
        assert 0 < (with_office or 0) < 301

    def test_district_populations_match_the_census(self, session: Session) -> None:
        for district in session.scalars(select(District)):
            placed = session.scalar(
                select(func.sum(Settlement.population)).where(Settlement.district_id == district.id)
            )
            assert placed == district.population, district.name
        total = session.scalar(select(func.sum(District.population)))
        assert total == 927_828  # the region at the 2021 census

    def test_estimates_are_never_shown_as_measured(self, session: Session) -> None:
        for settlement in session.scalars(select(Settlement)):
            basis = settlement.population_basis or ""
            if basis == "census_2021":
                assert not settlement.population_is_estimate
            if basis.startswith("estimate") or basis.endswith("scaled_to_census2021"):
                assert settlement.population_is_estimate

    def test_nineteen_offices_are_assumed_to_serve_ozon(self, session: Session) -> None:
        ozon = session.scalars(select(Marketplace).where(Marketplace.code == "OZON")).one()
        connections = session.scalars(
            select(MarketplaceConnection).where(MarketplaceConnection.marketplace_id == ozon.id)
        ).all()
        assert len(connections) == 19
        assert {c.basis for c in connections} == {"assumption"}
        assert {c.status for c in connections} == {"active"}

    def test_hubs_are_the_sorting_centre_and_district_centres(self, session: Session) -> None:
        hubs = session.scalars(select(Hub)).all()
        kinds = [h.kind for h in hubs]
        assert kinds.count("regional_sorting_centre") == 1
        assert "DH-155650" in {h.code for h in hubs}  # Пестяки's main office

    def test_reimport_changes_nothing(self, session: Session) -> None:
        report = import_source(session, bundled_source(), FrozenClock(TEST_NOW))
        assert report.added == []
        assert report.changed == []
        assert report.closed == []
        assert len(report.unchanged) == 301
        assert report.connections_added == 0


class TestImportIntoFreshDatabase:
    @pytest.fixture
    def factory(self, scratch_url: str) -> Iterator[sessionmaker[Session]]:
        engine = create_db_engine(scratch_url)
        upgrade_to_head(engine)
        yield make_session_factory(engine)
        engine.dispose()

    def test_malformed_rows_are_refused_and_the_rest_imported(
        self,
        factory: sessionmaker[Session],
    ) -> None:
        source = bundled_source()
        first = source.offices[0]

        def broken(office: OfficeSource) -> OfficeSource:
            if office.index == "155650":
                return replace(office, index="15565")
            if office.index == "155210":
                return replace(office, lat=95.0)
            if office.index == "155217":
                return replace(office, district="Нет такого района")
            return office

        edited = replace(
            source,
            offices=[*map(broken, source.offices), first],  # the first office twice
            localities=[
                *source.localities,
                replace(source.localities[0], key="test:astray", district="Нет такого района"),
            ],
        )
        with session_scope(factory) as session:
            report = import_region(session, edited, clock=FrozenClock(TEST_NOW))
        reasons = {(e.file, e.reason) for e in report.refused}
        assert ("offices", "index '15565' is not 6 digits") in reasons
        assert ("offices", "lat 95.0 of office 155210 is outside [-90, 90]") in reasons
        assert (
            "offices",
            "district 'Нет такого района' of office 155217 is not in the region",
        ) in (reasons)
        assert ("offices", f"index {first.index} repeats") in reasons
        assert (
            "localities",
            "district 'Нет такого района' of locality test:astray is not in the region",
        ) in reasons
        assert len(report.added) == 298
        with session_scope(factory) as session:
            indexes = set(session.scalars(select(PostOffice.index)))
            assert {"15565", "155650", "155210", "155217"}.isdisjoint(indexes)
            assert len(indexes) == 298

    def test_an_office_gone_from_the_data_is_closed_not_deleted(
        self,
        factory: sessionmaker[Session],
    ) -> None:
        with session_scope(factory) as session:
            import_source(session, bundled_source(), FrozenClock(TEST_NOW))
        with session_scope(factory) as session:
            report = import_source(
                session, without_office(bundled_source(), "155217"), FrozenClock(TEST_NOW)
            )
        assert report.closed == ["155217"]
        assert report.changed == []
        with session_scope(factory) as session:
            office = session.scalars(select(PostOffice).where(PostOffice.index == "155217")).one()
            assert office.status == "closed"

    def test_what_an_operator_set_survives_a_reimport(
        self,
        factory: sessionmaker[Session],
    ) -> None:
        real_hours = [[["08:00", "12:00"]]] * 6 + [[]]
        with session_scope(factory) as session:
            import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
            office = session.scalars(select(PostOffice).where(PostOffice.index == "155650")).one()
            office.opening_hours = real_hours
            office.opening_hours_is_default = False
            office.modernised_year = 2022
        with session_scope(factory) as session:
            report = import_region(session, bundled_source(), clock=FrozenClock(TEST_NOW))
            assert report.changed == []
            office = session.scalars(select(PostOffice).where(PostOffice.index == "155650")).one()
            assert office.opening_hours == real_hours
            assert office.modernised_year == 2022

    def test_a_marketplace_made_before_any_region_takes_the_first_sorting_centre(
        self,
        factory: sessionmaker[Session],
    ) -> None:
        with session_scope(factory) as session:
            early = marketplace_service.add_marketplace(session, code="EARLY", name="Early")
            assert early.accepting_index == UNSET_ACCEPTING_INDEX
        source = bundled_source()
        with session_scope(factory) as session:
            import_source(session, source, FrozenClock(TEST_NOW))
        sorting_centre = next(h for h in source.hubs if h.kind == "regional_sorting_centre")
        with session_scope(factory) as session:
            marketplaces = {m.code: m.accepting_index for m in session.scalars(select(Marketplace))}
            assert marketplaces["EARLY"] == sorting_centre.index
            assert marketplaces["OZON"] == sorting_centre.index  # created by the import
            later = marketplace_service.add_marketplace(session, code="LATER", name="Later")
            assert later.accepting_index == sorting_centre.index
