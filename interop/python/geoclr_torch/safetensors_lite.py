"""Dependency-light safetensors reader/writer for PyTorch (no `safetensors` package needed).

Drop-in for the subset of `safetensors.torch` that labs use::

    from geoclr_torch.safetensors_lite import load_file, save_file
    model.load_state_dict(load_file("encoder.safetensors"))
    save_file(model.state_dict(), "encoder.safetensors", metadata={"format": "pt"})

The file layout is the reference one, byte for byte: u64 little-endian header length, compact UTF-8 JSON
(``__metadata__`` first, then tensors ordered by dtype width, widest first, then name), padded with spaces to
a multiple of 8 bytes, then the tensors' little-endian bytes with no gaps. Reading validates the header
(length within the file, JSON, known dtypes, shape x dtype = byte length, offsets inside the data, no overlap,
no gap, no trailing bytes) before allocating any tensor, and raises ``SafetensorsError`` naming the problem.
"""
from __future__ import annotations

import json
import os
import struct
import sys
import tempfile
from typing import Dict, Mapping, Optional, Tuple

import torch

if sys.byteorder != "little":  # the format is little-endian; so is every machine PyTorch ships for
    raise ImportError("safetensors_lite supports little-endian hosts only")

__all__ = ["SafetensorsError", "load_file", "save_file", "load", "save", "read_header"]

MAX_HEADER_BYTES = 100_000_000

# dtype name -> (torch dtype, bytes per element); the tuple order is the reference alignment order.
_DTYPES: Dict[str, Tuple[torch.dtype, int]] = {
    "BOOL": (torch.bool, 1),
    "U8": (torch.uint8, 1),
    "I8": (torch.int8, 1),
    "I16": (torch.int16, 2),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
    "I32": (torch.int32, 4),
    "F32": (torch.float32, 4),
    "F64": (torch.float64, 8),
    "I64": (torch.int64, 8),
}
_ORDER = list(_DTYPES)  # increasing alignment, as in the reference implementation
_NAME_OF = {dt: name for name, (dt, _) in _DTYPES.items()}


class SafetensorsError(ValueError):
    """A malformed safetensors file or an unsupported tensor."""


def _header_length(prefix: bytes, file_size: int, source: str) -> int:
    if file_size < 8:
        raise SafetensorsError(f"{source}: not a valid safetensors file: {file_size} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", prefix[:8])
    if n > file_size - 8:
        raise SafetensorsError(f"{source}: not a valid safetensors file: header length {n} exceeds the file ({file_size} bytes)")
    return n


def _parse_header(data: bytes, file_size: int, source: str) -> Tuple[dict, Dict[str, str], int]:
    """Validates the header held in ``data`` (at least its first 8 + N bytes) against the file size."""

    def fail(problem: str):
        raise SafetensorsError(f"{source}: not a valid safetensors file: {problem}")

    n = _header_length(data, file_size, source)
    if n > MAX_HEADER_BYTES:
        fail(f"header length {n} exceeds the {MAX_HEADER_BYTES}-byte limit")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        fail(f"header is not UTF-8 JSON ({e})")
    if not isinstance(header, dict):
        fail("header JSON is not an object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        fail("__metadata__ is not an object of strings")
    data_size = file_size - 8 - n
    spans = []
    for name, info in header.items():
        if not isinstance(info, dict):
            fail(f"tensor '{name}' is not an object")
        dtype, shape, offsets = info.get("dtype"), info.get("shape"), info.get("data_offsets")
        if dtype not in _DTYPES:
            fail(f"tensor '{name}' has unknown or unsupported dtype {dtype!r}")
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            fail(f"tensor '{name}' has an invalid shape {shape!r}")
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and o >= 0 for o in offsets)
            or offsets[0] > offsets[1]
        ):
            fail(f"tensor '{name}' has invalid data_offsets {offsets!r}")
        count = 1
        for d in shape:
            count *= d
        if count * _DTYPES[dtype][1] != offsets[1] - offsets[0]:
            fail(f"tensor '{name}': shape {shape} x {dtype} is {count * _DTYPES[dtype][1]} bytes but data_offsets span {offsets[1] - offsets[0]}")
        if offsets[1] > data_size:
            fail(f"tensor '{name}': data_offsets {offsets} lie outside the data section ({data_size} bytes)")
        spans.append((offsets[0], offsets[1], name))
    cursor = 0
    for begin, end, name in sorted(spans):
        if begin < cursor:
            fail(f"tensor '{name}' (bytes {begin}-{end}) overlaps the previous tensor (ends at {cursor})")
        if begin > cursor:
            fail(f"gap in the data section: bytes {cursor}-{begin} belong to no tensor (before '{name}')")
        cursor = end
    if cursor != data_size:
        fail(f"the data section holds {data_size} bytes but the tensors cover {cursor}")
    return header, metadata, 8 + n


