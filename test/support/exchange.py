"""Python side of test/support/exchange.ts: tensors.json + tensors.bin (raw little-endian arrays)."""
import json
import os
import sys

import numpy as np

_DTYPES = {"float32": np.float32, "float64": np.float64, "int32": np.int32}


def read_exchange(folder):
    with open(os.path.join(folder, "tensors.json")) as f:
        index = json.load(f)
    with open(os.path.join(folder, "tensors.bin"), "rb") as f:
        blob = f.read()
    out = {}
    for name, e in index.items():
        arr = np.frombuffer(blob, dtype=_DTYPES[e["dtype"]], count=e["length"] // np.dtype(_DTYPES[e["dtype"]]).itemsize,
                            offset=e["offset"])
        out[name] = arr.reshape(e["shape"]).copy()
    return out


def write_exchange(folder, items):
    index = {}
    chunks = []
    offset = 0
    for name, arr in items.items():
        arr = np.asarray(arr)  # not ascontiguousarray: it turns 0-d arrays into 1-d ones
        if arr.dtype == np.float64:
            dtype = "float64"
        elif arr.dtype in (np.int32, np.int64, np.bool_):
            dtype, arr = "int32", arr.astype(np.int32)
        else:
            dtype, arr = "float32", arr.astype(np.float32)
        data = arr.tobytes(order="C")
        index[name] = {"dtype": dtype, "shape": list(arr.shape), "offset": offset, "length": len(data)}
        chunks.append(data)
        offset += len(data)
        pad = (8 - offset % 8) % 8
        chunks.append(b"\0" * pad)
        offset += pad
    with open(os.path.join(folder, "tensors.bin"), "wb") as f:
        f.write(b"".join(chunks))
    with open(os.path.join(folder, "tensors.json"), "w") as f:
        json.dump(index, f)


def run_cases(handle):
    """The shared main of the reference scripts: FOLDER (argv[1]) holds cases.json and the exchange arrays;
    handle(case, arrays, out) fills `out`, written to FOLDER/out."""
    folder = sys.argv[1]
    with open(os.path.join(folder, "cases.json")) as f:
        cases = json.load(f)
    arrays = read_exchange(folder)
    out = {}
    for case in cases:
        handle(case, arrays, out)
    os.makedirs(os.path.join(folder, "out"), exist_ok=True)
    write_exchange(os.path.join(folder, "out"), out)
