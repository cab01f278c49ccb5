#!/usr/bin/env python3
"""Rebuild the national reference that ships in ``src/selpo/region_data/russia/``.

Usage: ``python scripts/pack-reference.py SOURCE_DIR [--out DIR] [--format xz|gz] [--measure]``

SOURCE_DIR is the data collection's folder (the one holding ``russia/``; see its README). The
script keeps only the rows and columns selpo reads, writes each file as UTF-8 CSV compressed
with lzma (``.csv.xz``, default) or gzip, and is deterministic: the same input gives the same
bytes (no timestamps in the streams). ``--measure`` prints, for both formats, the size and the
time to read the file back, so the choice of format can be checked.

- PIndx (``pindx_russian_post_indices.csv``): the post offices (type О), the sorting units
  (Уооп) and every object an office names as its parent (почтамты mostly); the columns
  Index, OPSName, OPSType, OPSSubm, Region, Autonom, Area, City, City1, ActDate.
- GeoNames postal codes: zipcode, place, state, province, latitude, longitude.
- Localities of Russia (Syomin): id, region, municipality, settlement, type, population,
  latitude_dd, longitude_dd (rounded to 6 decimals), oktmo; the DMS, children and flag columns
  are dropped.
- Census 2021 table 5: row_no, region, parent_municipality, object_as_published, row_kind,
  settlement_type, settlement_name, population_total.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import lzma
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src" / "selpo" / "region_data" / "russia"

PINDX = "pindx_russian_post_indices.csv"
GEONAMES = "geonames_postal_codes_ru.csv"
LOCALITIES = "settlements_all_localities.csv"
CENSUS = "census2021_tab5_municipalities_and_settlements.csv"

PINDX_COLUMNS = [
    "Index",
    "OPSName",
    "OPSType",
    "OPSSubm",
    "Region",
    "Autonom",
    "Area",
    "City",
    "City1",
    "ActDate",
]
GEONAMES_COLUMNS = ["zipcode", "place", "state", "province", "latitude", "longitude"]
LOCALITY_COLUMNS = [
    "id",
    "region",
    "municipality",
    "settlement",
    "type",
    "population",
    "latitude_dd",
    "longitude_dd",
    "oktmo",
]
CENSUS_COLUMNS = [
    "row_no",
    "region",
    "parent_municipality",
    "object_as_published",
    "row_kind",
    "settlement_type",
    "settlement_name",
    "population_total",
]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _csv_bytes(columns: list[str], rows: Iterable[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


def _round(value: str, places: int = 6) -> str:
    if value == "":
        return value
    try:
        return f"{round(float(value), places):.{places}f}".rstrip("0").rstrip(".")
    except ValueError:
        return value


def pindx_rows(source: Path) -> list[dict[str, str]]:
    rows = _read(source / PINDX)
    offices = [r for r in rows if r["OPSType"] == "О"]
    parents = {r["OPSSubm"] for r in offices if r["OPSSubm"]}
    return [r for r in rows if r["OPSType"] in {"О", "Уооп"} or r["Index"] in parents]


def geonames_rows(source: Path) -> list[dict[str, str]]:
    return _read(source / GEONAMES)


def locality_rows(source: Path) -> list[dict[str, str]]:
    rows = _read(source / LOCALITIES)
    for row in rows:
        row["latitude_dd"] = _round(row["latitude_dd"])
        row["longitude_dd"] = _round(row["longitude_dd"])
    return rows


def census_rows(source: Path) -> list[dict[str, str]]:
    return _read(source / CENSUS)


FILES: dict[str, tuple[list[str], Callable[[Path], list[dict[str, str]]]]] = {
    "pindx": (PINDX_COLUMNS, pindx_rows),
    "geonames_postal": (GEONAMES_COLUMNS, geonames_rows),
    "localities": (LOCALITY_COLUMNS, locality_rows),
    "census2021_tab5": (CENSUS_COLUMNS, census_rows),
}


def compress(data: bytes, fmt: str) -> bytes:
    if fmt == "xz":
        return lzma.compress(data, preset=9 | lzma.PRESET_EXTREME)
    return gzip.compress(data, compresslevel=9, mtime=0)


def decompress_time(blob: bytes, fmt: str) -> float:
    start = time.perf_counter()
    raw = lzma.decompress(blob) if fmt == "xz" else gzip.decompress(blob)
    list(csv.DictReader(io.StringIO(raw.decode("utf-8"))))
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="the data folder holding russia/")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--format", choices=["xz", "gz"], default="xz")
    parser.add_argument("--measure", action="store_true", help="compare xz and gz")
    args = parser.parse_args(argv)
    russia = args.source / "russia"
    if not russia.is_dir():
        parser.error(f"{russia} is not a folder")
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (columns, reader) in FILES.items():
        data = _csv_bytes(columns, reader(russia))
        blob = compress(data, args.format)
        target = args.out / f"{name}.csv.{args.format}"
        target.write_bytes(blob)
        sys.stdout.write(
            f"{target.name}: {len(data) / 1e6:.2f} MB csv -> {len(blob) / 1e6:.2f} MB\n"
        )
        if args.measure:
            for fmt in ("xz", "gz"):
                other = blob if fmt == args.format else compress(data, fmt)
                seconds = decompress_time(other, fmt)
                sys.stdout.write(
                    f"  {fmt}: {len(other) / 1e6:.2f} MB, read back in {seconds:.2f} s\n"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
