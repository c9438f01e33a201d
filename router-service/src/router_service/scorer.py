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
    """`calculate_strong_win_rate` takes a prompt string or a whole list of chat messages.

    `use` swaps the checkpoint while requests are being scored: the checkpoint and the
    encoder it needs are one value, replaced in one assignment, so a request reads the old
    pair or the new one, never half of each."""

    def __init__(
        self,
        checkpoint_path: str | Path | None = None,
        encoder: MiniLMEncoder | None = None,
    ) -> None:
        self._plain = encoder or MiniLMEncoder.from_package()
        self._int8: MiniLMEncoder | None = None
        self.use(
            checkpoint_io.load(
                Path(checkpoint_path) if checkpoint_path else checkpoint_io.DEFAULT_PATH
            )
        )

    def use(self, checkpoint: checkpoint_io.Checkpoint) -> None:
        # Served exactly as trained: int8 embeddings if the head learnt on int8 ones.
        if checkpoint.int8 and self._int8 is None:
            self._int8 = self._plain.quantised()
        encoder = self._int8 if checkpoint.int8 and self._int8 else self._plain
        self._served = (checkpoint, encoder)

    @property
    def checkpoint(self) -> checkpoint_io.Checkpoint:
        return self._served[0]

    @property
    def encoder(self) -> MiniLMEncoder:
        return self._served[1]

    def calculate_strong_win_rate(self, prompt: Prompt) -> float:
        return float(self.batch_strong_win_rates([_as_messages(prompt)])[0])

    def batch_strong_win_rates(self, conversations: list[list[Message]]) -> np.ndarray:
        checkpoint, encoder = self._served
        return checkpoint.score(_inputs(checkpoint, encoder, conversations))

    def inputs(self, conversations: list[list[Message]]) -> np.ndarray:
        return _inputs(*self._served, conversations)


def _inputs(
    cut: checkpoint_io.Checkpoint, encoder: MiniLMEncoder, conversations: list[list[Message]]
) -> np.ndarray:
    return input_rows(conversations, encoder, cut.max_chars, cut.max_tokens, cut.inputs)


def _as_messages(prompt: Prompt) -> list[Message]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    return list(prompt)
