"""Python side of test/interop-weights.test.ts: weight round trips through real safetensors files.

usage: weights_check.py FOLDER — FOLDER/cases.json lists {name, config, kind}; FOLDER/<name>.io.safetensors holds
'x' (channels-first input, or int64 ids) and 'mask' (text).
  A (geoclr → PyTorch): the twin loads FOLDER/<name>.geoclr.safetensors (saveEncoderFile) with
    load_state_dict(safetensors_lite.load_file(...), strict=True), runs in eval then train mode, and writes
    'eval.rep', 'eval.proj', 'train.rep', 'train.proj' and its buffers after the train step ('after.<name>') to
    FOLDER/<name>.a.safetensors.
  B (PyTorch → geoclr): a fresh twin (torch seed 1234) with random batch-norm parameters and statistics is saved with
    safetensors_lite.save_file to FOLDER/<name>.torch.safetensors; its eval and train outputs go to
    FOLDER/<name>.b.safetensors.
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "interop", "python"))
from geoclr_torch import build_encoder  # noqa: E402
from geoclr_torch.safetensors_lite import load_file, save_file  # noqa: E402


def outputs(model, case, io, prefix, out):
    with torch.no_grad():
        for mode in ("eval", "train"):
            model.train(mode == "train")
            rep, proj = model(io["x"], io["mask"]) if case["kind"] == "text" else model(io["x"])
            out[f"{prefix}{mode}.rep"] = rep.contiguous()
            out[f"{prefix}{mode}.proj"] = proj.contiguous()


def main(folder):
    with open(os.path.join(folder, "cases.json")) as f:
        cases = json.load(f)
    for case in cases:
        name = case["name"]
        io = load_file(os.path.join(folder, f"{name}.io.safetensors"))

        twin = build_encoder(case["config"])
        twin.load_state_dict(load_file(os.path.join(folder, f"{name}.geoclr.safetensors")), strict=True)
        out = {}
        outputs(twin, case, io, "", out)
        for k, b in twin.named_buffers():
            out[f"after.{k}"] = b.contiguous()
        save_file(out, os.path.join(folder, f"{name}.a.safetensors"))

        torch.manual_seed(1234)
        twin = build_encoder(case["config"])
        with torch.no_grad():
            for m in twin.modules():
                if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                    m.running_mean.normal_(0, 0.2)
                    m.running_var.uniform_(0.5, 1.5)
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.normal_(0, 0.2)
                    m.num_batches_tracked.fill_(5)
        save_file(twin.state_dict(), os.path.join(folder, f"{name}.torch.safetensors"), metadata={"format": "pt"})
        out = {}
        outputs(twin, case, io, "", out)
        save_file(out, os.path.join(folder, f"{name}.b.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])
