"""Test accuracy of the README's Fashion-MNIST MLP in Keras 3, for comparison
with kerust's demo: Dense(256, relu) - Dense(128, relu) - Dense(10,
softmax), Adam, batch 128, 10 epochs, validation_split 0.1, for several
seeds. Prints one line per seed and the mean.

Run from the repository root: /work/venv/bin/python bench/peers/accuracy_keras.py
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import fmnist  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def main():
    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    x_train, y_train = fmnist.load("train")
    x_test, y_test = fmnist.load("test")
    accuracies = []
    for seed in [1, 2, 3, 4, 5]:
        keras.utils.set_random_seed(seed)
        model = keras.Sequential([
            keras.Input((784,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(x_train, y_train, epochs=10, batch_size=128, validation_split=0.1, verbose=0)
        accuracies.append(model.evaluate(x_test, y_test, verbose=0)[1])
        print(f"peer=keras workload=mlp_accuracy seed={seed} test_accuracy={accuracies[-1]:.4f}", flush=True)
    print(f"peer=keras workload=mlp_accuracy mean_test_accuracy={np.mean(accuracies):.4f}")


if __name__ == "__main__":
    main()
