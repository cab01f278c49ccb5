"""Shipping labels: PDFs with a Code 128 barcode of the tracking number.

One function, ``draw_label``, draws a label into a box of a canvas; the single label
(``render_label``, an A6 page) and the bulk sheet (``render_labels``: ``a6``, one 100×150 mm
label a page for thermal printers, or ``a4``, four labels 2×2 an A4 page with cut marks)
both use it.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reportlab.graphics.barcode import code128
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from selpo.kit.display import format_number, format_roubles

LabelFormat = Literal["a6", "a4"]
THERMAL = (100 * mm, 150 * mm)  # the 100×150 mm label of thermal printers
_MARGIN = 8 * mm
_CUT_MARK = 5 * mm

_FONT = "Helvetica"
# reportlab's built-in fonts have no Cyrillic; use a TTF that has it when the system has one.
_FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    str(Path(__file__).parent.parent / "web" / "static" / "fonts" / "DejaVuSans.ttf"),
)


def _font() -> str:
    global _FONT
    if _FONT != "Helvetica":
        return _FONT
    for candidate in _FONT_CANDIDATES:
        if Path(candidate).is_file():
            pdfmetrics.registerFont(TTFont("SelpoSans", candidate))
            _FONT = "SelpoSans"
            break
    return _FONT


@dataclass(frozen=True)
class Label:
    """What a label shows; the recipient's name comes already masked."""

    tracking_number: str
    office_index: str
    office_name: str
    office_address: str
    recipient_masked: str
    marketplace_name: str
    external_order_id: str
    weight_g: int
    cod_kop: int
    place: int = 1
    places: int = 1


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut (with an ellipsis) to fit ``width`` points in this font."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    while text and pdfmetrics.stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return text + "…"


def spaced(tracking_number: str) -> str:
    """The number as printed under the barcode: ``IIIIII MM SSSSS C``."""
    n = tracking_number
    return f"{n[:6]} {n[6:8]} {n[8:13]} {n[13:]}"


def place_text(label: Label) -> str:
    """``место 2 из 3`` on a label of an order of several places."""
    return f"место {label.place} из {label.places}"


def draw_label(
    pdf: canvas.Canvas, label: Label, *, x: float, y: float, width: float, height: float
) -> None:
    """Draw ``label`` into the box whose lower-left corner is (x, y), in points.

    The text hangs from the top edge and the barcode stands on the bottom edge, so a box of
    at least 95 × 140 mm holds it (A6, a quarter of A4, a 100×150 mm thermal label).
    """
    font = _font()
    left, top, inner = x + _MARGIN, y + height, width - 2 * _MARGIN
    pdf.setFont(font, 9)
    header = f"{label.marketplace_name} · заказ {label.external_order_id}"
    pdf.drawString(left, top - 10 * mm, _fit(header, font, 9, inner))
    pdf.setFont(font, 22)
    pdf.drawString(left, top - 22 * mm, label.office_index)
    pdf.setFont(font, 10)
    pdf.drawString(left, top - 29 * mm, _fit(label.office_name, font, 10, inner))
    pdf.setFont(font, 7)
    pdf.drawString(left, top - 34 * mm, _fit(label.office_address, font, 7, inner))
    pdf.setFont(font, 10)
    pdf.drawString(left, top - 42 * mm, f"Получатель: {label.recipient_masked}")
    pdf.drawString(left, top - 48 * mm, f"Вес: {format_number(label.weight_g / 1000, 3)} кг")
    if label.places > 1:
        pdf.setFont(font, 14)
        pdf.drawRightString(x + width - _MARGIN, top - 48 * mm, place_text(label))
        pdf.setFont(font, 10)
    if label.cod_kop:
        pdf.drawString(left, top - 54 * mm, f"Наложенный платёж: {format_roubles(label.cod_kop)}")
    barcode = code128.Code128(label.tracking_number, barHeight=22 * mm, barWidth=0.36 * mm)
    barcode.drawOn(pdf, x + (width - barcode.width) / 2, y + 22 * mm)
    pdf.setFont(font, 12)
    pdf.drawCentredString(x + width / 2, y + 15 * mm, spaced(label.tracking_number))


def render_label(label: Label) -> bytes:
    """One label on an A6 page, as PDF bytes."""
    buffer = io.BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(f"selpo label {label.tracking_number}")
    draw_label(pdf, label, x=0, y=0, width=width, height=height)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _cut_marks(pdf: canvas.Canvas, width: float, height: float) -> None:
    """Short ticks on the page edges and a cross in the middle where the A4 sheet is cut in 4."""
    mid_x, mid_y = width / 2, height / 2
    pdf.setLineWidth(0.3)
    pdf.lines(
        [
            (mid_x, 0, mid_x, _CUT_MARK),
            (mid_x, height - _CUT_MARK, mid_x, height),
            (0, mid_y, _CUT_MARK, mid_y),
            (width - _CUT_MARK, mid_y, width, mid_y),
            (mid_x - _CUT_MARK, mid_y, mid_x + _CUT_MARK, mid_y),
            (mid_x, mid_y - _CUT_MARK, mid_x, mid_y + _CUT_MARK),
        ]
    )


def render_order_labels(labels: Sequence[Label]) -> bytes:
    """The labels of one order: its one label on an A6 page, or one A6 page per place."""
    if len(labels) == 1:
        return render_label(labels[0])
    buffer = io.BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(f"selpo labels {labels[0].tracking_number} ({len(labels)})")
    for label in labels:
        draw_label(pdf, label, x=0, y=0, width=width, height=height)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def render_labels(labels: Sequence[Label], label_format: LabelFormat) -> bytes:
    """Many labels in one PDF: ``a6`` one 100×150 mm label a page, ``a4`` four a page (2×2)."""
    buffer = io.BytesIO()
    pagesize = THERMAL if label_format == "a6" else A4
    pdf = canvas.Canvas(buffer, pagesize=pagesize, pageCompression=1)
    pdf.setTitle(f"selpo labels ({len(labels)})")
    page_width, page_height = pagesize
    if label_format == "a6":
        for label in labels:
            draw_label(pdf, label, x=0, y=0, width=page_width, height=page_height)
            pdf.showPage()
    else:
        cell_width, cell_height = page_width / 2, page_height / 2
        # Reading order: top left, top right, bottom left, bottom right.
        cells = [(0, cell_height), (cell_width, cell_height), (0, 0), (cell_width, 0)]
        for start in range(0, len(labels), 4):
            _cut_marks(pdf, page_width, page_height)
            for label, (x, y) in zip(labels[start : start + 4], cells, strict=False):
                draw_label(pdf, label, x=x, y=y, width=cell_width, height=cell_height)
            pdf.showPage()
    pdf.save()
    return buffer.getvalue()
