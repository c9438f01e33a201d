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
            r"^(?P<benchmark>\w+)\s+(?P<router>ours|length|random)\s+\d+\s+(?P<apgr>[\d.]+)",
            stdout,
            re.MULTILINE,
        )
    }
    assert rows[("gsm8k", "ours")] >= 0.6
    assert rows[("mt_bench", "ours")] >= 0.7
    assert abs(rows[("gsm8k", "random")] - 0.5) < 0.1
    # Longer GSM8K problems are harder for the weak model: the baseline beats random there.
    assert 0.5 < rows[("gsm8k", "length")] < rows[("gsm8k", "ours")]
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


def test_evaluate_transfer_trains_on_some_benchmarks_and_tests_on_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "rows.npy"
    arguments = ["evaluate", "--transfer", "--data-dir", str(DATA_DIR), "--cache", str(cache)]
    main([*arguments, "--benchmarks", "mt_bench,alpaca_eval"])
    stdout = capsys.readouterr().out
    cells = re.findall(
        r"^\| (?P<train>[\w +]+) \| (?P<test>\w+) \| (?P<ours>[\d.]+) \| (?P<length>[\d.]+) "
        r"\| (?P<random>[\d.]+) \|",
        stdout,
        re.MULTILINE,
    )
    recipes = re.findall(r"^## ([\w-]+): transfer score ([\d.]+)", stdout, re.MULTILINE)
    assert len(recipes) >= 2
    # Each recipe: trained on MT-Bench tested on AlpacaEval, and the other way round.
    assert len(cells) == 2 * len(recipes)
    assert {(train, test) for train, test, *_ in cells} == {
        ("mt_bench", "alpaca_eval"),
        ("alpaca_eval", "mt_bench"),
    }
    for *_, ours, length, random in cells:
        assert float(random) == pytest.approx(0.5, abs=0.01)
        assert 0.0 < float(ours) < 1.0 and 0.0 < float(length) < 1.0
    # The same prompts give the same length baseline whatever the recipe.
    assert len({(test, length) for _, test, _, length, _ in cells}) == 2
    assert cache.exists()


def test_evaluate_transfer_needs_two_benchmarks() -> None:
    with pytest.raises(SystemExit, match="at least two"):
        main(["evaluate", "--transfer", "--data-dir", str(DATA_DIR), "--benchmarks", "gsm8k"])
