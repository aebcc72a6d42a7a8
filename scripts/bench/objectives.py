"""PyTorch twin of `geoclr bench objectives`: forward + backward time of each objective, CPU float32.

Vectorised, idiomatic PyTorch implementations of LOSSES.md (as a lab would write them; the float64 loop-based
oracle in interop/python/geoclr_ref is for correctness, not speed). Prints one JSON object on stdout:
{"torch": version, "threads": k, "results": {objective: {n: median_ms}}}.

    /usr/bin/python3 scripts/bench/objectives.py --n 256,1024 --d 128 --reps 7 --warmup 2
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

NEG_INF = float("-inf")


def unit(x):
    return F.normalize(x, dim=-1)


def info_nce(z1, z2, tau=0.1):
    n = z1.shape[0]
    z = unit(torch.cat([z1, z2]))
    s = (z @ z.T / tau).fill_diagonal_(NEG_INF)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(s, target)


def _contrast(z1, z2, labels, tau):
    z = unit(torch.cat([z1, z2]))
    m = z.shape[0]
    y = labels.repeat(2)
    same = y[:, None] == y[None, :]
    eye = torch.eye(m, dtype=torch.bool)
    return z @ z.T / tau, same, eye


def sup_con(z1, z2, labels, tau=0.1):
    s, same, eye = _contrast(z1, z2, labels, tau)
    pos = (same & ~eye).float()
    log_prob = s - torch.logsumexp(s.masked_fill(eye, NEG_INF), dim=1, keepdim=True)
    count = pos.sum(1)
    per = -(pos * log_prob).sum(1) / count.clamp(min=1)
    return per.mean()


def eps_sup_info_nce(z1, z2, labels, tau=0.1, eps=0.25):
    s, same, eye = _contrast(z1, z2, labels, tau)
    pos = (same & ~eye).float()
    lse_neg = torch.logsumexp(s.masked_fill(same, NEG_INF), dim=1, keepdim=True)
    denom = torch.logaddexp(s - eps, lse_neg)
    per = (pos * (denom - s)).sum(1) / pos.sum(1).clamp(min=1)
    return per.mean()


def eps_sup_con(z1, z2, labels, tau=0.1, eps=0.25):
    s, same, eye = _contrast(z1, z2, labels, tau)
    pos = (same & ~eye).float()
    lse = torch.logsumexp((s - eps * pos).masked_fill(eye, NEG_INF), dim=1, keepdim=True)
    per = (pos * (lse - s)).sum(1) / pos.sum(1).clamp(min=1)
    return per.mean()


def y_aware(z1, z2, age, tau=0.1, sigma=5.0):
    n = z1.shape[0]
    k = torch.exp(-((age[:, None] - age[None, :]) ** 2) / (2 * sigma * sigma)).repeat(2, 2)
    eye = torch.eye(2 * n, dtype=torch.bool)
    w = k.masked_fill(eye, 0)
    w = w / w.sum(1, keepdim=True)
    z = unit(torch.cat([z1, z2]))
    log_p = torch.log_softmax((z @ z.T / tau).masked_fill(eye, NEG_INF), dim=1).masked_fill(eye, 0)
    return -(w * log_p).sum(1).mean()


def fair_kl(f, labels, bias, tau=1.0):
    n = f.shape[0]
    f = unit(f)
    s = f @ f.T / tau
    eye = torch.eye(n, dtype=torch.bool)
    sy = labels[:, None] == labels[None, :]
    sb = bias[:, None] == bias[None, :]
    masks = {"pa": sy & sb & ~eye, "pc": sy & ~sb, "na": ~sy & sb, "nc": ~sy & ~sb}
    stats = {}
    for k, m in masks.items():
        v = s[m]
        stats[k] = (v.mean(), v.var(unbiased=False).clamp(min=1e-12))

    def kl(p, q):
        (m1, v1), (m2, v2) = stats[p], stats[q]
        return 0.5 * torch.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / (2 * v2) - 0.5

    return kl("pa", "pc") + kl("na", "nc")


def log_mean_exp_pairs(x, t):
    # Wang & Isola's released form: torch.pdist(x, p=2).pow(2).mul(-t).exp().mean().log()
    return torch.pdist(x, p=2).pow(2).mul(-t).exp().mean().log()


def decoupled_uniformity(z1, z2, prior=None, t=2.0, sigma=10.0):
    mu = (unit(z1) + unit(z2)) / 2
    if prior is not None:
        n = mu.shape[0]
        with torch.no_grad():
            k = torch.exp(-torch.cdist(prior, prior).pow(2) / (2 * sigma * sigma))
            alpha = torch.linalg.solve(k + torch.eye(n) / math.sqrt(n), k)
        mu = alpha @ mu
    return log_mean_exp_pairs(mu, t)


def alignment(z1, z2):
    return (unit(z1) - unit(z2)).norm(dim=1).pow(2).mean()


def uniformity(z1, z2):
    return log_mean_exp_pairs(unit(z1), 2.0)


def sep_clr(c1, c2, s1, s2, group, tau=0.5):
    g = group.float()[:, None]
    t = group == 1
    c1, c2 = unit(c1), unit(c2)
    sp1, sp2 = s1 * g, s2 * g

    def align(x, y):
        return ((x - y) ** 2).sum(1).mean() / (2 * tau)

    def unif(x):
        return log_mean_exp_pairs(x, 1 / (2 * tau))

    def jem(c, s):
        d = torch.cdist(s, s).pow(2) + torch.cdist(c, c).pow(2)
        return (torch.logsumexp(-d / (2 * tau), 1) - math.log(c.shape[0])).mean()

    cm = align(c1, c2) + unif(c1) + unif(c2)
    sp = align(s1[t], s2[t]) + unif(sp1) + unif(sp2)
    reg = (align(sp1[~t], s1[~t]) + align(sp2[~t], s2[~t])) / 2
    j = (jem(c1, sp1) + jem(c2, sp2)) / 2
    return cm + 1000 * sp + 1000 * reg + 10 * j


def clip_loss(u, v, tau=0.07):
    logits = unit(u) @ unit(v).T / tau
    target = torch.arange(u.shape[0])
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def kernel_clip(u, v, age, tau=0.07, sigma=5.0):
    logits = unit(u) @ unit(v).T / tau
    k = torch.exp(-((age[:, None] - age[None, :]) ** 2) / (2 * sigma * sigma))
    t_rows = k / k.sum(1, keepdim=True)
    t_cols = k.T / k.T.sum(1, keepdim=True)
    h_rows = -(t_rows * logits.log_softmax(1)).sum(1).mean()
    h_cols = -(t_cols * logits.T.log_softmax(1)).sum(1).mean()
    return (h_rows + h_cols) / 2


def longitudinal_direction(z1, z2, direction):
    return (1 - F.cosine_similarity(z2 - z1, direction[None], dim=1)).mean()


def objectives(n, d, gen):
    labels = torch.randint(0, 10, (n,), generator=gen)
    bias = torch.randint(0, 2, (n,), generator=gen)
    age = torch.rand(n, generator=gen) * 60 + 20
    prior = torch.randn(n, 8, generator=gen)
    group = torch.randint(0, 2, (n,), generator=gen)
    direction = torch.randn(d, generator=gen)
    return {
        "infoNCE": lambda a, b: info_nce(a, b),
        "supCon": lambda a, b: sup_con(a, b, labels),
        "epsilonSupInfoNCE": lambda a, b: eps_sup_info_nce(a, b, labels),
        "epsilonSupCon": lambda a, b: eps_sup_con(a, b, labels),
        "yAwareInfoNCE": lambda a, b: y_aware(a, b, age),
        "fairKL": lambda a, b: fair_kl(a, labels, bias),
        "decoupledUniformity": lambda a, b: decoupled_uniformity(a, b),
        "decoupledUniformity+prior": lambda a, b: decoupled_uniformity(a, b, prior),
        "alignment": alignment,
        "uniformity": uniformity,
        "sepCLR": lambda a, b: sep_clr(a, b, a * 0.5, b * 0.5, group),
        "clipLoss": lambda a, b: clip_loss(a, b),
        "kernelClipLoss": lambda a, b: kernel_clip(a, b, age),
        "longitudinalDirection": lambda a, b: longitudinal_direction(a, b, direction),
    }


def time_objective(f, z1, z2, reps, warmup):
    times = []
    for rep in range(warmup + reps):
        t0 = time.perf_counter()
        loss = f(z1, z2)
        torch.autograd.grad(loss, [z1, z2], allow_unused=True)
        elapsed = time.perf_counter() - t0
        if rep >= warmup:
            times.append(elapsed * 1000)
    return times


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--n", default="256,1024")
    p.add_argument("--d", type=int, default=128)
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--only", default="")
    p.add_argument("--serve", action="store_true",
                   help='read {"name", "n"} JSON lines on stdin, answer one JSON line each (timings interleaved with geoclr)')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    cache = {}

    def setup(n):
        if n not in cache:
            gen = torch.Generator().manual_seed(n)
            z1 = torch.randn(n, a.d, generator=gen, requires_grad=True)
            z2 = torch.randn(n, a.d, generator=gen, requires_grad=True)
            cache[n] = (z1, z2, objectives(n, a.d, gen))
        return cache[n]

    if a.serve:
        print(json.dumps({"ready": True, "torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
        for line in sys.stdin:
            req = json.loads(line)
            z1, z2, objs = setup(int(req["n"]))
            times = time_objective(objs[req["name"]], z1, z2, int(req.get("reps", a.reps)), int(req.get("warmup", a.warmup)))
            print(json.dumps({"name": req["name"], "n": req["n"], "times": times}), flush=True)
        return
    only = set(filter(None, a.only.split(",")))
    results = {}
    for n in [int(x) for x in a.n.split(",")]:
        z1, z2, objs = setup(n)
        for name, f in objs.items():
            if not only or name in only:
                results.setdefault(name, {})[str(n)] = statistics.median(time_objective(f, z1, z2, a.reps, a.warmup))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "results": results}))


if __name__ == "__main__":
    main()
