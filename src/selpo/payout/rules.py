"""The payout arithmetic and the day's closing time: pure rules over plain values.

**The fee.** A marketplace's rate is a whole number of basis points (150 bp = 1.5 % =
``0.0150``). The day's fee is the rate applied to the day's whole collection, rounded half up
to the kopeck. It is split over the day's shipments by largest remainder: each shipment gets
the floor of its exact share, and the kopecks left over go one each to the shipments with the
largest fractional parts (ties: the smaller tracking number first). So the shipments' fees add
up to the day's fee exactly, each is within one kopeck of its exact share, and none exceeds
what its shipment collected. What is transferred is what was collected less the fee, per
shipment and per day.

**The closing.** A day is a calendar day in each office's own zone (as the counter's COD
report counts it); it closes for payout once the midnight after it, plus a grace, has passed
in every zone the network has offices in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

BASIS = 10_000  # basis points in the whole
MAX_FEE_BP = BASIS  # 100 %: what is transferred never goes below zero
# A day closes this long after the last zone's midnight: late counter work of the evening
# (a clerk completing an issue at 23:59) is recorded by then.
CLOSING_GRACE = timedelta(hours=2)
MAX_RANGE_DAYS = 92


class BadFeeRate(ValueError):
    """A fee rate that is not a percentage or fraction of whole basis points in 0-100 %."""


def parse_fee_rate(text: str) -> int:
    """``"1.5%"`` or ``"0.015"`` -> 150 basis points; whole basis points from 0 to 100 %."""
    raw = text.strip().replace(",", ".")
    percent = raw.endswith("%")
    try:
        value = Decimal(raw.removesuffix("%").strip())
    except InvalidOperation:
        raise BadFeeRate(f"{text!r} is not a rate: write 1.5% or 0.015") from None
    if not value.is_finite():
        raise BadFeeRate(f"{text!r} is not a rate: write 1.5% or 0.015")
    bp = value * (100 if percent else BASIS)
    if bp != bp.to_integral_value():
        raise BadFeeRate(f"{text!r}: the rate is kept in whole basis points (0.01 %)")
    if not 0 <= bp <= MAX_FEE_BP:
        raise BadFeeRate(f"{text!r}: the rate must be from 0% to 100%")
    return int(bp)


def fee_rate_text(bp: int) -> str:
    """150 -> ``"0.0150"``: the rate as a fraction with four decimals (the API's form)."""
    return f"{Decimal(bp) / BASIS:.4f}"


def fee_rate_percent(bp: int) -> str:
    """150 -> ``"1.50%"`` (for people)."""
    return f"{Decimal(bp) / 100:.2f}%"


def day_fee(collected_kop: int, bp: int) -> int:
    """The fee on a day's collection: ``collected × rate``, rounded half up to the kopeck."""
    return (collected_kop * bp + BASIS // 2) // BASIS


def split_fee(amounts: Sequence[tuple[str, int]], bp: int) -> list[int]:
    """Each shipment's share of the day's fee, in the order given: ``amounts`` are (tracking
    number, collected kopecks). Largest remainder (see the module's docstring)."""
    total = day_fee(sum(kop for _, kop in amounts), bp)
    floors = [kop * bp // BASIS for _, kop in amounts]
    left = total - sum(floors)
    order = sorted(
        range(len(amounts)), key=lambda i: (-(amounts[i][1] * bp % BASIS), amounts[i][0])
    )
    for i in order[:left]:
        floors[i] += 1
    return floors


def closes_at(day: date, zones: Iterable[str], grace: timedelta = CLOSING_GRACE) -> datetime:
    """When ``day`` closes: the latest of the next midnights in ``zones``, plus ``grace``."""
    midnight = time(0, 0)
    after = day + timedelta(days=1)
    moments = [datetime.combine(after, midnight, tzinfo=ZoneInfo(zone)) for zone in zones]
    if not moments:  # no office anywhere: UTC's midnight
        moments = [datetime.combine(after, midnight, tzinfo=ZoneInfo("UTC"))]
    return max(moments) + grace


def last_closed_day(now: datetime, zones: Sequence[str], grace: timedelta = CLOSING_GRACE) -> date:
    """The latest day that has closed by ``now`` in every zone."""
    day = now.date() + timedelta(days=1)  # no zone is more than a day ahead of UTC
    while closes_at(day, zones, grace) > now:
        day -= timedelta(days=1)
    return day


def check_range(first: date, last: date) -> str | None:
    """Why a requested range of days is refused (``None``: it is fine)."""
    if last < first:
        return "`to` is before `from`"
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        return f"a range covers at most {MAX_RANGE_DAYS} days"
    return None
