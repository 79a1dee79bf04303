"""Write golden values for the image resampling and augmentation layers, computed by Keras 3.

Generated with keras 3.15.1 (TensorFlow backend), tensorflow-cpu 2.21.0 and
numpy 2.4.6 on Python 3.11 (CPU). Run from the repository root:

    /work/venv/bin/python tools/golden/make_golden_image.py

It writes src/rust/engine/tests/golden/image.json with these parts. Inputs
are formulas in this file (`pattern`), so nothing in them is random.

- "resizing", "center_crop", "upsampling_bilinear": the layer's output on
  a fixed batch, and the gradient of sum(output * output_weights) with
  respect to the input from tf.GradientTape.
- "affine": keras.ops.image.affine_transform for fixed transforms (rotation,
  shifts within and far outside the image, zoom out), every fill mode and
  both interpolations.
- "random_layers": RandomRotation, RandomTranslation, RandomZoom,
  RandomContrast and RandomFlip called in training mode. keras's random draws
  differ from kerust's, so the file stores what keras drew (angles in
  degrees, shifts in pixels, zoom factors, contrast factors, flip flags)
  next to the output keras computed from them.
- "contrast_scalar_draws": the smallest and largest of 2000 contrast
  factors RandomContrast(factor = 0.5) draws, which shows that keras 3.15
  draws a single-number factor from [1, 1 + factor].

Values are float32 results stored as the shortest decimal that round-trips
the float32 widened to a double.
"""

import json
import math
import os
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import tensorflow as tf
import keras

OUTPUT = Path("src/rust/engine/tests/golden/image.json")

SOURCE = (
    f"tools/golden/make_golden_image.py with keras {keras.__version__} "
    f"(TensorFlow backend), tensorflow {tf.__version__}, numpy {np.__version__}"
)


