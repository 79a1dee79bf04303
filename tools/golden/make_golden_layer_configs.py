"""Print the layer configs that Keras 3 writes to config.json for the
convolution, pooling, normalization, spatial and preprocessing layers.

Generated with keras 3.15.1 (TensorFlow backend), tensorflow-cpu 2.21.0 on
Python 3.11. Run from the repository root:

    /work/venv/bin/python tools/golden/make_golden_layer_configs.py

For three Sequential models (1D, 2D and 3D data) that together use every
layer type of src/rust/engine/src/io/conv_config.rs, the script prints the
serialized form of each layer, `keras.saving.serialize_keras_object(layer)`,
which is what `model.save()` writes into the "layers" list of config.json.
Each line is one layer's JSON. src/rust/engine/tests/layer_configs.rs
contains these lines as its expected values and builds the same models in
kerust.

Nothing is random: the layers have explicit names and their weights are
never used.
"""

import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import keras
from keras import initializers, layers, regularizers


def l1_l2(l1, l2):
    # kerust writes every regularizer as L1L2.
    return regularizers.L1L2(l1=l1, l2=l2)


MODELS = {
    "conv_1d": (
        (20, 3),
        [
            layers.Conv1D(
                4, 3, padding="causal", dilation_rate=2, activation="tanh",
                bias_initializer=initializers.Constant(0.1), name="conv",
            ),
            layers.MaxPooling1D(name="max_pool"),
            layers.AveragePooling1D(3, strides=1, padding="same", name="avg_pool"),
            layers.ZeroPadding1D((1, 2), name="pad"),
            layers.Cropping1D((0, 1), name="crop"),
            layers.UpSampling1D(3, name="up"),
            layers.SpatialDropout1D(0.1, name="drop"),
            layers.Conv1D(
                2, 2, strides=2, use_bias=False,
                kernel_initializer=initializers.LecunUniform(seed=9), name="conv_strided",
            ),
            layers.GlobalAveragePooling1D(name="global_avg"),
        ],
    ),
    "conv_2d": (
        (12, 12, 3),
        [
            layers.Rescaling(1 / 255, offset=-0.5, name="rescale"),
            layers.Conv2D(
                4, 3, padding="same", activation="relu",
                kernel_initializer=initializers.HeNormal(seed=3),
                kernel_regularizer=l1_l2(0.0, 0.01),
                activity_regularizer=l1_l2(0.001, 0.0), name="conv",
            ),
            layers.BatchNormalization(
                momentum=0.9, gamma_regularizer=l1_l2(0.0, 0.02), name="norm",
            ),
            layers.MaxPooling2D(name="max_pool"),
            layers.AveragePooling2D((2, 1), strides=1, padding="same", name="avg_pool"),
            layers.ZeroPadding2D(((1, 2), (0, 1)), name="pad"),
            layers.Cropping2D(((1, 0), (0, 1)), name="crop"),
            layers.UpSampling2D((2, 3), name="up"),
            layers.SpatialDropout2D(0.2, seed=5, name="drop"),
            layers.Conv2D(
                8, (2, 3), dilation_rate=(2, 1), groups=2, use_bias=False,
                kernel_initializer=initializers.RandomNormal(stddev=0.1, seed=4),
                name="conv_grouped",
            ),
            layers.GlobalMaxPooling2D(keepdims=True, name="global_max"),
        ],
    ),
    "conv_3d": (
        (6, 8, 8, 2),
        [
            layers.Conv3D(
                4, (1, 2, 3), strides=(1, 2, 1), groups=2,
                bias_regularizer=l1_l2(0.001, 0.0), name="conv",
            ),
            layers.MaxPooling3D(name="max_pool"),
            layers.AveragePooling3D(1, name="avg_pool"),
            layers.ZeroPadding3D(1, name="pad"),
            layers.Cropping3D(((1, 0), (0, 0), (0, 1)), name="crop"),
            layers.UpSampling3D(2, name="up"),
            layers.SpatialDropout3D(0.3, name="drop"),
            layers.BatchNormalization(
                center=False, epsilon=1e-5,
                moving_variance_initializer=initializers.Constant(2.0), name="norm",
            ),
            layers.GlobalMaxPooling3D(name="global_max"),
        ],
    ),
}


def main():
    print(f"# keras {keras.__version__}")
    for model_name, (input_shape, model_layers) in MODELS.items():
        model = keras.Sequential([keras.Input(input_shape), *model_layers], name=model_name)
        print(f"# {model_name}")
        for layer in model.layers:
            print(json.dumps(keras.saving.serialize_keras_object(layer)))


if __name__ == "__main__":
    main()
