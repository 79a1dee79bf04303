//! Resampling and augmentation layers: finite-difference gradient checks,
//! output shapes, identity in inference, the statistics of the random
//! draws, seeding, and the errors for bad settings.
//!
//! For a drawn transform every layer here is linear in its input (contrast
//! is piecewise linear through its clipping), so the central differences
//! are exact up to f32 rounding. Gradient checks of the random layers run
//! in training mode with one generator seed for every forward pass, so each
//! pass draws the same transforms.

mod common;

use common::{
    check_model_gradients, compile_mse, model_with_identity_input, spread, ModelCase, DEFAULT_CHECK,
};
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::affine::{add_random_affine, AffineKind, FillMode, RandomAffine, Sampling};
use engine::layers::augment::{
    add_random_contrast, add_random_flip, FlipMode, RandomContrast, RandomFlip,
};
use engine::layers::conv::{add_conv, ConvConfig};
use engine::layers::resize::{
    add_center_crop, add_resizing, add_upsampling_bilinear, AspectRatio, Interpolation, Resample,
    ResizeConfig,
};
use engine::layers::window::Padding;
use engine::layers::{ForwardCtx, Layer};
use engine::model::Model;
use rand::rngs::StdRng;
use rand::SeedableRng;

/// Checks the input gradient of the layer that `add` appends, on 3 samples
/// of inputs in [-1, 1], in training mode.
fn check_layer(description: &str, input: &[usize], add: impl FnOnce(&mut Model)) {
    let mut model = model_with_identity_input(input);
    add(&mut model);
    compile_mse(&mut model);
    let batch = 3;
    let in_size: usize = input.iter().product();
    let out_size: usize = model.output_shape().iter().product();
    let x = spread(batch * in_size, 1.0, 3);
    let target = spread(batch * out_size, 0.5, 17);
    let case = ModelCase {
        input: &x,
        target: &target,
        batch,
        training: true,
        rng_seed: 23,
    };
    check_model_gradients(description, &mut model, &case, DEFAULT_CHECK);
}

const INTERPOLATIONS: [Interpolation; 2] = [Interpolation::Bilinear, Interpolation::Nearest];
const FILL_MODES: [FillMode; 4] = [
    FillMode::Reflect,
    FillMode::Wrap,
    FillMode::Constant,
    FillMode::Nearest,
];

#[test]
fn resizing_gradients() {
    let aspects = [AspectRatio::Stretch, AspectRatio::Crop, AspectRatio::Pad];
    for interpolation in INTERPOLATIONS {
        for aspect in aspects {
            for (input, (height, width)) in [([4, 6, 2], (3, 3)), ([3, 2, 1], (5, 7))] {
                let config = ResizeConfig {
                    height,
                    width,
                    interpolation,
                    aspect,
                    fill_value: 0.5,
                };
                let description =
                    format!("resizing {input:?} to {height}x{width} {interpolation:?} {aspect:?}");
                check_layer(&description, &input, |m| {
                    add_resizing(m, "resizing", &config).expect("valid layer")
                });
            }
        }
    }
}

#[test]
fn center_crop_and_upsampling_gradients() {
    for (input, (height, width)) in [
        ([5, 6, 2], (3, 4)),
        ([3, 4, 1], (5, 5)),
        ([6, 3, 1], (4, 5)),
    ] {
        check_layer(
            &format!("center crop {input:?} to {height}x{width}"),
            &input,
            |m| add_center_crop(m, "center_crop", height, width).expect("valid layer"),
        );
    }
    check_layer("bilinear upsampling", &[3, 2, 2], |m| {
        add_upsampling_bilinear(m, "up_sampling2d", [2, 3]).expect("valid layer")
    });
}

#[test]
fn random_flip_gradients() {
    for mode in [
        FlipMode::Horizontal,
        FlipMode::Vertical,
        FlipMode::HorizontalAndVertical,
    ] {
        check_layer(&format!("random flip {mode:?}"), &[3, 4, 2], |m| {
            add_random_flip(m, "random_flip", mode, None).expect("valid layer")
        });
    }
}

