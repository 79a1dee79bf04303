"""Time Fashion-MNIST MLP training epochs in Keras 3 (TensorFlow backend, CPU, 2 threads).

Model 784 -> Dense(256, relu) -> Dense(128, relu) -> Dense(10, softmax), Adam with
keras defaults, sparse categorical crossentropy, batch 128, shuffled every epoch.
One fit(epochs=4) call is timed per epoch by a callback: epoch 1 is the warm-up
(it includes graph tracing) and the median covers epochs 2 to 4.
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
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
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
    print(
        f"peer=keras workload=mlp epoch_s_median={statistics.median(timed):.3f} "
        f"epoch_s={','.join(f'{s:.3f}' for s in timed)} warmup_epoch_s={timer.seconds[0]:.3f} "
        f"final_loss={history.history['loss'][-1]:.4f} peak_rss_mb={peak_rss_mb():.0f} "
        f"keras={keras.__version__} tensorflow={tf.__version__} threads=2 timing=callback"
    )


if __name__ == "__main__":
    main()
