"""Any region of Russia as a ``RegionSource``, from the reference files shipped in the package.

The national files (``region_data/russia/*.csv.xz``, rebuilt by ``scripts/pack-reference.py``)
are parsed once per process and grouped by region. ``load_region_source`` then builds one
region: its post offices (PIndx type О), districts, every locality (each a point of demand,
its population scaled to the 2021 census), hubs and feeding warehouses. A region with a curated
manifest (``region_data/<slug>/region.toml``) goes the same way and applies its curated files.
``regions.csv`` names each region and the label each national file uses for it. The rules are
in docs/data.md ("The national reference").
"""

from __future__ import annotations

import csv
import io
import lzma
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from selpo.network.errors import UnknownRegion
from selpo.network.geo import haversine_m
from selpo.network.localities import normalised_name, scale_to_total
from selpo.network.manifest import (
    REGION_DATA,
    Manifest,
    feeding_warehouses,
    load_manifest,
)
from selpo.network.rules import OfficeKind
from selpo.network.sources import (
    RURAL_LOCALITY,
    TOWN,
    URBAN_TYPE_SETTLEMENT,
    AssumedConnections,
    DistrictSource,
    HubSource,
    LocalitySource,
    OfficeSource,
    RegionInfo,
    RegionSource,
    RowError,
)

RUSSIA = REGION_DATA / "russia"
REGIONS_FILE = REGION_DATA / "regions.csv"
PINDX_FILE = "pindx.csv.xz"
GEONAMES_FILE = "geonames_postal.csv.xz"
LOCALITIES_FILE = "localities.csv.xz"
CENSUS_FILE = "census2021_tab5.csv.xz"

SOURCE = (
    "Russian Post PIndx 2026-06-22 via sanmai/pindx; GeoNames postal codes (CC BY 4.0); "
    "localities: P. Syomin 2021-03-12; population: Rosstat 2021 census, table 5"
)
LOCALITY_COORD_SOURCE = "syomin_2021"
LOCALITY_PRECISION = "locality_centroid"
POSTAL_PRECISION = "postal_code_centroid"
DISTRICT_PRECISION = "district_centre_fallback"
MAX_POSTAL_KM = 10.0  # a GeoNames postal point farther than this from its locality is rejected
CENSUS_SOURCE = "Rosstat, 2021 census (ВПН-2020), vol. 1, table 5"
SCALED_SOURCE = "P. Syomin 2021 (2010 census / 2017 estimate) scaled to the 2021 census"
OKTMO_RE = re.compile(r"^\d{11}$")

_TOWN_TYPES = {"г", "р-н"}  # "р-н": a city district standing for part of its town
_UTS_TYPES = {"пгт", "рп", "кп", "дп", "гп"}
# Words around a municipality's name, and whether they make it an urban okrug (True) or a
# district (False). Stripped repeatedly, outermost first; the first one found decides.
_MUNICIPAL_SUFFIXES = (
    (" муниципальный район", False),
    (" муниципальный округ", False),
    (" городской округ", True),
    (" район", False),
    (" улус", False),
    (" кожуун", False),
    (" р-н", False),
)
_MUNICIPAL_PREFIXES = (
    ("муниципальный район ", False),
    ("муниципальный округ ", False),
    ("мр ", False),
    ("городской округ ", True),
    ("го ", True),
    ("зато ", True),
    ("город ", True),
    ("г. ", True),
    ("округ ", True),
    ("рабочий поселок ", True),
    ("поселок ", True),
    ("пгт ", True),
)
_CENSUS_PLACE = re.compile(
    r"^(г\.|пгт|рп|кп|дп|гп|п\.|пос\.|поселок|посёлок|рабочий поселок|городской поселок|"
    r"курортный поселок|село|с\.|деревня|д\.|станица|ст-ца|аул|хутор|х\.|слобода)\s+(.+)$",
    re.IGNORECASE,
)
_ALIAS_PREFIXES = ("железнодорожной станции ", "станции ", "ж/д станции ", "разъезда ")


# --- the region table -------------------------------------------------------------------


