"""The shipping label: an A6 PDF with a Code 128 barcode of the tracking number."""

from __future__ import annotations

import io
from pathlib import Path

from reportlab.graphics.barcode import code128
from reportlab.lib.pagesizes import A6
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from selpo.kit.display import format_number, format_roubles

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


def render_label(
    *,
    tracking_number: str,
    office_index: str,
    office_name: str,
    office_address: str,
    recipient_masked: str,
    marketplace_name: str,
    external_order_id: str,
    weight_g: int,
    cod_kop: int,
) -> bytes:
    """Draw the label and return the PDF bytes."""
    font = _font()
    buffer = io.BytesIO()
    width, height = A6
    pdf = canvas.Canvas(buffer, pagesize=A6)
    pdf.setTitle(f"selpo label {tracking_number}")
    pdf.setFont(font, 9)
    pdf.drawString(8 * mm, height - 10 * mm, f"{marketplace_name} · заказ {external_order_id}")
    pdf.setFont(font, 22)
    pdf.drawString(8 * mm, height - 22 * mm, office_index)
    pdf.setFont(font, 10)
    pdf.drawString(8 * mm, height - 29 * mm, office_name[:48])
    pdf.setFont(font, 7)
    pdf.drawString(8 * mm, height - 34 * mm, office_address[:80])
    pdf.setFont(font, 10)
    pdf.drawString(8 * mm, height - 42 * mm, f"Получатель: {recipient_masked}")
    pdf.drawString(8 * mm, height - 48 * mm, f"Вес: {format_number(weight_g / 1000, 3)} кг")
    if cod_kop:
        pdf.drawString(8 * mm, height - 54 * mm, f"Наложенный платёж: {format_roubles(cod_kop)}")
    barcode = code128.Code128(tracking_number, barHeight=22 * mm, barWidth=0.36 * mm)
    barcode.drawOn(pdf, (width - barcode.width) / 2, 22 * mm)
    pdf.setFont(font, 12)
    number = tracking_number
    spaced = f"{number[:6]} {number[6:8]} {number[8:13]} {number[13]}"
    pdf.drawCentredString(width / 2, 15 * mm, spaced)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
