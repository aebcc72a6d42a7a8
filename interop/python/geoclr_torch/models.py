"""The twin modules. Structure and names mirror geoclr's src/nn/encoders/*.ts (and torchvision's ResNet/DenseNet)."""
from collections import OrderedDict, namedtuple

import torch
import torch.nn as nn
import torch.nn.functional as F

EncoderOutput = namedtuple("EncoderOutput", ["representation", "projection"])

# The defaults of geoclr's resolveEncoderConfig (src/nn/encoders/*.ts).
RESNET_DEFAULTS = dict(inChannels=1, widths=[8, 16, 32, 64], depths=[2, 2, 2, 2], stemKernel=3, stemStride=2, stemPool=False)
DENSENET_DEFAULTS = dict(inChannels=1, growthRate=8, blocks=[2, 4, 4, 2], initFeatures=16, bnSize=4, dropRate=0.0,
                         stemKernel=3, stemStride=2, stemPool=False)
CONVNET_DEFAULTS = dict(inChannels=1, widths=[16, 32, 64], kernel=3, batchNorm=True, pooling="avg", inputShape=None)
TEXT_DEFAULTS = dict(maxLength=128, dim=64, depth=2, heads=4, dropout=0.1, pooling="cls")


def _ops(dims):
    if dims == 3:
        return nn.Conv3d, nn.BatchNorm3d, nn.MaxPool3d, nn.AvgPool3d
    return nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d


class MLPHead(nn.Sequential):
    """Linear → [BatchNorm1d] → ReLU → … → Linear (names head.0, head.1, …)."""

    def __init__(self, in_dim, hidden, out, batch_norm=False):
        layers = []
        width = in_dim
        for h in hidden:
            layers.append(nn.Linear(width, h))
            if batch_norm:
                layers.append(nn.BatchNorm1d(h))
            layers.append(nn.ReLU(inplace=False))
            width = h
        layers.append(nn.Linear(width, out))
        super().__init__(*layers)
        self.out_dim = out


def _head(cfg, in_dim):
    h = cfg.get("head")
    if h is None:
        return None
    return MLPHead(in_dim, h["hidden"], h["out"], h["batchNorm"])


class _Encoder(nn.Module):
    """Shared forward: the representation, and its projection through the head (or itself without a head)."""

    def forward(self, *inputs):
        rep = self.represent(*inputs)
        return EncoderOutput(rep, rep if self.head is None else self.head(rep))


