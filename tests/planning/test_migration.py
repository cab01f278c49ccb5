"""Plans and simulation runs kept before regions were told apart get their region."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from selpo.db import create_db_engine
from selpo.migrate import alembic_config

BEFORE_REGIONS = "5c1e7a9d2b40"
RUN_COLUMNS = (
    "kind, label, seed, days, scale, start, connected_offices, region, districts, offices, "
    "statuses, seconds, created_at"
)
RUN_VALUES = "'history', 'h', 1, 1, 0.1, '2026-11-23', 19, '{}', '[]', '[]', '{}', 1.0, :now"
PLAN_COLUMNS = (
    "name, kind, parameters, status, objective, bound, gap, total_population, seconds, result, "
    "created_at"
)
PLAN_VALUES = "'old', 'connect', '{}', 'optimal', 1, 1, 0, 1, 0.1, '{}', :now"


def _upgrade(url: str, revision: str) -> None:
    engine = create_db_engine(url)
    config = alembic_config(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def test_existing_plans_and_runs_get_the_only_region(scratch_url: str) -> None:
    _upgrade(scratch_url, BEFORE_REGIONS)
    engine = create_db_engine(scratch_url)
    now = "2026-11-25 09:00:00+00:00"
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO region (code, name, timezone) VALUES ('37', 'И', 'Europe/Moscow')")
        )
        connection.execute(
            text(f"INSERT INTO plan ({PLAN_COLUMNS}) VALUES ({PLAN_VALUES})"), {"now": now}
        )
        connection.execute(
            text(f"INSERT INTO simulation_run ({RUN_COLUMNS}) VALUES ({RUN_VALUES})"),
            {"now": now},
        )
    engine.dispose()
    _upgrade(scratch_url, "head")
    engine = create_db_engine(scratch_url)
    with engine.connect() as connection:
        region = connection.execute(text("SELECT id FROM region")).scalar_one()
        plan = connection.execute(text("SELECT region_id FROM plan")).scalar_one()
        run = connection.execute(text("SELECT region_id FROM simulation_run")).scalar_one()
    engine.dispose()
    assert plan == run == region
