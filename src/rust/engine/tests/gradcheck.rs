//! Finite-difference checks of every hand-written gradient in the engine.
//!
//! Each test compares an analytic gradient (an activation's `backward`, a
//! loss's gradient buffer, or a model's backward pass) with central
//! differences of the same f32 computation, accumulated in f64. The inputs
//! keep at least twice the step away from kinks (relu at its threshold, the
//! clipping bounds of crossentropy, `p == t` for absolute errors), where a
//! difference quotient does not estimate the derivative. The step and
//! tolerances are in `common::DEFAULT_CHECK`; `wrong_gradient_is_caught`
//! shows that they reject a gradient that is 10% off.

mod common;

use common::{
    analytic_gradients, assert_gradients_match, central_differences, check_model_gradients,
    compare_gradients, numeric_param_gradients, spread, ModelCase, DEFAULT_CHECK,
};
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::{BackwardArgs, Dropout, ForwardCtx, Layer};
use engine::losses::Loss;
use engine::model::{Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use rand::rngs::StdRng;
use rand::SeedableRng;

// ---------------------------------------------------------------------------
// Activations

/// Inputs for elementwise activations: at least 0.15 from 0 and from +-3
/// (the kinks of relu, leaky_relu, elu, selu and hard_sigmoid), with a few
/// values in the flat parts of hard_sigmoid.
const ELEMENTWISE_INPUTS: [f32; 16] = [
    -4.1, -2.7, -1.9, -1.3, -0.7, -0.35, -0.15, 0.15, 0.35, 0.7, 1.3, 1.9, 2.7, 3.4, -0.95, 0.55,
];

/// Position of `activation` in the list of variants. The match has no
/// wildcard, so adding a variant to the enum fails to compile here until a
/// gradient check covers it.
fn activation_variant(activation: &Activation) -> usize {
    match activation {
        Activation::Linear => 0,
        Activation::Relu { .. } => 1,
        Activation::Sigmoid => 2,
        Activation::Tanh => 3,
        Activation::Softmax => 4,
        Activation::Elu { .. } => 5,
        Activation::Selu => 6,
        Activation::Softplus => 7,
        Activation::Softsign => 8,
        Activation::Gelu { .. } => 9,
        Activation::Silu => 10,
        Activation::LeakyRelu { .. } => 11,
        Activation::HardSigmoid => 12,
        Activation::Exponential => 13,
    }
}
const ACTIVATION_VARIANTS: usize = 14;

/// Lists every elementwise activation, with non-default parameters where it has any.
fn elementwise_activations() -> Vec<Activation> {
    vec![
        Activation::Linear,
        Activation::RELU,
        Activation::Relu {
            negative_slope: 0.1,
            max_value: None,
            threshold: 0.0,
        },
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Elu { alpha: 1.0 },
        Activation::Elu { alpha: 0.5 },
        Activation::Selu,
        Activation::Softplus,
        Activation::Softsign,
        Activation::Gelu { approximate: false },
        Activation::Gelu { approximate: true },
        Activation::Silu,
        Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        Activation::LeakyRelu {
            negative_slope: 0.05,
        },
        Activation::HardSigmoid,
        Activation::Exponential,
    ]
}

/// Checks `backward` against finite differences of `sum(f(z) * w)`.
fn check_activation(activation: Activation, z: &[f32], width: usize) {
    let weights = spread(z.len(), 1.5, 3);
    let objective = |z: &[f32]| {
        let mut y = vec![0f32; z.len()];
        activation.forward(z, &mut y, width);
        y.iter()
            .zip(&weights)
            .map(|(&y, &w)| y as f64 * w as f64)
            .sum::<f64>()
    };

    let mut y = vec![0f32; z.len()];
    activation.forward(z, &mut y, width);
    let mut analytic = weights.clone();
    activation.backward(z, &y, &mut analytic, width);

    let mut inputs = z.to_vec();
    let numeric = central_differences(&mut inputs, DEFAULT_CHECK.step, objective);
    assert_gradients_match(
        &format!("{activation:?}"),
        &analytic,
        &numeric,
        DEFAULT_CHECK,
    );
}

#[test]
fn elementwise_activation_gradients() {
    for activation in elementwise_activations() {
        check_activation(activation, &ELEMENTWISE_INPUTS, ELEMENTWISE_INPUTS.len());
    }
}

#[test]
fn relu_with_slope_cap_and_threshold() {
    // Kinks at the threshold 0.5 and where the output reaches 2.0 (x = 2.0
    // on the linear branch); the inputs stay 0.1 away from both.
    let activation = Activation::Relu {
        negative_slope: 0.3,
        max_value: Some(2.0),
        threshold: 0.5,
    };
    let z = [
        -3.0, -1.2, -0.4, 0.0, 0.3, 0.6, 0.9, 1.5, 1.9, 2.1, 2.8, 4.0,
    ];
    check_activation(activation, &z, z.len());

    // Plain relu with a cap (keras's relu6 shape): kinks at 0 and 1.
    let capped = Activation::Relu {
        negative_slope: 0.0,
        max_value: Some(1.0),
        threshold: 0.0,
    };
    let z = [-2.0, -0.6, -0.1, 0.1, 0.4, 0.9, 1.1, 1.7, 3.0];
    check_activation(capped, &z, z.len());
}

#[test]
fn softmax_gradient_rows() {
    for width in [2, 3, 5, 8] {
        let rows = 4;
        let z = spread(rows * width, 2.5, width);
        check_activation(Activation::Softmax, &z, width);
    }
    // Large logits: the forward pass subtracts the row maximum.
    let z = [100.0, 101.5, 99.0, 100.2, -50.0, -49.0, -51.3, -50.5];
    check_activation(Activation::Softmax, &z, 4);
}

#[test]
fn activation_checks_cover_every_variant() {
    let mut covered = [false; ACTIVATION_VARIANTS];
    for activation in elementwise_activations() {
        covered[activation_variant(&activation)] = true;
    }
    covered[activation_variant(&Activation::Softmax)] = true;
    assert!(
        covered.iter().all(|&c| c),
        "variants without a gradient check: {covered:?}"
    );
}

// ---------------------------------------------------------------------------
// Losses

/// Position of `loss` in the list of variants; see [`activation_variant`].
fn loss_variant(loss: &Loss) -> usize {
    match loss {
        Loss::MeanSquaredError => 0,
        Loss::MeanAbsoluteError => 1,
        Loss::MeanAbsolutePercentageError => 2,
        Loss::MeanSquaredLogarithmicError => 3,
        Loss::Huber { .. } => 4,
        Loss::BinaryCrossentropy { .. } => 5,
        Loss::CategoricalCrossentropy { .. } => 6,
        Loss::SparseCategoricalCrossentropy { .. } => 7,
    }
}
const LOSS_VARIANTS: usize = 8;

/// Checks the gradient buffer of `compute` against finite differences of
/// the batch loss, the mean of the per-sample losses.
fn check_loss(loss: Loss, y_true: &[f32], pred: &[f32], batch: usize, width: usize, logits: bool) {
    let objective = |p: &[f32]| {
        let mut per_sample = vec![0f32; batch];
        loss.compute(y_true, p, batch, width, logits, &mut per_sample, None);
        per_sample.iter().map(|&v| v as f64).sum::<f64>() / batch as f64
    };

    let mut per_sample = vec![0f32; batch];
    let mut analytic = vec![0f32; pred.len()];
    loss.compute(
        y_true,
        pred,
        batch,
        width,
        logits,
        &mut per_sample,
        Some(&mut analytic),
    );

    let mut inputs = pred.to_vec();
    let numeric = central_differences(&mut inputs, DEFAULT_CHECK.step, objective);
    assert_gradients_match(
        &format!("{loss:?} with logits = {logits}"),
        &analytic,
        &numeric,
        DEFAULT_CHECK,
    );
}

/// Regression targets and predictions: every `|pred - target|` is at least
/// 0.1 and not within 0.05 of 1 (the default Huber delta), targets are at
/// least 0.3 from 0 (MAPE divides by them) and predictions are positive
/// (MSLE clips at 0).
fn regression_data(batch: usize, width: usize) -> (Vec<f32>, Vec<f32>) {
    let n = batch * width;
    let target: Vec<f32> = (0..n).map(|i| 0.4 + 0.37 * ((i * 7) % 11) as f32).collect();
    let offsets = [0.35, -0.2, 1.4, -0.6, 0.15, -1.3, 0.8, -0.1, 2.1, -0.45];
    let pred: Vec<f32> = target
        .iter()
        .enumerate()
        .map(|(i, &t)| (t + offsets[i % offsets.len()]).max(0.2))
        .collect();
    (target, pred)
}

/// Probabilities in [0.1, 0.9], away from the clipping bounds.
fn probabilities(n: usize, offset: usize) -> Vec<f32> {
    spread(n, 1.0, offset)
        .iter()
        .map(|v| 0.5 + 0.4 * v)
        .collect()
}

/// One-hot rows of `width` classes, class `(3 s + 1) % width` for sample `s`.
fn one_hot(batch: usize, width: usize) -> (Vec<f32>, Vec<f32>) {
    let labels: Vec<f32> = (0..batch).map(|s| ((3 * s + 1) % width) as f32).collect();
    let mut rows = vec![0f32; batch * width];
    for (s, &label) in labels.iter().enumerate() {
        rows[s * width + label as usize] = 1.0;
    }
    (rows, labels)
}

#[test]
fn regression_loss_gradients() {
    let (batch, width) = (4, 5);
    let (target, pred) = regression_data(batch, width);
    for loss in [
        Loss::MeanSquaredError,
        Loss::MeanAbsoluteError,
        Loss::MeanAbsolutePercentageError,
        Loss::MeanSquaredLogarithmicError,
        Loss::Huber { delta: 1.0 },
        Loss::Huber { delta: 0.5 },
        Loss::Huber { delta: 2.5 },
    ] {
        check_loss(loss, &target, &pred, batch, width, false);
    }
}

#[test]
fn binary_crossentropy_gradients() {
    let (batch, width) = (4, 3);
    let target: Vec<f32> = (0..batch * width)
        .map(|i| ((i * 5) % 3 == 0) as u8 as f32)
        .collect();
    let probs = probabilities(batch * width, 2);
    let logits = spread(batch * width, 3.0, 5);
    for label_smoothing in [0.0, 0.1] {
        let on_probabilities = Loss::BinaryCrossentropy {
            from_logits: false,
            label_smoothing,
        };
        check_loss(on_probabilities, &target, &probs, batch, width, false);
        // The fused path: a probability loss handed the sigmoid's logits.
        check_loss(on_probabilities, &target, &logits, batch, width, true);
        let from_logits = Loss::BinaryCrossentropy {
            from_logits: true,
            label_smoothing,
        };
        check_loss(from_logits, &target, &logits, batch, width, false);
    }
    // Soft targets strictly between 0 and 1.
    let soft = probabilities(batch * width, 9);
    check_loss(
        Loss::BinaryCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
        },
        &soft,
        &probs,
        batch,
        width,
        false,
    );
}

