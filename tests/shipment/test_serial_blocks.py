"""Tracking serials in blocks: unique across processes, most creations write no counter."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from selpo.db import create_db_engine
from selpo.migrate import upgrade_to_head
from selpo.models import TrackingSerial
from selpo.shipment.repository import SerialBlocks


def test_two_processes_blocks_never_overlap(backend: str, scratch_url: str) -> None:
    if backend != "postgresql":
        pytest.skip("blocks are PostgreSQL's: SQLite counts in the writer's transaction")
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    # Two engines stand for two server processes, each with its own memory of blocks.
    first, second = SerialBlocks(engine, block=10), SerialBlocks(engine, block=10)

    def take(blocks: SerialBlocks, count: int) -> list[int]:
        last = blocks.take("15395011", count)
        return list(range(last - count + 1, last + 1))

    with ThreadPoolExecutor(8) as pool:
        jobs = [pool.submit(take, first if n % 2 else second, 1 + n % 3) for n in range(120)]
        serials = [s for job in jobs for s in job.result()]
    with engine.connect() as connection:
        counter = connection.execute(
            select(TrackingSerial.last_serial).where(TrackingSerial.prefix == "15395011")
        ).scalar_one()
    engine.dispose()
    assert len(serials) == sum(1 + n % 3 for n in range(120))
    assert len(set(serials)) == len(serials)
    # Whole blocks were reserved, far fewer times than serials were handed out.
    assert counter % 10 == 0
    assert max(serials) <= counter < len(serials) + 2 * 10 + 3 * 2 * 10


def test_a_batch_larger_than_a_block_gets_consecutive_serials(
    backend: str, scratch_url: str
) -> None:
    if backend != "postgresql":
        pytest.skip("blocks are PostgreSQL's: SQLite counts in the writer's transaction")
    engine = create_db_engine(scratch_url)
    upgrade_to_head(engine)
    blocks = SerialBlocks(engine, block=10)
    assert blocks.take("15395011", 3) == 3
    assert blocks.take("15395011", 25) == 35  # 4..10 left as a gap; 11..35 reserved at once
    assert blocks.take("15395011", 2) == 12 + 25  # on from what the new block left
    engine.dispose()
