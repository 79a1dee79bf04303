//! Image resampling and augmentation layers against Keras 3.
//!
//! `tests/golden/image.json` was written by `tools/golden/make_golden_image.py`
//! with keras 3.15.1 (TensorFlow backend), tensorflow 2.21.0 and numpy 2.4.6
//! on CPU. For Resizing, CenterCrop and bilinear UpSampling2D it contains
//! outputs and the input gradients of `sum(output * output_weights)` from
//! `tf.GradientTape`. For `keras.ops.image.affine_transform` it contains
//! outputs under fixed transforms. For the random layers it contains the
//! factors keras drew and the outputs keras computed from them.

mod common;

use common::{assert_all_close, load_golden, numbers, numbers_f32, usizes};
use engine::layers::affine::{
    affine_transform, rotation_transform, translation_transform, zoom_transform, FillMode, Sampling,
};
use engine::layers::augment::{adjust_contrast, flip_image, FlipMode};
use engine::layers::resize::{AspectRatio, Interpolation, Resample, ResizeConfig};
use engine::layers::{BackwardArgs, ForwardCtx, Layer};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::Value;

/// Tolerances: every output value is a sum of at most four products of
/// values below 1.3 in magnitude, with weights computed in f32.
const RTOL: f64 = 1e-5;
const ATOL: f64 = 2e-6;

fn load() -> Value {
    load_golden("image.json")
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key].as_str().expect("a string")
}

/// Runs `layer` forward and backward on a fixed case and compares the
/// output and the input gradient with keras's.
fn check_fixed_case(description: &str, layer: &dyn Layer, case: &Value) {
    let shape = usizes(&case["input_shape"]);
    let batch = shape[0];
    assert_eq!(
        layer.output_shape(),
        &usizes(&case["output_shape"])[1..],
        "{description}: output shape"
    );
    let x = numbers_f32(&case["input"]);
    let out_len = batch * layer.output_shape().iter().product::<usize>();
    let mut y = vec![0.0; out_len];
    let mut scratch = vec![0.0; batch * layer.scratch_per_sample()];
    let mut rng = StdRng::seed_from_u64(0);
    let mut ctx = ForwardCtx {
        training: false,
        rng: &mut rng,
    };
    layer.forward(&x, batch, &mut y, &mut scratch, &mut ctx);
    assert_all_close(
        &format!("{description}: output"),
        &y,
        &numbers(&case["output"]),
        RTOL,
        ATOL,
    );

    let mut dy = numbers_f32(&case["output_weights"]);
    let mut dx = vec![f32::NAN; x.len()];
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
    assert_all_close(
        &format!("{description}: input gradient"),
        &dx,
        &numbers(&case["input_gradient"]),
        RTOL,
        ATOL,
    );
}

#[test]
fn resizing_matches_keras() {
    let golden = load();
    for (i, case) in golden["resizing"].as_array().unwrap().iter().enumerate() {
        let c = &case["config"];
        let aspect = if c["crop_to_aspect_ratio"].as_bool().unwrap() {
            AspectRatio::Crop
        } else if c["pad_to_aspect_ratio"].as_bool().unwrap() {
            AspectRatio::Pad
        } else {
            AspectRatio::Stretch
        };
        let config = ResizeConfig {
            height: c["height"].as_u64().unwrap() as usize,
            width: c["width"].as_u64().unwrap() as usize,
            interpolation: Interpolation::from_name(text(c, "interpolation")).unwrap(),
            aspect,
            fill_value: c["fill_value"].as_f64().unwrap() as f32,
        };
        let shape = usizes(&case["input_shape"]);
        let layer = Resample::resizing("resizing", &shape[1..], &config).expect("valid layer");
        check_fixed_case(&format!("resizing case {i} {c}"), &layer, case);
    }
}

#[test]
fn center_crop_matches_keras() {
    let golden = load();
    for (i, case) in golden["center_crop"].as_array().unwrap().iter().enumerate() {
        let c = &case["config"];
        let (height, width) = (
            c["height"].as_u64().unwrap() as usize,
            c["width"].as_u64().unwrap() as usize,
        );
        let shape = usizes(&case["input_shape"]);
        let layer =
            Resample::center_crop("center_crop", &shape[1..], height, width).expect("valid layer");
        check_fixed_case(&format!("center crop case {i} {c}"), &layer, case);
    }
}

#[test]
fn bilinear_upsampling_matches_keras() {
    let golden = load();
    for (i, case) in golden["upsampling_bilinear"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let size = usizes(&case["config"]["size"]);
        let shape = usizes(&case["input_shape"]);
        let layer = Resample::upsampling_bilinear("up_sampling2d", &shape[1..], [size[0], size[1]])
            .expect("valid layer");
        check_fixed_case(&format!("bilinear upsampling case {i}"), &layer, case);
    }
}

fn sampling_of(case: &Value) -> Sampling {
    Sampling {
        fill_mode: FillMode::from_name(text(case, "fill_mode")).unwrap(),
        interpolation: Interpolation::from_name(text(case, "interpolation")).unwrap(),
        fill_value: case["fill_value"].as_f64().unwrap() as f32,
    }
}

