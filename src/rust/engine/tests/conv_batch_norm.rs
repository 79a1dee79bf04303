//! BatchNormalization: gradients against finite differences in training and
//! inference mode, and values against Keras 3.
//!
//! The keras values are in `tests/golden/conv.json` ("batch_normalization"),
//! written by `tools/golden/make_golden_conv.py` with keras 3.15.1
//! (TensorFlow backend) on CPU: the output, the gradients of
//! `sum(output * output_weights)` from `tf.GradientTape` and the moving
//! statistics after one call of the layer.

mod common;

use common::{
    analytic_gradients, assert_all_close, assert_gradients_match, check_model_gradients,
    load_golden, numbers, numbers_f32, numeric_first_layer_output_gradient,
    numeric_param_gradients, spread, ModelCase, DEFAULT_CHECK,
};
use engine::init::Initializer;
use engine::layers::batch_norm::{
    add_batch_norm, BatchNorm, BatchNormConfig, BatchNormInitializers,
};
use engine::layers::{BackwardArgs, ForwardCtx, Layer};
use engine::losses::Loss;
use engine::model::{Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;

const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-5;

fn config(center: bool, scale: bool) -> BatchNormConfig {
    BatchNormConfig {
        momentum: 0.99,
        epsilon: 1e-3,
        center,
        scale,
    }
}

/// Gamma and beta away from their defaults, so that their gradients matter.
fn initializers() -> BatchNormInitializers {
    let uniform = |minval, maxval| Initializer::RandomUniform { minval, maxval };
    BatchNormInitializers {
        gamma: (uniform(0.5, 1.5), Some(1)),
        beta: (uniform(-0.3, 0.3), Some(2)),
        moving_mean: (uniform(-0.2, 0.2), Some(3)),
        moving_variance: (uniform(0.5, 1.5), Some(4)),
    }
}

fn model(input: &[usize], center: bool, scale: bool) -> Model {
    let mut model = Model::new("bn", input.to_vec(), 3).expect("model");
    let target: Vec<i64> = input.iter().map(|&d| d as i64).collect();
    model
        .add_reshape("input_identity", &target)
        .expect("reshape");
    add_batch_norm(
        &mut model,
        "batch_normalization",
        &config(center, scale),
        &initializers(),
    )
    .expect("batch norm");
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
    model
}

#[test]
fn batch_norm_gradients_in_training() {
    for (input, batch) in [(vec![4usize, 3, 2], 3usize), (vec![5], 4), (vec![2, 3], 1)] {
        for (center, scale) in [(true, true), (false, true), (true, false), (false, false)] {
            let mut model = model(&input, center, scale);
            let size: usize = input.iter().product();
            let x = spread(batch * size, 1.5, 7);
            let target = spread(batch * size, 0.7, 29);
            let case = ModelCase {
                input: &x,
                target: &target,
                batch,
                training: true,
                rng_seed: 0,
            };
            let description =
                format!("batch norm on {input:?}, batch {batch}, center {center}, scale {scale}");
            if batch * size / input.last().unwrap() == 1 {
                // One value per channel: x_hat is 0 and every gradient too.
                continue;
            }
            check_model_gradients(&description, &mut model, &case, DEFAULT_CHECK);
        }
    }
}

#[test]
fn batch_norm_gradients_in_inference() {
    // In inference the moving statistics are constants of the function; they
    // are not trained, so only gamma, beta and the input are checked.
    let input = [3usize, 2, 4];
    let mut model = model(&input, true, true);
    let batch = 2;
    let x = spread(batch * 24, 1.5, 3);
    let target = spread(batch * 24, 0.7, 5);
    let case = ModelCase {
        input: &x,
        target: &target,
        batch,
        training: false,
        rng_seed: 0,
    };
    let analytic = analytic_gradients(&mut model, &case);
    let numeric = numeric_param_gradients(&mut model, &case, DEFAULT_CHECK.step);
    for (k, name) in ["gamma", "beta"].iter().enumerate() {
        assert_gradients_match(name, &analytic.params[1][k], &numeric[1][k], DEFAULT_CHECK);
    }
    assert!(
        analytic.params[1][2].iter().all(|&g| g == 0.0),
        "moving_mean gradient"
    );
    assert!(
        analytic.params[1][3].iter().all(|&g| g == 0.0),
        "moving_variance gradient"
    );
    let numeric_input = numeric_first_layer_output_gradient(&mut model, &case, DEFAULT_CHECK.step);
    assert_gradients_match(
        "input",
        &analytic.first_layer_output,
        &numeric_input,
        DEFAULT_CHECK,
    );
}

#[test]
fn moving_statistics_are_not_trainable() {
    let model = model(&[4, 3], true, true);
    let names: Vec<(&str, bool)> = model.layers()[1]
        .params()
        .iter()
        .map(|p| (p.name.as_str(), p.trainable))
        .collect();
    assert_eq!(
        names,
        [
            ("gamma", true),
            ("beta", true),
            ("moving_mean", false),
            ("moving_variance", false)
        ]
    );
    assert_eq!(model.count_params(), (6, 6));
}

fn load() -> Value {
    load_golden("conv.json")
}

#[test]
fn batch_norm_matches_keras() {
    let document = load();
    let cases = document["batch_normalization"].as_object().expect("cases");
    assert_eq!(cases.len(), 5);
    for (name, case) in cases {
        let cfg = &case["config"];
        let flag = |key: &str| cfg.get(key).and_then(Value::as_bool).unwrap_or(true);
        let number =
            |key: &str, default: f64| cfg.get(key).and_then(Value::as_f64).unwrap_or(default);
        let config = BatchNormConfig {
            momentum: number("momentum", 0.99) as f32,
            epsilon: number("epsilon", 1e-3) as f32,
            center: flag("center"),
            scale: flag("scale"),
        };
        let input: Vec<usize> = numbers(&case["input_shape"])
            .iter()
            .map(|&d| d as usize)
            .collect();
        let batch = case["batch"].as_u64().unwrap() as usize;
        let training = case["training"].as_bool().unwrap();
        let mut layer = BatchNorm::new("bn", &config, &input).unwrap();
        for (param, weight) in layer
            .params_mut()
            .iter_mut()
            .zip(case["weights"].as_array().unwrap())
        {
            param.value = numbers_f32(&weight["value"]);
        }

        let x = numbers_f32(&case["x"]);
        let mut y = vec![0f32; x.len()];
        let mut scratch = vec![0f32; batch * layer.scratch_per_sample()];
        let mut rng = StdRng::seed_from_u64(0);
        let mut ctx = ForwardCtx {
            training,
            rng: &mut rng,
        };
        layer.forward(&x, batch, &mut y, &mut scratch, &mut ctx);
        layer.update_state(&scratch, batch);
        assert_all_close(
            &format!("{name}: output"),
            &y,
            &numbers(&case["y"]),
            RTOL,
            ATOL,
        );
        let moving = case["moving_after"].as_array().unwrap();
        let m = layer.params().len() - 2;
        for (k, what) in ["moving_mean", "moving_variance"].iter().enumerate() {
            let got = &layer.params()[m + k].value;
            assert_all_close(
                &format!("{name}: {what}"),
                got,
                &numbers(&moving[k]),
                RTOL,
                ATOL,
            );
        }

        let mut dy = numbers_f32(&case["output_weights"]);
        let mut dx = vec![0f32; x.len()];
        let mut grads: Vec<Vec<f32>> = layer
            .params()
            .iter()
            .map(|p| vec![1f32; p.value.len()])
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
            RTOL,
            1e-4,
        );
        let trainable = case["grad_trainable"].as_array().unwrap();
        for (k, expected) in trainable.iter().enumerate() {
            let what = format!("{name}: gradient of {}", layer.params()[k].name);
            assert_all_close(&what, &grads[k], &numbers(expected), RTOL, 1e-4);
        }
        for g in &grads[trainable.len()..] {
            assert!(
                g.iter().all(|&v| v == 0.0),
                "{name}: moving statistics get no gradient"
            );
        }
    }
}

#[test]
fn batch_norm_rejects_bad_settings() {
    let mut bad = config(true, true);
    bad.epsilon = 0.0;
    let err = BatchNorm::new("bn", &bad, &[3]).unwrap_err();
    assert!(
        err.to_string().contains("`epsilon` must be positive"),
        "{err}"
    );
    let mut bad = config(true, true);
    bad.momentum = 1.5;
    let err = BatchNorm::new("bn", &bad, &[3]).unwrap_err();
    assert!(
        err.to_string().contains("`momentum` must be in [0, 1]"),
        "{err}"
    );
}
