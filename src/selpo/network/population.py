"""Spreading census totals over the places we know, so every place has people and totals hold.

The 2021 census (Rosstat, table 5) gives exact figures for towns, urban-type settlements, the
largest villages and for every municipal settlement (поселение) as a whole; smaller villages
appear only inside their поселение total. Our registry knows about two hundred places (every
settlement with a post office and the larger GeoNames places), not all ~3,000 villages.

The rule, per district (documented in docs/data.md):

1. A place with a 2021 census figure keeps it (``census_2021``, measured).
2. Each rural поселение is tied to the places whose name shares its stem
   ("Кромское сельское поселение" → "Кромы"). Its total, less the census figures of its
   places, goes to those places; what no place of the district is tied to (unmatched
   поселения, the rural part of urban поселения) forms the district pool, which goes to the
   district's places not tied to any поселение.
3. Inside a share, places with an older measured figure (2010 census, Wikipedia) keep it,
   scaled down only if the figures exceed the share; the rest is split between the places
   without a figure in proportion to their weight (their number of post offices, at least 1).
   Those figures are estimates (``estimate_census2021_spread``).
4. A share with no place to take it is added to the district's estimated places in proportion
   to their figures, so the district total still equals the census.

Integers are apportioned by largest remainder, so sums are exact.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

CENSUS_2021 = "census_2021"
SPREAD = "estimate_census2021_spread"
SCALED_SUFFIX = "_scaled_to_census2021"


@dataclass(frozen=True)
class KnownPlace:
    """A place of the registry with whatever population figure the sources give."""

    key: int
    district: str
    name: str
    population: int | None
    basis: str | None
    weight: int = 1


@dataclass(frozen=True)
class CensusUnit:
    """A поселение (or the rural part of an urban one) with its 2021 census total."""

    district: str
    name: str
    population: int
    rural_settlement: bool


@dataclass(frozen=True)
class PlacePopulation:
    """The figure a place ends up with, how it was obtained, and whether it is an estimate."""

    key: int
    population: int
    basis: str
    is_estimate: bool
    note: str


@dataclass(frozen=True)
class SpreadResult:
    """Figures per place plus what could not be placed per district (ideally nothing)."""

    places: dict[int, PlacePopulation]
    unplaced: dict[str, int]


def normalised_name(name: str) -> str:
    """Lower case, ё as е, without hyphens or spaces: how names are compared."""
    return name.lower().replace("ё", "е").replace("-", "").replace(" ", "")


def poselenie_stem(name: str) -> str:
    """The stem of a поселение's adjective: "Кромское сельское поселение" → "кром"."""
    word = normalised_name(name.split()[0])
    for suffix in ("ское", "цкое", "кое"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _stem_match_length(stem: str, place_name: str) -> int:
    name = normalised_name(place_name)
    common = 0
    for a, b in zip(stem, name, strict=False):
        if a != b:
            break
        common += 1
    needed = max(3, len(stem) - 2)
    return common if common >= needed else 0


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """Split a non-negative integer ``total`` in proportion to ``weights`` (largest remainder)."""
    if total < 0:
        raise ValueError("cannot apportion a negative total")
    weight_sum = float(sum(weights))
    if not weights:
        return []
    if weight_sum <= 0:
        weights = [1.0] * len(weights)
        weight_sum = float(len(weights))
    raw = [total * w / weight_sum for w in weights]
    floors = [int(r) for r in raw]
    left = total - sum(floors)
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def _distribute(
    amount: int, places: list[KnownPlace], note: str, out: dict[int, PlacePopulation]
) -> int:
    """Give ``amount`` to ``places``; return what could not be given (no places)."""
    if not places:
        return amount
    measured = [p for p in places if p.population is not None]
    unknown = [p for p in places if p.population is None]
    measured_sum = sum(p.population or 0 for p in measured)
    if measured_sum > amount or (not unknown and measured):
        # Old figures exceed the 2021 share (people left), or nobody else can take the rest:
        # scale the measured figures so the share is met exactly.
        shares = apportion(amount, [float(p.population or 0) for p in measured])
        for place, share in zip(measured, shares, strict=True):
            out[place.key] = PlacePopulation(
                place.key, share, f"{place.basis}{SCALED_SUFFIX}", True, note
            )
        rest = 0
        measured_sum = amount
    else:
        for place in measured:
            out[place.key] = PlacePopulation(
                place.key, place.population or 0, place.basis or "measured", False, note
            )
        rest = amount - measured_sum
    if unknown:
        shares = apportion(rest, [float(p.weight) for p in unknown])
        for place, share in zip(unknown, shares, strict=True):
            out[place.key] = PlacePopulation(place.key, share, SPREAD, True, note)
        rest = 0
    return rest


def spread_census_population(
    places: Sequence[KnownPlace],
    district_totals: dict[str, int],
    census_places: dict[tuple[str, str], int],
    units: Sequence[CensusUnit],
) -> SpreadResult:
    """Give every place a population so each district's total equals its 2021 census total.

    ``census_places`` maps (district, normalised name) to an exact 2021 figure.
    """
    out: dict[int, PlacePopulation] = {}
    unplaced: dict[str, int] = {}
    by_district: dict[str, list[KnownPlace]] = defaultdict(list)
    for place in places:
        by_district[place.district].append(place)
    units_by_district: dict[str, list[CensusUnit]] = defaultdict(list)
    for unit in units:
        units_by_district[unit.district].append(unit)

    for district, total in district_totals.items():
        members = by_district.get(district, [])
        rest_of_district = total
        others: list[KnownPlace] = []
        for place in members:
            exact = census_places.get((district, normalised_name(place.name)))
            if exact is not None:
                out[place.key] = PlacePopulation(
                    place.key, exact, CENSUS_2021, False, "2021 census, table 5"
                )
                rest_of_district -= exact
            else:
                others.append(place)

        tied: dict[int, CensusUnit] = {}
        for unit in units_by_district.get(district, []):
            if not unit.rural_settlement:
                continue
            stem = poselenie_stem(unit.name)
            scores = {p.key: _stem_match_length(stem, p.name) for p in members}
            best = max(scores.values(), default=0)
            if best == 0:
                continue
            for key, score in scores.items():
                if score == best and key not in tied:
                    tied[key] = unit

        pool = rest_of_district
        for unit in {id(u): u for u in tied.values()}.values():
            unit_places = [p for p in members if tied.get(p.key) is unit]
            exact_in_unit = sum(out[p.key].population for p in unit_places if p.key in out)
            share = max(0, unit.population - exact_in_unit)
            targets = [p for p in unit_places if p.key not in out]
            pool -= share
            pool += _distribute(share, targets, f"2021 census total of {unit.name}", out)

        untied = [p for p in others if p.key not in tied]
        pool = max(pool, 0)
        pool = _distribute(pool, untied, f"2021 census remainder of {district}", out)
        if pool > 0:
            estimated = [p for p in others if out[p.key].is_estimate]
            receivers = estimated or others
            if receivers:
                extra = apportion(pool, [float(out[p.key].population) + 1 for p in receivers])
                for place, add in zip(receivers, extra, strict=True):
                    old = out[place.key]
                    out[place.key] = PlacePopulation(
                        place.key, old.population + add, SPREAD, True, old.note
                    )
                pool = 0
        if pool:
            unplaced[district] = pool
    return SpreadResult(out, unplaced)
