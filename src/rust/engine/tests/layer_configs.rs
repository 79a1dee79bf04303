//! Keras configs of the convolution (plain, transposed, separable and
//! depthwise), pooling, normalization, spatial, preprocessing and image
//! augmentation layers: what kerust writes to config.json against what
//! Keras 3 writes for the same layers, configs read back into the same
//! layers, and the errors for invalid values.
//!
//! The expected JSON below is the output of
//! `tools/golden/make_golden_layer_configs.py` and
//! `tools/golden/make_golden_layer_configs_image.py` (keras 3.15.1,
//! TensorFlow backend): `keras.saving.serialize_keras_object(layer)` for
//! each layer of five Sequential models that `conv_1d()`, `conv_2d()`,
//! `conv_3d()`, `image_1d()` and `image_2d()` build again in kerust.

use engine::activations::Activation;
use engine::init::Initializer;
use engine::io::keras_config::{model_config, model_from_config};
use engine::io::{load_model, save_model, SaveOptions};
use engine::layers::affine::{add_random_affine, AffineKind, FillMode, Sampling};
use engine::layers::augment::{add_random_contrast, add_random_flip, FlipMode};
use engine::layers::batch_norm::{add_batch_norm, BatchNormConfig, BatchNormInitializers};
use engine::layers::conv::{add_conv, ConvConfig};
use engine::layers::conv_transpose::{add_conv_transpose, ConvTransposeConfig};
use engine::layers::depthwise::{add_depthwise_conv, DepthwiseConfig};
use engine::layers::pooling::{add_global_pool, add_pool, PoolConfig, PoolKind};
use engine::layers::rescaling::add_rescaling;
use engine::layers::resize::{
    add_center_crop, add_resizing, add_upsampling_bilinear, AspectRatio, Interpolation,
    ResizeConfig,
};
use engine::layers::separable::{add_separable_conv, SeparableConfig};
use engine::layers::spatial::{add_spatial, SpatialKind};
use engine::layers::spatial_dropout::add_spatial_dropout;
use engine::layers::window::Padding;
use engine::model::Model;
use engine::regularizers::Regularizer;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};

/// The layers of `conv_1d()`, as keras 3.15.1 writes them.
const KERAS_CONV_1D: &[&str] = &[
    r#"{"module": "keras.layers", "class_name": "Conv1D", "config": {"name": "conv", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "filters": 4, "kernel_size": [3], "strides": [1], "padding": "causal", "data_format": "channels_last", "dilation_rate": [2], "groups": 1, "activation": "tanh", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Constant", "config": {"value": 0.1}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 20, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "MaxPooling1D", "config": {"name": "max_pool", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "pool_size": [2], "padding": "valid", "strides": [2], "data_format": "channels_last"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "AveragePooling1D", "config": {"name": "avg_pool", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "pool_size": [3], "padding": "same", "strides": [1], "data_format": "channels_last"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "ZeroPadding1D", "config": {"name": "pad", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "padding": [1, 2], "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 10, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "Cropping1D", "config": {"name": "crop", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "cropping": [0, 1]}, "registered_name": null, "build_config": {"input_shape": [null, 13, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "UpSampling1D", "config": {"name": "up", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "size": 3}, "registered_name": null, "build_config": {"input_shape": [null, 12, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "SpatialDropout1D", "config": {"rate": 0.1, "seed": null, "name": "drop", "dtype": "float32"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "Conv1D", "config": {"name": "conv_strided", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "filters": 2, "kernel_size": [2], "strides": [2], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1], "groups": 1, "activation": "linear", "use_bias": false, "kernel_initializer": {"module": "keras.initializers", "class_name": "LecunUniform", "config": {"seed": 9, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 36, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "GlobalAveragePooling1D", "config": {"name": "global_avg", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "keepdims": false}, "registered_name": null}"#,
];

/// The layers of `conv_2d()`, as keras 3.15.1 writes them.
const KERAS_CONV_2D: &[&str] = &[
    r#"{"module": "keras.layers", "class_name": "Rescaling", "config": {"name": "rescale", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "scale": 0.00392156862745098, "offset": -0.5}, "registered_name": null, "build_config": {"input_shape": [null, 12, 12, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "activity_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.001, "l2": 0.0}, "registered_name": null}, "filters": 4, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": 3, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}, "registered_name": null}, "bias_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 12, 12, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "BatchNormalization", "config": {"name": "norm", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "axis": -1, "momentum": 0.9, "epsilon": 0.001, "center": true, "scale": true, "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}, "moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "moving_variance_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}, "beta_regularizer": null, "gamma_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.02}, "registered_name": null}, "beta_constraint": null, "gamma_constraint": null, "synchronized": false, "renorm": false, "renorm_clipping": null, "renorm_momentum": 0.99}, "registered_name": null, "build_config": {"input_shape": [null, 12, 12, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "MaxPooling2D", "config": {"name": "max_pool", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "pool_size": [2, 2], "padding": "valid", "strides": [2, 2], "data_format": "channels_last"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "AveragePooling2D", "config": {"name": "avg_pool", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "pool_size": [2, 1], "padding": "same", "strides": [1, 1], "data_format": "channels_last"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "ZeroPadding2D", "config": {"name": "pad", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "padding": [[1, 2], [0, 1]], "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 6, 6, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "Cropping2D", "config": {"name": "crop", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "cropping": [[1, 0], [0, 1]], "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 9, 7, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "UpSampling2D", "config": {"name": "up", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "size": [2, 3], "data_format": "channels_last", "interpolation": "nearest"}, "registered_name": null, "build_config": {"input_shape": [null, 8, 6, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "SpatialDropout2D", "config": {"rate": 0.2, "seed": 5, "name": "drop", "dtype": "float32", "data_format": "channels_last"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "Conv2D", "config": {"name": "conv_grouped", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "filters": 8, "kernel_size": [2, 3], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [2, 1], "groups": 2, "activation": "linear", "use_bias": false, "kernel_initializer": {"module": "keras.initializers", "class_name": "RandomNormal", "config": {"seed": 4, "mean": 0.0, "stddev": 0.1}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 16, 18, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "GlobalMaxPooling2D", "config": {"name": "global_max", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "keepdims": true}, "registered_name": null}"#,
];

