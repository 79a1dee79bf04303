//! Helpers shared by the engine's integration tests: central finite
//! differences, a mixed absolute/relative comparison, and a driver that
//! checks every gradient of a compiled `Model` against finite differences of
//! its batch loss.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

use engine::layers::{BackwardArgs, ForwardCtx, Layer};
use engine::losses::Loss;
use engine::model::{size_of, Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;

/// Step and tolerances of a finite-difference gradient check.
///
/// The engine computes in f32 (about 7 significant digits), so the step
/// cannot be small. With `h = 1e-2`, the rounding error of a difference of
/// two O(1) losses is about `1e-7 / h = 1e-5`. The truncation error of the
/// central difference is `h^2 f''' / 6`, below 1e-4 for the smooth functions
/// tested here. A gradient that is 10% off exceeds `rtol = 1e-2`.
#[derive(Debug, Clone, Copy)]
pub struct GradCheck {
    pub step: f32,
    pub rtol: f64,
    pub atol: f64,
}

pub const DEFAULT_CHECK: GradCheck = GradCheck {
    step: 1e-2,
    rtol: 1e-2,
    atol: 1e-4,
};

/// Estimates `d f / d values[i]` for every `i` by the central difference
/// `(f(v + h e_i) - f(v - h e_i)) / 2h`, restoring each value afterwards.
/// The divisor uses the perturbed values as stored in f32, not `2h`, so the
/// rounding of `v +- h` does not bias the estimate.
pub fn central_differences(
    values: &mut [f32],
    step: f32,
    mut f: impl FnMut(&[f32]) -> f64,
) -> Vec<f64> {
    let mut gradient = Vec::with_capacity(values.len());
    for i in 0..values.len() {
        let original = values[i];
        values[i] = original + step;
        let upper_x = values[i];
        let upper = f(values);
        values[i] = original - step;
        let lower_x = values[i];
        let lower = f(values);
        values[i] = original;
        gradient.push((upper - lower) / (upper_x as f64 - lower_x as f64));
    }
    gradient
}

/// Compares an analytic gradient with a numeric one element by element:
/// each pair must satisfy `|a - n| <= atol + rtol * max(|a|, |n|)`.
/// Returns a description of every failing element.
pub fn compare_gradients(
    analytic: &[f32],
    numeric: &[f64],
    check: GradCheck,
) -> Result<(), String> {
    if analytic.len() != numeric.len() {
        return Err(format!(
            "analytic gradient has {} values but the numeric one has {}",
            analytic.len(),
            numeric.len()
        ));
    }
    let mut failures = Vec::new();
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        let a = a as f64;
        let limit = check.atol + check.rtol * a.abs().max(n.abs());
        if !a.is_finite() || (a - n).abs() > limit {
            failures.push(format!(
                "[{i}] analytic {a:.6e}, numeric {n:.6e}, difference {:.3e}",
                (a - n).abs()
            ));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

/// Panics with the failing elements when the gradients disagree.
pub fn assert_gradients_match(
    description: &str,
    analytic: &[f32],
    numeric: &[f64],
    check: GradCheck,
) {
    if let Err(report) = compare_gradients(analytic, numeric, check) {
        panic!("{description}: analytic and finite-difference gradients differ\n{report}");
    }
}

/// Panics unless `|actual - expected| <= atol + rtol * |expected|` for every element.
pub fn assert_all_close(description: &str, actual: &[f32], expected: &[f64], rtol: f64, atol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{description}: length differs"
    );
    let mut failures = Vec::new();
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let a = a as f64;
        if !a.is_finite() || (a - e).abs() > atol + rtol * e.abs() {
            failures.push(format!("[{i}] got {a:.8e}, expected {e:.8e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{description}: values differ\n{}",
        failures.join("\n")
    );
}

/// Panics unless `|actual - expected| <= atol + rtol * |expected|`.
pub fn assert_close(description: &str, actual: f64, expected: f64, rtol: f64, atol: f64) {
    assert!(
        actual.is_finite() && (actual - expected).abs() <= atol + rtol * expected.abs(),
        "{description}: got {actual:.8e}, expected {expected:.8e}"
    );
}

/// Returns deterministic values in `[-scale, scale]` that look random: the
/// golden-ratio (Weyl) sequence plus a small sine term. Different offsets
/// shift the sequence.
pub fn spread(n: usize, scale: f32, offset: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let phase = ((i + offset) as f64 * 0.618_033_988_75).fract();
            let wobble = (((i + offset) as f64) * 2.3).sin() * 0.1;
            (scale as f64 * ((2.0 * phase - 1.0) * 0.9 + wobble)) as f32
        })
        .collect()
}

/// Analytic gradients of one model evaluation.
#[derive(Debug, Clone)]
pub struct ModelGradients {
    /// `params[layer][param]`: gradient of the batch loss per weight.
    pub params: Vec<Vec<Vec<f32>>>,
    /// Gradient with respect to the output of layer 0, which is the input of
    /// layer 1. See [`check_model_gradients`].
    pub first_layer_output: Vec<f32>,
}

/// Data and forward-pass mode of a model gradient check.
pub struct ModelCase<'a> {
    pub input: &'a [f32],
    pub target: &'a [f32],
    pub batch: usize,
    /// Forward passes run in training mode (dropout active) when true.
    pub training: bool,
    /// Seed of the generator handed to every forward pass. Reusing it makes
    /// layers without their own seed (dropout) draw the same mask each time.
    pub rng_seed: u64,
}

fn target_width(model: &Model) -> usize {
    let compiled = model.compiled.as_ref().expect("the model must be compiled");
    if compiled.loss.is_sparse() {
        1
    } else {
        size_of(model.output_shape())
    }
}

/// Loads the case into the plan and returns the batch loss (the mean of the
/// per-sample losses) of one forward pass.
fn batch_loss(model: &mut Model, case: &ModelCase) -> f64 {
    let mut rng = StdRng::seed_from_u64(case.rng_seed);
    model.forward(case.batch, case.training, &mut rng);
    model.loss_and_metrics(case.batch, false) / case.batch as f64
}

/// Runs forward, loss and backward once and returns the analytic gradients.
pub fn analytic_gradients(model: &mut Model, case: &ModelCase) -> ModelGradients {
    let width = target_width(model);
    model.ensure_plan(case.batch, true, width);
    let plan = model.plan_mut();
    plan.input[..case.input.len()].copy_from_slice(case.input);
    plan.target[..case.target.len()].copy_from_slice(case.target);

    let mut rng = StdRng::seed_from_u64(case.rng_seed);
    model.forward(case.batch, case.training, &mut rng);
    model.loss_and_metrics(case.batch, true);
    let fused = model.fused_output();
    model.backward(case.batch, fused);

    let first_width = size_of(model.layers()[0].output_shape());
    let plan = model.plan_mut();
    ModelGradients {
        params: plan.param_grads.clone(),
        first_layer_output: plan.output_grads[0][..case.batch * first_width].to_vec(),
    }
}

/// Finite differences of the batch loss with respect to every weight, in
/// the layout of [`ModelGradients::params`].
pub fn numeric_param_gradients(
    model: &mut Model,
    case: &ModelCase,
    step: f32,
) -> Vec<Vec<Vec<f64>>> {
    let layer_count = model.layers().len();
    let mut result = Vec::with_capacity(layer_count);
    for layer in 0..layer_count {
        let param_count = model.layers()[layer].params().len();
        let mut per_layer = Vec::with_capacity(param_count);
        for param in 0..param_count {
            let mut values = model.layers()[layer].params()[param].value.clone();
            let numeric = central_differences(&mut values, step, |perturbed| {
                model.layers_mut()[layer].params_mut()[param]
                    .value
                    .copy_from_slice(perturbed);
                batch_loss(model, case)
            });
            model.layers_mut()[layer].params_mut()[param]
                .value
                .copy_from_slice(&values);
            per_layer.push(numeric);
        }
        result.push(per_layer);
    }
    result
}

/// Finite differences of the batch loss with respect to the output of
/// layer 0. Layer 0 must be the identity on its input (a Reshape to the
/// input shape), so that perturbing the model input perturbs that output.
pub fn numeric_first_layer_output_gradient(
    model: &mut Model,
    case: &ModelCase,
    step: f32,
) -> Vec<f64> {
    let mut values = case.input.to_vec();
    let numeric = central_differences(&mut values, step, |perturbed| {
        model.plan_mut().input[..perturbed.len()].copy_from_slice(perturbed);
        batch_loss(model, case)
    });
    model.plan_mut().input[..values.len()].copy_from_slice(&values);
    numeric
}

/// Checks the gradient of the batch loss with respect to every weight of
/// `model` and to the input of layer 1 against central differences.
///
/// The engine does not compute the gradient of the model input, because
/// layer 0 gets no `dx` buffer. So layer 0 must be an identity Reshape. The
/// gradient stored for its output is then the input gradient of layer 1,
/// the first layer under test.
pub fn check_model_gradients(
    description: &str,
    model: &mut Model,
    case: &ModelCase,
    check: GradCheck,
) -> ModelGradients {
    assert_eq!(
        model.layers()[0].output_shape(),
        model.input_shape(),
        "{description}: layer 0 must be an identity Reshape"
    );
    assert_eq!(
        model.layers()[0].class_name(),
        "Reshape",
        "{description}: layer 0 must be an identity Reshape"
    );

    let analytic = analytic_gradients(model, case);
    let numeric = numeric_param_gradients(model, case, check.step);
    for (layer, (analytic_layer, numeric_layer)) in analytic.params.iter().zip(&numeric).enumerate()
    {
        for (param, (a, n)) in analytic_layer.iter().zip(numeric_layer).enumerate() {
            let name = describe_param(model.layers()[layer].as_ref(), param);
            assert_gradients_match(&format!("{description}: {name}"), a, n, check);
        }
    }
    let numeric_input = numeric_first_layer_output_gradient(model, case, check.step);
    let layer_1 = model
        .layers()
        .get(1)
        .map(|l| l.name().to_string())
        .unwrap_or_default();
    assert_gradients_match(
        &format!("{description}: input of layer {layer_1}"),
        &analytic.first_layer_output,
        &numeric_input,
        check,
    );
    analytic
}

fn describe_param(layer: &dyn Layer, param: usize) -> String {
    format!("{}/{}", layer.name(), layer.params()[param].name)
}

/// Reads and parses the golden file `tests/golden/{name}`, and panics
/// naming the file when it is missing or not valid JSON.
pub fn load_golden(name: &str) -> Value {
    let path: std::path::PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "golden", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

/// Collects all numbers of a (nested) JSON array in row-major order.
pub fn numbers(value: &Value) -> Vec<f64> {
    match value {
        Value::Array(items) => items.iter().flat_map(numbers).collect(),
        other => vec![other.as_f64().expect("a number")],
    }
}

/// [`numbers`] as f32, the engine's type.
pub fn numbers_f32(value: &Value) -> Vec<f32> {
    numbers(value).into_iter().map(|v| v as f32).collect()
}

/// Reads a JSON list of non-negative integers, such as a shape.
pub fn usizes(value: &Value) -> Vec<usize> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_u64().expect("an integer") as usize)
        .collect()
}

