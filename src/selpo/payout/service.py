"""Payouts to marketplaces: what the counters collected for them day by day, the operator's
fee, what is transferred, and the closing of each day (``payout.ready``).

What is due is what was collected: cash on delivery for the items the recipient took
(``shipment.rules.cod_due`` at the counter: a partial redemption pays for the taken lines
only, a refusal pays nothing), less the cash the counters paid back to buyers for their
returns (``selpo.returns``; on the day the return was accepted). A day is each office's own
calendar day, as the counter's COD report (``shipment.service.cod_report``) counts it. The
arithmetic is ``payout.rules``. Services flush, never commit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selpo.errors import InvalidInput
from selpo.kit.display import local_day
from selpo.marketplace import service as marketplace_service
from selpo.models import CustomerReturn, Marketplace, PayoutDay, PostOffice, Shipment
from selpo.notify import service as notify_service
from selpo.payout import rules
from selpo.payout.schemas import (
    PayoutDayRead,
    PayoutRefund,
    PayoutReport,
    PayoutShipment,
    PayoutTotals,
)

# The closing job looks back this many closed days: a worker stopped for up to this long
# still sends every day's ``payout.ready`` when it starts again.
LOOKBACK_DAYS = 3
# Every zone's day ``d`` lies within these bounds of UTC (UTC+14 to UTC-12).
_EARLIEST_OFFSET, _LATEST_OFFSET = timedelta(hours=14), timedelta(hours=12)


@dataclass(frozen=True)
class _Collected:
    tracking_number: str
    external_order_id: str
    office_index: str
    method: str
    collected_kop: int
    collected_at: datetime


def _zones(session: Session) -> list[str]:
    """The time zones the network has offices in."""
    return sorted(session.scalars(select(PostOffice.timezone).distinct()))


def _collections(
    session: Session, marketplace_id: int, first: date, last: date
) -> dict[date, list[_Collected]]:
    """Cash on delivery collected for a marketplace, by the collecting office's local day."""
    start = datetime.combine(first, time(0, 0), tzinfo=UTC) - _EARLIEST_OFFSET
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=UTC) + _LATEST_OFFSET
    query = (
        select(
            Shipment.tracking_number,
            Shipment.external_order_id,
            PostOffice.index,
            PostOffice.timezone,
            Shipment.cod_method,
            Shipment.cod_collected_kop,
            Shipment.cod_collected_at,
        )
        .join(PostOffice, Shipment.destination_office_id == PostOffice.id)
        .where(
            Shipment.marketplace_id == marketplace_id,
            Shipment.cod_collected_kop > 0,
            Shipment.cod_collected_at >= start,
            Shipment.cod_collected_at < end,
        )
        .order_by(Shipment.cod_collected_at, Shipment.tracking_number)
    )
    days: dict[date, list[_Collected]] = defaultdict(list)
    for number, order, index, zone, method, kop, at in session.execute(query):
        if at is None:  # the query's range excludes it; the type does not know
            continue
        day = local_day(at, zone)
        if first <= day <= last:
            days[day].append(_Collected(number, order, index, method or "cash", int(kop), at))
    return days


def _refunds(
    session: Session, marketplace_id: int, first: date, last: date
) -> dict[date, list[PayoutRefund]]:
    """Cash paid back at the counters for a marketplace's returns, by the paying office's
    local day (the day the return was accepted)."""
    start = datetime.combine(first, time(0, 0), tzinfo=UTC) - _EARLIEST_OFFSET
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=UTC) + _LATEST_OFFSET
    query = (
        select(CustomerReturn, Shipment.tracking_number, PostOffice.index, PostOffice.timezone)
        .join(Shipment, CustomerReturn.shipment_id == Shipment.id)
        .join(PostOffice, CustomerReturn.office_id == PostOffice.id)
        .where(
            CustomerReturn.marketplace_id == marketplace_id,
            CustomerReturn.refund_kop > 0,
            CustomerReturn.accepted_at >= start,
            CustomerReturn.accepted_at < end,
        )
        .order_by(CustomerReturn.accepted_at, CustomerReturn.id)
    )
    days: dict[date, list[PayoutRefund]] = defaultdict(list)
    for ret, order_number, index, zone in session.execute(query):
        if ret.accepted_at is None or ret.tracking_number is None:
            continue
        day = local_day(ret.accepted_at, zone)
        if first <= day <= last:
            days[day].append(
                PayoutRefund(
                    return_id=ret.id,
                    external_return_id=ret.external_return_id,
                    tracking_number=order_number,
                    return_tracking_number=ret.tracking_number,
                    office_index=index,
                    refund_kop=ret.refund_kop,
                    refunded_at=ret.accepted_at,
                )
            )
    return days


