"""Fixture generator: inputs, float64 values and gradients of every objective of LOSSES.md.

    python3 -m geoclr_ref.fixtures --out test/fixtures/losses/reference.json     (from interop/python)
    python3 interop/python/geoclr_ref/fixtures.py --out FILE                     (from the repository root)

Inputs are drawn in float32 (what geoclr computes with) and evaluated in float64. Deterministic: the same
torch/numpy give the same file. Each case names the geoclr function, its options (geoclr's option names),
the differentiable tensors and the constant arguments (labels, metadata, group, ...).
"""
import argparse
import json
import math
import os
import sys

if __package__ in (None, ""):  # run as a script: make `geoclr_ref` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    __package__ = "geoclr_ref"

import numpy as np  # noqa: E402
import torch  # noqa: E402

from geoclr_ref import losses as L  # noqa: E402

DT = torch.float64


def f32(x):
    """Rounds to float32 and back to Python floats with 9 significant digits (exact float32 round trip)."""
    return [float("%.9g" % v) for v in np.asarray(x, dtype=np.float32).ravel()]


def g10(x):
    return [float("%.10g" % v) for v in np.asarray(x, dtype=np.float64).ravel()]


class Builder:
    def __init__(self):
        self.cases = []

    def add(self, name, loss, tensors, fn, args=None, options=None, terms=None):
        """tensors: name -> float32 numpy array (differentiable); fn(**torch tensors) -> scalar or dict."""
        leaves = {}
        stored = {}
        for key, arr in tensors.items():
            arr = np.asarray(arr, dtype=np.float32)
            values = f32(arr)
            leaves[key] = torch.tensor(values, dtype=DT).reshape(arr.shape).requires_grad_(True)
            stored[key] = {"shape": list(arr.shape), "data": values}
        out = fn(**leaves)
        value = out["total"] if isinstance(out, dict) else out
        grads = torch.autograd.grad(value, list(leaves.values()), allow_unused=True)
        case = {
            "name": name,
            "loss": loss,
            "options": options or {},
            "args": args or {},
            "inputs": stored,
            "value": float(value),
            "grads": {
                k: g10(g.detach().numpy() if g is not None else np.zeros(leaves[k].shape)) for k, g in zip(leaves, grads)
            },
        }
        if isinstance(out, dict):
            case["terms"] = {k: float(v) for k, v in out.items()}
        self.cases.append(case)


