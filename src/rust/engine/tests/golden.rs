//! Golden-value tests: the engine against values computed by Keras 3.
//!
//! The JSON files in `tests/golden/` were written by
//! `tools/golden/make_golden.py` with keras 3.15.1 (TensorFlow backend),
//! tensorflow 2.21.0 and numpy 2.4.6 on CPU, with
//! `TF_ENABLE_ONEDNN_OPTS=0`; each file records this in its `source` field.
//! Every input is a literal in that script, and gradients come from
//! `tf.GradientTape`. The values are float32 results widened to f64.
//!
//! Single operations are compared with a relative tolerance of about 1e-5;
//! optimizer steps and training runs, which compound rounding over several
//! steps, with 1e-4.

mod common;

use common::{assert_all_close, assert_close, load_golden};
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::{BackwardArgs, Dense, ForwardCtx, Layer};
use engine::losses::{Loss, EPSILON};
use engine::metrics::{Metric, MetricKind};
use engine::model::{Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use engine::train::{self, Data, FitConfig, Silent};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;

/// Relative tolerance for one operation.
const RTOL: f64 = 1e-5;
/// Absolute tolerance for one operation, for values near zero.
const ATOL: f64 = 1e-6;
/// Relative tolerance for results of several optimizer or training steps.
const MULTI_STEP_RTOL: f64 = 1e-4;

// ---------------------------------------------------------------------------
// Reading the golden files

/// Returns the member `key` of a JSON object, and panics naming the key when it is missing.
fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    value
        .get(key)
        .unwrap_or_else(|| panic!("golden value has no field \"{key}\""))
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("expected a number, got {value}"))
}

/// Collects all numbers of a (nested) JSON array in row-major order.
fn flatten(value: &Value) -> Vec<f64> {
    let mut out = Vec::new();
    collect_numbers(value, &mut out);
    out
}

fn collect_numbers(value: &Value, out: &mut Vec<f64>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect_numbers(item, out)),
        other => out.push(number(other)),
    }
}

fn flatten_f32(value: &Value) -> Vec<f32> {
    flatten(value).into_iter().map(|v| v as f32).collect()
}

/// Number of rows and columns of a JSON matrix (a list of equal-length rows).
fn matrix_shape(value: &Value) -> (usize, usize) {
    let rows = value.as_array().expect("a matrix is a list of rows");
    let cols = rows[0].as_array().map_or(1, |row| row.len());
    (rows.len(), cols)
}

fn cases(document: &Value) -> &serde_json::Map<String, Value> {
    field(document, "cases")
        .as_object()
        .expect("\"cases\" is an object")
}

fn optional_bool(config: &Value, key: &str, default: bool) -> bool {
    config.get(key).and_then(Value::as_bool).unwrap_or(default)
}

fn optional_number(config: &Value, key: &str, default: f64) -> f64 {
    config.get(key).and_then(Value::as_f64).unwrap_or(default)
}

#[test]
fn golden_files_name_their_source() {
    for name in [
        "activations.json",
        "dense.json",
        "losses.json",
        "optimizers.json",
        "metrics.json",
        "training.json",
    ] {
        let source = field(&load_golden(name), "source")
            .as_str()
            .expect("source is a string")
            .to_string();
        assert!(
            source.contains("keras 3.15.1"),
            "{name}: unexpected source {source}"
        );
        assert!(
            source.contains("make_golden.py"),
            "{name}: unexpected source {source}"
        );
    }
}

// ---------------------------------------------------------------------------
// Activations

#[test]
fn activations_match_keras() {
    let document = load_golden("activations.json");
    let x = flatten_f32(field(&document, "x"));
    let w = flatten_f32(field(&document, "w"));
    let activations = field(&document, "activations")
        .as_object()
        .expect("activations object");
    assert_eq!(
        activations.len(),
        13,
        "every elementwise activation of make_golden.py"
    );
    for (name, case) in activations {
        let activation = Activation::from_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut y = vec![0f32; x.len()];
        activation.forward(&x, &mut y, x.len());
        assert_all_close(
            &format!("{name} value"),
            &y,
            &flatten(field(case, "y")),
            RTOL,
            ATOL,
        );

        let mut grad = w.clone();
        activation.backward(&x, &y, &mut grad, x.len());
        assert_all_close(
            &format!("{name} gradient"),
            &grad,
            &flatten(field(case, "grad")),
            RTOL,
            ATOL,
        );
    }
}

