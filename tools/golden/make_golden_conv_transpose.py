"""Write golden values for the transposed, depthwise and separable convolutions, computed by Keras 3.

Generated with keras 3.15.1, tensorflow-cpu 2.21.0 and numpy 2.4.6 on
Python 3.11 (CPU), with TF_ENABLE_ONEDNN_OPTS=0 as in make_golden_conv.py.
Run from the repository root:

    /work/venv/bin/python tools/golden/make_golden_conv_transpose.py

It writes src/rust/engine/tests/golden/conv_transpose.json with two parts,
built by the helpers of make_golden_conv.py:

- "shapes": for a grid of layer settings and non-square inputs, the output
  shape keras computes by calling the layer on a zero batch, or
  "error": true when keras or TensorFlow rejects the settings. One example
  is an output_padding whose output a convolution does not map back to the
  input's size.
- "values": layers with fixed weights (formulas in make_golden_conv.py) on
  fixed inputs: the output and the gradients of sum(output * output_weights)
  with respect to the input and each weight, from tf.GradientTape.
  TensorFlow's CPU kernels reject dilated transposed convolutions, so
  keras's shape rule gives their output shapes, and their values come from
  the gradient of tf.nn.convolution (see dilated_transpose_case).
"""

import itertools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_golden_conv as base  # noqa: E402  (sets the TensorFlow environment first)
from make_golden_conv import keras, np, tf  # noqa: E402

OUTPUT = Path("src/rust/engine/tests/golden/conv_transpose.json")

SOURCE = base.SOURCE.replace("make_golden_conv.py", "make_golden_conv_transpose.py")

base.LAYERS.update(
    {
        "Conv1DTranspose": keras.layers.Conv1DTranspose,
        "Conv2DTranspose": keras.layers.Conv2DTranspose,
        "DepthwiseConv1D": keras.layers.DepthwiseConv1D,
        "DepthwiseConv2D": keras.layers.DepthwiseConv2D,
        "SeparableConv1D": keras.layers.SeparableConv1D,
        "SeparableConv2D": keras.layers.SeparableConv2D,
    }
)


def shape_case(class_name, input_shape, config):
    """Like make_golden_conv.shape_case, but TensorFlow's kernels reject some
    transposed shapes at call time with errors other than ValueError."""
    try:
        layer = base.make_layer(class_name, config)
    except ValueError:
        return {"layer": class_name, "input_shape": list(input_shape), "config": config, "error": True}
    entry = {"layer": class_name, "input_shape": list(input_shape), "config": config}
    batch_shape = (1,) + tuple(input_shape)
    try:
        output = layer(np.zeros(batch_shape, dtype=np.float32))
        entry["output_shape"] = list(output.shape[1:])
    except tf.errors.InvalidArgumentError as error:
        if "dilation rates larger than 1" in str(error):
            # TensorFlow's CPU kernels lack dilated transposed convolutions;
            # keras's shape rule (shared by all backends) gives the size.
            entry["output_shape"] = list(layer.compute_output_shape(batch_shape)[1:])
        else:
            entry["error"] = True
    except (ValueError, tf.errors.UnimplementedError):
        entry["error"] = True
    return entry


def dilated_transpose_case(name, input_shape, config, batch=2):
    """Build a dilated Conv2DTranspose case, which TensorFlow's CPU kernels
    cannot run. By definition (tf.nn.conv2d_transpose is the gradient of
    tf.nn.conv2d with respect to its input) the layer's pre-bias output is
    the gradient of sum(convolution(u, kernel) * x) with respect to u, where
    u has the output's shape. tf.nn.convolution, as keras's Conv2D uses it,
    computes that gradient on CPU through space-to-batch, and a second tape
    gives the gradients of sum(output * output_weights)."""
    layer = base.make_layer("Conv2DTranspose", config)
    x = tf.constant(base.pattern((batch,) + tuple(input_shape), phase=0.3))
    output_shape = layer.compute_output_shape(x.shape)
    layer.build(x.shape)
    weights = []
    for k, variable in enumerate(layer.weights):
        value = base.pattern(tuple(variable.shape), phase=1.1 + k, scale=0.5)
        variable.assign(value)
        weights.append({"name": variable.name, "shape": list(variable.shape), "value": base.as_list(value)})
    kernel, bias = layer.weights
    u = tf.zeros(output_shape)
    with tf.GradientTape(persistent=True) as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(u)
            forward = tf.nn.convolution(
                u, kernel, strides=1, padding=config.get("padding", "valid").upper(),
                dilations=config["dilation_rate"],
            )
            objective = tf.reduce_sum(forward * x)
        y = inner.gradient(objective, u) + bias
        output_weights = tf.constant(base.pattern(tuple(y.shape), phase=2.7))
        loss = tf.reduce_sum(y * output_weights)
    return name, {
        "layer": "Conv2DTranspose",
        "config": config,
        "input_shape": list(input_shape),
        "batch": batch,
        "x": base.as_list(x),
        "weights": weights,
        "y": base.as_list(y),
        "output_weights": base.as_list(output_weights),
        "grad_x": base.as_list(outer.gradient(loss, x)),
        "grad_weights": [base.as_list(outer.gradient(loss, v)) for v in layer.weights],
    }


