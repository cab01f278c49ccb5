"""Labels of many shipments in one PDF (``POST /v1/labels``): a thin shell over
``shipment.service.labels_pdf``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from selpo.deps import SessionDep
from selpo.errors import problem_responses
from selpo.marketplace.deps import MarketplaceDep
from selpo.shipment import service
from selpo.shipment.schemas import LabelsRequest

router = APIRouter(prefix="/v1", tags=["shipments"])


@router.post(
    "/labels",
    response_class=Response,
    responses={
        200: {
            "description": "One PDF: `a6` one label a page, `a4` four labels a page",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(400, 401, 413, 422, 429),
    },
)
def print_labels(body: LabelsRequest, session: SessionDep, principal: MarketplaceDep) -> Response:
    """The labels of up to 500 of your shipments in one PDF, in the order given; a number
    that is not one of your shipments refuses the whole request (422 listing them)."""
    marketplace = service.caller(session, principal.marketplace_id)
    pdf = service.labels_pdf(
        session,
        marketplace=marketplace,
        tracking_numbers=body.tracking_numbers,
        label_format=body.format,
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="labels-{body.format}.pdf"'},
    )
