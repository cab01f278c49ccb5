"""Loading a route run's way back: a pure kernel (plain data in, plain data out).

The model (``docs/logistics.md``, "The way back"): the van's capacity (parcels and litres)
holds for the whole way back — what it takes at the first office rides to the hub with what
it takes at the last, and nothing is unloaded before the hub. At each call the van takes
what the office has ready by then; over the whole run, the things ready longest go first.
A thing that does not fit in the room left waits at its office for the next run; a smaller,
newer one may still fit after it (the van is never left emptier than it has to be), so the
oldest waiting thing is always the first on the next run. A thing larger than the empty van
never fits and is reported as such.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Waiting:
    """A thing ready at an office on the run: its key, since when, its room, when the van
    calls at its office."""

    key: int
    ready_at: datetime
    litres: float
    call_at: datetime


@dataclass(frozen=True)
class LegLoad:
    """What the run takes (oldest first) and what waits (oldest first; ``too_big``: those no
    empty van of the route could take)."""

    loaded: tuple[Waiting, ...]
    waiting: tuple[Waiting, ...]
    too_big: tuple[Waiting, ...]

    @property
    def litres(self) -> float:
        return sum(w.litres for w in self.loaded)


def oldest_first(things: Sequence[Waiting]) -> list[Waiting]:
    """Ready longest first; the key breaks ties."""
    return sorted(things, key=lambda w: (w.ready_at, w.key))


def load_leg(things: Sequence[Waiting], capacity_parcels: int, capacity_litres: float) -> LegLoad:
    """Fill the way back within its capacity, oldest first; things not ready when the van
    calls at their office are not on this run at all (they are not among ``waiting``)."""
    loaded: list[Waiting] = []
    waiting: list[Waiting] = []
    too_big: list[Waiting] = []
    count, litres = 0, 0.0
    for thing in oldest_first([t for t in things if t.ready_at <= t.call_at]):
        if thing.litres > capacity_litres or capacity_parcels < 1:
            too_big.append(thing)
            waiting.append(thing)
        elif count + 1 <= capacity_parcels and litres + thing.litres <= capacity_litres:
            loaded.append(thing)
            count += 1
            litres += thing.litres
        else:
            waiting.append(thing)
    return LegLoad(tuple(loaded), tuple(waiting), tuple(too_big))
