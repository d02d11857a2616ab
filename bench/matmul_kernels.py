"""onnxruntime's CPU matrix kernels at the encoder's shapes: which one a faster engine could stand on.

24 chained multiplications with the FFN shapes of multilingual-e5-small (384 -> 1536 -> 384, twelve times), random
weights, one input of M tokens, on 1 and 2 intra-op threads (spinning on, as the engine's sessions):

- `nbits8`: MatMulNBits, block 32, one code a byte, int8 activations per block (accuracy level 4): the default
  engine's kernel (`kb/embedders/e5_graph.py`);
- `nbits4`: the same with two codes a byte (graph 1);
- `dq8`: DynamicQuantizeMatMul, int8 weights with one scale per column, uint8 activations with one scale per call;
- `f32`: MatMul in fp32.

Prints the median of 200 calls (after 20 to warm up). Measures kernels only; whether a kernel keeps the model's
vectors is bench/equivalence.py's question (docs/benchmarks.md, "Tried: int8 weights per column").

Usage: python bench/matmul_kernels.py [--tokens 15,512,2048] [--kernels nbits8,nbits4,dq8,f32]"""

from __future__ import annotations

import argparse
import time

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

H, FF, CHAIN, QK = 384, 1536, 24, 32


def model(kind: str, rng: np.random.Generator) -> bytes:
    nodes, inits, x = [], [], "x"
    for i in range(CHAIN):
        k, n = (H, FF) if i % 2 == 0 else (FF, H)
        if kind.startswith("nbits"):
            bits = int(kind[5:])
            q = (rng.integers(120, 136, (n, k // QK, QK), dtype=np.uint8) if bits == 8
                 else rng.integers(0, 256, (n, k // QK, QK // 2), dtype=np.uint8))
            s = rng.random(n * (k // QK)).astype(np.float32) * 0.01
            inits += [numpy_helper.from_array(q, f"q{i}"), numpy_helper.from_array(s, f"s{i}")]
            nodes.append(helper.make_node("MatMulNBits", [x, f"q{i}", f"s{i}"], [f"y{i}"], domain="com.microsoft",
                                          K=k, N=n, bits=bits, block_size=QK, accuracy_level=4))
        elif kind == "dq8":
            inits += [numpy_helper.from_array(rng.integers(-127, 128, (k, n), dtype=np.int8), f"w{i}"),
                      numpy_helper.from_array(rng.random(n).astype(np.float32) * 0.01, f"s{i}"),
                      numpy_helper.from_array(np.zeros(n, np.int8), f"z{i}")]
            nodes.append(helper.make_node("DynamicQuantizeMatMul", [x, f"w{i}", f"s{i}", f"z{i}"], [f"y{i}"],
                                          domain="com.microsoft"))
        elif kind == "f32":
            inits.append(numpy_helper.from_array((rng.standard_normal((k, n)) * 0.02).astype(np.float32), f"w{i}"))
            nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"y{i}"]))
        else:
            raise SystemExit(f"unknown kernel '{kind}': use nbits8, nbits4, dq8 or f32")
        x = f"y{i}"
    graph = helper.make_graph(nodes, kind, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, H])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, [None, H])], inits)
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tokens", default="15,512,2048")
    ap.add_argument("--kernels", default="nbits8,nbits4,dq8,f32")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    for m in (int(t) for t in args.tokens.split(",")):
        x = (rng.standard_normal((m, H)) * 0.1).astype(np.float32)
        for kind in args.kernels.split(","):
            for threads in (1, 2):
                opts = ort.SessionOptions()
                opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
                opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
                session = ort.InferenceSession(model(kind, rng), opts, providers=["CPUExecutionProvider"])
                for _ in range(20):
                    session.run(None, {"x": x})
                times = []
                for _ in range(200):
                    t = time.perf_counter()
                    session.run(None, {"x": x})
                    times.append(time.perf_counter() - t)
                print(f"{m:5d} tokens  {kind:7s} {threads} thread(s)  {np.median(times) * 1000:8.3f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
