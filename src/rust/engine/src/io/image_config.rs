//! Keras configs of the transposed, separable and depthwise convolutions
//! (Conv1DTranspose/Conv2DTranspose, SeparableConv1D/2D,
//! DepthwiseConv1D/2D) and of the image resizing and augmentation layers
//! (Resizing, CenterCrop, bilinear UpSampling2D, RandomFlip,
//! RandomRotation, RandomTranslation, RandomZoom, RandomContrast).
//!
//! The keys and their forms are those that keras 3.15.1 writes for each
//! class, as `tools/golden/make_golden_layer_configs_image.py` prints them.
//! Reading accepts the forms of `conv_config.rs` and, for the augmentation
//! factors, one number `f` (the range `(-f, f)`, or `(0, f)` for
//! RandomContrast, as keras's constructors read it) or a pair.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::layers::affine::{add_random_affine, AffineKind, FillMode, Range, Sampling};
use crate::layers::augment::{add_random_contrast, add_random_flip, FlipMode};
use crate::layers::conv_transpose::{add_conv_transpose, ConvTransposeConfig};
use crate::layers::depthwise::{add_depthwise_conv, DepthwiseConfig};
use crate::layers::resize::{
    add_center_crop, add_resizing, add_upsampling_bilinear, AspectRatio, Interpolation,
    ResizeConfig,
};
use crate::layers::separable::{add_separable_conv, SeparableConfig};
use crate::layers::LayerSpec;
use crate::model::Model;

use super::conv_config::{rank_of, weight_regularizer, CHANNELS_LAST};
use super::keras_config::{
    activation_value, f32_value, initializer_value, invalid, regularizer_value, seed_value, Fields,
};

/// Returns a `(lower, upper)` range as keras writes a pair: `[lower, upper]`.
fn range_value(range: Range) -> Value {
    Value::from(vec![f32_value(range.0), f32_value(range.1)])
}

/// Returns `v` as an integer when it is one, as keras writes its default
/// `value_range = (0, 255)`, else as a float.
fn number_value(v: f32) -> Value {
    if v.fract() == 0.0 && v.abs() < 16_777_216.0 {
        Value::from(v as i64)
    } else {
        f32_value(v)
    }
}