#[test]
fn random_affine_gradients() {
    let kinds = [
        AffineKind::Rotation {
            factor: (0.05, 0.4),
        },
        AffineKind::Translation {
            height: (-0.6, 0.6),
            width: (-0.3, 0.5),
        },
        AffineKind::Zoom {
            height: (-0.5, 0.8),
            width: None,
        },
        AffineKind::Zoom {
            height: (-0.5, 0.8),
            width: Some((0.2, 0.9)),
        },
    ];
    for kind in kinds {
        for fill_mode in FILL_MODES {
            for interpolation in INTERPOLATIONS {
                let sampling = Sampling {
                    fill_mode,
                    interpolation,
                    fill_value: 0.3,
                };
                let description = format!("{kind:?} {fill_mode:?} {interpolation:?}");
                check_layer(&description, &[5, 4, 2], |m| {
                    add_random_affine(m, "random_affine", kind, sampling, None)
                        .expect("valid layer")
                });
            }
        }
    }
}

#[test]
fn random_contrast_gradients_without_clipping() {
    check_layer("random contrast", &[3, 4, 2], |m| {
        add_random_contrast(m, "random_contrast", (0.5, 0.5), (-10.0, 10.0), None)
            .expect("valid layer")
    });
}

#[test]
fn random_contrast_gradients_with_clipping() {
    // Bounds between output values, at least 0.02 from any of them, so the
    // finite-difference steps (0.01) never move a value across a bound.
    let input = [3, 4, 2];
    let wide = run_training_forward(&input, 23, |m| {
        add_random_contrast(m, "random_contrast", (0.5, 0.5), (-10.0, 10.0), None).unwrap()
    });
    let mut sorted = wide.clone();
    sorted.sort_by(f32::total_cmp);
    let gap_near = |at: usize| {
        (at..sorted.len() - 1)
            .find(|&i| sorted[i + 1] - sorted[i] > 0.04)
            .map(|i| (sorted[i] + sorted[i + 1]) / 2.0)
            .expect("a gap between outputs")
    };
    let low = gap_near(sorted.len() / 5);
    let high = gap_near(sorted.len() * 4 / 5);
    check_layer("random contrast with clipping", &input, |m| {
        add_random_contrast(m, "random_contrast", (0.5, 0.5), (low, high), None)
            .expect("valid layer")
    });
}

#[test]
fn augmentation_inside_a_network_gradients() {
    // Conv2D -> RandomRotation -> RandomContrast -> Resizing -> Conv2D:
    // the weight gradients of both convolutions pass through the adjoints
    // of the transforms drawn in the forward pass.
    let conv = |filters| ConvConfig {
        rank: 2,
        filters,
        kernel_size: vec![3, 3],
        strides: vec![1, 1],
        padding: Padding::Same,
        dilation_rate: vec![1, 1],
        groups: 1,
        activation: Activation::Linear,
        use_bias: true,
    };
    let init = |seed| {
        (
            Initializer::RandomUniform {
                minval: -0.5,
                maxval: 0.5,
            },
            Some(seed),
        )
    };
    let sampling = Sampling {
        fill_mode: FillMode::Reflect,
        interpolation: Interpolation::Bilinear,
        fill_value: 0.0,
    };
    let resize = ResizeConfig {
        height: 4,
        width: 3,
        interpolation: Interpolation::Bilinear,
        aspect: AspectRatio::Stretch,
        fill_value: 0.0,
    };
    check_layer("conv, augmentation, conv", &[6, 5, 2], |m| {
        add_conv(m, "conv", &conv(3), &init(1), &init(2)).unwrap();
        let rotation = AffineKind::Rotation { factor: (0.1, 0.2) };
        add_random_affine(m, "rotation", rotation, sampling, None).unwrap();
        add_random_contrast(m, "contrast", (0.5, 0.5), (-10.0, 10.0), None).unwrap();
        add_resizing(m, "resizing", &resize).unwrap();
        add_conv(m, "conv_1", &conv(2), &init(3), &init(4)).unwrap();
    });
}

