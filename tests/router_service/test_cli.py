"""`router-service evaluate` replays held-out outcomes and prints the paper's metrics."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from router_service.cli import main

from tests.router_service.conftest import DATA_DIR


def test_evaluate_prints_metrics_and_writes_the_plot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plot = tmp_path / "pgr.png"
    # In process: the command is the same function; a new interpreter would only add imports.
    main(
        [
            "evaluate",
            "--data-dir",
            str(DATA_DIR),
            "--benchmarks",
            "gsm8k,mt_bench",
            "--plot",
            str(plot),
            "--random-seeds",
            "5",
        ]
    )
    stdout = capsys.readouterr().out
    rows = {
        (m["benchmark"], m["router"]): float(m["apgr"])
        for m in re.finditer(
            r"^(?P<benchmark>\w+)\s+(?P<router>ours|random)\s+\d+\s+(?P<apgr>[\d.]+)",
            stdout,
            re.MULTILINE,
        )
    }
    assert rows[("gsm8k", "ours")] >= 0.6
    assert rows[("mt_bench", "ours")] >= 0.7
    assert abs(rows[("gsm8k", "random")] - 0.5) < 0.1
    assert "CPT(50%)" in stdout and "saving@PGR>=0.95" in stdout
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_help_lists_the_three_commands() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "router_service", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    for command in ("serve", "train", "evaluate"):
        assert command in result.stdout
