"""Print the layer configs and weight names that Keras 3 writes for the
transposed, separable and depthwise convolutions and the image resizing and
augmentation layers.

Generated with keras 3.15.1 (TensorFlow backend), tensorflow-cpu 2.21.0 on
Python 3.11. Run from the repository root:

    /work/venv/bin/python tools/golden/make_golden_layer_configs_image.py

Two Sequential models (1D and 2D data) together use every one of these
layer types. For each layer the script prints its serialized form,
`keras.saving.serialize_keras_object(layer)`, which is what `model.save()`
writes into the "layers" list of config.json, as one line of JSON. A
`# weights` line after it lists the layer's weight paths and shapes in the
order Keras stores them. src/rust/engine/tests/layer_configs.rs contains these
lines as its expected values and builds the same models in kerust.

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
    "image_1d": (
        (10, 3),
        [
            layers.Conv1DTranspose(
                4, 3, strides=2, padding="same", output_padding=1, activation="relu",
                kernel_regularizer=l1_l2(0.0, 0.01), name="deconv",
            ),
            layers.SeparableConv1D(
                5, 3, depth_multiplier=2, dilation_rate=2, use_bias=False,
                depthwise_initializer=initializers.HeNormal(seed=1),
                pointwise_regularizer=l1_l2(0.001, 0.0), name="separable",
            ),
            layers.DepthwiseConv1D(
                2, strides=2, padding="same", activation="tanh",
                bias_initializer=initializers.Constant(0.1), name="depthwise",
            ),
        ],
    ),
    "image_2d": (
        (9, 11, 3),
        [
            layers.Resizing(8, 10, interpolation="nearest", pad_to_aspect_ratio=True,
                            fill_value=0.5, name="resize"),
            layers.CenterCrop(6, 7, name="crop"),
            layers.UpSampling2D((2, 1), interpolation="bilinear", name="up"),
            layers.RandomFlip("horizontal", seed=3, name="flip"),
            layers.RandomRotation((-0.2, 0.3), fill_mode="constant", fill_value=1.5,
                                  interpolation="nearest", seed=4, name="rotate"),
            layers.RandomTranslation((-0.1, 0.2), (0.0, 0.25), fill_mode="wrap",
                                     name="translate"),
            layers.RandomZoom((-0.5, 0.25), fill_mode="nearest", seed=6, name="zoom"),
            layers.RandomContrast((0.1, 0.4), value_range=(0, 1), seed=7, name="contrast"),
            layers.Conv2DTranspose(
                3, (2, 3), dilation_rate=(2, 1), use_bias=False,
                kernel_initializer=initializers.RandomNormal(stddev=0.1, seed=4),
                name="deconv",
            ),
            layers.SeparableConv2D(
                4, 2, strides=(1, 2), padding="same", activation="sigmoid",
                pointwise_initializer=initializers.LecunUniform(seed=2),
                depthwise_regularizer=l1_l2(0.0, 0.02), bias_regularizer=l1_l2(0.01, 0.0),
                name="separable",
            ),
            layers.DepthwiseConv2D(
                (3, 2), depth_multiplier=3, depthwise_regularizer=l1_l2(0.0, 0.03),
                activity_regularizer=l1_l2(0.001, 0.0), name="depthwise",
            ),
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
            print("# weights", [(w.path, tuple(w.shape)) for w in layer.weights])


if __name__ == "__main__":
    main()
