"""KPIs of a simulation run: per district and for the region; CSV files and an HTML page.

The CSV files and the stored figures are data (plain numbers, a dot for decimals); the HTML
pages are rendered from Jinja templates in ``simulation/templates/`` with the figures shown
the Russian way through ``selpo.kit.display`` (Babel).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.db import session_scope
from selpo.kit.display import (
    format_number,
    format_percent,
    format_roubles,
    local_day,
)
from selpo.logistics.return_legs import load_factor
from selpo.models import (
    District,
    PostOffice,
    ReturnLeg,
    ReturnLegItem,
    Shipment,
    TrackingEvent,
    WarehouseAct,
)
from selpo.office.rules import status_ru
from selpo.simulation.service import OfficeUse, SimulationResult

REGION = "(region)"
FINAL_AT_OFFICE = {"delivered", "partially_delivered", "refused", "storage_expired"}
DELIVERED = {"delivered", "partially_delivered"}


@dataclass
class Kpi:
    """The KPIs of one district (or of the region)."""

    area: str
    orders: int = 0
    unserved: int = 0
    shipments: int = 0
    reached_office: int = 0
    promised: int = 0
    on_time: int = 0
    days: list[float] = field(default_factory=list)
    outcomes: int = 0  # parcels whose recipient outcome is known
    unclaimed: int = 0
    delivered: int = 0
    cash_kop: int = 0

    def row(self) -> list[str]:
        p50, p90 = (
            (f"{np.percentile(self.days, 50):.2f}", f"{np.percentile(self.days, 90):.2f}")
            if self.days
            else ("", "")
        )
        return [
            self.area,
            str(self.orders),
            str(self.orders - self.unserved),
            str(self.unserved),
            _share(self.unserved, self.orders),
            str(self.shipments),
            str(self.reached_office),
            _share(self.on_time, self.promised),
            p50,
            p90,
            str(self.delivered),
            _share(self.unclaimed, self.outcomes),
            str(self.cash_kop),
        ]


KPI_HEADER = [
    "area",
    "orders",
    "served",
    "unserved",
    "unserved_share",
    "shipments",
    "reached_office",
    "on_time_share",
    "days_to_deliver_p50",
    "days_to_deliver_p90",
    "delivered",
    "unclaimed_share",
    "cash_collected_kop",
]
OFFICE_HEADER = ["office_index", "district", "cells", "peak_parcels", "peak_use", "overflow"]
RETURNS_HEADER = [
    "office_index",
    "district",
    "parcels_back",
    "customer_returns",
    "partner_bags",
    "loaded",
    "waited_for_room",
    "still_waiting",
]
WAY_BACK_HEADER = [
    "return_legs",
    "legs_with_load",
    "items_loaded",
    "load_factor_mean",
    "load_factor_max",
    "items_waited_for_room",
    "max_runs_waited",
    "still_waiting",
    "delivered_to_warehouses",
    "warehouse_acts",
    "partner_bags_at_hub",
]


@dataclass
class OfficeReturns:
    """What one office sent back over the run, by kind, and what waited for room."""

    index: str
    district: str
    parcels_back: int = 0
    customer_returns: int = 0
    partner_bags: int = 0
    loaded: int = 0  # left the office on a return leg
    waited: int = 0  # left behind by at least one run for lack of room
    still_waiting: int = 0

    def row(self) -> list[str]:
        return [
            self.index,
            self.district,
            str(self.parcels_back),
            str(self.customer_returns),
            str(self.partner_bags),
            str(self.loaded),
            str(self.waited),
            str(self.still_waiting),
        ]


@dataclass
class WayBack:
    """The return legs over the run: how full the vans went back, what waited for room."""

    legs: int = 0
    legs_with_load: int = 0
    items_loaded: int = 0
    load_factors: list[float] = field(default_factory=list)  # of the legs with a load
    items_waited: int = 0
    max_runs_waited: int = 0
    still_waiting: int = 0
    delivered: int = 0
    acts: int = 0
    bags_at_hub: int = 0
    offices: list[OfficeReturns] = field(default_factory=list)

    @property
    def load_factor_mean(self) -> float | None:
        return sum(self.load_factors) / len(self.load_factors) if self.load_factors else None

    def row(self) -> list[str]:
        mean = self.load_factor_mean
        return [
            str(self.legs),
            str(self.legs_with_load),
            str(self.items_loaded),
            "" if mean is None else f"{mean:.4f}",
            f"{max(self.load_factors):.4f}" if self.load_factors else "",
            str(self.items_waited),
            str(self.max_runs_waited),
            str(self.still_waiting),
            str(self.delivered),
            str(self.acts),
            str(self.bags_at_hub),
        ]


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.4f}" if whole else ""


@dataclass
class Report:
    """The computed KPIs."""

    districts: list[Kpi]
    region: Kpi
    offices: list[OfficeUse]
    statuses: dict[str, int]
    way_back: WayBack = field(default_factory=WayBack)

    def returns_csv(self) -> str:
        return _csv(RETURNS_HEADER, [o.row() for o in self.way_back.offices])

    def way_back_summary(self) -> dict[str, str]:
        """The region's way-back figures (header -> text value)."""
        return dict(zip(WAY_BACK_HEADER, self.way_back.row(), strict=True))

    def kpi_csv(self) -> str:
        return _csv(KPI_HEADER, [k.row() for k in [*self.districts, self.region]])

    def office_rows(self) -> list[list[str]]:
        return [
            [
                u.index,
                u.district,
                str(u.cells),
                str(u.peak),
                _share(u.peak, u.cells),
                str(u.overflow),
            ]
            for u in self.offices
        ]

    def office_csv(self) -> str:
        return _csv(OFFICE_HEADER, self.office_rows())

    def stored(self) -> dict[str, Any]:
        """The figures as the ``simulation_run`` row keeps them (header -> text value)."""
        return {
            "region": dict(zip(KPI_HEADER, self.region.row(), strict=True)),
            "districts": [dict(zip(KPI_HEADER, k.row(), strict=True)) for k in self.districts],
            "offices": [dict(zip(OFFICE_HEADER, r, strict=True)) for r in self.office_rows()],
            "statuses": dict(self.statuses),
            "way_back": self.way_back_summary(),
            "returns": [
                dict(zip(RETURNS_HEADER, o.row(), strict=True)) for o in self.way_back.offices
            ],
        }

    def storage_totals(self) -> tuple[int, int]:
        """Offices that ran out of cells, and the parcels shelved with no free cell."""
        return (
            sum(1 for u in self.offices if u.overflow),
            sum(u.overflow for u in self.offices),
        )


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def compute(result: SimulationResult) -> Report:
    """The KPIs from the engine's counts and the database's shipments."""
    kpis: dict[str, Kpi] = {}

    def kpi(area: str) -> Kpi:
        return kpis.setdefault(area, Kpi(area))

    for area, count in result.totals.orders_by_district.items():
        kpi(area).orders = count
    for area, count in result.totals.unserved_by_district.items():
        kpi(area).unserved = count
    statuses: dict[str, int] = {}
    with session_scope(result.factory) as session:
        expired = set(
            session.scalars(
                select(TrackingEvent.shipment_id).where(TrackingEvent.code == "storage_expired")
            )
        )
        query = (
            select(Shipment, District.name, PostOffice.timezone)
            .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
            .join(District, PostOffice.district_id == District.id)
            .order_by(Shipment.id)
        )
        for shipment, district, zone in session.execute(query):
            statuses[shipment.status] = statuses.get(shipment.status, 0) + 1
            _count(kpi(district), shipment, zone, shipment.id in expired)
        way_back = _way_back(session)
    region = Kpi(REGION)
    for k in kpis.values():
        for name in (
            "orders",
            "unserved",
            "shipments",
            "reached_office",
            "promised",
            "on_time",
            "outcomes",
            "unclaimed",
            "delivered",
            "cash_kop",
        ):
            setattr(region, name, getattr(region, name) + getattr(k, name))
        region.days.extend(k.days)
    offices = sorted(result.use.values(), key=lambda u: u.index)
    return Report(
        [kpis[a] for a in sorted(kpis)],
        region,
        offices,
        dict(sorted(statuses.items())),
        way_back,
    )


