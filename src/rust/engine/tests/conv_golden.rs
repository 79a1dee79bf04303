//! Convolution and pooling layers against Keras 3.
//!
//! `tests/golden/conv.json` was written by `tools/golden/make_golden_conv.py`
//! with keras 3.15.1 (TensorFlow backend), tensorflow 2.21.0 and numpy 2.4.6
//! on CPU, with `TF_ENABLE_ONEDNN_OPTS=0`. It contains the output shapes keras
//! gives for a grid of settings (or that keras rejects them), and, for
//! layers with fixed weights on fixed inputs (formulas in the script), the
//! outputs and the gradients of `sum(output * output_weights)` from
//! `tf.GradientTape`.

mod common;

use common::{check_golden_case, check_golden_shapes, load_golden, numbers_f32, usizes};
use engine::activations::Activation;
use engine::layers::conv::{Conv, ConvConfig};
use engine::layers::pooling::{GlobalPool, Pool, PoolConfig, PoolKind};
use engine::layers::rescaling::Rescaling;
use engine::layers::spatial::{Spatial, SpatialKind};
use engine::layers::window::Padding;
use engine::layers::Layer;
use serde_json::Value;

/// Tolerances for one layer call: sums of up to 63 products of values of at
/// most 1.3 in magnitude.
const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-5;

fn load() -> Value {
    load_golden("conv.json")
}

/// Reads a keras tuple argument (an integer or a list) for `rank` axes.
fn per_axis(config: &Value, key: &str, rank: usize, default: Option<Vec<usize>>) -> Vec<usize> {
    match config.get(key) {
        Some(Value::Number(n)) => vec![n.as_u64().unwrap() as usize; rank],
        Some(list @ Value::Array(_)) => usizes(list),
        _ => default.unwrap_or_else(|| vec![1; rank]),
    }
}

fn text<'a>(config: &'a Value, key: &str, default: &'a str) -> &'a str {
    config.get(key).and_then(Value::as_str).unwrap_or(default)
}

fn rank_of(class_name: &str) -> usize {
    if class_name.ends_with("1D") {
        1
    } else if class_name.ends_with("2D") {
        2
    } else {
        3
    }
}

/// Reads keras's padding or cropping argument for `rank` axes: an integer
/// for all sides, one integer per axis for both sides, or `(before, after)`
/// pairs per axis (a single pair for 1D layers).
fn amounts(value: &Value, rank: usize) -> Vec<(usize, usize)> {
    let n = |v: &Value| v.as_u64().expect("an integer") as usize;
    match value {
        Value::Number(_) => vec![(n(value), n(value)); rank],
        Value::Array(items) if rank == 1 => vec![(n(&items[0]), n(&items[1]))],
        Value::Array(items) => items
            .iter()
            .map(|item| match item {
                Value::Array(pair) => (n(&pair[0]), n(&pair[1])),
                single => (n(single), n(single)),
            })
            .collect(),
        other => panic!("unexpected amounts {other}"),
    }
}

/// Builds the engine layer of a golden case.
fn build(class_name: &str, config: &Value, input: &[usize]) -> engine::Result<Box<dyn Layer>> {
    if class_name == "Rescaling" {
        let scale = config["scale"].as_f64().unwrap();
        let offset = config["offset"].as_f64().unwrap_or(0.0);
        return Ok(Box::new(Rescaling::new("layer", input, scale, offset)?));
    }
    let rank = rank_of(class_name);
    for (prefix, kind, key) in [
        ("ZeroPadding", SpatialKind::ZeroPadding, "padding"),
        ("Cropping", SpatialKind::Cropping, "cropping"),
    ] {
        if class_name.starts_with(prefix) {
            let spec = amounts(&config[key], rank);
            return Ok(Box::new(Spatial::new("layer", kind, &spec, input)?));
        }
    }
    if class_name.starts_with("UpSampling") {
        let sizes = per_axis(config, "size", rank, None);
        let spec: Vec<(usize, usize)> = sizes.iter().map(|&s| (s, s)).collect();
        return Ok(Box::new(Spatial::new(
            "layer",
            SpatialKind::UpSampling,
            &spec,
            input,
        )?));
    }
    let padding = Padding::from_name(text(config, "padding", "valid"), true)?;
    if class_name.starts_with("Conv") {
        let conv = ConvConfig {
            rank,
            filters: config["filters"].as_u64().unwrap() as usize,
            kernel_size: per_axis(config, "kernel_size", rank, None),
            strides: per_axis(config, "strides", rank, None),
            padding,
            dilation_rate: per_axis(config, "dilation_rate", rank, None),
            groups: config.get("groups").and_then(Value::as_u64).unwrap_or(1) as usize,
            activation: Activation::from_name(text(config, "activation", "linear"))?,
            use_bias: config
                .get("use_bias")
                .and_then(Value::as_bool)
                .unwrap_or(true),
        };
        return Ok(Box::new(Conv::new("layer", &conv, input)?));
    }
    let kind = if class_name.contains("Max") {
        PoolKind::Max
    } else {
        PoolKind::Average
    };
    if class_name.starts_with("Global") {
        let keepdims = config
            .get("keepdims")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        return Ok(Box::new(GlobalPool::new(
            "layer", kind, rank, keepdims, input,
        )?));
    }
    let pool_size = per_axis(config, "pool_size", rank, None);
    let pool = PoolConfig {
        kind,
        rank,
        strides: per_axis(config, "strides", rank, Some(pool_size.clone())),
        pool_size,
        padding,
    };
    Ok(Box::new(Pool::new("layer", &pool, input)?))
}

#[test]
fn golden_file_names_its_source() {
    let source = load()["source"].as_str().unwrap().to_string();
    assert!(source.contains("keras 3.15.1"), "{source}");
}

#[test]
fn output_shapes_match_keras() {
    let document = load();
    let cases = document["shapes"].as_array().unwrap();
    let rejected = check_golden_shapes(cases, build);
    assert!(cases.len() > 600 && rejected > 0, "{} cases", cases.len());
}

#[test]
fn values_and_gradients_match_keras() {
    let document = load();
    let cases = document["values"].as_object().unwrap();
    assert!(cases.contains_key("conv2d_same_stride2_even_kernel"));
    for (name, case) in cases {
        let class_name = case["layer"].as_str().unwrap();
        let input = usizes(&case["input_shape"]);
        let batch = case["batch"].as_u64().unwrap() as usize;
        let mut layer = build(class_name, &case["config"], &input).unwrap();
        let weights = case["weights"].as_array().unwrap();
        assert_eq!(layer.params().len(), weights.len(), "{name}: weight count");
        for (param, weight) in layer.params_mut().iter_mut().zip(weights) {
            assert_eq!(
                param.shape,
                usizes(&weight["shape"]),
                "{name}: {} shape",
                param.name
            );
            param.value = numbers_f32(&weight["value"]);
        }

        check_golden_case(name, layer.as_ref(), case, batch, RTOL, ATOL);
    }
}
