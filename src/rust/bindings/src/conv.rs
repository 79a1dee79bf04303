//! Bindings of the convolutional, pooling, normalization and image
//! preprocessing layers. The R side checks the arguments; these functions
//! convert them and leave the remaining checks (shapes) to the engine.

use extendr_api::prelude::*;
use extendr_api::Result;

use engine::layers::batch_norm::{add_batch_norm, BatchNormConfig, BatchNormInitializers};
use engine::layers::conv::{add_conv, ConvConfig};
use engine::layers::conv_transpose::{add_conv_transpose, ConvTransposeConfig};
use engine::layers::depthwise::{add_depthwise_conv, DepthwiseConfig};
use engine::layers::pooling::{add_global_pool, add_pool, PoolConfig, PoolKind};
use engine::layers::rescaling::add_rescaling;
use engine::layers::separable::{add_separable_conv, SeparableConfig};
use engine::layers::spatial::{add_spatial, SpatialKind};
use engine::layers::spatial_dropout::add_spatial_dropout;
use engine::layers::window::{per_axis, Padding};

use crate::errors::{engine_err, guard, r_error};
use crate::{activation_of, initializer_of, seed_of, with_model};

/// Converts R doubles to sizes; negative and non-finite values become 0,
/// which the engine rejects with a message naming the argument.
fn sizes(values: &[f64]) -> Vec<usize> {
    values
        .iter()
        .map(|&v| {
            if v.is_finite() && v > 0.0 {
                v as usize
            } else {
                0
            }
        })
        .collect()
}

/// Parses a per-axis argument (`kernel_size`, `strides`, ...) of layer
/// `name` with `rank` spatial axes.
fn axes_of(values: &[f64], rank: usize, what: &str, name: &str) -> Result<Vec<usize>> {
    per_axis(&sizes(values), rank, what, name).map_err(engine_err)
}

fn pool_kind(kind: &str) -> Result<PoolKind> {
    match kind {
        "max" => Ok(PoolKind::Max),
        "average" => Ok(PoolKind::Average),
        other => Err(r_error(&format!(
            "unknown pooling \"{other}\"; expected \"max\" or \"average\""
        ))),
    }
}

/// Appends a Conv1D, Conv2D or Conv3D layer (`rank` spatial axes).
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_add_conv(
    model: Robj,
    name: &str,
    rank: i32,
    filters: f64,
    kernel_size: Vec<f64>,
    strides: Vec<f64>,
    padding: &str,
    dilation_rate: Vec<f64>,
    groups: f64,
    activation: &str,
    activation_params: Robj,
    use_bias: bool,
    kernel_init: &str,
    kernel_params: Robj,
    bias_init: &str,
    bias_params: Robj,
) -> Result<()> {
    guard(|| {
        let rank = rank.max(0) as usize;
        let config = ConvConfig {
            rank,
            filters: sizes(&[filters])[0],
            kernel_size: per_axis(&sizes(&kernel_size), rank, "kernel_size", name)
                .map_err(engine_err)?,
            strides: per_axis(&sizes(&strides), rank, "strides", name).map_err(engine_err)?,
            padding: Padding::from_name(padding, rank == 1).map_err(engine_err)?,
            dilation_rate: per_axis(&sizes(&dilation_rate), rank, "dilation_rate", name)
                .map_err(engine_err)?,
            groups: sizes(&[groups])[0],
            activation: activation_of(activation, &activation_params)?,
            use_bias,
        };
        let kernel = initializer_of(kernel_init, &kernel_params)?;
        let bias = initializer_of(bias_init, &bias_params)?;
        with_model(&model, |m| {
            add_conv(m, name, &config, &kernel, &bias).map_err(engine_err)
        })
    })
}