def _way_back(session: Session) -> WayBack:
    """The return legs and what went back from each office, from the database."""
    figures = WayBack()
    for leg in session.scalars(select(ReturnLeg).order_by(ReturnLeg.id)):
        figures.legs += 1
        if leg.items:
            figures.legs_with_load += 1
            figures.load_factors.append(
                load_factor(leg.items, leg.litres, leg.capacity_parcels, leg.capacity_litres)
            )
    figures.acts = len(list(session.scalars(select(WarehouseAct.id))))
    offices: dict[int, OfficeReturns] = {}
    names = {
        o.id: (o.index, d)
        for o, d in session.execute(
            select(PostOffice, District.name).join(District, PostOffice.district_id == District.id)
        )
    }
    for item in session.scalars(select(ReturnLegItem).order_by(ReturnLegItem.id)):
        index, district = names[item.office_id]
        office = offices.setdefault(item.office_id, OfficeReturns(index, district))
        if item.kind == "shipment":
            office.parcels_back += 1
        elif item.kind == "customer_return":
            office.customer_returns += 1
        else:
            office.partner_bags += 1
        if item.status == "waiting":
            office.still_waiting += 1
            figures.still_waiting += 1
        else:
            office.loaded += 1
            figures.items_loaded += 1
        if item.runs_waited:
            office.waited += 1
            figures.items_waited += 1
            figures.max_runs_waited = max(figures.max_runs_waited, item.runs_waited)
        if item.status == "delivered":
            figures.delivered += 1
        if item.status == "at_hub" and item.kind == "partner_bag":
            figures.bags_at_hub += 1
    figures.offices = sorted(offices.values(), key=lambda o: o.index)
    return figures


