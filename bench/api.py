"""Benchmark of the integrator's API path: 1,000 shipments in batches, the hand-over act, the
500-label PDF — and the raw database insert rate of the same rows, on SQLite and PostgreSQL.

Run from the repository root::

    .venv/bin/python bench/api.py [--backend sqlite|postgresql|both] [--shipments N]
        [--batch-size N] [--postgres-url URL]

Each backend gets a fresh database (``bench/shipments.py``'s set-up: the bundled region, a
bench marketplace serving every open office) and the real application under uvicorn on
127.0.0.1. The shipments go through ``POST /v1/shipments/batch`` with three places each when
the server's OpenAPI offers ``places`` (single-place otherwise); then the act
(``POST /v1/handovers`` and its PDF, when the server has them) and ``POST /v1/labels`` of 500
of them, A6 and A4: time and size. The same rows then go straight into the tables with
SQLAlchemy Core executemany (shipment, shipment_item, tracking_event, and shipment_place when
the schema has it), in the same batch sizes, with no application: the ceiling. The batch's
rate is printed as a share of it (the issue's aim: 25 %; the 500-label PDF under 5 s).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy
from rich.console import Console
from rich.table import Table
from sqlalchemy import MetaData, insert
from sqlalchemy import Table as SqlTable

# Run as a script, only bench/ is on sys.path; the repository root makes bench/ importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shipments import (
    DEFAULT_POSTGRES_URL,
    EVENT_TABLE,
    ITEM_TABLE,
    SHIPMENT_TABLE,
    Database,
    Fixture,
    Orders,
    RawNumbers,
    http_server,
    postgres_database,
    raw_rows,
    set_up,
    sqlite_database,
    validate,
)

PLACES = 3
LABELS = 500
RAW_SHARE_AIM = 0.25
LABELS_AIM_S = 5.0
RAW_INDEX = "699101"  # an accepting index no office has: the raw rows' tracking numbers


@dataclass
class Figures:
    """What one backend measured."""

    backend: str
    places: bool
    shipments: int
    batch_size: int
    http_s: float
    raw_s: float
    raw_places: bool
    act: str
    labels: list[tuple[str, float, int]]

    @property
    def share(self) -> float:
        return self.raw_s / self.http_s if self.http_s else 0.0


def server_has(client: httpx.Client) -> tuple[bool, bool]:
    """Whether the server's OpenAPI offers ``places`` on a new shipment, and hand-over acts."""
    spec = client.get("/openapi.json").json()
    create = spec["components"]["schemas"].get("ShipmentCreate", {})
    return "places" in create.get("properties", {}), "/v1/handovers" in spec["paths"]