#[test]
fn categorical_crossentropy_gradients() {
    let (batch, width) = (5, 4);
    let (target, _) = one_hot(batch, width);
    // Rows that do not sum to 1: the gradient includes the renormalisation.
    let probs = probabilities(batch * width, 4);
    let logits = spread(batch * width, 3.0, 8);

    for label_smoothing in [0.0, 0.2] {
        let on_probabilities = Loss::CategoricalCrossentropy {
            from_logits: false,
            label_smoothing,
        };
        check_loss(on_probabilities, &target, &probs, batch, width, false);
        // The fused path: a probability loss handed the softmax's logits.
        check_loss(on_probabilities, &target, &logits, batch, width, true);

        let from_logits = Loss::CategoricalCrossentropy {
            from_logits: true,
            label_smoothing,
        };
        check_loss(from_logits, &target, &logits, batch, width, false);
    }

    // Soft targets whose rows do not sum to 1.
    let soft = probabilities(batch * width, 12);
    let from_logits = Loss::CategoricalCrossentropy {
        from_logits: true,
        label_smoothing: 0.0,
    };
    check_loss(from_logits, &soft, &logits, batch, width, false);

    let on_probabilities = Loss::CategoricalCrossentropy {
        from_logits: false,
        label_smoothing: 0.0,
    };
    check_loss(on_probabilities, &soft, &probs, batch, width, false);
}

