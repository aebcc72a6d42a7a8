"""Twin of geoclr's VisitSequenceModel (src/longitudinal/sequence.ts): the same layers, parameter names and
time encoding, so a state_dict moves either way with load_state_dict(strict=True).

    from geoclr_torch import VisitSequenceModel
    model = VisitSequenceModel({"inputDim": 64, "dim": 32, "depth": 1, "heads": 2})
    out = model(visits, times, padding)     # [B, L, 64], [B, L] years since first visit, [B, L] 1 = padding
    out.patient, out.prediction, out.attention
"""
import math
from collections import namedtuple

import torch
import torch.nn as nn

SequenceOutput = namedtuple("SequenceOutput", ["patient", "prediction", "attention"])

SEQUENCE_DEFAULTS = dict(dim=32, depth=0, heads=2, dropout=0.0, timeFrequencies=3, maxPeriod=16.0, outputs=1)


def resolve_sequence_config(cfg):
    out = {**SEQUENCE_DEFAULTS, **cfg}
    out.setdefault("ffDim", 2 * out["dim"])
    return out


def time_features(times, frequencies, max_period):
    """φ(t) = [t/P, sin(2π t 2^k/P), cos(2π t 2^k/P)]_k — [B, L] → [B, L, 1 + 2F]."""
    feats = [times / max_period]
    for k in range(frequencies):
        a = 2 * math.pi * times * (2 ** k) / max_period
        feats += [torch.sin(a), torch.cos(a)]
    return torch.stack(feats, dim=-1)


class VisitSequenceModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        cfg = resolve_sequence_config(cfg)
        self.cfg = cfg
        dim = cfg["dim"]
        self.input_proj = nn.Linear(cfg["inputDim"], dim)
        self.time_proj = nn.Linear(1 + 2 * cfg["timeFrequencies"], dim)
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(dim, cfg["heads"], cfg["ffDim"], dropout=cfg["dropout"], activation="gelu",
                                       batch_first=True, norm_first=True)
            for _ in range(cfg["depth"])
        ])
        self.pool = nn.Linear(dim, 1)
        self.norm = nn.LayerNorm(dim)
        self.slope_proj = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, cfg["outputs"])

    def forward(self, visits, times, padding=None):
        phi = time_features(times.to(visits.dtype), self.cfg["timeFrequencies"], self.cfg["maxPeriod"])
        h = self.input_proj(visits) + self.time_proj(phi)
        mask = None if padding is None else padding.bool()
        for layer in self.layers:
            h = layer(h, src_key_padding_mask=mask)
        scores = self.pool(h).squeeze(-1)
        if padding is not None:
            scores = scores + padding.to(scores.dtype) * -1e9
        attention = torch.softmax(scores, dim=-1)
        pooled = torch.bmm(attention.unsqueeze(1), h).squeeze(1)
        # Least-squares slope of h over time (per subject, real visits only; 0 with a single visit).
        real = torch.ones_like(times) if padding is None else 1 - padding.to(times.dtype)
        count = real.sum(-1, keepdim=True)
        mean = (times * real).sum(-1, keepdim=True) / count
        centred = (times - mean) * real
        ss = (centred ** 2).sum(-1, keepdim=True)
        weights = torch.where(ss > 1e-12, centred / torch.where(ss > 1e-12, ss, torch.ones_like(ss)), torch.zeros_like(centred))
        slope = torch.bmm(weights.to(h.dtype).unsqueeze(1), h).squeeze(1)
        patient = self.norm(pooled) + self.slope_proj(slope)
        return SequenceOutput(patient, self.head(patient), attention)
