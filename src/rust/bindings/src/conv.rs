//! Bindings of the convolutional, pooling, normalization and image
//! preprocessing layers. The R side checks the arguments; these functions
//! convert them and leave the remaining checks (shapes) to the engine.

use extendr_api::prelude::*;
use extendr_api::Result;

use engine::layers::conv::{add_conv, ConvConfig};
use engine::layers::pooling::{add_global_pool, add_pool, PoolConfig, PoolKind};
use engine::layers::window::{per_axis, Padding};

use crate::errors::{engine_err, guard, r_error};
use crate::{activation_of, initializer_of, with_model};

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

extendr_module! {
    mod conv;
    fn rs_add_conv;
    fn rs_add_pooling;
    fn rs_add_global_pooling;
}
