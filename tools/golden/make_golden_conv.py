"""Write golden values for the convolution and pooling layers, computed by Keras 3.

Generated with keras 3.15.1, tensorflow-cpu 2.21.0 and numpy 2.4.6 on
Python 3.11 (CPU), with TF_ENABLE_ONEDNN_OPTS=0 as in make_golden.py. Run
from the repository root:

    /work/venv/bin/python tools/golden/make_golden_conv.py

It writes src/rust/engine/tests/golden/conv.json with two parts:

- "shapes": for a grid of layer settings and non-square inputs, the output
  shape keras computes by calling the layer on a zero batch, or
  "error": true when keras rejects the settings (a window larger than the
  input with "valid" padding).
- "values": layers with fixed weights on fixed inputs. Inputs and weights are
  formulas in this file (`pattern`), so nothing is random. For each case the
  file stores the input, the weights, the output, and the gradients of
  sum(output * output_weights) with respect to the input and each weight,
  from tf.GradientTape.

- "batch_normalization": BatchNormalization in training and inference
  mode: output, gradients of the input and the trainable weights, and the
  moving statistics after the call.

Values are float32 results stored as the shortest decimal that round-trips
the float32 widened to a double.
"""

import itertools
import json
import os
import re
from pathlib import Path

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import tensorflow as tf
import keras

OUTPUT = Path("src/rust/engine/tests/golden/conv.json")

SOURCE = (
    f"tools/golden/make_golden_conv.py with keras {keras.__version__} "
    f"(TensorFlow backend), tensorflow {tf.__version__}, numpy {np.__version__}, "
    f"TF_ENABLE_ONEDNN_OPTS={os.environ['TF_ENABLE_ONEDNN_OPTS']}"
)

LAYERS = {
    "Conv1D": keras.layers.Conv1D,
    "Conv2D": keras.layers.Conv2D,
    "Conv3D": keras.layers.Conv3D,
    "MaxPooling1D": keras.layers.MaxPooling1D,
    "MaxPooling2D": keras.layers.MaxPooling2D,
    "AveragePooling1D": keras.layers.AveragePooling1D,
    "AveragePooling2D": keras.layers.AveragePooling2D,
    "GlobalMaxPooling1D": keras.layers.GlobalMaxPooling1D,
    "GlobalMaxPooling2D": keras.layers.GlobalMaxPooling2D,
    "GlobalAveragePooling1D": keras.layers.GlobalAveragePooling1D,
    "GlobalAveragePooling2D": keras.layers.GlobalAveragePooling2D,
    "ZeroPadding1D": keras.layers.ZeroPadding1D,
    "ZeroPadding2D": keras.layers.ZeroPadding2D,
    "Cropping1D": keras.layers.Cropping1D,
    "Cropping2D": keras.layers.Cropping2D,
    "UpSampling1D": keras.layers.UpSampling1D,
    "UpSampling2D": keras.layers.UpSampling2D,
    "UpSampling3D": keras.layers.UpSampling3D,
    "Rescaling": keras.layers.Rescaling,
}


def pattern(shape, phase, scale=1.0):
    """Deterministic values in [-scale, scale] that look irregular."""
    n = int(np.prod(shape))
    i = np.arange(n, dtype=np.float64)
    values = scale * np.sin(0.7 * i + phase) * np.cos(0.13 * i * i + 0.5 * phase)
    return values.astype(np.float32).reshape(shape)


def as_list(value):
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value, dtype=np.float32).tolist()


def make_layer(class_name, config):
    return LAYERS[class_name](**config)


# ---------------------------------------------------------------------------
# Output shapes


def shape_case(class_name, input_shape, config):
    layer = make_layer(class_name, config)
    entry = {"layer": class_name, "input_shape": list(input_shape), "config": config}
    try:
        output = layer(np.zeros((1,) + tuple(input_shape), dtype=np.float32))
        entry["output_shape"] = list(output.shape[1:])
    except ValueError:
        entry["error"] = True
    return entry