#[test]
fn activation_defaults_match_keras() {
    let document = load_golden("activations.json");
    let defaults = field(&document, "defaults");
    let approximate = field(defaults, "gelu_approximate").as_bool().expect("bool");
    assert_eq!(
        Activation::from_name("gelu").unwrap(),
        Activation::Gelu { approximate }
    );
    let slope = number(field(defaults, "leaky_relu_negative_slope")) as f32;
    assert_eq!(
        Activation::from_name("leaky_relu").unwrap(),
        Activation::LeakyRelu {
            negative_slope: slope
        }
    );
    let alpha = number(field(defaults, "elu_alpha")) as f32;
    assert_eq!(
        Activation::from_name("elu").unwrap(),
        Activation::Elu { alpha }
    );
}

#[test]
fn softmax_matches_keras() {
    let document = load_golden("activations.json");
    let case = field(&document, "softmax");
    let x = flatten_f32(field(case, "x"));
    let w = flatten_f32(field(case, "w"));
    let (_, width) = matrix_shape(field(case, "x"));

    let mut y = vec![0f32; x.len()];
    Activation::Softmax.forward(&x, &mut y, width);
    assert_all_close("softmax value", &y, &flatten(field(case, "y")), RTOL, ATOL);

    let mut grad = w;
    Activation::Softmax.backward(&x, &y, &mut grad, width);
    assert_all_close(
        "softmax gradient",
        &grad,
        &flatten(field(case, "grad")),
        RTOL,
        ATOL,
    );
}

// ---------------------------------------------------------------------------
// Dense

#[test]
fn dense_matches_keras() {
    let document = load_golden("dense.json");
    let x = flatten_f32(field(&document, "x"));
    let kernel = flatten_f32(field(&document, "kernel"));
    let bias = flatten_f32(field(&document, "bias"));
    let g = flatten_f32(field(&document, "g"));
    let (batch, input_dim) = matrix_shape(field(&document, "x"));
    let units = bias.len();

    for (name, case) in cases(&document) {
        let activation = Activation::from_name(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let layer = Dense::new(
            "dense",
            &[input_dim],
            units,
            activation,
            kernel.clone(),
            Some(bias.clone()),
        );
        let mut y = vec![0f32; batch * units];
        let mut scratch = vec![0f32; batch * layer.scratch_per_sample()];
        let mut rng = StdRng::seed_from_u64(0);
        let mut ctx = ForwardCtx {
            training: false,
            rng: &mut rng,
        };
        layer.forward(&x, batch, &mut y, &mut scratch, &mut ctx);
        assert_all_close(
            &format!("dense {name} output"),
            &y,
            &flatten(field(case, "y")),
            RTOL,
            ATOL,
        );

        let mut dy = g.clone();
        let mut dx = vec![0f32; x.len()];
        let mut grads = vec![vec![0f32; kernel.len()], vec![0f32; units]];
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
            &format!("dense {name} grad_x"),
            &dx,
            &flatten(field(case, "grad_x")),
            RTOL,
            ATOL,
        );
        assert_all_close(
            &format!("dense {name} grad_kernel"),
            &grads[0],
            &flatten(field(case, "grad_kernel")),
            RTOL,
            ATOL,
        );
        assert_all_close(
            &format!("dense {name} grad_bias"),
            &grads[1],
            &flatten(field(case, "grad_bias")),
            RTOL,
            ATOL,
        );
    }
}

// ---------------------------------------------------------------------------
// Losses

/// Keras loss names in the order they must be matched: a case is named by
/// its loss followed by a variant suffix such as `_from_logits`.
const LOSS_BASE_NAMES: [&str; 8] = [
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "binary_crossentropy",
    "sparse_categorical_crossentropy",
    "categorical_crossentropy",
];

/// Builds the engine loss for a golden case name and its keras config,
/// with keras's defaults for options the config leaves out.
fn loss_for_case(case_name: &str, config: &Value) -> Loss {
    let base = LOSS_BASE_NAMES
        .iter()
        .find(|base| case_name.starts_with(*base))
        .unwrap_or_else(|| panic!("no loss matches the case name \"{case_name}\""));
    Loss::from_name(
        base,
        optional_bool(config, "from_logits", false),
        optional_number(config, "label_smoothing", 0.0) as f32,
        optional_number(config, "delta", 1.0) as f32,
    )
    .unwrap_or_else(|e| panic!("{case_name}: {e}"))
}

