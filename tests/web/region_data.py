"""Rows the regional dashboard shows that other tools write: a stored connect plan and stored
simulation runs (written directly, as ``selpo plan`` and ``selpo simulate`` would)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from selpo.models import MarketplaceConnection, Plan, PlanRegion, PostOffice, Region, SimulationRun
from selpo.simulation.report import KPI_HEADER


def unconnected_offices(session: Session, count: int) -> list[PostOffice]:
    """Open offices serving no marketplace, by index."""
    connected = select(MarketplaceConnection.post_office_id).where(
        MarketplaceConnection.status == "active"
    )
    query = (
        select(PostOffice)
        .where(PostOffice.status == "open", PostOffice.id.not_in(connected))
        .order_by(PostOffice.index)
        .limit(count)
    )
    return list(session.scalars(query))


def _region_id(session: Session, code: str = "37") -> int:
    """The bundled region's id: stored plans and runs belong to a region."""
    found = session.scalar(select(Region.id).where(Region.code == code))
    assert found is not None, f"region {code} is not loaded"
    return found


def add_plan(
    session: Session,
    indexes: list[str],
    *,
    now: datetime,
    name: str = "Сто тринадцать",
    radius_km: float = 8.0,
    kind: str = "connect",
) -> Plan:
    """A stored maximal-covering plan choosing these offices."""
    chosen = [
        {"index": i, "name": "", "newly_covered": 100.0, "exclusive": 50.0, "cost_rub": None}
        for i in indexes
    ]
    plan = Plan(
        region_id=_region_id(session),
        name=name,
        kind=kind,
        marketplace_code="OZON",
        parameters={"name": name, "kind": kind, "add": len(indexes), "radius_km": radius_km},
        status="optimal",
        objective=700_000.0,
        bound=700_000.0,
        gap=0.0,
        covered_before=500_000.0,
        covered_after=700_000.0,
        total_population=927_828.0,
        seconds=0.1,
        result={
            "kind": kind,
            "chosen": chosen,
            "parameters": {"add": len(indexes), "radius_km": radius_km},
        },
        created_at=now,
    )
    session.add(plan)
    session.flush()
    if plan.region_id is not None:  # as the planning service stores it: the region it covers
        session.add(PlanRegion(plan_id=plan.id, region_id=plan.region_id))
        session.flush()
    return plan


def _row(area: str, **values: Any) -> dict[str, str]:
    row = dict.fromkeys(KPI_HEADER, "")
    row["area"] = area
    row.update({k: str(v) for k, v in values.items()})
    return row


def add_run(
    session: Session,
    *,
    label: str,
    connected: int,
    now: datetime,
    comparison: str | None = None,
    kind: str = "scenario",
    orders: int = 1000,
    unserved: int = 300,
    on_time: str = "0.9500",
    cash: int = 1_500_000,
    plan_id: int | None = None,
    overflow: int = 0,
) -> SimulationRun:
    """A stored simulation run: the region, two districts and three offices."""
    served = orders - unserved
    region = _row(
        "(region)",
        orders=orders,
        served=served,
        unserved=unserved,
        unserved_share=f"{unserved / orders:.4f}",
        shipments=served,
        reached_office=served - 10,
        on_time_share=on_time,
        days_to_deliver_p50="1.10",
        days_to_deliver_p90="2.00",
        delivered=served - 40,
        unclaimed_share="0.0340",
        cash_collected_kop=cash,
    )
    districts = [
        _row(
            "Пестяковский район",
            orders=orders // 10,
            served=orders // 10 - 20,
            unserved=20,
            unserved_share=f"{20 / (orders // 10):.4f}",
            reached_office=orders // 10 - 25,
            on_time_share="1.0000",
            delivered=orders // 10 - 30,
            unclaimed_share="0.0200",
            cash_collected_kop=cash // 10,
        ),
        _row(
            "городской округ Иваново",
            orders=orders // 2,
            served=orders // 2,
            unserved=0,
            unserved_share="0.0000",
            reached_office=orders // 2 - 5,
            on_time_share="0.9000",
            delivered=orders // 2 - 10,
            unclaimed_share="0.0400",
            cash_collected_kop=cash // 2,
        ),
    ]
    offices = [
        {
            "office_index": "153000",
            "district": "городской округ Иваново",
            "cells": "115",
            "peak_parcels": str(115 + overflow),
            "peak_use": f"{(115 + overflow) / 115:.4f}",
            "overflow": str(overflow),
        },
        {
            "office_index": "155650",
            "district": "Пестяковский район",
            "cells": "60",
            "peak_parcels": "12",
            "peak_use": "0.2000",
            "overflow": "0",
        },
        {
            "office_index": "155654",
            "district": "Пестяковский район",
            "cells": "30",
            "peak_parcels": "3",
            "peak_use": "0.1000",
            "overflow": "0",
        },
    ]
    run = SimulationRun(
        region_id=_region_id(session),
        kind=kind,
        label=label,
        comparison=comparison,
        plan_id=plan_id,
        seed=1,
        days=30,
        scale=0.1,
        start=date(2026, 11, 2),
        connected_offices=connected,
        region=region,
        districts=districts,
        offices=offices,
        statuses={"delivered": served - 40, "returned": 30},
        seconds=61.5,
        created_at=now,
    )
    session.add(run)
    session.flush()
    return run


def add_comparison(session: Session, *, now: datetime, plan_id: int | None = None) -> None:
    """Today's 19 offices against a plan adding 113, side by side."""
    add_run(
        session,
        label="Сегодня: 19 отделений",
        connected=19,
        now=now,
        comparison="plan-3",
        overflow=1172,
    )
    add_run(
        session,
        label="План №3: +113",
        connected=132,
        now=now,
        comparison="plan-3",
        unserved=50,
        on_time="0.9700",
        cash=1_900_000,
        plan_id=plan_id,
    )