def shape_cases():
    cases = []
    inputs_2d = [(7, 6, 2), (8, 5, 3), (5, 9, 1), (4, 4, 2)]
    kernels_2d = [1, 2, 3, 4, 5, (2, 3), (3, 1)]
    for input_shape, kernel, stride, padding in itertools.product(
        inputs_2d, kernels_2d, [1, 2, 3], ["valid", "same"]
    ):
        config = {"filters": 2, "kernel_size": kernel, "strides": stride, "padding": padding}
        cases.append(shape_case("Conv2D", input_shape, config))
    for input_shape, kernel, dilation, padding in itertools.product(
        inputs_2d, [2, 3, (3, 2)], [2, (2, 1)], ["valid", "same"]
    ):
        config = {"filters": 2, "kernel_size": kernel, "dilation_rate": dilation, "padding": padding}
        cases.append(shape_case("Conv2D", input_shape, config))
    for input_shape, kernel, stride, dilation, padding in itertools.product(
        [(11, 2), (6, 3)], [1, 2, 3, 4, 5], [1, 2, 3], [1, 2], ["valid", "same", "causal"]
    ):
        if stride > 1 and dilation > 1:
            continue
        config = {
            "filters": 2,
            "kernel_size": kernel,
            "strides": stride,
            "dilation_rate": dilation,
            "padding": padding,
        }
        cases.append(shape_case("Conv1D", input_shape, config))
    for class_name, input_shape, pool, stride, padding in itertools.product(
        ["MaxPooling2D", "AveragePooling2D"],
        inputs_2d,
        [1, 2, 3, (2, 3)],
        [None, 1, 2, 3],
        ["valid", "same"],
    ):
        config = {"pool_size": pool, "strides": stride, "padding": padding}
        cases.append(shape_case(class_name, input_shape, config))
    for class_name, pool, stride, padding in itertools.product(
        ["MaxPooling1D", "AveragePooling1D"], [1, 2, 3, 4], [None, 1, 2, 3], ["valid", "same"]
    ):
        config = {"pool_size": pool, "strides": stride, "padding": padding}
        cases.append(shape_case(class_name, (10, 3), config))
    for class_name, keepdims in itertools.product(
        ["GlobalMaxPooling2D", "GlobalAveragePooling2D"], [False, True]
    ):
        cases.append(shape_case(class_name, (7, 6, 3), {"keepdims": keepdims}))
    for class_name, keepdims in itertools.product(
        ["GlobalMaxPooling1D", "GlobalAveragePooling1D"], [False, True]
    ):
        cases.append(shape_case(class_name, (9, 4), {"keepdims": keepdims}))
    for kernel, stride, padding in itertools.product([1, 2, 3], [1, 2], ["valid", "same"]):
        config = {"filters": 2, "kernel_size": kernel, "strides": stride, "padding": padding}
        cases.append(shape_case("Conv3D", (4, 5, 3, 2), config))
    return cases


# ---------------------------------------------------------------------------
# Values and gradients


def value_case(name, class_name, input_shape, config, batch=2):
    layer = make_layer(class_name, config)
    x = tf.constant(pattern((batch,) + tuple(input_shape), phase=0.3))
    layer.build(x.shape)
    weights = []
    for k, variable in enumerate(layer.weights):
        value = pattern(tuple(variable.shape), phase=1.1 + k, scale=0.5)
        variable.assign(value)
        weights.append({"name": variable.name, "shape": list(variable.shape), "value": as_list(value)})
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x)
        output_weights = tf.constant(pattern(tuple(y.shape), phase=2.7))
        objective = tf.reduce_sum(y * output_weights)
    grad_x = tape.gradient(objective, x)
    grad_weights = [as_list(tape.gradient(objective, v)) for v in layer.weights]
    return name, {
        "layer": class_name,
        "config": config,
        "input_shape": list(input_shape),
        "batch": batch,
        "x": as_list(x),
        "weights": weights,
        "y": as_list(y),
        "output_weights": as_list(output_weights),
        "grad_x": as_list(grad_x),
        "grad_weights": grad_weights,
    }


