"""The printable hand-over act: an A4 portrait PDF the warehouse and the driver sign.

In Russian (it is signed at the warehouse's dock); times in the warehouse's zone, money and
weights through ``selpo.kit.display``; a numbered table of the parcels with the totals
under it, and signature lines for both sides. The font is the labels' (``shipment.label``).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from selpo.kit.display import format_local_datetime, format_number, format_roubles, plural
from selpo.shipment import label
from selpo.shipment.handover_schemas import HandoverRead

_STATUS = {
    "open": "не принят узлом",
    "accepted": "принят узлом без расхождений",
    "accepted_with_discrepancies": "принят узлом с расхождениями",
}


@dataclass(frozen=True)
class ActPrint:
    """What the printed act shows besides the act itself."""

    act: HandoverRead
    warehouse_name: str
    timezone: str
    marketplace_name: str


def _kg(grams: int) -> str:
    return format_number(grams / 1000, 3)


def _roubles(kop: int) -> str:
    return format_roubles(kop) if kop else "—"


def _table(rows: list[list[str]], widths: list[float], font: str, totals: bool) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    style = [
        ("FONT", (0, 0), (-1, -1), font, 8),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (4, 1), (-1, -1), "RIGHT"),
    ]
    if totals:
        style.append(("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke))
    table.setStyle(TableStyle(style))
    return table


def render_handover(printed: ActPrint) -> bytes:
    """Draw the act and return the PDF bytes."""
    act = printed.act
    font = label._font()
    title = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)
    text = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=10 * mm,
        bottomMargin=12 * mm,
        title=f"Акт приёма-передачи {act.number}",
    )
    parcels = plural(act.count, "отправление", "отправления", "отправлений")
    places = plural(act.places, "место", "места", "мест")
    story: list[object] = [
        Paragraph(f"Акт приёма-передачи отправлений № {act.number}", title),
        Paragraph(
            f"от {format_local_datetime(act.created_at, printed.timezone)} · "
            f"отправитель: {printed.marketplace_name} · "
            f"склад: {printed.warehouse_name} ({act.warehouse})",
            text,
        ),
        Paragraph(
            f"Передано {act.count} {parcels}, {act.places} {places}, вес {_kg(act.weight_g)} кг, "
            f"объявленная ценность {format_roubles(act.declared_value_kop)}, "
            f"наложенный платёж {format_roubles(act.cod_kop)}",
            text,
        ),
        Paragraph(f"Состояние: {_STATUS[act.status]}", text),
        Spacer(1, 4 * mm),
    ]
    rows = [
        [
            "№",
            "Трек-номер",
            "Номер заказа",
            "Мест",
            "Вес, кг",
            "Объявл. ценность",
            "Нал. платёж",
            "Отметка",
        ]
    ]
    rows += [
        [
            str(line.line),
            line.tracking_number,
            line.external_order_id[:28],
            str(line.places),
            _kg(line.weight_g),
            format_roubles(line.declared_value_kop),
            _roubles(line.cod_kop),
            "",
        ]
        for line in act.shipments
    ]
    rows.append(
        [
            "",
            "Итого",
            f"{act.count} {parcels}",
            str(act.places),
            _kg(act.weight_g),
            format_roubles(act.declared_value_kop),
            format_roubles(act.cod_kop),
            "",
        ]
    )
    widths = [10, 32, 42, 12, 18, 26, 26, 20]
    story.append(_table(rows, [w * mm for w in widths], font, totals=True))
    if act.acceptance is not None:
        story.append(Spacer(1, 4 * mm))
        accepted = format_local_datetime(act.acceptance.accepted_at, printed.timezone)
        story.append(Paragraph(f"Приёмка на узле {accepted}", text))
        if act.acceptance.missing:
            story.append(Paragraph("Не поступили: " + ", ".join(act.acceptance.missing), text))
        if act.acceptance.extra:
            story.append(Paragraph("Сверх акта: " + ", ".join(act.acceptance.extra), text))
    story += [
        Spacer(1, 10 * mm),
        Paragraph("Сдал (представитель склада) ____________________ / ____________________", text),
        Spacer(1, 6 * mm),
        Paragraph("Принял (водитель) ____________________ / ____________________", text),
        Spacer(1, 6 * mm),
        Paragraph("Дата, время ____________________", text),
    ]
    doc.build(story)
    return buffer.getvalue()
