"""Deployment artefacts (Dockerfiles, compose files, the Pulumi program), checked offline."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The tools of the dev group (check-jsonschema, hadolint) sit beside the test interpreter.
VENV_BIN = Path(sys.executable).parent
