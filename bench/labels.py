"""Benchmark of labels in bulk: 500 labels in one PDF, ``a6`` and ``a4``.

Run from the repository root::

    .venv/bin/python bench/labels.py [--count 500] [--rounds 5] [--no-http]

Kernel: ``render_labels`` on ``count`` labels (Cyrillic office names and addresses, COD on
half), each format ``rounds`` times; the baseline in the same run is today's way of getting
them, ``render_label`` once per shipment (``count`` separate PDFs). HTTP: a fresh SQLite
database (the bundled region imported, ``count`` shipments of a bench marketplace), the real
application under uvicorn on 127.0.0.1, and ``POST /v1/labels`` timed from the client (the
lookups, the drawing and the transfer), each format ``rounds`` times. Prints each run's time,
the median, the PDF's size and page count; a wrong page count makes the exit status 1.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import reportlab

from selpo.db import session_scope
from selpo.shipment import service
from selpo.shipment.label import Label, LabelFormat, render_label, render_labels
from selpo.shipment.tracking import make_tracking_number

# Run as a script, only bench/ is on sys.path; the repository root makes tests/ importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.shipments import http_server, payload, set_up, sqlite_database, validate

FORMATS: tuple[LabelFormat, ...] = ("a6", "a4")


def labels(count: int) -> list[Label]:
    """``count`` labels that look like real ones (long Cyrillic names, COD on half)."""
    return [
        Label(
            tracking_number=make_tracking_number("153950", "26", i + 1),
            office_index=f"{155000 + i % 900}",
            office_name=f"Отделение почтовой связи Пестяки {i}",
            office_address=f"Ивановская обл., Пестяковский р-н, пгт Пестяки, ул. Ленина, д. {i}",
            recipient_masked="И****** М. П.",
            marketplace_name="Озон",
            external_order_id=f"ORD-{i:08d}",
            weight_g=800 + i % 400,
            cod_kop=150000 if i % 2 else 0,
        )
        for i in range(count)
    ]


def pages(pdf: bytes) -> int:
    """Page objects in a PDF (reportlab writes no object streams, so they are plain text)."""
    return pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page ")


def timed(run: Callable[[], bytes], rounds: int) -> tuple[list[float], bytes]:
    times, pdf = [], b""
    for _ in range(rounds):
        start = time.perf_counter()
        pdf = run()
        times.append(time.perf_counter() - start)
    return times, pdf


def line(name: str, times: list[float], size: int, page_count: int) -> str:
    each = " / ".join(f"{t:.2f}" for t in times)
    return (
        f"{name:<28} median {statistics.median(times):6.2f} s  (runs {each})  "
        f"{size / 1024:8.0f} KiB  {page_count:4d} pages"
    )


def expected_pages(count: int, label_format: LabelFormat) -> int:
    return count if label_format == "a6" else -(-count // 4)


def bench_kernel(count: int, rounds: int, failures: list[str]) -> None:
    print(f"Kernel: render_labels, {count} labels")
    batch = labels(count)
    for label_format in FORMATS:
        times, pdf = timed(partial(render_labels, batch, label_format), rounds)
        print(line(f"  {label_format}", times, len(pdf), pages(pdf)))
        if pages(pdf) != expected_pages(count, label_format):
            failures.append(f"kernel {label_format}: {pages(pdf)} pages")
    times, _ = timed(lambda: b"".join(render_label(label) for label in batch), rounds)
    one = render_label(batch[0])
    print(line(f"  baseline: {count} × render_label", times, len(one) * count, count))


def bench_http(count: int, rounds: int, failures: list[str]) -> None:
    print(f"HTTP: POST /v1/labels, {count} shipments, SQLite, uvicorn on 127.0.0.1")
    with sqlite_database() as db:
        fixture = set_up(db)
        destinations = fixture.destinations
        bodies = [
            payload(f"LBL-{i:06d}", destinations[i % len(destinations)], i) for i in range(count)
        ]
        with session_scope(db.factory) as session:
            outcomes = service.create_shipments(
                session,
                marketplace=fixture.marketplace,
                shipments_in=validate(bodies),
                now=datetime.now(UTC),
            )
        numbers = [o.shipment.tracking_number for o in outcomes if o.shipment is not None]
        assert len(numbers) == count, "every bench shipment is created"
        log = Path(tempfile.gettempdir()) / "selpo-bench-labels-server.log"
        headers = {"Authorization": f"Bearer {fixture.secret}"}
        with http_server(db.url, log) as client:
            for label_format in FORMATS:

                def post(f: LabelFormat = label_format) -> bytes:
                    body = {"tracking_numbers": numbers, "format": f}
                    response = client.post("/v1/labels", json=body, headers=headers)
                    response.raise_for_status()
                    return response.content

                post()  # warm: the font's first registration, the connection
                times, pdf = timed(post, rounds)
                print(line(f"  {label_format}", times, len(pdf), pages(pdf)))
                if pages(pdf) != expected_pages(count, label_format):
                    failures.append(f"http {label_format}: {pages(pdf)} pages")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-http", action="store_true")
    args = parser.parse_args()
    print(
        f"Python {platform.python_version()}, reportlab {reportlab.Version}, "
        f"{platform.machine()}, {platform.system()} {platform.release()}"
    )
    failures: list[str] = []
    bench_kernel(args.count, args.rounds, failures)
    if not args.no_http:
        bench_http(args.count, args.rounds, failures)
    for failure in failures:
        print(f"WRONG: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
