"""Any region of Russia from the reference shipped in the package: counts, totals, zones, hubs.

Pure: reads the packed files, no database. The figures are those of the reference (PIndx of
2026-06-22, Syomin's localities of 2021-03-12, the 2021 census).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import lzma
from collections import Counter
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from selpo.errors import InvalidInput
from selpo.network import reference
from selpo.network.errors import UnknownRegion
from selpo.network.manifest import (
    CIRCUITY_FACTOR,
    feeding_warehouses,
    haul_duration_s,
    load_manifest,
    marketplace_seeds,
)
from selpo.network.rules import OfficeKind
from selpo.network.sources import RURAL_LOCALITY, TOWN, URBAN_TYPE_SETTLEMENT, RegionSource

_PINDX_COLUMNS = [
    "Index",
    "OPSName",
    "OPSType",
    "OPSSubm",
    "Region",
    "Autonom",
    "Area",
    "City",
    "City1",
    "ActDate",
]


def _packed(name: str) -> list[dict[str, str]]:
    raw = lzma.decompress((reference.RUSSIA / name).read_bytes()).decode("utf-8")
    return list(csv.DictReader(io.StringIO(raw, newline="")))


@pytest.fixture(scope="module")
def pindx_offices() -> Counter[str]:
    rows = _packed(reference.PINDX_FILE)
    return Counter(r["Region"] or r["Autonom"] for r in rows if r["OPSType"] == "О")


@pytest.fixture(scope="module")
def locality_rows() -> Counter[str]:
    return Counter(r["region"] for r in _packed(reference.LOCALITIES_FILE))


@pytest.fixture(scope="module")
def vladimir() -> RegionSource:
    return reference.load_region_source("33")


@pytest.fixture(scope="module")
def novosibirsk() -> RegionSource:
    return reference.load_region_source("novosibirsk")


@pytest.fixture(scope="module")
def ivanovo() -> RegionSource:
    return reference.load_region_source("Ивановская область")


# --- the region table ---------------------------------------------------------------------


def test_every_region_of_pindx_has_one_row_and_together_they_hold_every_office(
    pindx_offices: Counter[str],
) -> None:
    labels = reference.region_labels()
    assert len({x.info.code for x in labels}) == len(labels) == 86
    assert len({x.info.slug for x in labels}) == 86
    assert {x.pindx_region or x.pindx_autonom for x in labels} == set(pindx_offices)
    assert sum(pindx_offices.values()) == 41_233


def test_every_label_names_rows_in_its_file(locality_rows: Counter[str]) -> None:
    census = {r["region"] for r in _packed(reference.CENSUS_FILE)}
    states = {r["state"] for r in _packed(reference.GEONAMES_FILE)}
    for labels in reference.region_labels():
        assert labels.localities_region in locality_rows, labels.info.name
        if labels.census_region:
            assert labels.census_region in census, labels.info.name
        if labels.geonames_state:
            assert labels.geonames_state in states, labels.info.name


def test_every_zone_is_a_real_iana_zone() -> None:
    for info in reference.region_infos():
        ZoneInfo(info.timezone)


def test_a_region_is_found_by_code_slug_or_name_in_any_case() -> None:
    assert reference.find_region("33").slug == "vladimir"
    assert reference.find_region("VLADIMIR").code == "33"
    assert reference.find_region("новосибирская область").code == "54"
    assert reference.find_region("7").code == "07"
    assert reference.find_region("77").timezone == "Europe/Moscow"


def test_an_unknown_region_is_refused_on_the_region_field() -> None:
    with pytest.raises(UnknownRegion) as refused:
        reference.find_region("Атлантида")
    assert isinstance(refused.value, InvalidInput)
    assert refused.value.status_code == 422
    assert refused.value.field == "region"


@pytest.mark.parametrize(
    ("labels", "key"),
    [
        (
            [
                "Городской округ город Владимир",
                "Город Владимир",
                "Владимир",
                'Городской округ "Город Владимир" - городское население - г. Владимир',
            ],
            (True, "владимир"),
        ),
        (
            [
                "Александровский муниципальный район",
                "Александровский",
                "Александровский район",
                'Муниципальный район "Александровский район" - сельское население',
                "МР Александровский район",
            ],
            (False, "александровский"),
        ),
        (
            ["Каа-Хемский кожуун", "Каа-Хемский муниципальный район  - сельское население"],
            (False, "каахемский"),
        ),
        (["ГО Инта", "Городской округ Инта", "ЗАТО Инта"], (True, "инта")),
    ],
)
def test_the_files_labels_of_one_municipality_compare_equal(
    labels: list[str], key: tuple[bool, str]
) -> None:
    for label in labels:
        assert reference.municipality_key(label) == key, label


def test_a_district_and_the_town_it_is_named_after_stay_apart() -> None:
    district = reference.municipality_key("Гусь-Хрустальный муниципальный район")
    town = reference.municipality_key("Городской округ город Гусь-Хрустальный")
    assert district != town
    assert district[1] == town[1]


# --- Vladimir and Novosibirsk, derived from the national files --------------------------


@pytest.mark.parametrize(
    ("region", "pindx_name", "localities_name", "offices", "localities", "census"),
    [
        ("vladimir", "Владимирская область", "Владимирская область", 446, 2_514, 1_348_134),
        ("novosibirsk", "Новосибирская область", "Новосибирская область", 775, 1_545, 2_797_176),
    ],
)
def test_a_derived_region_holds_every_office_and_locality_and_its_census_population(
    request: pytest.FixtureRequest,
    pindx_offices: Counter[str],
    locality_rows: Counter[str],
    region: str,
    pindx_name: str,
    localities_name: str,
    offices: int,
    localities: int,
    census: int,
) -> None:
    source = request.getfixturevalue(region)
    assert len(source.offices) == pindx_offices[pindx_name] == offices
    assert len(source.localities) == locality_rows[localities_name] == localities
    assert len({loc.key for loc in source.localities}) == localities
    assert sum(loc.population for loc in source.localities) == source.census_total == census
    assert all(loc.population >= 0 for loc in source.localities)
    assert not source.curated
    assert source.assumed_connections == []


def test_novosibirsk_lives_in_its_own_zone(novosibirsk: RegionSource) -> None:
    assert novosibirsk.info.timezone == "Asia/Novosibirsk"
    assert novosibirsk.info.capital == "Новосибирск"


def test_every_office_has_coordinates_and_says_how_precise_they_are(
    vladimir: RegionSource, novosibirsk: RegionSource
) -> None:
    for source in (vladimir, novosibirsk):
        for office in source.offices:
            assert -90 <= office.lat <= 90
            assert -180 <= office.lon <= 180
            assert office.coord_source
            assert office.coord_precision
            assert office.address.startswith(f"{office.index}, {source.info.name}, ")
        precisions = Counter(o.coord_precision for o in source.offices)
        assert set(precisions) <= {
            "postal_code_centroid",
            "locality_centroid",
            "district_centre_fallback",
        }


def test_a_postal_point_far_from_the_office_locality_gives_way_to_the_locality(
    vladimir: RegionSource,
) -> None:
    by_key = {loc.key: loc for loc in vladimir.localities}
    rejected = [o for o in vladimir.offices if o.coord_source == "locality_geonames_rejected"]
    assert rejected
    for office in rejected:
        assert office.locality_key is not None
        locality = by_key[office.locality_key]
        assert (office.lat, office.lon) == (locality.lat, locality.lon)


def test_nearly_every_office_finds_its_locality_within_its_district(
    vladimir: RegionSource, novosibirsk: RegionSource
) -> None:
    for source in (vladimir, novosibirsk):
        matched = [o for o in source.offices if o.locality_key is not None]
        assert len(matched) >= 0.98 * len(source.offices)


def test_an_office_named_after_someone_finds_its_locality_spelt_otherwise(
    vladimir: RegionSource,
) -> None:
    # PIndx «Им. Артёма» (601331) is «им Артема» in the localities file.
    office = next(o for o in vladimir.offices if o.index == "601331")
    by_key = {loc.key: loc for loc in vladimir.localities}
    assert office.locality_key is not None
    assert by_key[office.locality_key].name == "им Артема"
    assert office.district == "Камешковский район"


def test_towns_and_pgt_keep_their_census_figure(
    vladimir: RegionSource, novosibirsk: RegionSource
) -> None:
    vladimir_town = next(loc for loc in vladimir.localities if loc.name == "Владимир")
    assert vladimir_town.kind == TOWN
    assert vladimir_town.population_basis == "census_2021"
    assert vladimir_town.population_is_estimate is False
    city = max(novosibirsk.localities, key=lambda loc: loc.population)
    assert city.name == "Новосибирск"
    assert city.kind == TOWN


def test_a_derived_region_has_a_sorting_centre_in_its_capital_then_district_hubs(
    vladimir: RegionSource,
) -> None:
    centre, *district_hubs = vladimir.hubs
    assert centre.kind == "regional_sorting_centre"
    assert centre.name.startswith("Владимир")
    assert district_hubs
    assert all(h.kind == "district_hub" for h in district_hubs)
    offices = {o.index for o in vladimir.offices}
    assert all(h.office_index in offices for h in district_hubs)


def test_a_derived_region_is_fed_by_the_default_warehouse_and_the_nearest_one(
    novosibirsk: RegionSource,
) -> None:
    codes = [w.code for w in novosibirsk.warehouses]
    assert codes[0] == "W-PODOLSK"
    assert codes[1] == "W-NOVOSIBIRSK"
    truck = novosibirsk.warehouses[0].hauls[0]
    assert truck.departure.hour == 16
    assert truck.weekdays == (0, 1, 2, 3, 4, 5, 6)


def test_a_truck_time_follows_the_distance_with_rests_and_rounds_up_to_15_minutes() -> None:
    assert CIRCUITY_FACTOR == 1.3
    # 300 km × 1.3 = 390 km at 60 km/h = 6.5 h, one 45-min rest: 7 h 15 min.
    assert haul_duration_s(300_000) == (7 * 60 + 15) * 60
    # 10 km × 1.3 = 13 min of driving, rounded up to 15.
    assert haul_duration_s(10_000) == 15 * 60


def test_far_regions_get_no_second_warehouse_beyond_1500_km() -> None:
    # Magadan: nothing but the default warehouse is within 1,500 km.
    codes = [w.code for w in feeding_warehouses(59.56, 150.80)]
    assert codes == ["W-PODOLSK"]


# --- Ivanovo through its curated manifest -------------------------------------------------


def test_ivanovo_keeps_its_curated_figures(ivanovo: RegionSource) -> None:
    assert ivanovo.curated
    assert ivanovo.info.code == "37"
    assert ivanovo.info.timezone == "Europe/Moscow"
    assert len(ivanovo.offices) == 301
    assert len(ivanovo.districts) == 27
    assert len(ivanovo.localities) == 3_071
    assert sum(1 for loc in ivanovo.localities if loc.population_raw) == 2_366
    assert sum(loc.population for loc in ivanovo.localities) == 927_828
    assert all(o.locality_key is not None for o in ivanovo.offices)


def test_each_ivanovo_municipality_sums_to_its_census_total(ivanovo: RegionSource) -> None:
    by_district: Counter[str] = Counter()
    for loc in ivanovo.localities:
        by_district[loc.district] += loc.population
    for district in ivanovo.districts:
        assert by_district[district.name] == district.population, district.name


def test_kokhma_is_a_town_of_its_own_urban_okrug(ivanovo: RegionSource) -> None:
    kokhma = next(loc for loc in ivanovo.localities if loc.name == "Кохма")
    assert kokhma.kind == TOWN
    assert kokhma.district == "городской округ Кохма"
    kinds = Counter(loc.kind for loc in ivanovo.localities)
    assert kinds[TOWN] == 17
    assert kinds[URBAN_TYPE_SETTLEMENT] == 13
    assert kinds[RURAL_LOCALITY] == 3_071 - 30


def test_ivanovo_sorting_centre_warehouses_and_assumed_connections_come_from_its_manifest(
    ivanovo: RegionSource,
) -> None:
    assert ivanovo.hubs[0].code == "RSC-153950"
    podolsk, local = ivanovo.warehouses
    assert podolsk.code == "W-PODOLSK"
    assert podolsk.is_default
    assert [(h.departure.hour, h.duration_s) for h in podolsk.hauls] == [(16, 8 * 3600)]
    assert [(h.departure.hour, h.duration_s) for h in local.hauls] == [(12, 3600), (22, 3600)]
    assumed = {a.marketplace: a.offices for a in ivanovo.assumed_connections}
    assert assumed == {"OZON": 19, "YANDEX_MARKET": 10, "SBER_MEGAMARKET": 6}


def test_ivanovo_offices_keep_their_checked_coordinates(ivanovo: RegionSource) -> None:
    precisions = Counter(o.coord_precision for o in ivanovo.offices)
    assert precisions["settlement_centroid"] == 125
    assert "district_centre_fallback" not in precisions
    shuya = next(o for o in ivanovo.offices if o.index == "155900")
    assert shuya.kind is OfficeKind.TOWN


def test_a_region_without_a_manifest_has_none_and_ivanovo_has_one() -> None:
    assert load_manifest("vladimir") is None
    manifest = load_manifest("ivanovo")
    assert manifest is not None
    assert manifest.sorting_centre_index == "153950"


def test_the_marketplaces_are_seeded_from_data() -> None:
    seeds = {
        m.code: (m.name, m.storage_days, m.storage_extension_days) for m in marketplace_seeds()
    }
    assert seeds == {
        "OZON": ("OZON", 7, 7),
        "YANDEX_MARKET": ("Яндекс Маркет", 7, 7),
        "SBER_MEGAMARKET": ("СберМегаМаркет", 5, 7),
    }


# --- every region ---------------------------------------------------------------------


def test_every_region_loads_whole_and_consistent_and_sums_to_its_census_total() -> None:
    for info in reference.region_infos():
        source = reference.load_region_source(info.code)
        districts = [d.name for d in source.districts]
        localities = {loc.key for loc in source.localities}
        offices = {o.index for o in source.offices}
        assert source.offices, info.name
        assert len(set(districts)) == len(districts), info.name
        assert len(localities) == len(source.localities), info.name
        assert {loc.district for loc in source.localities} <= set(districts), info.name
        assert {o.district for o in source.offices} <= set(districts), info.name
        assert {o.locality_key for o in source.offices} - {None} <= localities, info.name
        assert source.hubs, info.name
        assert source.hubs[0].kind == "regional_sorting_centre", info.name
        assert {h.office_index for h in source.hubs[1:]} <= offices, info.name
        assert source.warehouses[0].is_default, info.name
        if source.census_total is not None:
            assert sum(loc.population for loc in source.localities) == source.census_total


# --- packing the reference ------------------------------------------------------------


def _write(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def test_packing_keeps_offices_sorting_units_and_parents_and_drops_unused_columns(
    tmp_path: Path,
) -> None:
    russia = tmp_path / "src" / "russia"
    russia.mkdir(parents=True)
    pindx_header = [*_PINDX_COLUMNS, "IndexOld"]
    _write(
        russia / "pindx_russian_post_indices.csv",
        pindx_header,
        [
            [
                "600000",
                "Владимир",
                "О",
                "600999",
                "Владимирская область",
                "",
                "",
                "Владимир",
                "",
                "20200101",
                "",
            ],
            [
                "600999",
                "Владимир Почтамт",
                "П",
                "600700",
                "Владимирская область",
                "",
                "",
                "Владимир",
                "",
                "20200101",
                "",
            ],
            [
                "600960",
                "Владимир Уооп",
                "Уооп",
                "600999",
                "Владимирская область",
                "",
                "",
                "Владимир",
                "",
                "20240101",
                "",
            ],
            [
                "600950",
                "Почтомат",
                "Почтомат",
                "600999",
                "Владимирская область",
                "",
                "",
                "Владимир",
                "",
                "20240101",
                "",
            ],
        ],
    )
    _write(
        russia / "geonames_postal_codes_ru.csv",
        [
            "country_code",
            "zipcode",
            "place",
            "state",
            "state_code",
            "province",
            "province_code",
            "community",
            "community_code",
            "latitude",
            "longitude",
        ],
        [
            [
                "RU",
                "600000",
                "Владимир",
                "Владимирская Область",
                "83",
                "",
                "",
                "",
                "",
                "56.1",
                "40.4",
            ]
        ],
    )
    _write(
        russia / "settlements_all_localities.csv",
        [
            "id",
            "region",
            "municipality",
            "settlement",
            "type",
            "population",
            "children",
            "latitude_dms",
            "longitude_dms",
            "latitude_dd",
            "longitude_dd",
            "oktmo",
            "dadata",
            "rosstat",
        ],
        [
            [
                "7",
                "Владимирская область",
                "Город Владимир",
                "Владимир",
                "г",
                "356937",
                "6",
                "56.07.45",
                "040.24.30",
                "56.1291666666667",
                "40.4083333333333",
                "17701000001",
                "0",
                "1",
            ]
        ],
    )
    _write(
        russia / "census2021_tab5_municipalities_and_settlements.csv",
        [
            "row_no",
            "federal_district",
            "region",
            "parent_municipality",
            "object_as_published",
            "row_kind",
            "settlement_type",
            "settlement_name",
            "population_total",
            "men",
            "women",
            "men_pct",
            "women_pct",
        ],
        [
            [
                "679",
                "",
                "Владимирская область",
                "",
                "Владимирская область",
                "region",
                "",
                "",
                "1348134",
                "1",
                "1",
                "46",
                "54",
            ]
        ],
    )
    out = tmp_path / "out"
    script = Path(__file__).resolve().parents[2] / "scripts" / "pack-reference.py"
    spec = importlib.util.spec_from_file_location("pack_reference", script)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main([str(tmp_path / "src"), "--out", str(out)]) == 0

    def read(name: str) -> list[dict[str, str]]:
        raw = lzma.decompress((out / name).read_bytes()).decode("utf-8")
        return list(csv.DictReader(io.StringIO(raw, newline="")))

    assert [r["Index"] for r in read("pindx.csv.xz")] == ["600000", "600999", "600960"]
    assert "IndexOld" not in read("pindx.csv.xz")[0]
    locality = read("localities.csv.xz")[0]
    assert set(locality) == {
        "id",
        "region",
        "municipality",
        "settlement",
        "type",
        "population",
        "latitude_dd",
        "longitude_dd",
        "oktmo",
    }
    assert locality["latitude_dd"] == "56.129167"
    assert "men" not in read("census2021_tab5.csv.xz")[0]
    first = (out / "pindx.csv.xz").read_bytes()
    module.main([str(tmp_path / "src"), "--out", str(out)])
    assert (out / "pindx.csv.xz").read_bytes() == first  # reproducible
