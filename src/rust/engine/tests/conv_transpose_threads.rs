//! The transposed, depthwise and separable convolutions split their work
//! into chunks of samples whose size does not depend on the number of
//! threads, and combine per-chunk gradient sums in chunk order. Training
//! and prediction must therefore give bitwise identical results with 1 and
//! 2 threads (one thread takes the serial path, two the parallel one).
//!
//! This file is its own test binary because it changes the engine's global
//! thread count.

mod common;

use common::spread;
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::conv_transpose::{add_conv_transpose, ConvTransposeConfig};
use engine::layers::depthwise::{add_depthwise_conv, DepthwiseConfig};
use engine::layers::separable::{add_separable_conv, SeparableConfig};
use engine::layers::window::Padding;
use engine::losses::Loss;
use engine::model::{Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use engine::train::{self, Data, FitConfig, Silent};

/// SeparableConv2D(8, 3x3, strides 2, same, relu) - DepthwiseConv2D(3x3,
/// depth_multiplier 2, tanh) - Conv2DTranspose(2, 3x3, strides 2, same) ->
/// an image of the input's size, with Adam and mean squared error.
fn network() -> Model {
    let mut model = Model::new("autoencoder", vec![16, 12, 2], 42).expect("model");
    let glorot = (Initializer::GlorotUniform, None);
    let small = (
        Initializer::RandomUniform {
            minval: -0.1,
            maxval: 0.1,
        },
        None,
    );
    let depthwise = |stride: usize, multiplier: usize, activation| DepthwiseConfig {
        rank: 2,
        kernel_size: vec![3, 3],
        strides: vec![stride; 2],
        padding: Padding::Same,
        dilation_rate: vec![1, 1],
        depth_multiplier: multiplier,
        activation,
        use_bias: true,
    };
    let separable = SeparableConfig {
        depthwise: depthwise(2, 1, Activation::RELU),
        filters: 8,
    };
    add_separable_conv(
        &mut model,
        "sep",
        &separable,
        &[glorot.clone(), glorot.clone(), small.clone()],
    )
    .unwrap();
    add_depthwise_conv(
        &mut model,
        "dw",
        &depthwise(1, 2, Activation::Tanh),
        &glorot,
        &small,
    )
    .unwrap();
    let up = ConvTransposeConfig {
        rank: 2,
        filters: 2,
        kernel_size: vec![3, 3],
        strides: vec![2, 2],
        padding: Padding::Same,
        output_padding: None,
        dilation_rate: vec![1, 1],
        activation: Activation::Linear,
        use_bias: true,
    };
    add_conv_transpose(&mut model, "up", &up, &glorot, &small).unwrap();
    model.compiled = Some(Compiled {
        loss: Loss::MeanSquaredError,
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

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Trains two epochs and returns the weights and the predictions. At batch
/// size 96 the steps run in the pool (see `train::fit`) and every layer
/// splits its work into several chunks.
fn train_and_predict(threads: usize) -> (Vec<u32>, Vec<u32>) {
    engine::pool::set_threads(threads).unwrap();
    let n = 200;
    let x = spread(n * 16 * 12 * 2, 1.0, 3);
    let mut model = network();
    assert_eq!(model.output_shape(), &[16, 12, 2]);
    let config = FitConfig {
        batch_size: 96,
        epochs: 2,
        initial_epoch: 0,
        shuffle: true,
        validation_split: 0.0,
        verbose: 0,
        unicode: false,
    };
    let data = Data::new(&x, &x, n);
    let history = train::fit(&mut model, data, None, &config, &mut Silent).unwrap();
    let losses = &history.values[0];
    assert!(losses.iter().all(|l| l.is_finite()), "losses {losses:?}");
    assert!(losses[1] < losses[0], "losses {losses:?}");
    let predictions = train::predict(&mut model, &x, n, 64).unwrap();
    let weights: Vec<f32> = model
        .weights()
        .iter()
        .flat_map(|p| p.value.clone())
        .collect();
    (bits(&weights), bits(&predictions))
}

#[test]
fn training_is_bitwise_identical_across_thread_counts() {
    let (weights_1, predictions_1) = train_and_predict(1);
    let (weights_2, predictions_2) = train_and_predict(2);
    assert_eq!(
        weights_1, weights_2,
        "weights differ between 1 and 2 threads"
    );
    assert_eq!(
        predictions_1, predictions_2,
        "predictions differ between 1 and 2 threads"
    );
}
