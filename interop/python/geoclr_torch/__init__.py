"""geoclr's PyTorch side. Add ``interop/python`` to ``sys.path`` (or ``PYTHONPATH``) and ``import geoclr_torch``.

Twins of geoclr's encoders: the same architectures, parameter names and shapes, so a geoclr state_dict
(e.g. from a safetensors export) loads with ``model.load_state_dict(state, strict=True)``.

geoclr runs channels-last; these modules take the usual PyTorch channels-first layout: a geoclr volume batch
[B, D, H, W, C] is ``x.permute(0, 4, 1, 2, 3)`` here, an image batch [B, H, W, C] is ``x.permute(0, 3, 1, 2)``.
Every encoder returns ``EncoderOutput(representation, projection)``.

    from geoclr_torch import build_encoder, load_file
    model = build_encoder({"arch": "resnet3d", "widths": [8, 16, 32, 64]})
    model.load_state_dict(load_file("encoder.safetensors"), strict=True)
    rep, proj = model(volumes)            # volumes: [B, 1, D, H, W]

``VisitSequenceModel`` is the twin of geoclr's patient-level sequence model (src/longitudinal/sequence.ts).

``safetensors_lite`` reads and writes safetensors files without the ``safetensors`` package.
"""
from .models import (
    BasicBlock,
    ConvNetEncoder,
    DenseNetEncoder,
    EncoderOutput,
    MLPHead,
    ResNetEncoder,
    TextTransformerEncoder,
    build_encoder,
    resolve_config,
)
from .contrastive import SepCLRModel, SimCLRModel, sep_clr_loss
from .longitudinal import SequenceOutput, VisitSequenceModel, time_features
from .safetensors_lite import SafetensorsError, load, load_file, load_metadata, read_header, save, save_file

__all__ = [
    "BasicBlock",
    "ConvNetEncoder",
    "DenseNetEncoder",
    "EncoderOutput",
    "MLPHead",
    "ResNetEncoder",
    "TextTransformerEncoder",
    "build_encoder",
    "resolve_config",
    "SepCLRModel",
    "SimCLRModel",
    "sep_clr_loss",
    "SequenceOutput",
    "VisitSequenceModel",
    "time_features",
    "SafetensorsError",
    "load",
    "load_file",
    "load_metadata",
    "read_header",
    "save",
    "save_file",
]