/// The layers of `conv_3d()`, as keras 3.15.1 writes them.
const KERAS_CONV_3D: &[&str] = &[
    r#"{"module": "keras.layers", "class_name": "Conv3D", "config": {"name": "conv", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "filters": 4, "kernel_size": [1, 2, 3], "strides": [1, 2, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1, 1], "groups": 2, "activation": "linear", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.001, "l2": 0.0}, "registered_name": null}, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 6, 8, 8, 2]}}"#,
    r#"{"module": "keras.layers", "class_name": "MaxPooling3D", "config": {"name": "max_pool", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "pool_size": [2, 2, 2], "padding": "valid", "strides": [2, 2, 2], "data_format": "channels_last"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "AveragePooling3D", "config": {"name": "avg_pool", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "pool_size": [1, 1, 1], "padding": "valid", "strides": [1, 1, 1], "data_format": "channels_last"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "ZeroPadding3D", "config": {"name": "pad", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "padding": [[1, 1], [1, 1], [1, 1]], "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 3, 2, 3, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "Cropping3D", "config": {"name": "crop", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "cropping": [[1, 0], [0, 0], [0, 1]], "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 5, 4, 5, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "UpSampling3D", "config": {"name": "up", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "size": [2, 2, 2], "data_format": "channels_last"}, "registered_name": null, "build_config": {"input_shape": [null, 4, 4, 4, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "SpatialDropout3D", "config": {"rate": 0.3, "seed": null, "name": "drop", "dtype": "float32", "data_format": "channels_last"}, "registered_name": null}"#,
    r#"{"module": "keras.layers", "class_name": "BatchNormalization", "config": {"name": "norm", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "axis": -1, "momentum": 0.99, "epsilon": 1e-05, "center": false, "scale": true, "beta_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "gamma_initializer": {"module": "keras.initializers", "class_name": "Ones", "config": {}, "registered_name": null}, "moving_mean_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "moving_variance_initializer": {"module": "keras.initializers", "class_name": "Constant", "config": {"value": 2.0}, "registered_name": null}, "beta_regularizer": null, "gamma_regularizer": null, "beta_constraint": null, "gamma_constraint": null, "synchronized": false, "renorm": false, "renorm_clipping": null, "renorm_momentum": 0.99}, "registered_name": null, "build_config": {"input_shape": [null, 8, 8, 8, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "GlobalMaxPooling3D", "config": {"name": "global_max", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "keepdims": false}, "registered_name": null}"#,
];

/// The layers of `image_1d()`, as keras 3.15.1 writes them
/// (`tools/golden/make_golden_layer_configs_image.py`).
const KERAS_IMAGE_1D: &[&str] = &[
    r#"{"module": "keras.layers", "class_name": "Conv1DTranspose", "config": {"name": "deconv", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "filters": 4, "kernel_size": [3], "strides": [2], "padding": "same", "output_padding": [1], "data_format": "channels_last", "dilation_rate": [1], "activation": "relu", "use_bias": true, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.01}, "registered_name": null}, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 10, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "SeparableConv1D", "config": {"name": "separable", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "depth_multiplier": 2, "filters": 5, "kernel_size": [3], "strides": [1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [2], "activation": "linear", "use_bias": false, "depthwise_initializer": {"module": "keras.initializers", "class_name": "HeNormal", "config": {"seed": 1, "input_axes": null, "output_axes": null}, "registered_name": null}, "pointwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "depthwise_regularizer": null, "pointwise_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.001, "l2": 0.0}, "registered_name": null}, "bias_regularizer": null, "activity_regularizer": null, "depthwise_constraint": null, "pointwise_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 20, 4]}}"#,
    r#"{"module": "keras.layers", "class_name": "DepthwiseConv1D", "config": {"name": "depthwise", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "depth_multiplier": 1, "kernel_size": [2], "strides": [2], "padding": "same", "data_format": "channels_last", "dilation_rate": [1], "activation": "tanh", "use_bias": true, "depthwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Constant", "config": {"value": 0.1}, "registered_name": null}, "depthwise_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "depthwise_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 16, 5]}}"#,
];

