//! Descriptions of the convolution, pooling, normalization, spatial and
//! preprocessing layers of a loaded model, as the R function that creates
//! each layer and its arguments (see `saving::layer_description`).

use extendr_api::prelude::*;

use engine::layers::pooling::PoolKind;
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
        // `layer_description` describes the other layer types itself and
        // never passes them here.
        _ => (String::new(), vec![]),
    }
}
