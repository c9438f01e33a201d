"""The import graph: layers point down, no cycle at any depth, every module importable first.

The contracts live in pyproject.toml (`[tool.importlinter]`) and are checked with
import-linter on the static graph; every module of llm-proxy and router-service is also
imported first, each in a clean process of its own, which catches what the static graph
cannot (an import that only works when another module happened to be imported before).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {"llm_proxy": ROOT / "llm-proxy/src", "router_service": ROOT / "router-service/src"}


def _env() -> dict[str, str]:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    # Compiled once and kept (outside the source tree), not compiled again by every child.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(ROOT / ".pytest_cache" / "pycache")
    return env


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_module_imports_first_in_a_fresh_process(package: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.architecture.import_first", str(PACKAGES[package]), package],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["modules"] > 20
    failures = report["failures"]
    assert failures == {}, "\n\n".join(f"{m}:\n{tb}" for m, tb in failures.items())
