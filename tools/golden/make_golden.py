"""Write golden values for the engine's tests, computed by Keras 3 (TensorFlow backend).

Generated with keras 3.15.1, tensorflow-cpu 2.21.0 and numpy 2.4.6 on
Python 3.11 (CPU). Other versions may differ in the last float32 digits.

Run from the repository root with a Python environment that has those
packages installed:

    python3 -m venv /work/venv
    /work/venv/bin/pip install tensorflow-cpu numpy
    /work/venv/bin/python tools/golden/make_golden.py

The script writes activations.json, dense.json, losses.json,
optimizers.json, metrics.json and training.json into
src/rust/engine/tests/golden/. Every input is a literal in this file and
nothing draws random numbers, so a rerun with the same versions writes the
same files. Results are float32 values stored as the shortest decimal that
round-trips the float32 widened to a double (Python's float repr).
"""

import math
import os
import re
import json
import inspect
from pathlib import Path

# oneDNN kernels may reorder float sums, so the golden run uses the plain
# TensorFlow kernels. KERAS_BACKEND must be set before keras is imported.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np
import tensorflow as tf
import keras

OUTPUT_DIR = Path("src/rust/engine/tests/golden")

SOURCE = (
    f"tools/golden/make_golden.py with keras {keras.__version__} "
    f"(TensorFlow backend), tensorflow {tf.__version__}, numpy {np.__version__}, "
    f"TF_ENABLE_ONEDNN_OPTS={os.environ['TF_ENABLE_ONEDNN_OPTS']}"
)

EPSILON = keras.config.epsilon()


def as_list(value):
    """Convert a tensor, variable or array to nested Python floats (float32 values)."""
    if isinstance(value, (tf.Tensor, tf.Variable)) or hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value, dtype=np.float32).tolist()


def f32(values):
    return tf.constant(values, dtype=tf.float32)


def write_json(name, payload):
    """Write one golden file with numeric lists kept on one line each."""
    document = {"source": SOURCE}
    document.update(payload)
    text = json.dumps(document, indent=2, allow_nan=False)
    # json.dumps puts every number of a list on its own line. Join the
    # innermost numeric lists back onto one line so that matrices stay readable.
    text = re.sub(
        r"\[\s*((?:-?[\d.eE+-]+,\s*)*-?[\d.eE+-]+)\s*\]",
        lambda match: "[" + ", ".join(part.strip() for part in match.group(1).split(",")) + "]",
        text,
    )
    path = OUTPUT_DIR / name
    path.write_text(text + "\n")
    return path


def assert_close(actual, expected, what, rtol=1e-5, atol=1e-6):
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    if not np.allclose(actual, expected, rtol=rtol, atol=atol):
        raise AssertionError(f"{what}: keras gave {actual.tolist()}, formula gave {expected.tolist()}")


# ---------------------------------------------------------------------------
# activations.json


ACTIVATION_X = [-5.0, -3.0, -1.5, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0]
ACTIVATION_W = [0.3, -0.7, 1.1, 0.5, -1.3, 0.9, 2.0, -0.4, 0.8, -1.5, 0.6, 1.2]

SELU_ALPHA = 1.6732632423543772
SELU_SCALE = 1.0507009873554805


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_erf(x):
    return np.vectorize(math.erf)(x)


def gelu_exact(x):
    return 0.5 * x * (1.0 + np_erf(x / math.sqrt(2.0)))


def gelu_exact_grad(x):
    cdf = 0.5 * (1.0 + np_erf(x / math.sqrt(2.0)))
    pdf = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return cdf + x * pdf


