"""PyTorch float64 references for the nn tests.

usage: nn_reference.py FOLDER — reads FOLDER/cases.json and the exchange arrays (test/support/exchange.py). Each case
names a torch module (a Python expression over `nn`, `torch`, `geoclr_torch`), its state_dict (arrays
`<case>.state.<name>`), its mode (train/eval), inputs (`<case>.in.<name>`) and a call expression over `m` and the
inputs. The reference runs in float64, takes loss = Σ out · r (`<case>.r`), and writes `<case>.out`, `<case>.grad.in.<x>`
for float inputs, `<case>.grad.state.<param>` and the buffers after the call, `<case>.after.<buffer>`.
Inputs listed in `channels_last` are permuted to channels-first before the call and the output back.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "interop", "python"))
from exchange import run_cases  # noqa: E402

torch.set_default_dtype(torch.float64)


def to_cf(x):
    return x.permute(0, x.dim() - 1, *range(1, x.dim() - 1))


def to_cl(x):
    return x.permute(0, *range(2, x.dim()), 1)


def run_case(case, arrays, out):
    name = case["name"]
    scope = {"nn": nn, "torch": torch, "F": F}
    if "geoclr_torch" in case["module"]:
        import geoclr_torch  # noqa: F401
        scope["geoclr_torch"] = geoclr_torch
    m = eval(case["module"], scope).double()
    prefix = f"{name}.state."
    state = {k[len(prefix):]: torch.tensor(v) for k, v in arrays.items() if k.startswith(prefix)}
    for k, v in m.state_dict().items():
        if k in state and v.dtype == torch.int64:
            state[k] = state[k].to(torch.int64)
    m.load_state_dict(state, strict=True)
    m.train(case["train"])
    inputs = {}
    for key in case["inputs"]:
        arr = arrays[f"{name}.in.{key}"]
        t = torch.tensor(arr, dtype=torch.float64 if arr.dtype.kind == "f" else torch.int64)
        if key in case.get("bool_inputs", []):
            t = t.bool()
        if t.dtype == torch.float64:
            t.requires_grad_(True)
        inputs[key] = t
    call_inputs = {k: (to_cf(v) if k in case.get("channels_last", []) else v) for k, v in inputs.items()}
    y = eval(case.get("call", "m(x)"), {**scope, "m": m, **call_inputs})
    if case.get("channels_last"):
        y = to_cl(y)
    out[f"{name}.out"] = y.detach().numpy()
    params = [(k, p) for k, p in m.named_parameters()]
    float_inputs = [(k, v) for k, v in inputs.items() if v.requires_grad]
    loss = (y * torch.tensor(arrays[f"{name}.r"])).sum()
    grads = torch.autograd.grad(loss, [v for _, v in float_inputs] + [p for _, p in params], allow_unused=True)
    for (k, v), g in zip(float_inputs + params, grads):
        kind = "in" if any(k == fk for fk, _ in float_inputs) and v is inputs.get(k) else "state"
        out[f"{name}.grad.{kind}.{k}"] = (torch.zeros_like(v) if g is None else g).detach().numpy()
    for k, b in m.named_buffers():
        out[f"{name}.after.{k}"] = b.detach().numpy()


if __name__ == "__main__":
    run_cases(run_case)