def _day(
    day: date,
    rows: Sequence[_Collected],
    bp: int,
    *,
    closed: bool,
    refunds: Sequence[PayoutRefund] = (),
) -> PayoutDayRead:
    fees = rules.split_fee([(r.tracking_number, r.collected_kop) for r in rows], bp)
    cash = sum(r.collected_kop for r in rows if r.method == "cash")
    card = sum(r.collected_kop for r in rows if r.method == "card")
    fee = sum(fees)
    refunded = sum(r.refund_kop for r in refunds)
    return PayoutDayRead(
        date=day,
        closed=closed,
        fee_rate=rules.fee_rate_text(bp),
        cash_kop=cash,
        card_kop=card,
        collected_kop=cash + card,
        fee_kop=fee,
        refunded_kop=refunded,
        to_transfer_kop=cash + card - fee - refunded,
        refunds=list(refunds),
        shipments=[
            PayoutShipment(
                tracking_number=r.tracking_number,
                external_order_id=r.external_order_id,
                office_index=r.office_index,
                method="card" if r.method == "card" else "cash",
                collected_kop=r.collected_kop,
                fee_kop=f,
                collected_at=r.collected_at,
            )
            for r, f in zip(rows, fees, strict=True)
        ],
    )


def _closed_days(session: Session, marketplace_id: int, first: date, last: date) -> dict[date, int]:
    """The closed days of the range and the fee rate each closed with."""
    query = select(PayoutDay.day, PayoutDay.fee_rate_bp).where(
        PayoutDay.marketplace_id == marketplace_id, PayoutDay.day >= first, PayoutDay.day <= last
    )
    return {day: int(bp) for day, bp in session.execute(query)}


def _totals(days: Sequence[PayoutTotals]) -> PayoutTotals:
    return PayoutTotals(
        cash_kop=sum(d.cash_kop for d in days),
        card_kop=sum(d.card_kop for d in days),
        collected_kop=sum(d.collected_kop for d in days),
        fee_kop=sum(d.fee_kop for d in days),
        refunded_kop=sum(d.refunded_kop for d in days),
        to_transfer_kop=sum(d.to_transfer_kop for d in days),
    )


def payout_report(
    session: Session, *, marketplace: Marketplace, first: date, last: date
) -> PayoutReport:
    """Every day of ``first``..``last`` (at most ``rules.MAX_RANGE_DAYS``): cash and card
    collected, the fee, what is transferred, and the shipments behind it."""
    refusal = rules.check_range(first, last)
    if refusal is not None:
        raise InvalidInput(refusal, field="to" if last < first else "from")
    collected = _collections(session, marketplace.id, first, last)
    refunds = _refunds(session, marketplace.id, first, last)
    closed = _closed_days(session, marketplace.id, first, last)
    days = [
        _day(
            day,
            collected.get(day, []),
            closed.get(day, marketplace.fee_rate_bp),
            closed=day in closed,
            refunds=refunds.get(day, []),
        )
        for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
    ]
    return PayoutReport(
        marketplace=marketplace.code,
        first=first,
        last=last,
        fee_rate=rules.fee_rate_text(marketplace.fee_rate_bp),
        days=days,
        totals=_totals(days),
    )


def payout_csv(report: PayoutReport) -> str:
    """The report as CSV: one row per shipment behind a payout, with its day, and one per
    cash refund (method ``refund``, its amount negative, the return parcel's number)."""
    lines = [
        "date,closed,tracking_number,external_order_id,office_index,method,collected_kop,"
        "fee_kop,to_transfer_kop,collected_at"
    ]
    for day in report.days:
        for s in day.shipments:
            lines.append(
                ",".join(
                    (
                        day.date.isoformat(),
                        "true" if day.closed else "false",
                        s.tracking_number,
                        _csv_cell(s.external_order_id),
                        s.office_index,
                        s.method,
                        str(s.collected_kop),
                        str(s.fee_kop),
                        str(s.collected_kop - s.fee_kop),
                        notify_service.format_timestamp(s.collected_at),
                    )
                )
            )
        for r in day.refunds:
            lines.append(
                ",".join(
                    (
                        day.date.isoformat(),
                        "true" if day.closed else "false",
                        r.return_tracking_number,
                        _csv_cell(r.external_return_id),
                        r.office_index,
                        "refund",
                        str(-r.refund_kop),
                        "0",
                        str(-r.refund_kop),
                        notify_service.format_timestamp(r.refunded_at),
                    )
                )
            )
    return "\r\n".join(lines) + "\r\n"


