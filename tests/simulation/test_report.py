"""The simulation report: plain-number CSV files for machines, Russian HTML pages from the
templates for people (figures through Babel)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from selpo.simulation import report
from selpo.simulation.service import OfficeUse

NBSP = "\u00a0"


def _report(cash_kop: int = 150_050) -> report.Report:
    district = report.Kpi(
        "Шуйский <район>",
        orders=40,
        unserved=10,
        shipments=30,
        reached_office=28,
        promised=20,
        on_time=15,
        days=[1.0, 2.0, 3.0],
        outcomes=10,
        unclaimed=1,
        delivered=9,
        cash_kop=cash_kop,
    )
    region = report.Kpi(report.REGION, orders=40, unserved=10, shipments=30, cash_kop=cash_kop)
    offices = [OfficeUse("155900", "Шуйский <район>", 10, peak=12, overflow=2)]
    return report.Report([district], region, offices, {"delivered": 9, "in_transit": 21})


def test_the_csv_keeps_plain_numbers_for_machines() -> None:
    rows = _report().kpi_csv().splitlines()
    assert rows[0].startswith("area,orders,served,unserved,unserved_share")
    assert rows[1].split(",")[:5] == ["Шуйский <район>", "40", "30", "10", "0.2500"]
    assert rows[1].endswith(",150050")
    assert _report().office_csv().splitlines()[1] == "155900,Шуйский <район>,10,12,1.2000,2"


def test_the_page_shows_the_figures_the_russian_way() -> None:
    page = report.render_html(_report(), title="Неделя <1>")
    assert page.startswith("<!doctype html>")
    assert '<html lang="ru">' in page
    assert "<title>Неделя &lt;1&gt;</title>" in page  # names are escaped, never markup
    assert "Шуйский &lt;район&gt;" in page
    assert f"1{NBSP}500,50{NBSP}₽" in page  # money in roubles, grouped
    assert f"25,0{NBSP}%" in page  # the unserved share
    assert f"75,0{NBSP}%" in page  # on time: 15 of 20
    assert "Весь регион" in page
    assert "выдана: 9, в пути: 21" in page  # final statuses in the office's words
    assert "<svg" in page
    assert "<script" not in page
    assert f"120,0{NBSP}%" in page  # peak storage use of the busiest office


def test_a_district_without_data_shows_a_dash_not_zero() -> None:
    quiet = report.Report([report.Kpi("Тихий")], report.Kpi(report.REGION), [], {})
    page = report.render_html(quiet, title="t")
    row = page[page.index("<td>Тихий</td>") :].split("</tr>")[0]
    assert row.count("—") == 5  # three shares and two percentiles
    assert f"0,00{NBSP}₽" in row


def test_write_puts_the_four_files_in_the_folder(tmp_path: Path) -> None:
    paths = report.write(_report(), tmp_path / "r", title="t")
    assert [p.name for p in paths] == ["kpi.csv", "offices.csv", "returns.csv", "index.html"]
    assert all(p.is_file() for p in paths)


def test_the_comparison_shows_each_scenario_and_the_difference(tmp_path: Path) -> None:
    today = report.Scenario("Сегодня", 19, _report(cash_kop=100_000))
    plan = report.Scenario("План <A>", 25, _report(cash_kop=250_000))
    csv_path, html_path = report.write_comparison([today, plan], tmp_path, title="Сравнение")
    rows = {r.split(",")[0]: r for r in csv_path.read_text(encoding="utf-8").splitlines()}
    assert rows["cash_collected_kop"] == "cash_collected_kop,kopecks,100000,250000,+150000"
    assert rows["connected_offices"] == "connected_offices,offices,19,25,+6"
    page = html_path.read_text(encoding="utf-8")
    assert f"+1{NBSP}500,00{NBSP}₽" in page  # the difference in cash, signed
    assert '<a href="scenario-2/index.html">План &lt;A&gt;</a>' in page


def test_the_summary_line_reads_like_the_report() -> None:
    started = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    line = report.summary_line(_report(), started, started + timedelta(seconds=2.25))
    assert line.startswith("orders 40, unserved 10, reached office 0, on time -")
    assert f"cash 1{NBSP}500,50{NBSP}₽" in line
    assert line.endswith("(2,2 s)")