/// Runs one training forward pass of `identity -> layer` on the gradient
/// check's input and returns the output.
fn run_training_forward(input: &[usize], seed: u64, add: impl FnOnce(&mut Model)) -> Vec<f32> {
    let mut model = model_with_identity_input(input);
    add(&mut model);
    compile_mse(&mut model);
    let batch = 3;
    let in_size: usize = input.iter().product();
    model.ensure_plan(batch, true, in_size);
    let x = spread(batch * in_size, 1.0, 3);
    model.plan_mut().input[..x.len()].copy_from_slice(&x);
    let mut rng = StdRng::seed_from_u64(seed);
    model.forward(batch, true, &mut rng);
    model.output(batch).to_vec()
}

/// Runs `layer` forward on `batch` samples of `x` and returns the output
/// and the scratch values.
fn run(
    layer: &dyn Layer,
    x: &[f32],
    batch: usize,
    training: bool,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let out_len = batch * layer.output_shape().iter().product::<usize>();
    let mut y = vec![f32::NAN; out_len];
    let mut scratch = vec![f32::NAN; batch * layer.scratch_per_sample()];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ctx = ForwardCtx {
        training,
        rng: &mut rng,
    };
    layer.forward(x, batch, &mut y, &mut scratch, &mut ctx);
    (y, scratch)
}

fn bilinear_reflect() -> Sampling {
    Sampling {
        fill_mode: FillMode::Reflect,
        interpolation: Interpolation::Bilinear,
        fill_value: 0.0,
    }
}

fn random_layers(input: &[usize], seed: Option<u64>) -> Vec<Box<dyn Layer>> {
    let affine = |kind| {
        Box::new(RandomAffine::new("affine", input, kind, bilinear_reflect(), seed).unwrap())
            as Box<dyn Layer>
    };
    vec![
        Box::new(RandomFlip::new("flip", input, FlipMode::HorizontalAndVertical, seed).unwrap()),
        affine(AffineKind::Rotation {
            factor: (-0.2, 0.3),
        }),
        affine(AffineKind::Translation {
            height: (-0.2, 0.2),
            width: (0.1, 0.3),
        }),
        affine(AffineKind::Zoom {
            height: (-0.3, 0.3),
            width: None,
        }),
        Box::new(RandomContrast::new("contrast", input, (0.4, 0.4), (-5.0, 5.0), seed).unwrap()),
    ]
}

#[test]
fn random_layers_are_identity_in_inference() {
    let input = [4, 5, 3];
    let x = spread(6 * 60, 1.0, 1);
    for layer in random_layers(&input, None) {
        let (y, _) = run(layer.as_ref(), &x, 6, false, 1);
        assert_eq!(y, x, "{} in inference", layer.class_name());
        let (y, _) = run(layer.as_ref(), &x, 6, true, 1);
        assert_ne!(y, x, "{} in training", layer.class_name());
    }
}

#[test]
fn random_layers_follow_the_generators() {
    let input = [4, 5, 3];
    let x = spread(6 * 60, 1.0, 1);
    // Without a seed the draws come from the model's generator.
    for layer in random_layers(&input, None) {
        let name = layer.class_name();
        assert_eq!(
            run(layer.as_ref(), &x, 6, true, 9).0,
            run(layer.as_ref(), &x, 6, true, 9).0,
            "{name}"
        );
        assert_ne!(
            run(layer.as_ref(), &x, 6, true, 9).0,
            run(layer.as_ref(), &x, 6, true, 10).0,
            "{name}"
        );
    }
    // With a seed they come from the layer's own generator, which moves on.
    let first = random_layers(&input, Some(4));
    let second = random_layers(&input, Some(4));
    for (a, b) in first.iter().zip(&second) {
        let name = a.class_name();
        let (y1, _) = run(a.as_ref(), &x, 6, true, 1);
        assert_eq!(y1, run(b.as_ref(), &x, 6, true, 2).0, "{name}: same seed");
        assert_ne!(y1, run(a.as_ref(), &x, 6, true, 1).0, "{name}: second call");
    }
}

/// Mean and extremes of `values`.
fn summary(values: &[f32]) -> (f64, f32, f32) {
    let mean = values.iter().map(|&v| v as f64).sum::<f64>() / values.len() as f64;
    let min = values.iter().copied().fold(f32::INFINITY, f32::min);
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    (mean, min, max)
}