def shape_cases():
    cases = []
    inputs_2d = [(4, 3, 2), (5, 6, 1), (1, 2, 3)]
    kernels_2d = [1, 2, 3, 4, (2, 3)]
    for input_shape, kernel, stride, padding in itertools.product(
        inputs_2d, kernels_2d, [1, 2, 3], ["valid", "same"]
    ):
        for output_padding in [None] + list(range(stride)):
            config = {"filters": 2, "kernel_size": kernel, "strides": stride, "padding": padding}
            if output_padding is not None:
                config["output_padding"] = output_padding
            cases.append(shape_case("Conv2DTranspose", input_shape, config))
    for input_shape, kernel, dilation, padding in itertools.product(
        inputs_2d, [2, 3, (3, 2)], [2, (2, 1)], ["valid", "same"]
    ):
        config = {"filters": 2, "kernel_size": kernel, "dilation_rate": dilation, "padding": padding}
        cases.append(shape_case("Conv2DTranspose", input_shape, config))
    for input_shape, kernel, stride, dilation, padding in itertools.product(
        [(5, 2), (1, 3)], [1, 2, 3, 4], [1, 2, 3], [1, 2], ["valid", "same"]
    ):
        for output_padding in [None] + list(range(stride)):
            config = {
                "filters": 2,
                "kernel_size": kernel,
                "strides": stride,
                "dilation_rate": dilation,
                "padding": padding,
            }
            if output_padding is not None:
                config["output_padding"] = output_padding
            cases.append(shape_case("Conv1DTranspose", input_shape, config))
    for class_name, input_shape, kernel, stride, padding, multiplier in itertools.product(
        ["DepthwiseConv2D", "SeparableConv2D"],
        [(7, 6, 2), (5, 9, 1), (4, 4, 3)],
        [1, 2, 3, 4, (2, 3)],
        [1, 2, 3],
        ["valid", "same"],
        [1, 2],
    ):
        config = {"kernel_size": kernel, "strides": stride, "padding": padding, "depth_multiplier": multiplier}
        if class_name == "SeparableConv2D":
            config["filters"] = 3
        cases.append(shape_case(class_name, input_shape, config))
    for class_name, input_shape, kernel, dilation, stride, padding in itertools.product(
        ["DepthwiseConv2D", "SeparableConv2D"],
        [(7, 6, 2), (5, 9, 1)],
        [2, 3, (3, 2)],
        [2, (2, 1)],
        [1, 2],
        ["valid", "same"],
    ):
        config = {"kernel_size": kernel, "dilation_rate": dilation, "strides": stride, "padding": padding}
        if class_name == "SeparableConv2D":
            config["filters"] = 2
        cases.append(shape_case(class_name, input_shape, config))
    for class_name, kernel, stride, dilation, padding in itertools.product(
        ["DepthwiseConv1D", "SeparableConv1D"], [1, 2, 3, 4], [1, 2, 3], [1, 2], ["valid", "same", "causal"]
    ):
        config = {"kernel_size": kernel, "strides": stride, "dilation_rate": dilation, "padding": padding}
        if class_name == "SeparableConv1D":
            config["filters"] = 2
        cases.append(shape_case(class_name, (9, 2), config))
    return cases


