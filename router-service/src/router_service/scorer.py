"""Our router's computation: MiniLM embedding of the conversation and/or cheap features (as
its checkpoint says), scored by the small head trained offline (see `training/`). It needs
torch and numpy only; `router.py` makes it a RouteLLM `Router`, whose module takes seconds to
import (see `registry.py`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from router_service import checkpoint as checkpoint_io
from router_service.conversation import Message
from router_service.embedding import MiniLMEncoder
from router_service.inputs import input_rows

NAME = "minilm"
Prompt = str | list[Message] | tuple[Message, ...]


class MiniLMScorer:
    """`calculate_strong_win_rate` takes a prompt string or a whole list of chat messages."""

    def __init__(
        self,
        checkpoint_path: str | Path | None = None,
        encoder: MiniLMEncoder | None = None,
    ) -> None:
        self.checkpoint = checkpoint_io.load(
            Path(checkpoint_path) if checkpoint_path else checkpoint_io.DEFAULT_PATH
        )
        encoder = encoder or MiniLMEncoder.from_package()
        # Served exactly as trained: int8 embeddings if the head learnt on int8 ones.
        self.encoder = encoder.quantised() if self.checkpoint.int8 else encoder

    def calculate_strong_win_rate(self, prompt: Prompt) -> float:
        return float(self.batch_strong_win_rates([_as_messages(prompt)])[0])

    def batch_strong_win_rates(self, conversations: list[list[Message]]) -> np.ndarray:
        return self.checkpoint.score(self.inputs(conversations))

    def inputs(self, conversations: list[list[Message]]) -> np.ndarray:
        cut = self.checkpoint
        return input_rows(conversations, self.encoder, cut.max_chars, cut.max_tokens, cut.inputs)


def _as_messages(prompt: Prompt) -> list[Message]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)