/// Writes the keys of `spec`, a layer of this module, into the config of
/// layer `index` of `model`, and returns its Keras class name.
pub(super) fn write_layer(
    model: &Model,
    index: usize,
    spec: &LayerSpec,
    config: &mut Map<String, Value>,
) -> Result<&'static str> {
    let layer = model.layers()[index].as_ref();
    let mut set = |key: &str, value: Value| {
        config.insert(key.into(), value);
    };
    let regularizer = |weight: &str| weight_regularizer(model, index, weight);
    match spec {
        LayerSpec::ConvTranspose {
            config: conv,
            kernel_initializer,
            bias_initializer,
        } => {
            set("filters", Value::from(conv.filters));
            set("kernel_size", Value::from(conv.kernel_size.clone()));
            set("strides", Value::from(conv.strides.clone()));
            set("padding", Value::from(conv.padding.name()));
            set(
                "output_padding",
                conv.output_padding.clone().map_or(Value::Null, Value::from),
            );
            set("data_format", Value::from(CHANNELS_LAST));
            set("dilation_rate", Value::from(conv.dilation_rate.clone()));
            set(
                "activation",
                activation_value(layer.name(), conv.activation)?,
            );
            set("use_bias", Value::Bool(conv.use_bias));
            set("kernel_initializer", initializer_value(kernel_initializer));
            set("bias_initializer", initializer_value(bias_initializer));
            set("kernel_regularizer", regularizer("kernel"));
            set("bias_regularizer", regularizer("bias"));
            set(
                "activity_regularizer",
                regularizer_value(model.activity_regularizer(index)),
            );
            set("kernel_constraint", Value::Null);
            set("bias_constraint", Value::Null);
        }
        LayerSpec::DepthwiseConv {
            config: depthwise,
            depthwise_initializer,
            bias_initializer,
        } => {
            write_depthwise(&mut set, layer.name(), depthwise, None)?;
            set(
                "depthwise_initializer",
                initializer_value(depthwise_initializer),
            );
            set("bias_initializer", initializer_value(bias_initializer));
            // The depthwise kernel of DepthwiseConv is keras's weight `kernel`.
            set("depthwise_regularizer", regularizer("kernel"));
            set("bias_regularizer", regularizer("bias"));
            set(
                "activity_regularizer",
                regularizer_value(model.activity_regularizer(index)),
            );
            set("depthwise_constraint", Value::Null);
            set("bias_constraint", Value::Null);
        }
        LayerSpec::SeparableConv {
            config: separable,
            depthwise_initializer,
            pointwise_initializer,
            bias_initializer,
        } => {
            write_depthwise(
                &mut set,
                layer.name(),
                &separable.depthwise,
                Some(separable.filters),
            )?;
            set(
                "depthwise_initializer",
                initializer_value(depthwise_initializer),
            );
            set(
                "pointwise_initializer",
                initializer_value(pointwise_initializer),
            );
            set("bias_initializer", initializer_value(bias_initializer));
            set("depthwise_regularizer", regularizer("depthwise_kernel"));
            set("pointwise_regularizer", regularizer("pointwise_kernel"));
            set("bias_regularizer", regularizer("bias"));
            set(
                "activity_regularizer",
                regularizer_value(model.activity_regularizer(index)),
            );
            set("depthwise_constraint", Value::Null);
            set("pointwise_constraint", Value::Null);
            set("bias_constraint", Value::Null);
        }
        LayerSpec::Resizing(resize) => {
            set("data_format", Value::from(CHANNELS_LAST));
            set("height", Value::from(resize.height));
            set("width", Value::from(resize.width));
            set("interpolation", Value::from(resize.interpolation.name()));
            set(
                "crop_to_aspect_ratio",
                Value::Bool(resize.aspect == AspectRatio::Crop),
            );
            set(
                "pad_to_aspect_ratio",
                Value::Bool(resize.aspect == AspectRatio::Pad),
            );
            set("fill_mode", Value::from("constant"));
            set("fill_value", f32_value(resize.fill_value));
            set("antialias", Value::Bool(false));
        }
        LayerSpec::CenterCrop { height, width } => {
            set("data_format", Value::from(CHANNELS_LAST));
            set("height", Value::from(*height));
            set("width", Value::from(*width));
        }
        LayerSpec::BilinearUpSampling { size } => {
            set("size", Value::from(size.to_vec()));
            set("data_format", Value::from(CHANNELS_LAST));
            set("interpolation", Value::from("bilinear"));
        }
        LayerSpec::RandomFlip { mode, seed } => {
            set("data_format", Value::from(CHANNELS_LAST));
            set("seed", seed_value(*seed));
            set("mode", Value::from(mode.name()));
        }
        LayerSpec::RandomAffine {
            kind,
            sampling,
            seed,
        } => {
            set("data_format", Value::from(CHANNELS_LAST));
            match *kind {
                AffineKind::Rotation { factor } => set("factor", range_value(factor)),
                AffineKind::Translation { height, width } => {
                    set("height_factor", range_value(height));
                    set("width_factor", range_value(width));
                }
                AffineKind::Zoom { height, width } => {
                    set("height_factor", range_value(height));
                    set("width_factor", width.map_or(Value::Null, range_value));
                }
            }
            set("fill_mode", Value::from(sampling.fill_mode.name()));
            set("fill_value", f32_value(sampling.fill_value));
            set("interpolation", Value::from(sampling.interpolation.name()));
            set("seed", seed_value(*seed));
        }
        LayerSpec::RandomContrast {
            factor,
            value_range,
            seed,
        } => {
            set("data_format", Value::from(CHANNELS_LAST));
            set("factor", range_value(*factor));
            set(
                "value_range",
                Value::from(vec![
                    number_value(value_range.0),
                    number_value(value_range.1),
                ]),
            );
            set("seed", seed_value(*seed));
        }
        other => {
            return Err(Error::State(format!(
                "internal error: image_config cannot write {other:?}"
            )))
        }
    }
    Ok(layer.class_name())
}

/// Writes the keys that DepthwiseConv and SeparableConv share, with
/// `filters` for a separable layer.
fn write_depthwise(
    set: &mut impl FnMut(&str, Value),
    layer: &str,
    config: &DepthwiseConfig,
    filters: Option<usize>,
) -> Result<()> {
    set("depth_multiplier", Value::from(config.depth_multiplier));
    if let Some(filters) = filters {
        set("filters", Value::from(filters));
    }
    set("kernel_size", Value::from(config.kernel_size.clone()));
    set("strides", Value::from(config.strides.clone()));
    set("padding", Value::from(config.padding.name()));
    set("data_format", Value::from(CHANNELS_LAST));
    set("dilation_rate", Value::from(config.dilation_rate.clone()));
    set("activation", activation_value(layer, config.activation)?);
    set("use_bias", Value::Bool(config.use_bias));
    Ok(())
}

