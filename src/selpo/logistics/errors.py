"""Refusals of the logistics domain."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from selpo.errors import Conflict, DomainError, InvalidInput, NotFound
from selpo.logistics.timetable import CsvProblem


class TimetableMissing(DomainError):
    """No route timetable has been generated or imported yet."""

    status_code = 503
    title = "Service unavailable"

    def __init__(self) -> None:
        super().__init__(
            "there is no route timetable yet: run `selpo timetable generate` "
            "or import the operator's routes"
        )


class OfficeNotServed(InvalidInput):
    """No route run reaches the office."""

    def __init__(self, index: str) -> None:
        super().__init__(
            f"no route of the timetable serves office {index}", field="destination_index"
        )


class UnknownWarehouse(InvalidInput):
    """A warehouse code that is not in the timetable."""

    def __init__(self, code: str, field: str = "warehouse") -> None:
        super().__init__(f"unknown warehouse {code!r}", field=field)


class UnknownHub(InvalidInput):
    """A hub code (or index) that is not a district hub."""

    def __init__(self, code: str) -> None:
        super().__init__(f"no district hub {code!r}", field="hub")


class RouteNotFound(NotFound):
    """No route has this id."""

    def __init__(self, route_id: str) -> None:
        super().__init__(f"no route {route_id!r}", field="route_id")


class RouteRunNotFound(NotFound):
    """The route does not run at that moment."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"no route run {run_id!r}: {reason}", field="run_id")


class RouteFileRefused(InvalidInput):
    """A route CSV with bad rows: every problem is listed with its line."""

    def __init__(self, problems: Sequence[CsvProblem]) -> None:
        self.problems = tuple(problems)
        shown = "; ".join(str(p) for p in self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"route file refused, nothing changed: {shown}{more}", field="file")

    def problem(self) -> dict[str, Any]:
        body = super().problem()
        body["errors"] = [{"field": f"line {p.line}", "reason": p.reason} for p in self.problems]
        return body


class RealTimetableExists(Conflict):
    """Generating would replace routes the operator loaded."""

    def __init__(self, count: int) -> None:
        super().__init__(
            f"{count} routes come from the operator; generating a synthetic timetable would "
            "replace them (use --force / replace_real to do it anyway)"
        )


class ReturnLegNotLoaded(Conflict):
    """The hub accepts a leg only once it is loaded."""

    def __init__(self, leg: str) -> None:
        super().__init__(f"the return leg of {leg} is not loaded yet", field="run_id")


class WarehouseActNotFound(NotFound):
    """No warehouse act of that number."""

    def __init__(self, number: str) -> None:
        super().__init__(f"no warehouse act {number!r}", field="number")