# Each entry is (keras function, formula text, float64 reference for f(x),
# float64 reference for f'(x)), and the script checks keras against both. At kinks the derivative
# reference follows the side that TensorFlow's gradient picks.
ACTIVATIONS = {
    "linear": (
        keras.activations.linear,
        "y = x",
        lambda x: x,
        lambda x: np.ones_like(x),
    ),
    "relu": (
        keras.activations.relu,
        "y = max(x, 0); TF gradient is 1 for x > 0 and 0 for x <= 0 (0 at x = 0)",
        lambda x: np.maximum(x, 0.0),
        lambda x: (x > 0).astype(np.float64),
    ),
    "sigmoid": (
        keras.activations.sigmoid,
        "y = 1 / (1 + exp(-x))",
        np_sigmoid,
        lambda x: np_sigmoid(x) * (1.0 - np_sigmoid(x)),
    ),
    "tanh": (
        keras.activations.tanh,
        "y = tanh(x)",
        np.tanh,
        lambda x: 1.0 - np.tanh(x) ** 2,
    ),
    "elu": (
        keras.activations.elu,
        "y = x if x > 0 else alpha * (exp(x) - 1), alpha = 1.0 (keras default); "
        "TF gradient at x = 0 is 1",
        lambda x: np.where(x > 0, x, np.expm1(x)),
        lambda x: np.where(x > 0, 1.0, np.exp(x)),
    ),
    "selu": (
        keras.activations.selu,
        f"y = scale * (x if x > 0 else alpha * (exp(x) - 1)), "
        f"alpha = {SELU_ALPHA!r}, scale = {SELU_SCALE!r}; TF gradient at x = 0 is scale (the x > 0 branch)",
        lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(x)),
        lambda x: SELU_SCALE * np.where(x >= 0, 1.0, SELU_ALPHA * np.exp(x)),
    ),
    "softplus": (
        keras.activations.softplus,
        "y = log(1 + exp(x))",
        lambda x: np.log1p(np.exp(x)),
        np_sigmoid,
    ),
    "softsign": (
        keras.activations.softsign,
        "y = x / (1 + |x|)",
        lambda x: x / (1.0 + np.abs(x)),
        lambda x: 1.0 / (1.0 + np.abs(x)) ** 2,
    ),
    "gelu": (
        keras.activations.gelu,
        "keras.activations.gelu default approximate=False: "
        "y = 0.5 * x * (1 + erf(x / sqrt(2))). Note that keras.ops.gelu defaults to "
        "approximate=True (tanh form), but the activation does not",
        gelu_exact,
        gelu_exact_grad,
    ),
    "silu": (
        keras.activations.silu,
        "y = x * sigmoid(x)",
        lambda x: x * np_sigmoid(x),
        lambda x: np_sigmoid(x) * (1.0 + x * (1.0 - np_sigmoid(x))),
    ),
    "leaky_relu": (
        keras.activations.leaky_relu,
        "keras default negative_slope = 0.2: y = x if x > 0 else 0.2 * x; "
        "TF gradient at x = 0 is 0.2",
        lambda x: np.where(x > 0, x, 0.2 * x),
        lambda x: np.where(x > 0, 1.0, 0.2),
    ),
    "hard_sigmoid": (
        keras.activations.hard_sigmoid,
        "y = relu6(x + 3) / 6 = clip(x / 6 + 0.5, 0, 1), slope 1/6, offset 0.5; "
        "TF gradient is 1/6 for -3 < x < 3 and 0 elsewhere, including 0 at x = -3 and x = 3",
        lambda x: np.clip(x / 6.0 + 0.5, 0.0, 1.0),
        lambda x: np.where((x > -3.0) & (x < 3.0), 1.0 / 6.0, 0.0),
    ),
    "exponential": (
        keras.activations.exponential,
        "y = exp(x)",
        np.exp,
        np.exp,
    ),
}

SOFTMAX_X = [
    [1.0, 2.0, 3.0, 4.0],
    [100.0, 101.0, 99.0, 100.0],
    [-1.0, 0.0, 0.5, -2.0],
]
SOFTMAX_W = [
    [0.5, -1.0, 2.0, 0.1],
    [1.0, 0.2, -0.3, 0.7],
    [-0.6, 1.5, 0.4, -1.2],
]


def value_and_input_grad(function, x_values, weights):
    """Return f(x) and d/dx sum(f(x) * weights) from tf.GradientTape."""
    x = f32(x_values)
    w = f32(weights)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = function(x)
        objective = tf.reduce_sum(y * w)
    grad = tape.gradient(objective, x)
    return y, grad


def make_activations():
    x64 = np.asarray(ACTIVATION_X, dtype=np.float32).astype(np.float64)
    w64 = np.asarray(ACTIVATION_W, dtype=np.float32).astype(np.float64)
    cases = {}
    for name, (function, formula, reference, derivative) in ACTIVATIONS.items():
        y, grad = value_and_input_grad(function, ACTIVATION_X, ACTIVATION_W)
        assert_close(y, reference(x64), f"{name} value")
        assert_close(grad, derivative(x64) * w64, f"{name} gradient")
        cases[name] = {"formula": formula, "y": as_list(y), "grad": as_list(grad)}

    y, grad = value_and_input_grad(keras.activations.softmax, SOFTMAX_X, SOFTMAX_W)
    x64 = np.asarray(SOFTMAX_X, dtype=np.float64)
    shifted = np.exp(x64 - x64.max(axis=-1, keepdims=True))
    p = shifted / shifted.sum(axis=-1, keepdims=True)
    w64 = np.asarray(SOFTMAX_W, dtype=np.float32).astype(np.float64)
    assert_close(y, p, "softmax value")
    expected_grad = p * (w64 - (p * w64).sum(axis=-1, keepdims=True))
    assert_close(grad, expected_grad, "softmax gradient")
    softmax = {
        "formula": "y = exp(x - max(x)) / sum(exp(x - max(x))) over the last axis; "
        "d/dx sum(y * W) = y * (W - sum(y * W, last axis))",
        "x": SOFTMAX_X,
        "w": SOFTMAX_W,
        "y": as_list(y),
        "grad": as_list(grad),
    }

    return {
        "description": "Each activation applied elementwise to x. 'grad' is "
        "d/dx sum(f(x) * w) from tf.GradientTape. Kinks (relu, leaky_relu, elu, "
        "selu at 0 and hard_sigmoid at -3 and 3) store the gradient TF returns.",
        "defaults": {
            "gelu_approximate": inspect.signature(keras.activations.gelu).parameters["approximate"].default,
            "leaky_relu_negative_slope": inspect.signature(keras.activations.leaky_relu)
            .parameters["negative_slope"]
            .default,
            "elu_alpha": inspect.signature(keras.activations.elu).parameters["alpha"].default,
        },
        "x": ACTIVATION_X,
        "w": ACTIVATION_W,
        "activations": cases,
        "softmax": softmax,
    }


# ---------------------------------------------------------------------------
# dense.json

