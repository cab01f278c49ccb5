"""The printable papers of the way back: a return leg's manifest (the driver signs it at the
last office, the hub at acceptance) and a warehouse act (the line-haul's driver and the
warehouse sign it). In Russian; times in the hub's local time."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from selpo.kit.display import format_local_datetime, format_local_time, format_number
from selpo.logistics.manifest_pdf import _font, _kg, _table
from selpo.logistics.return_leg_schemas import ReturnLegRead, WarehouseActRead

KIND_RU = {"shipment": "посылка", "customer_return": "возврат покупателя", "partner_bag": "мешок"}


def _doc(buffer: io.BytesIO, title: str) -> SimpleDocTemplate:
    return SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=10 * mm,
        bottomMargin=10 * mm,
        title=title,
    )


def render_return_leg(leg: ReturnLegRead) -> bytes:
    """The return leg's manifest as PDF bytes."""
    font = _font()
    zone = leg.timezone
    title = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)
    text = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    buffer = io.BytesIO()
    story: list[object] = [
        Paragraph(f"Накладная обратного рейса {leg.route_id}", title),
        Paragraph(
            f"Узел: {leg.hub_name} ({leg.hub}) · машина: {leg.vehicle or '—'} · "
            f"отправление {format_local_datetime(leg.departure, zone)}, "
            f"возвращение в узел {format_local_time(leg.back_at, zone)}",
            text,
        ),
        Paragraph(
            f"Забрано: {leg.items} из {leg.capacity_parcels} мест, "
            f"{format_number(leg.litres, 1)} из {format_number(leg.capacity_litres)} л, "
            f"{_kg(leg.weight_g, 1)} кг · загрузка {format_number(leg.load_factor * 100, 0)} % "
            f"· рейс {leg.id}",
            text,
        ),
    ]
    if not leg.stored:
        story.append(Paragraph("ПРЕДВАРИТЕЛЬНО: обратный рейс ещё не загружен", text))
    story.append(Spacer(1, 4 * mm))
    stops = [["№", "Индекс", "Отделение", "Заезд", "Забрать", "Ждут"]]
    stops += [
        [
            str(s.seq),
            s.office_index,
            s.office_name[:60],
            format_local_time(s.call_at, zone),
            str(s.loaded),
            str(s.waiting),
        ]
        for s in leg.stops
    ]
    story.append(_table(stops, [10 * mm, 20 * mm, 110 * mm, 22 * mm, 20 * mm, 20 * mm], font))
    story.append(Spacer(1, 4 * mm))
    rows = [["№", "Ост.", "ОПС", "Штрихкод", "Что", "Куда", "Объём, л", "Вес, кг", "Отметка"]]
    rows += [
        [
            str(n),
            str(line.stop_seq),
            line.office_index,
            line.barcode,
            KIND_RU.get(line.kind, line.kind),
            line.warehouse or line.partner_code or "—",
            format_number(line.litres, 1),
            _kg(line.weight_g, 2),
            "",
        ]
        for n, line in enumerate(leg.lines, start=1)
    ]
    story.append(_table(rows, [w * mm for w in (10, 10, 16, 40, 40, 40, 20, 18, 24)], font))
    if leg.waiting:
        story.append(Spacer(1, 4 * mm))
        story.append(Paragraph("Не поместились, ждут следующего рейса:", text))
        waiting = [["Штрихкод", "ОПС", "Готово с", "Рейсов ждёт"]]
        waiting += [
            [
                line.barcode,
                line.office_index,
                format_local_datetime(line.ready_at, zone),
                str(line.runs_waited),
            ]
            for line in leg.waiting
        ]
        story.append(_table(waiting, [40 * mm, 20 * mm, 40 * mm, 25 * mm], font))
    story.append(Spacer(1, 8 * mm))
    story.append(
        Paragraph(
            "Сдали (отделения) ______________    Принял (водитель) ______________    "
            "Принял (диспетчер узла) ______________",
            text,
        )
    )
    _doc(buffer, f"selpo return leg {leg.id}").build(story)
    return buffer.getvalue()


def render_warehouse_act(act: WarehouseActRead) -> bytes:
    """The warehouse act as PDF bytes."""
    font = _font()
    title = ParagraphStyle("title", fontName=font, fontSize=14, leading=18)
    text = ParagraphStyle("text", fontName=font, fontSize=9, leading=12)
    buffer = io.BytesIO()
    story: list[object] = [
        Paragraph(f"Акт передачи на склад № {act.number}", title),
        Paragraph(
            f"Из узла {act.hub} на склад {act.warehouse_name} ({act.warehouse})"
            f"{' · маркетплейс ' + act.marketplace if act.marketplace else ''} · "
            f"{format_local_datetime(act.created_at, act.timezone)}",
            text,
        ),
        Paragraph(f"Мест: {act.items}, вес {_kg(act.weight_g, 1)} кг", text),
        Spacer(1, 4 * mm),
    ]
    rows = [["№", "Штрихкод", "Что", "Из ОПС", "Вес, кг", "Отметка"]]
    rows += [
        [
            str(line.line),
            line.barcode,
            KIND_RU.get(line.kind, line.kind),
            line.office_index,
            _kg(line.weight_g, 2),
            "",
        ]
        for line in act.lines
    ]
    story.append(_table(rows, [w * mm for w in (12, 45, 45, 22, 22, 30)], font))
    story.append(Spacer(1, 8 * mm))
    story.append(Paragraph("Сдал (водитель) ______________    Принял (склад) ______________", text))
    _doc(buffer, f"selpo warehouse act {act.number}").build(story)
    return buffer.getvalue()
