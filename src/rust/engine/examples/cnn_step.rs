//! Times training epochs and the layers of one training step of the
//! Fashion-MNIST CNN (Conv2D(32, 3x3, relu) - MaxPool(2) - Conv2D(64, 3x3,
//! relu) - MaxPool(2) - Flatten - Dropout(0.5) - Dense(10, softmax), Adam,
//! batch 128) on random data, without R:
//! `cargo run --release -p engine --example cnn_step -- [threads] [epochs] [samples]`.

use std::time::Instant;

use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::conv::{add_conv, ConvConfig};
use engine::layers::pooling::{add_pool, PoolConfig, PoolKind};
use engine::layers::window::Padding;
use engine::layers::{BackwardArgs, ForwardCtx};
use engine::losses::Loss;
use engine::metrics::{Metric, MetricKind};
use engine::model::{Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use engine::train::{self, Data, FitConfig, Silent};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Floating-point operations of one training sample: forward, input
/// gradient and weight gradient of each layer, less the input gradient of
/// the first convolution, which no layer needs.
const TRAIN_FLOP_PER_SAMPLE: f64 = {
    let conv1 = 26.0 * 26.0 * 9.0 * 32.0;
    let conv2 = 11.0 * 11.0 * 288.0 * 64.0;
    let dense = 1600.0 * 10.0;
    2.0 * (3.0 * (conv1 + conv2 + dense) - conv1)
};

fn cnn() -> Model {
    let mut model = Model::new("cnn", vec![28, 28, 1], 1).expect("model");
    let conv = |filters| ConvConfig {
        rank: 2,
        filters,
        kernel_size: vec![3, 3],
        strides: vec![1, 1],
        padding: Padding::Valid,
        dilation_rate: vec![1, 1],
        groups: 1,
        activation: Activation::RELU,
        use_bias: true,
    };
    let pool = PoolConfig {
        kind: PoolKind::Max,
        rank: 2,
        pool_size: vec![2, 2],
        strides: vec![2, 2],
        padding: Padding::Valid,
    };
    let glorot = (Initializer::GlorotUniform, None);
    let zeros = (Initializer::Zeros, None);
    add_conv(&mut model, "conv2d", &conv(32), &glorot, &zeros).expect("conv2d");
    add_pool(&mut model, "max_pooling2d", &pool).expect("pool");
    add_conv(&mut model, "conv2d_1", &conv(64), &glorot, &zeros).expect("conv2d_1");
    add_pool(&mut model, "max_pooling2d_1", &pool).expect("pool");
    model.add_flatten("flatten").expect("flatten");
    model.add_dropout("dropout", 0.5, None).expect("dropout");
    model
        .add_dense(
            "dense",
            10,
            Activation::Softmax,
            true,
            &Initializer::GlorotUniform,
            None,
            &Initializer::Zeros,
            None,
        )
        .expect("dense");
    model.compiled = Some(Compiled {
        loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
        metrics: vec![Metric::new(
            "accuracy",
            MetricKind::SparseCategoricalAccuracy,
        )],
        optimizer: Optimizer::new(
            OptimizerKind::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            0.001,
        ),
    });
    model
}

/// Times each layer's forward and backward pass over `repeats` steps inside
/// the engine's pool, and prints the fastest time of each in milliseconds
/// (the minimum is the least disturbed by other load). The batch has 128
/// samples, or `PROFILE_BATCH`. The output gradient is a fixed pattern, not
/// a loss gradient.
fn profile_layers(model: &mut Model, x: &[f32], repeats: usize) {
    let batch: usize = std::env::var("PROFILE_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(128);
    model.ensure_plan(batch, true, 1);
    let mut plan = std::mem::take(model.plan_mut());
    plan.input[..batch * 784].copy_from_slice(&x[..batch * 784]);
    let layers = model.layers();
    let count = layers.len();
    let mut forward = vec![f64::INFINITY; count];
    let mut backward = vec![f64::INFINITY; count];
    let mut rng = StdRng::seed_from_u64(0);
    engine::pool::install(|| {
        for _ in 0..repeats {
            for (i, layer) in layers.iter().enumerate() {
                let (before, after) = plan.outputs.split_at_mut(i);
                let input: &[f32] = if i == 0 { &plan.input } else { &before[i - 1] };
                let mut ctx = ForwardCtx {
                    training: true,
                    rng: &mut rng,
                };
                let start = Instant::now();
                layer.forward(input, batch, &mut after[0], &mut plan.scratch[i], &mut ctx);
                forward[i] = forward[i].min(start.elapsed().as_secs_f64());
            }
            let last = plan.output_grads.len() - 1;
            for (k, g) in plan.output_grads[last].iter_mut().enumerate() {
                *g = ((k % 7) as f32 - 3.0) * 1e-3;
            }
            for i in (0..count).rev() {
                let (grads_before, grads_after) = plan.output_grads.split_at_mut(i);
                let dx = if i > 0 {
                    Some(&mut grads_before[i - 1][..])
                } else {
                    None
                };
                let input: &[f32] = if i == 0 {
                    &plan.input
                } else {
                    &plan.outputs[i - 1]
                };
                let start = Instant::now();
                layers[i].backward_in(
                    BackwardArgs {
                        batch,
                        x: input,
                        y: &plan.outputs[i],
                        scratch: &plan.scratch[i],
                        dy: &mut grads_after[0],
                        dy_is_preactivation: false,
                        dx,
                        grads: &mut plan.param_grads[i],
                    },
                    &mut plan.workspace[i],
                );
                backward[i] = backward[i].min(start.elapsed().as_secs_f64());
            }
        }
    });
    for (i, layer) in layers.iter().enumerate() {
        println!(
            "layer={} forward_ms={:.3} backward_ms={:.3}",
            layer.name(),
            forward[i] * 1e3,
            backward[i] * 1e3
        );
    }
    println!(
        "step forward_ms={:.3} backward_ms={:.3}",
        forward.iter().sum::<f64>() * 1e3,
        backward.iter().sum::<f64>() * 1e3
    );
    *model.plan_mut() = plan;
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let epochs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(2);
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(60000);
    engine::pool::set_threads(threads).expect("threads");
    let x: Vec<f32> = (0..n * 784)
        .map(|i| ((i * 7919) % 255) as f32 / 255.0)
        .collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 10) as f32).collect();
    let mut model = cnn();
    profile_layers(&mut model, &x, 20);
    let config = FitConfig {
        batch_size: 128,
        epochs,
        initial_epoch: 0,
        shuffle: true,
        validation_split: 0.0,
        verbose: 0,
        unicode: false,
    };
    let history =
        train::fit(&mut model, Data::new(&x, &y, n), None, &config, &mut Silent).expect("fit");
    let gflops: Vec<String> = history
        .seconds
        .iter()
        .map(|s| format!("{:.1}", TRAIN_FLOP_PER_SAMPLE * n as f64 / s / 1e9))
        .collect();
    println!(
        "threads={threads} samples={n} epoch_seconds={:?} gflops={gflops:?}",
        history.seconds
    );
}
