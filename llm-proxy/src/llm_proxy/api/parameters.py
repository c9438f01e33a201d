"""Refusing request fields the client API does not document (OpenAI does the same).

A field a provider would never see is still refused rather than dropped: a client that
sends `api_base` or `mock_response` learns at once that the gateway does not take it,
and the answer names the field. What may pass is listed in `upstream.parameters`.
"""

from __future__ import annotations

from typing import Any

from llm_proxy.pipeline.errors import bad_request
from llm_proxy.upstream.parameters import undocumented


def refuse_undocumented(api: str, body: dict[str, Any]) -> None:
    unknown = undocumented(api, body)
    if not unknown:
        return
    names = ", ".join(sorted(unknown))
    plural = "s" if len(unknown) > 1 else ""
    raise bad_request(
        f"Unrecognized request argument{plural} supplied: {names}. The gateway forwards only "
        "the parameters its API documents.",
        param=sorted(unknown)[0],
    )
