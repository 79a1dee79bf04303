"""Time Fashion-MNIST CNN training epochs in Keras 3 (TensorFlow backend, CPU, 2 threads).

Model (28, 28, 1) -> Conv2D(32, 3x3, relu) -> MaxPooling2D(2) -> Conv2D(64, 3x3, relu)
-> MaxPooling2D(2) -> Flatten -> Dropout(0.5) -> Dense(10, softmax), Adam with keras
defaults, sparse categorical crossentropy, batch 128, shuffled every epoch, on the
60000 training images scaled to [0, 1]. One fit(epochs=4) call is timed per epoch by
a callback: epoch 1 is the warm-up (it includes graph tracing) and the median covers
epochs 2 to 4. The test accuracy after the 4 epochs is printed as a sanity check.
"""

import os
import resource
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import tensorflow as tf

# Thread pools must be sized before TensorFlow creates its runtime.
tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(2)

import keras

import fmnist

WARMUP_EPOCHS = 1
TIMED_EPOCHS = 3
# Multiply-adds per sample of one forward pass: conv1 26*26 positions x 9 x 32,
# conv2 11*11 x 288 x 64, dense 1600 x 10. A training step does about three
# times the forward work (forward, input gradient, weight gradient), less the
# input gradient of conv1, which no layer needs.
FORWARD_MACS = 26 * 26 * 9 * 32 + 11 * 11 * 288 * 64 + 1600 * 10
TRAIN_FLOP_PER_SAMPLE = 2 * (3 * FORWARD_MACS - 26 * 26 * 9 * 32)


class EpochTimer(keras.callbacks.Callback):
    """Wall-clock seconds of each epoch, from on_epoch_begin to on_epoch_end."""

    def __init__(self):
        super().__init__()
        self.seconds = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def peak_rss_mb():
    # ru_maxrss is in kilobytes on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main():
    x, y = fmnist.load("train")
    x = x.reshape(-1, 28, 28, 1)
    x_test, y_test = fmnist.load("test")
    x_test = x_test.reshape(-1, 28, 28, 1)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(32, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Conv2D(64, (3, 3), activation="relu"),
            keras.layers.MaxPooling2D((2, 2)),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    timer = EpochTimer()
    history = model.fit(
        x,
        y,
        batch_size=128,
        epochs=WARMUP_EPOCHS + TIMED_EPOCHS,
        shuffle=True,
        verbose=0,
        callbacks=[timer],
    )
    timed = timer.seconds[WARMUP_EPOCHS:]
    median = statistics.median(timed)
    _, accuracy = model.evaluate(x_test, y_test, batch_size=512, verbose=0)
    print(
        f"peer=keras workload=cnn epoch_s_median={median:.3f} "
        f"epoch_s={','.join(f'{s:.3f}' for s in timed)} warmup_epoch_s={timer.seconds[0]:.3f} "
        f"gflops={TRAIN_FLOP_PER_SAMPLE * x.shape[0] / median / 1e9:.1f} "
        f"final_loss={history.history['loss'][-1]:.4f} test_accuracy={accuracy:.4f} "
        f"peak_rss_mb={peak_rss_mb():.0f} keras={keras.__version__} tensorflow={tf.__version__} "
        f"threads=2 timing=callback"
    )


if __name__ == "__main__":
    main()
