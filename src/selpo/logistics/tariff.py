"""The price of a delivery: weight bands by distance zones, plus cash-on-delivery and insurance.

Pure: standard library only. Money in kopecks (integers), weight in grams, sizes in
millimetres, distance in metres.

The rule (``price``):

1. **Chargeable weight** = the larger of the actual weight and the *volumetric* weight,
   length x width x height / ``volumetric_divisor_cm3_per_kg`` (5,000 cm³ per kg, the
   divisor couriers use; a 30 x 20 x 20 cm box weighs 2.4 kg volumetrically).
2. **Zone** by road distance from the warehouse to the office (the service passes great
   circle x ``distance.DEFAULT_CIRCUITY``): zone 1 up to 200 km, 2 up to 500 km, 3 up to
   1,000 km, 4 up to 2,000 km, 5 beyond. From the warehouse near Moscow 285 of the 301
   Ivanovo offices are in zone 2 (255-500 km by road), the 16 farthest east in zone 3; from
   the Ivanovo warehouse all are in zone 1 (at most 170 km).
3. **Base price** = the zone's price for the first weight band the chargeable weight fits
   (up to 0.5, 1, 2, 5, 10, 20 kg), plus ``extra_kg_kop`` of the zone per started kilogram
   above 20 kg.
4. **Cash on delivery**: ``cod_fee_bp`` basis points (2 %) of the amount to collect, at least
   ``cod_fee_min_kop`` (30 roubles): counting and carrying cash and transferring it back.
5. **Insurance**: ``insurance_bp`` (0.5 %) of the declared value; none when it is 0.
6. Fees are rounded up to whole kopecks; the total is the sum.

The prices are assumptions in the range of Russian parcel tariffs of 2024-2026 (a 1 kg
parcel across a region about 200 roubles), not an operator's price list: the ``Tariff``
dataclass holds every number, so a real price list replaces ``DEFAULT_TARIFF`` without code
changes elsewhere.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Final

_R: Final[int] = 100  # kopecks per rouble, for readable tables


@dataclass(frozen=True)
class Tariff:
    """Every number of the price rule (module docstring)."""

    zone_limits_m: tuple[float, ...] = (200_000.0, 500_000.0, 1_000_000.0, 2_000_000.0)
    weight_bands_g: tuple[int, ...] = (500, 1_000, 2_000, 5_000, 10_000, 20_000)
    # One row per zone (len(zone_limits_m) + 1 rows), one price per weight band.
    band_prices_kop: tuple[tuple[int, ...], ...] = (
        (149 * _R, 169 * _R, 199 * _R, 259 * _R, 349 * _R, 499 * _R),
        (179 * _R, 199 * _R, 239 * _R, 309 * _R, 419 * _R, 599 * _R),
        (219 * _R, 249 * _R, 289 * _R, 379 * _R, 509 * _R, 729 * _R),
        (269 * _R, 299 * _R, 349 * _R, 459 * _R, 619 * _R, 889 * _R),
        (339 * _R, 379 * _R, 449 * _R, 589 * _R, 799 * _R, 1_149 * _R),
    )
    extra_kg_kop: tuple[int, ...] = (25 * _R, 30 * _R, 38 * _R, 46 * _R, 60 * _R)
    volumetric_divisor_cm3_per_kg: int = 5_000
    cod_fee_bp: int = 200
    cod_fee_min_kop: int = 30 * _R
    insurance_bp: int = 50

    def __post_init__(self) -> None:
        zones = len(self.zone_limits_m) + 1
        if list(self.zone_limits_m) != sorted(self.zone_limits_m) or any(
            limit <= 0 for limit in self.zone_limits_m
        ):
            raise ValueError("zone limits must be positive and increasing")
        if not self.weight_bands_g or list(self.weight_bands_g) != sorted(set(self.weight_bands_g)):
            raise ValueError("weight bands must be increasing")
        if len(self.band_prices_kop) != zones or len(self.extra_kg_kop) != zones:
            raise ValueError(f"the tariff needs {zones} zone rows")
        for row in self.band_prices_kop:
            if len(row) != len(self.weight_bands_g):
                raise ValueError("every zone needs one price per weight band")
            if any(p < 0 for p in row) or list(row) != sorted(row):
                raise ValueError("band prices must be non-negative and not fall with weight")
        if self.volumetric_divisor_cm3_per_kg <= 0:
            raise ValueError("the volumetric divisor must be positive")
        if min(self.cod_fee_bp, self.cod_fee_min_kop, self.insurance_bp, *self.extra_kg_kop) < 0:
            raise ValueError("fees must not be negative")

    def zone(self, distance_m: float) -> int:
        """The zone (1, 2, ...) of a road distance."""
        if not (math.isfinite(distance_m) and distance_m >= 0.0):
            raise ValueError("distance must be a non-negative number of metres")
        return 1 + sum(1 for limit in self.zone_limits_m if distance_m > limit)


DEFAULT_TARIFF: Final[Tariff] = Tariff()


@dataclass(frozen=True)
class Price:
    """A price and how it was made up."""

    total_kop: int
    base_kop: int
    cod_fee_kop: int
    insurance_kop: int
    zone: int
    chargeable_weight_g: int
    distance_m: float


def _fee(amount_kop: int, basis_points: int) -> int:
    return -(-amount_kop * basis_points // 10_000)  # rounded up to whole kopecks


def volumetric_weight_g(length_mm: int, width_mm: int, height_mm: int, divisor: int) -> int:
    """Volumetric weight in grams: cm³ / divisor kg, i.e. mm³ / divisor g, rounded up."""
    return -(-length_mm * width_mm * height_mm // divisor)


def price(
    tariff: Tariff,
    *,
    distance_m: float,
    weight_g: int,
    length_mm: int,
    width_mm: int,
    height_mm: int,
    declared_value_kop: int = 0,
    cod_kop: int = 0,
) -> Price:
    """The price of one parcel under ``tariff`` (module docstring)."""
    if min(weight_g, length_mm, width_mm, height_mm) <= 0:
        raise ValueError("weight and dimensions must be positive")
    if declared_value_kop < 0 or cod_kop < 0:
        raise ValueError("money amounts must not be negative")
    zone = tariff.zone(distance_m)
    volumetric = volumetric_weight_g(
        length_mm, width_mm, height_mm, tariff.volumetric_divisor_cm3_per_kg
    )
    chargeable = max(weight_g, volumetric)
    row = tariff.band_prices_kop[zone - 1]
    base = next(
        (p for band, p in zip(tariff.weight_bands_g, row, strict=True) if chargeable <= band),
        None,
    )
    if base is None:
        extra_kg = -(-(chargeable - tariff.weight_bands_g[-1]) // 1_000)
        base = row[-1] + extra_kg * tariff.extra_kg_kop[zone - 1]
    cod_fee = max(_fee(cod_kop, tariff.cod_fee_bp), tariff.cod_fee_min_kop) if cod_kop else 0
    insurance = _fee(declared_value_kop, tariff.insurance_bp)
    return Price(
        total_kop=base + cod_fee + insurance,
        base_kop=base,
        cod_fee_kop=cod_fee,
        insurance_kop=insurance,
        zone=zone,
        chargeable_weight_g=chargeable,
        distance_m=distance_m,
    )


def load_tariff(path: Path) -> Tariff:
    """A price list from a JSON file of ``Tariff`` fields (missing ones keep the defaults).

    Lists become tuples; an unknown field or a rule the tariff breaks raises ValueError
    naming it, so a bad price list never reaches a quote.
    """
    raw = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: a tariff is a JSON object of Tariff fields")
    known = {f.name for f in fields(Tariff)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise ValueError(f"{path}: unknown tariff fields {unknown}; known: {sorted(known)}")

    def frozen(value: object) -> object:
        return tuple(frozen(v) for v in value) if isinstance(value, list) else value

    return Tariff(**{name: frozen(value) for name, value in raw.items()})  # type: ignore[arg-type]
