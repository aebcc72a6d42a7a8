"""Builds a tiny BERT-like encoder with PyTorch, exports it to ONNX the way transformers.js expects a model folder,
and writes reference embeddings (for geoclr's frozen pretrained text-encoder tests; nothing is downloaded).

  python3 tiny_bert.py OUT_DIR IDS_JSON REF_JSON [--vocab N] [--hidden H] [--layers L] [--heads A] [--max-pos P]

OUT_DIR gets config.json and onnx/model.onnx (inputs input_ids, attention_mask, token_type_ids: int64 [batch, seq];
output last_hidden_state: float32 [batch, seq, hidden]). IDS_JSON holds a list of token-id lists (one text each,
with its special tokens, no padding); REF_JSON receives {"mean": [[...]], "cls": [[...]]}: each text run alone
(no padding), last_hidden_state mean-pooled over its tokens and taken at position 0.

The architecture is BERT's (Devlin et al. 2019): word + position + token-type embeddings, LayerNorm, post-LN
transformer layers (multi-head self-attention, GELU feed-forward), additive -1e4 mask on padded keys.
"""
import argparse
import json
import math
import os

import torch
from torch import nn


class Layer(nn.Module):
    def __init__(self, hidden, heads, inter):
        super().__init__()
        self.heads = heads
        self.hidden = hidden
        self.q = nn.Linear(hidden, hidden)
        self.k = nn.Linear(hidden, hidden)
        self.v = nn.Linear(hidden, hidden)
        self.o = nn.Linear(hidden, hidden)
        self.ln1 = nn.LayerNorm(hidden, eps=1e-12)
        self.ff1 = nn.Linear(hidden, inter)
        self.ff2 = nn.Linear(inter, hidden)
        self.ln2 = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, key_bias):
        hidden = self.hidden
        d = hidden // self.heads

        def heads(t):
            return t.reshape(t.shape[0], t.shape[1], self.heads, d).transpose(1, 2)

        q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + key_bias
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2)
        ctx = ctx.reshape(ctx.shape[0], ctx.shape[1], hidden)
        x = self.ln1(x + self.o(ctx))
        return self.ln2(x + self.ff2(nn.functional.gelu(self.ff1(x))))


class TinyBert(nn.Module):
    def __init__(self, vocab, hidden, layers, heads, inter, max_pos, type_vocab=2):
        super().__init__()
        self.word = nn.Embedding(vocab, hidden)
        self.position = nn.Embedding(max_pos, hidden)
        self.token_type = nn.Embedding(type_vocab, hidden)
        self.ln = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList([Layer(hidden, heads, inter) for _ in range(layers)])

    def forward(self, input_ids, attention_mask, token_type_ids):
        positions = torch.cumsum(torch.ones_like(input_ids), dim=1) - 1
        x = self.ln(self.word(input_ids) + self.position(positions) + self.token_type(token_type_ids))
        key_bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * -10000.0
        for layer in self.layers:
            x = layer(x, key_bias)
        return x


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out_dir")
    p.add_argument("ids_json")
    p.add_argument("ref_json")
    p.add_argument("--vocab", type=int, default=30522)
    p.add_argument("--hidden", type=int, default=32)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--max-pos", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()

    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    model = TinyBert(a.vocab, a.hidden, a.layers, a.heads, 2 * a.hidden, a.max_pos).eval()

    os.makedirs(os.path.join(a.out_dir, "onnx"), exist_ok=True)
    config = {
        "model_type": "bert",
        "architectures": ["BertModel"],
        "vocab_size": a.vocab,
        "hidden_size": a.hidden,
        "num_hidden_layers": a.layers,
        "num_attention_heads": a.heads,
        "intermediate_size": 2 * a.hidden,
        "hidden_act": "gelu",
        "max_position_embeddings": a.max_pos,
        "type_vocab_size": 2,
        "layer_norm_eps": 1e-12,
    }
    with open(os.path.join(a.out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    example = torch.tensor([[101, 1996, 102], [101, 2075, 102]])
    opset = min(17, torch.onnx._constants.ONNX_MAX_OPSET)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (example, torch.ones_like(example), torch.zeros_like(example)),
            os.path.join(a.out_dir, "onnx", "model.onnx"),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={n: {0: "batch", 1: "sequence"} for n in ["input_ids", "attention_mask", "token_type_ids", "last_hidden_state"]},
            opset_version=opset,
        )

    with open(a.ids_json) as f:
        texts = json.load(f)
    mean, cls = [], []
    with torch.no_grad():
        for ids in texts:
            t = torch.tensor([ids])
            h = model(t, torch.ones_like(t), torch.zeros_like(t))[0].double()
            mean.append(h.mean(dim=0).tolist())
            cls.append(h[0].tolist())
    with open(a.ref_json, "w") as f:
        json.dump({"mean": mean, "cls": cls, "opset": opset}, f)


if __name__ == "__main__":
    main()
