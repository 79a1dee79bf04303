//! Bindings of the image resampling and augmentation layers. The R side
//! checks the arguments; these functions convert them and leave the
//! remaining checks (shapes, ranges) to the engine.

use extendr_api::prelude::*;
use extendr_api::Result;

use engine::layers::affine::{add_random_affine, AffineKind, FillMode, Range, Sampling};
use engine::layers::augment::{add_random_contrast, add_random_flip, FlipMode};
use engine::layers::resize::{
    add_center_crop, add_resizing, add_upsampling_bilinear, AspectRatio, Interpolation,
    ResizeConfig,
};

use crate::errors::{engine_err, guard, r_error};
use crate::{seed_of, with_model};

/// Converts an R double to a size; negative and non-finite values become 0,
/// which the engine rejects with a message naming the argument.
fn size(value: f64) -> usize {
    if value.is_finite() && value > 0.0 {
        value as usize
    } else {
        0
    }
}

/// Reads a `(lower, upper)` pair from two R doubles.
fn range(values: &[f64], arg: &str) -> Result<Range> {
    match values {
        [lower, upper] => Ok((*lower as f32, *upper as f32)),
        _ => Err(r_error(&format!(
            "`{arg}` must be two numbers c(lower, upper), got {} numbers",
            values.len()
        ))),
    }
}

/// Appends a Resizing layer. `aspect` is "stretch", "crop" or "pad".
/// @noRd
#[extendr]
fn rs_add_resizing(
    model: Robj,
    name: &str,
    height: f64,
    width: f64,
    interpolation: &str,
    aspect: &str,
    fill_value: f64,
) -> Result<()> {
    guard(|| {
        let aspect = match aspect {
            "stretch" => AspectRatio::Stretch,
            "crop" => AspectRatio::Crop,
            "pad" => AspectRatio::Pad,
            other => {
                return Err(r_error(&format!(
                    "unknown aspect ratio handling \"{other}\""
                )))
            }
        };
        let config = ResizeConfig {
            height: size(height),
            width: size(width),
            interpolation: Interpolation::from_name(interpolation).map_err(engine_err)?,
            aspect,
            fill_value: fill_value as f32,
        };
        with_model(&model, |m| {
            add_resizing(m, name, &config).map_err(engine_err)
        })
    })
}

/// Appends a CenterCrop layer.
/// @noRd
#[extendr]
fn rs_add_center_crop(model: Robj, name: &str, height: f64, width: f64) -> Result<()> {
    guard(|| {
        with_model(&model, |m| {
            add_center_crop(m, name, size(height), size(width)).map_err(engine_err)
        })
    })
}

/// Appends an UpSampling2D layer with bilinear interpolation. `factors`
/// contains the height and width factors of keras's `size`.
/// @noRd
#[extendr]
fn rs_add_upsampling_bilinear(model: Robj, name: &str, factors: Vec<f64>) -> Result<()> {
    guard(|| {
        let [height, width] = factors[..] else {
            return Err(r_error("`size` must be two integers"));
        };
        with_model(&model, |m| {
            add_upsampling_bilinear(m, name, [size(height), size(width)]).map_err(engine_err)
        })
    })
}

/// Appends a RandomFlip layer. A negative `seed` draws from the model's generator.
/// @noRd
#[extendr]
fn rs_add_random_flip(model: Robj, name: &str, mode: &str, seed: f64) -> Result<()> {
    guard(|| {
        let mode = FlipMode::from_name(mode).map_err(engine_err)?;
        with_model(&model, |m| {
            add_random_flip(m, name, mode, seed_of(seed)).map_err(engine_err)
        })
    })
}

/// Appends a RandomRotation, RandomTranslation or RandomZoom layer (`kind`
/// "rotation", "translation" or "zoom"). `height_factor` and `width_factor`
/// are `(lower, upper)` pairs; rotation reads only `height_factor`, and an
/// empty `width_factor` makes a zoom keep the aspect ratio.
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_add_random_affine(
    model: Robj,
    name: &str,
    kind: &str,
    height_factor: Vec<f64>,
    width_factor: Vec<f64>,
    fill_mode: &str,
    interpolation: &str,
    fill_value: f64,
    seed: f64,
) -> Result<()> {
    guard(|| {
        let kind = match kind {
            "rotation" => AffineKind::Rotation {
                factor: range(&height_factor, "factor")?,
            },
            "translation" => AffineKind::Translation {
                height: range(&height_factor, "height_factor")?,
                width: range(&width_factor, "width_factor")?,
            },
            "zoom" => AffineKind::Zoom {
                height: range(&height_factor, "height_factor")?,
                width: if width_factor.is_empty() {
                    None
                } else {
                    Some(range(&width_factor, "width_factor")?)
                },
            },
            other => return Err(r_error(&format!("unknown affine layer \"{other}\""))),
        };
        let sampling = Sampling {
            fill_mode: FillMode::from_name(fill_mode).map_err(engine_err)?,
            interpolation: Interpolation::from_name(interpolation).map_err(engine_err)?,
            fill_value: fill_value as f32,
        };
        with_model(&model, |m| {
            add_random_affine(m, name, kind, sampling, seed_of(seed)).map_err(engine_err)
        })
    })
}

/// Appends a RandomContrast layer. `factor` is keras's `(lower, upper)`
/// pair, drawing contrast factors from `[1 - lower, 1 + upper]`.
/// @noRd
#[extendr]
fn rs_add_random_contrast(
    model: Robj,
    name: &str,
    factor: Vec<f64>,
    value_range: Vec<f64>,
    seed: f64,
) -> Result<()> {
    guard(|| {
        let factor = range(&factor, "factor")?;
        let value_range = range(&value_range, "value_range")?;
        with_model(&model, |m| {
            add_random_contrast(m, name, factor, value_range, seed_of(seed)).map_err(engine_err)
        })
    })
}

extendr_module! {
    mod image;
    fn rs_add_resizing;
    fn rs_add_center_crop;
    fn rs_add_upsampling_bilinear;
    fn rs_add_random_flip;
    fn rs_add_random_affine;
    fn rs_add_random_contrast;
}