def _csv_cell(text: str) -> str:
    """A marketplace's own text, quoted when it needs to be, and never read as a formula."""
    if text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


# ---------------------------------------------------------------------------- closing days


def close_days(session: Session, now: datetime, *, limit: int = 1000) -> int:
    """Close the days that have ended in every office's zone (the last ``LOOKBACK_DAYS``) for
    every marketplace: record each in ``payout_day`` and, when something was collected, queue
    its ``payout.ready``; at most ``limit`` days (a worker job; call again while it returns
    ``limit``).

    Idempotent: a day already closed is skipped, and of two workers closing the same day at
    once only the one whose insert wins (the unique marketplace and day) queues the webhook.
    """
    last = rules.last_closed_day(now, _zones(session))
    first = last - timedelta(days=LOOKBACK_DAYS - 1)
    done_query = select(PayoutDay.marketplace_id, PayoutDay.day).where(
        PayoutDay.day >= first, PayoutDay.day <= last
    )
    done = {(marketplace_id, day) for marketplace_id, day in session.execute(done_query)}
    marketplaces = list(session.scalars(select(Marketplace).order_by(Marketplace.id)))
    pending = [
        (marketplace, first + timedelta(days=n))
        for marketplace in marketplaces
        for n in range(LOOKBACK_DAYS)
        if (marketplace.id, first + timedelta(days=n)) not in done
    ][:limit]
    collections: dict[int, dict[date, list[_Collected]]] = {}
    refunds: dict[int, dict[date, list[PayoutRefund]]] = {}
    for marketplace, day in pending:
        if marketplace.id not in collections:
            collections[marketplace.id] = _collections(session, marketplace.id, first, last)
            refunds[marketplace.id] = _refunds(session, marketplace.id, first, last)
        figures = _day(
            day,
            collections[marketplace.id].get(day, []),
            marketplace.fee_rate_bp,
            closed=True,
            refunds=refunds[marketplace.id].get(day, []),
        )
        _close(session, marketplace, figures, now)
    session.flush()
    return len(pending)


def _close(
    session: Session, marketplace: Marketplace, figures: PayoutDayRead, now: datetime
) -> bool:
    """Record the day and queue its webhook; ``False`` when another worker closed it first."""
    row = PayoutDay(
        marketplace_id=marketplace.id,
        day=figures.date,
        fee_rate_bp=marketplace.fee_rate_bp,
        cash_kop=figures.cash_kop,
        card_kop=figures.card_kop,
        collected_kop=figures.collected_kop,
        fee_kop=figures.fee_kop,
        refunded_kop=figures.refunded_kop,
        to_transfer_kop=figures.to_transfer_kop,
        shipments=len(figures.shipments),
        closed_at=now,
        event_id=None,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        return False
    if not figures.shipments and not figures.refunds:  # no money moved: nothing to announce
        return True
    row.event_id = notify_service.publish_event(
        session,
        marketplace_id=marketplace.id,
        event_type="payout.ready",
        data={
            "date": figures.date,
            "cash_kop": figures.cash_kop,
            "card_kop": figures.card_kop,
            "collected_kop": figures.collected_kop,
            "fee_kop": figures.fee_kop,
            "refunded_kop": figures.refunded_kop,
            "to_transfer_kop": figures.to_transfer_kop,
            "shipments": len(figures.shipments),
        },
        now=now,
    )
    return True


# ---------------------------------------------------------------------------- the fee rate


def set_fee_rate(session: Session, *, code: str, rate: str) -> Marketplace:
    """Set a marketplace's fee rate (``"1.5%"`` or ``"0.015"``); open days take it at once,
    closed days keep the rate they closed with."""
    marketplace = marketplace_service.get_by_code(session, code.strip().upper())
    try:
        marketplace.fee_rate_bp = rules.parse_fee_rate(rate)
    except rules.BadFeeRate as exc:
        raise InvalidInput(str(exc), field="rate") from None
    session.flush()
    return marketplace