#[test]
fn losses_match_keras() {
    let document = load_golden("losses.json");
    assert_eq!(number(field(&document, "epsilon")) as f32, EPSILON);
    let all_cases = cases(&document);
    assert_eq!(all_cases.len(), 15, "every loss case of make_golden.py");
    for (name, case) in all_cases {
        let loss = loss_for_case(name, field(case, "config"));
        let y_true = flatten_f32(field(case, "y_true"));
        let pred = flatten_f32(field(case, "y_pred"));
        let (batch, width) = matrix_shape(field(case, "y_pred"));

        let mut per_sample = vec![0f32; batch];
        let mut grad = vec![0f32; pred.len()];
        loss.compute(
            &y_true,
            &pred,
            batch,
            width,
            false,
            &mut per_sample,
            Some(&mut grad),
        );

        let expected_per_sample = flatten(field(case, "per_sample"));
        assert_all_close(
            &format!("{name} per-sample losses"),
            &per_sample,
            &expected_per_sample,
            RTOL,
            ATOL,
        );
        let mean = per_sample.iter().map(|&v| v as f64).sum::<f64>() / batch as f64;
        assert_close(
            &format!("{name} batch loss"),
            mean,
            number(field(case, "loss")),
            RTOL,
            ATOL,
        );
        assert_all_close(
            &format!("{name} gradient"),
            &grad,
            &flatten(field(case, "grad_y_pred")),
            RTOL,
            ATOL,
        );

        // Without a gradient buffer the losses are the same.
        let mut value_only = vec![0f32; batch];
        loss.compute(&y_true, &pred, batch, width, false, &mut value_only, None);
        assert_eq!(
            value_only, per_sample,
            "{name}: losses differ with and without a gradient"
        );
    }
}

/// Keras's crossentropy on the output of `keras.activations.softmax` or
/// `sigmoid` uses the logits, as the engine does for a fused output layer.
#[test]
fn crossentropy_on_activation_outputs_matches_keras() {
    let document = load_golden("losses.json");
    let section = field(&document, "activation_outputs");
    for (name, case) in cases(section) {
        let base = name.trim_end_matches("_saturated");
        let loss = Loss::from_name(base, false, 0.0, 1.0).unwrap_or_else(|e| panic!("{name}: {e}"));
        let activation = if base == "binary_crossentropy" {
            Activation::Sigmoid
        } else {
            Activation::Softmax
        };
        assert!(
            loss.fuses_with(Some(activation)),
            "{name}: the loss must fuse with {activation:?}"
        );
        assert!(field(case, "equals_from_logits").as_bool().unwrap_or(false));

        let y_true = flatten_f32(field(case, "y_true"));
        let logits = flatten_f32(field(case, "logits"));
        let (batch, width) = matrix_shape(field(case, "logits"));
        let expected_loss = number(field(case, "loss_via_keras_activation"));
        let expected_grad = flatten(field(case, "grad_logits_via_keras_activation"));

        let mut probabilities = vec![0f32; logits.len()];
        activation.forward(&logits, &mut probabilities, width);
        assert_all_close(
            &format!("{name} probabilities"),
            &probabilities,
            &flatten(field(case, "probabilities")),
            RTOL,
            ATOL,
        );

        // The loss handed the logits, as the model does for a fused output.
        let mut per_sample = vec![0f32; batch];
        let mut grad = vec![0f32; logits.len()];
        loss.compute(
            &y_true,
            &logits,
            batch,
            width,
            true,
            &mut per_sample,
            Some(&mut grad),
        );
        let mean = per_sample.iter().map(|&v| v as f64).sum::<f64>() / batch as f64;
        assert_close(
            &format!("{name} loss from logits"),
            mean,
            expected_loss,
            RTOL,
            ATOL,
        );
        assert_all_close(
            &format!("{name} gradient of logits"),
            &grad,
            &expected_grad,
            RTOL,
            ATOL,
        );

        // The same probabilities without their logits take the clipped path.
        let keras_probabilities = flatten_f32(field(case, "probabilities"));
        loss.compute(
            &y_true,
            &keras_probabilities,
            batch,
            width,
            false,
            &mut per_sample,
            None,
        );
        let mean = per_sample.iter().map(|&v| v as f64).sum::<f64>() / batch as f64;
        let expected_plain = number(field(case, "loss_from_plain_probabilities"));
        assert_close(
            &format!("{name} loss from plain probabilities"),
            mean,
            expected_plain,
            RTOL,
            ATOL,
        );

        // A model ending in an Activation layer fuses it with the loss.
        let mut model = Model::new("fused", vec![width], 0).unwrap();
        model.add_activation("activation", activation).unwrap();
        compile(&mut model, loss, Vec::new(), sgd(0.1));
        assert!(
            model.fused_output(),
            "{name}: the model must fuse its output with the loss"
        );
        model.ensure_plan(batch, true, width);
        model.plan_mut().input[..logits.len()].copy_from_slice(&logits);
        model.plan_mut().target[..y_true.len()].copy_from_slice(&y_true);
        model.forward(batch, false, &mut StdRng::seed_from_u64(0));
        let model_loss = model.loss_and_metrics(batch, true) / batch as f64;
        assert_close(
            &format!("{name} model loss"),
            model_loss,
            expected_loss,
            RTOL,
            ATOL,
        );
        let logit_grad = &model.plan_mut().output_grads[0][..logits.len()];
        assert_all_close(
            &format!("{name} model gradient of logits"),
            logit_grad,
            &expected_grad,
            RTOL,
            ATOL,
        );
    }
}