DENSE_X = [
    [0.5, -1.2, 0.3, 2.0],
    [1.5, 0.7, -0.4, -1.0],
    [-0.3, 0.8, 1.1, 0.2],
]
DENSE_KERNEL = [
    [0.2, -0.5, 0.1, 0.7, -0.3],
    [0.4, 0.3, -0.6, 0.05, 0.9],
    [-0.8, 0.25, 0.5, -0.1, 0.6],
    [0.1, -0.2, 0.35, 0.45, -0.7],
]
DENSE_BIAS = [0.1, -0.2, 0.05, 0.0, 0.3]
DENSE_G = [
    [1.0, -0.5, 0.25, 2.0, -1.0],
    [0.3, 0.7, -1.2, 0.4, 0.9],
    [-0.8, 0.6, 1.5, -0.2, 0.1],
]


def make_dense():
    cases = {}
    for activation in ["linear", "relu", "softmax"]:
        layer = keras.layers.Dense(5, activation=activation)
        layer.build((None, 4))
        layer.set_weights([np.asarray(DENSE_KERNEL, np.float32), np.asarray(DENSE_BIAS, np.float32)])
        x = f32(DENSE_X)
        g = f32(DENSE_G)
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
            objective = tf.reduce_sum(y * g)
        grad_x, grad_kernel, grad_bias = tape.gradient(objective, [x, layer.kernel, layer.bias])
        cases[activation] = {
            "y": as_list(y),
            "grad_x": as_list(grad_x),
            "grad_kernel": as_list(grad_kernel),
            "grad_bias": as_list(grad_bias),
        }
    return {
        "description": "keras.layers.Dense(5, activation) with set_weights([kernel, bias]); "
        "y = activation(x @ kernel + bias); gradients are of sum(y * g). "
        "Matrices are nested row-major lists, kernel has shape (inputs, units).",
        "x": DENSE_X,
        "kernel": DENSE_KERNEL,
        "bias": DENSE_BIAS,
        "g": DENSE_G,
        "cases": cases,
    }


# ---------------------------------------------------------------------------
# losses.json

REGRESSION_TRUE = [
    [1.0, 2.0, 3.0],
    [0.5, 1.5, 2.5],
    [4.0, 0.2, 1.0],
    [2.0, 2.0, 0.1],
]
REGRESSION_PRED = [
    [1.5, 1.0, 3.2],
    [0.4, 2.0, 0.5],
    [3.0, 0.3, 1.05],
    [2.5, 4.5, 0.3],
]
BINARY_TRUE = [
    [1.0, 0.0, 1.0],
    [0.0, 0.0, 1.0],
    [1.0, 1.0, 0.0],
    [0.0, 1.0, 0.0],
]
BINARY_PROB = [
    [0.9, 0.2, 0.6],
    [0.3, 0.1, 0.8],
    [0.7, 0.95, 0.4],
    [0.05, 0.5, 0.15],
]
# Exact 0 and 1 probabilities show the epsilon clipping and its zero gradient.
BINARY_PROB_EDGES = [
    [1.0, 0.0, 0.6],
    [0.3, 0.1, 0.0],
    [0.7, 1.0, 1.0],
    [0.0, 0.5, 0.15],
]
BINARY_LOGITS = [
    [2.0, -1.5, 0.3],
    [-0.8, -2.5, 1.2],
    [0.9, 3.0, -0.2],
    [-3.0, 0.0, -1.7],
]
CLASS_LABELS = [2, 0, 4, 1]
CATEGORICAL_TRUE = [[1.0 if j == label else 0.0 for j in range(5)] for label in CLASS_LABELS]
CATEGORICAL_PROB = [
    [0.1, 0.2, 0.5, 0.1, 0.1],
    [0.6, 0.1, 0.1, 0.1, 0.1],
    [0.05, 0.15, 0.3, 0.2, 0.3],
    [0.25, 0.25, 0.2, 0.2, 0.1],
]
# These rows do not sum to 1 and one true class has probability 0. Keras
# divides each row by its sum, then clips to [epsilon, 1 - epsilon].
CATEGORICAL_PROB_UNNORMALIZED = [
    [0.2, 0.4, 1.0, 0.2, 0.2],
    [0.0, 0.3, 0.3, 0.2, 0.2],
    [0.05, 0.15, 0.3, 0.2, 0.1],
    [0.5, 0.25, 0.2, 0.2, 0.1],
]
CATEGORICAL_LOGITS = [
    [0.5, 1.0, 2.0, -0.5, 0.0],
    [3.0, 0.1, -1.0, 0.2, 0.4],
    [-0.3, 0.8, 0.2, 1.5, 0.6],
    [1.0, 2.0, -2.0, 0.5, 0.0],
]


def loss_value_and_grad(loss, y_true, y_pred, true_dtype=tf.float32):
    y_true = tf.constant(y_true, dtype=true_dtype)
    y_pred = f32(y_pred)
    with tf.GradientTape() as tape:
        tape.watch(y_pred)
        value = loss(y_true, y_pred)
    grad = tape.gradient(value, y_pred)
    return value, grad


def loss_case(loss, per_sample_function, y_true, y_pred, config, true_dtype=tf.float32):
    value, grad = loss_value_and_grad(loss, y_true, y_pred, true_dtype)
    per_sample = per_sample_function(tf.constant(y_true, dtype=true_dtype), f32(y_pred))
    assert_close(value, np.mean(per_sample.numpy()), "loss mean over the batch")
    return {
        "config": config,
        "y_true": y_true,
        "y_pred": y_pred,
        "per_sample": as_list(per_sample),
        "loss": float(value.numpy()),
        "grad_y_pred": as_list(grad),
    }


