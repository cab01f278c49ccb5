"""Several regions in one database: Vladimir (33) and Novosibirsk (54) beside Ivanovo (37),
each from the national reference shipped in the package (Ivanovo with its curated manifest).

Each backend gets one fresh database with the three regions imported once (module scope);
tests that change data do it inside a transaction that is rolled back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from selpo.app import create_app
from selpo.cli import app as cli_app
from selpo.config import Settings
from selpo.db import create_db_engine, session_scope
from selpo.kit.clock import FrozenClock
from selpo.logistics import manifests, timetables
from selpo.migrate import alembic_config, upgrade_to_head
from selpo.models import District, Hub, PostOffice, Region, Settlement, Shipment
from selpo.network import manifest, regions, repository
from selpo.network.errors import NoDefaultRegion, UnknownRegion
from selpo.network.importer import ImportReport
from selpo.network.rules import OfficeKind
from selpo.network.sources import RegionSource
from selpo.office import auth
from tests.conftest import TEST_NOW, create_scratch_database, drop_scratch_database
from tests.fixtures.builders import make_shipment, marketplace_key, shipment_payload
from tests.fixtures.regions import (
    bundled_source,
    import_source,
    open_offices,
    without_office,
)
from tests.office.world import PASSWORD

VLADIMIR_CENTRE = (56.1290, 40.4070)
NOVOSIBIRSK_CENTRE = (55.0302, 82.9204)


def vladimir() -> RegionSource:
    return regions.load_source("33")


def novosibirsk() -> RegionSource:
    return regions.load_source("novosibirsk")


@dataclass
class Country:
    """The database with three regions, and what the first imports reported."""

    url: str
    engine: Engine
    sources: dict[str, RegionSource]
    reports: dict[str, ImportReport]


@pytest.fixture(scope="module")
def country(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Country]:
    url = create_scratch_database(backend, tmp_path_factory.mktemp(f"regions_{backend}"))
    engine = create_db_engine(url)
    upgrade_to_head(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    sources = {"37": bundled_source(), "33": vladimir(), "54": novosibirsk()}
    reports = {}
    for code, source in sources.items():
        with session_scope(factory) as session:  # as `selpo region import` does
            reports[code] = import_source(session, source, FrozenClock(TEST_NOW))
            timetables.generate_timetable(session, now=TEST_NOW, region=code)
    yield Country(url, engine, sources, reports)
    engine.dispose()
    drop_scratch_database(url)


@pytest.fixture
def rolled_back(country: Country) -> Iterator[sessionmaker[Session]]:
    """Sessions whose commits are undone after the test."""
    with country.engine.connect() as connection:
        outer = connection.begin()
        yield _factory(connection)
        outer.rollback()


@pytest.fixture
def client(country: Country, rolled_back: sessionmaker[Session]) -> Iterator[TestClient]:
    """The whole HTTP stack over the three regions; what a test writes is rolled back."""
    settings = Settings(database_url=country.url, rate_limit_per_key=0)
    application = create_app(settings, clock=FrozenClock(TEST_NOW))
    application.state.session_factory = rolled_back
    with TestClient(application, follow_redirects=False) as test_client:
        yield test_client
    application.state.engine.dispose()


def _factory(connection: Connection) -> sessionmaker[Session]:
    return sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


def _localities(session: Session, code: str) -> int:
    query = (
        select(func.count(Settlement.id))
        .join(District, Settlement.district_id == District.id)
        .join(Region, District.region_id == Region.id)
        .where(Region.code == code)
    )
    return int(session.scalar(query) or 0)


class TestThreeRegionsInOneDatabase:
    def test_offices_and_localities_match_the_data(self, country: Country) -> None:
        with Session(country.engine) as session:
            for code, source in country.sources.items():
                assert open_offices(session, code) == len(source.offices), code
                assert _localities(session, code) == len(source.localities), code

    def test_offices_keep_their_region_s_time_zone(self, country: Country) -> None:
        with Session(country.engine) as session:
            zones = dict(
                session.execute(
                    select(Region.code, func.min(PostOffice.timezone))
                    .join(District, District.region_id == Region.id)
                    .join(PostOffice, PostOffice.district_id == District.id)
                    .group_by(Region.code)
                ).all()
            )
        assert zones == {"33": "Europe/Moscow", "37": "Europe/Moscow", "54": "Asia/Novosibirsk"}

    def test_a_reimport_changes_nothing(
        self, country: Country, rolled_back: sessionmaker[Session]
    ) -> None:
        with rolled_back() as session:
            version = repository.network_version(session)
            for code, source in country.sources.items():
                report = import_source(session, source, FrozenClock(TEST_NOW))
                assert not report.anything_changed, code
                assert report.added == []
                assert report.changed == []
                assert report.closed == []
                assert len(report.unchanged) == len(source.offices)
            assert repository.network_version(session) == version

    def test_an_office_with_parcels_is_closed_never_deleted(
        self, country: Country, rolled_back: sessionmaker[Session]
    ) -> None:
        index = country.sources["33"].offices[1].index
        with rolled_back() as session:
            seller = marketplace_key(session, "TESTMARKET", now=TEST_NOW, connect=(index,))
            shipment = make_shipment(
                session, seller.marketplace, now=TEST_NOW, destination_index=index
            )
            session.commit()
            report = import_source(
                session, without_office(country.sources["33"], index), FrozenClock(TEST_NOW)
            )
            assert report.closed == [index]
            office = repository.get_office_by_index(session, index)
            assert office is not None
            assert office.status == "closed"
            assert session.get(Shipment, shipment.id) is not None
            # Back in the data: open again, the same row.
            report = import_source(session, country.sources["33"], FrozenClock(TEST_NOW))
            assert report.changed == [index]
            assert repository.get_office_by_index(session, index) is office
            assert office.status == "open"

    def test_the_marketplaces_are_national_with_connections_in_each_region(
        self, country: Country
    ) -> None:
        assert country.reports["37"].marketplaces_added == [
            "OZON",
            "YANDEX_MARKET",
            "SBER_MEGAMARKET",
        ]
        assert country.reports["33"].marketplaces_added == []
        # Only Ivanovo's manifest assumes connections: the others start unconnected.
        assert country.reports["37"].connections_added == 19 + 10 + 6
        assert country.reports["33"].connections_added == 0

    def test_region_list_json(self, country: Country) -> None:
        result = CliRunner().invoke(
            cli_app, ["region", "list", "--json"], env={"SELPO_DATABASE_URL": country.url}
        )
        assert result.exit_code == 0, result.output
        rows = {row["code"]: row for row in json.loads(result.stdout)}
        assert list(rows) == ["33", "37", "54"]
        for code, source in country.sources.items():
            row = rows[code]
            assert row["name"] == source.info.name
            assert row["timezone"] == source.info.timezone
            assert row["offices"] == len(source.offices)
            assert row["localities"] == len(source.localities)
            assert row["population"] == source.census_total
        assert rows["37"]["population"] == 927_828


class TestPickupSearchAcrossRegions:
    def test_near_vladimir_the_600_offices_come_nearest_first(self, client: TestClient) -> None:
        lat, lon = VLADIMIR_CENTRE
        response = client.get("/v1/pickup-points", params={"lat": lat, "lon": lon, "limit": 5})
        assert response.status_code == 200
        items = response.json()["items"]
        assert items
        assert all(item["index"].startswith("600") for item in items)
        distances = [item["distance_m"] for item in items]
        assert distances == sorted(distances)

    def test_near_novosibirsk_the_office_shows_its_own_zone(self, client: TestClient) -> None:
        lat, lon = NOVOSIBIRSK_CENTRE
        items = client.get("/v1/pickup-points", params={"lat": lat, "lon": lon}).json()["items"]
        assert items[0]["index"].startswith("630")
        assert {item["timezone"] for item in items} == {"Asia/Novosibirsk"}


def _village_office(source: RegionSource) -> str:
    return next(o.index for o in source.offices if o.kind is OfficeKind.RURAL)


class TestQuotesAcrossRegions:
    def _quote(
        self, client: TestClient, factory: sessionmaker[Session], index: str, warehouse: str
    ) -> dict[str, Any]:
        with factory() as session:
            seller = marketplace_key(session, "TESTMARKET", now=TEST_NOW, connect=(index,))
            session.commit()
        response = client.post(
            "/v1/quotes",
            headers=seller.headers,
            json={
                "destination_index": index,
                "weight_g": 1200,
                "length_mm": 300,
                "width_mm": 200,
                "height_mm": 100,
                "warehouse": warehouse,
                "handover_at": TEST_NOW.isoformat(),
            },
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def test_a_vladimir_village_gets_a_window_from_the_moscow_region_warehouse(
        self, country: Country, client: TestClient, rolled_back: sessionmaker[Session]
    ) -> None:
        index = _village_office(country.sources["33"])
        quote = self._quote(client, rolled_back, index, "W-PODOLSK")
        assert quote["timezone"] == "Europe/Moscow"
        assert TEST_NOW < datetime.fromisoformat(quote["earliest"])
        assert quote["earliest"] <= quote["latest"]

    @pytest.mark.parametrize("warehouse", ["W-PODOLSK", "W-NOVOSIBIRSK"])
    def test_a_novosibirsk_window_is_in_novosibirsk_days_and_hours(
        self,
        country: Country,
        client: TestClient,
        rolled_back: sessionmaker[Session],
        warehouse: str,
    ) -> None:
        source = country.sources["54"]
        assert warehouse in {w.code for w in source.warehouses}  # both feed the region
        index = _village_office(source)
        quote = self._quote(client, rolled_back, index, warehouse)
        zone = ZoneInfo("Asia/Novosibirsk")
        assert quote["timezone"] == "Asia/Novosibirsk"
        earliest = datetime.fromisoformat(quote["earliest"]).astimezone(zone)
        latest = datetime.fromisoformat(quote["latest"]).astimezone(zone)
        assert date.fromisoformat(quote["promised_date"]) == latest.date()
        # The parcel is ready while the office is open, by the office's own clock.
        hours = client.get(f"/v1/pickup-points/{index}").json()["opening_hours"]
        day = hours[earliest.weekday()]
        clock = earliest.strftime("%H:%M")
        assert any(start <= clock < end for start, end in day), (clock, day)


class TestRegionCommands:
    def test_region_import_loads_the_region_and_its_timetable_and_repeats_quietly(
        self, scratch_url: str
    ) -> None:
        engine = create_db_engine(scratch_url)
        upgrade_to_head(engine)
        engine.dispose()
        env = {"SELPO_DATABASE_URL": scratch_url, "COLUMNS": "200"}
        runner = CliRunner()
        first = runner.invoke(cli_app, ["region", "import", "ivanovo"], env=env)
        assert first.exit_code == 0, first.output
        assert "offices 301 added" in first.stdout
        assert "timetable: synthetic" in first.stdout
        again = runner.invoke(cli_app, ["region", "import", "37"], env=env)
        assert again.exit_code == 0, again.output
        assert "offices 0 added, 0 changed, 301 unchanged, 0 closed" in again.stdout

    def test_an_unknown_region_is_refused(self, scratch_url: str) -> None:
        result = CliRunner().invoke(
            cli_app, ["region", "import", "atlantis"], env={"SELPO_DATABASE_URL": scratch_url}
        )
        assert result.exit_code == 2
        assert "atlantis" in result.output


class TestUpgradingAnOldDatabase:
    def test_old_settlements_are_rekeyed_by_the_next_import(
        self, backend: str, tmp_path: Path
    ) -> None:
        from alembic import command

        url = create_scratch_database(backend, tmp_path)
        engine = create_db_engine(url)
        try:
            config = alembic_config(url)
            with engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "5c1e7a9d2b40")  # before regions were data
                connection.execute(
                    text(
                        "INSERT INTO region (code, name, timezone) "
                        "VALUES ('37', 'Ивановская область', 'Europe/Moscow')"
                    )
                )
                connection.execute(
                    text(
                        "INSERT INTO district (region_id, name, kind) "
                        "SELECT id, 'Пестяковский район', 'municipal_district' FROM region"
                    )
                )
                connection.execute(
                    text(
                        "INSERT INTO settlement (district_id, name, kind, "
                        "population_is_estimate, has_post_office) "
                        "SELECT id, 'Пестяки', 'urban_type_settlement', false, true FROM district"
                    )
                )
                old_id = connection.execute(text("SELECT id FROM settlement")).scalar_one()
            upgrade_to_head(engine)
            with engine.connect() as connection:
                ref = connection.execute(text("SELECT ref FROM settlement")).scalar_one()
            assert ref == f"legacy:{old_id}"
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            source = bundled_source()
            with session_scope(factory) as session:
                report = import_source(session, source, FrozenClock(TEST_NOW))
                assert report.settlements_added == len(source.localities) - 1
            with Session(engine) as session:
                kept = session.get(Settlement, old_id)
                assert kept is not None
                assert not kept.ref.startswith("legacy:")
                assert kept.name == "Пестяки"
                office = repository.get_office_by_index(session, "155650")
                assert office is not None
                assert office.settlement_id == old_id
        finally:
            engine.dispose()
            drop_scratch_database(url)


class TestStaffSeeTheirRegionsOnly:
    """A dispatcher and a manager of Vladimir (33), over the real imports of three regions."""

    CSRF = re.compile(r'name="csrf" value="([^"]+)"')

    def _sign_in(
        self, client: TestClient, factory: sessionmaker[Session], role: str, login: str
    ) -> None:
        add = auth.add_dispatcher if role == "dispatcher" else auth.add_manager
        with factory() as session:
            add(session, login=login, password=PASSWORD, now=TEST_NOW, region_codes=["33"])
            session.commit()
        form = client.get("/office/login")
        token = self.CSRF.search(form.text)
        assert token is not None
        answer = client.post(
            "/office/login",
            data={"login": login, "password": PASSWORD, "csrf": token.group(1), "next": ""},
        )
        assert answer.status_code == 303, answer.text

    def test_a_dispatcher_of_33_sees_vladimirs_hubs_and_nothing_of_37(
        self, client: TestClient, rolled_back: sessionmaker[Session]
    ) -> None:
        self._sign_in(client, rolled_back, "dispatcher", "disp33")
        with rolled_back() as session:
            hubs = dict(
                session.execute(
                    select(Hub.code, Region.code)
                    .join(Region, Hub.region_id == Region.id)
                    .where(Hub.kind == "district_hub")
                ).all()
            )
        page = client.get("/office/dispatch", params={"date": TEST_NOW.date().isoformat()})
        assert page.status_code == 200, page.text
        shown = {code for code in hubs if code in page.text}
        assert shown, "the dispatcher sees the district hubs of region 33"
        assert {hubs[code] for code in shown} == {"33"}
        assert "Europe/Moscow" in page.text  # Vladimir's zone, said on the page

        with rolled_back() as session:
            ivanovo_run = next(
                run
                for code, region in sorted(hubs.items())
                if region == "37"
                for run in manifests.list_route_runs(session, day=TEST_NOW.date(), hub=code)
            )
        refused = client.get(f"/office/dispatch/{ivanovo_run.id}")
        assert refused.status_code == 403
        assert ivanovo_run.hub not in refused.text

    def test_a_manager_of_33_gets_no_office_of_37(
        self, client: TestClient, rolled_back: sessionmaker[Session]
    ) -> None:
        self._sign_in(client, rolled_back, "manager", "boss33")
        answer = client.get("/region/api/offices")
        assert answer.status_code == 200, answer.text
        indexes = {office["index"] for office in answer.json()["offices"]}
        assert indexes
        assert all(index.startswith("60") for index in indexes)
        other = client.get("/region/api/offices", params={"region": "37"})
        assert other.status_code == 403
        assert other.headers["content-type"].startswith("application/problem+json")


def _curated(root: Path, slug: str, code: str, *, default: bool | None = None) -> None:
    folder = root / slug
    folder.mkdir(parents=True)
    mark = "" if default is None else f"default = {str(default).lower()}\n"
    (folder / "region.toml").write_text(
        f'code = "{code}"\nslug = "{slug}"\nname = "{slug}"\ntimezone = "Europe/Moscow"\n'
        f'capital = "{slug}"\n{mark}',
        encoding="utf-8",
    )


class TestTheDefaultRegion:
    def test_unset_it_is_the_region_the_package_curates(self) -> None:
        assert Settings.model_fields["default_region"].default is None
        (curated,) = manifest.curated_manifests()
        assert regions.default_region().code == curated.code == "37"
        assert bundled_source().info.code == "37"

    def test_named_it_is_the_region_named(self) -> None:
        assert regions.default_region("vladimir").code == "33"
        with pytest.raises(UnknownRegion):
            regions.default_region("atlantis")

    def test_among_several_curated_regions_the_one_marked_default(self, tmp_path: Path) -> None:
        _curated(tmp_path / "marked", "ivanovo", "37", default=True)
        _curated(tmp_path / "marked", "vladimir", "33")
        assert manifest.default_manifest(tmp_path / "marked").code == "37"
        # One manifest alone is the default without a mark.
        _curated(tmp_path / "alone", "vladimir", "33")
        assert manifest.default_manifest(tmp_path / "alone").code == "33"

    def test_several_curated_regions_and_no_single_mark_is_refused(self, tmp_path: Path) -> None:
        _curated(tmp_path / "none", "ivanovo", "37")
        _curated(tmp_path / "none", "vladimir", "33", default=False)
        with pytest.raises(NoDefaultRegion, match="0 marked default"):
            manifest.default_manifest(tmp_path / "none")
        _curated(tmp_path / "both", "ivanovo", "37", default=True)
        _curated(tmp_path / "both", "vladimir", "33", default=True)
        with pytest.raises(NoDefaultRegion, match="ivanovo, vladimir"):
            manifest.default_manifest(tmp_path / "both")
        with pytest.raises(NoDefaultRegion, match="0 curated"):
            manifest.default_manifest(tmp_path / "empty")


class TestOneKeyEveryRegion:
    """Marketplaces are national: one key sends parcels to every region it is connected in."""

    def test_one_key_ships_to_vladimir_and_novosibirsk(
        self, country: Country, client: TestClient, rolled_back: sessionmaker[Session]
    ) -> None:
        vladimir_office = _village_office(country.sources["33"])
        novosibirsk_office = _village_office(country.sources["54"])
        with rolled_back() as session:
            seller = marketplace_key(
                session, "NATIONWIDE", now=TEST_NOW, connect=(vladimir_office, novosibirsk_office)
            )
            session.commit()
        created = {}
        for n, index in enumerate((vladimir_office, novosibirsk_office)):
            body = shipment_payload(external_order_id=f"NATION-{n}", destination_index=index)
            answer = client.post("/v1/shipments", json=body, headers=seller.headers)
            assert answer.status_code == 201, answer.text
            created[index] = answer.json()
        assert {s["destination_index"] for s in created.values()} == set(created)

        listed = client.get("/v1/shipments", headers=seller.headers).json()["items"]
        assert {s["tracking_number"] for s in listed} == {
            s["tracking_number"] for s in created.values()
        }
        # Each pickup point of the key's network speaks its own zone.
        zones = {
            index: client.get(f"/v1/pickup-points/{index}").json()["timezone"] for index in created
        }
        assert zones == {vladimir_office: "Europe/Moscow", novosibirsk_office: "Asia/Novosibirsk"}
