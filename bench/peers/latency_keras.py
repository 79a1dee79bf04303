"""Time single-sample prediction latency of the Fashion-MNIST MLP in Keras 3 (CPU, 2 threads).

The MLP of mlp_keras.py with its initial (untrained) weights predicts the
first test image, shape (1, 784). Each method gets 20 unmeasured calls, then
the median of 1000 timed calls is printed: model.predict(x, verbose=0),
model.predict_on_batch(x) and, for reference, a direct model(x, training=False).
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

WARMUP_CALLS = 20
TIMED_CALLS = 1000


def median_ms(function):
    for _ in range(WARMUP_CALLS):
        function()
    seconds = []
    for _ in range(TIMED_CALLS):
        start = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds) * 1e3


def main():
    x_test, _ = fmnist.load("test")
    x = x_test[:1]
    model = keras.Sequential(
        [
            keras.Input(shape=(784,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )

    methods = {
        "predict": lambda: model.predict(x, verbose=0),
        "predict_on_batch": lambda: model.predict_on_batch(x),
        "call": lambda: model(x, training=False),
    }
    for method, function in methods.items():
        print(
            f"peer=keras workload=latency method={method} median_ms={median_ms(function):.3f} "
            f"calls={TIMED_CALLS} peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0:.0f} "
            f"keras={keras.__version__} tensorflow={tf.__version__} threads=2"
        )


if __name__ == "__main__":
    main()
