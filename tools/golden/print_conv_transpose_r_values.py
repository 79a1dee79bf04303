"""Print the Keras 3 outputs that tests/testthat/test-layers-transposed-depthwise.R
expects, for small layers with hand-written weights on the 4 x 5 test image
(pixel [i, j] = ((i - 1) * 5 + j) / 10 in R's 1-based indices).

Run with the reference environment (keras 3.15.1, tensorflow-cpu 2.21.0):

    /work/venv/bin/python tools/golden/print_conv_transpose_r_values.py
"""

import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402
import keras  # noqa: E402

np.set_printoptions(precision=8, floatmode="maxprec", linewidth=120)

image = (np.arange(1, 21, dtype=np.float32).reshape(1, 4, 5, 1)) / 10


def run(title, layer, weights, x=image):
    layer.build(x.shape)
    layer.set_weights([np.asarray(w, dtype=np.float32) for w in weights])
    y = np.asarray(layer(x))
    print(f"# {title}: output shape {y.shape[1:]}")
    for channel in range(y.shape[-1]):
        print(f"channel {channel + 1}:")
        print(y[0, ..., channel])


# Kernels are filled in row-major (C) order, as array_reshape() does in R.
run(
    "conv_2d_transpose(2, c(2, 2), strides = 2)",
    keras.layers.Conv2DTranspose(2, (2, 2), strides=2),
    [np.array([0.5, -1.0, 0.25, 2.0, -0.5, 1.0, 0.75, 0.1]).reshape(2, 2, 2, 1), [0.1, -0.2]],
)
run(
    "conv_2d_transpose(1, 3, padding = 'same', strides = 2, output_padding = 1)",
    keras.layers.Conv2DTranspose(1, 3, strides=2, padding="same", output_padding=1),
    [np.linspace(-1, 1, 9).reshape(3, 3, 1, 1), [0.05]],
)
run(
    "depthwise_conv_2d(c(2, 3), depth_multiplier = 2)",
    keras.layers.DepthwiseConv2D((2, 3), depth_multiplier=2),
    [np.linspace(-1, 1, 12).reshape(2, 3, 1, 2), [0.1, -0.1]],
)
run(
    "separable_conv_2d(2, 2, depth_multiplier = 2, padding = 'same')",
    keras.layers.SeparableConv2D(2, 2, depth_multiplier=2, padding="same"),
    [
        np.array([0.5, -0.5, 1.0, 0.25, -1.0, 0.75, 0.2, 0.4]).reshape(2, 2, 1, 2),
        np.array([1.0, -1.0, 0.5, 2.0]).reshape(1, 1, 2, 2),
        [0.1, 0.0],
    ],
)