impl Fields<'_> {
    /// Reads `output_padding`: null, or one non-negative integer for every
    /// axis or one per axis.
    fn output_padding(&self, rank: usize) -> Result<Option<Vec<usize>>> {
        let count = |v: &Value| v.as_u64().and_then(|v| usize::try_from(v).ok());
        let values = match self.get("output_padding") {
            None => return Ok(None),
            Some(Value::Array(items)) if items.len() == rank => {
                items.iter().map(count).collect::<Option<Vec<_>>>()
            }
            Some(Value::Array(_)) => None,
            Some(v) => count(v).map(|n| vec![n; rank]),
        };
        values.map(Some).ok_or_else(|| {
            self.bad(
                "output_padding",
                &format!("null, a non-negative integer or a list of {rank} of them"),
            )
        })
    }

    /// Reads an augmentation factor within `bounds`: a pair, or one number
    /// `f` for the range `single(|f|)`.
    fn factor(&self, key: &str, bounds: Range, single: fn(f32) -> Range) -> Result<Range> {
        let expected = format!(
            "a number or a list of two numbers in [{}, {}]",
            bounds.0, bounds.1
        );
        let number = |v: &Value| v.as_f64().map(|v| v as f32);
        let range = match self.get(key) {
            Some(Value::Array(items)) if items.len() == 2 => {
                match (number(&items[0]), number(&items[1])) {
                    (Some(a), Some(b)) => Some((a.min(b), a.max(b))),
                    _ => None,
                }
            }
            Some(v) => number(v).map(|f| single(f.abs())),
            None => None,
        };
        let inside = |v: f32| v >= bounds.0 && v <= bounds.1;
        range
            .filter(|r| inside(r.0) && inside(r.1))
            .ok_or_else(|| self.bad(key, &expected))
    }

    /// Reads a name that `parse` accepts; `default` when missing.
    fn name_of<T>(&self, key: &str, default: T, parse: fn(&str) -> Result<T>) -> Result<T> {
        match self.get(key) {
            None => Ok(default),
            Some(Value::String(s)) => parse(s).map_err(|e| invalid(format!("{}: {e}", self.label))),
            Some(_) => Err(self.bad(key, "a string")),
        }
    }

    fn number_or(&self, key: &str, default: f64) -> Result<f64> {
        match self.get(key) {
            None => Ok(default),
            Some(_) => self.number(key),
        }
    }

    /// Reads the sampling keys of RandomRotation, RandomTranslation and
    /// RandomZoom, with keras's defaults.
    fn sampling(&self) -> Result<Sampling> {
        Ok(Sampling {
            fill_mode: self.name_of("fill_mode", FillMode::Reflect, FillMode::from_name)?,
            interpolation: self.name_of(
                "interpolation",
                Interpolation::Bilinear,
                Interpolation::from_name,
            )?,
            fill_value: self.number_or("fill_value", 0.0)? as f32,
        })
    }

    /// Reads the keys that DepthwiseConv and SeparableConv share.
    fn depthwise(&self, rank: usize) -> Result<DepthwiseConfig> {
        self.require_null(&[
            "depthwise_constraint",
            "pointwise_constraint",
            "bias_constraint",
        ])?;
        self.channels_last()?;
        Ok(DepthwiseConfig {
            rank,
            kernel_size: self.axes("kernel_size", rank, None)?,
            strides: self.axes("strides", rank, Some(1))?,
            padding: self.padding(false)?,
            dilation_rate: self.axes("dilation_rate", rank, Some(1))?,
            depth_multiplier: match self.get("depth_multiplier") {
                None => 1,
                Some(_) => self.count("depth_multiplier")?,
            },
            activation: self.activation("activation")?,
            use_bias: self.flag("use_bias", true)?,
        })
    }
}

/// Adds the layer of class `class_name` described by `f` to `model`, or
/// returns `None` when the class is not one of this module's.
pub(super) fn add_layer(
    model: &mut Model,
    class_name: &str,
    name: &str,
    f: &Fields,
) -> Option<Result<()>> {
    let transpose_rank = class_name
        .strip_suffix("Transpose")
        .and_then(|c| rank_of(c, "Conv"))
        .filter(|&rank| rank <= 2);
    let added = if let Some(rank) = transpose_rank {
        add_conv_transpose_layer(model, name, rank, f)
    } else if let Some(rank) = rank_of(class_name, "DepthwiseConv").filter(|&r| r <= 2) {
        add_depthwise_layer(model, name, rank, f)
    } else if let Some(rank) = rank_of(class_name, "SeparableConv").filter(|&r| r <= 2) {
        add_separable_layer(model, name, rank, f)
    } else {
        match class_name {
            "Resizing" => add_resizing_layer(model, name, f),
            "CenterCrop" => f
                .channels_last()
                .and_then(|()| add_center_crop(model, name, f.count("height")?, f.count("width")?)),
            "RandomFlip" => add_random_flip_layer(model, name, f),
            "RandomRotation" | "RandomTranslation" | "RandomZoom" => {
                add_random_affine_layer(model, class_name, name, f)
            }
            "RandomContrast" => add_random_contrast_layer(model, name, f),
            _ => return None,
        }
    };
    Some(added)
}