// ---------------------------------------------------------------------------
// Optimizers

/// Builds the optimizer of a golden case from keras's constructor defaults
/// overridden by the case's config.
fn optimizer_for_case(class: &str, defaults: &Value, config: &Value) -> Optimizer {
    let setting = |key: &str| -> &Value {
        config
            .get(key)
            .unwrap_or_else(|| field(field(defaults, class), key))
    };
    let float = |key: &str| number(setting(key)) as f32;
    let flag = |key: &str| {
        setting(key)
            .as_bool()
            .unwrap_or_else(|| panic!("{class}.{key} is not a bool"))
    };
    let kind = match class {
        "SGD" => OptimizerKind::Sgd {
            momentum: float("momentum"),
            nesterov: flag("nesterov"),
        },
        "Adam" => OptimizerKind::Adam {
            beta_1: float("beta_1"),
            beta_2: float("beta_2"),
            epsilon: float("epsilon"),
            amsgrad: flag("amsgrad"),
        },
        "RMSprop" => OptimizerKind::RmsProp {
            rho: float("rho"),
            momentum: float("momentum"),
            epsilon: float("epsilon"),
            centered: flag("centered"),
        },
        "Adagrad" => OptimizerKind::Adagrad {
            initial_accumulator_value: float("initial_accumulator_value"),
            epsilon: float("epsilon"),
        },
        other => panic!("no engine optimizer for keras class {other}"),
    };
    kind.validate().unwrap_or_else(|e| panic!("{class}: {e}"));
    Optimizer::new(kind, float("learning_rate"))
}

#[test]
fn optimizers_match_keras() {
    let document = load_golden("optimizers.json");
    let w0 = flatten_f32(field(&document, "w0"));
    let gradients: Vec<Vec<f32>> = field(&document, "gradients")
        .as_array()
        .expect("gradients list")
        .iter()
        .map(flatten_f32)
        .collect();
    let defaults = field(&document, "defaults");
    let all_cases = cases(&document);
    assert_eq!(all_cases.len(), 8, "every optimizer case of make_golden.py");

    for (name, case) in all_cases {
        let class = field(case, "optimizer")
            .as_str()
            .expect("optimizer class name");
        let mut optimizer = optimizer_for_case(class, defaults, field(case, "config"));
        optimizer.build(&[w0.len()]);
        let mut w = w0.clone();
        let expected_steps = field(case, "weights_after_step")
            .as_array()
            .expect("list of steps");
        assert_eq!(expected_steps.len(), gradients.len());
        for (step, (g, expected)) in gradients.iter().zip(expected_steps).enumerate() {
            optimizer.begin_step();
            optimizer.update(0, &mut w, g);
            let rtol = if step == 0 { RTOL } else { MULTI_STEP_RTOL };
            assert_all_close(
                &format!("{name} after step {}", step + 1),
                &w,
                &flatten(expected),
                rtol,
                ATOL,
            );
        }
        assert_eq!(optimizer.iterations, 3);
    }
}

// ---------------------------------------------------------------------------
// Metrics