@dataclass(frozen=True)
class RegionLabels:
    """A region and the label each national file gives it."""

    info: RegionInfo
    pindx_region: str
    pindx_autonom: str
    census_region: str
    localities_region: str
    geonames_state: str


@cache
def region_labels() -> tuple[RegionLabels, ...]:
    """Every region of ``regions.csv`` with its labels in the national files."""
    with REGIONS_FILE.open(encoding="utf-8", newline="") as handle:
        return tuple(
            RegionLabels(
                info=RegionInfo(
                    code=row["code"],
                    name=row["name"],
                    slug=row["slug"],
                    timezone=row["timezone"],
                    capital=row["capital"],
                ),
                pindx_region=row["pindx_region"],
                pindx_autonom=row["pindx_autonom"],
                census_region=row["census_region"],
                localities_region=row["localities_region"],
                geonames_state=row["geonames_state"],
            )
            for row in csv.DictReader(handle)
        )


def region_infos() -> list[RegionInfo]:
    """Every region the national reference covers, by code."""
    return [labels.info for labels in region_labels()]


def _labels(code_or_name: str) -> RegionLabels:
    wanted = code_or_name.strip()
    if wanted.isdigit():
        wanted = wanted.zfill(2)
    folded = normalised_name(wanted)
    for labels in region_labels():
        info = labels.info
        if wanted == info.code or wanted.lower() == info.slug:
            return labels
        names = (info.name, labels.census_region, labels.localities_region)
        if any(n and normalised_name(n) == folded for n in names):
            return labels
    raise UnknownRegion(code_or_name)


def find_region(code_or_name: str) -> RegionInfo:
    """A region by code ("33"), slug ("vladimir") or name, case-insensitive."""
    return _labels(code_or_name).info


# --- the national files, parsed once per process ----------------------------------------


Row = dict[str, str]


def _read_xz(name: str) -> Iterator[tuple[int, Row]]:
    raw = lzma.decompress((RUSSIA / name).read_bytes()).decode("utf-8")
    yield from enumerate(csv.DictReader(io.StringIO(raw, newline="")), start=2)


@dataclass
class _Pindx:
    by_region: dict[str, list[tuple[int, Row]]] = field(default_factory=lambda: defaultdict(list))
    names: dict[str, str] = field(default_factory=dict)


@cache
def _pindx() -> _Pindx:
    out = _Pindx()
    for line, row in _read_xz(PINDX_FILE):
        out.names[row["Index"]] = row["OPSName"]
        if row["OPSType"] in {"О", "Уооп"}:
            out.by_region[row["Region"] or row["Autonom"]].append((line, row))
    return out


@cache
def _geonames() -> dict[str, tuple[float, float]]:
    points: dict[str, tuple[float, float]] = {}
    for _line, row in _read_xz(GEONAMES_FILE):
        try:
            points.setdefault(row["zipcode"], (float(row["latitude"]), float(row["longitude"])))
        except ValueError:
            continue
    return points


@cache
def _localities() -> dict[str, list[tuple[int, Row]]]:
    by_region: dict[str, list[tuple[int, Row]]] = defaultdict(list)
    for line, row in _read_xz(LOCALITIES_FILE):
        by_region[row["region"]].append((line, row))
    return by_region


@cache
def _census() -> dict[str, list[Row]]:
    by_region: dict[str, list[Row]] = defaultdict(list)
    for _line, row in _read_xz(CENSUS_FILE):
        by_region[row["region"]].append(row)
    return by_region


