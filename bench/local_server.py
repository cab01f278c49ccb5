"""The real application under uvicorn on 127.0.0.1, for the benchmarks that go through HTTP.

Loopback only, one subprocess, stopped when the block ends.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from selpo.app import create_app
from selpo.config import Settings

REPO = Path(__file__).resolve().parents[1]
# The server subprocess reads its database from here (see ``http_app``).
DATABASE_URL_ENV = "SELPO_BENCH_DATABASE_URL"
SERVER_START_TIMEOUT_S = 60.0


def http_app() -> FastAPI:
    """The application uvicorn runs (``--factory``), on the benchmark's database."""
    return create_app(Settings(database_url=os.environ[DATABASE_URL_ENV]))


def free_port() -> int:
    """A free loopback port (uvicorn binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    with httpx.Client(base_url=base, trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                output = log.read_text(encoding="utf-8", errors="replace")
                raise RuntimeError(f"the server exited with {process.returncode}:\n{output}")
            try:
                if client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within {SERVER_START_TIMEOUT_S:g} s")


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children alive now (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


@contextmanager
def serve_process(
    database_url: str, log: Path, *, extra: Sequence[str] = (), nice: int = 0
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run the application on ``database_url`` until the block ends; yield its base URL and
    the server process (``--workers N`` makes it the parent of N worker processes), ``nice``
    steps below the bench's own scheduling priority."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.local_server:http_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        *extra,
    ]
    env = {**os.environ, DATABASE_URL_ENV: database_url}
    with log.open("wb") as output:
        process = subprocess.Popen(
            ["nice", "-n", str(nice), *command] if nice else command,
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(process, base, log)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve(database_url: str, log: Path, *, extra: Sequence[str] = ()) -> Iterator[str]:
    """Run the application on ``database_url`` until the block ends; yield its base URL."""
    with serve_process(database_url, log, extra=extra) as (base, _process):
        yield base
