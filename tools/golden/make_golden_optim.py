"""Write golden values for the extra optimizers, gradient clipping, weight
decay and learning-rate schedules, computed by Keras 3 (TensorFlow backend).

Generated with keras 3.15.1 and tensorflow-cpu 2.21.0 on Python 3.11 (CPU).
Run from the repository root with the reference environment:
    /work/venv/bin/python tools/golden/make_golden_optim.py
It writes src/rust/engine/tests/golden/optimizers_extra.json and schedules.json.
"""

import json
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

OUT = "src/rust/engine/tests/golden"
SOURCE = f"tools/golden/make_golden_optim.py, keras {keras.__version__}"

W0 = [[0.5, -1.2, 0.3, 2.0, -0.7], [0.25, -0.5, 1.5]]
GRADS = [
    [[0.1, -0.3, 0.05, 0.8, -0.2], [0.4, 0.0, -0.6]],
    [[-0.2, 0.1, 0.0, 0.5, 0.3], [0.2, -0.1, 0.3]],
    [[0.05, -0.05, 0.2, -0.4, 0.1], [-0.3, 0.25, 0.0]],
]

OPTIMIZERS = {
    "adamw": lambda: keras.optimizers.AdamW(),
    "adadelta": lambda: keras.optimizers.Adadelta(),
    "adamax": lambda: keras.optimizers.Adamax(),
    "nadam": lambda: keras.optimizers.Nadam(),
    "lion": lambda: keras.optimizers.Lion(),
    "sgd_clipnorm": lambda: keras.optimizers.SGD(learning_rate=0.1, clipnorm=0.5),
    "sgd_clipvalue": lambda: keras.optimizers.SGD(learning_rate=0.1, clipvalue=0.1),
    "sgd_global_clipnorm": lambda: keras.optimizers.SGD(learning_rate=0.1, global_clipnorm=0.5),
    "adam_weight_decay": lambda: keras.optimizers.Adam(learning_rate=0.01, weight_decay=0.1),
    "sgd_exponential_decay": lambda: keras.optimizers.SGD(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    ),
}


def run_optimizer(make):
    optimizer = make()
    variables = [keras.Variable(np.array(w, dtype="float32")) for w in W0]
    steps = []
    for grads in GRADS:
        optimizer.apply_gradients(
            [(np.array(g, dtype="float32"), v) for g, v in zip(grads, variables)]
        )
        steps.append([v.numpy().astype(float).tolist() for v in variables])
    config = {k: v for k, v in optimizer.get_config().items() if isinstance(v, (int, float, bool)) or v is None}
    return {"config": config, "steps": steps}


SCHEDULES = {
    "exponential_decay": dict(cls="ExponentialDecay", args=dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    "exponential_decay_staircase": dict(
        cls="ExponentialDecay", args=dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    ),
    "piecewise_constant_decay": dict(cls="PiecewiseConstantDecay", args=dict(boundaries=[5, 20], values=[1.0, 0.5, 0.1])),
    "inverse_time_decay": dict(cls="InverseTimeDecay", args=dict(initial_learning_rate=0.1, decay_steps=10, decay_rate=0.5)),
    "polynomial_decay": dict(
        cls="PolynomialDecay", args=dict(initial_learning_rate=0.1, decay_steps=20, end_learning_rate=0.01, power=2.0)
    ),
    "polynomial_decay_cycle": dict(
        cls="PolynomialDecay",
        args=dict(initial_learning_rate=0.1, decay_steps=20, end_learning_rate=0.01, power=1.0, cycle=True),
    ),
    "cosine_decay": dict(cls="CosineDecay", args=dict(initial_learning_rate=0.1, decay_steps=50, alpha=0.1)),
    "cosine_decay_warmup": dict(
        cls="CosineDecay",
        args=dict(initial_learning_rate=0.0, decay_steps=50, alpha=0.0, warmup_target=0.2, warmup_steps=10),
    ),
    "cosine_decay_restarts": dict(
        cls="CosineDecayRestarts", args=dict(initial_learning_rate=0.1, first_decay_steps=10, t_mul=2.0, m_mul=0.5, alpha=0.05)
    ),
}
STEPS = [0, 1, 3, 5, 9, 10, 15, 20, 21, 35, 60, 100]


def main():
    optimizers = {name: run_optimizer(make) for name, make in OPTIMIZERS.items()}
    with open(f"{OUT}/optimizers_extra.json", "w") as f:
        json.dump({"source": SOURCE, "w0": W0, "grads": GRADS, "cases": optimizers}, f, indent=1)
    schedules = {}
    for name, spec in SCHEDULES.items():
        schedule = getattr(keras.optimizers.schedules, spec["cls"])(**spec["args"])
        schedules[name] = {
            "class": spec["cls"],
            "args": spec["args"],
            "values": [float(keras.ops.convert_to_numpy(schedule(step))) for step in STEPS],
        }
    with open(f"{OUT}/schedules.json", "w") as f:
        json.dump({"source": SOURCE, "steps": STEPS, "cases": schedules}, f, indent=1)
    print("wrote optimizers_extra.json and schedules.json")


if __name__ == "__main__":
    main()
