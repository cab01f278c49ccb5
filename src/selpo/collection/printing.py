"""The collection's printouts: the bag label (A6, Code 128 of the bag code) and the partner's
collection act (A4, signed at the hub). Russian; the labels' font (``shipment.label``)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.graphics.barcode import code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from selpo.collection import rules
from selpo.collection.schemas import ActRead
from selpo.collection.service import BagReceipt
from selpo.kit.display import format_local_datetime, format_number, plural
from selpo.shipment import label

_MARGIN = 8 * mm


def _kg(grams: int) -> str:
    return format_number(grams / 1000, 3)


def render_bag_label(bag: BagReceipt) -> bytes:
    """The bag's label on an A6 page: partner, office, material, weight, the barcode."""
    font = label._font()
    buffer = io.BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(f"selpo bag {bag.code}")
    left, inner = _MARGIN, width - 2 * _MARGIN
    pdf.setFont(font, 9)
    pdf.drawString(
        left, height - 10 * mm, label._fit("Вторсырьё · " + bag.partner_name, font, 9, inner)
    )
    pdf.setFont(font, 18)
    pdf.drawString(left, height - 22 * mm, label._fit(bag.material_ru, font, 18, inner))
    pdf.setFont(font, 12)
    pdf.drawString(left, height - 30 * mm, f"Вес: {_kg(bag.weight_g)} кг")
    pdf.setFont(font, 9)
    pdf.drawString(
        left, height - 37 * mm, label._fit(f"{bag.office_index} {bag.office_name}", font, 9, inner)
    )
    pdf.drawString(left, height - 42 * mm, format_local_datetime(bag.taken_at, bag.timezone))
    barcode = code128.Code128(bag.code, barHeight=22 * mm, barWidth=0.33 * mm)
    barcode.drawOn(pdf, (width - barcode.width) / 2, 22 * mm)
    pdf.setFont(font, 12)
    pdf.drawCentredString(width / 2, 15 * mm, bag.spaced_code)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


@dataclass(frozen=True)
class ActPrint:
    """What the printed act shows besides the act itself."""

    act: ActRead
    partner_name: str
    hub_name: str
    timezone: str


def render_act(printed: ActPrint) -> bytes:
    """The collection act on A4: the bags in a numbered table, totals, signatures."""
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
        title=f"Акт передачи вторсырья {act.number}",
    )
    bags = plural(act.bags, "мешок", "мешка", "мешков")
    rows: list[list[str]] = [["№", "Мешок", "Отделение", "Материал", "Вес, кг", "Принят"]]
    for line, item in enumerate(act.items, start=1):
        rows.append(
            [
                str(line),
                rules.spaced_bag_code(item.code),
                item.office_index,
                rules.material_ru(item.material),
                _kg(item.weight_g),
                format_local_datetime(item.taken_at, printed.timezone),
            ]
        )
    rows.append(["", "Итого", "", bags, _kg(act.weight_g), ""])
    table = Table(rows, colWidths=[10 * mm, 42 * mm, 24 * mm, 34 * mm, 22 * mm, 40 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), font, 8),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("ALIGN", (4, 1), (4, -1), "RIGHT"),
                ("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke),
            ]
        )
    )
    story = [
        Paragraph(f"Акт передачи вторсырья № {act.number}", title),
        Spacer(1, 3 * mm),
        Paragraph(
            f"Партнёр: {printed.partner_name} ({act.partner}). Узел: {printed.hub_name} "
            f"({act.hub}). Составлен {format_local_datetime(act.created_at, printed.timezone)}.",
            text,
        ),
        Paragraph(f"Передано {bags}, общий вес {_kg(act.weight_g)} кг.", text),
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 12 * mm),
        Paragraph("Сдал (узел) ____________________  Принял (партнёр) ____________________", text),
    ]
    doc.build(story)
    return buffer.getvalue()