/// Starts a model (seed 5) with an identity Reshape as layer 0, as
/// [`check_model_gradients`] requires, so that the input gradient of the
/// first layer under test is checked too.
pub fn model_with_identity_input(input_shape: &[usize]) -> Model {
    let mut model = Model::new("gradcheck", input_shape.to_vec(), 5).expect("valid input shape");
    let target: Vec<i64> = input_shape.iter().map(|&d| d as i64).collect();
    model
        .add_reshape("input_identity", &target)
        .expect("identity reshape");
    model
}

/// Compiles `model` with mean squared error and plain SGD.
pub fn compile_mse(model: &mut Model) {
    model.compiled = Some(Compiled {
        loss: Loss::MeanSquaredError,
        metrics: Vec::new(),
        optimizer: Optimizer::new(
            OptimizerKind::Sgd {
                momentum: 0.0,
                nesterov: false,
            },
            0.01,
        ),
    });
}

/// Checks every gradient of a compiled `model` in inference mode on `batch`
/// samples of inputs in [-1, 1] made by [`spread`] from `offset`.
pub fn check_gradients_on_spread(
    description: &str,
    model: &mut Model,
    batch: usize,
    offset: usize,
) {
    let in_size: usize = model.input_shape().iter().product();
    let out_size: usize = model.output_shape().iter().product();
    let input = spread(batch * in_size, 1.0, offset);
    let target = spread(batch * out_size, 0.5, offset + 31);
    let case = ModelCase {
        input: &input,
        target: &target,
        batch,
        training: false,
        rng_seed: 0,
    };
    check_model_gradients(description, model, &case, DEFAULT_CHECK);
}

