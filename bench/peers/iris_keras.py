"""Time per-step training overhead on iris in Keras 3 (TensorFlow backend, CPU, 2 threads).

Network 4 -> Dense(16, relu) -> Dense(3, softmax), Adam with keras defaults,
batch 16, shuffled. 150 rows give 10 steps per epoch (the last one has 6 rows),
so 200 epochs are 2000 steps. One unmeasured epoch first traces the train
function, then a single fit(epochs=200) call is timed.
"""

import os
import resource
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import tensorflow as tf

# Thread pools must be sized before TensorFlow creates its runtime.
tf.config.threading.set_intra_op_parallelism_threads(2)
tf.config.threading.set_inter_op_parallelism_threads(2)

import keras

import iris_data

EPOCHS = 200
BATCH_SIZE = 16


def main():
    x, y = iris_data.load()
    steps = EPOCHS * -(-x.shape[0] // BATCH_SIZE)
    model = keras.Sequential(
        [
            keras.Input(shape=(4,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(), loss="sparse_categorical_crossentropy", metrics=["accuracy"])

    model.fit(x, y, batch_size=BATCH_SIZE, epochs=1, shuffle=True, verbose=0)

    start = time.perf_counter()
    history = model.fit(x, y, batch_size=BATCH_SIZE, epochs=EPOCHS, shuffle=True, verbose=0)
    total = time.perf_counter() - start

    print(
        f"peer=keras workload=iris total_s={total:.3f} epochs={EPOCHS} steps={steps} "
        f"step_us={total / steps * 1e6:.0f} warmup_epochs=1 "
        f"final_loss={history.history['loss'][-1]:.4f} "
        f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0:.0f} "
        f"keras={keras.__version__} tensorflow={tf.__version__} threads=2"
    )


if __name__ == "__main__":
    main()