/// Adds an UpSampling2D layer with bilinear interpolation of `size`.
pub(super) fn add_bilinear_upsampling(model: &mut Model, name: &str, size: &[usize]) -> Result<()> {
    add_upsampling_bilinear(model, name, [size[0], size[1]])
}

fn add_conv_transpose_layer(model: &mut Model, name: &str, rank: usize, f: &Fields) -> Result<()> {
    f.require_null(&["kernel_constraint", "bias_constraint"])?;
    f.channels_last()?;
    let config = ConvTransposeConfig {
        rank,
        filters: f.count("filters")?,
        kernel_size: f.axes("kernel_size", rank, None)?,
        strides: f.axes("strides", rank, Some(1))?,
        padding: f.padding(false)?,
        output_padding: f.output_padding(rank)?,
        dilation_rate: f.axes("dilation_rate", rank, Some(1))?,
        activation: f.activation("activation")?,
        use_bias: f.flag("use_bias", true)?,
    };
    let kernel = f.initializer_pair("kernel_initializer", Initializer::GlorotUniform)?;
    let bias = f.initializer_pair("bias_initializer", Initializer::Zeros)?;
    add_conv_transpose(model, name, &config, &kernel, &bias)?;
    f.set_regularizer(model, name, "kernel_regularizer", "kernel")?;
    f.set_regularizer(model, name, "bias_regularizer", "bias")
}

fn add_depthwise_layer(model: &mut Model, name: &str, rank: usize, f: &Fields) -> Result<()> {
    let config = f.depthwise(rank)?;
    let depthwise = f.initializer_pair("depthwise_initializer", Initializer::GlorotUniform)?;
    let bias = f.initializer_pair("bias_initializer", Initializer::Zeros)?;
    add_depthwise_conv(model, name, &config, &depthwise, &bias)?;
    f.set_regularizer(model, name, "depthwise_regularizer", "kernel")?;
    f.set_regularizer(model, name, "bias_regularizer", "bias")
}

fn add_separable_layer(model: &mut Model, name: &str, rank: usize, f: &Fields) -> Result<()> {
    let config = SeparableConfig {
        depthwise: f.depthwise(rank)?,
        filters: f.count("filters")?,
    };
    let initializers = [
        f.initializer_pair("depthwise_initializer", Initializer::GlorotUniform)?,
        f.initializer_pair("pointwise_initializer", Initializer::GlorotUniform)?,
        f.initializer_pair("bias_initializer", Initializer::Zeros)?,
    ];
    add_separable_conv(model, name, &config, &initializers)?;
    f.set_regularizer(model, name, "depthwise_regularizer", "depthwise_kernel")?;
    f.set_regularizer(model, name, "pointwise_regularizer", "pointwise_kernel")?;
    f.set_regularizer(model, name, "bias_regularizer", "bias")
}

fn add_resizing_layer(model: &mut Model, name: &str, f: &Fields) -> Result<()> {
    f.channels_last()?;
    if f.flag("antialias", false)? {
        return Err(Error::File(format!(
            "{}: `antialias = true` is not supported by this version of kerust",
            f.label
        )));
    }
    match f.get("fill_mode") {
        None => {}
        Some(Value::String(s)) if s == "constant" => {}
        Some(_) => return Err(f.bad("fill_mode", "\"constant\"")),
    }
    let aspect = match (
        f.flag("crop_to_aspect_ratio", false)?,
        f.flag("pad_to_aspect_ratio", false)?,
    ) {
        (false, false) => AspectRatio::Stretch,
        (true, false) => AspectRatio::Crop,
        (false, true) => AspectRatio::Pad,
        (true, true) => {
            return Err(Error::File(format!(
                "{}: only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be true",
                f.label
            )))
        }
    };
    let config = ResizeConfig {
        height: f.count("height")?,
        width: f.count("width")?,
        interpolation: f.name_of(
            "interpolation",
            Interpolation::Bilinear,
            Interpolation::from_name,
        )?,
        aspect,
        fill_value: f.number_or("fill_value", 0.0)? as f32,
    };
    add_resizing(model, name, &config)
}

