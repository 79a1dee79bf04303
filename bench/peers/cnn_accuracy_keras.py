"""Test accuracy of the Fashion-MNIST CNN of inst/examples/fashion_mnist_cnn.R
in Keras 3 with the same training settings, for comparison with kerust.

Network: Conv2D(32, 3x3, relu) - MaxPooling2D(2) - Conv2D(64, 3x3, relu) -
MaxPooling2D(2) - Flatten - Dropout(0.5) - Dense(10, softmax), inputs scaled
to [0, 1], He-uniform kernels in the convolutions. Training: all 60000
training images, 5 epochs, Nadam (or Adam) whose learning rate warms up
linearly from LR / 10 to LR over the first 10% of the steps and then follows
a cosine decay to 0. Prints the test accuracy after each epoch, one line per
seed.

Run from the repository root:
  /work/venv/bin/python bench/peers/cnn_accuracy_keras.py \
    [--optimizer nadam] [--batch-size 32] [--lr 0.003] [--seeds 1 2 3]
"""

import argparse
import math
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(__file__))

import fmnist  # noqa: E402
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

EPOCHS = 5
OPTIMIZERS = {"adam": keras.optimizers.Adam, "nadam": keras.optimizers.Nadam}


def build_model():
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, (3, 3), activation="relu", kernel_initializer="he_uniform"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Conv2D(64, (3, 3), activation="relu", kernel_initializer="he_uniform"),
        keras.layers.MaxPooling2D((2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=0.003, help="peak learning rate, reached at the end of the warmup")
    parser.add_argument("--optimizer", choices=["adam", "nadam"], default="nadam")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    args = parser.parse_args()

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    x_train, y_train = fmnist.load("train")
    x_test, y_test = fmnist.load("test")
    x_train = x_train.reshape(-1, 28, 28, 1)
    x_test = x_test.reshape(-1, 28, 28, 1)

    steps = math.ceil(len(x_train) / args.batch_size) * EPOCHS
    warmup_steps = round(0.1 * steps)
    for seed in args.seeds:
        keras.utils.set_random_seed(seed)
        schedule = keras.optimizers.schedules.CosineDecay(
            args.lr / 10, decay_steps=steps - warmup_steps, warmup_target=args.lr, warmup_steps=warmup_steps
        )
        model = build_model()
        model.compile(
            optimizer=OPTIMIZERS[args.optimizer](learning_rate=schedule),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        # The test set is passed as validation data only to log its accuracy after each epoch.
        history = model.fit(
            x_train, y_train, epochs=EPOCHS, batch_size=args.batch_size,
            validation_data=(x_test, y_test), verbose=0,
        )
        per_epoch = " ".join(f"{a:.4f}" for a in history.history["val_accuracy"])
        print(
            f"peer=keras workload=cnn_accuracy optimizer={args.optimizer} batch_size={args.batch_size} lr={args.lr} seed={seed} "
            f"test_accuracy_per_epoch={per_epoch}",
            flush=True,
        )


if __name__ == "__main__":
    main()
