"""Planning scenarios over HTTP (operator key): run one, list them side by side."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from selpo.deps import ClockDep, RowId, SessionDep
from selpo.errors import problem_responses
from selpo.kit.openapi import example_answer, example_body
from selpo.marketplace.deps import AdminDep
from selpo.planning import service
from selpo.planning.examples import PLAN, PLAN_CREATE_EXAMPLES
from selpo.planning.schemas import PlanCreate, PlanRead

router = APIRouter(prefix="/v1/plans", tags=["planning (operator)"])


@router.post(
    "",
    status_code=201,
    response_model=PlanRead,
    responses={**example_answer(PLAN, status=201), **problem_responses(401, 403, 413, 422, 429)},
    openapi_extra=example_body(named=PLAN_CREATE_EXAMPLES),
)
def create_plan(
    plan_in: PlanCreate, session: SessionDep, clock: ClockDep, _admin: AdminDep
) -> PlanRead:
    """Run a planning scenario on the live network and store it.

    ``region`` is the region's code; it may be left out when the database holds one region.
    ``regions`` plans over several regions at once and ``national`` over every region imported
    (the answer's ``by_region`` gives each region's part); ``time_limit_s`` is a budget the
    solver plans within.
    """
    return service.run_scenario(session, plan_in=plan_in, now=clock.now())


@router.get(
    "",
    response_model=list[PlanRead],
    responses={**example_answer([PLAN]), **problem_responses(401, 403, 422, 429)},
)
def list_plans(
    session: SessionDep,
    _admin: AdminDep,
    region: Annotated[
        str | None, Query(min_length=1, max_length=16, description="Only this region's (code)")
    ] = None,
) -> list[PlanRead]:
    """Every stored scenario with its figures, newest first."""
    return service.list_plans(session, region=region)


@router.get(
    "/{plan_id}",
    response_model=PlanRead,
    responses={**example_answer(PLAN), **problem_responses(401, 403, 404, 422, 429)},
)
def get_plan(plan_id: RowId, session: SessionDep, _admin: AdminDep) -> PlanRead:
    """One stored scenario."""
    return service.get_plan(session, plan_id)
