"""`selpo jobs`: the worker's timed jobs, listed and run on demand."""

from __future__ import annotations

from typing import Annotated

import typer

from selpo.config import Settings
from selpo.db import create_db_engine, make_session_factory
from selpo.kit.clock import SystemClock
from selpo.worker import find_job, run_job, timed_jobs

jobs_app = typer.Typer(help="The worker's timed jobs, on demand.", no_args_is_help=True)


def _interval(seconds: float) -> str:
    if seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


@jobs_app.command("list")
def list_jobs() -> None:
    """Each timed job with its cadence in the worker and what it does."""
    for job in timed_jobs(Settings()):
        typer.echo(
            f"{job.name:<22} every {_interval(job.interval.total_seconds()):<8} {job.summary}"
        )


@jobs_app.command("run")
def run(
    name: Annotated[str, typer.Argument(help="The job's name, as `selpo jobs list` shows it")],
) -> None:
    """Run one job now, to the end, in short transactions; print what it did."""
    settings = Settings()
    jobs = timed_jobs(settings)
    job = find_job(jobs, name)
    if job is None:
        known = ", ".join(j.name for j in jobs)
        typer.echo(f"error: no timed job is called {name!r}; known: {known}", err=True)
        raise typer.Exit(2)
    engine = create_db_engine(settings.database_url, echo=settings.database_echo)
    try:
        done, chunks = run_job(
            make_session_factory(engine),
            job,
            SystemClock().now(),
            chunk=settings.jobs_chunk_size,
        )
    finally:
        engine.dispose()
    plural = "" if chunks == 1 else "s"
    typer.echo(f"{job.name}: {done} done in {chunks} transaction{plural}")
