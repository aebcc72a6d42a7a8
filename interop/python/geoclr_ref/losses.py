"""The objectives of LOSSES.md in float64 PyTorch, written for clarity rather than speed.

Conventions (LOSSES.md "Notation"): views are stacked view-major (row v*n + i is view v of sample i); every
objective on the sphere normalises its inputs; self-pairs are excluded; logs of sums of exponentials are
torch.logsumexp (max-shifted), never log(sum + 1e-6).
"""
import math

import torch
import torch.nn.functional as F

from . import kernels

DT = torch.float64
NEG_INF = float("-inf")


def unit(x):
    return x / torch.linalg.vector_norm(x, dim=-1, keepdim=True)


def stack_views(views):
    """[n, V, d] -> [nV, d], view-major."""
    n, v, d = views.shape
    return torch.cat([views[:, i, :] for i in range(v)], dim=0)


def codes(labels, n):
    """Labels -> list of hashable keys; None -> sample identity."""
    if labels is None:
        return list(range(n))
    return [("s", x) if isinstance(x, str) else ("n", float(x)) for x in labels]


def eye_bool(m):
    return torch.eye(m, dtype=torch.bool)


# §1 ------------------------------------------------------------------------------------------------------------
def info_nce(z1, z2, temperature=0.1):
    n = z1.shape[0]
    z = torch.cat([unit(z1), unit(z2)], dim=0)
    s = (z @ z.T / temperature).masked_fill(eye_bool(2 * n), NEG_INF)
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(s, target)


# §2 ------------------------------------------------------------------------------------------------------------
def _view_major(views, labels, temperature):
    """Normalised view-major rows: the m = nV row codes and S = Z Z^T / tau."""
    n, v, _ = views.shape
    z = unit(stack_views(views))
    return n * v, codes(labels, n) * v, z @ z.T / temperature


def sup_con(views, labels, temperature=0.1, base_temperature=None):
    base_temperature = temperature if base_temperature is None else base_temperature
    m, y, s = _view_major(views, labels, temperature)
    log_denominator = torch.logsumexp(s.masked_fill(eye_bool(m), NEG_INF), dim=1)
    per_anchor = []
    for a in range(m):
        positives = [p for p in range(m) if p != a and y[p] == y[a]]
        if not positives:
            per_anchor.append(torch.zeros((), dtype=DT))
            continue
        terms = torch.stack([s[a, p] - log_denominator[a] for p in positives])
        per_anchor.append(-terms.mean())
    return (temperature / base_temperature) * torch.stack(per_anchor).mean()


# §3 ------------------------------------------------------------------------------------------------------------
def epsilon_sup_info_nce(views, labels, temperature=0.1, base_temperature=None, epsilon=0.0, variant="infonce"):
    base_temperature = temperature if base_temperature is None else base_temperature
    m, y, s = _view_major(views, labels, temperature)
    per_anchor = []
    for a in range(m):
        positives = [p for p in range(m) if p != a and y[p] == y[a]]
        negatives = [j for j in range(m) if y[j] != y[a]]
        if not positives:
            per_anchor.append(torch.zeros((), dtype=DT))
            continue
        neg = s[a, negatives]
        terms = []
        for p in positives:
            if variant == "infonce":
                inside = torch.cat([(s[a, p] - epsilon).reshape(1), neg])
            elif variant == "supcon":
                inside = torch.cat([s[a, positives] - epsilon, neg])
            else:
                raise ValueError(variant)
            terms.append(s[a, p] - torch.logsumexp(inside, dim=0))
        per_anchor.append(-torch.stack(terms).mean())
    return (temperature / base_temperature) * torch.stack(per_anchor).mean()


# §4 ------------------------------------------------------------------------------------------------------------
VARIANCE_FLOOR = 1e-12


