"""The input rows of our router's head, the same at training and at serving time: the
embedding of the conversation's routing text, the cheap features, or both (embedding first).

Which of them a head reads is part of its checkpoint: a head on features alone needs no
forward pass of the embedding model, one on the embedding alone no features."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from router_service.conversation import Message, routing_text
from router_service.embedding import DIMENSIONS, MiniLMEncoder
from router_service.features import LENGTH_FEATURE, NAMES, cheap_features

Conversation = Sequence[Message]
InputKind = Literal["embedding+features", "embedding", "features"]
INPUT_KINDS: tuple[InputKind, ...] = ("embedding+features", "embedding", "features")


def input_rows(
    conversations: Sequence[Conversation],
    encoder: MiniLMEncoder,
    max_chars: int,
    max_tokens: int,
    kind: InputKind = "embedding+features",
) -> np.ndarray:
    parts: list[np.ndarray] = []
    if kind != "features":
        texts = [routing_text(conversation, max_chars) for conversation in conversations]
        parts.append(encoder.encode(texts, max_tokens=max_tokens))
    if kind != "embedding":
        parts.append(np.stack([cheap_features(conversation) for conversation in conversations]))
    return np.hstack(parts)


def input_width(kind: InputKind) -> int:
    """How many columns a head reading `kind` takes."""
    return {"embedding": DIMENSIONS, "features": len(NAMES)}.get(kind, DIMENSIONS + len(NAMES))


def columns_of(rows: np.ndarray, kind: InputKind) -> np.ndarray:
    """The columns of a kind from full rows (`embedding+features`), as `input_rows` gives them."""
    if kind == "embedding":
        return rows[:, :DIMENSIONS]
    if kind == "features":
        return rows[:, DIMENSIONS:]
    return rows


def prompt_length(rows: np.ndarray) -> np.ndarray:
    """The prompt-length baseline's score from full rows: log characters of the user turns."""
    return rows[:, DIMENSIONS + LENGTH_FEATURE]
