"""Python side of test/interop-export.test.ts: checks geoclr's ONNX exports and runs the PyTorch twins.

usage: export_check.py FOLDER — FOLDER/cases.json lists {name, config, kind}. For each case:
  - onnx.checker.check_model(onnx.load(FOLDER/<name>.onnx), full_check=True); the result, the opset, the IR version
    and the graph's input/output shapes go to FOLDER/checker.json;
  - the twin (geoclr_torch.build_encoder(config)) loads FOLDER/<name>.safetensors (saveEncoderFile) with
    load_state_dict(strict=True) and runs in eval mode on FOLDER/<name>.io.safetensors ('x': channels-first input or
    int64 ids, 'mask'); its outputs go to FOLDER/<name>.twin.safetensors ('representation', 'projection').
"""
import json
import os
import sys

import onnx
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "interop", "python"))
from geoclr_torch import build_encoder, load_file, save_file  # noqa: E402


def dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def main(folder):
    with open(os.path.join(folder, "cases.json")) as f:
        cases = json.load(f)
    report = {}
    for case in cases:
        name = case["name"]
        entry = {}
        try:
            model = onnx.load(os.path.join(folder, f"{name}.onnx"))
            onnx.checker.check_model(model, full_check=True)
            entry["checker"] = "ok"
        except Exception as e:  # the test prints it
            entry["checker"] = f"{type(e).__name__}: {e}"
            model = None
        if model is not None:
            entry["opset"] = [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")][0]
            entry["ir_version"] = model.ir_version
            entry["inputs"] = {v.name: dims(v) for v in model.graph.input}
            entry["outputs"] = {v.name: dims(v) for v in model.graph.output}
        report[name] = entry

        twin = build_encoder(case["config"])
        twin.load_state_dict(load_file(os.path.join(folder, f"{name}.safetensors")), strict=True)
        twin.eval()
        io = load_file(os.path.join(folder, f"{name}.io.safetensors"))
        with torch.no_grad():
            rep, proj = twin(io["x"], io["mask"]) if case["kind"] == "text" else twin(io["x"])
        save_file({"representation": rep.contiguous(), "projection": proj.contiguous()}, os.path.join(folder, f"{name}.twin.safetensors"))
    with open(os.path.join(folder, "checker.json"), "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(sys.argv[1])
