"""Builds the texture assets of the digits-on-texture set (DATA.md recipe 2) from Debian's python3-skimage.

    apt-get download python3-skimage && dpkg -x python3-skimage_*.deb /tmp/skimage
    /usr/bin/python3 modalities/images/assets/build_textures.py /tmp/skimage/usr/lib/python3/dist-packages/skimage/data

Each 512x512 8-bit grey texture (grass, gravel, brick; CC0, see NOTICE) is reduced 4x by 4x4 box averaging to
128x128 and written as a binary PGM (P5): small enough to ship, and any image viewer opens it.
"""
import os
import sys

import numpy as np
from PIL import Image

NAMES = ["grass", "gravel", "brick"]
FACTOR = 4


def main():
    src = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    for name in NAMES:
        img = np.asarray(Image.open(os.path.join(src, f"{name}.png")).convert("L"), dtype=np.float64)
        h, w = img.shape
        small = img.reshape(h // FACTOR, FACTOR, w // FACTOR, FACTOR).mean(axis=(1, 3))
        out = np.clip(np.round(small), 0, 255).astype(np.uint8)
        with open(os.path.join(here, f"{name}.pgm"), "wb") as fh:
            fh.write(f"P5\n{out.shape[1]} {out.shape[0]}\n255\n".encode("ascii"))
            fh.write(out.tobytes())
        print(name, out.shape, out.mean().round(1), out.std().round(1))


if __name__ == "__main__":
    main()
