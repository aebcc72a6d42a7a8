"""geoclr's PyTorch side: safetensors without the `safetensors` package (and, with phase 2, twins of geoclr's
encoders). Add ``interop/python`` to ``sys.path`` (or ``PYTHONPATH``) and ``import geoclr_torch``."""
from .safetensors_lite import SafetensorsError, load, load_file, load_metadata, read_header, save, save_file

__all__ = ["SafetensorsError", "load", "load_file", "load_metadata", "read_header", "save", "save_file"]
