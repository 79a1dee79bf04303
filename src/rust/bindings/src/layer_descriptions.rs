//! Descriptions of the convolution, pooling, normalization, spatial,
//! preprocessing and image augmentation layers of a loaded model, as the R
//! function that creates each layer and its arguments (see
//! `saving::layer_description`).

use extendr_api::prelude::*;

use engine::layers::affine::{AffineKind, Range, Sampling};
use engine::layers::depthwise::DepthwiseConfig;
use engine::layers::pooling::PoolKind;
use engine::layers::resize::AspectRatio;
use engine::layers::spatial::SpatialKind;
use engine::layers::LayerSpec;
use engine::model::Model;

use crate::saving::{initializer_description, regularizer_description, seed_robj, short};

fn sizes_robj(values: &[usize]) -> Robj {
    values
        .iter()
        .map(|&v| v as f64)
        .collect::<Vec<f64>>()
        .into()
}

/// Returns the word for `kind` in the pooling layer functions' names.
fn pool_kind_name(kind: PoolKind) -> &'static str {
    match kind {
        PoolKind::Max => "max",
        PoolKind::Average => "average",
    }
}

/// Returns the regularizer of the weight named `weight` of layer `index`.
fn named_weight_regularizer(m: &Model, index: usize, weight: &str) -> Robj {
    let position = m.layers()[index]
        .params()
        .iter()
        .position(|p| p.name == weight);
    regularizer_description(position.and_then(|p| m.weight_regularizer(index, p)))
}