def batch_norm_case(name, input_shape, config, training, batch=3):
    """BatchNormalization with fixed weights: output, gradients, and the
    moving statistics after the call (updated only in training)."""
    layer = keras.layers.BatchNormalization(**config)
    x = tf.constant(pattern((batch,) + tuple(input_shape), phase=0.9, scale=2.0) + 0.5)
    layer.build(x.shape)
    weights = []
    for k, variable in enumerate(layer.weights):
        value = pattern(tuple(variable.shape), phase=1.7 + k, scale=0.5)
        if "variance" in variable.path:
            value = np.abs(value) + 0.5
        variable.assign(value)
        weights.append({"name": variable.name, "shape": list(variable.shape), "value": as_list(value)})
    trainable = layer.trainable_weights
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x, training=training)
        output_weights = tf.constant(pattern(tuple(y.shape), phase=2.2))
        objective = tf.reduce_sum(y * output_weights)
    return name, {
        "layer": "BatchNormalization",
        "config": config,
        "training": training,
        "input_shape": list(input_shape),
        "batch": batch,
        "x": as_list(x),
        "weights": weights,
        "y": as_list(y),
        "output_weights": as_list(output_weights),
        "grad_x": as_list(tape.gradient(objective, x)),
        "grad_trainable": [as_list(tape.gradient(objective, v)) for v in trainable],
        "moving_after": [as_list(layer.moving_mean), as_list(layer.moving_variance)],
    }


def batch_norm_cases():
    return dict(
        [
            batch_norm_case("training_rank3", (4, 3, 3), {}, True),
            batch_norm_case("inference_rank3", (4, 3, 3), {}, False),
            batch_norm_case(
                "training_no_center_momentum", (5, 2), {"center": False, "momentum": 0.9, "epsilon": 0.01}, True
            ),
            batch_norm_case("training_no_scale_dense", (4,), {"scale": False}, True, batch=5),
            batch_norm_case("inference_no_scale", (3, 2, 4), {"scale": False}, False, batch=2),
        ]
    )