/// Appends a Conv1DTranspose or Conv2DTranspose layer (`rank` spatial
/// axes). An empty `output_padding` lets keras's rule choose the output
/// size.
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_add_conv_transpose(
    model: Robj,
    name: &str,
    rank: i32,
    filters: f64,
    kernel_size: Vec<f64>,
    strides: Vec<f64>,
    padding: &str,
    output_padding: Vec<f64>,
    dilation_rate: Vec<f64>,
    activation: &str,
    activation_params: Robj,
    use_bias: bool,
    kernel_init: &str,
    kernel_params: Robj,
    bias_init: &str,
    bias_params: Robj,
) -> Result<()> {
    guard(|| {
        let rank = rank.max(0) as usize;
        let output_padding = if output_padding.is_empty() {
            None
        } else {
            // Zero is a valid output padding, so values are not passed
            // through `sizes`, which maps invalid values to 0.
            let values: Vec<usize> = output_padding
                .iter()
                .map(|&v| v.max(0.0) as usize)
                .collect();
            Some(if values.len() == 1 {
                vec![values[0]; rank]
            } else {
                values
            })
        };
        let config = ConvTransposeConfig {
            rank,
            filters: sizes(&[filters])[0],
            kernel_size: axes_of(&kernel_size, rank, "kernel_size", name)?,
            strides: axes_of(&strides, rank, "strides", name)?,
            padding: Padding::from_name(padding, false).map_err(engine_err)?,
            output_padding,
            dilation_rate: axes_of(&dilation_rate, rank, "dilation_rate", name)?,
            activation: activation_of(activation, &activation_params)?,
            use_bias,
        };
        let kernel = initializer_of(kernel_init, &kernel_params)?;
        let bias = initializer_of(bias_init, &bias_params)?;
        with_model(&model, |m| {
            add_conv_transpose(m, name, &config, &kernel, &bias).map_err(engine_err)
        })
    })
}

/// Appends a depthwise convolution layer when `filters` is 0 (the R side
/// checks that a separable layer's `filters` is positive), else a separable
/// one.
/// `initializers` names the depthwise, pointwise (ignored for a depthwise
/// layer) and bias initializers, with their parameters in
/// `initializer_params`.
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_add_depthwise_conv(
    model: Robj,
    name: &str,
    rank: i32,
    filters: f64,
    kernel_size: Vec<f64>,
    strides: Vec<f64>,
    padding: &str,
    dilation_rate: Vec<f64>,
    depth_multiplier: f64,
    activation: &str,
    activation_params: Robj,
    use_bias: bool,
    initializers: Vec<String>,
    initializer_params: List,
) -> Result<()> {
    guard(|| {
        let rank = rank.max(0) as usize;
        let depthwise = DepthwiseConfig {
            rank,
            kernel_size: axes_of(&kernel_size, rank, "kernel_size", name)?,
            strides: axes_of(&strides, rank, "strides", name)?,
            padding: Padding::from_name(padding, false).map_err(engine_err)?,
            dilation_rate: axes_of(&dilation_rate, rank, "dilation_rate", name)?,
            depth_multiplier: sizes(&[depth_multiplier])[0],
            activation: activation_of(activation, &activation_params)?,
            use_bias,
        };
        let mut inits = Vec::with_capacity(3);
        for (k, init) in initializers.iter().enumerate() {
            let params = initializer_params
                .elt(k)
                .map_err(|_| r_error("three initializer parameter vectors are needed"))?;
            inits.push(initializer_of(init, &params)?);
        }
        let inits: [_; 3] = inits
            .try_into()
            .map_err(|_| r_error("three initializers are needed: depthwise, pointwise and bias"))?;
        let filters = sizes(&[filters])[0];
        with_model(&model, |m| {
            if filters == 0 {
                add_depthwise_conv(m, name, &depthwise, &inits[0], &inits[2]).map_err(engine_err)
            } else {
                let config = SeparableConfig { depthwise, filters };
                add_separable_conv(m, name, &config, &inits).map_err(engine_err)
            }
        })
    })
}

/// Appends a max or average pooling layer (`kind` "max" or "average").
/// @noRd
#[extendr]
fn rs_add_pooling(
    model: Robj,
    name: &str,
    kind: &str,
    rank: i32,
    pool_size: Vec<f64>,
    strides: Vec<f64>,
    padding: &str,
) -> Result<()> {
    guard(|| {
        let rank = rank.max(0) as usize;
        let config = PoolConfig {
            kind: pool_kind(kind)?,
            rank,
            pool_size: per_axis(&sizes(&pool_size), rank, "pool_size", name).map_err(engine_err)?,
            strides: per_axis(&sizes(&strides), rank, "strides", name).map_err(engine_err)?,
            padding: Padding::from_name(padding, false).map_err(engine_err)?,
        };
        with_model(&model, |m| add_pool(m, name, &config).map_err(engine_err))
    })
}