def make_losses():
    losses = keras.losses
    cases = {
        "mean_squared_error": loss_case(
            losses.MeanSquaredError(), losses.mean_squared_error, REGRESSION_TRUE, REGRESSION_PRED, {}
        ),
        "mean_absolute_error": loss_case(
            losses.MeanAbsoluteError(), losses.mean_absolute_error, REGRESSION_TRUE, REGRESSION_PRED, {}
        ),
        "mean_absolute_percentage_error": loss_case(
            losses.MeanAbsolutePercentageError(),
            losses.mean_absolute_percentage_error,
            REGRESSION_TRUE,
            REGRESSION_PRED,
            {},
        ),
        "mean_squared_logarithmic_error": loss_case(
            losses.MeanSquaredLogarithmicError(),
            losses.mean_squared_logarithmic_error,
            REGRESSION_TRUE,
            REGRESSION_PRED,
            {},
        ),
        "huber": loss_case(
            losses.Huber(delta=1.0),
            lambda t, p: losses.huber(t, p, delta=1.0),
            REGRESSION_TRUE,
            REGRESSION_PRED,
            {"delta": 1.0},
        ),
        "binary_crossentropy": loss_case(
            losses.BinaryCrossentropy(), losses.binary_crossentropy, BINARY_TRUE, BINARY_PROB, {}
        ),
        "binary_crossentropy_clipped": loss_case(
            losses.BinaryCrossentropy(), losses.binary_crossentropy, BINARY_TRUE, BINARY_PROB_EDGES, {}
        ),
        "binary_crossentropy_from_logits": loss_case(
            losses.BinaryCrossentropy(from_logits=True),
            lambda t, p: losses.binary_crossentropy(t, p, from_logits=True),
            BINARY_TRUE,
            BINARY_LOGITS,
            {"from_logits": True},
        ),
        "binary_crossentropy_label_smoothing": loss_case(
            losses.BinaryCrossentropy(label_smoothing=0.1),
            lambda t, p: losses.binary_crossentropy(t, p, label_smoothing=0.1),
            BINARY_TRUE,
            BINARY_PROB,
            {"label_smoothing": 0.1},
        ),
        "categorical_crossentropy": loss_case(
            losses.CategoricalCrossentropy(), losses.categorical_crossentropy, CATEGORICAL_TRUE, CATEGORICAL_PROB, {}
        ),
        "categorical_crossentropy_unnormalized": loss_case(
            losses.CategoricalCrossentropy(),
            losses.categorical_crossentropy,
            CATEGORICAL_TRUE,
            CATEGORICAL_PROB_UNNORMALIZED,
            {},
        ),
        "categorical_crossentropy_from_logits": loss_case(
            losses.CategoricalCrossentropy(from_logits=True),
            lambda t, p: losses.categorical_crossentropy(t, p, from_logits=True),
            CATEGORICAL_TRUE,
            CATEGORICAL_LOGITS,
            {"from_logits": True},
        ),
        "categorical_crossentropy_label_smoothing": loss_case(
            losses.CategoricalCrossentropy(label_smoothing=0.1),
            lambda t, p: losses.categorical_crossentropy(t, p, label_smoothing=0.1),
            CATEGORICAL_TRUE,
            CATEGORICAL_PROB,
            {"label_smoothing": 0.1},
        ),
        "sparse_categorical_crossentropy": loss_case(
            losses.SparseCategoricalCrossentropy(),
            losses.sparse_categorical_crossentropy,
            CLASS_LABELS,
            CATEGORICAL_PROB,
            {},
            true_dtype=tf.int32,
        ),
        "sparse_categorical_crossentropy_from_logits": loss_case(
            losses.SparseCategoricalCrossentropy(from_logits=True),
            lambda t, p: losses.sparse_categorical_crossentropy(t, p, from_logits=True),
            CLASS_LABELS,
            CATEGORICAL_LOGITS,
            {"from_logits": True},
            true_dtype=tf.int32,
        ),
    }

    check_smoothing_formulas(cases)

    return {
        "description": "Each loss object with its default reduction (mean over the batch of 4). "
        "'per_sample' is the loss function without reduction, 'grad_y_pred' is d loss / d y_pred "
        "from tf.GradientTape. Sparse labels are int32.",
        "epsilon": EPSILON,
        "formulas": LOSS_FORMULAS,
        "cases": cases,
        "activation_outputs": make_activation_output_losses(),
    }


LOSS_FORMULAS = {
    "mean_squared_error": "mean over the last axis of (y_pred - y_true)^2",
    "mean_absolute_error": "mean over the last axis of |y_pred - y_true|",
    "mean_absolute_percentage_error": "100 * mean over the last axis of "
    "|y_true - y_pred| / max(|y_true|, epsilon)",
    "mean_squared_logarithmic_error": "mean over the last axis of "
    "(log(max(y_pred, epsilon) + 1) - log(max(y_true, epsilon) + 1))^2",
    "huber": "e = y_pred - y_true; 0.5 * e^2 if |e| <= delta else delta * |e| - 0.5 * delta^2; "
    "mean over the last axis",
    "binary_crossentropy": "p = clip(y_pred, epsilon, 1 - epsilon); "
    "mean over the last axis of -(t * log(p) + (1 - t) * log(1 - p)); "
    "from_logits uses tf.nn.sigmoid_cross_entropy_with_logits without clipping",
    "binary_label_smoothing": "t = y_true * (1 - s) + 0.5 * s",
    "categorical_crossentropy": "p = y_pred / sum(y_pred, last axis), then "
    "p = clip(p, epsilon, 1 - epsilon); -sum(t * log(p), last axis); "
    "from_logits uses tf.nn.softmax_cross_entropy_with_logits without clipping",
    "categorical_label_smoothing": "t = y_true * (1 - s) + s / num_classes",
    "sparse_categorical_crossentropy": "p = clip(y_pred, epsilon, 1 - epsilon), then "
    "tf.nn.sparse_softmax_cross_entropy_with_logits(labels, log(p)), which equals "
    "-log(p[label] / sum(p)) after clipping (rows are renormalised, like the categorical loss)",
    "reduction": "default 'sum_over_batch_size': sum of per-sample losses / batch size",
}