def fair_kl(features, labels, bias_labels, temperature=1.0, mode="kl", kld=1.0):
    """Sides (pa/pc, na/nc) with a too-small set contribute zero: < 1 pair ('moments'), < 2 pairs ('kl')."""
    n = features.shape[0]
    f = unit(features)
    s = f @ f.T / temperature
    y = codes(labels, n)
    b = codes(bias_labels, n)
    members = {"pa": [], "pc": [], "na": [], "nc": []}
    for i in range(n):
        for j in range(n):
            if i != j:
                key = ("p" if y[i] == y[j] else "n") + ("a" if b[i] == b[j] else "c")
                members[key].append(s[i, j])
    min_ordered = 2 * (2 if mode == "kl" else 1)

    def stats(name):
        vals = torch.stack(members[name])
        mu = vals.mean()
        var = torch.clamp(((vals - mu) ** 2).mean(), min=VARIANCE_FLOOR)
        return mu, var

    total = (s * 0).sum()
    for aligned, conflicting, sign in (("pa", "pc", 1), ("na", "nc", -1)):
        if len(members[aligned]) < min_ordered or len(members[conflicting]) < min_ordered:
            continue
        mu1, var1 = stats(aligned)
        mu2, var2 = stats(conflicting)
        if mode == "kl":
            sd1, sd2 = torch.sqrt(var1), torch.sqrt(var2)
            total = total + torch.log(sd2 / sd1) + (var1 + (mu1 - mu2) ** 2) / (2 * var2) - 0.5
        elif mode == "moments":
            sd1, sd2 = torch.sqrt(var1), torch.sqrt(var2)
            term = (mu2 - mu1) ** 2 + kld * (sd1 - sd2) ** 2
            term = term - mu2 if sign == 1 else term + mu1  # -mu_pc (positive side), +mu_na (negative side)
            total = total + term
        else:
            raise ValueError(mode)
    return total


# §5 ------------------------------------------------------------------------------------------------------------
def y_aware_info_nce(z1, z2, metadata, kernel_spec, temperature=0.1):
    n = z1.shape[0]
    k = kernels.matrix(kernel_spec, metadata)
    big = k.repeat(2, 2)
    big = big.masked_fill(eye_bool(2 * n), 0.0)
    row = big.sum(dim=1, keepdim=True)
    w = torch.where(row > 0, big / torch.where(row > 0, row, torch.ones_like(row)), torch.zeros_like(big))
    z = torch.cat([unit(z1), unit(z2)], dim=0)
    s = z @ z.T / temperature
    log_p = torch.log_softmax(s.masked_fill(eye_bool(2 * n), NEG_INF), dim=1)
    off = ~eye_bool(2 * n)
    per_anchor = -(w[off] * log_p[off]).reshape(2 * n, 2 * n - 1).sum(dim=1)
    return per_anchor.mean()


# §6 ------------------------------------------------------------------------------------------------------------
def log_mean_exp_pairs(x, t):
    """log mean_{i<j} exp(-t ||x_i - x_j||^2), pairs enumerated explicitly."""
    n = x.shape[0]
    i, j = torch.triu_indices(n, n, offset=1)
    sq = ((x[i] - x[j]) ** 2).sum(dim=1)
    return torch.logsumexp(-t * sq, dim=0) - math.log(len(i))


def decoupled_uniformity(views, t=2.0, prior=None, kernel_spec=None, lam=None):
    n = views.shape[0]
    mu = unit(views).mean(dim=1)
    if prior is not None:
        lam = 1.0 / math.sqrt(n) if lam is None else lam
        k = kernels.matrix(kernel_spec or {"type": "cosine"}, prior)
        alpha = torch.linalg.solve(k + lam * torch.eye(n, dtype=DT), k)  # constant: no gradient through α
        mu = alpha @ mu
    return log_mean_exp_pairs(mu, t)


# §7 ------------------------------------------------------------------------------------------------------------
def alignment(z1, z2, alpha=2.0):
    return torch.linalg.vector_norm(unit(z1) - unit(z2), dim=1).pow(alpha).mean()


