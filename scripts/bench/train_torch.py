"""PyTorch side of `geoclr bench train`: the same training step as geoclr's demo — the encoder twin on two views
of a batch, y-Aware InfoNCE (LOSSES.md §5, vectorised) on the projections, AdamW — on CPU with
torch.set_num_threads(THREADS).

usage: train_torch.py SPEC.json — prints a JSON object with per-step times (min/median ms), the phases of a step
(forward, loss + backward, optimizer) and the peak resident memory (ru_maxrss) before and after training.
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "interop", "python"))
from geoclr_torch import build_encoder  # noqa: E402


def yaware_infonce(z1, z2, age, sex, tau, sigma):
    """y-Aware InfoNCE with the kernel rbf(σ)(age) × δ(sex), self-pairs excluded, rows normalised."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    a = torch.cat([age, age])
    s = torch.cat([sex, sex])
    k = torch.exp(-((a[:, None] - a[None, :]) ** 2) / (2 * sigma**2)) * (s[:, None] == s[None, :]).float()
    eye = torch.eye(len(a), dtype=torch.bool)
    k = k.masked_fill(eye, 0)
    w = k / k.sum(1, keepdim=True)
    logits = (z @ z.T / tau).masked_fill(eye, float("-inf"))
    logp = torch.log_softmax(logits, dim=1).masked_fill(eye, 0)
    return -(w * logp).sum(1).mean()


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main():
    spec = json.load(open(sys.argv[1]))
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    b, d, h, w = spec["batch"], *spec["volume"]
    model = build_encoder(spec["encoder"])
    model.train()
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 1e-4}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    views = [torch.randn(b, 1, d, h, w) for _ in range(2)]
    age = torch.rand(b) * 65 + 20
    sex = (torch.rand(b) > 0.5).float()
    rss_before = rss_mb()
    phases = {"forward": [], "loss+backward": [], "optimizer": [], "step": []}

    def step():
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        outs = [model(v)[1] for v in views]
        t1 = time.perf_counter()
        loss = yaware_infonce(outs[0], outs[1], age, sex, 0.1, 5.0)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        phases["forward"].append((t1 - t0) * 1000)
        phases["loss+backward"].append((t2 - t1) * 1000)
        phases["optimizer"].append((t3 - t2) * 1000)
        phases["step"].append((t3 - t0) * 1000)

    for _ in range(2):
        step()
    for v in phases.values():
        v.clear()
    for _ in range(spec["reps"]):
        step()
    out = {}
    for k, v in phases.items():
        s = sorted(v)
        out[k] = {"min": s[0], "median": s[len(s) // 2]}
    out["peak_rss_mb"] = rss_mb()
    out["rss_before_training_mb"] = rss_before
    out["threads"] = torch.get_num_threads()
    out["torch"] = torch.__version__
    print(json.dumps(out))


if __name__ == "__main__":
    main()