/// Runs `layer` forward and backward in inference mode on `batch` samples
/// of a golden case, and compares the output (`y`), the input gradient
/// (`grad_x`) and the weight gradients (`grad_weights`) of
/// `sum(output * output_weights)` with the expected values.
pub fn check_golden_case(
    name: &str,
    layer: &dyn Layer,
    case: &Value,
    batch: usize,
    rtol: f64,
    atol: f64,
) {
    let x = numbers_f32(&case["x"]);
    let out_len = batch * layer.output_shape().iter().product::<usize>();
    let mut y = vec![0f32; out_len];
    let mut scratch = vec![0f32; batch * layer.scratch_per_sample()];
    let mut rng = StdRng::seed_from_u64(0);
    let mut ctx = ForwardCtx {
        training: false,
        rng: &mut rng,
    };
    layer.forward(&x, batch, &mut y, &mut scratch, &mut ctx);
    assert_all_close(
        &format!("{name}: output"),
        &y,
        &numbers(&case["y"]),
        rtol,
        atol,
    );

    let mut dy = numbers_f32(&case["output_weights"]);
    let mut dx = vec![0f32; x.len()];
    let mut grads: Vec<Vec<f32>> = layer
        .params()
        .iter()
        .map(|p| vec![0f32; p.value.len()])
        .collect();
    layer.backward(BackwardArgs {
        batch,
        x: &x,
        y: &y,
        scratch: &scratch,
        dy: &mut dy,
        dy_is_preactivation: false,
        dx: Some(&mut dx),
        grads: &mut grads,
    });
    assert_all_close(
        &format!("{name}: input gradient"),
        &dx,
        &numbers(&case["grad_x"]),
        rtol,
        atol,
    );
    for (k, (grad, expected)) in grads
        .iter()
        .zip(case["grad_weights"].as_array().unwrap())
        .enumerate()
    {
        let description = format!("{name}: gradient of {}", layer.params()[k].name);
        assert_all_close(&description, grad, &numbers(expected), rtol, atol);
    }
}

/// Builds a layer with `build(class_name, config, input_shape)` for each
/// golden shape case, and checks that the engine rejects the settings that
/// Keras rejects (cases with an `error`) and otherwise gives Keras's
/// `output_shape`. Returns the number of rejected cases.
pub fn check_golden_shapes(
    cases: &[Value],
    build: impl Fn(&str, &Value, &[usize]) -> engine::Result<Box<dyn Layer>>,
) -> usize {
    let mut rejected = 0;
    for case in cases {
        let class_name = case["layer"].as_str().unwrap();
        let input = usizes(&case["input_shape"]);
        let config = &case["config"];
        let built = build(class_name, config, &input);
        if case.get("error").is_some() {
            assert!(
                built.is_err(),
                "{class_name} {config} on {input:?}: keras rejects it, the engine built it"
            );
            rejected += 1;
        } else {
            let layer = built.unwrap_or_else(|e| panic!("{class_name} {config} on {input:?}: {e}"));
            assert_eq!(
                layer.output_shape(),
                &usizes(&case["output_shape"])[..],
                "{class_name} {config} on {input:?}"
            );
        }
    }
    rejected
}