def uniformity(z, t=2.0):
    return log_mean_exp_pairs(unit(z), t)


# §8 ------------------------------------------------------------------------------------------------------------
def sep_clr(c1, c2, s1, s2, group, tau=0.5, beta_salient=1000.0, beta_reg=1000.0, lambda_jem=10.0):
    g = torch.tensor([float(x) for x in group], dtype=DT)
    target = g == 1
    background = g == 0

    def align(x, y):
        if x.shape[0] == 0:
            return torch.zeros((), dtype=DT)
        return (((x - y) ** 2).sum(dim=1) / (2 * tau)).mean()

    def unif(x):
        return log_mean_exp_pairs(x, 1.0 / (2 * tau))

    def jem(c, s):
        sq_s = ((s[:, None, :] - s[None, :, :]) ** 2).sum(-1)
        sq_c = ((c[:, None, :] - c[None, :, :]) ** 2).sum(-1)
        return (torch.logsumexp(-(sq_s + sq_c) / (2 * tau), dim=1) - math.log(c.shape[0])).mean()

    c1, c2 = unit(c1), unit(c2)
    sp1, sp2 = s1 * g[:, None], s2 * g[:, None]
    common = align(c1, c2) + 2 * (unif(c1) + unif(c2)) / 2
    salient = align(s1[target], s2[target]) + 2 * (unif(sp1) + unif(sp2)) / 2
    reg = (align(sp1[background], s1[background]) + align(sp2[background], s2[background])) / 2
    j = (jem(c1, sp1) + jem(c2, sp2)) / 2
    total = common + beta_salient * salient + beta_reg * reg + lambda_jem * j
    return {"total": total, "common": common, "salient": salient, "reg": reg, "jem": j}


# §9 ------------------------------------------------------------------------------------------------------------
def _scale(temperature=None, logit_scale=None):
    if logit_scale is not None:
        return torch.exp(torch.clamp(logit_scale, max=math.log(100.0)))
    return 1.0 / temperature


