//! Convolution and pooling layers split their work into chunks of samples
//! whose size does not depend on the number of threads, and combine
//! per-chunk gradient sums in chunk order. Training and prediction must
//! therefore give bitwise identical results with 1, 2 and 3 threads (one
//! thread takes the serial path, more threads the parallel one).
//!
//! This file is its own test binary because it changes the engine's global
//! thread count.

mod common;

use common::spread;
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::conv::{add_conv, ConvConfig};
use engine::layers::pooling::{add_global_pool, add_pool, PoolConfig, PoolKind};
use engine::layers::window::Padding;
use engine::losses::Loss;
use engine::model::{Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use engine::train::{self, Data, FitConfig, Silent};

/// Conv(8, 3x3, relu) - MaxPool(2) - Conv(16, 3x3, groups 2, same, relu) -
/// AveragePool(2) - Conv(8, 1x1) - GlobalMaxPool - Dense(4, softmax), with
/// Adam and sparse categorical crossentropy.
fn network() -> Model {
    let mut model = Model::new("cnn", vec![18, 16, 2], 42).expect("model");
    let conv =
        |filters: usize, kernel: usize, padding: Padding, groups: usize, activation| ConvConfig {
            rank: 2,
            filters,
            kernel_size: vec![kernel, kernel],
            strides: vec![1, 1],
            padding,
            dilation_rate: vec![1, 1],
            groups,
            activation,
            use_bias: true,
        };
    let pool = |kind| PoolConfig {
        kind,
        rank: 2,
        pool_size: vec![2, 2],
        strides: vec![2, 2],
        padding: Padding::Valid,
    };
    let glorot = (Initializer::GlorotUniform, None);
    let zeros = (Initializer::Zeros, None);
    let small = (
        Initializer::RandomUniform {
            minval: -0.1,
            maxval: 0.1,
        },
        None,
    );
    let relu = Activation::RELU;
    add_conv(
        &mut model,
        "conv",
        &conv(8, 3, Padding::Valid, 1, relu),
        &glorot,
        &small,
    )
    .unwrap();
    add_pool(&mut model, "pool", &pool(PoolKind::Max)).unwrap();
    add_conv(
        &mut model,
        "conv_1",
        &conv(16, 3, Padding::Same, 2, relu),
        &glorot,
        &zeros,
    )
    .unwrap();
    add_pool(&mut model, "pool_1", &pool(PoolKind::Average)).unwrap();
    let linear = Activation::Linear;
    add_conv(
        &mut model,
        "conv_2",
        &conv(8, 1, Padding::Valid, 1, linear),
        &glorot,
        &small,
    )
    .unwrap();
    add_global_pool(&mut model, "global", PoolKind::Max, 2, false).unwrap();
    model
        .add_dense(
            "dense",
            4,
            Activation::Softmax,
            true,
            &Initializer::GlorotUniform,
            None,
            &Initializer::Zeros,
            None,
        )
        .unwrap();
    model.compiled = Some(Compiled {
        loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
        metrics: Vec::new(),
        optimizer: Optimizer::new(
            OptimizerKind::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            0.01,
        ),
    });
    model
}

fn weight_bits(model: &Model) -> Vec<u32> {
    model
        .weights()
        .iter()
        .flat_map(|p| p.value.iter().map(|v| v.to_bits()))
        .collect()
}

/// Trains two epochs and returns the weights and the predictions. At batch
/// size 96 the steps run in the pool (see `train::fit`) and every layer splits
/// its work into several chunks.
fn train_and_predict(threads: usize) -> (Vec<u32>, Vec<u32>) {
    engine::pool::set_threads(threads).unwrap();
    let n = 200;
    let x = spread(n * 18 * 16 * 2, 1.0, 3);
    let y: Vec<f32> = (0..n).map(|i| ((i * 7) % 4) as f32).collect();
    let mut model = network();
    let config = FitConfig {
        batch_size: 96,
        epochs: 2,
        initial_epoch: 0,
        shuffle: true,
        validation_split: 0.0,
        verbose: 0,
        unicode: false,
    };
    let data = Data::new(&x, &y, n);
    let history = train::fit(&mut model, data, None, &config, &mut Silent).unwrap();
    let losses = &history.values[0];
    assert!(losses.iter().all(|l| l.is_finite()), "losses {losses:?}");
    let predictions = train::predict(&mut model, &x, n, 64).unwrap();
    (
        weight_bits(&model),
        predictions.iter().map(|v| v.to_bits()).collect(),
    )
}

#[test]
fn training_is_bitwise_identical_across_thread_counts() {
    let (weights_1, predictions_1) = train_and_predict(1);
    let (weights_2, predictions_2) = train_and_predict(2);
    let (weights_3, predictions_3) = train_and_predict(3);
    assert_eq!(
        weights_1, weights_2,
        "weights differ between 1 and 2 threads"
    );
    assert_eq!(
        weights_1, weights_3,
        "weights differ between 1 and 3 threads"
    );
    assert_eq!(
        predictions_1, predictions_2,
        "predictions differ between 1 and 2 threads"
    );
    assert_eq!(
        predictions_1, predictions_3,
        "predictions differ between 1 and 3 threads"
    );
}