/// The layers of `image_2d()`, as keras 3.15.1 writes them
/// (`tools/golden/make_golden_layer_configs_image.py`).
const KERAS_IMAGE_2D: &[&str] = &[
    r#"{"module": "keras.layers", "class_name": "Resizing", "config": {"name": "resize", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "height": 8, "width": 10, "interpolation": "nearest", "crop_to_aspect_ratio": false, "pad_to_aspect_ratio": true, "fill_mode": "constant", "fill_value": 0.5, "antialias": false}, "registered_name": null, "build_config": {"input_shape": [null, 9, 11, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "CenterCrop", "config": {"name": "crop", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "height": 6, "width": 7}, "registered_name": null, "build_config": {"input_shape": [null, 8, 10, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "UpSampling2D", "config": {"name": "up", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "size": [2, 1], "data_format": "channels_last", "interpolation": "bilinear"}, "registered_name": null, "build_config": {"input_shape": [null, 6, 7, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "RandomFlip", "config": {"name": "flip", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "seed": 3, "mode": "horizontal"}, "registered_name": null, "build_config": {"input_shape": [null, 12, 7, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "RandomRotation", "config": {"name": "rotate", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "factor": [-0.2, 0.3], "fill_mode": "constant", "fill_value": 1.5, "interpolation": "nearest", "seed": 4}, "registered_name": null, "build_config": {"input_shape": [null, 12, 7, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "RandomTranslation", "config": {"name": "translate", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "height_factor": [-0.1, 0.2], "width_factor": [0.0, 0.25], "fill_mode": "wrap", "interpolation": "bilinear", "seed": null, "fill_value": 0.0}, "registered_name": null, "build_config": {"input_shape": [null, 12, 7, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "RandomZoom", "config": {"name": "zoom", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "height_factor": [-0.5, 0.25], "width_factor": null, "fill_mode": "nearest", "interpolation": "bilinear", "seed": 6, "fill_value": 0.0}, "registered_name": null, "build_config": {"input_shape": [null, 12, 7, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "RandomContrast", "config": {"name": "contrast", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "data_format": "channels_last", "factor": [0.1, 0.4], "value_range": [0, 1], "seed": 7}, "registered_name": null, "build_config": {"input_shape": [null, 12, 7, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "Conv2DTranspose", "config": {"name": "deconv", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "filters": 3, "kernel_size": [2, 3], "strides": [1, 1], "padding": "valid", "output_padding": null, "data_format": "channels_last", "dilation_rate": [2, 1], "activation": "linear", "use_bias": false, "kernel_initializer": {"module": "keras.initializers", "class_name": "RandomNormal", "config": {"seed": 4, "mean": 0.0, "stddev": 0.1}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "kernel_regularizer": null, "bias_regularizer": null, "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 12, 7, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "SeparableConv2D", "config": {"name": "separable", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "depth_multiplier": 1, "filters": 4, "kernel_size": [2, 2], "strides": [1, 2], "padding": "same", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "sigmoid", "use_bias": true, "depthwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "pointwise_initializer": {"module": "keras.initializers", "class_name": "LecunUniform", "config": {"seed": 2, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "depthwise_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.02}, "registered_name": null}, "pointwise_regularizer": null, "bias_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.01, "l2": 0.0}, "registered_name": null}, "activity_regularizer": null, "depthwise_constraint": null, "pointwise_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 14, 9, 3]}}"#,
    r#"{"module": "keras.layers", "class_name": "DepthwiseConv2D", "config": {"name": "depthwise", "trainable": true, "dtype": {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": null}, "activity_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.001, "l2": 0.0}, "registered_name": null}, "depth_multiplier": 3, "kernel_size": [3, 2], "strides": [1, 1], "padding": "valid", "data_format": "channels_last", "dilation_rate": [1, 1], "activation": "linear", "use_bias": true, "depthwise_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform", "config": {"seed": null, "input_axes": null, "output_axes": null}, "registered_name": null}, "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {}, "registered_name": null}, "depthwise_regularizer": {"module": "keras.regularizers", "class_name": "L1L2", "config": {"l1": 0.0, "l2": 0.03}, "registered_name": null}, "bias_regularizer": null, "depthwise_constraint": null, "bias_constraint": null}, "registered_name": null, "build_config": {"input_shape": [null, 14, 5, 4]}}"#,
];

fn activation(name: &str) -> Activation {
    Activation::from_name(name).expect("activation")
}

fn regularizer(l1: f32, l2: f32) -> Regularizer {
    Regularizer { l1, l2 }
}

/// Returns a convolution of keras's defaults (valid padding, strides and
/// dilation 1, one group, linear, with bias) and `filters` kernels of
/// `kernel_size`.
fn conv(filters: usize, kernel_size: &[usize]) -> ConvConfig {
    let rank = kernel_size.len();
    ConvConfig {
        rank,
        filters,
        kernel_size: kernel_size.to_vec(),
        strides: vec![1; rank],
        padding: Padding::Valid,
        dilation_rate: vec![1; rank],
        groups: 1,
        activation: Activation::Linear,
        use_bias: true,
    }
}

fn pool(kind: PoolKind, pool_size: &[usize], strides: &[usize], padding: Padding) -> PoolConfig {
    PoolConfig {
        kind,
        rank: pool_size.len(),
        pool_size: pool_size.to_vec(),
        strides: strides.to_vec(),
        padding,
    }
}

const GLOROT: (Initializer, Option<u64>) = (Initializer::GlorotUniform, None);
const ZEROS: (Initializer, Option<u64>) = (Initializer::Zeros, None);

fn conv_1d() -> Model {
    let mut m = Model::new("conv_1d", vec![20, 3], 1).unwrap();

    let causal = ConvConfig {
        padding: Padding::Causal,
        dilation_rate: vec![2],
        activation: activation("tanh"),
        ..conv(4, &[3])
    };
    let constant = (Initializer::Constant { value: 0.1 }, None);
    add_conv(&mut m, "conv", &causal, &GLOROT, &constant).unwrap();

    let max = pool(PoolKind::Max, &[2], &[2], Padding::Valid);
    add_pool(&mut m, "max_pool", &max).unwrap();
    let avg = pool(PoolKind::Average, &[3], &[1], Padding::Same);
    add_pool(&mut m, "avg_pool", &avg).unwrap();

    add_spatial(&mut m, "pad", SpatialKind::ZeroPadding, &[(1, 2)]).unwrap();
    add_spatial(&mut m, "crop", SpatialKind::Cropping, &[(0, 1)]).unwrap();
    add_spatial(&mut m, "up", SpatialKind::UpSampling, &[(3, 3)]).unwrap();
    add_spatial_dropout(&mut m, "drop", 1, 0.1, None).unwrap();

    let strided = ConvConfig {
        strides: vec![2],
        use_bias: false,
        ..conv(2, &[2])
    };
    let lecun = (Initializer::LecunUniform, Some(9));
    add_conv(&mut m, "conv_strided", &strided, &lecun, &ZEROS).unwrap();

    add_global_pool(&mut m, "global_avg", PoolKind::Average, 1, false).unwrap();
    m
}