/// Describes a convolution, pooling, normalization, spatial or
/// preprocessing layer (the layers of `conv.rs`) as its R function and
/// arguments.
pub(crate) fn conv_layer_description<'a>(
    m: &Model,
    index: usize,
    spec: &'a LayerSpec,
) -> (String, Vec<(&'a str, Robj)>) {
    match spec {
        LayerSpec::Conv {
            config,
            kernel_initializer,
            bias_initializer,
        } => (
            format!("conv_{}d", config.rank),
            vec![
                ("filters", (config.filters as f64).into()),
                ("kernel_size", sizes_robj(&config.kernel_size)),
                ("strides", sizes_robj(&config.strides)),
                ("padding", config.padding.name().into()),
                ("dilation_rate", sizes_robj(&config.dilation_rate)),
                ("groups", (config.groups as f64).into()),
                ("activation", config.activation.name().into()),
                ("use_bias", config.use_bias.into()),
                (
                    "kernel_initializer",
                    initializer_description(kernel_initializer),
                ),
                (
                    "bias_initializer",
                    initializer_description(bias_initializer),
                ),
                (
                    "kernel_regularizer",
                    named_weight_regularizer(m, index, "kernel"),
                ),
                (
                    "bias_regularizer",
                    named_weight_regularizer(m, index, "bias"),
                ),
            ],
        ),
        LayerSpec::Pooling(config) => (
            format!("{}_pooling_{}d", pool_kind_name(config.kind), config.rank),
            vec![
                ("pool_size", sizes_robj(&config.pool_size)),
                ("strides", sizes_robj(&config.strides)),
                ("padding", config.padding.name().into()),
            ],
        ),
        LayerSpec::GlobalPooling {
            kind,
            rank,
            keepdims,
        } => (
            format!("global_{}_pooling_{rank}d", pool_kind_name(*kind)),
            vec![("keepdims", (*keepdims).into())],
        ),
        LayerSpec::BatchNormalization {
            config,
            gamma_initializer,
            beta_initializer,
            moving_mean_initializer,
            moving_variance_initializer,
        } => (
            "batch_normalization".into(),
            vec![
                ("momentum", short(config.momentum).into()),
                ("epsilon", short(config.epsilon).into()),
                ("center", config.center.into()),
                ("scale", config.scale.into()),
                (
                    "beta_initializer",
                    initializer_description(beta_initializer),
                ),
                (
                    "gamma_initializer",
                    initializer_description(gamma_initializer),
                ),
                (
                    "moving_mean_initializer",
                    initializer_description(moving_mean_initializer),
                ),
                (
                    "moving_variance_initializer",
                    initializer_description(moving_variance_initializer),
                ),
                (
                    "beta_regularizer",
                    named_weight_regularizer(m, index, "beta"),
                ),
                (
                    "gamma_regularizer",
                    named_weight_regularizer(m, index, "gamma"),
                ),
            ],
        ),
        LayerSpec::Spatial { kind, amounts } => {
            let rank = amounts.len();
            let pairs = || -> Robj {
                List::from_values(
                    amounts
                        .iter()
                        .map(|&(before, after)| vec![before as f64, after as f64]),
                )
                .into()
            };
            match kind {
                SpatialKind::ZeroPadding => {
                    (format!("zero_padding_{rank}d"), vec![("padding", pairs())])
                }
                SpatialKind::Cropping => (format!("cropping_{rank}d"), vec![("cropping", pairs())]),
                SpatialKind::UpSampling => {
                    let sizes: Vec<usize> = amounts.iter().map(|&(size, _)| size).collect();
                    (
                        format!("upsampling_{rank}d"),
                        vec![("size", sizes_robj(&sizes))],
                    )
                }
            }
        }
        LayerSpec::SpatialDropout { rank, rate, seed } => (
            format!("spatial_dropout_{rank}d"),
            vec![("rate", short(*rate).into()), ("seed", seed_robj(*seed))],
        ),
        LayerSpec::Rescaling { scale, offset } => (
            "rescaling".into(),
            vec![("scale", (*scale).into()), ("offset", (*offset).into())],
        ),
        other => image_layer_description(m, index, other),
    }
}

fn range_robj(range: Range) -> Robj {
    vec![short(range.0), short(range.1)].into()
}

/// Returns the arguments that the depthwise and separable layer functions
/// share, in their order.
fn depthwise_args(config: &DepthwiseConfig) -> Vec<(&'static str, Robj)> {
    vec![
        ("kernel_size", sizes_robj(&config.kernel_size)),
        ("strides", sizes_robj(&config.strides)),
        ("padding", config.padding.name().into()),
        ("depth_multiplier", (config.depth_multiplier as f64).into()),
        ("dilation_rate", sizes_robj(&config.dilation_rate)),
        ("activation", config.activation.name().into()),
        ("use_bias", config.use_bias.into()),
    ]
}

/// Returns the arguments that the random rotation, translation and zoom
/// layer functions share.
fn sampling_args(sampling: &Sampling, seed: Option<u64>) -> Vec<(&'static str, Robj)> {
    vec![
        ("fill_mode", sampling.fill_mode.name().into()),
        ("interpolation", sampling.interpolation.name().into()),
        ("seed", seed_robj(seed)),
        ("fill_value", short(sampling.fill_value).into()),
    ]
}

/// Describes a transposed, separable or depthwise convolution, or an image
/// resizing or augmentation layer, as its R function and arguments.
fn image_layer_description<'a>(
    m: &Model,
    index: usize,
    spec: &'a LayerSpec,
) -> (String, Vec<(&'a str, Robj)>) {
    let regularizer = |weight: &str| named_weight_regularizer(m, index, weight);
    match spec {
        LayerSpec::ConvTranspose {
            config,
            kernel_initializer,
            bias_initializer,
        } => (
            format!("conv_{}d_transpose", config.rank),
            vec![
                ("filters", (config.filters as f64).into()),
                ("kernel_size", sizes_robj(&config.kernel_size)),
                ("strides", sizes_robj(&config.strides)),
                ("padding", config.padding.name().into()),
                (
                    "output_padding",
                    config
                        .output_padding
                        .as_deref()
                        .map_or_else(|| ().into(), sizes_robj),
                ),
                ("dilation_rate", sizes_robj(&config.dilation_rate)),
                ("activation", config.activation.name().into()),
                ("use_bias", config.use_bias.into()),
                (
                    "kernel_initializer",
                    initializer_description(kernel_initializer),
                ),
                (
                    "bias_initializer",
                    initializer_description(bias_initializer),
                ),
                ("kernel_regularizer", regularizer("kernel")),
                ("bias_regularizer", regularizer("bias")),
            ],
        ),
        LayerSpec::DepthwiseConv {
            config,
            depthwise_initializer,
            bias_initializer,
        } => {
            let mut args = depthwise_args(config);
            args.extend([
                (
                    "depthwise_initializer",
                    initializer_description(depthwise_initializer),
                ),
                (
                    "bias_initializer",
                    initializer_description(bias_initializer),
                ),
                ("depthwise_regularizer", regularizer("kernel")),
                ("bias_regularizer", regularizer("bias")),
            ]);
            (format!("depthwise_conv_{}d", config.rank), args)
        }
        LayerSpec::SeparableConv {
            config,
            depthwise_initializer,
            pointwise_initializer,
            bias_initializer,
        } => {
            let mut args = vec![("filters", (config.filters as f64).into())];
            args.extend(depthwise_args(&config.depthwise));
            args.extend([
                (
                    "depthwise_initializer",
                    initializer_description(depthwise_initializer),
                ),
                (
                    "pointwise_initializer",
                    initializer_description(pointwise_initializer),
                ),
                (
                    "bias_initializer",
                    initializer_description(bias_initializer),
                ),
                ("depthwise_regularizer", regularizer("depthwise_kernel")),
                ("pointwise_regularizer", regularizer("pointwise_kernel")),
                ("bias_regularizer", regularizer("bias")),
            ]);
            (format!("separable_conv_{}d", config.depthwise.rank), args)
        }
        LayerSpec::Resizing(config) => (
            "resizing".into(),
            vec![
                ("height", (config.height as f64).into()),
                ("width", (config.width as f64).into()),
                ("interpolation", config.interpolation.name().into()),
                (
                    "crop_to_aspect_ratio",
                    (config.aspect == AspectRatio::Crop).into(),
                ),
                (
                    "pad_to_aspect_ratio",
                    (config.aspect == AspectRatio::Pad).into(),
                ),
                ("fill_value", short(config.fill_value).into()),
            ],
        ),
        LayerSpec::CenterCrop { height, width } => (
            "center_crop".into(),
            vec![
                ("height", (*height as f64).into()),
                ("width", (*width as f64).into()),
            ],
        ),
        LayerSpec::BilinearUpSampling { size } => (
            "upsampling_2d".into(),
            vec![
                ("size", sizes_robj(size)),
                ("interpolation", "bilinear".into()),
            ],
        ),
        LayerSpec::RandomFlip { mode, seed } => (
            "random_flip".into(),
            vec![("mode", mode.name().into()), ("seed", seed_robj(*seed))],
        ),
        LayerSpec::RandomAffine {
            kind,
            sampling,
            seed,
        } => {
            let (function, mut args): (&str, Vec<(&str, Robj)>) = match *kind {
                AffineKind::Rotation { factor } => {
                    ("random_rotation", vec![("factor", range_robj(factor))])
                }
                AffineKind::Translation { height, width } => (
                    "random_translation",
                    vec![
                        ("height_factor", range_robj(height)),
                        ("width_factor", range_robj(width)),
                    ],
                ),
                AffineKind::Zoom { height, width } => (
                    "random_zoom",
                    vec![
                        ("height_factor", range_robj(height)),
                        ("width_factor", width.map_or_else(|| ().into(), range_robj)),
                    ],
                ),
            };
            args.extend(sampling_args(sampling, *seed));
            (function.into(), args)
        }
        LayerSpec::RandomContrast {
            factor,
            value_range,
            seed,
        } => (
            "random_contrast".into(),
            vec![
                ("factor", range_robj(*factor)),
                ("value_range", range_robj(*value_range)),
                ("seed", seed_robj(*seed)),
            ],
        ),
        // `layer_description` describes the other layer types itself and
        // never passes them here.
        _ => (String::new(), vec![]),
    }
}
