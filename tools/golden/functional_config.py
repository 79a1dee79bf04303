"""Write the config.json that Keras 3 saves for a functional model.

Run with the reference environment (keras 3.15.1, TensorFlow backend):

    /work/venv/bin/python tools/golden/functional_config.py OUT.json

The model has two inputs, a Dense layer shared by both, a frozen layer,
merge layers and two outputs compiled with one loss, metrics and a loss
weight each. The script saves it as a .keras file and writes that file's
config.json to OUT.json (default: stdout). The engine test
`functional_config_matches_keras` contains the same config inline.
"""

import json
import os
import sys
import tempfile
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras


def build():
    a = keras.Input(shape=(4,), name="a")
    b = keras.Input(shape=(4,), name="b")
    shared = keras.layers.Dense(3, activation="relu", name="shared")
    sa = shared(a)
    sb = shared(b)
    added = keras.layers.Add(name="add")([sa, sb])
    joined = keras.layers.Concatenate(axis=-1, name="concatenate")([sa, sb])
    dot = keras.layers.Dot(axes=1, normalize=True, name="dot")([sa, sb])
    frozen = keras.layers.Dense(2, name="frozen")
    frozen.trainable = False
    h = frozen(joined)
    out1 = keras.layers.Dense(2, activation="softmax", name="class")(h)
    merged = keras.layers.Concatenate(name="concatenate_1")([added, dot])
    out2 = keras.layers.Dense(1, name="size")(merged)
    model = keras.Model(inputs=[a, b], outputs=[out1, out2], name="two_heads")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.01),
        loss={"class": "sparse_categorical_crossentropy", "size": "mse"},
        loss_weights={"class": 1.0, "size": 0.5},
        metrics={"class": ["accuracy"], "size": ["mae"]},
    )
    return model


def main(out):
    model = build()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
    text = json.dumps(config, indent=1, sort_keys=True)
    if out:
        with open(out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