def with_places(body: dict[str, Any]) -> dict[str, Any]:
    """The shipment as three places: their weights sum to the parcel's, the first is the
    largest box; the order-level weight and sizes are left to the server."""
    parcel = body["parcel"]
    weight = int(parcel["weight_g"])
    shares = [weight - 2 * (weight // 4), weight // 4, weight // 4]
    places = [
        {
            "weight_g": max(1, share),
            "length_mm": int(parcel["length_mm"]) - 20 * n,
            "width_mm": int(parcel["width_mm"]) - 10 * n,
            "height_mm": int(parcel["height_mm"]),
            "external_place_id": f"{body['external_order_id']}-{n + 1}",
        }
        for n, share in enumerate(shares)
    ]
    sent = copy.deepcopy(body)
    sent["parcel"] = {
        "declared_value_kop": parcel["declared_value_kop"],
        "cod_kop": parcel["cod_kop"],
    }
    sent["places"] = places
    return sent


def create_over_http(
    client: httpx.Client, payloads: list[dict[str, Any]], batch_size: int
) -> tuple[float, list[str]]:
    """POST the payloads in batches; seconds spent and the tracking numbers created."""
    numbers: list[str] = []
    started = time.perf_counter()
    for start in range(0, len(payloads), batch_size):
        batch = payloads[start : start + batch_size]
        answer = client.post(
            "/v1/shipments/batch", json=batch, headers={"Idempotency-Key": f"bench-{start}"}
        )
        answer.raise_for_status()
        results = answer.json()["results"]
        failed = [r["error"] for r in results if r["status_code"] != 201]
        if failed:
            raise RuntimeError(f"{len(failed)} shipments refused, e.g. {failed[0]}")
        numbers += [r["shipment"]["tracking_number"] for r in results]
    return time.perf_counter() - started, numbers


def place_table(db: Database) -> SqlTable | None:
    """The ``shipment_place`` table as the database has it, if the schema has one."""
    if "shipment_place" not in sqlalchemy.inspect(db.engine).get_table_names():
        return None
    return SqlTable("shipment_place", MetaData(), autoload_with=db.engine)


def place_rows(
    table: SqlTable, shipment_id: int, first: str, more: list[str], parcel: dict[str, Any]
) -> list[dict[str, Any]]:
    """Three place rows of a shipment, the columns the table has filled as the contract says."""
    now = datetime.now(UTC)
    rows = []
    for n, number in enumerate([first, *more], start=1):
        values: dict[str, Any] = {
            "shipment_id": shipment_id,
            "number": n,
            "position": n,
            "tracking_number": number,
            "weight_g": max(1, int(parcel["weight_g"]) // PLACES),
            "length_mm": parcel["length_mm"],
            "width_mm": parcel["width_mm"],
            "height_mm": parcel["height_mm"],
            "external_place_id": f"P-{n}",
            "status": "created",
            "arrived_at": None,
            "created_at": now,
            "updated_at": now,
        }
        rows.append({k: v for k, v in values.items() if k in table.c})
    return rows


def insert_raw(
    db: Database, fixture: Fixture, payloads: list[dict[str, Any]], batch_size: int
) -> tuple[float, bool]:
    """The same rows through SQLAlchemy Core executemany, batch by batch: seconds, and whether
    place rows went in too."""
    places = place_table(db)
    numbers = RawNumbers(RAW_INDEX)
    spent = 0.0
    for start in range(0, len(payloads), batch_size):
        batch = payloads[start : start + batch_size]
        shipments_in = validate(batch)
        rows = raw_rows(shipments_in, numbers.take(len(batch)), fixture, db.is_sqlite)
        extra = numbers.take(len(batch) * (PLACES - 1)) if places is not None else []
        started = time.perf_counter()
        with db.engine.begin() as connection:
            statement = insert(SHIPMENT_TABLE).returning(
                SHIPMENT_TABLE.c.id, sort_by_parameter_order=True
            )
            ids = list(connection.scalars(statement, rows.shipments))
            connection.execute(
                insert(ITEM_TABLE),
                [
                    {"shipment_id": sid, **item}
                    for sid, lines in zip(ids, rows.items, strict=True)
                    for item in lines
                ],
            )
            connection.execute(
                insert(EVENT_TABLE),
                [{"shipment_id": sid, **e} for sid, e in zip(ids, rows.events, strict=True)],
            )
            if places is not None:
                connection.execute(
                    insert(places),
                    [
                        row
                        for n, (sid, shipment) in enumerate(zip(ids, rows.shipments, strict=True))
                        for row in place_rows(
                            places,
                            sid,
                            shipment["tracking_number"],
                            extra[n * (PLACES - 1) : (n + 1) * (PLACES - 1)],
                            batch[n]["parcel"],
                        )
                    ],
                )
        spent += time.perf_counter() - started
    return spent, places is not None


def make_act(client: httpx.Client, numbers: list[str]) -> str:
    """The hand-over act of the shipments and its PDF: time and size (or why not)."""
    warehouses = client.get("/v1/warehouses").json()
    default = next((w for w in warehouses if w["is_default"]), warehouses[0])
    started = time.perf_counter()
    answer = client.post(
        "/v1/handovers",
        json={"warehouse": default["code"], "tracking_numbers": numbers},
        headers={"Idempotency-Key": "bench-act"},
    )
    made = time.perf_counter() - started
    if answer.status_code != 201:
        return f"refused: {answer.status_code} {answer.text[:200]}"
    act = answer.json()
    started = time.perf_counter()
    pdf = client.get(f"/v1/handovers/{act['id']}/pdf")
    pdf.raise_for_status()
    printed = time.perf_counter() - started
    return (
        f"{act['count']} shipments, {act['places']} places: made in {made:.2f} s; "
        f"PDF {printed:.2f} s, {len(pdf.content) / 1024:.0f} KiB"
    )


def print_labels(client: httpx.Client, numbers: list[str]) -> list[tuple[str, float, int]]:
    """``POST /v1/labels`` of the first 500, A6 and A4: seconds and bytes of each."""
    measured = []
    for label_format in ("a6", "a4"):
        started = time.perf_counter()
        answer = client.post(
            "/v1/labels", json={"tracking_numbers": numbers[:LABELS], "format": label_format}
        )
        answer.raise_for_status()
        if not answer.content.startswith(b"%PDF"):
            raise RuntimeError("the labels are not a PDF")
        measured.append((label_format, time.perf_counter() - started, len(answer.content)))
    return measured


def run_backend(db: Database, count: int, batch_size: int, log: Path) -> Figures:
    fixture = set_up(db)
    payloads = Orders(fixture).payloads("API", count)
    with http_server(db.url, log) as client:
        client.headers["Authorization"] = f"Bearer {fixture.secret}"
        places, acts = server_has(client)
        sent = [with_places(p) for p in payloads] if places else payloads
        http_s, numbers = create_over_http(client, sent, batch_size)
        act = make_act(client, numbers) if acts else "not on this server (no /v1/handovers)"
        labels = print_labels(client, numbers)
    # The same rows again, under other order ids (an order id is unique per marketplace).
    again = [{**p, "external_order_id": f"RAW-{p['external_order_id']}"} for p in payloads]
    raw_s, raw_places = insert_raw(db, fixture, again, batch_size)
    return Figures(db.name, places, count, batch_size, http_s, raw_s, raw_places, act, labels)


def report(console: Console, figures: Figures) -> None:
    table = Table(title=f"{figures.backend}: the integrator's path", show_lines=False)
    for column in ("measure", "figure", "aim"):
        table.add_column(column)
    shape = f"{PLACES} places each" if figures.places else "single place (no `places` yet)"
    rate = figures.shipments / figures.http_s
    raw_rate = figures.shipments / figures.raw_s
    table.add_row(
        f"{figures.shipments:,} shipments over HTTP, batches of {figures.batch_size} ({shape})",
        f"{figures.http_s:.2f} s, {rate:,.0f}/s",
        "",
    )
    raw_what = "shipment + items + event" + (" + places" if figures.raw_places else "")
    table.add_row(
        f"the same rows, Core executemany ({raw_what})",
        f"{figures.raw_s:.2f} s, {raw_rate:,.0f}/s",
        "",
    )
    table.add_row(
        "HTTP batch / raw insert rate",
        f"{100 * figures.share:.0f} %",
        f"≥ {100 * RAW_SHARE_AIM:.0f} %",
    )
    table.add_row("hand-over act", figures.act, "")
    for label_format, seconds, size in figures.labels:
        table.add_row(
            f"{LABELS} labels, {label_format.upper()} PDF",
            f"{seconds:.2f} s, {size / 1024 / 1024:.1f} MiB",
            f"< {LABELS_AIM_S:.0f} s",
        )
    console.print(table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--backend", choices=("sqlite", "postgresql", "both"), default="both", help="which ones"
    )
    parser.add_argument("--shipments", type=int, default=1000, help="how many to create")
    parser.add_argument("--batch-size", type=int, default=250, help="shipments per batch")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_POSTGRES_URL, help="server URL (any database on it)"
    )
    args = parser.parse_args(argv)
    if args.shipments < LABELS:
        parser.error(f"--shipments must be at least {LABELS} (the labels take {LABELS})")
    console = Console(width=160)
    slow = []
    with tempfile.TemporaryDirectory(prefix="selpo-bench-api-") as logs:
        log = Path(logs) / "server.log"
        if args.backend in ("sqlite", "both"):
            with sqlite_database() as db:
                figures = run_backend(db, args.shipments, args.batch_size, log)
                report(console, figures)
                slow += [f for f in figures.labels if f[1] >= LABELS_AIM_S]
        if args.backend in ("postgresql", "both"):
            try:
                with postgres_database(args.postgres_url) as db:
                    figures = run_backend(db, args.shipments, args.batch_size, log)
                    report(console, figures)
                    slow += [f for f in figures.labels if f[1] >= LABELS_AIM_S]
            except sqlalchemy.exc.OperationalError as exc:
                console.print(f"PostgreSQL skipped: {exc.orig}", highlight=False)
    for label_format, seconds, _ in slow:
        console.print(f"note: the {label_format} labels took {seconds:.1f} s", highlight=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
