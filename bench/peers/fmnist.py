"""Read the Fashion-MNIST IDX files installed by the Debian package dataset-fashion-mnist.

The package installs gzipped IDX files into /usr/share/datasets/fashion-mnist.
Set FMNIST_DIR to read them from another folder.
"""

import gzip
import os
import struct
from pathlib import Path

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

# IDX magic numbers: 0x00000803 is unsigned bytes with 3 dimensions (images),
# 0x00000801 is unsigned bytes with 1 dimension (labels).
IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801


def data_dir():
    return Path(os.environ.get("FMNIST_DIR", DEFAULT_DIR))


def read_idx(path, expected_magic):
    """Return the uint8 array stored in one gzipped IDX file."""
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    magic = struct.unpack(">I", data[:4])[0]
    if magic != expected_magic:
        raise ValueError(f"{path}: invalid IDX magic number {magic:#010x}, expected {expected_magic:#010x}")
    ndim = magic & 0xFF
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    values = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if values.size != int(np.prod(shape)):
        raise ValueError(
            f"{path}: invalid IDX file, the header shape {shape} needs {int(np.prod(shape))} values "
            f"but the file has {values.size}; the file may be truncated, reinstall dataset-fashion-mnist"
        )
    return values.reshape(shape)


def load(split="train"):
    """Load one split as (x, y): x float32 of shape (n, 784) scaled to [0, 1], y int64 labels."""
    if split not in FILES:
        raise ValueError(f"invalid split {split!r}, expected one of {sorted(FILES)}")
    images_name, labels_name = FILES[split]
    folder = data_dir()
    for name in (images_name, labels_name):
        if not (folder / name).exists():
            raise FileNotFoundError(
                f"{folder / name} not found; install it with `apt-get install dataset-fashion-mnist` "
                "or set FMNIST_DIR to the folder with the IDX files"
            )
    images = read_idx(folder / images_name, IMAGES_MAGIC)
    labels = read_idx(folder / labels_name, LABELS_MAGIC)
    x = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
    y = labels.astype(np.int64)
    return x, y
