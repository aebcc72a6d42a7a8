"""Round trips between geoclr encoders and their PyTorch twins (interop/python/geoclr_torch), float32.

usage: twin_check.py FOLDER — FOLDER/cases.json lists {name, config, input: 'volume'|'image'|'text'}.
Direction A (geoclr → torch): loads `<name>.state.*` with load_state_dict(strict=True), runs the twin on
`<name>.x` (channels-last, permuted here; `<name>.mask` for text) in eval then train mode, writes
`<name>.py.{eval,train}.{rep,proj}` and the running statistics after the train-mode call (`<name>.py.after.*`).
Direction B (torch → geoclr): builds a fresh twin (torch seed 1234), perturbs its batch-norm statistics, writes its
state_dict as `<name>.pystate.*` and its eval outputs on the same input as `<name>.pyB.eval.{rep,proj}`.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "interop", "python"))
from exchange import run_cases  # noqa: E402
from geoclr_torch import build_encoder  # noqa: E402


def channels_first(x):
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1)).contiguous()


def run(model, case, arrays):
    name = case["name"]
    if case["input"] == "text":
        ids = torch.tensor(arrays[f"{name}.x"], dtype=torch.int64)
        mask = torch.tensor(arrays[f"{name}.mask"], dtype=torch.int64)
        return model(ids, mask)
    return model(channels_first(torch.tensor(arrays[f"{name}.x"])))


def run_case(case, arrays, out):
    name = case["name"]
    model = build_encoder(case["config"])
    prefix = f"{name}.state."
    state = {k[len(prefix):]: torch.tensor(v) for k, v in arrays.items() if k.startswith(prefix)}
    for k, v in model.state_dict().items():
        if v.dtype == torch.int64 and k in state:
            state[k] = state[k].to(torch.int64)
    model.load_state_dict(state, strict=True)
    with torch.no_grad():
        for mode in ("eval", "train"):
            model.train(mode == "train")
            rep, proj = run(model, case, arrays)
            out[f"{name}.py.{mode}.rep"] = rep.numpy()
            out[f"{name}.py.{mode}.proj"] = proj.numpy()
    for k, b in model.named_buffers():
        out[f"{name}.py.after.{k}"] = b.numpy()

    torch.manual_seed(1234)
    twin = build_encoder(case["config"])
    with torch.no_grad():
        for k, b in twin.named_buffers():
            if k.endswith("running_mean"):
                b.normal_(0, 0.1)
            elif k.endswith("running_var"):
                b.uniform_(0.5, 1.5)
            elif k.endswith("num_batches_tracked"):
                b.fill_(7)
        twin.eval()
        rep, proj = run(twin, case, arrays)
    out[f"{name}.pyB.eval.rep"] = rep.numpy()
    out[f"{name}.pyB.eval.proj"] = proj.numpy()
    for k, v in twin.state_dict().items():
        out[f"{name}.pystate.{k}"] = v.numpy()


if __name__ == "__main__":
    run_cases(run_case)