def pattern(shape, offset=0):
    """Distinct values in about [-1, 1] without symmetry, in float32."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64) + offset
    values = ((i * 0.618033988749895) % 1.0) * 1.8 - 0.9 + 0.1 * np.sin(i * 2.3)
    return values.astype(np.float32).reshape(shape)


def to_list(array):
    return np.asarray(array, dtype=np.float32).astype(np.float64).tolist()


def fixed_case(layer, input_shape, config):
    """Output of `layer` and the input gradient of sum(output * weights)."""
    x = tf.constant(pattern(input_shape))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
        weights = tf.constant(pattern(tuple(y.shape), offset=101))
        total = tf.reduce_sum(y * weights)
    grad = tape.gradient(total, x)
    return {
        "config": config,
        "input_shape": list(input_shape),
        "input": to_list(x),
        "output_shape": list(y.shape),
        "output": to_list(y),
        "output_weights": to_list(weights),
        "input_gradient": to_list(grad),
    }


def resizing_cases():
    cases = []
    settings = [
        ((2, 3, 4, 2), dict(height=5, width=7)),
        ((2, 6, 5, 1), dict(height=4, width=3)),
        ((1, 4, 4, 2), dict(height=4, width=4)),
        ((2, 3, 4, 2), dict(height=5, width=7, interpolation="nearest")),
        ((2, 7, 6, 1), dict(height=3, width=4, interpolation="nearest")),
        ((2, 4, 6, 2), dict(height=3, width=3, crop_to_aspect_ratio=True)),
        ((1, 7, 3, 1), dict(height=2, width=4, crop_to_aspect_ratio=True)),
        ((2, 4, 6, 2), dict(height=4, width=4, pad_to_aspect_ratio=True, fill_value=0.5)),
        ((1, 5, 2, 1), dict(height=3, width=3, pad_to_aspect_ratio=True, fill_value=-0.25)),
        ((1, 3, 7, 1), dict(height=5, width=4, pad_to_aspect_ratio=True, interpolation="nearest")),
    ]
    for input_shape, config in settings:
        full = dict(
            height=config["height"],
            width=config["width"],
            interpolation=config.get("interpolation", "bilinear"),
            crop_to_aspect_ratio=config.get("crop_to_aspect_ratio", False),
            pad_to_aspect_ratio=config.get("pad_to_aspect_ratio", False),
            fill_value=config.get("fill_value", 0.0),
        )
        cases.append(fixed_case(keras.layers.Resizing(**full), input_shape, full))
    return cases


def center_crop_cases():
    cases = []
    for input_shape, (height, width) in [
        ((2, 5, 6, 2), (3, 4)),
        ((1, 4, 4, 1), (4, 4)),
        ((2, 3, 4, 1), (5, 5)),
        ((1, 6, 3, 2), (4, 5)),
    ]:
        layer = keras.layers.CenterCrop(height, width)
        cases.append(fixed_case(layer, input_shape, dict(height=height, width=width)))
    return cases


def upsampling_cases():
    cases = []
    for input_shape, size in [((2, 3, 2, 2), (2, 3)), ((1, 2, 4, 1), (3, 1))]:
        layer = keras.layers.UpSampling2D(size=size, interpolation="bilinear")
        cases.append(fixed_case(layer, input_shape, dict(size=list(size))))
    return cases


def rotation(degrees, height, width):
    angle = math.radians(degrees)
    cos, sin = math.cos(angle), math.sin(angle)
    cx, cy = 0.5 * (width - 1), 0.5 * (height - 1)
    return [cos, -sin, cx - cx * cos + cy * sin, sin, cos, cy - cx * sin - cy * cos, 0, 0]


def affine_cases():
    height, width, channels = 5, 6, 2
    transforms = {
        "rotate 30": rotation(30.0, height, width),
        "rotate -100": rotation(-100.0, height, width),
        "shift": [1, 0, 2.3, 0, 1, -1.7, 0, 0],
        "far shift": [1, 0, -9.4, 0, 1, 7.2, 0, 0],
        "zoom out": [1.8, 0, -2.0, 0, 1.6, -1.2, 0, 0],
    }
    x = pattern((1, height, width, channels), offset=7)
    cases = []
    for label, transform in transforms.items():
        for fill_mode in ["reflect", "wrap", "constant", "nearest"]:
            for interpolation in ["bilinear", "nearest"]:
                y = keras.ops.image.affine_transform(
                    x,
                    np.asarray([transform], dtype=np.float32),
                    interpolation=interpolation,
                    fill_mode=fill_mode,
                    fill_value=0.75,
                )
                cases.append(
                    {
                        "label": label,
                        "transform": to_list(np.asarray(transform[:6], dtype=np.float32)),
                        "fill_mode": fill_mode,
                        "interpolation": interpolation,
                        "fill_value": 0.75,
                        "shape": [height, width, channels],
                        "input": to_list(x[0]),
                        "output": to_list(y[0]),
                    }
                )
    return cases


def random_layer_cases():
    x = pattern((3, 5, 6, 2), offset=3)
    x01 = (x + 1.0) / 2.0
    cases = []

    layer = keras.layers.RandomRotation((-0.3, 0.4), fill_mode="reflect", seed=11)
    t = layer.get_random_transformation(x, training=True)
    y = layer.transform_images(x, t, training=True)
    cases.append({"layer": "RandomRotation", "fill_mode": "reflect", "interpolation": "bilinear",
                  "fill_value": 0.0, "input": to_list(x), "degrees": to_list(t["angle"]),
                  "output": to_list(y)})

    layer = keras.layers.RandomTranslation(0.4, (-0.5, 0.2), fill_mode="constant", fill_value=0.25,
                                           seed=12)
    t = layer.get_random_transformation(x, training=True)
    y = layer.transform_images(x, t, training=True)
    cases.append({"layer": "RandomTranslation", "fill_mode": "constant", "interpolation": "bilinear",
                  "fill_value": 0.25, "input": to_list(x), "shifts": to_list(t["translations"]),
                  "output": to_list(y)})

    layer = keras.layers.RandomZoom((-0.4, 0.6), (0.1, 0.5), fill_mode="wrap",
                                    interpolation="nearest", seed=13)
    t = layer.get_random_transformation(x, training=True)
    y = layer.transform_images(x, t, training=True)
    cases.append({"layer": "RandomZoom", "fill_mode": "wrap", "interpolation": "nearest",
                  "fill_value": 0.0, "input": to_list(x),
                  "zooms": to_list(np.concatenate([t["width_zoom"], t["height_zoom"]], axis=1)),
                  "output": to_list(y)})

    layer = keras.layers.RandomContrast((0.3, 0.6), value_range=(0, 1), seed=14)
    t = layer.get_random_transformation(x01, training=True)
    y = layer.transform_images(x01, t, training=True)
    cases.append({"layer": "RandomContrast", "value_range": [0.0, 1.0], "input": to_list(x01),
                  "factors": to_list(np.reshape(t["contrast_factor"], (-1,))),
                  "output": to_list(y)})

    for mode in ["horizontal", "vertical", "horizontal_and_vertical"]:
        layer = keras.layers.RandomFlip(mode, seed=19)
        t = layer.get_random_transformation(x, training=True)
        y = layer.transform_images(x, t, training=True)
        cases.append({"layer": "RandomFlip", "mode": mode, "input": to_list(x),
                      "flips": np.reshape(t["flips"], (-1,)).astype(bool).tolist(),
                      "output": to_list(y)})
    return cases


def contrast_scalar_draws():
    layer = keras.layers.RandomContrast(0.5, seed=16)
    images = np.zeros((2000, 2, 2, 1), dtype=np.float32)
    factors = np.reshape(layer.get_random_transformation(images, training=True)["contrast_factor"], (-1,))
    return {"factor": 0.5, "min": float(np.min(factors)), "max": float(np.max(factors))}


def main():
    golden = {
        "source": SOURCE,
        "resizing": resizing_cases(),
        "center_crop": center_crop_cases(),
        "upsampling_bilinear": upsampling_cases(),
        "affine": affine_cases(),
        "random_layers": random_layer_cases(),
        "contrast_scalar_draws": contrast_scalar_draws(),
    }
    OUTPUT.write_text(json.dumps(golden, separators=(",", ":")) + "\n")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