def _curated_rows(path: Path) -> list[tuple[int, Row]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(enumerate(csv.DictReader(handle), start=2))


# --- names of municipalities ------------------------------------------------------------

Key = tuple[bool, str]  # (urban okrug?, normalised core name)


def _strip_municipal(label: str) -> tuple[str, bool | None]:
    """The core of a municipality's label, case kept, and whether it says it is urban."""
    text = " ".join(
        label.split(" - ")[0].replace('"', " ").replace("«", " ").replace("»", " ").split()
    )
    urban: bool | None = None
    changed = True
    while changed:
        changed = False
        lower = text.lower().replace("ё", "е")
        for suffix, is_urban in _MUNICIPAL_SUFFIXES:
            if lower.endswith(suffix) and len(lower) > len(suffix):
                urban = is_urban if urban is None else urban
                text, changed = text[: -len(suffix)].strip(), True
                break
        if changed:
            continue
        for prefix, is_urban in _MUNICIPAL_PREFIXES:
            if lower.startswith(prefix) and len(lower) > len(prefix):
                urban = is_urban if urban is None else urban
                text, changed = text[len(prefix) :].strip(), True
                break
    return text, urban


def municipality_key(label: str, *, urban: bool | None = None) -> Key:
    """How municipality labels of different files are compared.

    "Городской округ город Владимир", "Город Владимир" and a PIndx office of Владимир with no
    district all give (True, "владимир"); "Александровский муниципальный район",
    "Александровский" and "Александровский район" give (False, "александровский").
    """
    core, said = _strip_municipal(label)
    if urban is None:
        urban = said
    if urban is None:
        # A bare adjective is a district ("Северный"); a bare noun is a town ("Обь").
        urban = not core.lower().endswith(("ий", "ый", "ой"))
    return urban, normalised_name(core)


def _district_name(core: str, urban: bool) -> str:
    return f"городской округ {core}" if urban else f"{core} район"


# --- building one region ----------------------------------------------------------------


@dataclass
class _District:
    name: str
    key: Key
    kind: str
    admin_centre: str | None = None
    oktmo: str | None = None
    census_total: int | None = None
    localities: list[_Locality] = field(default_factory=list)
    centre: tuple[float, float] | None = None


@dataclass
class _Locality:
    key: str
    name: str
    type: str
    lat: float
    lon: float
    oktmo: str | None
    raw: int
    district: _District
    kind: str = RURAL_LOCALITY
    census: int | None = None
    population: int = 0


@dataclass
class _Census:
    total: int | None = None
    municipalities: dict[Key, tuple[str, int]] = field(default_factory=dict)
    places: dict[tuple[Key, str], tuple[str, int]] = field(default_factory=dict)


def _census_for(labels: RegionLabels) -> _Census:
    out = _Census()
    if not labels.census_region:
        return out
    rows = _census().get(labels.census_region, [])
    for row in rows:
        try:
            population = int(row["population_total"]) if row["population_total"] else None
        except ValueError:
            population = None
        if population is None:
            continue
        kind, label = row["row_kind"], row["object_as_published"]
        if kind == "region_part" or (kind == "region" and out.total is None):
            out.total = population  # "без автономного округа" comes after the whole
        if kind == "municipal_district_or_okrug":
            key = municipality_key(label)
            out.municipalities.setdefault(key, (label, population))
            parent = label
        elif row["parent_municipality"]:
            parent = row["parent_municipality"]
        else:
            continue
        if kind not in {"settlement", "urban_population", "urban_settlement", "other"} and not (
            kind == "municipal_district_or_okrug" and " - " in label
        ):
            continue
        match = _CENSUS_PLACE.match(label.split(" - ")[-1].strip())
        if match is None:
            continue
        token, name = match.group(1).lower(), match.group(2).strip()
        if token == "г.":
            place_kind = TOWN
        elif kind == "settlement" and token not in {"пгт", "рп", "кп", "дп", "гп"}:
            place_kind = RURAL_LOCALITY
        else:
            place_kind = URBAN_TYPE_SETTLEMENT
        out.places.setdefault(
            (municipality_key(parent), normalised_name(name)), (place_kind, population)
        )
    return out


def _name_candidates(name: str) -> list[str]:
    """A PIndx settlement name and its aliases (README 7.3), normalised."""
    out = [normalised_name(name)]
    lower = name.lower()
    for prefix in _ALIAS_PREFIXES:
        if lower.startswith(prefix):
            out.append(normalised_name(name[len(prefix) :]))
    words = name.split()
    if len(words) == 2:
        out.append(normalised_name(f"{words[1]} {words[0]}"))
    # «Им. Артёма» / «Им.воровского»: the localities file writes «им Артема» or «имени …».
    named_after = re.match(r"^им(?:\.|ени)?\s*(.+)$", name, re.IGNORECASE)
    if named_after and (lower.startswith("им.") or lower.startswith("имени ")):
        rest = normalised_name(named_after.group(1))
        out.extend([f"им{rest}", f"имени{rest}"])
    # «Стризнево Старосельского Сельсовета»: the village, named with its old selsoviet.
    if len(words) >= 3 and words[-1].lower() == "сельсовета":
        out.append(normalised_name(" ".join(words[:-2])))
    return out


def _float(value: str) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _int(value: str) -> int | None:
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None


def _act_date(value: str) -> str | None:
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if len(value) == 8 else None


def _admin_centre_town(admin_centre: str) -> str:
    marker = "адм. центр "
    if marker in admin_centre:
        return admin_centre.split(marker, 1)[1].strip()
    return admin_centre.split("(")[0].strip()


class _Builder:
    """One region under construction."""

    def __init__(self, labels: RegionLabels, manifest: Manifest | None) -> None:
        self.labels = labels
        self.info = labels.info
        self.manifest = manifest
        self.refused: list[RowError] = []
        self.districts: dict[Key, _District] = {}
        self.localities: list[_Locality] = []
        self.census = _census_for(labels)
        self._by_name: dict[str, list[_Locality]] | None = None

    def named(self, names: Iterable[str]) -> list[_Locality]:
        """The region's localities with one of these normalised names."""
        if self._by_name is None:
            self._by_name = defaultdict(list)
            for loc in self.localities:
                self._by_name[normalised_name(loc.name)].append(loc)
        return [loc for name in set(names) for loc in self._by_name.get(name, [])]

    def town_of(self, district: _District) -> _Locality | None:
        """The town an urban okrug is named after (or its largest part, for a split city)."""
        own = [loc for loc in district.localities if normalised_name(loc.name) == district.key[1]]
        if own:
            return _pick(own)
        towns = [loc for loc in district.localities if loc.type in _TOWN_TYPES]
        return _pick(towns) if district.key[0] else None

    # districts

    def district(self, key: Key) -> _District | None:
        found = self.districts.get(key)
        if found is None:
            found = self.districts.get((not key[0], key[1]))
        return found

    def add_district(self, key: Key, name: str, kind: str | None = None) -> _District:
        district = self.district(key)
        if district is None:
            kind = kind or ("urban_okrug" if key[0] else "municipal_district")
            district = _District(name=name, key=key, kind=kind)
            self.districts[key] = district
        return district

    def curated_districts(self, path: Path) -> None:
        for line, row in _curated_rows(path):
            name = row.get("municipality", "").strip()
            if not name:
                self.refused.append(RowError(path.name, line, "municipality is empty"))
                continue
            kind = row.get("municipality_type") or "municipal_district"
            district = self.add_district(
                municipality_key(name, urban=kind == "urban_okrug"), name, kind
            )
            district.admin_centre = _admin_centre_town(row.get("admin_centre", "")) or None
            district.oktmo = row.get("oktmo") or None

    # localities

    def read_localities(self, rows: Iterable[tuple[int, Row]], file: str, id_column: str) -> None:
        for line, row in rows:
            lat, lon = _float(row.get("latitude_dd", "")), _float(row.get("longitude_dd", ""))
            name = row.get("settlement", "").strip()
            if lat is None or lon is None or not name:
                self.refused.append(RowError(file, line, "no name or no coordinate"))
                continue
            label = row.get("municipality", "").strip()
            core, _urban = _strip_municipal(label)
            key = municipality_key(label)
            district = self.add_district(key, _district_name(core, key[0]))
            oktmo = row.get("oktmo", "")
            locality = _Locality(
                key=f"syomin:{row[id_column]}",
                name=name,
                type=row.get("type", ""),
                lat=lat,
                lon=lon,
                oktmo=oktmo if OKTMO_RE.match(oktmo) else None,
                raw=max(0, _int(row.get("population", "")) or 0),
                district=district,
            )
            district.localities.append(locality)
            self.localities.append(locality)

    def town_into_okrug(self, district: _District) -> None:
        """An urban okrug without its own town takes the region's locality of that name."""
        town = district.admin_centre or _strip_municipal(district.name)[0]
        wanted = normalised_name(town)
        if any(normalised_name(loc.name) == wanted for loc in district.localities):
            return
        candidates = self.named([wanted])
        if not candidates:
            return
        best = max(candidates, key=lambda loc: (loc.type in _TOWN_TYPES, loc.raw))
        best.district.localities.remove(best)
        best.district = district
        district.localities.append(best)

    # census

    def apply_census(self) -> None:
        matched: set[Key] = set()
        for district in self.districts.values():
            for key in (district.key, (not district.key[0], district.key[1])):
                figure = self.census.municipalities.get(key)
                if figure is not None and key not in matched:
                    matched.add(key)
                    district.census_total = figure[1]
                    label = figure[0].lower()
                    if "муниципальный округ" in label:
                        district.kind = "municipal_okrug"
                    elif "муниципальный район" in label:
                        district.kind = "municipal_district"
                    elif "городской округ" in label and district.kind == "municipal_district":
                        district.kind = "urban_okrug"
                    break
        for district in self.districts.values():
            by_name: dict[str, list[_Locality]] = defaultdict(list)
            for loc in district.localities:
                by_name[normalised_name(loc.name)].append(loc)
            for name, locs in by_name.items():
                place = self.census.places.get((district.key, name)) or self.census.places.get(
                    ((not district.key[0], district.key[1]), name)
                )
                if place is None:
                    continue
                best = max(locs, key=lambda loc: loc.raw)
                best.census = place[1]
                best.kind = place[0] if place[0] != RURAL_LOCALITY else best.kind
        for loc in self.localities:
            if loc.census is not None and loc.kind != RURAL_LOCALITY:
                continue
            if loc.type in _TOWN_TYPES:
                loc.kind = TOWN
            elif loc.type in _UTS_TYPES and loc.district.census_total is None:
                # The 2021 census names every urban-type settlement of a municipality it
                # covers; a "пгт" it does not name has become a rural locality.
                loc.kind = URBAN_TYPE_SETTLEMENT

    def scale(self) -> None:
        districts = [d for d in self.districts.values() if d.localities]
        total = self.census.total
        if total is None:
            for loc in self.localities:
                loc.population = loc.raw
            return
        sums = [sum(loc.raw for loc in d.localities) for d in districts]
        shares = scale_to_total(total, sums, [d.census_total for d in districts]).figures
        for district, share in zip(districts, shares, strict=True):
            figures = scale_to_total(
                share,
                [loc.raw for loc in district.localities],
                [loc.census for loc in district.localities],
            ).figures
            for loc, figure in zip(district.localities, figures, strict=True):
                loc.population = figure

    def locality_source(self, loc: _Locality) -> LocalitySource:
        if self.census.total is None:
            basis, estimate, source = "source_unscaled", True, SCALED_SOURCE
        elif loc.census is not None and loc.population == loc.census:
            basis, estimate, source = "census_2021", False, CENSUS_SOURCE
        else:
            basis, estimate, source = "scaled_to_census2021", True, SCALED_SOURCE
        return LocalitySource(
            key=loc.key,
            district=loc.district.name,
            name=loc.name,
            kind=loc.kind,
            lat=loc.lat,
            lon=loc.lon,
            coord_source=LOCALITY_COORD_SOURCE,
            coord_precision=LOCALITY_PRECISION,
            oktmo=loc.oktmo,
            population=loc.population,
            population_raw=loc.raw,
            population_basis=basis,
            population_is_estimate=estimate,
            population_source=source,
        )


@dataclass
class _Office:
    line: int
    row: Row
    district: _District
    locality: _Locality | None = None


def _curated_point(
    row: Row | None, loc: _Locality | None
) -> tuple[tuple[float, float], str, str] | None:
    """A curated office coordinate, unless it is an approximate point far from its locality.

    A checked settlement centre is kept as given; an approximate one (a GeoNames postal point
    the curated file passed on) obeys the same 10 km rule as the national GeoNames points.
    """
    if row is None:
        return None
    lat, lon = _float(row.get("lat", "")), _float(row.get("lon", ""))
    if lat is None or lon is None:
        return None
    precision = row.get("coord_precision") or "curated"
    approximate = precision.startswith("approx")
    if approximate and loc is not None:
        if haversine_m(lat, lon, loc.lat, loc.lon) > MAX_POSTAL_KM * 1000:
            return None
    return (lat, lon), row.get("coord_source") or "curated", precision


def _office_kind(loc: _Locality | None) -> OfficeKind:
    if loc is None or loc.kind == RURAL_LOCALITY:
        return OfficeKind.RURAL
    return OfficeKind.TOWN if loc.kind == TOWN else OfficeKind.URBAN_TYPE_SETTLEMENT


def _pick(candidates: list[_Locality]) -> _Locality | None:
    return max(candidates, key=lambda loc: loc.raw) if candidates else None


def load_region_source(code_or_name: str) -> RegionSource:
    """Everything the import needs for one region, from the reference shipped in the package."""
    labels = _labels(code_or_name)
    manifest = load_manifest(labels.info.slug)
    builder = _Builder(labels, manifest)
    info = labels.info
    if manifest is not None:
        info = RegionInfo(
            code=manifest.code,
            name=manifest.name,
            slug=manifest.slug,
            timezone=manifest.timezone,
            capital=manifest.capital,
        )

    # Districts (curated) and every locality.
    municipalities = manifest.file("municipalities") if manifest else None
    if municipalities is not None:
        builder.curated_districts(municipalities)
    curated_localities = manifest.file("localities") if manifest else None
    if curated_localities is not None:
        builder.read_localities(
            _curated_rows(curated_localities), curated_localities.name, "source_id"
        )
    else:
        rows = _localities().get(labels.localities_region, [])
        builder.read_localities(rows, "russia/" + LOCALITIES_FILE, "id")

    # Offices and sorting units of the region.
    region_rows = _pindx().by_region.get(labels.pindx_region or labels.pindx_autonom, [])
    office_rows = [(line, row) for line, row in region_rows if row["OPSType"] == "О"]
    sorting_units = [row for _line, row in region_rows if row["OPSType"] == "Уооп"]
    capital_norm = normalised_name(info.capital)

    # Towns of regional subordination (PIndx offices with no Area) are urban okrugs.
    for _line, row in office_rows:
        if row["Area"].strip():
            continue
        town = row["City"].strip() or info.capital
        key = municipality_key(town, urban=True)
        if builder.district(key) is None and key in builder.census.municipalities:
            builder.add_district(key, _district_name(town, True), "urban_okrug")
    for okrug in list(builder.districts.values()):
        if okrug.kind == "urban_okrug" or okrug.key[0]:
            builder.town_into_okrug(okrug)
    builder.apply_census()
    builder.scale()

    # Offices: district, locality.
    offices: list[_Office] = []
    seen: set[str] = set()
    for line, row in office_rows:
        index = row["Index"]
        if not re.fullmatch(r"\d{6}", index):
            builder.refused.append(RowError("russia/" + PINDX_FILE, line, f"index {index!r}"))
            continue
        if index in seen:
            builder.refused.append(RowError("russia/" + PINDX_FILE, line, f"{index} repeats"))
            continue
        seen.add(index)
        area, city, city1 = row["Area"].strip(), row["City"].strip(), row["City1"].strip()
        if area:
            key = municipality_key(area)
        else:
            city = city or info.capital
            key = municipality_key(city, urban=True)
        district: _District | None = builder.district(key)
        names = [n for n in (city1, city) if n] or [info.capital]
        locality = None
        if district is not None:
            for name in names:
                found = builder.named(_name_candidates(name))
                locality = _pick([loc for loc in found if loc.district is district])
                if locality is not None:
                    break
            if locality is None and normalised_name(names[-1]) == district.key[1]:
                locality = builder.town_of(district)
        if locality is None:
            for name in names:
                locality = _pick(builder.named(_name_candidates(name)))
                if locality is not None:
                    break
        if locality is not None and (district is None or not district.localities):
            district = locality.district
        if district is None:
            core = _strip_municipal(area)[0] if area else city
            district = builder.add_district(key, _district_name(core, key[0]))
        offices.append(_Office(line, row, district, locality))

    # District admin centres and centre points.
    localities_with_office = {id(o.locality) for o in offices if o.locality is not None}
    for district in builder.districts.values():
        centre: _Locality | None = None
        if district.admin_centre:
            centre = _pick(builder.named([normalised_name(district.admin_centre)]))
        if centre is None and district.localities:
            served = [loc for loc in district.localities if id(loc) in localities_with_office]
            centre = max(served or district.localities, key=lambda loc: loc.population)
            district.admin_centre = district.admin_centre or centre.name
        if centre is not None:
            district.centre = (centre.lat, centre.lon)
        if district.oktmo is None and district.localities and not manifest:
            prefixes = [loc.oktmo[:5] for loc in district.localities if loc.oktmo]
            if prefixes:
                district.oktmo = max(set(prefixes), key=prefixes.count) + "000"

    capital_loc = _pick(builder.named([capital_norm]))
    capital_okrug = builder.district((True, capital_norm))
    if capital_loc is None and capital_okrug is not None:
        capital_loc = builder.town_of(capital_okrug)
    fallback = (capital_loc.lat, capital_loc.lon) if capital_loc else None
    if fallback is None and builder.localities:
        biggest = max(builder.localities, key=lambda loc: loc.population)
        fallback = (biggest.lat, biggest.lon)

    # Coordinates.
    geonames = _geonames()
    curated_points: dict[str, Row] = {}
    curated_offices = manifest.file("offices") if manifest else None
    if curated_offices is not None:
        curated_points = {row["index"]: row for _line, row in _curated_rows(curated_offices)}
    office_localities = manifest.file("office_localities") if manifest else None
    if office_localities is not None:
        by_key = {loc.key: loc for loc in builder.localities}
        joined = {
            row["index"]: by_key.get(f"syomin:{row['syomin_source_id']}")
            for _line, row in _curated_rows(office_localities)
        }
        for office in offices:
            loc = joined.get(office.row["Index"])
            if loc is not None:
                office.locality = loc

    office_sources: list[OfficeSource] = []
    for office in offices:
        row, loc, district = office.row, office.locality, office.district
        index = row["Index"]
        point: tuple[float, float] | None = None
        coord_source, precision = "", ""
        curated = _curated_point(curated_points.get(index), loc)
        postal = geonames.get(index)
        if curated is not None:
            point, coord_source, precision = curated
        elif postal is not None and (
            loc is None or haversine_m(*postal, loc.lat, loc.lon) <= MAX_POSTAL_KM * 1000
        ):
            point, coord_source, precision = postal, "geonames_postal", POSTAL_PRECISION
        elif loc is not None:
            point = (loc.lat, loc.lon)
            coord_source = "locality" if postal is None else "locality_geonames_rejected"
            precision = LOCALITY_PRECISION
        elif district.centre is not None or fallback is not None:
            point = district.centre or fallback
            coord_source, precision = "district_centre", DISTRICT_PRECISION
        if point is None:
            builder.refused.append(
                RowError("russia/" + PINDX_FILE, office.line, f"{index}: no coordinate at all")
            )
            continue
        place = loc.name if loc else (row["City1"] or row["City"] or info.capital)
        office_sources.append(
            OfficeSource(
                index=index,
                name=row["OPSName"],
                district=district.name,
                locality_key=loc.key if loc else None,
                kind=_office_kind(loc),
                address=f"{index}, {info.name}, {district.name}, {place}",
                lat=point[0],
                lon=point[1],
                coord_source=coord_source,
                coord_precision=precision,
                parent_index=row["OPSSubm"] or None,
                parent_name=_pindx().names.get(row["OPSSubm"]) if row["OPSSubm"] else None,
                act_date=_act_date(row["ActDate"]),
            )
        )

    hubs = _hubs(builder, info, manifest, offices, office_sources, sorting_units, capital_loc)
    used = {o.district for o in office_sources} | {loc.district.name for loc in builder.localities}
    districts = [
        DistrictSource(
            name=d.name,
            kind=d.kind,
            admin_centre=d.admin_centre,
            oktmo=d.oktmo,
            population=d.census_total,
            centre_lat=d.centre[0] if d.centre else None,
            centre_lon=d.centre[1] if d.centre else None,
        )
        for d in builder.districts.values()
        if d.name in used
    ]
    rsc = hubs[0] if hubs else None
    warehouses = feeding_warehouses(rsc.lat, rsc.lon, manifest) if rsc is not None else []
    return RegionSource(
        info=info,
        source=SOURCE,
        curated=manifest is not None,
        districts=districts,
        localities=[builder.locality_source(loc) for loc in builder.localities],
        offices=office_sources,
        hubs=hubs,
        warehouses=warehouses,
        assumed_connections=[
            AssumedConnections(code, count)
            for code, count in (manifest.assumed_connections if manifest else {}).items()
        ],
        refused=builder.refused,
        census_total=builder.census.total,
    )


def _hubs(
    builder: _Builder,
    info: RegionInfo,
    manifest: Manifest | None,
    offices: list[_Office],
    sources: list[OfficeSource],
    sorting_units: list[Row],
    capital_loc: _Locality | None,
) -> list[HubSource]:
    """The regional sorting centre first, then one hub per district centre's main office."""
    by_index = {o.index: o for o in sources}
    by_locality: dict[int, list[OfficeSource]] = defaultdict(list)
    for office in offices:
        source = by_index.get(office.row["Index"])
        if office.locality is not None and source is not None:
            by_locality[id(office.locality)].append(source)

    def main_office(loc: _Locality | None) -> OfficeSource | None:
        found = by_locality.get(id(loc)) if loc is not None else None
        return min(found, key=lambda o: o.index) if found else None

    hubs: list[HubSource] = []
    capital_main = main_office(capital_loc)
    capital_norm = normalised_name(info.capital)
    units = sorted(
        (u for u in sorting_units if normalised_name(u["City"]) == capital_norm),
        key=lambda u: u["Index"],
    )
    index: str | None = None
    name = ""
    if manifest is not None and manifest.sorting_centre_index:
        index = manifest.sorting_centre_index
        name = manifest.sorting_centre_name or _pindx().names.get(index, index)
    elif units:
        index, name = units[0]["Index"], units[0]["OPSName"]
    elif capital_main is not None:
        index, name = capital_main.index, capital_main.name
    if index is not None:
        if capital_loc is not None:
            lat, lon = capital_loc.lat, capital_loc.lon
        elif capital_main is not None:
            lat, lon = capital_main.lat, capital_main.lon
        else:
            lat, lon = sources[0].lat, sources[0].lon
        hubs.append(
            HubSource(
                code=f"RSC-{index}",
                name=f"{name} (региональный сортировочный центр)",
                kind="regional_sorting_centre",
                index=index,
                office_index=None,
                district=capital_loc.district.name if capital_loc else None,
                lat=lat,
                lon=lon,
            )
        )
    seen: set[str] = set()
    for district in builder.districts.values():
        if not district.admin_centre:
            continue
        wanted = normalised_name(district.admin_centre)
        candidates = [loc for loc in builder.named([wanted]) if id(loc) in by_locality]
        own = [loc for loc in candidates if loc.district is district]
        main = main_office(_pick(own or candidates))
        if main is None or main.index in seen:
            continue
        seen.add(main.index)
        hubs.append(
            HubSource(
                code=f"DH-{main.index}",
                name=f"{main.name} (районный узел)",
                kind="district_hub",
                index=main.index,
                office_index=main.index,
                district=main.district,
                lat=main.lat,
                lon=main.lon,
            )
        )
    return hubs
