"""PyTorch side of `geoclr bench ca`: one SepCLR training step (both views stacked, forward, sep_clr_loss, backward,
AdamW) of geoclr_torch.SepCLRModel on CPU (torch.set_num_threads(THREADS)).

usage: ca_torch.py SPEC.json — prints {case name: {"min": ms, "median": ms}} as JSON on the last line.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop", "python"))
from geoclr_torch import SepCLRModel, sep_clr_loss  # noqa: E402
from nn_torch import median_ms as timing  # noqa: E402  (same folder: best-of-N and median, in ms)


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    out = {}
    for case in spec["cases"]:
        model = SepCLRModel(case["encoder"], case["commonDim"], case["salientDim"], hidden=case["hidden"])
        model.train()
        b = case["batch"]
        x = torch.randn(2 * b, 1, *case["shape"])
        group = torch.tensor([i % 2 for i in range(b)])
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3)

        def step():
            opt.zero_grad(set_to_none=True)
            _, _, ch, sh = model(x)
            total, _ = sep_clr_loss(ch[:b], ch[b:], sh[:b], sh[b:], group)
            total.backward()
            opt.step()
            float(total)

        out[case["name"]] = timing(step, spec["reps"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
