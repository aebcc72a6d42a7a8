"""torch.optim reference for test/nn-optim.test.ts (float32).

usage: optim_check.py FOLDER — cases.json: [{name, kind, options, groups: [{params, lr?, weightDecay?}], steps,
factors, clip}]; arrays `<name>.p.<param>` (initial values), `<name>.g<k>.<param>` (gradient at step k).
Writes `<name>.after<k>.<param>` for every step.
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from exchange import run_cases  # noqa: E402


def run_case(case, arrays, out):
    name = case["name"]
    params = {}
    for g in case["groups"]:
        for p in g["params"]:
            params[p] = torch.nn.Parameter(torch.tensor(arrays[f"{name}.p.{p}"], dtype=torch.float32))
    o = case["options"]
    groups = []
    for g in case["groups"]:
        d = {"params": [params[p] for p in g["params"]]}
        if "lr" in g:
            d["lr"] = g["lr"]
        if "weightDecay" in g:
            d["weight_decay"] = g["weightDecay"]
        groups.append(d)
    kind = case["kind"]
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        opt = cls(groups, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weightDecay"])
    else:
        opt = torch.optim.SGD(groups, lr=o["lr"], momentum=o["momentum"], dampening=o["dampening"],
                              nesterov=o["nesterov"], weight_decay=o["weightDecay"])
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: case["factors"][s])
    for k in range(case["steps"]):
        for p, t in params.items():
            t.grad = torch.tensor(arrays[f"{name}.g{k}.{p}"], dtype=torch.float32)
        if case.get("clip"):
            torch.nn.utils.clip_grad_norm_(list(params.values()), case["clip"])
        opt.step()
        sched.step()
        for p, t in params.items():
            out[f"{name}.after{k}.{p}"] = t.detach().numpy().copy()


if __name__ == "__main__":
    run_cases(run_case)