/// Checks draws from a uniform distribution on `[low, high]`: all inside,
/// both ends approached within 2% of the width, and the mean within four
/// standard errors of the midpoint.
fn assert_uniform(description: &str, values: &[f32], low: f32, high: f32) {
    let (mean, min, max) = summary(values);
    let width = (high - low) as f64;
    assert!(
        min >= low - 1e-4 && max <= high + 1e-4,
        "{description}: range [{min}, {max}]"
    );
    assert!(
        (min - low) as f64 <= 0.02 * width,
        "{description}: min {min}"
    );
    assert!(
        (high - max) as f64 <= 0.02 * width,
        "{description}: max {max}"
    );
    let standard_error = width / (12.0 * values.len() as f64).sqrt();
    let middle = (low + high) as f64 / 2.0;
    assert!(
        (mean - middle).abs() < 4.0 * standard_error,
        "{description}: mean {mean}"
    );
}

const DRAWS: usize = 4000;

#[test]
fn flip_frequency_is_one_half() {
    let input = [1, 2, 1];
    let layer = RandomFlip::new("flip", &input, FlipMode::Horizontal, Some(31)).unwrap();
    let x: Vec<f32> = (0..DRAWS).flat_map(|_| [0.0, 1.0]).collect();
    let (y, _) = run(&layer, &x, DRAWS, true, 0);
    let flipped = y.chunks(2).filter(|s| s == &[1.0, 0.0]).count();
    let kept = y.chunks(2).filter(|s| s == &[0.0, 1.0]).count();
    assert_eq!(flipped + kept, DRAWS);
    // Four standard deviations of a binomial(4000, 1/2) share: 0.032.
    let share = flipped as f64 / DRAWS as f64;
    assert!((share - 0.5).abs() < 0.032, "flipped share {share}");
}

#[test]
fn rotation_angles_are_uniform() {
    let input = [3, 3, 1];
    let kind = AffineKind::Rotation {
        factor: (-0.1, 0.25),
    };
    let layer = RandomAffine::new("rotation", &input, kind, bilinear_reflect(), Some(5)).unwrap();
    let x = vec![0.0; DRAWS * 9];
    let (_, transforms) = run(&layer, &x, DRAWS, true, 0);
    let degrees: Vec<f32> = transforms
        .chunks(6)
        .map(|t| t[3].atan2(t[0]).to_degrees())
        .collect();
    assert_uniform("rotation degrees", &degrees, -36.0, 90.0);
}

#[test]
fn translation_shifts_are_uniform() {
    let input = [10, 20, 1];
    let kind = AffineKind::Translation {
        height: (-0.3, 0.1),
        width: (0.2, 0.5),
    };
    let layer =
        RandomAffine::new("translation", &input, kind, bilinear_reflect(), Some(6)).unwrap();
    let x = vec![0.0; DRAWS * 200];
    let (_, transforms) = run(&layer, &x, DRAWS, true, 0);
    // The transform stores minus the shift in pixels.
    let dy: Vec<f32> = transforms.chunks(6).map(|t| -t[5] / 10.0).collect();
    let dx: Vec<f32> = transforms.chunks(6).map(|t| -t[2] / 20.0).collect();
    assert_uniform("height shift", &dy, -0.3, 0.1);
    assert_uniform("width shift", &dx, 0.2, 0.5);
}

#[test]
fn zoom_factors_are_uniform() {
    let input = [4, 4, 1];
    let x = vec![0.0; DRAWS * 16];
    let both = AffineKind::Zoom {
        height: (-0.5, 0.2),
        width: Some((0.1, 0.9)),
    };
    let layer = RandomAffine::new("zoom", &input, both, bilinear_reflect(), Some(7)).unwrap();
    let (_, transforms) = run(&layer, &x, DRAWS, true, 0);
    let zx: Vec<f32> = transforms.chunks(6).map(|t| t[0]).collect();
    let zy: Vec<f32> = transforms.chunks(6).map(|t| t[4]).collect();
    assert_uniform("height zoom", &zy, 0.5, 1.2);
    assert_uniform("width zoom", &zx, 1.1, 1.9);

    let tied = AffineKind::Zoom {
        height: (-0.5, 0.2),
        width: None,
    };
    let layer = RandomAffine::new("zoom", &input, tied, bilinear_reflect(), Some(7)).unwrap();
    let (_, transforms) = run(&layer, &x, DRAWS, true, 0);
    assert!(
        transforms.chunks(6).all(|t| t[0] == t[4]),
        "width zoom follows height zoom"
    );
}