def check_smoothing_formulas(cases):
    """Recompute the two label-smoothing cases in float64 to confirm LOSS_FORMULAS."""
    s = 0.1
    t = np.asarray(BINARY_TRUE) * (1 - s) + 0.5 * s
    p = np.clip(np.asarray(BINARY_PROB, np.float32).astype(np.float64), EPSILON, 1 - EPSILON)
    bce = -(t * np.log(p) + (1 - t) * np.log(1 - p)).mean(axis=-1).mean()
    assert_close(cases["binary_crossentropy_label_smoothing"]["loss"], bce, "binary label smoothing")

    t = np.asarray(CATEGORICAL_TRUE) * (1 - s) + s / 5
    p = np.asarray(CATEGORICAL_PROB, np.float32).astype(np.float64)
    p = np.clip(p / p.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
    cce = -(t * np.log(p)).sum(axis=-1).mean()
    assert_close(cases["categorical_crossentropy_label_smoothing"]["loss"], cce, "categorical label smoothing")


# Logits far enough apart that clipping at epsilon changes the probability
# path, so the logits path and the clipped path give visibly different values.
SATURATED_CATEGORICAL_LOGITS = [
    [0.5, 1.0, 2.0, -0.5, 0.0],
    [-20.0, 0.1, -1.0, 0.2, 0.4],
    [-0.3, 0.8, 0.2, 1.5, 0.6],
    [1.0, 2.0, -2.0, 0.5, 0.0],
]
SATURATED_BINARY_LOGITS = [
    [2.0, -1.5, 0.3],
    [-0.8, 20.0, 1.2],
    [0.9, 3.0, -0.2],
    [-3.0, 0.0, -25.0],
]


def make_activation_output_losses():
    """Compare losses on keras softmax/sigmoid outputs with the logits and plain-probability paths.

    The TF backend of keras 3 attaches the logits to the tensors returned by
    keras.activations.softmax and keras.activations.sigmoid (attribute
    _keras_logits), and a non-logits crossentropy on such a tensor computes
    the loss from the logits instead of clipping the probabilities.
    """
    losses = keras.losses
    results = {}
    setups = [
        ("categorical_crossentropy", losses.CategoricalCrossentropy, keras.activations.softmax, CATEGORICAL_TRUE, CATEGORICAL_LOGITS),
        (
            "categorical_crossentropy_saturated",
            losses.CategoricalCrossentropy,
            keras.activations.softmax,
            CATEGORICAL_TRUE,
            SATURATED_CATEGORICAL_LOGITS,
        ),
        ("binary_crossentropy", losses.BinaryCrossentropy, keras.activations.sigmoid, BINARY_TRUE, BINARY_LOGITS),
        (
            "binary_crossentropy_saturated",
            losses.BinaryCrossentropy,
            keras.activations.sigmoid,
            BINARY_TRUE,
            SATURATED_BINARY_LOGITS,
        ),
    ]
    for name, loss_class, activation, y_true, logits in setups:
        y_true_tensor = f32(y_true)
        logits_tensor = f32(logits)
        with tf.GradientTape() as tape:
            tape.watch(logits_tensor)
            probabilities = activation(logits_tensor)
            via_activation = loss_class()(y_true_tensor, probabilities)
        grad_logits = tape.gradient(via_activation, logits_tensor)
        has_logits_attribute = hasattr(probabilities, "_keras_logits")

        from_logits = loss_class(from_logits=True)(y_true_tensor, logits_tensor)
        # A fresh tensor with the same probabilities carries no logits.
        plain = tf.constant(probabilities.numpy())
        from_plain_probabilities = loss_class()(y_true_tensor, plain)

        results[name] = {
            "y_true": y_true,
            "logits": logits,
            "probabilities": as_list(probabilities),
            "loss_via_keras_activation": float(via_activation.numpy()),
            "grad_logits_via_keras_activation": as_list(grad_logits),
            "loss_from_logits": float(from_logits.numpy()),
            "loss_from_plain_probabilities": float(from_plain_probabilities.numpy()),
            "activation_output_has_keras_logits": has_logits_attribute,
            "equals_from_logits": bool(via_activation.numpy() == from_logits.numpy()),
            "equals_plain_probabilities": bool(via_activation.numpy() == from_plain_probabilities.numpy()),
        }
    return {
        "description": "Non-logits crossentropy applied to keras.activations.softmax/sigmoid(logits). "
        "The TF backend finds the logits on the activation output and uses the from_logits "
        "formula; a new tensor with the same probabilities takes the clipped-probability path. "
        "Inside model.fit the same applies to a Dense layer with softmax or sigmoid activation.",
        "cases": results,
    }


# ---------------------------------------------------------------------------
# optimizers.json

OPTIMIZER_W0 = [0.5, -1.0, 2.0, 0.0, -0.3]
# Element 3 has gradient 0 in steps 1 and 3. The zero in step 1 exercises
# epsilon with v = 0, and the zero in step 3 makes v shrink, so amsgrad's
# v_hat = max(v_hat, v) differs from plain Adam there.
OPTIMIZER_GRADS = [
    [0.1, -0.2, 0.3, 0.0, 1.0],
    [-0.5, 0.4, 0.1, 0.2, -1.0],
    [0.3, 0.3, -0.2, 0.0, 0.5],
]

OPTIMIZER_CASES = [
    ("sgd", keras.optimizers.SGD, {"learning_rate": 0.01}),
    ("sgd_momentum", keras.optimizers.SGD, {"learning_rate": 0.01, "momentum": 0.9}),
    ("sgd_nesterov", keras.optimizers.SGD, {"learning_rate": 0.01, "momentum": 0.9, "nesterov": True}),
    ("adam", keras.optimizers.Adam, {}),
    ("adam_amsgrad", keras.optimizers.Adam, {"amsgrad": True}),
    ("rmsprop", keras.optimizers.RMSprop, {}),
    ("rmsprop_momentum_centered", keras.optimizers.RMSprop, {"momentum": 0.9, "centered": True}),
    ("adagrad", keras.optimizers.Adagrad, {}),
]

OPTIMIZER_FORMULAS = {
    "sgd": "w -= lr * g",
    "sgd_momentum": "m = momentum * m - lr * g; w += m (m starts at 0)",
    "sgd_nesterov": "m = momentum * m - lr * g; w += momentum * m - lr * g",
    "adam": "t = step (1-based); m += (g - m) * (1 - beta_1); v += (g^2 - v) * (1 - beta_2); "
    "alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t); w -= alpha * m / (sqrt(v) + epsilon). "
    "epsilon is added to sqrt(v), not to sqrt(v_hat) as in the Adam paper",
    "adam_amsgrad": "as adam, with v_hat = max(v_hat, v) replacing v in the denominator",
    "rmsprop": "v = rho * v + (1 - rho) * g^2; w -= lr * g / sqrt(v + epsilon) "
    "(epsilon inside the square root)",
    "rmsprop_momentum_centered": "v = rho * v + (1 - rho) * g^2; a = rho * a + (1 - rho) * g; "
    "increment = lr * g / sqrt(v - a^2 + epsilon); m = momentum * m + increment; w -= m",
    "adagrad": "acc starts at initial_accumulator_value; acc += g^2; "
    "w -= lr * g / sqrt(acc + epsilon)",
}


def constructor_defaults(optimizer_class):
    defaults = {}
    for name, parameter in inspect.signature(optimizer_class.__init__).parameters.items():
        if name in ("self", "name", "kwargs") or parameter.kind is parameter.VAR_KEYWORD:
            continue
        defaults[name] = parameter.default
    return defaults


def check_optimizer_formulas(name, config, steps):
    """Replay the documented update rule in float64 and compare with keras."""
    w = np.asarray(OPTIMIZER_W0, np.float32).astype(np.float64)
    state = {}
    lr = config.get("learning_rate", 0.01 if name.startswith("sgd") else 0.001)
    for t, g in enumerate(np.asarray(OPTIMIZER_GRADS, np.float32).astype(np.float64), start=1):
        if name == "sgd":
            w = w - lr * g
        elif name in ("sgd_momentum", "sgd_nesterov"):
            m = 0.9 * state.get("m", 0.0) - lr * g
            state["m"] = m
            w = w + (0.9 * m - lr * g if name == "sgd_nesterov" else m)
        elif name in ("adam", "adam_amsgrad"):
            m = state.get("m", 0.0) + (g - state.get("m", 0.0)) * 0.1
            v = state.get("v", 0.0) + (g * g - state.get("v", 0.0)) * 0.001
            state["m"], state["v"] = m, v
            if name == "adam_amsgrad":
                v = np.maximum(state.get("v_hat", 0.0), v)
                state["v_hat"] = v
            alpha = lr * math.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            w = w - alpha * m / (np.sqrt(v) + 1e-7)
        elif name == "rmsprop":
            v = 0.9 * state.get("v", 0.0) + 0.1 * g * g
            state["v"] = v
            w = w - lr * g / np.sqrt(v + 1e-7)
        elif name == "rmsprop_momentum_centered":
            v = 0.9 * state.get("v", 0.0) + 0.1 * g * g
            a = 0.9 * state.get("a", 0.0) + 0.1 * g
            m = 0.9 * state.get("m", 0.0) + lr * g / np.sqrt(v - a * a + 1e-7)
            state.update(v=v, a=a, m=m)
            w = w - m
        elif name == "adagrad":
            acc = state.get("acc", 0.1) + g * g
            state["acc"] = acc
            w = w - lr * g / np.sqrt(acc + 1e-7)
        assert_close(steps[t - 1], w, f"{name} step {t}", rtol=1e-5, atol=1e-6)


def make_optimizers():
    cases = {}
    for name, optimizer_class, config in OPTIMIZER_CASES:
        optimizer = optimizer_class(**config)
        variable = tf.Variable(np.asarray(OPTIMIZER_W0, np.float32))
        steps = []
        for gradient in OPTIMIZER_GRADS:
            optimizer.apply_gradients([(f32(gradient), variable)])
            steps.append(as_list(variable))
        check_optimizer_formulas(name, config, steps)
        cases[name] = {
            "optimizer": optimizer_class.__name__,
            "config": config,
            "formula": OPTIMIZER_FORMULAS[name],
            "weights_after_step": steps,
        }
    defaults = {
        optimizer_class.__name__: constructor_defaults(optimizer_class)
        for optimizer_class in (keras.optimizers.SGD, keras.optimizers.Adam, keras.optimizers.RMSprop, keras.optimizers.Adagrad)
    }
    return {
        "description": "One float32 variable w0 updated by optimizer.apply_gradients with each "
        "gradient in turn. weights_after_step[i] is w after step i + 1.",
        "w0": OPTIMIZER_W0,
        "gradients": OPTIMIZER_GRADS,
        "defaults": defaults,
        "cases": cases,
    }


# ---------------------------------------------------------------------------
# metrics.json

METRIC_LABELS = [0, 1, 2, 3, 1, 2]
METRIC_ONE_HOT = [[1.0 if j == label else 0.0 for j in range(4)] for label in METRIC_LABELS]
# No ties, so argmax and top-k do not depend on tie breaking.
METRIC_PROB = [
    [0.7, 0.1, 0.12, 0.08],
    [0.2, 0.3, 0.4, 0.1],
    [0.05, 0.25, 0.6, 0.1],
    [0.4, 0.35, 0.15, 0.1],
    [0.1, 0.45, 0.3, 0.15],
    [0.2, 0.05, 0.6, 0.15],
]
# Contains exact 0.5 values: keras counts y_pred > threshold as 1, so 0.5 -> 0.
METRIC_BINARY_TRUE = [
    [1.0, 0.0, 1.0],
    [0.0, 1.0, 0.0],
    [1.0, 1.0, 0.0],
    [0.0, 0.0, 1.0],
    [1.0, 0.0, 0.0],
    [0.0, 1.0, 1.0],
]
METRIC_BINARY_PRED = [
    [0.9, 0.2, 0.5],
    [0.1, 0.7, 0.4],
    [0.6, 0.3, 0.55],
    [0.2, 0.1, 0.8],
    [0.5, 0.49, 0.51],
    [0.3, 0.8, 0.65],
]
METRIC_REGRESSION_TRUE = [
    [1.0, 2.0],
    [0.5, -1.0],
    [3.0, 0.0],
    [-2.0, 1.5],
    [0.0, 0.25],
    [4.0, -3.0],
]
METRIC_REGRESSION_PRED = [
    [1.5, 1.0],
    [0.0, -1.5],
    [2.0, 0.5],
    [-1.0, 1.0],
    [0.75, 0.25],
    [3.0, -1.0],
]


def metric_case(metric_factory, y_true, y_pred, true_dtype=tf.float32):
    whole = metric_factory()
    whole.update_state(tf.constant(y_true, dtype=true_dtype), f32(y_pred))

    running = metric_factory()
    running.update_state(tf.constant(y_true[:4], dtype=true_dtype), f32(y_pred[:4]))
    after_first_update = float(running.result().numpy())
    running.update_state(tf.constant(y_true[4:], dtype=true_dtype), f32(y_pred[4:]))
    after_second_update = float(running.result().numpy())
    return {
        "y_true": y_true,
        "y_pred": y_pred,
        "result": float(whole.result().numpy()),
        "running_result_after_rows_0_to_3": after_first_update,
        "running_result_after_rows_4_to_5": after_second_update,
    }


def make_metrics():
    metrics = keras.metrics
    cases = {
        "sparse_categorical_accuracy": metric_case(
            metrics.SparseCategoricalAccuracy, METRIC_LABELS, METRIC_PROB, tf.int32
        ),
        "categorical_accuracy": metric_case(metrics.CategoricalAccuracy, METRIC_ONE_HOT, METRIC_PROB),
        "binary_accuracy": metric_case(
            lambda: metrics.BinaryAccuracy(threshold=0.5), METRIC_BINARY_TRUE, METRIC_BINARY_PRED
        ),
        "top_k_categorical_accuracy": metric_case(
            lambda: metrics.TopKCategoricalAccuracy(k=2), METRIC_ONE_HOT, METRIC_PROB
        ),
        "sparse_top_k_categorical_accuracy": metric_case(
            lambda: metrics.SparseTopKCategoricalAccuracy(k=2), METRIC_LABELS, METRIC_PROB, tf.int32
        ),
        "mean_absolute_error": metric_case(metrics.MeanAbsoluteError, METRIC_REGRESSION_TRUE, METRIC_REGRESSION_PRED),
        "mean_squared_error": metric_case(metrics.MeanSquaredError, METRIC_REGRESSION_TRUE, METRIC_REGRESSION_PRED),
        "root_mean_squared_error": metric_case(
            metrics.RootMeanSquaredError, METRIC_REGRESSION_TRUE, METRIC_REGRESSION_PRED
        ),
    }
    return {
        "description": "Stateful keras.metrics objects. 'result' is one update_state on all 6 rows. "
        "The running results come from one metric object updated with rows 0-3 and then rows 4-5: "
        "keras keeps a total and a count over samples, so the final running result equals "
        "'result' up to float32 rounding of the total. binary_accuracy counts y_pred > threshold as 1 (0.5 counts as 0). "
        "root_mean_squared_error is sqrt(total squared error / element count). "
        "Sparse labels are int32.",
        "config": {"binary_accuracy_threshold": 0.5, "top_k": 2},
        "cases": cases,
    }


# ---------------------------------------------------------------------------
# training.json

TRAIN_X = [
    [0.5, -1.0, 1.5],
    [1.0, 0.2, -0.3],
    [-0.7, 0.8, 0.1],
    [0.3, 0.3, 0.9],
    [-1.2, -0.4, 0.6],
    [0.9, -0.6, -1.1],
]
TRAIN_Y = [0, 1, 1, 0, 1, 0]
TRAIN_KERNEL_1 = [
    [0.3, -0.4, 0.5, 0.1],
    [-0.2, 0.6, 0.25, -0.5],
    [0.45, 0.1, -0.35, 0.7],
]
TRAIN_BIAS_1 = [0.05, 0.1, -0.05, 0.0]
TRAIN_KERNEL_2 = [
    [0.6, -0.3],
    [-0.5, 0.4],
    [0.2, 0.7],
    [-0.8, 0.35],
]
TRAIN_BIAS_2 = [0.1, -0.1]


class BatchRecorder(keras.callbacks.Callback):
    """Record the running logs and the weights after every training batch."""

    def __init__(self):
        super().__init__()
        self.batches = []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(
            {
                "epoch_batch": batch,
                "logs": {key: float(value) for key, value in (logs or {}).items()},
                "weights": [as_list(weight) for weight in self.model.get_weights()],
            }
        )


def build_training_model():
    model = keras.Sequential(
        [
            keras.Input(shape=(3,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    model.set_weights(
        [
            np.asarray(TRAIN_KERNEL_1, np.float32),
            np.asarray(TRAIN_BIAS_1, np.float32),
            np.asarray(TRAIN_KERNEL_2, np.float32),
            np.asarray(TRAIN_BIAS_2, np.float32),
        ]
    )
    return model


def training_case(optimizer_factory, optimizer_config):
    model = build_training_model()
    initial_weights = [as_list(weight) for weight in model.get_weights()]
    model.compile(
        optimizer=optimizer_factory(),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    recorder = BatchRecorder()
    history = model.fit(
        np.asarray(TRAIN_X, np.float32),
        np.asarray(TRAIN_Y, np.int32),
        batch_size=4,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[recorder],
    )
    history_values = {key: [float(v) for v in values] for key, values in history.history.items()}

    # The epoch loss is the mean over samples, so a batch of 4 weighs twice a batch of 2.
    # Recover the loss of each batch from the running means to show it.
    per_batch_losses = []
    for epoch in range(2):
        first, second = recorder.batches[2 * epoch], recorder.batches[2 * epoch + 1]
        loss_first = first["logs"]["loss"]
        loss_second = (6.0 * second["logs"]["loss"] - 4.0 * loss_first) / 2.0
        per_batch_losses.append([loss_first, loss_second])
        assert_close(history_values["loss"][epoch], second["logs"]["loss"], "epoch loss equals last running loss")

    return {
        "optimizer": optimizer_config,
        "jit_compile": bool(model.jit_compile),
        "initial_weights": initial_weights,
        "final_weights": [as_list(weight) for weight in model.get_weights()],
        "history": history_values,
        "batches": recorder.batches,
        "batch_losses_derived": per_batch_losses,
    }


def make_training():
    return {
        "description": "Input(3) -> Dense(4, relu) -> Dense(2, softmax), literal initial weights, "
        "compile(loss='sparse_categorical_crossentropy', metrics=['accuracy']), "
        "fit(x, y, batch_size=4, epochs=2, shuffle=False, verbose=0). Each epoch is a batch of 4 "
        "rows then a batch of 2. Weights are in get_weights() order: kernel 1 (3x4), bias 1, "
        "kernel 2 (4x2), bias 2. 'batches' holds the running logs and weights after each batch "
        "(epoch_batch is the batch index within its epoch). The history loss is the sample-weighted "
        "mean (4 * loss_batch_1 + 2 * loss_batch_2) / 6 of the losses computed before each update; "
        "'batch_losses_derived' recovers each batch's own loss from the running means. "
        "The loss on the softmax layer output is computed from its logits (see losses.json, "
        "activation_outputs).",
        "x": TRAIN_X,
        "y": TRAIN_Y,
        "cases": {
            "sgd": training_case(lambda: keras.optimizers.SGD(learning_rate=0.1), {"class": "SGD", "learning_rate": 0.1}),
            "adam": training_case(lambda: keras.optimizers.Adam(learning_rate=0.01), {"class": "Adam", "learning_rate": 0.01}),
        },
    }


# ---------------------------------------------------------------------------


def summarize(path):
    """Reload a written file and return a one-line summary of it."""
    document = json.loads(path.read_text())
    for key in ("cases", "activations"):
        if key in document:
            return f"{path}: {len(document[key])} {key}"
    return f"{path}: {len(document)} top-level keys"


def main():
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    writers = {
        "activations.json": make_activations,
        "dense.json": make_dense,
        "losses.json": make_losses,
        "optimizers.json": make_optimizers,
        "metrics.json": make_metrics,
        "training.json": make_training,
    }
    for name, make in writers.items():
        path = write_json(name, make())
        print(summarize(path))
    print(f"source: {SOURCE}")


if __name__ == "__main__":
    main()
