"""Reading a region bundle (the CSV files in ``region_data/<region>/``) into checked rows.

Parsing is pure: it returns rows and the errors of the rows it refused (file, line, reason),
so the importer can load the rest and report the refusals.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from selpo.network.rules import OfficeKind

INDEX_RE = re.compile(r"^\d{6}$")
OFFICES_FILE = "post_offices.csv"
SETTLEMENTS_FILE = "settlements.csv"
MUNICIPALITIES_FILE = "municipalities.csv"
CENSUS_FILE = "census2021_tab5_ivanovo.csv"
POPULATION_FILE = "post_office_settlements_population.csv"
ALL_OBJECTS_FILE = "pindx_ivanovo_all_objects.csv"


@dataclass(frozen=True)
class RowError:
    """A refused row: where it is and why."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class OfficeRow:
    """One post office as the bundle describes it."""

    line: int
    index: str
    name: str
    parent_index: str | None
    parent_name: str | None
    district: str
    settlement: str
    settlement_kind: str  # as derived in the file: town | pgt_candidate | rural
    act_date: str | None
    lat: float | None
    lon: float | None
    coord_source: str | None
    coord_precision: str | None
    district_centre: str | None
    district_centre_lat: float | None
    district_centre_lon: float | None


@dataclass(frozen=True)
class SettlementRow:
    """A settlement: every one with a post office plus the larger GeoNames places."""

    line: int
    name: str
    kind: str
    district: str
    n_post_offices: int
    lat: float | None
    lon: float | None
    coord_source: str | None
    coord_precision: str | None


@dataclass(frozen=True)
class PopulationRow:
    """The best population figure the sources give for a settlement with a post office."""

    name: str
    district: str
    population: int | None
    year: int | None
    basis: str | None
    source: str | None
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class MunicipalityRow:
    """A district or urban okrug."""

    name: str
    kind: str
    admin_centre: str
    oktmo: str | None


@dataclass(frozen=True)
class CensusRow:
    """A row of the 2021 census table 5 (Ivanovo part)."""

    municipality: str
    poselenie: str | None
    row_kind: str
    settlement_type: str | None
    settlement_name: str | None
    population: int | None


@dataclass(frozen=True)
class SortingUnitRow:
    """A Russian Post processing unit (Уооп) that can stand for a sorting centre."""

    index: str
    name: str
    city: str


@dataclass
class Bundle:
    """Everything read from a region folder, with the rows that were refused."""

    directory: Path
    offices: list[OfficeRow] = field(default_factory=list)
    settlements: list[SettlementRow] = field(default_factory=list)
    population: list[PopulationRow] = field(default_factory=list)
    municipalities: list[MunicipalityRow] = field(default_factory=list)
    census: list[CensusRow] = field(default_factory=list)
    sorting_units: list[SortingUnitRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class BundleMissing(Exception):
    """The folder lacks a file the import cannot do without."""


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        for row in reader:
            # DictReader counts physical lines; the header is line 1.
            yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def _optional_float(value: str, what: str, low: float, high: float) -> float | None:
    if value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a number") from None
    if not low <= number <= high:
        raise ValueError(f"{what} {number} is outside [{low}, {high}]")
    return number


def _optional_int(value: str, what: str) -> int | None:
    if value == "":
        return None
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"{what} {value!r} is not a whole number") from None


def _lat(value: str, what: str = "lat") -> float | None:
    return _optional_float(value, what, -90.0, 90.0)


def _lon(value: str, what: str = "lon") -> float | None:
    return _optional_float(value, what, -180.0, 180.0)


def parse_office(line: int, row: dict[str, str]) -> OfficeRow:
    """Check and convert one row of post_offices.csv; raise ValueError naming the fault."""
    index = row.get("index", "")
    if not INDEX_RE.match(index):
        raise ValueError(f"index {index!r} is not 6 digits")
    if row.get("ops_type", "") != "О":
        raise ValueError(f"ops_type {row.get('ops_type')!r} is not a post office ('О')")
    name = row.get("ops_name", "")
    if not name:
        raise ValueError("ops_name is empty")
    district = row.get("district_or_urban_okrug", "")
    if not district:
        raise ValueError("district_or_urban_okrug is empty")
    settlement = row.get("settlement", "")
    if not settlement:
        raise ValueError("settlement is empty")
    kind = row.get("settlement_kind_derived", "")
    if kind not in {"town", "pgt_candidate", "rural"}:
        raise ValueError(f"settlement_kind_derived {kind!r} is not town, pgt_candidate or rural")
    lat, lon = _lat(row.get("lat", "")), _lon(row.get("lon", ""))
    if (lat is None) != (lon is None):
        raise ValueError("lat and lon must both be given or both be empty")
    centre_lat = _lat(row.get("district_centre_lat", ""), "district_centre_lat")
    centre_lon = _lon(row.get("district_centre_lon", ""), "district_centre_lon")
    if lat is None and (centre_lat is None or centre_lon is None):
        raise ValueError("no coordinate: lat/lon and district_centre_lat/lon are all empty")
    parent = row.get("parent_index", "") or None
    if parent is not None and not INDEX_RE.match(parent):
        raise ValueError(f"parent_index {parent!r} is not 6 digits")
    return OfficeRow(
        line=line,
        index=index,
        name=name,
        parent_index=parent,
        parent_name=row.get("parent_name") or None,
        district=district,
        settlement=settlement,
        settlement_kind=kind,
        act_date=row.get("act_date") or None,
        lat=lat,
        lon=lon,
        coord_source=row.get("coord_source") or None,
        coord_precision=row.get("coord_precision") or None,
        district_centre=row.get("district_centre") or None,
        district_centre_lat=centre_lat,
        district_centre_lon=centre_lon,
    )