#[test]
fn metrics_match_keras() {
    let document = load_golden("metrics.json");
    let config = field(&document, "config");
    let threshold = number(field(config, "binary_accuracy_threshold")) as f32;
    let k = number(field(config, "top_k")) as usize;
    let all_cases = cases(&document);
    assert_eq!(all_cases.len(), 8, "every metric case of make_golden.py");

    for (name, case) in all_cases {
        let kind =
            MetricKind::from_name(name, threshold, k).unwrap_or_else(|e| panic!("{name}: {e}"));
        let y_true = flatten_f32(field(case, "y_true"));
        let pred = flatten_f32(field(case, "y_pred"));
        let (rows, width) = matrix_shape(field(case, "y_pred"));
        let target_width = if kind.is_sparse() { 1 } else { width };

        let mut whole = Metric::new(name, kind.clone());
        whole.update(&y_true, &pred, rows, width, target_width, None);
        assert_close(
            &format!("{name} result"),
            whole.result(),
            number(field(case, "result")),
            RTOL,
            ATOL,
        );

        // Two updates, rows 0-3 then rows 4-5: the result is the running
        // mean over all samples seen.
        let split = 4;
        let mut running = Metric::new(name, kind);
        running.update(
            &y_true[..split * target_width],
            &pred[..split * width],
            split,
            width,
            target_width,
            None,
        );
        let expected_first = number(field(case, "running_result_after_rows_0_to_3"));
        assert_close(
            &format!("{name} after rows 0-3"),
            running.result(),
            expected_first,
            RTOL,
            ATOL,
        );
        running.update(
            &y_true[split * target_width..],
            &pred[split * width..],
            rows - split,
            width,
            target_width,
            None,
        );
        let expected_second = number(field(case, "running_result_after_rows_4_to_5"));
        assert_close(
            &format!("{name} after rows 4-5"),
            running.result(),
            expected_second,
            RTOL,
            ATOL,
        );

        running.reset();
        assert_eq!(running.result(), 0.0, "{name}: result after reset");
    }
}

// ---------------------------------------------------------------------------
// Training

fn sgd(learning_rate: f32) -> Optimizer {
    Optimizer::new(
        OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        learning_rate,
    )
}

fn compile(model: &mut Model, loss: Loss, metrics: Vec<Metric>, optimizer: Optimizer) {
    model.compiled = Some(Compiled {
        loss,
        metrics,
        optimizer,
    });
}

/// Pairs the golden weights, in `get_weights()` order, with their shapes:
/// kernel 1 (3x4), bias 1, kernel 2 (4x2), bias 2.
fn weights_with_shapes(weights: &Value) -> Vec<(Vec<usize>, Vec<f32>)> {
    let shapes = [vec![3, 4], vec![4], vec![4, 2], vec![2]];
    let arrays = weights.as_array().expect("list of weights");
    assert_eq!(arrays.len(), shapes.len());
    shapes
        .into_iter()
        .zip(arrays)
        .map(|(shape, a)| (shape, flatten_f32(a)))
        .collect()
}

/// Builds Input(3) -> Dense(4, relu) -> Dense(2, softmax) with the case's
/// initial weights, compiled with sparse categorical crossentropy, accuracy
/// and the case's optimizer.
fn training_model(case: &Value) -> Model {
    let mut model = Model::new("golden", vec![3], 0).unwrap();
    for (name, units, activation) in [
        ("dense", 4, Activation::RELU),
        ("dense_1", 2, Activation::Softmax),
    ] {
        model
            .add_dense(
                name,
                units,
                activation,
                true,
                &Initializer::Zeros,
                None,
                &Initializer::Zeros,
                None,
            )
            .unwrap();
    }
    model
        .set_weights(weights_with_shapes(field(case, "initial_weights")))
        .unwrap();

    let optimizer_config = field(case, "optimizer");
    let learning_rate = number(field(optimizer_config, "learning_rate")) as f32;
    let optimizer = match field(optimizer_config, "class").as_str() {
        Some("SGD") => sgd(learning_rate),
        Some("Adam") => Optimizer::new(
            OptimizerKind::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            learning_rate,
        ),
        other => panic!("no engine optimizer for {other:?}"),
    };
    let accuracy = Metric::new("accuracy", MetricKind::SparseCategoricalAccuracy);
    compile(
        &mut model,
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        vec![accuracy],
        optimizer,
    );
    assert!(model.fused_output());
    model
}