class BasicBlock(nn.Module):
    def __init__(self, dims, in_planes, planes, stride):
        super().__init__()
        Conv, BN, _, _ = _ops(dims)
        self.conv1 = Conv(in_planes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = BN(planes)
        self.conv2 = Conv(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = BN(planes)
        self.downsample = None
        if stride != 1 or in_planes != planes:
            self.downsample = nn.Sequential(Conv(in_planes, planes, 1, stride=stride, bias=False), BN(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


class ResNetEncoder(_Encoder):
    """geoclr's ResNetEncoder ('resnet3d' / 'resnet2d'); torchvision names (conv1, bn1, layer1.0.conv1, …, head)."""

    def __init__(self, cfg):
        super().__init__()
        cfg = resolve_config(cfg)
        dims = 3 if cfg["arch"] == "resnet3d" else 2
        Conv, BN, MaxPool, _ = _ops(dims)
        widths, depths = cfg["widths"], cfg["depths"]
        k = cfg["stemKernel"]
        self.conv1 = Conv(cfg["inChannels"], widths[0], k, stride=cfg["stemStride"], padding=k // 2, bias=False)
        self.bn1 = BN(widths[0])
        self.maxpool = MaxPool(3, stride=2, padding=1) if cfg["stemPool"] else None
        in_planes = widths[0]
        self.stages = []
        for s, (planes, depth) in enumerate(zip(widths, depths)):
            blocks = []
            for b in range(depth):
                blocks.append(BasicBlock(dims, in_planes, planes, 2 if (b == 0 and s > 0) else 1))
                in_planes = planes
            stage = nn.Sequential(*blocks)
            self.add_module(f"layer{s + 1}", stage)
            self.stages.append(stage)
        self.representation_dim = in_planes
        self.head = _head(cfg, in_planes)

    def represent(self, x):
        h = F.relu(self.bn1(self.conv1(x)))
        if self.maxpool is not None:
            h = self.maxpool(h)
        for stage in self.stages:
            h = stage(h)
        return h.mean(dim=tuple(range(2, h.dim())))


class _DenseLayer(nn.Module):
    def __init__(self, dims, in_features, growth, bn_size, drop_rate):
        super().__init__()
        Conv, BN, _, _ = _ops(dims)
        self.norm1 = BN(in_features)
        self.relu1 = nn.ReLU()
        self.conv1 = Conv(in_features, bn_size * growth, 1, bias=False)
        self.norm2 = BN(bn_size * growth)
        self.relu2 = nn.ReLU()
        self.conv2 = Conv(bn_size * growth, growth, 3, padding=1, bias=False)
        self.drop_rate = drop_rate

    def forward(self, features):
        x = torch.cat(features, 1)
        out = self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))
        if self.drop_rate > 0:
            out = F.dropout(out, p=self.drop_rate, training=self.training)
        return out


class _DenseBlock(nn.ModuleDict):
    def __init__(self, dims, n, in_features, growth, bn_size, drop_rate):
        super().__init__()
        for i in range(n):
            self.add_module(f"denselayer{i + 1}", _DenseLayer(dims, in_features + i * growth, growth, bn_size, drop_rate))

    def forward(self, x):
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class _Transition(nn.Sequential):
    def __init__(self, dims, in_features, out_features):
        super().__init__()
        Conv, BN, _, AvgPool = _ops(dims)
        self.add_module("norm", BN(in_features))
        self.add_module("relu", nn.ReLU())
        self.add_module("conv", Conv(in_features, out_features, 1, bias=False))
        self.add_module("pool", AvgPool(2, stride=2))


class DenseNetEncoder(_Encoder):
    """geoclr's DenseNetEncoder ('densenet3d' / 'densenet2d'); torchvision DenseNet-121 names under `features`."""

    def __init__(self, cfg):
        super().__init__()
        cfg = resolve_config(cfg)
        dims = 3 if cfg["arch"] == "densenet3d" else 2
        Conv, BN, MaxPool, _ = _ops(dims)
        k = cfg["stemKernel"]
        layers = [
            ("conv0", Conv(cfg["inChannels"], cfg["initFeatures"], k, stride=cfg["stemStride"], padding=k // 2, bias=False)),
            ("norm0", BN(cfg["initFeatures"])),
            ("relu0", nn.ReLU()),
        ]
        if cfg["stemPool"]:
            layers.append(("pool0", MaxPool(3, stride=2, padding=1)))
        self.features = nn.Sequential(OrderedDict(layers))
        n = cfg["initFeatures"]
        for i, count in enumerate(cfg["blocks"]):
            self.features.add_module(f"denseblock{i + 1}",
                                     _DenseBlock(dims, count, n, cfg["growthRate"], cfg["bnSize"], cfg["dropRate"]))
            n += count * cfg["growthRate"]
            if i != len(cfg["blocks"]) - 1:
                self.features.add_module(f"transition{i + 1}", _Transition(dims, n, n // 2))
                n //= 2
        self.features.add_module("norm5", BN(n))
        self.representation_dim = n
        self.head = _head(cfg, n)

    def represent(self, x):
        h = F.relu(self.features(x))
        return h.mean(dim=tuple(range(2, h.dim())))


def convnet_output_shape(input_shape, stages):
    out = []
    for n in input_shape:
        for _ in range(stages):
            n = (n - 1) // 2 + 1
        out.append(n)
    return out


class ConvNetEncoder(_Encoder):
    """geoclr's ConvNetEncoder ('convnet3d' / 'convnet2d'): stride-2 Conv -> BatchNorm -> ReLU stages under `features`.

    'flatten' pooling flattens channels-last (permute channels to the end first), as geoclr does."""

    def __init__(self, cfg):
        super().__init__()
        cfg = resolve_config(cfg)
        dims = 3 if cfg["arch"] == "convnet3d" else 2
        Conv, BN, _, _ = _ops(dims)
        layers = []
        in_c = cfg["inChannels"]
        k = cfg["kernel"]
        for w in cfg["widths"]:
            layers.append(Conv(in_c, w, k, stride=2, padding=k // 2, bias=not cfg["batchNorm"]))
            if cfg["batchNorm"]:
                layers.append(BN(w))
            layers.append(nn.ReLU())
            in_c = w
        self.features = nn.Sequential(*layers)
        self.pooling = cfg["pooling"]
        self.representation_dim = _convnet_rep_dim(cfg)
        self.head = _head(cfg, self.representation_dim)

    def represent(self, x):
        h = self.features(x)
        if self.pooling == "avg":
            return h.mean(dim=tuple(range(2, h.dim())))
        return h.permute(0, *range(2, h.dim()), 1).flatten(1)


def _convnet_rep_dim(cfg):
    last = cfg["widths"][-1]
    if cfg["pooling"] == "avg":
        return last
    size = 1
    for n in convnet_output_shape(cfg["inputShape"], len(cfg["widths"])):
        size *= n
    return last * size


class TextTransformerEncoder(_Encoder):
    """geoclr's TextTransformerEncoder: embeddings, pre-LN torch.nn.TransformerEncoderLayer blocks, final LayerNorm."""

    def __init__(self, cfg):
        super().__init__()
        cfg = resolve_config(cfg)
        self.cfg = cfg
        dim = cfg["dim"]
        self.token_embedding = nn.Embedding(cfg["vocabSize"], dim)
        self.position_embedding = nn.Embedding(cfg["maxLength"], dim)
        self.dropout = nn.Dropout(cfg["dropout"])
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(dim, cfg["heads"], cfg["ffDim"], dropout=cfg["dropout"], activation="gelu",
                                       batch_first=True, norm_first=True)
            for _ in range(cfg["depth"])
        ])
        self.norm = nn.LayerNorm(dim)
        self.representation_dim = dim
        self.head = _head(cfg, dim)

    def represent(self, ids, attention_mask=None):
        b, l = ids.shape
        positions = torch.arange(l, device=ids.device).unsqueeze(0).expand(b, l)
        h = self.dropout(self.token_embedding(ids) + self.position_embedding(positions))
        padding = None if attention_mask is None else attention_mask == 0
        for layer in self.layers:
            h = layer(h, src_key_padding_mask=padding)
        h = self.norm(h)
        if self.cfg["pooling"] == "cls":
            return h[:, 0]
        m = torch.ones(b, l, 1, dtype=h.dtype) if attention_mask is None else attention_mask.to(h.dtype).unsqueeze(-1)
        return (h * m).sum(1) / m.sum(1).clamp(min=1)


def _resolve_head(head, in_dim):
    if head is None or head is False:
        return None
    head = dict(head or {})
    return {"hidden": list(head.get("hidden", [in_dim])), "out": head.get("out", 128), "batchNorm": head.get("batchNorm", False)}


def resolve_config(cfg):
    """Fills geoclr's defaults (configs exported by geoclr are already complete; this makes short configs work too)."""
    cfg = dict(cfg)
    arch = cfg["arch"]
    if arch in ("resnet3d", "resnet2d"):
        out = {**RESNET_DEFAULTS, **cfg}
        if "depths" not in cfg and len(out["widths"]) != 4:
            out["depths"] = [2] * len(out["widths"])
        out["head"] = _resolve_head(cfg.get("head", {}), out["widths"][-1])
        return out
    if arch in ("densenet3d", "densenet2d"):
        out = {**DENSENET_DEFAULTS, **cfg}
        n = out["initFeatures"]
        for i, count in enumerate(out["blocks"]):
            n += count * out["growthRate"]
            if i != len(out["blocks"]) - 1:
                n //= 2
        out["head"] = _resolve_head(cfg.get("head", {}), n)
        return out
    if arch in ("convnet3d", "convnet2d"):
        out = {**CONVNET_DEFAULTS, **cfg}
        out["head"] = _resolve_head(cfg.get("head", {}), _convnet_rep_dim(out))
        return out
    if arch == "text-transformer":
        out = {**TEXT_DEFAULTS, **cfg}
        out.setdefault("ffDim", 4 * out["dim"])
        out["head"] = _resolve_head(cfg.get("head", {}), out["dim"])
        return out
    raise ValueError(f"unknown arch {arch!r}")


def build_encoder(cfg):
    """The twin of geoclr's createEncoder(config)."""
    arch = cfg["arch"]
    if arch in ("resnet3d", "resnet2d"):
        return ResNetEncoder(cfg)
    if arch in ("densenet3d", "densenet2d"):
        return DenseNetEncoder(cfg)
    if arch in ("convnet3d", "convnet2d"):
        return ConvNetEncoder(cfg)
    if arch == "text-transformer":
        return TextTransformerEncoder(cfg)
    raise ValueError(f"unknown arch {arch!r}")
