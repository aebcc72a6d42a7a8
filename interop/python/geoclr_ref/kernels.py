"""Kernels on metadata rows (LOSSES.md §5, §6, §9, §10), float64, from a JSON spec.

Metadata is a list of rows; a column may hold strings (categorical: only compared for equality).
"""
import torch

DT = torch.float64


def _numeric(rows):
    for r in rows:
        for v in r:
            if isinstance(v, str):
                raise ValueError("a numeric kernel got a string column")
    return torch.tensor([[float(v) for v in r] for r in rows], dtype=DT)


def width(spec):
    """How many metadata columns a kernel consumes as a product factor."""
    t = spec["type"]
    if t == "product":
        return sum(width(f) for f in spec["factors"])
    if t == "longitudinal":
        return 2 + (width(spec["metadata"]) if spec.get("metadata") else 0)
    return 1


def rbf(rows, sigma):
    y = _numeric(rows)
    n = y.shape[0]
    k = torch.empty(n, n, dtype=DT)
    for a in range(n):
        for b in range(n):
            k[a, b] = torch.exp(-((y[a] - y[b]) ** 2).sum() / (2.0 * sigma * sigma))
    return k


def delta(rows):
    n = len(rows)
    return torch.tensor([[1.0 if list(rows[a]) == list(rows[b]) else 0.0 for b in range(n)] for a in range(n)], dtype=DT)


def cosine(rows):
    y = _numeric(rows)
    u = y / torch.linalg.vector_norm(y, dim=1, keepdim=True)
    return u @ u.T


def matrix(spec, rows):
    """The [n, n] kernel matrix of `spec` on metadata `rows` (list of lists)."""
    rows = [r if isinstance(r, (list, tuple)) else [r] for r in rows]
    t = spec["type"]
    if t == "rbf":
        return rbf(rows, spec["sigma"])
    if t == "delta":
        return delta(rows)
    if t == "cosine":
        return cosine(rows)
    if t == "product":
        out = torch.ones(len(rows), len(rows), dtype=DT)
        start = 0
        for f in spec["factors"]:
            w = width(f)
            out = out * matrix(f, [r[start:start + w] for r in rows])
            start += w
        assert start == len(rows[0]), "product kernel: column count mismatch"
        return out
    if t == "longitudinal":
        k = delta([[r[0]] for r in rows]) * rbf([[r[1]] for r in rows], spec["sigmaTime"])
        if spec.get("metadata"):
            k = k * matrix(spec["metadata"], [r[2:] for r in rows])
        return k
    raise ValueError(f"unknown kernel {t}")