#[test]
fn sparse_categorical_crossentropy_gradients() {
    let (batch, width) = (5, 4);
    let (_, labels) = one_hot(batch, width);
    let probs = probabilities(batch * width, 6);
    let logits = spread(batch * width, 3.0, 10);
    let on_probabilities = Loss::SparseCategoricalCrossentropy { from_logits: false };
    check_loss(on_probabilities, &labels, &probs, batch, width, false);
    check_loss(on_probabilities, &labels, &logits, batch, width, true);
    let from_logits = Loss::SparseCategoricalCrossentropy { from_logits: true };
    check_loss(from_logits, &labels, &logits, batch, width, false);
}

#[test]
fn loss_checks_cover_every_variant() {
    let checked = [
        Loss::MeanSquaredError,
        Loss::MeanAbsoluteError,
        Loss::MeanAbsolutePercentageError,
        Loss::MeanSquaredLogarithmicError,
        Loss::Huber { delta: 1.0 },
        Loss::BinaryCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
        },
        Loss::CategoricalCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
        },
        Loss::SparseCategoricalCrossentropy { from_logits: false },
    ];
    let mut covered = [false; LOSS_VARIANTS];
    for loss in &checked {
        covered[loss_variant(loss)] = true;
    }
    assert!(
        covered.iter().all(|&c| c),
        "variants without a gradient check: {covered:?}"
    );
}

