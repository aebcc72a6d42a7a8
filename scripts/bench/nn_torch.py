"""PyTorch side of `geoclr bench nn`: times the same layers and encoder on CPU (torch.set_num_threads(THREADS)).

usage: nn_torch.py SPEC.json — prints a JSON object {case name: {"min": ms, "median": ms}}. The minimum is the
robust statistic on a shared machine (other load only ever adds time); the median is reported beside it.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop", "python"))
from geoclr_torch import build_encoder  # noqa: E402


def median_ms(fn, reps, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"min": times[0], "median": times[len(times) // 2]}


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    reps = spec["reps"]
    out = {}
    for case in spec["convs"]:
        b, d, h, w, c = case["input"]
        x = torch.randn(b, c, d, h, w)
        weight = torch.randn(case["out"], c, *([case["kernel"]] * 3), requires_grad=True)
        xg = x.clone().requires_grad_(case["inputGrad"])
        s, p = case["stride"], case["padding"]
        with torch.no_grad():
            out[case["name"] + " fwd"] = median_ms(lambda: F.conv3d(x, weight, None, s, p), reps)

        def step():
            y = F.conv3d(xg, weight, None, s, p)
            (y * y).mean().backward()
        out[case["name"] + " fwd+bwd"] = median_ms(step, reps)
    enc = spec["encoder"]
    model = build_encoder(enc["config"])
    b, d, h, w, c = enc["input"]
    x = torch.randn(b, c, d, h, w)

    def train_step():
        model.zero_grad(set_to_none=True)
        rep, proj = model(x)
        ((proj * proj).mean() + rep.mean()).backward()
    model.train()
    out["encoder train step"] = median_ms(train_step, reps)
    model.eval()
    with torch.no_grad():
        out["encoder inference"] = median_ms(lambda: model(x), reps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
