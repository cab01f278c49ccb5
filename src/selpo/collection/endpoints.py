"""The collection partner's API (``/v1/collections``): a thin shell over
``collection.service``. Every route needs the partner's own key and shows its own bags only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from selpo.collection import printing, service
from selpo.collection.deps import PartnerDep
from selpo.collection.rules import MAX_RANGE_DAYS
from selpo.collection.schemas import ActCreate, ActRead, CollectionReport
from selpo.deps import ClockDep, SessionDep
from selpo.errors import problem_responses
from selpo.kit.moments import Day

router = APIRouter(prefix="/v1/collections", tags=["collections"])
_CSV = "text/csv"
_CSV_EXAMPLE = (
    "date,office_index,office_name,bags,weight_g,kilograms\r\n"
    "2026-11-25,155650,Пестяки,3,7450,7.450\r\n"
)
ACT_EXAMPLES: dict[str, Any] = {
    "scanned": {
        "summary": "The bags the partner's driver scanned at the hub",
        "value": {"bags": ["PB1556504829135"]},
    },
    "everything": {"summary": "Every bag of the partner waiting at its depot hub", "value": {}},
}


def _wants_csv(request: Request, answer_format: str | None) -> bool:
    if answer_format == "csv":
        return True
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == _CSV for part in accept.split(","))


@router.get(
    "",
    response_model=CollectionReport,
    responses={
        200: {
            "description": (
                "JSON: the partner's bags per office and day. With `Accept: text/csv` or "
                "`?format=csv`: the same rows as CSV."
            ),
            "content": {_CSV: {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
        },
        **problem_responses(401, 422, 429),
    },
)
def list_collections(
    request: Request,
    session: SessionDep,
    partner: PartnerDep,
    first: Annotated[
        Day, Query(alias="from", description="The first day, YYYY-MM-DD (each office's own day)")
    ],
    last: Annotated[
        Day,
        Query(
            alias="to",
            description=f"The last day, inclusive; at most {MAX_RANGE_DAYS} days after `from`",
        ),
    ],
    answer_format: Annotated[
        str | None,
        Query(alias="format", pattern="^(json|csv)$", description="`csv` for CSV"),
    ] = None,
) -> CollectionReport | PlainTextResponse:
    """Bags and kilograms the counters took for the partner, per office and day.

    A day is each office's own calendar day; only offices and days with bags are listed. A
    range is at most 92 days (422 beyond, or when `to` is before `from`).
    """
    report = service.collection_report(
        session, partner_id=partner.partner_id, first=first, last=last
    )
    if _wants_csv(request, answer_format):
        return PlainTextResponse(
            service.collection_csv(report),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": (
                    f'attachment; filename="collections-{first.isoformat()}-{last.isoformat()}.csv"'
                )
            },
        )
    return report


@router.post(
    "/acts",
    status_code=201,
    response_model=ActRead,
    responses={
        200: {"description": "These bags' act, made before (the request was sent again)"},
        **problem_responses(401, 409, 422, 429),
    },
)
def create_act(
    session: SessionDep,
    clock: ClockDep,
    partner: PartnerDep,
    body: Annotated[ActCreate, Body(openapi_examples=ACT_EXAMPLES)],
) -> Any:
    """The partner takes its bags at its depot hub: a collection act, numbered without gaps
    per partner and year, and each bag delivered.

    The partner's key confirms the pick-up (its driver at the hub, with the bags in hand).
    `bags`: the codes scanned at the hub, each of them there (409 names those that are not);
    left out: every bag waiting there (409 when there is none). Sent again with the same
    codes, it answers the same act with 200.
    """
    act, created = service.make_act(
        session, partner_id=partner.partner_id, codes=body.bags, now=clock.now()
    )
    return JSONResponse(act.model_dump(mode="json"), status_code=201 if created else 200)


@router.get(
    "/acts/{number}", response_model=ActRead, responses=problem_responses(401, 404, 422, 429)
)
def read_act(session: SessionDep, partner: PartnerDep, number: str) -> ActRead:
    """One of the partner's collection acts."""
    return service.get_act(session, partner_id=partner.partner_id, number=number[:32])


@router.get(
    "/acts/{number}/pdf",
    response_class=Response,
    responses={
        200: {
            "description": "The act to sign at the hub (A4, Russian)",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 404, 422, 429),
    },
)
def act_pdf(session: SessionDep, partner: PartnerDep, number: str) -> Response:
    """The collection act as a PDF."""
    act = service.get_act(session, partner_id=partner.partner_id, number=number[:32])
    hub, zone = service.hub_name(session, act.hub)
    name = service.get_partner(session, act.partner).name
    pdf = printing.render_act(
        printing.ActPrint(act=act, partner_name=name, hub_name=hub, timezone=zone)
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{act.number}.pdf"'},
    )
