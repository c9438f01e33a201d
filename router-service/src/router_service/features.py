"""Cheap signals of difficulty read off the whole conversation, beside the embedding.

They are about the shape of the request (how long, how many turns, code, maths, explicit
reasoning), not its topic, so they carry over from benchmarks to real traffic better than an
embedding does. All are regular-expression counts: linear in the text and well under a
millisecond for a 2,000-token conversation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from router_service.conversation import Message, user_turns

_CODE = re.compile(
    r"```|\bdef |\bclass |\bimport |#include|\bfunction\b|=>|\breturn\b|[{};]\s*$|\bSELECT\b",
    re.MULTILINE,
)
_MATH = re.compile(
    r"\d+(?:\.\d+)?\s*[-+*/^="
    "\u00d7\u00f7"  # multiplication and division signs
    r"]\s*\d|\\frac|\\sqrt|\^\d|\b(?:solve|equation|integral|derivative"
    r"|probability|prove|calculate|compute|how many|how much|percent)\b",
    re.IGNORECASE,
)
_REASONING = re.compile(
    r"\b(?:why|explain|step by step|reason|analy[sz]e|compare|evaluate|implement|design)\b",
    re.IGNORECASE,
)
_DIGITS = re.compile(r"\d")

NAMES = (
    "log_latest_chars",
    "log_user_chars",
    "user_turns",
    "has_system",
    "tool_messages",
    "code_markers",
    "math_markers",
    "reasoning_markers",
    "digit_share",
)
# The prompt-length baseline's score: log characters of all user turns.
LENGTH_FEATURE = NAMES.index("log_user_chars")


def cheap_features(messages: Sequence[Message]) -> np.ndarray:
    """One row of `len(NAMES)` floats, each of order one."""
    turns = user_turns(messages)
    latest = turns[-1] if turns else ""
    everything = "\n".join(turns)
    chars = max(len(everything), 1)
    return np.array(
        [
            math.log1p(len(latest)) / 8.0,
            math.log1p(len(everything)) / 8.0,
            min(len(turns), 10) / 5.0,
            float(any(m.get("role") in ("system", "developer") for m in messages)),
            min(sum(m.get("role") == "tool" for m in messages), 20) / 10.0,
            _saturating(len(_CODE.findall(everything))),
            _saturating(len(_MATH.findall(everything))),
            _saturating(len(_REASONING.findall(everything))),
            len(_DIGITS.findall(everything)) / chars * 10.0,
        ],
        dtype=np.float32,
    )


def _saturating(count: int) -> float:
    # The first markers say much, the twentieth little.
    return math.log1p(count) / 2.0
