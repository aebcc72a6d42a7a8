"""PyTorch side of test/longitudinal-torch.test.ts.

usage: longitudinal_check.py FOLDER — FOLDER/cases.json lists cases:
- {kind: "objective", ...}: an MLP encoder (lin1 → ReLU = representation, head = projection) with geoclr's weights,
  in float64, on two views; the composed objective
      longitudinal y-Aware (subject × time × rbf(age)) + w_age·y-Aware(age) + λ·direction(stacked views) + μ·FairKL(r1)
  built from geoclr_ref (the float64 reference of LOSSES.md); writes the value and the gradient of every weight and
  of the direction (`obj.value`, `obj.grad.<name>`).
- {kind: "sequence", config}: geoclr's VisitSequenceModel state_dict loaded into the twin (strict) — outputs on
  the same padded input (`seq.py.*`); and a fresh twin's state_dict with its outputs (`seq.pystate.*`, `seq.pyB.*`).
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "interop", "python"))
from exchange import run_cases  # noqa: E402
from geoclr_ref import losses as L  # noqa: E402
from geoclr_torch import VisitSequenceModel  # noqa: E402

DT = torch.float64


def objective(case, a, out):
    t = lambda k: torch.tensor(a[k], dtype=DT)  # noqa: E731
    params = {k: t(f"obj.param.{k}").requires_grad_(True) for k in ("lin1.weight", "lin1.bias", "head.weight", "head.bias", "direction")}
    subjects, times, ages = case["subjects"], case["times"], case["ages"]

    def encode(x):
        r = torch.relu(x @ params["lin1.weight"].T + params["lin1.bias"])
        return r, r @ params["head.weight"].T + params["head.bias"]

    r1, z1 = encode(t("obj.x1"))
    r2, z2 = encode(t("obj.x2"))
    long_spec = {"type": "longitudinal", "sigmaTime": case["sigmaTime"], "metadata": {"type": "rbf", "sigma": case["ageSigma"]}}
    rows = [[s, tt, ag] for s, tt, ag in zip(subjects, times, ages)]
    total = L.y_aware_info_nce(z1, z2, rows, long_spec, case["temperature"])
    total = total + case["ageWeight"] * L.y_aware_info_nce(z1, z2, ages, {"type": "rbf", "sigma": 5}, 0.1)
    r = torch.cat([r1, r2], dim=0)
    s2, t2 = subjects * 2, times * 2
    pairs = [(i, j) for i in range(len(s2)) for j in range(len(s2)) if s2[i] == s2[j] and t2[j] > t2[i]]
    ei = torch.tensor([p[0] for p in pairs])
    lj = torch.tensor([p[1] for p in pairs])
    total = total + case["directionWeight"] * L.longitudinal_direction(r[ei], r[lj], params["direction"])
    total = total + case["fairWeight"] * L.fair_kl(r1, case["dx"], case["site"], mode="kl")
    total.backward()
    out["obj.value"] = total.detach().numpy()
    for k, p in params.items():
        out[f"obj.grad.{k}"] = p.grad.numpy()


def sequence(case, a, out):
    model = VisitSequenceModel(case["config"])
    state = {k[len("seq.state."):]: torch.tensor(v) for k, v in a.items() if k.startswith("seq.state.")}
    model.load_state_dict(state, strict=True)
    model.eval()
    x, times, pad = (torch.tensor(a[f"seq.{k}"]) for k in ("x", "times", "padding"))
    with torch.no_grad():
        o = model(x, times, pad)
    for k in ("patient", "prediction", "attention"):
        out[f"seq.py.{k}"] = getattr(o, k).numpy()
    torch.manual_seed(77)
    twin = VisitSequenceModel(case["config"]).eval()
    with torch.no_grad():
        o = twin(x, times, pad)
    for k in ("patient", "prediction", "attention"):
        out[f"seq.pyB.{k}"] = getattr(o, k).numpy()
    for k, v in twin.state_dict().items():
        out[f"seq.pystate.{k}"] = v.numpy()


def handle(case, arrays, out):
    {"objective": objective, "sequence": sequence}[case["kind"]](case, arrays, out)


if __name__ == "__main__":
    run_cases(handle)
