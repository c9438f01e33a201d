"""Our router's trained weights and the score distribution shipped with them.

One `.npz` file: the dense layers of the scoring head (ReLU between them, a sigmoid at the end,
so a single layer is logistic regression), the standardisation of its input, how the
conversation was cut before embedding and whether the embedding ran in int8, which inputs the
head reads (embedding, cheap features or both; see `inputs.py`), the quantiles of
the scores seen on the training mix (for `target_strong_share` before any traffic), and a JSON
metadata record (data, split, metrics) that the model card repeats. numpy alone reads it: no
pickle, no torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from router_service.inputs import INPUT_KINDS, InputKind, input_width

DEFAULT_PATH = Path(__file__).with_name("checkpoints") / "minilm_router.npz"


@dataclass(frozen=True)
class Checkpoint:
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    input_mean: np.ndarray
    input_scale: np.ndarray
    max_chars: int
    max_tokens: int
    int8: bool
    score_quantiles: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    inputs: InputKind = "embedding+features"

    def score(self, inputs: np.ndarray) -> np.ndarray:
        """Strong-model win rates in (0, 1), one per input row."""
        hidden = (inputs - self.input_mean) / self.input_scale
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            hidden = hidden @ weight + bias
            if i < len(self.weights) - 1:
                hidden = np.maximum(hidden, 0.0)
        logits = hidden[:, 0].astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logits))


def check_shape(checkpoint: Checkpoint) -> None:
    """Raises ValueError unless the arrays fit together and the inputs the head reads: a
    checkpoint from elsewhere must fail here, not on the request path."""
    width = input_width(checkpoint.inputs)
    for name in ("input_mean", "input_scale"):
        if getattr(checkpoint, name).shape != (width,):
            raise ValueError(f"{name} has shape {getattr(checkpoint, name).shape}, not ({width},)")
    if not checkpoint.weights:
        raise ValueError("no layers")
    rows = width
    for i, (weight, bias) in enumerate(zip(checkpoint.weights, checkpoint.biases, strict=True)):
        if weight.ndim != 2 or weight.shape[0] != rows or bias.shape != (weight.shape[1],):
            raise ValueError(f"layer {i}: weight {weight.shape}, bias {bias.shape} after {rows}")
        rows = weight.shape[1]
    if rows != 1:
        raise ValueError(f"the last layer gives {rows} outputs, not 1")
    vectors = (checkpoint.input_mean, checkpoint.input_scale, checkpoint.score_quantiles)
    if not all(np.isfinite(a).all() for a in (*checkpoint.weights, *checkpoint.biases, *vectors)):
        raise ValueError("weights, scales or score quantiles are not all finite")
    if checkpoint.score_quantiles.ndim != 1 or len(checkpoint.score_quantiles) < 2:
        raise ValueError(f"score quantiles have shape {checkpoint.score_quantiles.shape}")
    if (checkpoint.input_scale == 0).any():
        raise ValueError("an input scale is zero")


def save(checkpoint: Checkpoint, path: Path) -> None:
    arrays: dict[str, np.ndarray] = {
        "input_mean": checkpoint.input_mean.astype(np.float32),
        "input_scale": checkpoint.input_scale.astype(np.float32),
        "score_quantiles": checkpoint.score_quantiles.astype(np.float64),
        "cut": np.array(
            [checkpoint.max_chars, checkpoint.max_tokens, int(checkpoint.int8)], dtype=np.int64
        ),
        "metadata": np.array(json.dumps(checkpoint.metadata, sort_keys=True)),
        "inputs": np.array(checkpoint.inputs),
    }
    for i, (weight, bias) in enumerate(zip(checkpoint.weights, checkpoint.biases, strict=True)):
        arrays[f"weight_{i}"] = weight.astype(np.float32)
        arrays[f"bias_{i}"] = bias.astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        np.savez_compressed(handle, **arrays)


def load(path: Path = DEFAULT_PATH) -> Checkpoint:
    with np.load(path, allow_pickle=False) as data:
        layers = sum(1 for name in data.files if name.startswith("weight_"))
        max_chars, max_tokens, int8 = (int(v) for v in data["cut"])
        return Checkpoint(
            weights=tuple(data[f"weight_{i}"] for i in range(layers)),
            biases=tuple(data[f"bias_{i}"] for i in range(layers)),
            input_mean=data["input_mean"],
            input_scale=data["input_scale"],
            max_chars=max_chars,
            max_tokens=max_tokens,
            int8=bool(int8),
            score_quantiles=data["score_quantiles"],
            metadata=json.loads(str(data["metadata"])),
            inputs=_input_kind(str(data["inputs"]), path),
        )


def _input_kind(value: str, path: Path) -> InputKind:
    for kind in INPUT_KINDS:
        if value == kind:
            return kind
    raise ValueError(f"{path}: unknown inputs {value!r}; known: {list(INPUT_KINDS)}")