def _count(k: Kpi, shipment: Shipment, zone: str, expired: bool) -> None:
    k.shipments += 1
    k.cash_kop += shipment.cod_collected_kop
    if shipment.ready_at is None:
        return
    k.reached_office += 1
    k.days.append((shipment.ready_at - shipment.created_at).total_seconds() / 86_400)
    if shipment.promised_date is not None:
        k.promised += 1
        if local_day(shipment.ready_at, zone) <= shipment.promised_date:
            k.on_time += 1
    if shipment.status in DELIVERED:
        k.delivered += 1
    if expired or shipment.status in FINAL_AT_OFFICE or shipment.finished_at is not None:
        k.outcomes += 1
        k.unclaimed += int(expired)


# ---------------------------------------------------------------------------- writing


def write(report: Report, directory: Path, *, title: str) -> list[Path]:
    """Write ``kpi.csv``, ``offices.csv``, ``returns.csv`` and ``index.html`` into
    ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [
        directory / "kpi.csv",
        directory / "offices.csv",
        directory / "returns.csv",
        directory / "index.html",
    ]
    paths[0].write_text(report.kpi_csv(), encoding="utf-8")
    paths[1].write_text(report.office_csv(), encoding="utf-8")
    paths[2].write_text(report.returns_csv(), encoding="utf-8")
    paths[3].write_text(render_html(report, title=title), encoding="utf-8")
    return paths


_PAGES = Environment(
    loader=PackageLoader("selpo.simulation", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_PAGES.filters.update(
    number=format_number, percent=format_percent, roubles=format_roubles, status=status_ru
)


@dataclass(frozen=True)
class Bar:
    """One bar of a chart: its label and value, and where it is drawn."""

    label: str
    value: float
    y: int
    width: float


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart (inline SVG, values 0..max) as the template draws it."""

    bars: list[Bar]
    width: int
    height: int
    label_width: int
    row: int


def _chart(values: Sequence[tuple[str, float]], *, width: int = 640) -> Chart:
    top = max((v for _, v in values), default=0.0) or 1.0
    row, label_w = 18, 220
    bars = [
        Bar(label, value, i * row + 2, (width - label_w - 80) * value / top)
        for i, (label, value) in enumerate(values)
    ]
    return Chart(bars, width, row * len(values) + 4, label_w, row)


@dataclass(frozen=True)
class KpiView:
    """A district's (or the region's) figures as the page shows them (``None``: no data)."""

    area: str
    orders: int
    served: int
    unserved: int
    unserved_share: float | None
    shipments: int
    reached_office: int
    on_time_share: float | None
    days_p50: float | None
    days_p90: float | None
    delivered: int
    unclaimed_share: float | None
    cash_kop: int

    @classmethod
    def of(cls, k: Kpi) -> KpiView:
        p50, p90 = (
            (float(np.percentile(k.days, 50)), float(np.percentile(k.days, 90)))
            if k.days
            else (None, None)
        )
        return cls(
            area="Весь регион" if k.area == REGION else k.area,
            orders=k.orders,
            served=k.orders - k.unserved,
            unserved=k.unserved,
            unserved_share=_ratio(k.unserved, k.orders),
            shipments=k.shipments,
            reached_office=k.reached_office,
            on_time_share=_ratio(k.on_time, k.promised),
            days_p50=p50,
            days_p90=p90,
            delivered=k.delivered,
            unclaimed_share=_ratio(k.unclaimed, k.outcomes),
            cash_kop=k.cash_kop,
        )


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def render_html(report: Report, *, title: str) -> str:
    """A self-contained page: the KPI table and two charts (no scripts, no CDN)."""
    on_time = [(k.area, 100 * k.on_time / k.promised) for k in report.districts if k.promised]
    busiest = sorted(report.offices, key=lambda u: (-u.peak / max(u.cells, 1), u.index))[:20]
    use = [(f"{u.index} {u.district}", 100 * u.peak / max(u.cells, 1)) for u in busiest]
    return _PAGES.get_template("report.html").render(
        title=title,
        statuses=report.statuses,
        kpis=[KpiView.of(k) for k in [*report.districts, report.region]],
        on_time=_chart(on_time),
        storage=_chart(use),
        way_back=report.way_back,
        returns=sorted(
            report.way_back.offices,
            key=lambda o: (-(o.parcels_back + o.customer_returns + o.partner_bags), o.index),
        )[:30],
    )