def _require(directory: Path, name: str) -> Path:
    path = directory / name
    if not path.is_file():
        raise BundleMissing(f"{path} is missing: a region bundle needs {name}")
    return path


def read_bundle(directory: Path) -> Bundle:
    """Read and check every file of a region bundle; refused rows land in ``errors``."""
    bundle = Bundle(directory=directory)
    seen: dict[str, int] = {}
    for line, row in _rows(_require(directory, OFFICES_FILE)):
        try:
            office = parse_office(line, row)
        except ValueError as exc:
            bundle.errors.append(RowError(OFFICES_FILE, line, str(exc)))
            continue
        if office.index in seen:
            reason = f"index {office.index} repeats line {seen[office.index]}"
            bundle.errors.append(RowError(OFFICES_FILE, line, reason))
            continue
        seen[office.index] = line
        bundle.offices.append(office)

    for line, row in _rows(_require(directory, SETTLEMENTS_FILE)):
        try:
            lat, lon = _lat(row.get("lat", "")), _lon(row.get("lon", ""))
            n_offices = _optional_int(row.get("n_post_offices", ""), "n_post_offices") or 0
        except ValueError as exc:
            bundle.errors.append(RowError(SETTLEMENTS_FILE, line, str(exc)))
            continue
        if not row.get("settlement"):
            bundle.errors.append(RowError(SETTLEMENTS_FILE, line, "settlement is empty"))
            continue
        bundle.settlements.append(
            SettlementRow(
                line=line,
                name=row["settlement"],
                kind=row.get("settlement_kind_derived", "rural") or "rural",
                district=row.get("district_or_urban_okrug", ""),
                n_post_offices=n_offices,
                lat=lat,
                lon=lon,
                coord_source=row.get("coord_source") or None,
                coord_precision=row.get("coord_precision") or None,
            )
        )

    population_path = directory / POPULATION_FILE
    if population_path.is_file():
        for line, row in _rows(population_path):
            try:
                bundle.population.append(
                    PopulationRow(
                        name=row["settlement"],
                        district=row.get("district_or_urban_okrug", ""),
                        population=_optional_int(row.get("population_best", ""), "population"),
                        year=_optional_int(row.get("population_best_year", ""), "year"),
                        basis=row.get("population_best_basis") or None,
                        source=row.get("population_best_source_ref") or None,
                        lat=_lat(row.get("lat_from_wikipedia_page", "")),
                        lon=_lon(row.get("lon_from_wikipedia_page", "")),
                    )
                )
            except (KeyError, ValueError) as exc:
                bundle.errors.append(RowError(POPULATION_FILE, line, str(exc)))

    for line, row in _rows(_require(directory, MUNICIPALITIES_FILE)):
        if not row.get("municipality"):
            bundle.errors.append(RowError(MUNICIPALITIES_FILE, line, "municipality is empty"))
            continue
        bundle.municipalities.append(
            MunicipalityRow(
                name=row["municipality"],
                kind=row.get("municipality_type", "municipal_district"),
                admin_centre=row.get("admin_centre", ""),
                oktmo=row.get("oktmo") or None,
            )
        )

    for line, row in _rows(_require(directory, CENSUS_FILE)):
        try:
            population = _optional_int(row.get("population_total", ""), "population_total")
        except ValueError as exc:
            bundle.errors.append(RowError(CENSUS_FILE, line, str(exc)))
            continue
        bundle.census.append(
            CensusRow(
                municipality=row.get("municipal_district_or_okrug", ""),
                poselenie=row.get("urban_or_rural_settlement") or None,
                row_kind=row.get("row_kind", ""),
                settlement_type=row.get("settlement_type") or None,
                settlement_name=row.get("settlement_name") or None,
                population=population,
            )
        )

    objects_path = directory / ALL_OBJECTS_FILE
    if objects_path.is_file():
        for _line, row in _rows(objects_path):
            if row.get("OPSType") == "Уооп" and INDEX_RE.match(row.get("Index", "")):
                bundle.sorting_units.append(
                    SortingUnitRow(row["Index"], row.get("OPSName", ""), row.get("City", ""))
                )
    return bundle


def census_district_name(municipality: str) -> str:
    """Map a census label to the registry's district name.

    "Верхнеландеховский муниципальный район" → "Верхнеландеховский район";
    "Городской округ Иваново" → "городской округ Иваново".
    """
    name = municipality.replace(" муниципальный район", " район")
    if name.startswith("Городской округ "):
        name = "городской округ " + name[len("Городской округ ") :]
    return name


def office_kind(settlement_kind: str, census_pgt: bool, census_town: bool) -> OfficeKind:
    """Classify an office by its settlement; the 2021 census overrides the derived guess."""
    if census_town or settlement_kind == "town":
        return OfficeKind.TOWN
    if census_pgt:
        return OfficeKind.URBAN_TYPE_SETTLEMENT
    # "pgt_candidate" not confirmed by the 2021 census (Новые Горки) is a rural locality.
    return OfficeKind.RURAL


def admin_centre_town(admin_centre: str) -> str:
    """The town that hosts a district's administration (where its hub stands)."""
    marker = "адм. центр "
    if marker in admin_centre:
        return admin_centre.split(marker, 1)[1].strip()
    return admin_centre.split("(")[0].strip()
