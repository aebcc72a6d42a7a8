"""Twins of geoclr's contrastive-analysis models (src/contrastive-analysis/models.ts): the same modules and
state_dict names, so a geoclr SepCLRModel / SimCLRModel state loads with load_state_dict(strict=True).

    model = SepCLRModel({"arch": "convnet2d", "widths": [16, 32, 64]}, common_dim=16, salient_dim=16)
    common, salient, common_head, salient_head = model(x)          # x: [B, 1, H, W] (channels first)

`sep_clr_loss` is SepCLR (LOSSES.md §8) in the inputs' dtype, vectorised (geoclr_ref.losses.sep_clr is the float64
oracle the fixtures come from; this one is for training and benchmarks).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .models import MLPHead, build_encoder


def _backbone(cfg):
    return build_encoder({**cfg, "head": None})


class Branch(nn.Module):
    """encoder (optional) -> Linear to `dim` (the representation) -> projector MLP (Linear, BatchNorm1d, ReLU, Linear)."""

    def __init__(self, encoder, in_dim, dim, hidden=128, batch_norm=True):
        super().__init__()
        self.encoder = encoder
        self.fc = nn.Linear(in_dim, dim)
        self.projector = MLPHead(dim, [hidden], dim, batch_norm)

    def represent(self, x):
        return self.fc(self.encoder.represent(x) if self.encoder is not None else x)


class SepCLRModel(nn.Module):
    def __init__(self, encoder_cfg, common_dim=32, salient_dim=32, shared_backbone=False, hidden=128, batch_norm=True):
        super().__init__()
        if shared_backbone:
            self.backbone = _backbone(encoder_cfg)
            d = self.backbone.representation_dim
            self.common = Branch(None, d, common_dim, hidden, batch_norm)
            self.salient = Branch(None, d, salient_dim, hidden, batch_norm)
        else:
            self.backbone = None
            ce = _backbone(encoder_cfg)
            self.common = Branch(ce, ce.representation_dim, common_dim, hidden, batch_norm)
            se = _backbone(encoder_cfg)
            self.salient = Branch(se, se.representation_dim, salient_dim, hidden, batch_norm)

    def forward(self, x):
        h = self.backbone.represent(x) if self.backbone is not None else x
        c = self.common.represent(h)
        s = self.salient.represent(h)
        return c, s, self.common.projector(c), self.salient.projector(s)


class SimCLRModel(nn.Module):
    def __init__(self, encoder_cfg, dim=64, hidden=128, batch_norm=True):
        super().__init__()
        enc = _backbone(encoder_cfg)
        self.branch = Branch(enc, enc.representation_dim, dim, hidden, batch_norm)

    def forward(self, x):
        r = self.branch.represent(x)
        return r, self.branch.projector(r)


def _sq_dists(x):
    """Squared Euclidean distances by the Gram expansion (no square root: finite gradients at 0)."""
    sq = (x * x).sum(1, keepdim=True)
    return (sq + sq.T - 2 * x @ x.T).clamp(min=0)


def _log_mean_exp_pairs(sq, scale):
    """log mean_{i != j} exp(-scale * sq_ij) of a squared-distance matrix."""
    n = sq.shape[0]
    off = ~torch.eye(n, dtype=torch.bool, device=sq.device)
    return torch.logsumexp(-scale * sq[off], dim=0) - math.log(n * (n - 1))


def sep_clr_loss(c1, c2, s1, s2, group, tau=0.5, beta_salient=1000.0, beta_reg=1000.0, lambda_jem=10.0):
    """SepCLR (LOSSES.md §8); returns (total, dict of terms). `group`: 0/1 tensor [n]."""
    scale = 1.0 / (2 * tau)
    g = group.to(c1.dtype)[:, None]
    c1, c2 = F.normalize(c1, dim=1), F.normalize(c2, dim=1)
    sp1, sp2 = s1 * g, s2 * g
    dc = [_sq_dists(c) for c in (c1, c2)]
    ds = [_sq_dists(s) for s in (sp1, sp2)]
    common = ((c1 - c2) ** 2).sum(1).mean() * scale + _log_mean_exp_pairs(dc[0], scale) + _log_mean_exp_pairs(dc[1], scale)
    nt = g.sum()
    nb = g.numel() - nt
    target_align = (g * ((s1 - s2) ** 2).sum(1, keepdim=True)).sum() * scale / nt.clamp(min=1)
    salient = target_align + _log_mean_exp_pairs(ds[0], scale) + _log_mean_exp_pairs(ds[1], scale)
    bg = 1 - g
    reg = ((bg * (s1 ** 2).sum(1, keepdim=True)).sum() + (bg * (s2 ** 2).sum(1, keepdim=True)).sum()) * scale / nb.clamp(min=1) / 2
    n = c1.shape[0]
    jem = sum((torch.logsumexp(-scale * (ds[v] + dc[v]), dim=1) - math.log(n)).mean() for v in (0, 1)) / 2
    total = common + beta_salient * salient + beta_reg * reg + lambda_jem * jem
    return total, {"common": common, "salient": salient, "reg": reg, "jem": jem}