def value_cases():
    cases = [
        ("conv2d_transpose_valid_3x3", "Conv2DTranspose", (4, 3, 2), {"filters": 3, "kernel_size": 3}),
        (
            "conv2d_transpose_same_stride2",
            "Conv2DTranspose",
            (3, 4, 2),
            {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"},
        ),
        (
            "conv2d_transpose_same_stride2_even_kernel",
            "Conv2DTranspose",
            (3, 2, 3),
            {"filters": 2, "kernel_size": 4, "strides": 2, "padding": "same", "activation": "relu"},
        ),
        (
            "conv2d_transpose_valid_output_padding",
            "Conv2DTranspose",
            (3, 3, 2),
            {"filters": 2, "kernel_size": (2, 3), "strides": (3, 2), "output_padding": (2, 1)},
        ),
        (
            "conv2d_transpose_same_output_padding",
            "Conv2DTranspose",
            (2, 3, 1),
            {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 1},
        ),
        (
            "conv2d_transpose_stride_above_kernel",
            "Conv2DTranspose",
            (3, 2, 2),
            {"filters": 2, "kernel_size": 2, "strides": 3, "use_bias": False},
        ),
        (
            "conv2d_transpose_many_channels",
            "Conv2DTranspose",
            (3, 3, 6),
            {"filters": 5, "kernel_size": 3, "strides": 2, "activation": "tanh"},
        ),
        (
            "conv1d_transpose_same_stride3",
            "Conv1DTranspose",
            (4, 2),
            {"filters": 3, "kernel_size": 4, "strides": 3, "padding": "same"},
        ),
        ("depthwise_conv2d_valid", "DepthwiseConv2D", (5, 6, 3), {"kernel_size": 3}),
        (
            "depthwise_conv1d_same_stride2_multiplier2",
            "DepthwiseConv1D",
            (9, 3),
            {"kernel_size": 4, "strides": 2, "padding": "same", "depth_multiplier": 2, "activation": "sigmoid"},
        ),
        (
            "depthwise_conv2d_same_stride2_multiplier2",
            "DepthwiseConv2D",
            (7, 6, 2),
            {"kernel_size": (4, 3), "strides": 2, "padding": "same", "depth_multiplier": 2},
        ),
        (
            "depthwise_conv2d_dilation2_relu",
            "DepthwiseConv2D",
            (7, 7, 2),
            {"kernel_size": 3, "dilation_rate": 2, "activation": "relu", "depth_multiplier": 3},
        ),
        (
            "depthwise_conv2d_stride2_dilation2",
            "DepthwiseConv2D",
            (9, 8, 2),
            {"kernel_size": 3, "strides": 2, "dilation_rate": 2, "padding": "same", "depth_multiplier": 2},
        ),
        (
            "separable_conv2d_stride2_dilation2",
            "SeparableConv2D",
            (8, 9, 2),
            {"filters": 2, "kernel_size": (3, 2), "strides": 2, "dilation_rate": (2, 1)},
        ),
        (
            "depthwise_conv2d_no_bias",
            "DepthwiseConv2D",
            (4, 5, 4),
            {"kernel_size": 2, "padding": "same", "use_bias": False},
        ),
        (
            "separable_conv2d_valid",
            "SeparableConv2D",
            (5, 6, 3),
            {"filters": 4, "kernel_size": 3},
        ),
        (
            "separable_conv2d_same_stride2_multiplier2",
            "SeparableConv2D",
            (6, 7, 2),
            {"filters": 3, "kernel_size": (2, 3), "strides": 2, "padding": "same", "depth_multiplier": 2},
        ),
        (
            "separable_conv2d_dilation2_tanh",
            "SeparableConv2D",
            (7, 6, 2),
            {"filters": 2, "kernel_size": 2, "dilation_rate": 2, "activation": "tanh", "use_bias": False},
        ),
        (
            "separable_conv1d_same_stride2",
            "SeparableConv1D",
            (9, 3),
            {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "depth_multiplier": 2},
        ),
        (
            "separable_conv1d_valid_dilation2",
            "SeparableConv1D",
            (8, 2),
            {"filters": 3, "kernel_size": 3, "dilation_rate": 2},
        ),
    ]
    values = dict(base.value_case(*case) for case in cases)
    for case in [
        ("conv2d_transpose_same_dilation2", (4, 3, 2), {"filters": 2, "kernel_size": (3, 2), "dilation_rate": 2, "padding": "same"}),
        ("conv2d_transpose_valid_dilation2", (3, 4, 3), {"filters": 2, "kernel_size": 3, "dilation_rate": (2, 1)}),
    ]:
        name, value = dilated_transpose_case(*case)
        values[name] = value
    return values


def main():
    shapes = shape_cases()
    values = value_cases()
    shape_lines = ",\n".join("  " + json.dumps(case, allow_nan=False) for case in shapes)
    values_text = base.compact(values)
    text = (
        "{\n"
        f' "source": {json.dumps(SOURCE)},\n'
        f' "shapes": [\n{shape_lines}\n ],\n'
        f' "values": {values_text}\n'
        "}\n"
    )
    json.loads(text)
    OUTPUT.write_text(text)
    rejected = sum(1 for case in shapes if case.get("error"))
    print(f"wrote {OUTPUT}: {len(shapes)} shape cases ({rejected} rejected), {len(values)} value cases")


if __name__ == "__main__":
    main()