fn conv_2d() -> Model {
    let mut m = Model::new("conv_2d", vec![12, 12, 3], 1).unwrap();
    add_rescaling(&mut m, "rescale", 1.0 / 255.0, -0.5).unwrap();

    let same = ConvConfig {
        padding: Padding::Same,
        activation: Activation::RELU,
        ..conv(4, &[3, 3])
    };
    add_conv(
        &mut m,
        "conv",
        &same,
        &(Initializer::HeNormal, Some(3)),
        &ZEROS,
    )
    .unwrap();
    let kernel_penalty = regularizer(0.0, 0.01);
    m.set_weight_regularizer("conv", "kernel", kernel_penalty)
        .unwrap();
    m.set_activity_regularizer("conv", regularizer(0.001, 0.0))
        .unwrap();

    let norm = BatchNormConfig {
        momentum: 0.9,
        epsilon: 0.001,
        center: true,
        scale: true,
    };
    add_batch_norm(&mut m, "norm", &norm, &default_batch_norm_initializers()).unwrap();
    m.set_weight_regularizer("norm", "gamma", regularizer(0.0, 0.02))
        .unwrap();

    let max = pool(PoolKind::Max, &[2, 2], &[2, 2], Padding::Valid);
    add_pool(&mut m, "max_pool", &max).unwrap();
    let avg = pool(PoolKind::Average, &[2, 1], &[1, 1], Padding::Same);
    add_pool(&mut m, "avg_pool", &avg).unwrap();

    add_spatial(&mut m, "pad", SpatialKind::ZeroPadding, &[(1, 2), (0, 1)]).unwrap();
    add_spatial(&mut m, "crop", SpatialKind::Cropping, &[(1, 0), (0, 1)]).unwrap();
    add_spatial(&mut m, "up", SpatialKind::UpSampling, &[(2, 2), (3, 3)]).unwrap();
    add_spatial_dropout(&mut m, "drop", 2, 0.2, Some(5)).unwrap();

    let grouped = ConvConfig {
        dilation_rate: vec![2, 1],
        groups: 2,
        use_bias: false,
        ..conv(8, &[2, 3])
    };
    let normal = Initializer::RandomNormal {
        mean: 0.0,
        stddev: 0.1,
    };
    add_conv(&mut m, "conv_grouped", &grouped, &(normal, Some(4)), &ZEROS).unwrap();

    add_global_pool(&mut m, "global_max", PoolKind::Max, 2, true).unwrap();
    m
}

fn conv_3d() -> Model {
    let mut m = Model::new("conv_3d", vec![6, 8, 8, 2], 1).unwrap();

    let grouped = ConvConfig {
        strides: vec![1, 2, 1],
        groups: 2,
        ..conv(4, &[1, 2, 3])
    };
    add_conv(&mut m, "conv", &grouped, &GLOROT, &ZEROS).unwrap();
    m.set_weight_regularizer("conv", "bias", regularizer(0.001, 0.0))
        .unwrap();

    let max = pool(PoolKind::Max, &[2, 2, 2], &[2, 2, 2], Padding::Valid);
    add_pool(&mut m, "max_pool", &max).unwrap();
    let avg = pool(PoolKind::Average, &[1, 1, 1], &[1, 1, 1], Padding::Valid);
    add_pool(&mut m, "avg_pool", &avg).unwrap();

    let crop = [(1, 0), (0, 0), (0, 1)];
    add_spatial(&mut m, "pad", SpatialKind::ZeroPadding, &[(1, 1); 3]).unwrap();
    add_spatial(&mut m, "crop", SpatialKind::Cropping, &crop).unwrap();
    add_spatial(&mut m, "up", SpatialKind::UpSampling, &[(2, 2); 3]).unwrap();
    add_spatial_dropout(&mut m, "drop", 3, 0.3, None).unwrap();

    let norm = BatchNormConfig {
        momentum: 0.99,
        epsilon: 1e-5,
        center: false,
        scale: true,
    };
    let initializers = BatchNormInitializers {
        moving_variance: (Initializer::Constant { value: 2.0 }, None),
        ..default_batch_norm_initializers()
    };
    add_batch_norm(&mut m, "norm", &norm, &initializers).unwrap();

    add_global_pool(&mut m, "global_max", PoolKind::Max, 3, false).unwrap();
    m
}

/// Returns a depthwise step of keras's defaults (valid padding, strides and
/// dilation 1, depth multiplier 1, linear, with bias) and `kernel_size`.
fn depthwise(kernel_size: &[usize]) -> DepthwiseConfig {
    let rank = kernel_size.len();
    DepthwiseConfig {
        rank,
        kernel_size: kernel_size.to_vec(),
        strides: vec![1; rank],
        padding: Padding::Valid,
        dilation_rate: vec![1; rank],
        depth_multiplier: 1,
        activation: Activation::Linear,
        use_bias: true,
    }
}

