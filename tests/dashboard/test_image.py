"""The llm-proxy image carries the console (no Docker engine here: read off the Dockerfile).

Its own stage installs from the lock (`npm ci`) and types the API from the OpenAPI
document the image's gateway writes; the final image holds only the static export.
"""

from __future__ import annotations

import re

from tests.dashboard.conftest import REPO


def test_the_llm_proxy_image_builds_and_ships_the_dashboard() -> None:
    text = (REPO / "llm-proxy" / "Dockerfile").read_text()
    stage = re.search(r"^FROM \S+ AS dashboard\n(.*?)(?=^FROM )", text, re.MULTILINE | re.DOTALL)
    assert stage, "a stage of its own for the dashboard"
    body = stage[1]
    assert "npm ci" in body and "npm install" not in body
    assert "COPY --from=build /src/openapi.json" in body and "npm run types" in body
    assert "NEXT_TELEMETRY_DISABLED=1" in body
    final = text.rsplit("\nFROM ", 1)[1]
    assert "COPY --from=dashboard /dashboard/out /opt/llm-proxy-ui" in final
    assert "node" not in final.split("\n", 1)[0], "no Node.js in the final image"