def value_cases():
    cases = [
        value_case(
            "conv2d_valid_3x3",
            "Conv2D",
            (6, 5, 2),
            {"filters": 3, "kernel_size": 3},
        ),
        value_case(
            "conv2d_same_stride2_even_kernel",
            "Conv2D",
            (7, 6, 2),
            {"filters": 3, "kernel_size": 4, "strides": 2, "padding": "same"},
        ),
        value_case(
            "conv2d_same_even_kernel_relu",
            "Conv2D",
            (5, 6, 3),
            {"filters": 2, "kernel_size": (2, 4), "padding": "same", "activation": "relu"},
        ),
        value_case(
            "conv2d_valid_dilation2",
            "Conv2D",
            (8, 7, 2),
            {"filters": 2, "kernel_size": 3, "dilation_rate": 2},
        ),
        value_case(
            "conv2d_same_dilation2_no_bias",
            "Conv2D",
            (6, 7, 1),
            {"filters": 2, "kernel_size": (3, 2), "dilation_rate": 2, "padding": "same", "use_bias": False},
        ),
        value_case(
            "conv2d_same_many_channels",
            "Conv2D",
            (5, 6, 7),
            {"filters": 4, "kernel_size": 3, "padding": "same"},
        ),
        value_case(
            "conv2d_stride3",
            "Conv2D",
            (9, 8, 2),
            {"filters": 2, "kernel_size": (2, 3), "strides": (3, 2)},
        ),
        value_case(
            "conv1d_causal_dilation2",
            "Conv1D",
            (9, 2),
            {"filters": 3, "kernel_size": 3, "dilation_rate": 2, "padding": "causal"},
        ),
        value_case(
            "conv1d_same_stride2",
            "Conv1D",
            (10, 3),
            {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same", "activation": "tanh"},
        ),
        value_case(
            "conv3d_same",
            "Conv3D",
            (4, 5, 3, 2),
            {"filters": 2, "kernel_size": (2, 3, 2), "padding": "same"},
        ),
        value_case(
            "max_pooling2d_same_stride2",
            "MaxPooling2D",
            (7, 6, 2),
            {"pool_size": 3, "strides": 2, "padding": "same"},
        ),
        value_case(
            "max_pooling2d_valid",
            "MaxPooling2D",
            (6, 7, 3),
            {"pool_size": 2},
        ),
        value_case(
            "average_pooling2d_same",
            "AveragePooling2D",
            (5, 7, 2),
            {"pool_size": (2, 3), "strides": 2, "padding": "same"},
        ),
        value_case(
            "average_pooling2d_valid_overlap",
            "AveragePooling2D",
            (6, 5, 2),
            {"pool_size": 3, "strides": 1},
        ),
        value_case(
            "max_pooling1d_same",
            "MaxPooling1D",
            (9, 2),
            {"pool_size": 2, "padding": "same"},
        ),
        value_case(
            "average_pooling1d_same",
            "AveragePooling1D",
            (9, 2),
            {"pool_size": 4, "strides": 3, "padding": "same"},
        ),
        value_case("global_max_pooling2d", "GlobalMaxPooling2D", (5, 4, 3), {}),
        value_case(
            "global_average_pooling2d_keepdims",
            "GlobalAveragePooling2D",
            (5, 4, 3),
            {"keepdims": True},
        ),
        value_case("global_max_pooling1d", "GlobalMaxPooling1D", (6, 3), {}),
        value_case("global_average_pooling1d", "GlobalAveragePooling1D", (6, 3), {}),
        value_case("zero_padding2d", "ZeroPadding2D", (3, 4, 2), {"padding": ((1, 2), (0, 1))}),
        value_case("zero_padding1d", "ZeroPadding1D", (4, 2), {"padding": (2, 1)}),
        value_case("cropping2d", "Cropping2D", (5, 6, 2), {"cropping": ((1, 0), (2, 1))}),
        value_case("cropping1d", "Cropping1D", (6, 3), {"cropping": (1, 2)}),
        value_case("upsampling2d", "UpSampling2D", (2, 3, 2), {"size": (2, 3)}),
        value_case("upsampling1d", "UpSampling1D", (3, 2), {"size": 3}),
        value_case("upsampling3d", "UpSampling3D", (2, 2, 1, 2), {"size": (1, 2, 3)}),
        value_case("rescaling", "Rescaling", (3, 2), {"scale": 1 / 255, "offset": -0.5}),
    ]
    try:
        cases.append(
            value_case(
                "conv2d_groups2",
                "Conv2D",
                (5, 6, 4),
                {"filters": 4, "kernel_size": 3, "groups": 2, "padding": "same"},
            )
        )
    except Exception as error:  # TensorFlow's CPU kernels may lack grouped convolution.
        print(f"conv2d_groups2 skipped: {type(error).__name__}: {str(error)[:200]}")
    return dict(cases)


def compact(document):
    """Indented JSON with each innermost numeric list on one line."""
    text = json.dumps(document, indent=1, allow_nan=False)
    return re.sub(
        r"\[\s*((?:-?[\d.eE+-]+,\s*)*-?[\d.eE+-]+)\s*\]",
        lambda match: "[" + ", ".join(part.strip() for part in match.group(1).split(",")) + "]",
        text,
    )


def main():
    shapes = shape_cases()
    values = value_cases()
    values_bn = batch_norm_cases()
    # One shape case per line; value cases indented, with each innermost
    # numeric list on one line.
    shape_lines = ",\n".join("  " + json.dumps(case, allow_nan=False) for case in shapes)
    values_text = compact(values)
    batch_norm_text = compact(values_bn)
    text = (
        "{\n"
        f' "source": {json.dumps(SOURCE)},\n'
        f' "shapes": [\n{shape_lines}\n ],\n'
        f' "values": {values_text},\n'
        f' "batch_normalization": {batch_norm_text}\n'
        "}\n"
    )
    json.loads(text)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}: {len(shapes)} shape cases, {len(values)} value cases")


if __name__ == "__main__":
    main()