fn image_1d() -> Model {
    let mut m = Model::new("image_1d", vec![10, 3], 1).unwrap();

    let transpose = ConvTransposeConfig {
        rank: 1,
        filters: 4,
        kernel_size: vec![3],
        strides: vec![2],
        padding: Padding::Same,
        output_padding: Some(vec![1]),
        dilation_rate: vec![1],
        activation: Activation::RELU,
        use_bias: true,
    };
    add_conv_transpose(&mut m, "deconv", &transpose, &GLOROT, &ZEROS).unwrap();
    m.set_weight_regularizer("deconv", "kernel", regularizer(0.0, 0.01))
        .unwrap();

    let separable = SeparableConfig {
        depthwise: DepthwiseConfig {
            dilation_rate: vec![2],
            depth_multiplier: 2,
            use_bias: false,
            ..depthwise(&[3])
        },
        filters: 5,
    };
    let he = (Initializer::HeNormal, Some(1));
    add_separable_conv(&mut m, "separable", &separable, &[he, GLOROT, ZEROS]).unwrap();
    m.set_weight_regularizer("separable", "pointwise_kernel", regularizer(0.001, 0.0))
        .unwrap();

    let strided = DepthwiseConfig {
        strides: vec![2],
        padding: Padding::Same,
        activation: activation("tanh"),
        ..depthwise(&[2])
    };
    let constant = (Initializer::Constant { value: 0.1 }, None);
    add_depthwise_conv(&mut m, "depthwise", &strided, &GLOROT, &constant).unwrap();
    m
}

fn image_2d() -> Model {
    let mut m = Model::new("image_2d", vec![9, 11, 3], 1).unwrap();

    let resize = ResizeConfig {
        height: 8,
        width: 10,
        interpolation: Interpolation::Nearest,
        aspect: AspectRatio::Pad,
        fill_value: 0.5,
    };
    add_resizing(&mut m, "resize", &resize).unwrap();
    add_center_crop(&mut m, "crop", 6, 7).unwrap();
    add_upsampling_bilinear(&mut m, "up", [2, 1]).unwrap();

    add_random_flip(&mut m, "flip", FlipMode::Horizontal, Some(3)).unwrap();
    let constant = Sampling {
        fill_mode: FillMode::Constant,
        interpolation: Interpolation::Nearest,
        fill_value: 1.5,
    };
    let rotation = AffineKind::Rotation {
        factor: (-0.2, 0.3),
    };
    add_random_affine(&mut m, "rotate", rotation, constant, Some(4)).unwrap();
    let translation = AffineKind::Translation {
        height: (-0.1, 0.2),
        width: (0.0, 0.25),
    };
    let wrap = Sampling {
        fill_mode: FillMode::Wrap,
        interpolation: Interpolation::Bilinear,
        fill_value: 0.0,
    };
    add_random_affine(&mut m, "translate", translation, wrap, None).unwrap();
    let zoom = AffineKind::Zoom {
        height: (-0.5, 0.25),
        width: None,
    };
    let nearest = Sampling {
        fill_mode: FillMode::Nearest,
        ..wrap
    };
    add_random_affine(&mut m, "zoom", zoom, nearest, Some(6)).unwrap();
    add_random_contrast(&mut m, "contrast", (0.1, 0.4), (0.0, 1.0), Some(7)).unwrap();

    let dilated = ConvTransposeConfig {
        rank: 2,
        filters: 3,
        kernel_size: vec![2, 3],
        strides: vec![1, 1],
        padding: Padding::Valid,
        output_padding: None,
        dilation_rate: vec![2, 1],
        activation: Activation::Linear,
        use_bias: false,
    };
    let normal = Initializer::RandomNormal {
        mean: 0.0,
        stddev: 0.1,
    };
    add_conv_transpose(&mut m, "deconv", &dilated, &(normal, Some(4)), &ZEROS).unwrap();

    let separable = SeparableConfig {
        depthwise: DepthwiseConfig {
            strides: vec![1, 2],
            padding: Padding::Same,
            activation: activation("sigmoid"),
            ..depthwise(&[2, 2])
        },
        filters: 4,
    };
    let lecun = (Initializer::LecunUniform, Some(2));
    add_separable_conv(&mut m, "separable", &separable, &[GLOROT, lecun, ZEROS]).unwrap();
    m.set_weight_regularizer("separable", "depthwise_kernel", regularizer(0.0, 0.02))
        .unwrap();
    m.set_weight_regularizer("separable", "bias", regularizer(0.01, 0.0))
        .unwrap();

    let multiplied = DepthwiseConfig {
        depth_multiplier: 3,
        ..depthwise(&[3, 2])
    };
    add_depthwise_conv(&mut m, "depthwise", &multiplied, &GLOROT, &ZEROS).unwrap();
    m.set_weight_regularizer("depthwise", "kernel", regularizer(0.0, 0.03))
        .unwrap();
    m.set_activity_regularizer("depthwise", regularizer(0.001, 0.0))
        .unwrap();
    m
}

fn default_batch_norm_initializers() -> BatchNormInitializers {
    BatchNormInitializers {
        gamma: (Initializer::Ones, None),
        beta: (Initializer::Zeros, None),
        moving_mean: (Initializer::Zeros, None),
        moving_variance: (Initializer::Ones, None),
    }
}

/// A model builder and the layers keras writes for the same model.
type Case = (fn() -> Model, &'static [&'static str]);

fn cases() -> [Case; 5] {
    [
        (conv_1d as fn() -> Model, KERAS_CONV_1D),
        (conv_2d, KERAS_CONV_2D),
        (conv_3d, KERAS_CONV_3D),
        (image_1d, KERAS_IMAGE_1D),
        (image_2d, KERAS_IMAGE_2D),
    ]
}