/// Appends a global max or average pooling layer.
/// @noRd
#[extendr]
fn rs_add_global_pooling(
    model: Robj,
    name: &str,
    kind: &str,
    rank: i32,
    keepdims: bool,
) -> Result<()> {
    guard(|| {
        let kind = pool_kind(kind)?;
        with_model(&model, |m| {
            add_global_pool(m, name, kind, rank.max(0) as usize, keepdims).map_err(engine_err)
        })
    })
}

/// Appends a BatchNormalization layer over the last axis.
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_add_batch_normalization(
    model: Robj,
    name: &str,
    momentum: f64,
    epsilon: f64,
    center: bool,
    scale: bool,
    initializers: Vec<String>,
    initializer_params: List,
) -> Result<()> {
    guard(|| {
        let mut inits = Vec::with_capacity(4);
        for (k, init) in initializers.iter().enumerate() {
            let params = initializer_params
                .elt(k)
                .map_err(|_| r_error("four initializer parameter vectors are needed"))?;
            inits.push(initializer_of(init, &params)?);
        }
        let [gamma, beta, moving_mean, moving_variance]: [_; 4] =
            inits.try_into().map_err(|_| {
                r_error("four initializers are needed: gamma, beta, moving mean and variance")
            })?;
        let config = BatchNormConfig {
            momentum: momentum as f32,
            epsilon: epsilon as f32,
            center,
            scale,
        };
        let initializers = BatchNormInitializers {
            gamma,
            beta,
            moving_mean,
            moving_variance,
        };
        with_model(&model, |m| {
            add_batch_norm(m, name, &config, &initializers).map_err(engine_err)
        })
    })
}

/// Appends a ZeroPadding, Cropping or UpSampling layer. `amounts` contains a
/// (before, after) pair per spatial axis (for upsampling, the size twice).
/// @noRd
#[extendr]
fn rs_add_spatial(model: Robj, name: &str, kind: &str, amounts: Vec<f64>) -> Result<()> {
    guard(|| {
        let kind = match kind {
            "zero_padding" => SpatialKind::ZeroPadding,
            "cropping" => SpatialKind::Cropping,
            "upsampling" => SpatialKind::UpSampling,
            other => return Err(r_error(&format!("unknown spatial layer \"{other}\""))),
        };
        let values = sizes(&amounts);
        let pairs: Vec<(usize, usize)> = values.chunks_exact(2).map(|p| (p[0], p[1])).collect();
        with_model(&model, |m| {
            add_spatial(m, name, kind, &pairs).map_err(engine_err)
        })
    })
}

/// Appends a SpatialDropout layer; `seed` NA draws masks from the model's generator.
/// @noRd
#[extendr]
fn rs_add_spatial_dropout(model: Robj, name: &str, rank: i32, rate: f64, seed: f64) -> Result<()> {
    guard(|| {
        with_model(&model, |m| {
            add_spatial_dropout(m, name, rank.max(0) as usize, rate as f32, seed_of(seed))
                .map_err(engine_err)
        })
    })
}

/// Appends a Rescaling layer.
/// @noRd
#[extendr]
fn rs_add_rescaling(model: Robj, name: &str, scale: f64, offset: f64) -> Result<()> {
    guard(|| {
        with_model(&model, |m| {
            add_rescaling(m, name, scale, offset).map_err(engine_err)
        })
    })
}

extendr_module! {
    mod conv;
    fn rs_add_conv;
    fn rs_add_conv_transpose;
    fn rs_add_depthwise_conv;
    fn rs_add_pooling;
    fn rs_add_global_pooling;
    fn rs_add_batch_normalization;
    fn rs_add_spatial;
    fn rs_add_spatial_dropout;
    fn rs_add_rescaling;
}
