"""Check that Keras 3 reads the architecture of a kerust model file.

Run with the reference environment (keras 3.15.1, TensorFlow backend):

    /work/venv/bin/python tools/golden/keras_reads_config.py model.keras

The script rebuilds the model from the file's config.json with
`keras.saving.deserialize_keras_object()` and prints its summary and layer
classes. It does not load the weights: kerust stores them as safetensors,
which Keras's loader does not read.
"""

import json
import os
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras


def main(path):
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    model = keras.saving.deserialize_keras_object(config)
    model.summary()
    print([layer.__class__.__name__ for layer in model.layers])


if __name__ == "__main__":
    main(sys.argv[1])