/// Removes the initializer keys `input_axes` and `output_axes`, which keras
/// 3.15.1 writes as null (their default) and kerust leaves out, as it does
/// for Dense.
fn without_initializer_axes(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("module").and_then(Value::as_str) == Some("keras.initializers") {
                if let Some(Value::Object(config)) = map.get_mut("config") {
                    config.remove("input_axes");
                    config.remove("output_axes");
                }
            }
            map.values_mut().for_each(without_initializer_axes);
        }
        Value::Array(items) => items.iter_mut().for_each(without_initializer_axes),
        _ => {}
    }
}

fn keras_layers(expected: &[&str]) -> Vec<Value> {
    expected
        .iter()
        .map(|text| {
            let mut value: Value = serde_json::from_str(text).expect("keras JSON");
            without_initializer_axes(&mut value);
            value
        })
        .collect()
}

fn written_layers(model: &Model) -> Vec<Value> {
    let config = model_config(model, false).expect("config");
    config["config"]["layers"].as_array().unwrap()[1..].to_vec()
}

/// Returns a Sequential config of `model`'s input with `layers`.
fn sequential(model: &Model, layers: Vec<Value>) -> Value {
    let mut config = model_config(model, false).expect("config");
    let list = config["config"]["layers"].as_array_mut().unwrap();
    list.truncate(1);
    list.extend(layers);
    config
}

#[test]
fn layer_configs_match_keras() {
    for (build, expected) in cases() {
        let model = build();
        let written = written_layers(&model);
        let keras = keras_layers(expected);
        assert_eq!(written.len(), keras.len(), "{}", model.name);
        for (ours, theirs) in written.iter().zip(&keras) {
            assert_eq!(
                ours, theirs,
                "{}: kerust wrote\n{ours}\nkeras wrote\n{theirs}",
                model.name
            );
        }
    }
}

#[test]
fn keras_configs_read_into_same_layers() {
    for (build, expected) in cases() {
        let model = build();
        let config = sequential(&model, keras_layers(expected));
        let read = model_from_config(&config, false).expect("read keras config");
        assert_eq!(read.layers().len(), model.layers().len());
        for (index, (a, b)) in read.layers().iter().zip(model.layers()).enumerate() {
            assert_eq!(a.name(), b.name());
            assert_eq!(a.spec(), b.spec(), "{}: layer {}", model.name, b.name());
            assert_eq!(a.output_shape(), b.output_shape());
            for p in 0..b.params().len() {
                assert_eq!(
                    read.weight_regularizer(index, p),
                    model.weight_regularizer(index, p)
                );
            }
            assert_eq!(
                read.activity_regularizer(index),
                model.activity_regularizer(index)
            );
        }
        // Written again, the config is the same.
        assert_eq!(
            model_config(&read, false).unwrap(),
            model_config(&model, false).unwrap()
        );
    }
}

#[test]
fn rescaling_keeps_double_factors() {
    let model = conv_2d();
    let layer = &written_layers(&model)[0];
    assert_eq!(layer["config"]["scale"], json!(1.0 / 255.0));
    assert_eq!(layer["config"]["offset"], json!(-0.5));
}

/// Returns the error of reading `conv_2d()`'s config with `edit` applied to
/// the config of its layer `layer` (1 is the first after the InputLayer).
fn read_error(layer: usize, edit: impl FnOnce(&mut Value)) -> String {
    read_error_of(conv_2d, layer, edit)
}

