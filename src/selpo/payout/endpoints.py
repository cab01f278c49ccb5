"""The marketplace's payouts: a thin shell over ``payout.service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from selpo.deps import SessionDep
from selpo.errors import problem_responses
from selpo.kit.moments import Day
from selpo.marketplace.deps import MarketplaceDep
from selpo.models import Marketplace
from selpo.payout import service
from selpo.payout.rules import MAX_RANGE_DAYS
from selpo.payout.schemas import PayoutReport

router = APIRouter(prefix="/v1", tags=["payouts"])
_CSV = "text/csv"
_CSV_EXAMPLE = (
    "date,closed,tracking_number,external_order_id,office_index,method,collected_kop,fee_kop,"
    "to_transfer_kop,collected_at\r\n"
    "2026-11-27,true,10100005000177,ORD-1001,101000,card,350000,5250,344750,"
    "2026-11-27T14:05:00Z\r\n"
)


def _wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == _CSV for part in accept.split(","))


@router.get(
    "/payouts",
    response_model=PayoutReport,
    responses={
        200: {
            "description": (
                "JSON: every day of the range with its figures and shipments. With "
                "`Accept: text/csv`: one row per shipment behind a payout."
            ),
            "content": {_CSV: {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
        },
        **problem_responses(401, 422, 429),
    },
)
def list_payouts(
    request: Request,
    session: SessionDep,
    principal: MarketplaceDep,
    first: Annotated[
        Day,
        Query(alias="from", description="The first day, YYYY-MM-DD (each office's own day)"),
    ],
    last: Annotated[
        Day,
        Query(
            alias="to",
            description=f"The last day, inclusive; at most {MAX_RANGE_DAYS} days after `from`",
        ),
    ],
) -> PayoutReport | PlainTextResponse:
    """Money back to the marketplace, day by day: cash on delivery collected in cash and by
    card, the operator's fee, the amount to transfer, and each shipment behind it.

    A day is each office's own calendar day; it is `closed` (its figures final) once it has
    ended in every office's zone, plus a grace, and the worker has closed it, sending
    `payout.ready` when anything was collected. Every day of the range is listed, empty ones
    too; a range is at most 92 days (422 beyond, or when `to` is before `from`).
    """
    marketplace = session.get(Marketplace, principal.marketplace_id)
    assert marketplace is not None  # the key authenticated it
    report = service.payout_report(session, marketplace=marketplace, first=first, last=last)
    if _wants_csv(request):
        return PlainTextResponse(
            service.payout_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="payouts-{first.isoformat()}-{last.isoformat()}.csv"'
                )
            },
        )
    return report
