"""KPIs of a simulation run: per district and for the region; CSV files and an HTML page."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import select

from selpo.db import session_scope
from selpo.models import District, PostOffice, Shipment, TrackingEvent
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


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.4f}" if whole else ""


@dataclass
class Report:
    """The computed KPIs."""

    districts: list[Kpi]
    region: Kpi
    offices: list[OfficeUse]
    statuses: dict[str, int]

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
    return Report([kpis[a] for a in sorted(kpis)], region, offices, dict(sorted(statuses.items())))


def _count(k: Kpi, shipment: Shipment, zone: str, expired: bool) -> None:
    k.shipments += 1
    k.cash_kop += shipment.cod_collected_kop
    if shipment.ready_at is None:
        return
    k.reached_office += 1
    k.days.append((shipment.ready_at - shipment.created_at).total_seconds() / 86_400)
    if shipment.promised_date is not None:
        k.promised += 1
        if shipment.ready_at.astimezone(ZoneInfo(zone)).date() <= shipment.promised_date:
            k.on_time += 1
    if shipment.status in DELIVERED:
        k.delivered += 1
    if expired or shipment.status in FINAL_AT_OFFICE or shipment.finished_at is not None:
        k.outcomes += 1
        k.unclaimed += int(expired)


# ---------------------------------------------------------------------------- writing


def write(report: Report, directory: Path, *, title: str) -> list[Path]:
    """Write ``kpi.csv``, ``offices.csv`` and ``index.html`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "kpi.csv", directory / "offices.csv", directory / "index.html"]
    paths[0].write_text(report.kpi_csv(), encoding="utf-8")
    paths[1].write_text(report.office_csv(), encoding="utf-8")
    paths[2].write_text(render_html(report, title=title), encoding="utf-8")
    return paths


def _bars(values: Sequence[tuple[str, float]], *, unit: str, width: int = 640) -> str:
    """A horizontal bar chart as inline SVG (values 0..max)."""
    top = max((v for _, v in values), default=0.0) or 1.0
    row, label_w = 18, 220
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{row * len(values) + 4}" role="img">'
    ]
    for i, (label, value) in enumerate(values):
        y = i * row + 2
        bar = (width - label_w - 80) * value / top
        parts.append(
            f'<text x="0" y="{y + 13}" font-size="12">{html.escape(label)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{bar:.1f}" height="{row - 4}" fill="#3a6ea5"/>'
            f'<text x="{label_w + bar + 4:.1f}" y="{y + 13}" font-size="12">'
            f"{value:.2f}{unit}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_html(report: Report, *, title: str) -> str:
    """A self-contained page: the KPI table and two charts (no scripts, no CDN)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in KPI_HEADER)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in k.row()) + "</tr>"
        for k in [*report.districts, report.region]
    )
    on_time = [(k.area, 100 * k.on_time / k.promised) for k in report.districts if k.promised]
    busiest = sorted(report.offices, key=lambda u: (-u.peak / max(u.cells, 1), u.index))[:20]
    use = [(f"{u.index} {u.district}", 100 * u.peak / max(u.cells, 1)) for u in busiest]
    statuses = ", ".join(f"{html.escape(s)}: {n}" for s, n in report.statuses.items())
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Synthetic demand (see docs/simulation.md). "
        f"Final statuses: {statuses}</p>"
        f"<h2>KPIs per district</h2><table><tr>{head}</tr>{body}</table>"
        f"<h2>On-time share per district</h2>{_bars(on_time, unit='%')}"
        f"<h2>Peak storage use, 20 busiest offices</h2>{_bars(use, unit='%')}"
        "</body></html>\n"
    )


def summary_line(report: Report, started: datetime, finished: datetime) -> str:
    """One line for the terminal."""
    r = report.region
    return (
        f"orders {r.orders}, unserved {r.unserved}, reached office {r.reached_office}, "
        f"on time {_share(r.on_time, r.promised) or '-'}, unclaimed "
        f"{_share(r.unclaimed, r.outcomes) or '-'}, cash {r.cash_kop / 100:.2f} RUB "
        f"({(finished - started).total_seconds():.1f} s)"
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


def comparison_csv(scenarios: Sequence[Scenario]) -> str:
    header = [*COMPARISON_HEADER, *(s.label for s in scenarios), "difference"]
    return _csv(header, comparison_rows(scenarios))


def write_comparison(scenarios: Sequence[Scenario], directory: Path, *, title: str) -> list[Path]:
    """``comparison.csv`` and ``index.html`` (the table, links to each scenario's report)."""
    directory.mkdir(parents=True, exist_ok=True)
    csv_path, html_path = directory / "comparison.csv", directory / "index.html"
    csv_path.write_text(comparison_csv(scenarios), encoding="utf-8")
    head = "".join(
        f"<th>{html.escape(h)}</th>"
        for h in [*COMPARISON_HEADER, *(s.label for s in scenarios), "difference"]
    )
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
        for row in comparison_rows(scenarios)
    )
    links = "".join(
        f'<li><a href="{html.escape(scenario_folder(n))}/index.html">'
        f"{html.escape(s.label)}</a></li>"
        for n, s in enumerate(scenarios, start=1)
    )
    html_path.write_text(
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>Synthetic demand (see docs/simulation.md), the same "
        f"seed in every scenario.</p><table><tr>{head}</tr>{body}</table>"
        f"<h2>Each scenario</h2><ul>{links}</ul></body></html>\n",
        encoding="utf-8",
    )
    return [csv_path, html_path]


def scenario_folder(number: int) -> str:
    """The sub-folder of a comparison's report holding scenario ``number`` (1-based)."""
    return f"scenario-{number}"