fn add_random_flip_layer(model: &mut Model, name: &str, f: &Fields) -> Result<()> {
    f.channels_last()?;
    let mode = f.name_of("mode", FlipMode::HorizontalAndVertical, FlipMode::from_name)?;
    add_random_flip(model, name, mode, f.seed("seed")?)
}

fn add_random_affine_layer(
    model: &mut Model,
    class_name: &str,
    name: &str,
    f: &Fields,
) -> Result<()> {
    f.channels_last()?;
    let symmetric = |v: f32| (-v, v);
    let unit = (-1.0, 1.0);
    let kind = match class_name {
        "RandomRotation" => AffineKind::Rotation {
            factor: f.factor("factor", unit, symmetric)?,
        },
        "RandomTranslation" => AffineKind::Translation {
            height: f.factor("height_factor", unit, symmetric)?,
            width: f.factor("width_factor", unit, symmetric)?,
        },
        _ => AffineKind::Zoom {
            height: f.factor("height_factor", unit, symmetric)?,
            width: match f.get("width_factor") {
                None => None,
                Some(_) => Some(f.factor("width_factor", unit, symmetric)?),
            },
        },
    };
    add_random_affine(model, name, kind, f.sampling()?, f.seed("seed")?)
}

fn add_random_contrast_layer(model: &mut Model, name: &str, f: &Fields) -> Result<()> {
    f.channels_last()?;
    let factor = f.factor("factor", (0.0, 1.0), |v| (0.0, v))?;
    let value_range = match f.get("value_range") {
        None => (0.0, 255.0),
        Some(Value::Array(items)) if items.len() == 2 => {
            match (items[0].as_f64(), items[1].as_f64()) {
                (Some(low), Some(high)) => (low as f32, high as f32),
                _ => return Err(f.bad("value_range", "a list of two numbers")),
            }
        }
        Some(_) => return Err(f.bad("value_range", "a list of two numbers")),
    };
    add_random_contrast(model, name, factor, value_range, f.seed("seed")?)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::io::conv_config::tests::read;

    #[test]
    fn single_factors_are_ranges() {
        let (spec, _) = read(&[4, 4, 1], "RandomRotation", json!({"factor": -0.25})).unwrap();
        let LayerSpec::RandomAffine { kind, sampling, .. } = spec else {
            panic!("not an affine layer: {spec:?}");
        };
        assert_eq!(
            kind,
            AffineKind::Rotation {
                factor: (-0.25, 0.25)
            }
        );
        // keras's defaults for the keys left out.
        assert_eq!(sampling.fill_mode, FillMode::Reflect);
        assert_eq!(sampling.interpolation, Interpolation::Bilinear);
        assert_eq!(sampling.fill_value, 0.0);

        let (spec, _) = read(&[4, 4, 1], "RandomContrast", json!({"factor": 0.5})).unwrap();
        assert_eq!(
            spec,
            LayerSpec::RandomContrast {
                factor: (0.0, 0.5),
                value_range: (0.0, 255.0),
                seed: None
            }
        );
        let (spec, _) = read(
            &[4, 4, 1],
            "RandomZoom",
            json!({"height_factor": [0.3, -0.2], "width_factor": 0.1}),
        )
        .unwrap();
        let LayerSpec::RandomAffine { kind, .. } = spec else {
            panic!("not an affine layer: {spec:?}");
        };
        assert_eq!(
            kind,
            AffineKind::Zoom {
                height: (-0.2, 0.3),
                width: Some((-0.1, 0.1))
            }
        );
    }

    #[test]
    fn flip_mode_defaults_to_both() {
        let (spec, _) = read(&[4, 4, 1], "RandomFlip", json!({})).unwrap();
        assert_eq!(
            spec,
            LayerSpec::RandomFlip {
                mode: FlipMode::HorizontalAndVertical,
                seed: None
            }
        );
    }

    #[test]
    fn output_padding_accepts_one_integer() {
        let config = json!({"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1});
        let (spec, shape) = read(&[4, 5, 1], "Conv2DTranspose", config).unwrap();
        let LayerSpec::ConvTranspose { config, .. } = spec else {
            panic!("not a transposed convolution: {spec:?}");
        };
        assert_eq!(config.output_padding, Some(vec![1, 1]));
        // (input - 1) * stride + kernel + output_padding, by hand.
        assert_eq!(shape, vec![10, 12, 2]);
    }

    #[test]
    fn value_range_integers_stay_integers() {
        assert_eq!(number_value(255.0), json!(255));
        assert_eq!(number_value(-1.0), json!(-1));
        assert_eq!(number_value(0.5), json!(0.5));
    }
}