def read_header(path: str) -> Tuple[dict, Dict[str, str]]:
    """The validated tensor table ({name: {dtype, shape, data_offsets}}) and ``__metadata__`` of a file,
    reading only the header."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        prefix = f.read(8)
        n = _header_length(prefix, size, path)
        prefix += f.read(n)
    header, metadata, _ = _parse_header(prefix, size, path)
    return header, metadata


def load(data: bytes, source: str = "<bytes>") -> Dict[str, torch.Tensor]:
    """Tensors from safetensors bytes (``load_metadata`` gives the metadata)."""
    return _load(data, source)[0]


def _load(data: bytes, source: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    header, metadata, start = _parse_header(data, len(data), source)
    out: Dict[str, torch.Tensor] = {}
    for name, info in header.items():
        dtype = _DTYPES[info["dtype"]][0]
        begin, end = info["data_offsets"]
        raw = bytearray(data[start + begin : start + end])
        if end == begin:
            t = torch.empty(info["shape"], dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype).reshape(info["shape"])
        out[name] = t
    return out, metadata


def load_file(path: str, device: str = "cpu") -> Dict[str, torch.Tensor]:
    """Tensors of a safetensors file, ready for ``model.load_state_dict``."""
    with open(path, "rb") as f:
        data = f.read()
    tensors, _ = _load(data, path)
    return {k: v.to(device) for k, v in tensors.items()}


def load_metadata(path: str) -> Dict[str, str]:
    return read_header(path)[1]


def save(tensors: Mapping[str, torch.Tensor], metadata: Optional[Mapping[str, str]] = None) -> bytes:
    """Safetensors bytes for a {name: tensor} mapping (tensors are made contiguous, moved to CPU)."""
    items = []
    for name, t in tensors.items():
        if not isinstance(t, torch.Tensor):
            raise SafetensorsError(f"tensor '{name}' is a {type(t).__name__}, not a torch.Tensor")
        if t.dtype not in _NAME_OF:
            raise SafetensorsError(f"tensor '{name}' has dtype {t.dtype}, which safetensors_lite cannot store")
        if t.layout != torch.strided:
            raise SafetensorsError(f"tensor '{name}' is {t.layout}; save a dense tensor")
        items.append((name, t.detach().to("cpu").contiguous()))
    items.sort(key=lambda it: (-_ORDER.index(_NAME_OF[it[1].dtype]), it[0]))
    header: dict = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise SafetensorsError("metadata must map str to str")
        header["__metadata__"] = dict(sorted(metadata.items()))
    chunks = []
    offset = 0
    for name, t in items:
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _NAME_OF[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    js = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    js += b" " * ((8 - len(js) % 8) % 8)
    return struct.pack("<Q", len(js)) + js + b"".join(chunks)


def save_file(tensors: Mapping[str, torch.Tensor], path: str, metadata: Optional[Mapping[str, str]] = None) -> None:
    """Writes a safetensors file atomically (temp file in the same folder, then rename)."""
    data = save(tensors, metadata)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path), suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
