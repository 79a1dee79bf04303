//! The image layers draw their random transforms one sample after another
//! on the calling thread, then resample one chunk per sample. Training with
//! augmentation must therefore give bitwise identical weights with 1, 2 and
//! 3 threads.
//!
//! This file is its own test binary because it changes the engine's global
//! thread count.

mod common;

use common::spread;
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::affine::{add_random_affine, AffineKind, FillMode, Sampling};
use engine::layers::augment::{add_random_contrast, add_random_flip, FlipMode};
use engine::layers::resize::{add_resizing, AspectRatio, Interpolation, ResizeConfig};
use engine::losses::Loss;
use engine::model::{Compiled, Model};
use engine::optim::{Optimizer, OptimizerKind};
use engine::train::{self, Data, FitConfig, Silent};

/// RandomFlip - RandomRotation - RandomZoom (own seed) - RandomContrast -
/// Resizing(12, 10) - Dense(3, softmax) on 24 x 24 x 3 images.
fn network() -> Model {
    let mut model = Model::new("augmented", vec![24, 24, 3], 42).expect("model");
    let sampling = Sampling {
        fill_mode: FillMode::Reflect,
        interpolation: Interpolation::Bilinear,
        fill_value: 0.0,
    };
    add_random_flip(&mut model, "flip", FlipMode::HorizontalAndVertical, None).unwrap();
    let rotation = AffineKind::Rotation {
        factor: (-0.2, 0.2),
    };
    add_random_affine(&mut model, "rotation", rotation, sampling, None).unwrap();
    let zoom = AffineKind::Zoom {
        height: (-0.3, 0.3),
        width: None,
    };
    add_random_affine(&mut model, "zoom", zoom, sampling, Some(3)).unwrap();
    add_random_contrast(&mut model, "contrast", (0.3, 0.3), (-1.0, 1.0), None).unwrap();
    let resize = ResizeConfig {
        height: 12,
        width: 10,
        interpolation: Interpolation::Bilinear,
        aspect: AspectRatio::Stretch,
        fill_value: 0.0,
    };
    add_resizing(&mut model, "resizing", &resize).unwrap();
    model.add_flatten("flatten").unwrap();
    model
        .add_dense(
            "dense",
            3,
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
            OptimizerKind::Sgd {
                momentum: 0.0,
                nesterov: false,
            },
            0.05,
        ),
    });
    model
}

/// Trains two epochs at batch size 64 and returns the bits of the weights.
/// A step costs about 64 * 8000 (activations and weights), above the
/// 2^18 that `train::fit` runs on the calling thread, so steps run in the
/// pool and the resampling layers split their work over its threads.
fn train(threads: usize) -> Vec<u32> {
    engine::pool::set_threads(threads).unwrap();
    let n = 150;
    let x = spread(n * 24 * 24 * 3, 1.0, 5);
    let y: Vec<f32> = (0..n).map(|i| ((i * 5) % 3) as f32).collect();
    let mut model = network();
    let config = FitConfig {
        batch_size: 64,
        epochs: 2,
        initial_epoch: 0,
        shuffle: true,
        validation_split: 0.0,
        verbose: 0,
        unicode: false,
    };
    let history = train::fit(&mut model, Data::new(&x, &y, n), None, &config, &mut Silent).unwrap();
    assert!(history.values[0].iter().all(|l| l.is_finite()));
    model
        .weights()
        .iter()
        .flat_map(|p| p.value.iter().map(|v| v.to_bits()))
        .collect()
}

#[test]
fn augmentation_is_identical_across_thread_counts() {
    let weights_1 = train(1);
    let weights_2 = train(2);
    let weights_3 = train(3);
    assert_eq!(
        weights_1, weights_2,
        "weights differ between 1 and 2 threads"
    );
    assert_eq!(
        weights_1, weights_3,
        "weights differ between 1 and 3 threads"
    );
}
