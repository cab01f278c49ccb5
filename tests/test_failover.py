"""The failover drill's short form: selpo loses its PostgreSQL primary under traffic.

A real pg_auto_failover cluster on this machine (monitor, primary, synchronous standby), selpo
under uvicorn on its multi-host URL, a few seconds of creates, scans and searches through the
API, then ``kill -9`` of the primary's postmaster (bench/failover.py, whose long form is
``make failover-drill``). Needs Debian's ``postgresql-15-auto-failover``
(scripts/install-failover.sh); skipped without it, mandatory where SELPO_REQUIRE_FAILOVER=1 (CI).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from bench.failover import DrillOptions, free_port_base, report, run_drill, unavailable_reason

pytestmark = [pytest.mark.failover, pytest.mark.slow]


def _require_drill() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("SELPO_REQUIRE_FAILOVER") == "1":
        pytest.fail(
            f"the failover drill is mandatory here (SELPO_REQUIRE_FAILOVER=1): {reason}. "
            "Run scripts/install-failover.sh.",
            pytrace=False,
        )
    pytest.skip(f"failover drill skipped: {reason}")


def test_killing_the_primary_loses_no_parcel_doubles_none_and_answers_no_500(
    tmp_path: Path,
) -> None:
    _require_drill()
    options = DrillOptions(
        creators=3, before_s=2.0, after_s=1.0, port_base=free_port_base(), folder=tmp_path
    )
    figures = run_drill(options)
    report(figures)  # shown with -s, and on failure

    [switch] = figures.switches
    assert switch.new_primary != switch.killed  # the standby took over
    assert figures.shipments > 0
    assert figures.scans > 0
    assert figures.server_errors == 0, figures.statuses
    assert figures.errors == []  # every answer was 201, 200 or 503 (with Retry-After)
    # Read on the new primary, then on the old one once it rejoined as the standby.
    assert [c.node.split()[1] for c in figures.checks] == ["(primary)", "(rejoined"]
    for check in figures.checks:
        assert check.shipments_missing == 0, check
        assert check.events_missing == 0, check
        assert check.duplicate_shipments == 0, check
        assert check.duplicate_events == 0, check
