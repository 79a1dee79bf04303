//! Transposed, depthwise and separable convolutions against Keras 3.
//!
//! `tests/golden/conv_transpose.json` was written by
//! `tools/golden/make_golden_conv_transpose.py` with keras 3.15.1
//! (TensorFlow backend), tensorflow 2.21.0 and numpy 2.4.6 on CPU, with
//! `TF_ENABLE_ONEDNN_OPTS=0`. It contains the output shapes keras gives for
//! a grid of settings (or that keras or TensorFlow rejects them), and, for
//! layers with fixed weights on fixed inputs (formulas in
//! `make_golden_conv.py`), the outputs and the gradients of
//! `sum(output * output_weights)` from `tf.GradientTape`. TensorFlow's CPU
//! kernels cannot run dilated transposed convolutions, so the script takes
//! their shapes from keras's shape rule and their values from the gradient
//! of `tf.nn.convolution`, which defines them.

mod common;

use common::{check_golden_case, check_golden_shapes, load_golden, numbers_f32, usizes};
use engine::activations::Activation;
use engine::layers::conv_transpose::{ConvTranspose, ConvTransposeConfig};
use engine::layers::depthwise::{DepthwiseConfig, DepthwiseConv};
use engine::layers::separable::{SeparableConfig, SeparableConv};
use engine::layers::window::Padding;
use engine::layers::Layer;
use serde_json::Value;

/// Tolerances for one layer call: sums of up to 54 products of values of at
/// most 1 in magnitude, and a second product for separable layers.
const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-5;

fn load() -> Value {
    load_golden("conv_transpose.json")
}

/// Reads a keras tuple argument (an integer or a list) for `rank` axes;
/// `None` when the config does not set it.
fn per_axis(config: &Value, key: &str, rank: usize) -> Option<Vec<usize>> {
    match config.get(key) {
        Some(Value::Number(n)) => Some(vec![n.as_u64().unwrap() as usize; rank]),
        Some(list @ Value::Array(_)) => Some(usizes(list)),
        _ => None,
    }
}

/// Builds the engine layer of a golden case.
fn build(class_name: &str, config: &Value, input: &[usize]) -> engine::Result<Box<dyn Layer>> {
    let rank = if class_name.contains("1D") { 1 } else { 2 };
    let ones = vec![1; rank];
    let kernel_size = per_axis(config, "kernel_size", rank).unwrap();
    let strides = per_axis(config, "strides", rank).unwrap_or(ones.clone());
    let dilation_rate = per_axis(config, "dilation_rate", rank).unwrap_or(ones);
    let padding = Padding::from_name(
        config
            .get("padding")
            .and_then(Value::as_str)
            .unwrap_or("valid"),
        true,
    )?;
    let activation = Activation::from_name(
        config
            .get("activation")
            .and_then(Value::as_str)
            .unwrap_or("linear"),
    )?;
    let use_bias = config
        .get("use_bias")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    let filters = config.get("filters").and_then(Value::as_u64).unwrap_or(0) as usize;
    if class_name.ends_with("Transpose") {
        let transpose = ConvTransposeConfig {
            rank,
            filters,
            kernel_size,
            strides,
            padding,
            output_padding: per_axis(config, "output_padding", rank),
            dilation_rate,
            activation,
            use_bias,
        };
        return Ok(Box::new(ConvTranspose::new("layer", &transpose, input)?));
    }
    let depthwise = DepthwiseConfig {
        rank,
        kernel_size,
        strides,
        padding,
        dilation_rate,
        depth_multiplier: config
            .get("depth_multiplier")
            .and_then(Value::as_u64)
            .unwrap_or(1) as usize,
        activation,
        use_bias,
    };
    if class_name.starts_with("Depthwise") {
        return Ok(Box::new(DepthwiseConv::new("layer", &depthwise, input)?));
    }
    let separable = SeparableConfig { depthwise, filters };
    Ok(Box::new(SeparableConv::new("layer", &separable, input)?))
}

#[test]
fn golden_file_names_its_source() {
    let source = load()["source"].as_str().unwrap().to_string();
    assert!(source.contains("keras 3.15.1"), "{source}");
    assert!(source.contains("make_golden_conv_transpose.py"), "{source}");
}

#[test]
fn output_shapes_match_keras() {
    let document = load();
    let cases = document["shapes"].as_array().unwrap();
    let rejected = check_golden_shapes(cases, build);
    assert!(
        cases.len() > 1000 && rejected > 100,
        "{} cases",
        cases.len()
    );
}

#[test]
fn values_and_gradients_match_keras() {
    let document = load();
    let cases = document["values"].as_object().unwrap();
    assert!(cases.contains_key("conv2d_transpose_same_dilation2"));
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
            assert_eq!(
                param.name,
                weight["name"].as_str().unwrap(),
                "{name}: weight name"
            );
            param.value = numbers_f32(&weight["value"]);
        }

        check_golden_case(name, layer.as_ref(), case, batch, RTOL, ATOL);
    }
}
