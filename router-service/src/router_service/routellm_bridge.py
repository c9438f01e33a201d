"""Importing RouteLLM's router table without its side effects getting in the way.

`routellm.routers.routers` builds an OpenAI client when it is imported (for its `mf` and
`sw_ranking` routers), and that constructor raises without OPENAI_API_KEY. Our router needs no
OpenAI key, so a placeholder stands in during the import when none is set: a stock router that
does need one then fails on its first call with an authentication error, which the registry
reports, instead of the whole module failing to import. Hub downloads are made offline by
default for the same reason: without a network they would hang start-up, not fail.
"""

from __future__ import annotations

import os
from types import ModuleType

_PLACEHOLDER_KEY = "sk-no-openai-key-configured"


def routellm_routers() -> ModuleType:
    """`routellm.routers.routers`: the `Router` base class and the `ROUTER_CLS` table."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    placeholder = "OPENAI_API_KEY" not in os.environ
    if placeholder:
        os.environ["OPENAI_API_KEY"] = _PLACEHOLDER_KEY
    try:
        import routellm.routers.routers as routers
    finally:
        if placeholder:
            del os.environ["OPENAI_API_KEY"]
    return routers
