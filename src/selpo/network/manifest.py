"""A region described as data: curated manifests, the national warehouses, the marketplaces.

- ``region_data/<slug>/region.toml``: a curated region (code, name, zone, capital, its sorting
  centre's index, the curated files that refine the national reference, the warehouses that
  feed it with their trucks, the marketplace connections assumed today). The region of the only
  curated manifest, or the one marked ``default = true`` among several, is the default region
  (``default_manifest``).
- ``region_data/warehouses.toml``: the marketplaces' national warehouses; one is the default.
- ``region_data/marketplaces.toml``: the marketplaces seeded on the first import.

A region without a manifest is fed by the default warehouse and the nearest other warehouse
within ``MAX_FEEDER_KM`` of its sorting centre, by a daily truck leaving at 16:00
warehouse-local whose duration follows from geography (``haul_duration_s``).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from datetime import time
from functools import cache
from pathlib import Path
from typing import Any

from selpo.network.errors import NoDefaultRegion
from selpo.network.geo import haversine_m
from selpo.network.sources import HaulSource, MarketplaceSeed, WarehouseSource

REGION_DATA = Path(__file__).resolve().parent.parent / "region_data"
MANIFEST_FILE = "region.toml"

# Road distance ≈ great circle × CIRCUITY_FACTOR until a road network is imported.
CIRCUITY_FACTOR = 1.3
TRUCK_SPEED_KMH = 60.0
DRIVING_BLOCK_H = 4.5  # a driver rests 45 min after each 4.5 h of driving
REST_MIN = 45
ROUND_TO_MIN = 15
MAX_FEEDER_KM = 1500.0
DERIVED_DEPARTURE = time(16, 0)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)


class ManifestError(ValueError):
    """A manifest or a national data file that cannot be read as documented."""


@dataclass(frozen=True)
class Warehouse:
    """A national warehouse as ``warehouses.toml`` lists it."""

    code: str
    name: str
    lat: float
    lon: float
    timezone: str
    is_default: bool
    assumed_location: bool


@dataclass(frozen=True)
class ManifestWarehouse:
    """A warehouse feeding a curated region, with its trucks to the sorting centre."""

    code: str
    hauls: tuple[HaulSource, ...]


@dataclass(frozen=True)
class Manifest:
    """A curated region's ``region.toml``."""

    directory: Path
    code: str
    slug: str
    name: str
    timezone: str
    capital: str
    sorting_centre_index: str | None
    sorting_centre_name: str | None
    files: dict[str, str]
    warehouses: tuple[ManifestWarehouse, ...]
    assumed_connections: dict[str, int] = field(default_factory=dict)
    # Values the API documentation shows as examples (``[examples]``): real data of the region,
    # so no Python module has to name an office or a tracking number of a region.
    examples: dict[str, object] = field(default_factory=dict)
    default: bool = False  # the default region when several curated manifests ship

    def file(self, role: str) -> Path | None:
        """The curated file playing ``role`` (e.g. "localities"), when the manifest has one."""
        name = self.files.get(role)
        return self.directory / name if name else None


def _toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{path}: {exc}") from exc


def _hhmm(value: str, where: str) -> time:
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ManifestError(f"{where}: departure {value!r} is not HH:MM") from None


def _parse_manifest(path: Path) -> Manifest:
    data = _toml(path)
    try:
        warehouses = []
        for entry in data.get("warehouse", []):
            weekdays = tuple(int(d) for d in entry.get("weekdays", EVERY_DAY))
            duration_s = int(entry["duration_minutes"]) * 60
            hauls = tuple(
                HaulSource(weekdays, _hhmm(dep, str(path)), duration_s)
                for dep in entry["departures"]
            )
            warehouses.append(ManifestWarehouse(str(entry["code"]), hauls))
        centre = data.get("sorting_centre", {})
        return Manifest(
            directory=path.parent,
            code=str(data["code"]),
            slug=str(data["slug"]),
            name=str(data["name"]),
            timezone=str(data["timezone"]),
            capital=str(data["capital"]),
            sorting_centre_index=centre.get("index"),
            sorting_centre_name=centre.get("name"),
            files={str(k): str(v) for k, v in data.get("files", {}).items()},
            warehouses=tuple(warehouses),
            assumed_connections={
                str(k): int(v) for k, v in data.get("assumed_connections", {}).items()
            },
            default=bool(data.get("default", False)),
            examples=dict(data.get("examples", {})),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"{path}: {exc!r}") from exc


def load_manifest(slug: str, root: Path = REGION_DATA) -> Manifest | None:
    """The curated manifest of a region, or None when the region has none."""
    path = root / slug / MANIFEST_FILE
    return _parse_manifest(path) if path.is_file() else None