def summary_line(report: Report, started: datetime, finished: datetime) -> str:
    """One line for the terminal."""
    r = report.region

    def share(part: int, whole: int) -> str:
        return format_percent(part / whole) if whole else "-"

    return (
        f"orders {format_number(r.orders)}, unserved {format_number(r.unserved)}, "
        f"reached office {format_number(r.reached_office)}, "
        f"on time {share(r.on_time, r.promised)}, unclaimed {share(r.unclaimed, r.outcomes)}, "
        f"cash {format_roubles(r.cash_kop)}, "
        f"way back {format_number(report.way_back.items_loaded)} loaded on "
        f"{format_number(report.way_back.legs_with_load)} legs, "
        f"{format_number(report.way_back.items_waited)} waited for room "
        f"({format_number((finished - started).total_seconds(), 1)} s)"
    )


# ---------------------------------------------------------------------------- comparison

COMPARISON_HEADER = ["figure", "unit"]
# (figure, unit, how to read it from a Report)
_COMPARED: list[tuple[str, str, str]] = [
    ("orders", "orders", "orders"),
    ("served", "orders", "served"),
    ("unserved", "orders", "unserved"),
    ("unserved_share", "share", "unserved_share"),
    ("reached_office", "parcels", "reached_office"),
    ("on_time_share", "share", "on_time_share"),
    ("days_to_deliver_p50", "days", "days_to_deliver_p50"),
    ("days_to_deliver_p90", "days", "days_to_deliver_p90"),
    ("delivered", "parcels", "delivered"),
    ("unclaimed_share", "share", "unclaimed_share"),
    ("cash_collected_kop", "kopecks", "cash_collected_kop"),
]


@dataclass(frozen=True)
class Scenario:
    """One side of a comparison: its label, how many offices serve, its report."""

    label: str
    connected_offices: int
    report: Report


def comparison_rows(scenarios: Sequence[Scenario]) -> list[list[str]]:
    """One row per figure: its value in every scenario, then last minus first."""
    regions = [dict(zip(KPI_HEADER, s.report.region.row(), strict=True)) for s in scenarios]
    rows = [
        ["connected_offices", "offices", *(str(s.connected_offices) for s in scenarios)],
    ]
    for figure, unit, key in _COMPARED:
        rows.append([figure, unit, *(r[key] for r in regions)])
    totals = [s.report.storage_totals() for s in scenarios]
    rows.append(["offices_overflowing", "offices", *(str(t[0]) for t in totals)])
    rows.append(["parcels_without_cell", "parcels", *(str(t[1]) for t in totals)])
    for row in rows:
        row.append(_difference(row[2], row[-1]))
    return rows


def _difference(first: str, last: str) -> str:
    if not first or not last:
        return ""
    if "." in first or "." in last:
        return f"{float(last) - float(first):+.4f}"
    return f"{int(last) - int(first):+d}"


_UNITS_RU = {
    "offices": "отделений",
    "orders": "заказов",
    "share": "доля",
    "parcels": "посылок",
    "days": "дней",
    "kopecks": "₽",
}


def _shown(row: Sequence[str]) -> tuple[str, str, list[str]]:
    """A comparison row as the page shows it: figure, unit, each value, the difference."""
    figure, unit, *values = row

    def show(text: str, signed: bool) -> str:
        if not text:
            return "—"
        value = float(text)
        sign = "+" if signed and value > 0 else ""
        if unit == "share":
            return sign + format_percent(value)
        if unit == "kopecks":
            return sign + format_roubles(int(value))
        return sign + format_number(value, 2 if unit == "days" else 0)

    shown = [show(v, signed=False) for v in values[:-1]] + [show(values[-1], signed=True)]
    return figure, _UNITS_RU.get(unit, unit), shown


def comparison_csv(scenarios: Sequence[Scenario]) -> str:
    header = [*COMPARISON_HEADER, *(s.label for s in scenarios), "difference"]
    return _csv(header, comparison_rows(scenarios))


def write_comparison(scenarios: Sequence[Scenario], directory: Path, *, title: str) -> list[Path]:
    """``comparison.csv`` and ``index.html`` (the table, links to each scenario's report)."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = directory / "comparison.csv", directory / "index.html"
    csv_path.write_text(comparison_csv(scenarios), encoding="utf-8")
    html_path.write_text(
        _PAGES.get_template("comparison.html").render(
            title=title,
            labels=[s.label for s in scenarios],
            rows=[_shown(row) for row in comparison_rows(scenarios)],
            links=[(scenario_folder(n), s.label) for n, s in enumerate(scenarios, start=1)],
        ),
        encoding="utf-8",
    )
    return [csv_path, html_path]


def scenario_folder(number: int) -> str:
    """The sub-folder of a comparison's report holding scenario ``number`` (1-based)."""
    return f"scenario-{number}"
