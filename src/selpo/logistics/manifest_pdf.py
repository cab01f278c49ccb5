"""The printable manifest of a route run: an A4 landscape PDF the hub dispatcher signs.

In Russian (it goes with the van to the offices); times in the hub's local time, money, weights
and volumes through ``selpo.kit.display``.
"""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from selpo.kit.display import (
    format_day,
    format_local_datetime,
    format_local_time,
    format_number,
    format_roubles,
)
from selpo.logistics.schemas import ManifestRead

# reportlab's built-in fonts have no Cyrillic; use a TTF that has it when the system has one.
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    str(Path(__file__).parent.parent / "web" / "static" / "fonts" / "DejaVuSans.ttf"),
)
_FONT_NAME = "SelpoManifestSans"
_font_cache: list[str] = []


def _font() -> str:
    if _font_cache:
        return _font_cache[0]
    chosen = "Helvetica"
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont(_FONT_NAME, candidate))
            chosen = _FONT_NAME
            break
    _font_cache.append(chosen)
    return chosen


def _day(value: date | None) -> str:
    return format_day(value) if value else "—"


def _roubles(kop: int) -> str:
    return format_roubles(kop) if kop else "—"


def _kg(grams: int, digits: int) -> str:
    return format_number(grams / 1000, digits)


def _table(rows: list[list[str]], widths: list[float], font: str) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return table


def render_manifest(manifest: ManifestRead) -> bytes:
    """Draw the manifest and return the PDF bytes."""
    font = _font()
    zone = manifest.timezone
    title = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)
    text = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=f"selpo manifest {manifest.id}",
    )
    story: list[object] = [
        Paragraph(f"Накладная рейса {manifest.route_id}", title),
        Paragraph(
            f"Узел: {manifest.hub_name} ({manifest.hub}) · машина: {manifest.vehicle or '—'} · "
            f"отправление {format_local_datetime(manifest.departure, zone)}, "
            f"возврат {format_local_time(manifest.return_at, zone)}",
            text,
        ),
        Paragraph(
            f"Загружено: {manifest.parcels} из {manifest.capacity_parcels} посылок, "
            f"{format_number(manifest.litres, 1)} из {format_number(manifest.capacity_litres)} л, "
            f"{_kg(manifest.weight_g, 1)} кг · рейс {manifest.id}",
            text,
        ),
    ]
    if not manifest.stored:
        story.append(Paragraph("ПРЕДВАРИТЕЛЬНО: рейс ещё не спланирован", text))
    story.append(Spacer(1, 4 * mm))
    stops = [["№", "Индекс", "Отделение", "Прибытие", "Посылок"]]
    stops += [
        [
            str(s.seq),
            s.office_index,
            s.office_name[:60],
            format_local_time(s.arrival_at, zone),
            str(s.parcels),
        ]
        for s in manifest.stops
    ]
    story.append(_table(stops, [10 * mm, 20 * mm, 120 * mm, 22 * mm, 20 * mm], font))
    story.append(Spacer(1, 4 * mm))
    lines = [
        [
            "№",
            "Ост.",
            "ОПС",
            "Трек-номер",
            "Заказ",
            "Маркетплейс",
            "Объём, л",
            "Вес, кг",
            "Нал. платёж",
            "Срок",
            "Отметка",
        ]
    ]
    lines += [
        [
            str(n),
            str(line.stop_seq),
            line.office_index,
            line.tracking_number,
            line.external_order_id[:24],
            line.marketplace,
            format_number(line.litres, 1),
            _kg(line.weight_g, 2),
            _roubles(line.cod_kop),
            _day(line.promised_date),
            "",
        ]
        for n, line in enumerate(manifest.lines, start=1)
    ]
    widths = [10, 10, 16, 34, 40, 30, 18, 16, 26, 22, 18]
    story.append(_table(lines, [w * mm for w in widths], font))
    if manifest.rolled:
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph("Не вошли, переносятся на следующий рейс:", text))
        rolled = [["Трек-номер", "ОПС", "Следующий рейс", "Срок"]]
        rolled += [
            [
                r.tracking_number,
                r.office_index,
                format_local_datetime(r.next_departure, zone),
                _day(r.promised_date) + (" (изменён)" if r.promised_date_changed else ""),
            ]
            for r in manifest.rolled
        ]
        story.append(_table(rolled, [40 * mm, 20 * mm, 40 * mm, 40 * mm], font))
    story.append(Spacer(1, 8 * mm))
    story.append(
        Paragraph("Сдал (диспетчер узла) ______________    Принял (водитель) ______________", text)
    )
    doc.build(story)
    return buffer.getvalue()