fn assert_weights_match(description: &str, model: &Model, expected: &Value, rtol: f64) {
    let expected = weights_with_shapes(expected);
    let weights = model.weights();
    assert_eq!(
        weights.len(),
        expected.len(),
        "{description}: number of weights"
    );
    for (i, (weight, (_, values))) in weights.iter().zip(&expected).enumerate() {
        let values: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        assert_all_close(
            &format!("{description}, weight {i} ({})", weight.name),
            &weight.value,
            &values,
            rtol,
            ATOL,
        );
    }
}

fn training_data(document: &Value) -> (Vec<f32>, Vec<f32>) {
    (
        flatten_f32(field(document, "x")),
        flatten_f32(field(document, "y")),
    )
}

#[test]
fn fit_matches_keras() {
    let document = load_golden("training.json");
    let (x, y) = training_data(&document);
    for (name, case) in cases(&document) {
        let mut model = training_model(case);
        let config = FitConfig {
            batch_size: 4,
            epochs: 2,
            initial_epoch: 0,
            shuffle: false,
            validation_split: 0.0,
            verbose: 0,
            unicode: false,
        };
        let data = Data::new(&x, &y, 6);
        let history = train::fit(&mut model, data, None, &config, &mut Silent).unwrap();

        assert_eq!(history.epochs, vec![1, 2], "{name}: epochs");
        assert!(!history.interrupted);
        let expected_history = field(case, "history").as_object().expect("history object");
        let mut expected_names: Vec<&String> = expected_history.keys().collect();
        expected_names.sort();
        assert_eq!(
            history.names.iter().collect::<Vec<_>>(),
            expected_names,
            "{name}: history names"
        );
        for (metric, values) in history.names.iter().zip(&history.values) {
            let expected = flatten(&expected_history[metric]);
            for (epoch, (&got, &want)) in values.iter().zip(&expected).enumerate() {
                assert_close(
                    &format!("{name}: {metric} in epoch {}", epoch + 1),
                    got,
                    want,
                    MULTI_STEP_RTOL,
                    ATOL,
                );
            }
        }
        assert_weights_match(
            &format!("{name}: final weights"),
            &model,
            field(case, "final_weights"),
            MULTI_STEP_RTOL,
        );
    }
}

/// Replays `fit` step by step through the model's public methods and checks
/// the weights and the running logs after every batch, so that a mismatch
/// in `fit_matches_keras` can be traced to one step.
#[test]
fn training_steps_match_keras() {
    let document = load_golden("training.json");
    let (x, y) = training_data(&document);
    let (batch_size, epochs, n) = (4, 2, 6);
    for (name, case) in cases(&document) {
        let mut model = training_model(case);
        model.ensure_plan(batch_size, true, 1);
        let expected_batches = field(case, "batches").as_array().expect("list of batches");
        let mut expected_iter = expected_batches.iter();
        let mut rng = StdRng::seed_from_u64(0);
        for epoch in 0..epochs {
            for metric in &mut model.compiled.as_mut().unwrap().metrics {
                metric.reset();
            }
            let mut loss_sum = 0.0;
            let mut seen = 0;
            for start in (0..n).step_by(batch_size) {
                let end = (start + batch_size).min(n);
                let batch = end - start;
                let plan = model.plan_mut();
                plan.input[..batch * 3].copy_from_slice(&x[start * 3..end * 3]);
                plan.target[..batch].copy_from_slice(&y[start..end]);
                model.forward(batch, true, &mut rng);
                loss_sum += model.loss_and_metrics(batch, true);
                seen += batch;
                let fused = model.fused_output();
                model.backward(batch, fused);
                model.apply_gradients().unwrap();

                let expected = expected_iter
                    .next()
                    .expect("a golden record for every batch");
                let step = format!("{name}: epoch {}, batch starting at row {start}", epoch + 1);
                let logs = field(expected, "logs");
                let running_loss = loss_sum / seen as f64;
                assert_close(
                    &format!("{step}, loss"),
                    running_loss,
                    number(field(logs, "loss")),
                    MULTI_STEP_RTOL,
                    ATOL,
                );
                let accuracy = model.compiled.as_ref().unwrap().metrics[0].result();
                assert_close(
                    &format!("{step}, accuracy"),
                    accuracy,
                    number(field(logs, "accuracy")),
                    RTOL,
                    ATOL,
                );
                assert_weights_match(&step, &model, field(expected, "weights"), MULTI_STEP_RTOL);
            }
        }
        assert!(
            expected_iter.next().is_none(),
            "{name}: golden file has more batches than the replay"
        );
    }
}