// ---------------------------------------------------------------------------
// Layers and models

/// Creates a model whose layer 0 is an identity Reshape, so that the
/// gradient check can read the input gradient of layer 1.
fn model_with_identity_input(input_shape: &[usize]) -> Model {
    let mut model = Model::new("gradcheck", input_shape.to_vec(), 11).expect("valid input shape");
    let target: Vec<i64> = input_shape.iter().map(|&d| d as i64).collect();
    model
        .add_reshape("input_identity", &target)
        .expect("identity reshape");
    model
}

/// Appends a Dense layer with a glorot-uniform kernel and a small nonzero
/// bias, both seeded from `seed`.
fn add_dense(
    model: &mut Model,
    name: &str,
    units: usize,
    activation: Activation,
    use_bias: bool,
    seed: u64,
) {
    let bias_init = Initializer::RandomUniform {
        minval: -0.2,
        maxval: 0.2,
    };
    model
        .add_dense(
            name,
            units,
            activation,
            use_bias,
            &Initializer::GlorotUniform,
            Some(seed),
            &bias_init,
            Some(seed + 1),
        )
        .expect("valid dense layer");
}

fn compile(model: &mut Model, loss: Loss) {
    model.compiled = Some(Compiled {
        loss,
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

/// Inputs in [-1, 1] and regression targets for `batch` samples.
fn regression_case_data(model: &Model, batch: usize, offset: usize) -> (Vec<f32>, Vec<f32>) {
    let in_size: usize = model.input_shape().iter().product();
    let out_size: usize = model.output_shape().iter().product();
    (
        spread(batch * in_size, 1.0, offset),
        spread(batch * out_size, 0.8, offset + 17),
    )
}

fn inference_case<'a>(input: &'a [f32], target: &'a [f32], batch: usize) -> ModelCase<'a> {
    ModelCase {
        input,
        target,
        batch,
        training: false,
        rng_seed: 0,
    }
}

#[test]
fn dense_with_and_without_bias() {
    for use_bias in [true, false] {
        let mut model = model_with_identity_input(&[4]);
        add_dense(&mut model, "dense", 3, Activation::Linear, use_bias, 1);
        compile(&mut model, Loss::MeanSquaredError);
        assert_eq!(model.weights().len(), 1 + use_bias as usize);
        let (input, target) = regression_case_data(&model, 5, 0);
        let case = inference_case(&input, &target, 5);
        check_model_gradients(
            &format!("dense, use_bias = {use_bias}"),
            &mut model,
            &case,
            DEFAULT_CHECK,
        );
    }
}

#[test]
fn dense_with_each_activation() {
    // Relu and friends are covered by `dense_relu_and_leaky_relu`, whose data
    // is checked to keep pre-activations away from 0.
    let activations = [
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
        Activation::Elu { alpha: 0.7 },
        Activation::Selu,
        Activation::Softplus,
        Activation::Softsign,
        Activation::Gelu { approximate: false },
        Activation::Gelu { approximate: true },
        Activation::Silu,
        Activation::Exponential,
    ];
    for (k, activation) in activations.into_iter().enumerate() {
        for use_bias in [true, false] {
            let mut model = model_with_identity_input(&[4]);
            add_dense(&mut model, "dense", 3, activation, use_bias, 20 + k as u64);
            compile(&mut model, Loss::MeanSquaredError);
            let (input, target) = regression_case_data(&model, 4, k);
            let case = inference_case(&input, &target, 4);
            let description = format!("dense with {activation:?}, use_bias = {use_bias}");
            check_model_gradients(&description, &mut model, &case, DEFAULT_CHECK);
        }
    }
}

/// Panics when a pre-activation of the Dense layer at `layer` lies within
/// `margin` of `kink`, where finite differences would cross the kink.
fn assert_preactivations_away_from(
    model: &mut Model,
    layer: usize,
    batch: usize,
    kink: f32,
    margin: f32,
) {
    let units = *model.layers()[layer]
        .output_shape()
        .last()
        .expect("dense output shape");
    let rows: usize = model.layers()[layer]
        .output_shape()
        .iter()
        .product::<usize>()
        / units;
    let scratch = &model.plan_mut().scratch[layer][..batch * rows * units];
    let closest = scratch
        .iter()
        .map(|z| (z - kink).abs())
        .fold(f32::INFINITY, f32::min);
    assert!(
        closest > margin,
        "a pre-activation of layer {layer} is {closest} from the kink at {kink}"
    );
}

#[test]
fn dense_relu_and_leaky_relu() {
    let activations = [
        Activation::RELU,
        Activation::LeakyRelu {
            negative_slope: 0.2,
        },
        Activation::Relu {
            negative_slope: 0.1,
            max_value: Some(0.8),
            threshold: 0.1,
        },
    ];
    for activation in activations {
        let mut model = model_with_identity_input(&[4]);
        add_dense(&mut model, "dense", 3, activation, true, 5);
        compile(&mut model, Loss::MeanSquaredError);
        let (input, target) = regression_case_data(&model, 4, 2);
        let case = inference_case(&input, &target, 4);
        analytic_gradients(&mut model, &case);
        for kink in [0.0, 0.1, 0.8] {
            // A weight step of h moves a pre-activation by at most h * |x| <= h.
            assert_preactivations_away_from(&mut model, 1, 4, kink, 2.0 * DEFAULT_CHECK.step);
        }
        check_model_gradients(
            &format!("dense with {activation:?}"),
            &mut model,
            &case,
            DEFAULT_CHECK,
        );
    }
}

#[test]
fn dense_on_rank_3_input() {
    // Samples of shape (3, 4): the Dense layer multiplies each of the 3 rows
    // by the kernel, so rows_per_sample = 3.
    let mut model = model_with_identity_input(&[3, 4]);
    add_dense(&mut model, "dense", 2, Activation::Tanh, true, 7);
    compile(&mut model, Loss::MeanSquaredError);
    assert_eq!(model.output_shape(), &[3, 2]);
    let (input, target) = regression_case_data(&model, 3, 4);
    let case = inference_case(&input, &target, 3);
    check_model_gradients("dense on rank-3 input", &mut model, &case, DEFAULT_CHECK);
}

#[test]
fn flatten_and_reshape_between_dense() {
    // (2, 3) -> Dense(4) per row -> Flatten to 8 -> Dense(6) -> Reshape to
    // (3, 2) -> Dense(2) per row.
    let mut model = model_with_identity_input(&[2, 3]);
    add_dense(&mut model, "dense", 4, Activation::Sigmoid, true, 8);
    model.add_flatten("flatten").expect("flatten");
    add_dense(&mut model, "dense_1", 6, Activation::Tanh, true, 10);
    model.add_reshape("reshape", &[3, -1]).expect("reshape");
    add_dense(&mut model, "dense_2", 2, Activation::Linear, true, 12);
    compile(&mut model, Loss::MeanSquaredError);
    assert_eq!(model.output_shape(), &[3, 2]);
    let (input, target) = regression_case_data(&model, 4, 5);
    let case = inference_case(&input, &target, 4);
    check_model_gradients("flatten and reshape", &mut model, &case, DEFAULT_CHECK);
}

#[test]
fn flatten_as_first_tested_layer() {
    // The input gradient checked here is the dx of Flatten itself.
    let mut model = model_with_identity_input(&[2, 2]);
    model.add_flatten("flatten").expect("flatten");
    add_dense(&mut model, "dense", 3, Activation::Tanh, true, 14);
    compile(&mut model, Loss::MeanSquaredError);
    let (input, target) = regression_case_data(&model, 3, 6);
    let case = inference_case(&input, &target, 3);
    check_model_gradients("flatten first", &mut model, &case, DEFAULT_CHECK);
}

#[test]
fn activation_layers_in_a_chain() {
    // Softmax is not the last layer here, so its backward pass runs.
    let layers = [
        Activation::Tanh,
        Activation::Softmax,
        Activation::Gelu { approximate: false },
        Activation::Elu { alpha: 1.0 },
        Activation::HardSigmoid,
    ];
    for (k, activation) in layers.into_iter().enumerate() {
        let mut model = model_with_identity_input(&[3]);
        model
            .add_activation("activation", activation)
            .expect("activation layer");
        add_dense(
            &mut model,
            "dense",
            4,
            Activation::Linear,
            true,
            30 + k as u64,
        );
        model
            .add_activation("activation_1", Activation::Sigmoid)
            .expect("activation layer");
        compile(&mut model, Loss::MeanSquaredError);
        let (input, target) = regression_case_data(&model, 4, 8 + k);
        let case = inference_case(&input, &target, 4);
        check_model_gradients(
            &format!("activation layer {activation:?}"),
            &mut model,
            &case,
            DEFAULT_CHECK,
        );
    }
}

#[test]
fn dropout_in_training_mode() {
    // Dropout without its own seed draws its mask from the generator passed
    // to forward(). The check passes a generator with the same seed to every
    // forward pass, so all evaluations share one mask.
    let mut model = model_with_identity_input(&[5]);
    add_dense(&mut model, "dense", 6, Activation::Tanh, true, 40);
    model.add_dropout("dropout", 0.4, None).expect("dropout");
    add_dense(&mut model, "dense_1", 2, Activation::Linear, true, 42);
    compile(&mut model, Loss::MeanSquaredError);
    let (input, target) = regression_case_data(&model, 4, 9);
    let case = ModelCase {
        input: &input,
        target: &target,
        batch: 4,
        training: true,
        rng_seed: 99,
    };
    check_model_gradients("dropout in training", &mut model, &case, DEFAULT_CHECK);

    // The mask must have dropped some units, or the test checked the identity.
    let mask = &model.plan_mut().scratch[2][..4 * 6];
    assert!(mask.contains(&0.0), "dropout dropped nothing: {mask:?}");
    assert!(
        mask.iter().any(|&m| m > 1.0),
        "dropout kept nothing: {mask:?}"
    );
}

#[test]
fn seeded_dropout_backward_applies_mask() {
    let shape = [12];
    let rate = 0.5;
    let layer = Dropout::new("dropout", &shape, rate, Some(7));
    let batch = 3;
    let n = batch * 12;
    let x: Vec<f32> = spread(n, 1.0, 1).iter().map(|v| v + 1.5).collect();
    let mut y = vec![0f32; n];
    let mut scratch = vec![0f32; batch * layer.scratch_per_sample()];
    let mut rng = StdRng::seed_from_u64(0);
    let mut ctx = ForwardCtx {
        training: true,
        rng: &mut rng,
    };
    layer.forward(&x, batch, &mut y, &mut scratch, &mut ctx);

    // Recover the mask from the output: every input is nonzero.
    let scale = 1.0 / (1.0 - rate);
    let mask: Vec<f32> = y.iter().zip(&x).map(|(y, x)| y / x).collect();
    for &m in &mask {
        assert!(
            m == 0.0 || (m - scale).abs() < 1e-6,
            "mask value {m} is neither 0 nor {scale}"
        );
    }
    assert!(mask.contains(&0.0), "dropout dropped nothing");
    assert!(mask.iter().any(|&m| m != 0.0), "dropout kept nothing");

    let mut dy = spread(n, 2.0, 4);
    let expected: Vec<f32> = dy.iter().zip(&mask).map(|(d, m)| d * m).collect();
    let mut dx = vec![0f32; n];
    layer.backward(BackwardArgs {
        batch,
        x: &x,
        y: &y,
        scratch: &scratch,
        dy: &mut dy,
        dy_is_preactivation: false,
        dx: Some(&mut dx),
        grads: &mut [],
    });
    for (i, (&got, &want)) in dx.iter().zip(&expected).enumerate() {
        assert!(
            (got - want).abs() <= 1e-6 * want.abs(),
            "dx[{i}] = {got}, expected dy * mask = {want}"
        );
    }

    // In inference mode dropout is the identity in both directions.
    let mut ctx = ForwardCtx {
        training: false,
        rng: &mut rng,
    };
    layer.forward(&x, batch, &mut y, &mut scratch, &mut ctx);
    assert_eq!(y, x);
    let mut dy = spread(n, 2.0, 4);
    let expected = dy.clone();
    layer.backward(BackwardArgs {
        batch,
        x: &x,
        y: &y,
        scratch: &scratch,
        dy: &mut dy,
        dy_is_preactivation: false,
        dx: Some(&mut dx),
        grads: &mut [],
    });
    assert_eq!(dx, expected);
}

#[test]
fn fused_softmax_crossentropy() {
    let (batch, classes) = (5, 4);
    let (one_hot_rows, labels) = one_hot(batch, classes);
    let losses = [
        (
            Loss::CategoricalCrossentropy {
                from_logits: false,
                label_smoothing: 0.0,
            },
            one_hot_rows.clone(),
        ),
        (
            Loss::CategoricalCrossentropy {
                from_logits: false,
                label_smoothing: 0.1,
            },
            one_hot_rows,
        ),
        (
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            labels,
        ),
    ];
    for (k, (loss, target)) in losses.into_iter().enumerate() {
        // Softmax inside the Dense layer.
        let mut model = model_with_identity_input(&[3]);
        add_dense(
            &mut model,
            "dense",
            classes,
            Activation::Softmax,
            true,
            50 + k as u64,
        );
        compile(&mut model, loss);
        assert!(
            model.fused_output(),
            "{loss:?} must fuse with a softmax Dense output"
        );
        let input = spread(batch * 3, 1.5, 11 + k);
        let case = inference_case(&input, &target, batch);
        check_model_gradients(
            &format!("dense softmax with {loss:?}"),
            &mut model,
            &case,
            DEFAULT_CHECK,
        );

        // Softmax as a separate Activation layer at the end.
        let mut model = model_with_identity_input(&[3]);
        add_dense(
            &mut model,
            "dense",
            classes,
            Activation::Linear,
            true,
            60 + k as u64,
        );
        model
            .add_activation("softmax", Activation::Softmax)
            .expect("activation layer");
        compile(&mut model, loss);
        assert!(
            model.fused_output(),
            "{loss:?} must fuse with a softmax Activation layer"
        );
        check_model_gradients(
            &format!("softmax layer with {loss:?}"),
            &mut model,
            &case,
            DEFAULT_CHECK,
        );
    }
}

#[test]
fn fused_sigmoid_binary_crossentropy() {
    let (batch, units) = (4, 3);
    let target: Vec<f32> = (0..batch * units)
        .map(|i| (i % 3 != 1) as u8 as f32)
        .collect();
    for label_smoothing in [0.0, 0.2] {
        let loss = Loss::BinaryCrossentropy {
            from_logits: false,
            label_smoothing,
        };
        let mut model = model_with_identity_input(&[4]);
        add_dense(&mut model, "dense", units, Activation::Sigmoid, true, 70);
        compile(&mut model, loss);
        assert!(model.fused_output());
        let input = spread(batch * 4, 1.5, 13);
        let case = inference_case(&input, &target, batch);
        check_model_gradients(
            &format!("dense sigmoid with {loss:?}"),
            &mut model,
            &case,
            DEFAULT_CHECK,
        );
    }
}

#[test]
fn crossentropy_without_fusion() {
    // Softmax output with a loss that does not fuse, and a linear output
    // with from_logits = true: both take the unfused backward path.
    let (batch, classes) = (4, 3);
    let (one_hot_rows, labels) = one_hot(batch, classes);
    let input = spread(batch * 4, 1.5, 15);

    let mut model = model_with_identity_input(&[4]);
    add_dense(&mut model, "dense", classes, Activation::Softmax, true, 80);
    compile(&mut model, Loss::MeanSquaredError);
    assert!(!model.fused_output());
    let case = inference_case(&input, &one_hot_rows, batch);
    check_model_gradients("dense softmax with mse", &mut model, &case, DEFAULT_CHECK);

    let mut model = model_with_identity_input(&[4]);
    add_dense(&mut model, "dense", classes, Activation::Linear, true, 82);
    compile(
        &mut model,
        Loss::SparseCategoricalCrossentropy { from_logits: true },
    );
    assert!(!model.fused_output());
    let case = inference_case(&input, &labels, batch);
    check_model_gradients("linear dense with logits", &mut model, &case, DEFAULT_CHECK);

    // Crossentropy on probabilities from a softmax that is not the output.
    let mut model = model_with_identity_input(&[4]);
    add_dense(&mut model, "dense", classes, Activation::Softmax, true, 84);
    model
        .add_reshape("reshape", &[classes as i64])
        .expect("reshape");
    compile(
        &mut model,
        Loss::CategoricalCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
        },
    );
    assert!(!model.fused_output());
    let case = inference_case(&input, &one_hot_rows, batch);
    check_model_gradients(
        "crossentropy on softmax probabilities",
        &mut model,
        &case,
        DEFAULT_CHECK,
    );
}

const MLP_INPUT_OFFSET: usize = 23;

/// Input -> Dense(5, tanh) -> Dense(4, relu) -> Dense(3, softmax) with sparse
/// categorical crossentropy, and its data.
fn three_layer_mlp() -> (Model, Vec<f32>, Vec<f32>) {
    let batch = 6;
    let mut model = model_with_identity_input(&[4]);
    add_dense(&mut model, "dense", 5, Activation::Tanh, true, 90);
    add_dense(&mut model, "dense_1", 4, Activation::RELU, true, 92);
    add_dense(&mut model, "dense_2", 3, Activation::Softmax, true, 94);
    compile(
        &mut model,
        Loss::SparseCategoricalCrossentropy { from_logits: false },
    );
    let input = spread(batch * 4, 1.5, MLP_INPUT_OFFSET);
    let labels: Vec<f32> = (0..batch).map(|s| (s % 3) as f32).collect();
    (model, input, labels)
}

#[test]
fn three_layer_mlp_gradients() {
    let (mut model, input, labels) = three_layer_mlp();
    let case = inference_case(&input, &labels, 6);
    analytic_gradients(&mut model, &case);
    // A weight step of layer 2 moves its relu pre-activations by at most
    // h * |x| <= 1.5 h. Steps in layer 1 or the input move them too, by an
    // amount this margin does not bound; a crossing would fail the check.
    assert_preactivations_away_from(&mut model, 2, 6, 0.0, 3.0 * DEFAULT_CHECK.step);
    assert!(model.fused_output());
    check_model_gradients("three-layer MLP", &mut model, &case, DEFAULT_CHECK);
}

#[test]
fn wrong_gradient_is_caught() {
    let (mut model, input, labels) = three_layer_mlp();
    let case = inference_case(&input, &labels, 6);
    let analytic = analytic_gradients(&mut model, &case);
    let numeric = numeric_param_gradients(&mut model, &case, DEFAULT_CHECK.step);
    let mut checked = 0;
    for (layer, (analytic_layer, numeric_layer)) in analytic.params.iter().zip(&numeric).enumerate()
    {
        for (param, (correct, expected)) in analytic_layer.iter().zip(numeric_layer).enumerate() {
            let verdict = compare_gradients(correct, expected, DEFAULT_CHECK);
            assert!(
                verdict.is_ok(),
                "layer {layer} param {param}: the correct gradient failed\n{verdict:?}"
            );

            // Every element 10% too large.
            let scaled: Vec<f32> = correct.iter().map(|g| g * 1.1).collect();
            assert!(
                compare_gradients(&scaled, expected, DEFAULT_CHECK).is_err(),
                "layer {layer} param {param}: a gradient scaled by 1.1 passed the check"
            );

            // Only the largest element 10% too small.
            let largest = (0..correct.len())
                .max_by(|&a, &b| correct[a].abs().total_cmp(&correct[b].abs()))
                .expect("non-empty gradient");
            let mut one_off = correct.clone();
            one_off[largest] *= 0.9;
            assert!(
                compare_gradients(&one_off, expected, DEFAULT_CHECK).is_err(),
                "layer {layer} param {param}: one element off by 10% passed the check"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 6, "kernel and bias of the three Dense layers");
}