#[test]
fn affine_transform_matches_keras() {
    let golden = load();
    let cases = golden["affine"].as_array().unwrap();
    assert_eq!(cases.len(), 40);
    for case in cases {
        let description = format!(
            "affine {} fill_mode {} interpolation {}",
            text(case, "label"),
            text(case, "fill_mode"),
            text(case, "interpolation")
        );
        let shape = usizes(&case["shape"]);
        let x = numbers_f32(&case["input"]);
        let transform = numbers_f32(&case["transform"]);
        let mut y = vec![f32::NAN; x.len()];
        affine_transform(
            &x,
            [shape[0], shape[1], shape[2]],
            &transform,
            &sampling_of(case),
            &mut y,
        );
        assert_all_close(&description, &y, &numbers(&case["output"]), RTOL, ATOL);
    }
}

/// Applies one transform per sample, built by `transform_of(sample)`, to the
/// case's input and compares with keras's output.
fn check_random_case(case: &Value, transform_of: impl Fn(usize, usize, usize) -> [f32; 6]) {
    let layer = text(case, "layer");
    let x = numbers_f32(&case["input"]);
    let (batch, height, width, channels) = (3, 5, 6, 2);
    let size = height * width * channels;
    assert_eq!(x.len(), batch * size);
    let sampling = sampling_of(case);
    let mut y = vec![f32::NAN; x.len()];
    for s in 0..batch {
        let t = transform_of(s, height, width);
        affine_transform(
            &x[s * size..(s + 1) * size],
            [height, width, channels],
            &t,
            &sampling,
            &mut y[s * size..(s + 1) * size],
        );
    }
    // The rotation matrices differ from keras's by f32 rounding of sin and
    // cos, which moves sample coordinates by about 1e-6 pixels.
    assert_all_close(layer, &y, &numbers(&case["output"]), 1e-4, 1e-5);
}

fn random_case<'a>(golden: &'a Value, layer: &str) -> &'a Value {
    golden["random_layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["layer"] == layer)
        .unwrap_or_else(|| panic!("no {layer} case"))
}

#[test]
fn rotation_transform_matches_keras() {
    let golden = load();
    let case = random_case(&golden, "RandomRotation");
    let degrees = numbers(&case["degrees"]);
    check_random_case(case, |s, h, w| rotation_transform(degrees[s] as f32, h, w));
}

#[test]
fn translation_transform_matches_keras() {
    let golden = load();
    let case = random_case(&golden, "RandomTranslation");
    let shifts = numbers(&case["shifts"]);
    check_random_case(case, |s, _, _| {
        translation_transform(shifts[2 * s] as f32, shifts[2 * s + 1] as f32)
    });
}

#[test]
fn zoom_transform_matches_keras() {
    let golden = load();
    let case = random_case(&golden, "RandomZoom");
    let zooms = numbers(&case["zooms"]);
    check_random_case(case, |s, h, w| {
        zoom_transform(zooms[2 * s] as f32, zooms[2 * s + 1] as f32, h, w)
    });
}

#[test]
fn contrast_matches_keras() {
    let golden = load();
    let case = random_case(&golden, "RandomContrast");
    let factors = numbers(&case["factors"]);
    let range = numbers(&case["value_range"]);
    let x = numbers_f32(&case["input"]);
    let size = 5 * 6 * 2;
    let mut y = vec![f32::NAN; x.len()];
    let mut mask = vec![0.0; x.len()];
    for (s, &f) in factors.iter().enumerate() {
        let at = s * size..(s + 1) * size;
        adjust_contrast(
            &x[at.clone()],
            [5, 6, 2],
            f as f32,
            (range[0] as f32, range[1] as f32),
            &mut y[at.clone()],
            &mut mask[at],
        );
    }
    assert_all_close("contrast", &y, &numbers(&case["output"]), RTOL, ATOL);
    // Factors up to 1.49 push some values of [0, 1] images past the range.
    assert!(mask.contains(&0.0), "no value was clipped");
}

#[test]
fn flip_matches_keras() {
    let golden = load();
    let cases = golden["random_layers"].as_array().unwrap();
    for case in cases.iter().filter(|c| c["layer"] == "RandomFlip") {
        let mode = FlipMode::from_name(text(case, "mode")).unwrap();
        let x = numbers_f32(&case["input"]);
        let size = 5 * 6 * 2;
        let mut y = vec![f32::NAN; x.len()];
        for (s, flip) in case["flips"].as_array().unwrap().iter().enumerate() {
            let at = s * size..(s + 1) * size;
            if flip.as_bool().unwrap() {
                flip_image(&x[at.clone()], [5, 6, 2], mode, &mut y[at]);
            } else {
                y[at.clone()].copy_from_slice(&x[at]);
            }
        }
        assert_all_close(text(case, "mode"), &y, &numbers(&case["output"]), 0.0, 0.0);
    }
}

#[test]
fn contrast_scalar_factor_range() {
    // keras 3.15 turns a single-number factor f into (lower, upper) =
    // (0, f), so it draws contrast factors from [1, 1 + f]; kerust's R
    // layer passes the same pair to the engine.
    let golden = load();
    let draws = &golden["contrast_scalar_draws"];
    let factor = draws["factor"].as_f64().unwrap();
    assert!(draws["min"].as_f64().unwrap() >= 1.0);
    assert!(draws["max"].as_f64().unwrap() <= 1.0 + factor);
    assert!(draws["max"].as_f64().unwrap() > 1.0 + 0.9 * factor);
}