#[test]
fn contrast_factors_are_uniform() {
    let input = [2, 2, 1];
    let layer = RandomContrast::new("contrast", &input, (0.3, 0.6), (0.0, 1.0), Some(8)).unwrap();
    let x = vec![0.5; DRAWS * 4];
    let (_, scratch) = run(&layer, &x, DRAWS, true, 0);
    let factors: Vec<f32> = scratch.chunks(5).map(|s| s[0]).collect();
    assert_uniform("contrast factor", &factors, 0.7, 1.6);
}

#[test]
fn resampling_output_shapes() {
    let config = |height, width, aspect| ResizeConfig {
        height,
        width,
        interpolation: Interpolation::Bilinear,
        aspect,
        fill_value: 0.0,
    };
    let resizing = Resample::resizing("r", &[28, 20, 3], &config(7, 9, AspectRatio::Pad)).unwrap();
    assert_eq!(resizing.output_shape(), &[7, 9, 3]);
    let crop = Resample::center_crop("c", &[28, 20, 3], 30, 5).unwrap();
    assert_eq!(crop.output_shape(), &[30, 5, 3]);
    let up = Resample::upsampling_bilinear("u", &[3, 5, 2], [2, 4]).unwrap();
    assert_eq!(up.output_shape(), &[6, 20, 2]);
    for layer in random_layers(&[6, 7, 3], None) {
        assert_eq!(layer.output_shape(), &[6, 7, 3], "{}", layer.class_name());
    }
}

#[test]
fn bad_settings_are_rejected() {
    let config = ResizeConfig {
        height: 0,
        width: 4,
        interpolation: Interpolation::Bilinear,
        aspect: AspectRatio::Stretch,
        fill_value: 0.0,
    };
    let error = |r: Result<Resample, engine::error::Error>| r.unwrap_err().to_string();
    assert!(error(Resample::resizing("r", &[4, 4, 1], &config))
        .contains("must be positive, got 0 and 4"));
    let config = ResizeConfig {
        height: 2,
        ..config
    };
    assert!(error(Resample::resizing("r", &[4, 4], &config)).contains("expects inputs of shape"));
    assert!(error(Resample::center_crop("c", &[4, 4, 1], 3, 0)).contains("got 3 and 0"));
    assert!(error(Resample::upsampling_bilinear("u", &[4, 4, 1], [0, 2])).contains("`size`"));

    let affine = |kind| {
        RandomAffine::new("a", &[4, 4, 1], kind, bilinear_reflect(), None)
            .unwrap_err()
            .to_string()
    };
    assert!(affine(AffineKind::Rotation {
        factor: (-1.5, 0.5)
    })
    .contains("`factor` must be in [-1, 1], got (-1.5, 0.5)"));
    assert!(affine(AffineKind::Translation {
        height: (0.0, 0.1),
        width: (0.0, 2.0)
    })
    .contains("`width_factor`"));
    assert!(affine(AffineKind::Zoom {
        height: (-1.0, 0.5),
        width: None
    })
    .contains("`height_factor` must be in (-1, 1]"));
    assert!(
        RandomContrast::new("c", &[4, 4, 1], (0.0, 1.5), (0.0, 1.0), None)
            .unwrap_err()
            .to_string()
            .contains("`factor` must be in [0, 1]")
    );
    assert!(RandomFlip::new("f", &[4, 0, 1], FlipMode::Vertical, None)
        .unwrap_err()
        .to_string()
        .contains("must be positive"));
    assert!(FillMode::from_name("mirror")
        .unwrap_err()
        .to_string()
        .contains("\"mirror\""));
    assert!(Interpolation::from_name("bicubic")
        .unwrap_err()
        .to_string()
        .contains("\"bicubic\""));
}