@cache
def curated_manifests(root: Path = REGION_DATA) -> tuple[Manifest, ...]:
    """Every curated manifest that ships in the package, by slug."""
    return tuple(_parse_manifest(path) for path in sorted(root.glob(f"*/{MANIFEST_FILE}")))


def default_manifest(root: Path = REGION_DATA) -> Manifest:
    """The manifest of the default region: the only curated one, or the one marked
    ``default = true`` when several ship; ``NoDefaultRegion`` otherwise."""
    manifests = curated_manifests(root)
    if len(manifests) == 1:
        return manifests[0]
    marked = [m for m in manifests if m.default]
    if len(marked) == 1:
        return marked[0]
    raise NoDefaultRegion(len(manifests), [m.slug for m in marked])


@cache
def national_warehouses(root: Path = REGION_DATA) -> tuple[Warehouse, ...]:
    """The warehouses of ``warehouses.toml``; exactly one is the default."""
    data = _toml(root / "warehouses.toml")
    try:
        warehouses = tuple(
            Warehouse(
                code=str(w["code"]),
                name=str(w["name"]),
                lat=float(w["lat"]),
                lon=float(w["lon"]),
                timezone=str(w["timezone"]),
                is_default=bool(w.get("default", False)),
                assumed_location=bool(w.get("assumed_location", False)),
            )
            for w in data["warehouse"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"warehouses.toml: {exc!r}") from exc
    if sum(w.is_default for w in warehouses) != 1:
        raise ManifestError("warehouses.toml: exactly one warehouse must be the default")
    return warehouses


@cache
def marketplace_seeds(root: Path = REGION_DATA) -> tuple[MarketplaceSeed, ...]:
    """The marketplaces to create on the first import (they are national)."""
    data = _toml(root / "marketplaces.toml")
    try:
        extension = int(data["storage_extension_days"])
        return tuple(
            MarketplaceSeed(str(m["code"]), str(m["name"]), int(m["storage_days"]), extension)
            for m in data["marketplace"]
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ManifestError(f"marketplaces.toml: {exc!r}") from exc


def haul_duration_s(distance_m: float) -> int:
    """A truck's time over a great-circle distance: road ≈ × CIRCUITY_FACTOR at 60 km/h,
    45 min rest after each full 4.5 h of driving, rounded up to 15 min."""
    driving_h = distance_m / 1000.0 * CIRCUITY_FACTOR / TRUCK_SPEED_KMH
    rests = math.floor(driving_h / DRIVING_BLOCK_H)
    minutes = driving_h * 60.0 + rests * REST_MIN
    return math.ceil(round(minutes, 6) / ROUND_TO_MIN) * ROUND_TO_MIN * 60


def _source(warehouse: Warehouse, hauls: tuple[HaulSource, ...]) -> WarehouseSource:
    return WarehouseSource(
        code=warehouse.code,
        name=warehouse.name,
        lat=warehouse.lat,
        lon=warehouse.lon,
        timezone=warehouse.timezone,
        is_default=warehouse.is_default,
        hauls=hauls,
    )


def feeding_warehouses(
    lat: float, lon: float, manifest: Manifest | None = None
) -> list[WarehouseSource]:
    """The warehouses that feed a sorting centre at (lat, lon), with their trucks.

    A manifest names them with their timetables; otherwise the default warehouse and the
    nearest other one within ``MAX_FEEDER_KM``, each with a daily truck at 16:00 local.
    """
    warehouses = national_warehouses()
    by_code = {w.code: w for w in warehouses}
    if manifest is not None and manifest.warehouses:
        out = []
        for entry in manifest.warehouses:
            if entry.code not in by_code:
                raise ManifestError(f"{manifest.slug}: unknown warehouse {entry.code!r}")
            out.append(_source(by_code[entry.code], entry.hauls))
        return out

    def haul(w: Warehouse) -> tuple[HaulSource, ...]:
        duration = haul_duration_s(haversine_m(w.lat, w.lon, lat, lon))
        return (HaulSource(EVERY_DAY, DERIVED_DEPARTURE, duration),)

    default = next(w for w in warehouses if w.is_default)
    out = [_source(default, haul(default))]
    others = sorted(
        (haversine_m(w.lat, w.lon, lat, lon), w.code, w) for w in warehouses if not w.is_default
    )
    if others and others[0][0] <= MAX_FEEDER_KM * 1000.0:
        nearest = others[0][2]
        out.append(_source(nearest, haul(nearest)))
    return out
