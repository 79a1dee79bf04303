//! Times training steps of the Fashion-MNIST MLP (784-256-128-10, Adam,
//! batch 128) on random data, without R: `cargo run --release -p engine
//! --example mlp_step -- [threads] [steps]`.

use engine::activations::Activation;
use engine::init::Initializer;
use engine::losses::Loss;
use engine::metrics::{Metric, MetricKind};
use engine::model::{Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use engine::train::{self, Data, FitConfig, Silent};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let epochs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3);
    engine::pool::set_threads(threads).expect("threads");
    let n = 60000;
    let x: Vec<f32> = (0..n * 784)
        .map(|i| ((i * 7919) % 255) as f32 / 255.0)
        .collect();
    let y: Vec<f32> = (0..n).map(|i| (i % 10) as f32).collect();
    let mut model = Model::new("mlp", vec![784], 1).expect("model");
    let glorot = Initializer::GlorotUniform;
    for (i, (units, act)) in [
        (256, Activation::RELU),
        (128, Activation::RELU),
        (10, Activation::Softmax),
    ]
    .into_iter()
    .enumerate()
    {
        model
            .add_dense(
                &format!("dense_{i}"),
                units,
                act,
                true,
                &glorot,
                None,
                &Initializer::Zeros,
                None,
            )
            .expect("dense");
    }
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
    println!("threads={threads} epoch_seconds={:?}", history.seconds);
}
