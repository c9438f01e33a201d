"""The input rows of our router's head, the same at training and at serving time:
the embedding of the conversation's routing text, then the cheap features."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from router_service.conversation import Message, routing_text
from router_service.embedding import MiniLMEncoder
from router_service.features import cheap_features

Conversation = Sequence[Message]


def input_rows(
    conversations: Sequence[Conversation],
    encoder: MiniLMEncoder,
    max_chars: int,
    max_tokens: int,
) -> np.ndarray:
    texts = [routing_text(conversation, max_chars) for conversation in conversations]
    embeddings = encoder.encode(texts, max_tokens=max_tokens)
    features = np.stack([cheap_features(conversation) for conversation in conversations])
    return np.hstack([embeddings, features])
