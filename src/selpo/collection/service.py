"""Collection for partners: the partners, the bags taken at the counters, the way back, the
reports and the acts at the hub. Services flush, never commit.

A bag taken at the counter (:func:`take_bag`) goes on the way back at once
(``logistics.way_back.send_back``, kind ``partner_bag``, ``DEFAULT_BAG_LITRES``); the return
legs move it to the hub, and the bag's status follows (``collection.way_back.bag_moved``).
At its depot hub the partner takes its bags against a collection act (:func:`make_act`, the
partner's key confirms the pick-up): the rows go ``delivered``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from selpo.collection import rules
from selpo.collection.errors import (
    ActNotFound,
    BagNotFound,
    MissingPartnerKey,
    NothingToCollect,
    PartnerNotFound,
)
from selpo.collection.schemas import (
    ActBag,
    ActRead,
    CollectionReport,
    CollectionRow,
    CollectionTotals,
)
from selpo.errors import Forbidden, InvalidInput
from selpo.kit.display import local_day
from selpo.logistics import way_back
from selpo.models import (
    Clerk,
    CollectionAct,
    CollectionActSerial,
    CollectionBag,
    CollectionPartner,
    CollectionPartnerOffice,
    District,
    Hub,
    PostOffice,
    Region,
    ReturnLegItem,
)

KEY_PREFIX = "cp"  # a partner key: ``cp_<prefix>_<secret>`` (a marketplace's is ``selpo_...``)
REGION_WORD = "region"  # ``--offices region``: every office of the depot hub's region
# Every zone's day ``d`` lies within these bounds of UTC (UTC+14 to UTC-12).
_EARLIEST_OFFSET, _LATEST_OFFSET = timedelta(hours=14), timedelta(hours=12)
_CODE_ATTEMPTS = 8


@dataclass(frozen=True)
class PartnerPrincipal:
    """The partner behind a key."""

    partner_id: int
    code: str


# ---------------------------------------------------------------------------- partners


def get_partner(session: Session, code: str) -> CollectionPartner:
    """The partner with this code."""
    partner = session.scalar(
        select(CollectionPartner).where(CollectionPartner.code == code.strip().upper())
    )
    if partner is None:
        raise PartnerNotFound(code)
    return partner


def _hub(session: Session, code: str) -> Hub:
    hub = session.scalar(select(Hub).where(Hub.code == code.strip()))
    if hub is None:
        raise InvalidInput(f"no hub has code {code!r}", field="depot")
    return hub


def _materials(takes: Sequence[str]) -> list[str]:
    materials = [t.strip().lower() for t in takes if t.strip()]
    if not materials:
        raise InvalidInput("a partner takes at least one material", field="takes")
    for material in materials:
        if not rules.MATERIAL_RE.match(material):
            raise InvalidInput(
                f"a material is a code of lowercase letters, digits and _: {material!r}",
                field="takes",
            )
    return list(dict.fromkeys(materials))


def _served(session: Session, offices: str, hub: Hub) -> tuple[int | None, list[PostOffice]]:
    """``region`` (the depot hub's region), ``region:CODE``, or office indexes by commas."""
    text = offices.strip()
    if text.lower() == REGION_WORD or text.lower().startswith(REGION_WORD + ":"):
        code = text.partition(":")[2].strip()
        if not code:
            return hub.region_id, []
        region = session.scalar(select(Region).where(Region.code == code))
        if region is None:
            raise InvalidInput(f"no region has code {code!r}", field="offices")
        return region.id, []
    indexes = [i.strip() for i in text.split(",") if i.strip()]
    if not indexes:
        raise InvalidInput("name the offices (indexes by commas) or `region`", field="offices")
    found = {
        o.index: o for o in session.scalars(select(PostOffice).where(PostOffice.index.in_(indexes)))
    }
    missing = [i for i in indexes if i not in found]
    if missing:
        raise InvalidInput(f"no office has index {', '.join(missing)}", field="offices")
    return None, [found[i] for i in dict.fromkeys(indexes)]


def add_partner(
    session: Session,
    *,
    code: str,
    name: str,
    takes: Sequence[str],
    offices: str,
    depot: str,
    now: datetime,
    coupon_prefix: str | None = None,
    coupon_min_g: int = 0,
    coupon_note: str | None = None,
) -> CollectionPartner:
    """Add a collection partner, or set the one of this code anew (its key is kept)."""
    code = code.strip().upper()
    if not rules.CODE_RE.match(code):
        raise InvalidInput("a partner code is 2-32 letters, digits and _", field="code")
    if not name.strip():
        raise InvalidInput("a partner has a name", field="name")
    materials = _materials(takes)
    hub = _hub(session, depot)
    region_id, listed = _served(session, offices, hub)
    prefix = coupon_prefix.strip().upper() if coupon_prefix else None
    if prefix is not None and not rules.COUPON_PREFIX_RE.match(prefix):
        raise InvalidInput("a coupon prefix is 1-8 letters and digits", field="coupon_prefix")
    if coupon_min_g < 0:
        raise InvalidInput("the coupon's minimum weight is 0 or more grams", field="coupon_min_g")
    partner = session.scalar(select(CollectionPartner).where(CollectionPartner.code == code))
    if partner is None:
        partner = CollectionPartner(code=code, created_at=now)
        session.add(partner)
    partner.name = name.strip()[:200]
    partner.takes = materials
    partner.region_id = region_id
    partner.depot_hub_id = hub.id
    partner.coupon_prefix = prefix
    partner.coupon_min_g = coupon_min_g
    partner.coupon_note = (coupon_note or "").strip()[:200] or None
    session.flush()
    session.execute(
        delete(CollectionPartnerOffice).where(CollectionPartnerOffice.partner_id == partner.id)
    )
    session.add_all(
        CollectionPartnerOffice(partner_id=partner.id, post_office_id=o.id) for o in listed
    )
    session.flush()
    return partner


def list_partners(session: Session) -> list[CollectionPartner]:
    """Every partner, by code."""
    return list(session.scalars(select(CollectionPartner).order_by(CollectionPartner.code)))


def office_count(session: Session, partner: CollectionPartner) -> int:
    """How many offices the partner serves."""
    if partner.region_id is not None:
        query = (
            select(PostOffice.id)
            .join(District, PostOffice.district_id == District.id)
            .where(District.region_id == partner.region_id)
        )
    else:
        query = select(CollectionPartnerOffice.post_office_id).where(
            CollectionPartnerOffice.partner_id == partner.id
        )
    return len(session.scalars(query).all())


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(session: Session, *, partner: CollectionPartner, now: datetime) -> str:
    """A new key for the partner (shown once; the one before stops working at once)."""
    prefix = secrets.token_hex(6)
    secret = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    partner.key_prefix = prefix
    partner.key_sha256 = _digest(secret)
    partner.key_issued_at = now
    session.flush()
    return secret


def authenticate(session: Session, *, secret: str) -> PartnerPrincipal:
    """The partner behind a bearer secret; refuse anything else (a marketplace's key too).
    Reads only: no request writes the partner's row."""
    kind, _, rest = secret.partition("_")
    prefix, _, tail = rest.partition("_")
    if kind != KEY_PREFIX or not prefix or not tail:
        raise MissingPartnerKey("this route needs a collection partner's key (cp_...)")
    row = session.execute(
        select(CollectionPartner.id, CollectionPartner.code, CollectionPartner.key_sha256).where(
            CollectionPartner.key_prefix == prefix
        )
    ).first()
    if row is None or not row[2] or not hmac.compare_digest(row[2], _digest(secret)):
        raise MissingPartnerKey("the partner key is not valid")
    return PartnerPrincipal(partner_id=row[0], code=row[1])


# ---------------------------------------------------------------------------- the counter


def partners_for_office(session: Session, office: PostOffice) -> list[CollectionPartner]:
    """The partners that take bags at this office, by name."""
    region_id = session.scalar(select(District.region_id).where(District.id == office.district_id))
    listed = select(CollectionPartnerOffice.partner_id).where(
        CollectionPartnerOffice.post_office_id == office.id
    )
    query = (
        select(CollectionPartner)
        .where(or_(CollectionPartner.region_id == region_id, CollectionPartner.id.in_(listed)))
        .order_by(CollectionPartner.name, CollectionPartner.code)
    )
    return list(session.scalars(query))


def take_bag(
    session: Session,
    *,
    office: PostOffice,
    clerk: Clerk,
    partner_code: str,
    material: str,
    weight: str,
    now: datetime,
) -> CollectionBag:
    """Take a resident's bag at the counter: checked, weighed, coded, and put on the way back
    to the partner's depot hub. The weight is the clerk's entry in grams."""
    grams = rules.parse_grams(weight)
    refusal = rules.weight_refusal(grams)
    if refusal is not None or grams is None:
        raise InvalidInput(refusal or "", field="weight")
    partners = {p.code: p for p in partners_for_office(session, office)}
    partner = partners.get(partner_code.strip().upper())
    if partner is None:
        raise InvalidInput("Этот партнёр не принимает вторсырьё в отделении.", field="partner")
    if material not in partner.takes:
        raise InvalidInput(
            f"{partner.name} не принимает «{rules.material_ru(material)}».", field="material"
        )
    coupon = None
    if rules.earns_coupon(partner.coupon_prefix, partner.coupon_min_g, grams):
        assert partner.coupon_prefix is not None
        coupon = rules.coupon_code(partner.coupon_prefix)
    for attempt in range(_CODE_ATTEMPTS):
        bag = CollectionBag(
            code=rules.random_bag_code(office.index),
            partner_id=partner.id,
            office_id=office.id,
            clerk_id=clerk.id,
            material=material,
            weight_g=grams,
            litres=rules.DEFAULT_BAG_LITRES,
            taken_at=now,
            coupon_code=coupon,
            status=rules.AT_OFFICE,
            status_at=now,
        )
        try:
            with session.begin_nested():
                session.add(bag)
            break
        except IntegrityError:  # another bag has this code (or coupon): draw again
            if attempt == _CODE_ATTEMPTS - 1:
                raise
            if coupon is not None:
                assert partner.coupon_prefix is not None
                coupon = rules.coupon_code(partner.coupon_prefix)
    way_back.send_back(
        session,
        kind="partner_bag",
        ref_id=bag.id,
        barcode=bag.code,
        office_id=office.id,
        weight_g=grams,
        litres=rules.DEFAULT_BAG_LITRES,
        ready_at=now,
        now=now,
        partner_code=partner.code,
    )
    return bag


@dataclass(frozen=True)
class BagReceipt:
    """What the bag's receipt and label show."""

    code: str
    spaced_code: str
    office_index: str
    office_name: str
    office_address: str
    timezone: str
    partner_code: str
    partner_name: str
    material: str
    material_ru: str
    weight_g: int
    taken_at: datetime
    clerk: str
    coupon_code: str | None
    coupon_note: str | None
    status: str
    status_ru: str


def bag_receipt(session: Session, *, office: PostOffice, code: str) -> BagReceipt:
    """A bag taken at this office (never another office's)."""
    row = session.execute(
        select(CollectionBag, CollectionPartner, Clerk)
        .join(CollectionPartner, CollectionBag.partner_id == CollectionPartner.id)
        .join(Clerk, CollectionBag.clerk_id == Clerk.id)
        .where(CollectionBag.code == code, CollectionBag.office_id == office.id)
    ).first()
    if row is None:
        raise BagNotFound(code)
    bag, partner, clerk = row
    return BagReceipt(
        code=bag.code,
        spaced_code=rules.spaced_bag_code(bag.code),
        office_index=office.index,
        office_name=office.name,
        office_address=office.address,
        timezone=office.timezone,
        partner_code=partner.code,
        partner_name=partner.name,
        material=bag.material,
        material_ru=rules.material_ru(bag.material),
        weight_g=bag.weight_g,
        taken_at=bag.taken_at,
        clerk=clerk.full_name or clerk.login,
        coupon_code=bag.coupon_code,
        coupon_note=partner.coupon_note if bag.coupon_code else None,
        status=bag.status,
        status_ru=rules.STATUS_RU.get(bag.status, bag.status),
    )


@dataclass(frozen=True)
class TodayAtOffice:
    """The office's bags of the day so far."""

    bags: int
    weight_g: int
    latest: list[BagReceipt]


def today_at_office(session: Session, *, office: PostOffice, now: datetime) -> TodayAtOffice:
    """What this office took today (its own day), the latest first."""
    day = local_day(now, office.timezone)
    start = datetime.combine(day, time(0, 0), tzinfo=UTC) - _EARLIEST_OFFSET
    rows = session.execute(
        select(CollectionBag.code, CollectionBag.weight_g, CollectionBag.taken_at)
        .where(CollectionBag.office_id == office.id, CollectionBag.taken_at >= start)
        .order_by(CollectionBag.taken_at.desc(), CollectionBag.id.desc())
    ).all()
    mine = [(code, grams) for code, grams, at in rows if local_day(at, office.timezone) == day]
    return TodayAtOffice(
        bags=len(mine),
        weight_g=sum(int(grams) for _, grams in mine),
        latest=[bag_receipt(session, office=office, code=code) for code, _ in mine[:10]],
    )


# ---------------------------------------------------------------------------- reports


def collection_report(
    session: Session, *, partner_id: int, first: date, last: date
) -> CollectionReport:
    """The partner's bags per office and each office's own calendar day."""
    refusal = rules.range_refusal(first, last)
    if refusal is not None:
        raise InvalidInput(refusal, field="to" if last < first else "from")
    partner = session.get(CollectionPartner, partner_id)
    assert partner is not None  # the key authenticated it
    start = datetime.combine(first, time(0, 0), tzinfo=UTC) - _EARLIEST_OFFSET
    end = datetime.combine(last + timedelta(days=1), time(0, 0), tzinfo=UTC) + _LATEST_OFFSET
    query = (
        select(
            CollectionBag.taken_at,
            CollectionBag.weight_g,
            PostOffice.index,
            PostOffice.name,
            PostOffice.timezone,
        )
        .join(PostOffice, CollectionBag.office_id == PostOffice.id)
        .where(
            CollectionBag.partner_id == partner_id,
            CollectionBag.taken_at >= start,
            CollectionBag.taken_at < end,
        )
    )
    sums: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    names: dict[str, str] = {}
    for taken_at, grams, index, name, zone in session.execute(query):
        day = local_day(taken_at, zone)
        if first <= day <= last:
            figures = sums[(day, index)]
            figures[0] += 1
            figures[1] += int(grams)
            names[index] = name
    rows = [
        CollectionRow(
            date=day,
            office_index=index,
            office_name=names[index],
            bags=bags,
            weight_g=grams,
            kilograms=rules.kilograms(grams),
        )
        for (day, index), (bags, grams) in sorted(sums.items())
    ]
    total_g = sum(r.weight_g for r in rows)
    return CollectionReport(
        partner=partner.code,
        first=first,
        last=last,
        rows=rows,
        totals=CollectionTotals(
            bags=sum(r.bags for r in rows), weight_g=total_g, kilograms=rules.kilograms(total_g)
        ),
    )


def _csv_cell(text: str) -> str:
    """Text quoted when it needs to be, and never read as a formula."""
    if text[:1] in ("=", "+", "-", "@"):
        text = "'" + text
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def collection_csv(report: CollectionReport) -> str:
    """The report as CSV: one row per office and day."""
    lines = ["date,office_index,office_name,bags,weight_g,kilograms"]
    lines.extend(
        ",".join(
            (
                r.date.isoformat(),
                r.office_index,
                _csv_cell(r.office_name),
                str(r.bags),
                str(r.weight_g),
                f"{r.kilograms:.3f}",
            )
        )
        for r in report.rows
    )
    return "\r\n".join(lines) + "\r\n"


# ---------------------------------------------------------------------------- acts


def _next_serial(session: Session, partner_id: int, year: int) -> int:
    """The next act number of the partner's year, in the caller's transaction: one atomic
    UPDATE ... RETURNING (concurrent acts queue on the row; a rollback gives it back)."""
    statement = (
        update(CollectionActSerial)
        .where(CollectionActSerial.partner_id == partner_id, CollectionActSerial.year == year)
        .values(last_serial=CollectionActSerial.last_serial + 1)
        .returning(CollectionActSerial.last_serial)
    )
    last = session.execute(statement).scalar_one_or_none()
    if last is not None:
        return int(last)
    try:
        with session.begin_nested():
            session.add(CollectionActSerial(partner_id=partner_id, year=year, last_serial=0))
    except IntegrityError:
        pass  # another transaction made the year's row first: use it
    return int(session.execute(statement).scalar_one())


def _read_act(session: Session, act: CollectionAct, partner: CollectionPartner) -> ActRead:
    hub = session.get(Hub, act.hub_id)
    assert hub is not None
    rows = session.execute(
        select(CollectionBag, PostOffice.index)
        .join(PostOffice, CollectionBag.office_id == PostOffice.id)
        .where(CollectionBag.act_id == act.id)
        .order_by(CollectionBag.code)
    ).all()
    return ActRead(
        number=act.number,
        partner=partner.code,
        hub=hub.code,
        created_at=act.created_at,
        bags=act.bags,
        weight_g=act.weight_g,
        kilograms=rules.kilograms(act.weight_g),
        items=[
            ActBag(
                code=bag.code,
                office_index=index,
                material=bag.material,
                weight_g=bag.weight_g,
                taken_at=bag.taken_at,
            )
            for bag, index in rows
        ],
    )


def _replayed(
    session: Session, partner: CollectionPartner, codes: list[str]
) -> CollectionAct | None:
    """The act already made for exactly these bags (a retried request), if any."""
    acts = set(
        session.scalars(
            select(CollectionBag.act_id).where(
                CollectionBag.partner_id == partner.id, CollectionBag.code.in_(codes)
            )
        ).all()
    )
    if len(acts) != 1 or None in acts:
        return None
    act = session.get(CollectionAct, acts.pop())
    if act is None or act.bags != len(codes):
        return None
    return act


def make_act(
    session: Session, *, partner_id: int, codes: Sequence[str] | None, now: datetime
) -> tuple[ActRead, bool]:
    """The partner takes its bags at its depot hub: the act (numbered without gaps per
    partner and year, the hub's region's year) and each bag ``delivered``. ``codes``: the
    bags scanned at the hub (all must be there); None: every bag of the partner at its depot.
    Returns the act and whether it is new (False: these very bags' act, asked again)."""
    partner = session.get(CollectionPartner, partner_id)
    assert partner is not None  # the key authenticated it
    hub = session.get(Hub, partner.depot_hub_id)
    assert hub is not None
    wanted = None
    if codes is not None:
        wanted = list(dict.fromkeys(c.strip().upper() for c in codes if c.strip()))
        if not wanted:
            raise InvalidInput("name at least one bag, or leave `bags` out", field="bags")
        bad = [c for c in wanted if not rules.is_bag_code(c)]
        if bad:
            raise InvalidInput(f"not bag codes: {', '.join(bad[:20])}", field="bags")
    # The items are locked (in id order, as every writer of the way back locks them): a
    # concurrent act of the same partner waits, and then finds them delivered.
    query = (
        select(ReturnLegItem)
        .where(
            ReturnLegItem.kind == "partner_bag",
            ReturnLegItem.partner_code == partner.code,
            ReturnLegItem.status == way_back.AT_HUB,
            or_(ReturnLegItem.hub_code == hub.code, ReturnLegItem.hub_code.is_(None)),
        )
        .order_by(ReturnLegItem.id)
        .with_for_update(key_share=True)
    )
    if wanted is not None:
        query = query.where(ReturnLegItem.barcode.in_(wanted))
    items = list(session.scalars(query))
    if wanted is not None:
        if not items:
            replay = _replayed(session, partner, wanted)
            if replay is not None:
                return _read_act(session, replay, partner), False
        absent = sorted(set(wanted) - {i.barcode for i in items})
        if absent:
            raise NothingToCollect(
                f"not at hub {hub.code} for {partner.code}: {', '.join(absent[:20])}",
                bags=absent,
            )
    if not items:
        raise NothingToCollect(f"no bag of {partner.code} waits at hub {hub.code}")
    region = session.get(Region, hub.region_id)
    year = local_day(now, region.timezone if region else "UTC").year
    serial = _next_serial(session, partner.id, year)
    act = CollectionAct(
        partner_id=partner.id,
        hub_id=hub.id,
        year=year,
        serial=serial,
        number=rules.act_number(year, serial),
        bags=len(items),
        weight_g=sum(i.weight_g for i in items),
        created_at=now,
    )
    session.add(act)
    session.flush()
    # The bags in the session at once (held here: the session keeps them only while they
    # are referenced), so each step below finds its bag without a query.
    held = list(
        session.scalars(
            select(CollectionBag).where(CollectionBag.id.in_([i.ref_id for i in items]))
        )
    )
    with session.no_autoflush:  # one flush for all, its UPDATEs batched
        for item in items:
            item.status = way_back.DELIVERED
            item.act_number = act.number
            item.delivered_at = now
            way_back.moved(session, item, "delivered", now)
    for bag in held:
        bag.act_id = act.id
    session.flush()
    return _read_act(session, act, partner), True


def get_act(session: Session, *, partner_id: int, number: str) -> ActRead:
    """One of the partner's acts (never another partner's)."""
    act = session.scalar(
        select(CollectionAct).where(
            CollectionAct.partner_id == partner_id, CollectionAct.number == number
        )
    )
    if act is None:
        raise ActNotFound(number)
    partner = session.get(CollectionPartner, partner_id)
    assert partner is not None
    return _read_act(session, act, partner)


def hub_name(session: Session, code: str) -> tuple[str, str]:
    """A hub's name and its region's zone (for the printed act)."""
    row = session.execute(
        select(Hub.name, Region.timezone)
        .join(Region, Hub.region_id == Region.id)
        .where(Hub.code == code)
    ).first()
    if row is None:
        raise Forbidden("unknown hub")
    return str(row[0]), str(row[1])