def normal(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def build():
    b = Builder()

    # §1 InfoNCE: batch sizes, dims, temperatures.
    for seed, (n, d, tau) in enumerate([(4, 3, 0.1), (8, 5, 0.5), (12, 8, 0.07)]):
        rng = np.random.RandomState(100 + seed)
        b.add(f"infoNCE n={n} d={d} tau={tau}", "infoNCE", {"z1": normal(rng, n, d), "z2": normal(rng, n, d)},
              lambda z1, z2, tau=tau: L.info_nce(z1, z2, tau), options={"temperature": tau})

    # §2 SupCon: label layouts incl. anchors without positives (V = 1, singleton classes) and string labels.
    supcon_cases = [
        ("3 classes", 8, 2, 4, [0, 1, 2, 0, 1, 2, 0, 1], 0.1, None),
        ("V=3 base 0.07", 6, 3, 5, [1, 1, 0, 0, 2, 2], 0.2, 0.07),
        ("all distinct", 5, 2, 3, [0, 1, 2, 3, 4], 0.1, None),
        ("V=1 singletons (no positives)", 6, 1, 4, [0, 0, 1, 2, 3, 4], 0.1, None),
        ("string labels", 6, 2, 4, ["ad", "cn", "ad", "mci", "cn", "ad"], 0.5, None),
        ("n=40 d=16 5 classes", 40, 2, 16, [i % 5 for i in range(40)], 0.07, None),
    ]
    for seed, (tag, n, v, d, labels, tau, base) in enumerate(supcon_cases):
        rng = np.random.RandomState(200 + seed)
        opts = {"temperature": tau, **({"baseTemperature": base} if base else {})}
        b.add(f"supCon {tag}", "supCon", {"views": normal(rng, n, v, d)},
              lambda views, labels=labels, tau=tau, base=base: L.sup_con(views, labels, tau, base),
              args={"labels": labels}, options=opts)

    # §3 ε-SupInfoNCE / ε-SupCon: ε, variants, supervised / unsupervised, no negatives, no positives.
    eps_layouts = [
        ("labels", 8, 2, [0, 1, 0, 1, 2, 2, 0, 1]),
        ("unsupervised", 6, 2, None),
        ("one class (no negatives)", 4, 2, [3, 3, 3, 3]),
        ("V=1 singletons (no positives)", 6, 1, [0, 0, 1, 1, 2, 3]),
    ]
    seed = 300
    for tag, n, v, labels in eps_layouts:
        for variant in ("infonce", "supcon"):
            for eps in (0.0, 0.25, 1.0):
                seed += 1
                if tag != "labels" and eps == 0.25:
                    continue
                rng = np.random.RandomState(seed)
                tau = 0.1 if eps != 1.0 else 0.3
                b.add(f"epsilonSupInfoNCE {variant} eps={eps} {tag}", "epsilonSupInfoNCE", {"views": normal(rng, n, v, 4)},
                      lambda views, labels=labels, tau=tau, eps=eps, variant=variant:
                          L.epsilon_sup_info_nce(views, labels, tau, 0.07 if variant == "supcon" else None, eps, variant),
                      args={"labels": labels},
                      options={"temperature": tau, "epsilon": eps, "variant": variant,
                               **({"baseTemperature": 0.07} if variant == "supcon" else {})})

    # §5 y-Aware: σ, multi-attribute mixed (continuous + string discrete) kernels, longitudinal kernel (§10).
    rng = np.random.RandomState(400)
    ages = [float(a) for a in np.round(rng.uniform(20, 80, 10), 1)]
    sexes = ["F" if x else "M" for x in rng.rand(10) > 0.5]
    sites = [int(x) for x in rng.randint(0, 3, 10)]
    yaware_cases = [
        ("rbf sigma=5 age", {"type": "rbf", "sigma": 5}, [[a] for a in ages], 0.1),
        ("rbf sigma=1 age", {"type": "rbf", "sigma": 1}, [[a] for a in ages], 0.5),
        ("product rbf x delta(sex, string)", {"type": "product", "factors": [{"type": "rbf", "sigma": 10}, {"type": "delta"}]},
         [[a, s] for a, s in zip(ages, sexes)], 0.1),
        ("product rbf x delta x delta", {"type": "product", "factors": [{"type": "rbf", "sigma": 8}, {"type": "delta"}, {"type": "delta"}]},
         [[a, s, t] for a, s, t in zip(ages, sexes, sites)], 0.2),
        ("identity delta", {"type": "delta"}, [[i] for i in range(10)], 0.1),
    ]
    subjects = ["s1", "s1", "s1", "s2", "s2", "s3", "s3", "s3", "s4", "s4"]
    times = [0.0, 1.0, 2.5, 0.0, 3.0, 0.0, 0.5, 1.0, 0.0, 2.0]
    yaware_cases.append(("longitudinal subject x rbf(time)", {"type": "longitudinal", "sigmaTime": 1.5},
                         [[s, t] for s, t in zip(subjects, times)], 0.1))
    yaware_cases.append(("longitudinal x rbf(age)", {"type": "longitudinal", "sigmaTime": 2, "metadata": {"type": "rbf", "sigma": 20}},
                         [[s, t, a] for s, t, a in zip(subjects, times, ages)], 0.1))
    for seed, (tag, spec, meta, tau) in enumerate(yaware_cases):
        rng = np.random.RandomState(410 + seed)
        b.add(f"yAwareInfoNCE {tag} tau={tau}", "yAwareInfoNCE", {"z1": normal(rng, 10, 6), "z2": normal(rng, 10, 6)},
              lambda z1, z2, spec=spec, meta=meta, tau=tau: L.y_aware_info_nce(z1, z2, meta, spec, tau),
              args={"metadata": meta}, options={"temperature": tau, "kernel": spec})

    # §4 FairKL: modes, τ, κ, layouts incl. no bias-conflicting pair and one-sided emptiness.
    fair_cases = [
        ("balanced", [0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 0, 1], [0, 1, 0, 0, 1, 0, 1, 1, 1, 0, 0, 1]),
        ("biased", [0, 0, 0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]),
        ("no conflicting pair (bias = label)", [0, 0, 0, 1, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1, 2, 2]),
        ("no positive-conflicting pair", [0, 0, 1, 1, 2, 2, 3, 3], [0, 0, 1, 1, 0, 0, 1, 1]),
        ("string labels", ["a", "a", "b", "b", "a", "b", "a", "b"], ["x", "y", "x", "y", "y", "x", "x", "y"]),
    ]
    rng = np.random.RandomState(590)
    big_y = [int(v) for v in rng.randint(0, 3, 64)]
    big_b = [int(v) if rng.rand() < 0.8 else 1 - int(v) for v in (np.array(big_y) % 2)]
    fair_cases.append(("n=64 biased", big_y, big_b))
    seed = 500
    for tag, y, bias in fair_cases:
        for mode, tau, kld in (("kl", 1.0, 1.0), ("moments", 0.5, 0.5)):
            seed += 1
            rng = np.random.RandomState(seed)
            b.add(f"fairKL {mode} {tag}", "fairKL", {"features": normal(rng, len(y), 5)},
                  lambda features, y=y, bias=bias, mode=mode, tau=tau, kld=kld: L.fair_kl(features, y, bias, tau, mode, kld),
                  args={"labels": y, "biasLabels": bias}, options={"temperature": tau, "mode": mode, "kld": kld})

    # §6 Decoupled Uniformity: t, V, priors (rbf, cosine), λ.
    rng = np.random.RandomState(600)
    prior = [[float(x) for x in row] for row in np.round(rng.standard_normal((8, 3)) * 2, 3)]
    du_cases = [
        ("no prior t=2", 8, 2, {}, None, None, None),
        ("no prior V=3 t=1", 6, 3, {"t": 1}, None, None, None),
        ("rbf prior sigma=2", 8, 2, {}, prior, {"type": "rbf", "sigma": 2}, None),
        ("cosine prior lambda=0.3", 8, 2, {"lambda": 0.3}, prior, {"type": "cosine"}, 0.3),
        ("rbf prior sigma=10 V=3 t=0.5", 8, 3, {"t": 0.5}, prior, {"type": "rbf", "sigma": 10}, None),
    ]
    for seed, (tag, n, v, opts, pri, spec, lam) in enumerate(du_cases):
        rng = np.random.RandomState(610 + seed)
        options = dict(opts)
        args = {}
        if pri is not None:
            options["kernel"] = spec
            args["prior"] = pri[:n]
        t = opts.get("t", 2.0)
        b.add(f"decoupledUniformity {tag}", "decoupledUniformity", {"views": normal(rng, n, v, 4)},
              lambda views, t=t, pri=pri, spec=spec, lam=lam, n=n: L.decoupled_uniformity(views, t, pri[:n] if pri else None, spec, lam),
              args=args, options=options)

    # §7 alignment, uniformity.
    for seed, alpha in enumerate((2.0, 1.5, 3.0)):
        rng = np.random.RandomState(700 + seed)
        b.add(f"alignment alpha={alpha}", "alignment", {"z1": normal(rng, 7, 4), "z2": normal(rng, 7, 4)},
              lambda z1, z2, alpha=alpha: L.alignment(z1, z2, alpha), options={"alpha": alpha})
    for seed, t in enumerate((2.0, 1.0)):
        rng = np.random.RandomState(710 + seed)
        b.add(f"uniformity t={t}", "uniformity", {"z": normal(rng, 9, 5)}, lambda z, t=t: L.uniformity(z, t), options={"t": t})

    # §8 SepCLR: groups (mixed, all target, all background), τ and weights.
    sep_cases = [
        ("mixed groups defaults", [0, 1, 0, 1, 1, 0, 0, 1], {}),
        ("mixed groups CheXpert weights tau=0.3", [1, 1, 0, 0, 1, 0], {"tau": 0.3, "betaSalient": 1, "betaReg": 10, "lambdaJem": 10}),
        ("all target", [1, 1, 1, 1, 1], {"betaSalient": 1, "betaReg": 100, "lambdaJem": 10}),
        ("all background", [0, 0, 0, 0, 0, 0], {"betaSalient": 1, "betaReg": 100, "lambdaJem": 10}),
    ]
    names = {"tau": "tau", "betaSalient": "beta_salient", "betaReg": "beta_reg", "lambdaJem": "lambda_jem"}
    for seed, (tag, group, opts) in enumerate(sep_cases):
        rng = np.random.RandomState(800 + seed)
        n = len(group)
        kw = {names[k]: v for k, v in opts.items()}
        b.add(f"sepCLR {tag}", "sepCLR",
              {"c1": normal(rng, n, 4), "c2": normal(rng, n, 4), "s1": normal(rng, n, 3), "s2": normal(rng, n, 3)},
              lambda c1, c2, s1, s2, group=group, kw=kw: L.sep_clr(c1, c2, s1, s2, group, **kw),
              args={"group": group}, options=opts)

    # §9 CLIP (fixed and learnable temperature, clamp active), kernel CLIP.
    clip_cases = [("tau=0.07", {"temperature": 0.07}, None), ("tau=0.5", {"temperature": 0.5}, None),
                  ("learnable log(1/0.07)", {}, math.log(1 / 0.07)), ("learnable clamped log(200)", {}, math.log(200))]
    for seed, (tag, opts, ls) in enumerate(clip_cases):
        rng = np.random.RandomState(900 + seed)
        tensors = {"u": normal(rng, 8, 6), "v": normal(rng, 8, 6)}
        if ls is not None:
            tensors["logitScale"] = np.float32(ls).reshape(())
        b.add(f"clipLoss {tag}", "clipLoss", tensors,
              lambda u, v, logitScale=None, opts=opts: L.clip_loss(u, v, opts.get("temperature"), logitScale), options=opts)
    rng = np.random.RandomState(950)
    ages = [float(a) for a in np.round(rng.uniform(20, 80, 8), 1)]
    sexes = ["F" if x else "M" for x in rng.rand(8) > 0.5]
    kclip_cases = [
        ("rbf sigma=10", {"type": "rbf", "sigma": 10}, [[a] for a in ages], {"temperature": 0.1}, None),
        ("rbf x delta", {"type": "product", "factors": [{"type": "rbf", "sigma": 15}, {"type": "delta"}]},
         [[a, s] for a, s in zip(ages, sexes)], {"temperature": 0.07}, None),
        ("identity delta", {"type": "delta"}, [[i] for i in range(8)], {"temperature": 0.2}, None),
        ("rbf learnable", {"type": "rbf", "sigma": 5}, [[a] for a in ages], {}, math.log(1 / 0.1)),
    ]
    for seed, (tag, spec, meta, opts, ls) in enumerate(kclip_cases):
        rng = np.random.RandomState(960 + seed)
        tensors = {"u": normal(rng, 8, 5), "v": normal(rng, 8, 5)}
        if ls is not None:
            tensors["logitScale"] = np.float32(ls).reshape(())
        b.add(f"kernelClipLoss {tag}", "kernelClipLoss", tensors,
              lambda u, v, logitScale=None, spec=spec, meta=meta, opts=opts:
                  L.kernel_clip_loss(u, v, meta, spec, opts.get("temperature"), logitScale),
              args={"metadata": meta}, options={**opts, "kernel": spec})

    # §10 longitudinal direction.
    for seed, (p, d) in enumerate([(6, 4), (3, 8)]):
        rng = np.random.RandomState(1000 + seed)
        b.add(f"longitudinalDirection P={p} d={d}", "longitudinalDirection",
              {"zEarlier": normal(rng, p, d), "zLater": normal(rng, p, d), "direction": normal(rng, d)},
              lambda zEarlier, zLater, direction: L.longitudinal_direction(zEarlier, zLater, direction))

    # Contrastive-analysis regularisers (src/losses/mmd.ts, hsic.ts) and VAE objectives (contrastive-vae.ts).
    mmd_cases = [
        ("biased sigma=1", 6, 5, 3, {"sigma": 1.0}, False),
        ("unbiased sigmas=[0.5,2]", 7, 6, 3, {"sigma": [0.5, 2.0], "estimator": "unbiased"}, False),
        ("biased median", 5, 5, 4, {"sigma": "median"}, False),
        ("biased n=1 vs m=4", 1, 4, 2, {"sigma": 2.0}, False),
        ("biased vs the origin", 6, 6, 3, {"sigma": 1.0}, True),
    ]
    for seed, (tag, n, m, d, opts, origin) in enumerate(mmd_cases):
        rng = np.random.RandomState(1100 + seed)
        kw = {"sigma": opts.get("sigma", 1.0), "estimator": opts.get("estimator", "biased")}
        tensors = {"x": normal(rng, n, d)}
        if origin:
            b.add(f"mmd {tag}", "mmd", tensors, lambda x, kw=kw: L.mmd(x, torch.zeros_like(x), **kw),
                  args={"origin": True}, options=opts)
        else:
            tensors["y"] = normal(rng, m, d) * 0.8 + 0.5
            b.add(f"mmd {tag}", "mmd", tensors, lambda x, y, kw=kw: L.mmd(x, y, **kw), options=opts)
    hsic_cases = [
        ("sigma 1.5/2", 8, 4, 3, {"sigmaX": 1.5, "sigmaY": 2.0}),
        ("median", 9, 5, 2, {}),
        ("normalized median", 9, 5, 2, {"normalized": True}),
        ("normalized sigma lists", 7, 3, 3, {"sigmaX": [1.0, 3.0], "sigmaY": 1.0, "normalized": True}),
    ]
    for seed, (tag, n, dx, dy, opts) in enumerate(hsic_cases):
        rng = np.random.RandomState(1200 + seed)
        xs = normal(rng, n, dx)
        ys = (xs[:, :dy] * 0.7 + 0.5 * normal(rng, n, dy)).astype(np.float32)  # dependent codes
        b.add(f"hsic {tag}", "hsic", {"x": xs, "y": ys},
              lambda x, y, o=opts: L.hsic(x, y, o.get("sigmaX", "median"), o.get("sigmaY", "median"), o.get("normalized", False)),
              options=opts)
    vae_cases = [
        ("gaussian cVAE mixed", [0, 1, 1, 0, 1, 0], {}, "gaussian"),
        ("gaussian MM-cVAE sigma=0.5 beta=0.5", [1, 0, 0, 1, 1, 0, 1], {"sigma": 0.5, "beta": 0.5, "mmdCommon": 100, "mmdSalient": 1000,
                                                                    "mmd": {"sigma": [0.5, 1.0]}}, "gaussian"),
        ("bernoulli MM-cVAE", [0, 0, 1, 1, 0, 1], {"likelihood": "bernoulli", "mmdCommon": 10, "mmdSalient": 10}, "bernoulli"),
        ("all target", [1, 1, 1, 1], {"mmdCommon": 10, "mmdSalient": 10}, "gaussian"),
        ("all background", [0, 0, 0, 0, 0], {"mmdCommon": 10, "mmdSalient": 10}, "gaussian"),
    ]
    keys = {"likelihood": "likelihood", "sigma": "sigma", "beta": "beta", "mmdCommon": "mmd_common",
            "mmdSalient": "mmd_salient", "mmd": "mmd_options"}
    for seed, (tag, group, opts, lik) in enumerate(vae_cases):
        rng = np.random.RandomState(1300 + seed)
        n = len(group)
        x = rng.uniform(0, 1, (n, 2, 3, 2)).astype(np.float32) if lik == "bernoulli" else normal(rng, n, 2, 3, 2)
        tensors = {"x": x, "recon": normal(rng, n, 2, 3, 2), "zMu": normal(rng, n, 3), "zLogvar": normal(rng, n, 3) * 0.5,
                   "z": normal(rng, n, 3), "sMu": normal(rng, n, 2), "sLogvar": normal(rng, n, 2) * 0.5, "s": normal(rng, n, 2)}
        kw = {keys[k]: v for k, v in opts.items()}
        b.add(f"contrastiveVAELoss {tag}", "contrastiveVAELoss", tensors,
              lambda group=group, kw=kw, **t: L.contrastive_vae_loss(group=group, **t, **kw),
              args={"group": group}, options=opts)
    return b.cases


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True)
    out = parser.parse_args().out
    torch.set_default_dtype(DT)
    doc = {
        "generator": "interop/python/geoclr_ref/fixtures.py",
        "spec": "shared/spec/LOSSES.md",
        "torch": torch.__version__.split("+")[0],
        "precision": "inputs are float32 values; values and gradients computed in float64",
        "cases": build(),
    }
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))
        fh.write("\n")
    os.replace(tmp, out)
    print(f"wrote {len(doc['cases'])} cases to {out}")


if __name__ == "__main__":
    main()