def clip_loss(u, v, temperature=0.07, logit_scale=None):
    logits = unit(u) @ unit(v).T * _scale(temperature, logit_scale)
    target = torch.arange(u.shape[0])
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def kernel_clip_loss(u, v, metadata, kernel_spec, temperature=0.07, logit_scale=None):
    logits = unit(u) @ unit(v).T * _scale(temperature, logit_scale)
    k = kernels.matrix(kernel_spec, metadata)
    t_rows = k / k.sum(dim=1, keepdim=True)
    t_cols = k.T / k.T.sum(dim=1, keepdim=True)
    h_rows = -(t_rows * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    h_cols = -(t_cols * torch.log_softmax(logits.T, dim=1)).sum(dim=1).mean()
    return (h_rows + h_cols) / 2


# §10 -----------------------------------------------------------------------------------------------------------
def longitudinal_direction(z_earlier, z_later, direction):
    cos = F.cosine_similarity(z_later - z_earlier, direction.reshape(1, -1), dim=1)
    return (1 - cos).mean()


# Contrastive-analysis regularisers and VAE objectives (not in LOSSES.md: defined in src/losses/{mmd,hsic,
# contrastive-vae}.ts docstrings) ------------------------------------------------------------------------------
def _sq_dists(x, y):
    """Squared Euclidean distances, computed by explicit differences (not the Gram expansion)."""
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


def median_bandwidth(x):
    """Median over pairs i < j of ||x_i - x_j|| (mean of the two middle values for an even count); a constant."""
    with torch.no_grad():
        n = x.shape[0]
        i, j = torch.triu_indices(n, n, offset=1)
        d = torch.sqrt(((x[i] - x[j]) ** 2).sum(1)).sort().values
        if d.numel() == 0:
            return 1.0
        m = d.numel() // 2
        med = float(d[m]) if d.numel() % 2 == 1 else float((d[m - 1] + d[m]) / 2)
        return med if med > 0 else 1.0


def _sigmas(sigma, x):
    if sigma == "median":
        return [median_bandwidth(x)]
    return [float(sigma)] if isinstance(sigma, (int, float)) else [float(s) for s in sigma]


def rbf(x, y, sigmas):
    d = _sq_dists(x, y)
    return sum(torch.exp(-d / (2 * s * s)) for s in sigmas)


def mmd(x, y, sigma=1.0, estimator="biased"):
    """Gretton et al. 2012: MMD^2_b (diagonals kept) or MMD^2_u (within-sample diagonals left out)."""
    sig = _sigmas(sigma, torch.cat([x, y], 0))
    kxx, kyy, kxy = rbf(x, x, sig), rbf(y, y, sig), rbf(x, y, sig)
    n, m = x.shape[0], y.shape[0]
    if estimator == "biased":
        return kxx.mean() + kyy.mean() - 2 * kxy.mean()
    off_x = ~torch.eye(n, dtype=torch.bool)
    off_y = ~torch.eye(m, dtype=torch.bool)
    return kxx[off_x].sum() / (n * (n - 1)) + kyy[off_y].sum() / (m * (m - 1)) - 2 * kxy.mean()


def hsic(x, y, sigma_x="median", sigma_y="median", normalized=False):
    """Gretton et al. 2005, HSIC_b = tr(K H L H) / (n-1)^2; normalised: HSIC(K,L)/sqrt(HSIC(K,K) HSIC(L,L))."""
    n = x.shape[0]
    k = rbf(x, x, _sigmas(sigma_x, x))
    l = rbf(y, y, _sigmas(sigma_y, y))
    h = torch.eye(n, dtype=DT) - torch.full((n, n), 1.0 / n, dtype=DT)
    kl = torch.trace(k @ h @ l @ h)
    if not normalized:
        return kl / (n - 1) ** 2
    kk = torch.trace(k @ h @ k @ h)
    ll = torch.trace(l @ h @ l @ h)
    return kl / torch.sqrt(kk * ll)


def gaussian_kl(mu, logvar):
    """Per-sample KL(N(mu, exp(logvar)) || N(0, I)) (Kingma & Welling 2014, Appendix B)."""
    return 0.5 * (mu ** 2 + torch.exp(logvar) - logvar - 1).sum(1)


def contrastive_vae_loss(x, recon, zMu, zLogvar, z, sMu, sLogvar, s, group, likelihood="gaussian", sigma=1.0,
                         beta=1.0, mmd_common=0.0, mmd_salient=0.0, mmd_options=None):
    """cVAE (Abid & Zou 2019) and MM-cVAE (Weinberger et al. 2022) loss; terms as src/losses/contrastive-vae.ts."""
    mo = mmd_options or {}
    n = x.shape[0]
    g = torch.tensor([float(v) for v in group], dtype=DT)
    xf, rf = x.reshape(n, -1), recon.reshape(n, -1)
    if likelihood == "gaussian":
        nll = ((xf - rf) ** 2).sum(1) / (2 * sigma * sigma)
    else:
        nll = F.binary_cross_entropy_with_logits(rf, xf, reduction="none").sum(1)
    reconstruction = nll.mean()
    kl_common = gaussian_kl(zMu, zLogvar).mean()
    kl_salient = (gaussian_kl(sMu, sLogvar) * g).sum() / n
    bg, tg = g == 0, g == 1
    zero = torch.zeros((), dtype=DT)
    mmd_c = mmd(z[bg], z[tg], **mo) if bg.any() and tg.any() else zero
    mmd_s = mmd(s[bg], torch.zeros_like(s[bg]), **mo) if bg.any() else zero
    total = reconstruction + beta * (kl_common + kl_salient) + mmd_common * mmd_c + mmd_salient * mmd_s
    return {"total": total, "reconstruction": reconstruction, "klCommon": kl_common, "klSalient": kl_salient,
            "mmdCommon": mmd_c, "mmdSalient": mmd_s}
