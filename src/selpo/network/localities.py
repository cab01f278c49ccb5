"""Scaling source populations to census totals: a pure kernel, integers in, integers out.

The localities of the national reference carry figures of mixed vintage (the 2010 census for
villages, about 2017 estimates for towns); the 2021 census (Rosstat, table 5) gives the total
of every municipality and the figure of every town, urban-type settlement and village of 3,000
or more. ``scale_to_total`` spreads a total over a group of places so that

- places the census names keep their census figure (``fixed``);
- the rest of the total goes to the other places in proportion to their source figures, by
  largest remainder, so the sum is exact;
- a place whose source figure is zero stays at zero, as long as someone else can take the rest;
- if the other places have no people to scale (all zero, or there are none), the rest goes to
  the fixed places in proportion to their figures; if every figure of the group is zero, it is
  split evenly; an empty group leaves the whole total ``unplaced``;
- if the fixed figures exceed the total (the sources disagree), the total is apportioned over
  the fixed places and the others get zero.

The same kernel runs twice for a region: over its municipalities (matched ones fixed at their
census total, unmatched ones sharing what remains of the region's total) and then over the
localities of each municipality.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scaled:
    """The figures, in the order given, and what could not be placed (an empty group)."""

    figures: list[int]
    unplaced: int


def apportion(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` (>= 0) in proportion to non-negative integer ``weights``, exactly.

    Largest remainder with exact integer arithmetic; ties go to the earlier place. All weights
    zero: an even split.
    """
    if total < 0:
        raise ValueError("cannot apportion a negative total")
    if any(w < 0 for w in weights):
        raise ValueError("weights must be non-negative")
    if not weights:
        return []
    weight_sum = sum(weights)
    if weight_sum == 0:
        weights = [1] * len(weights)
        weight_sum = len(weights)
    floors = [total * w // weight_sum for w in weights]
    remainders = [total * w % weight_sum for w in weights]
    left = total - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return floors


def scale_to_total(total: int, figures: Sequence[int], fixed: Sequence[int | None]) -> Scaled:
    """Give ``total`` to places with source ``figures``; a non-None ``fixed`` value is kept."""
    if len(figures) != len(fixed):
        raise ValueError("figures and fixed differ in length")
    if total < 0 or any(f < 0 for f in figures) or any(f is not None and f < 0 for f in fixed):
        raise ValueError("totals and figures must be non-negative")
    n = len(figures)
    if n == 0:
        return Scaled([], total)
    fixed_idx = [i for i in range(n) if fixed[i] is not None]
    free_idx = [i for i in range(n) if fixed[i] is None]
    fixed_sum = sum(fixed[i] or 0 for i in fixed_idx)
    out = [0] * n
    if fixed_sum > total:
        shares = apportion(total, [fixed[i] or 0 for i in fixed_idx])
        for i, share in zip(fixed_idx, shares, strict=True):
            out[i] = share
        return Scaled(out, 0)
    for i in fixed_idx:
        out[i] = fixed[i] or 0
    rest = total - fixed_sum
    free_weights = [figures[i] for i in free_idx]
    if sum(free_weights) > 0:
        for i, share in zip(free_idx, apportion(rest, free_weights), strict=True):
            out[i] = share
    elif fixed_sum > 0:
        extra = apportion(rest, [fixed[i] or 0 for i in fixed_idx])
        for i, share in zip(fixed_idx, extra, strict=True):
            out[i] += share
    else:
        for i, share in zip(range(n), apportion(rest, [0] * n), strict=True):
            out[i] += share
    return Scaled(out, 0)


def normalised_name(name: str) -> str:
    """Lower case, ё as е, without hyphens or spaces: how place names are compared."""
    return name.lower().replace("ё", "е").replace("-", "").replace(" ", "")