/// Returns the error of reading `build()`'s config with `edit` applied to
/// the config of its layer `layer`.
fn read_error_of(build: fn() -> Model, layer: usize, edit: impl FnOnce(&mut Value)) -> String {
    let model = build();
    let mut config = model_config(&model, false).unwrap();
    edit(&mut config["config"]["layers"][layer]["config"]);
    match model_from_config(&config, false) {
        Ok(_) => panic!("layer {layer}: the edited config was accepted"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn invalid_layer_configs_name_layer() {
    let prefix = "config.json is invalid: ";
    // (layer index, change of its config, expected error)
    type Edit = Box<dyn FnOnce(&mut Value)>;
    let cases: Vec<(usize, Edit, String)> = vec![
        (
            2,
            Box::new(|c| c["filters"] = json!(-3)),
            format!("{prefix}layer 2 (\"conv\", Conv2D): `filters` must be a positive integer, got -3"),
        ),
        (
            2,
            Box::new(|c| c["padding"] = json!("full")),
            format!("{prefix}layer 2 (\"conv\", Conv2D): `padding` must be \"valid\" or \"same\", got \"full\""),
        ),
        (
            2,
            Box::new(|c| c["padding"] = json!("causal")),
            format!("{prefix}layer 2 (\"conv\", Conv2D): `padding` must be \"valid\" or \"same\", got \"causal\""),
        ),
        (
            2,
            Box::new(|c| c["kernel_size"] = json!([3, 3, 3])),
            format!("{prefix}layer 2 (\"conv\", Conv2D): `kernel_size` must be a positive integer or a list of 2 of them, got [3,3,3]"),
        ),
        (
            2,
            Box::new(|c| c["strides"] = json!([1, 0])),
            format!("{prefix}layer 2 (\"conv\", Conv2D): `strides` must be a positive integer or a list of 2 of them, got [1,0]"),
        ),
        (
            2,
            Box::new(|c| c["groups"] = json!(3)),
            format!("{prefix}layer 2 (\"conv\", Conv2D): layer \"conv\" (Conv2D): `filters` (4) must be divisible by `groups` (3)"),
        ),
        (
            2,
            Box::new(|c| {
                c["kernel_size"] = json!([13, 13]);
                c["padding"] = json!("valid");
            }),
            format!("{prefix}layer 2 (\"conv\", Conv2D): layer \"conv\" (Conv2D): the kernel spans c(13, 13) positions, larger than the input (None, 12, 12, 3) with padding \"valid\", so the output would be empty; use a smaller kernel, or padding = \"same\""),
        ),
        (
            2,
            Box::new(|c| c["data_format"] = json!("channels_first")),
            "layer 2 (\"conv\", Conv2D): data_format \"channels_first\" is not supported; kerust uses channels_last".to_string(),
        ),
        (
            3,
            Box::new(|c| c["axis"] = json!(1)),
            "layer 3 (\"norm\", BatchNormalization): axis 1 is not supported; kerust normalizes the last axis (-1) only".to_string(),
        ),
        (
            3,
            Box::new(|c| c["momentum"] = json!(1.5)),
            format!("{prefix}layer 3 (\"norm\", BatchNormalization): layer \"norm\" (BatchNormalization): `momentum` must be in [0, 1], got 1.5"),
        ),
        (
            3,
            Box::new(|c| c["renorm"] = json!(true)),
            "layer 3 (\"norm\", BatchNormalization): `renorm = true` is not supported by this version of kerust".to_string(),
        ),
        (
            4,
            Box::new(|c| c["pool_size"] = json!("2")),
            format!("{prefix}layer 4 (\"max_pool\", MaxPooling2D): `pool_size` must be a positive integer or a list of 2 of them, got \"2\""),
        ),
        (
            6,
            Box::new(|c| c["padding"] = json!([[1, -2], [0, 1]])),
            format!("{prefix}layer 6 (\"pad\", ZeroPadding2D): `padding` must be a non-negative integer or a list of 2 [before, after] pairs, got [[1,-2],[0,1]]"),
        ),
        (
            7,
            Box::new(|c| c["cropping"] = json!([[5, 5], [0, 1]])),
            format!("{prefix}layer 7 (\"crop\", Cropping2D): layer \"crop\" (Cropping2D): cropping 5 + 5 positions from an axis of size 9 leaves nothing (input (None, 9, 7, 4))"),
        ),
        (
            8,
            Box::new(|c| c["interpolation"] = json!("bicubic")),
            "layer 8 (\"up\", UpSampling2D): interpolation \"bicubic\" is not supported; kerust upsamples with \"nearest\" or, in 2D, \"bilinear\" only".to_string(),
        ),
        (
            9,
            Box::new(|c| c["rate"] = json!(1.5)),
            format!("{prefix}layer 9 (\"drop\", SpatialDropout2D): `rate` must be a number in [0, 1), got 1.5"),
        ),
        (
            1,
            Box::new(|c| c["scale"] = json!("1/255")),
            format!("{prefix}layer 1 (\"rescale\", Rescaling): `scale` must be a number, got \"1/255\""),
        ),
        (
            11,
            Box::new(|c| c["keepdims"] = json!("yes")),
            format!("{prefix}layer 11 (\"global_max\", GlobalMaxPooling2D): `keepdims` must be true or false, got \"yes\""),
        ),
    ];
    for (layer, edit, expected) in cases {
        assert_eq!(read_error(layer, edit), expected);
    }
}

#[test]
fn invalid_image_layer_configs_name_layer() {
    // (model, layer index, change of its config, expected error)
    type Edit = Box<dyn FnOnce(&mut Value)>;
    type ImageCase = (fn() -> Model, usize, Edit, &'static str);
    let cases: Vec<ImageCase> = vec![
        (
            image_1d,
            1,
            Box::new(|c| c["output_padding"] = json!([2])),
            r#"config.json is invalid: layer 1 ("deconv", Conv1DTranspose): layer "deconv" (Conv1DTranspose): `output_padding` must be 1 integers, each smaller than the stride along its axis, got output_padding = 2 and strides = 2"#,
        ),
        (
            image_1d,
            1,
            Box::new(|c| c["output_padding"] = json!("1")),
            r#"config.json is invalid: layer 1 ("deconv", Conv1DTranspose): `output_padding` must be null, a non-negative integer or a list of 1 of them, got "1""#,
        ),
        (
            image_1d,
            1,
            Box::new(|c| c["padding"] = json!("causal")),
            r#"config.json is invalid: layer 1 ("deconv", Conv1DTranspose): `padding` must be "valid" or "same", got "causal""#,
        ),
        (
            image_1d,
            2,
            Box::new(|c| c["depth_multiplier"] = json!(0)),
            r#"config.json is invalid: layer 2 ("separable", SeparableConv1D): `depth_multiplier` must be a positive integer, got 0"#,
        ),
        (
            image_1d,
            2,
            Box::new(|c| c["pointwise_constraint"] = json!("non_neg")),
            r#"layer 2 ("separable", SeparableConv1D): `pointwise_constraint` is not supported by this version of kerust"#,
        ),
        (
            image_1d,
            3,
            Box::new(|c| c["kernel_size"] = json!([2, 2])),
            r#"config.json is invalid: layer 3 ("depthwise", DepthwiseConv1D): `kernel_size` must be a positive integer, got [2,2]"#,
        ),
        (
            image_2d,
            1,
            Box::new(|c| c["interpolation"] = json!("bicubic")),
            r#"config.json is invalid: layer 1 ("resize", Resizing): `interpolation` must be "bilinear" or "nearest", got "bicubic""#,
        ),
        (
            image_2d,
            1,
            Box::new(|c| c["crop_to_aspect_ratio"] = json!(true)),
            r#"layer 1 ("resize", Resizing): only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be true"#,
        ),
        (
            image_2d,
            1,
            Box::new(|c| c["antialias"] = json!(true)),
            r#"layer 1 ("resize", Resizing): `antialias = true` is not supported by this version of kerust"#,
        ),
        (
            image_2d,
            1,
            Box::new(|c| c["fill_mode"] = json!("reflect")),
            r#"config.json is invalid: layer 1 ("resize", Resizing): `fill_mode` must be "constant", got "reflect""#,
        ),
        (
            image_2d,
            2,
            Box::new(|c| c["height"] = json!(0)),
            r#"config.json is invalid: layer 2 ("crop", CenterCrop): `height` must be a positive integer, got 0"#,
        ),
        (
            image_2d,
            4,
            Box::new(|c| c["mode"] = json!("diagonal")),
            r#"config.json is invalid: layer 4 ("flip", RandomFlip): `mode` must be "horizontal", "vertical" or "horizontal_and_vertical", got "diagonal""#,
        ),
        (
            image_2d,
            5,
            Box::new(|c| c["factor"] = json!([-0.2, 1.5])),
            r#"config.json is invalid: layer 5 ("rotate", RandomRotation): `factor` must be a number or a list of two numbers in [-1, 1], got [-0.2,1.5]"#,
        ),
        (
            image_2d,
            5,
            Box::new(|c| c["fill_mode"] = json!("mirror")),
            r#"config.json is invalid: layer 5 ("rotate", RandomRotation): `fill_mode` must be one of "reflect", "wrap", "constant", "nearest", got "mirror""#,
        ),
        (
            image_2d,
            6,
            Box::new(|c| c["width_factor"] = json!("0.1")),
            r#"config.json is invalid: layer 6 ("translate", RandomTranslation): `width_factor` must be a number or a list of two numbers in [-1, 1], got "0.1""#,
        ),
        (
            image_2d,
            7,
            Box::new(|c| c["height_factor"] = json!(-1.0)),
            r#"config.json is invalid: layer 7 ("zoom", RandomZoom): layer "zoom" (RandomZoom): `height_factor` must be in (-1, 1], got (-1, 1)"#,
        ),
        (
            image_2d,
            7,
            Box::new(|c| c["data_format"] = json!("channels_first")),
            r#"layer 7 ("zoom", RandomZoom): data_format "channels_first" is not supported; kerust uses channels_last"#,
        ),
        (
            image_2d,
            8,
            Box::new(|c| c["factor"] = json!([-0.1, 0.4])),
            r#"config.json is invalid: layer 8 ("contrast", RandomContrast): `factor` must be a number or a list of two numbers in [0, 1], got [-0.1,0.4]"#,
        ),
        (
            image_2d,
            8,
            Box::new(|c| c["value_range"] = json!([1, 0])),
            r#"config.json is invalid: layer 8 ("contrast", RandomContrast): layer "contrast" (RandomContrast): `value_range` must be two finite numbers, lower first, got (1, 0)"#,
        ),
        (
            image_2d,
            8,
            Box::new(|c| c["seed"] = json!(-1)),
            r#"config.json is invalid: layer 8 ("contrast", RandomContrast): `seed` must be null or a non-negative integer, got -1"#,
        ),
        (
            image_2d,
            9,
            Box::new(|c| c["strides"] = json!([2, 2])),
            r#"config.json is invalid: layer 9 ("deconv", Conv2DTranspose): layer "deconv" (Conv2DTranspose): `strides` > 1 cannot be combined with `dilation_rate` > 1 (as in keras), got strides = c(2, 2) and dilation_rate = c(2, 1)"#,
        ),
    ];
    for (build, layer, edit, expected) in cases {
        assert_eq!(read_error_of(build, layer, edit), expected);
    }
}

/// Runs `model` on `batch` samples of `x` and returns its output.
fn predict(model: &mut Model, x: &[f32], batch: usize, training: bool) -> Vec<f32> {
    model.ensure_plan(batch, false, 0);
    model.plan_mut().input[..x.len()].copy_from_slice(x);
    let mut rng = StdRng::seed_from_u64(0);
    model.forward(batch, training, &mut rng);
    model.output(batch).to_vec()
}

#[test]
fn saved_models_predict_bitwise_alike() {
    for build in [
        conv_1d as fn() -> Model,
        conv_2d,
        conv_3d,
        image_1d,
        image_2d,
    ] {
        let mut model = build();
        let batch = 3;
        let x: Vec<f32> = (0..batch * model.input_shape().iter().product::<usize>())
            .map(|i| ((i * 37 % 101) as f32 / 50.0 - 1.0) * 100.0)
            .collect();
        // A training pass moves the BatchNormalization statistics and the
        // seeded dropout generators away from their initial state.
        predict(&mut model, &x, batch, true);
        for w in model.weights() {
            if w.name == "moving_mean" {
                assert!(w.value.iter().any(|&v| v != 0.0), "{}", model.name);
            }
        }
        let options = SaveOptions {
            kerust_version: "test",
            include_optimizer: true,
        };
        let bytes = save_model(&model, &options).expect("save");
        let mut loaded = load_model(&bytes, true).expect("load");
        for (a, b) in loaded.weights().iter().zip(model.weights()) {
            assert_eq!(a.name, b.name);
            assert_eq!(a.trainable, b.trainable);
            assert_eq!(a.value, b.value, "{}: weight {}", model.name, b.name);
        }
        let positions: Vec<_> = model.layers().iter().map(|l| l.rng_position()).collect();
        let loaded_positions: Vec<_> = loaded.layers().iter().map(|l| l.rng_position()).collect();
        assert_eq!(loaded_positions, positions);
        if model.name == "conv_2d" || model.name == "image_2d" {
            assert!(positions.iter().any(|p| p.is_some_and(|p| p > 0)));
        }
        let expected = predict(&mut model, &x, batch, false);
        assert_eq!(predict(&mut loaded, &x, batch, false), expected);
        assert_eq!(save_model(&loaded, &options).expect("save again"), bytes);
    }
}
