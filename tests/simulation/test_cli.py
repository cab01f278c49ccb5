"""The command: a tiny run writes the three files."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from selpo.simulation.cli import simulate_command


def test_simulate_writes_the_report(tmp_path: Path) -> None:
    app = typer.Typer()
    app.command()(simulate_command)
    plan = tmp_path / "plan.txt"
    plan.write_text("# offices\n155650\n", encoding="utf-8")
    args = ["--days", "2", "--scale", "0.02", "--report", str(tmp_path / "r")]
    result = CliRunner().invoke(app, [*args, "--plan-offices", str(plan)])
    assert result.exit_code == 0, result.output
    assert "orders" in result.output
    for name in ("kpi.csv", "offices.csv", "index.html"):
        assert (tmp_path / "r" / name).is_file()
    assert (tmp_path / "r" / "kpi.csv").read_text(encoding="utf-8").startswith("area,orders")
