//! Keras configs of the convolution, pooling, normalization, spatial and
//! preprocessing layers: Conv1D/2D/3D, MaxPooling and AveragePooling 1D to
//! 3D and their global variants, BatchNormalization, ZeroPadding, Cropping
//! and UpSampling 1D to 3D, SpatialDropout1D/2D/3D and Rescaling.
//!
//! The keys and their forms are those that keras 3.15.1 writes for each
//! class, as `tools/golden/make_golden_layer_configs.py` prints them with
//! `keras.saving.serialize_keras_object(layer)`. Sizes per axis are lists
//! (`"kernel_size": [3, 3]`) and `data_format` is always `"channels_last"`.
//! Keras omits `build_config` for the pooling and spatial dropout layers,
//! and writes SpatialDropout's config without `trainable` and with the
//! dtype as a plain string. kerust writes them the same way.
//!
//! Reading accepts what keras's constructors accept for the same keys: one
//! integer for all axes or one per axis, padding names in any letter case,
//! and a missing key for an argument with a default.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::layers::batch_norm::{add_batch_norm, BatchNormConfig, BatchNormInitializers};
use crate::layers::conv::{add_conv, ConvConfig};
use crate::layers::pooling::{add_global_pool, add_pool, PoolConfig, PoolKind};
use crate::layers::rescaling::add_rescaling;
use crate::layers::spatial::{add_spatial, SpatialKind};
use crate::layers::spatial_dropout::add_spatial_dropout;
use crate::layers::spec::InitializerSpec;
use crate::layers::window::Padding;
use crate::layers::LayerSpec;
use crate::model::Model;

use super::image_config;
use super::keras_config::{
    activation_value, f32_value, f64_value, initializer_value, regularizer_value, seed_value,
    Fields,
};

pub(super) const CHANNELS_LAST: &str = "channels_last";

/// Returns false for the layers whose config keras writes without a
/// `build_config`: the pooling and spatial dropout layers.
pub(super) fn has_build_config(spec: &LayerSpec) -> bool {
    !matches!(
        spec,
        LayerSpec::Pooling(_) | LayerSpec::GlobalPooling { .. } | LayerSpec::SpatialDropout { .. }
    )
}

/// Returns the Keras value of the regularizer of weight `weight`
/// (`"gamma"`, `"kernel"`, ...) of layer `index`: null when the layer has
/// no such weight or the weight no regularizer.
pub(super) fn weight_regularizer(model: &Model, index: usize, weight: &str) -> Value {
    let position = model.layers()[index]
        .params()
        .iter()
        .position(|p| p.name == weight);
    regularizer_value(position.and_then(|p| model.weight_regularizer(index, p)))
}

/// Returns a list of per-axis pairs: `[before, after]` for one axis, as
/// keras writes the 1D layers, else `[[before, after], ...]`.
fn sides_value(amounts: &[(usize, usize)]) -> Value {
    match amounts {
        [(before, after)] => json!([before, after]),
        _ => Value::from(
            amounts
                .iter()
                .map(|&(before, after)| json!([before, after]))
                .collect::<Vec<_>>(),
        ),
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
    match spec {
        LayerSpec::Conv {
            config: conv,
            kernel_initializer,
            bias_initializer,
        } => {
            set("filters", Value::from(conv.filters));
            set("kernel_size", Value::from(conv.kernel_size.clone()));
            set("strides", Value::from(conv.strides.clone()));
            set("padding", Value::from(conv.padding.name()));
            set("data_format", Value::from(CHANNELS_LAST));
            set("dilation_rate", Value::from(conv.dilation_rate.clone()));
            set("groups", Value::from(conv.groups));
            set(
                "activation",
                activation_value(layer.name(), conv.activation)?,
            );
            set("use_bias", Value::Bool(conv.use_bias));
            set("kernel_initializer", initializer_value(kernel_initializer));
            set("bias_initializer", initializer_value(bias_initializer));
            set(
                "kernel_regularizer",
                weight_regularizer(model, index, "kernel"),
            );
            set("bias_regularizer", weight_regularizer(model, index, "bias"));
            // Unlike Dense, keras's convolutions write the key when it is null.
            set(
                "activity_regularizer",
                regularizer_value(model.activity_regularizer(index)),
            );
            set("kernel_constraint", Value::Null);
            set("bias_constraint", Value::Null);
        }
        LayerSpec::Pooling(pool) => {
            set("pool_size", Value::from(pool.pool_size.clone()));
            set("padding", Value::from(pool.padding.name()));
            set("strides", Value::from(pool.strides.clone()));
            set("data_format", Value::from(CHANNELS_LAST));
        }
        LayerSpec::GlobalPooling { keepdims, .. } => {
            set("data_format", Value::from(CHANNELS_LAST));
            set("keepdims", Value::Bool(*keepdims));
        }
        LayerSpec::BatchNormalization {
            config: bn,
            gamma_initializer,
            beta_initializer,
            moving_mean_initializer,
            moving_variance_initializer,
        } => {
            set("axis", Value::from(-1));
            set("momentum", f32_value(bn.momentum));
            set("epsilon", f32_value(bn.epsilon));
            set("center", Value::Bool(bn.center));
            set("scale", Value::Bool(bn.scale));
            set("beta_initializer", initializer_value(beta_initializer));
            set("gamma_initializer", initializer_value(gamma_initializer));
            set(
                "moving_mean_initializer",
                initializer_value(moving_mean_initializer),
            );
            set(
                "moving_variance_initializer",
                initializer_value(moving_variance_initializer),
            );
            set("beta_regularizer", weight_regularizer(model, index, "beta"));
            set(
                "gamma_regularizer",
                weight_regularizer(model, index, "gamma"),
            );
            set("beta_constraint", Value::Null);
            set("gamma_constraint", Value::Null);
            set("synchronized", Value::Bool(false));
            set("renorm", Value::Bool(false));
            set("renorm_clipping", Value::Null);
            set("renorm_momentum", json!(0.99));
        }
        LayerSpec::Spatial { kind, amounts } => {
            let rank = amounts.len();
            match kind {
                SpatialKind::ZeroPadding => set("padding", sides_value(amounts)),
                SpatialKind::Cropping => set("cropping", sides_value(amounts)),
                SpatialKind::UpSampling => {
                    let sizes: Vec<usize> = amounts.iter().map(|&(size, _)| size).collect();
                    // UpSampling1D writes its one size as a number.
                    set(
                        "size",
                        if rank == 1 {
                            Value::from(sizes[0])
                        } else {
                            Value::from(sizes)
                        },
                    );
                    // These layers repeat values (nearest). Bilinear
                    // UpSampling2D is a LayerSpec::BilinearUpSampling, which
                    // image_config.rs writes.
                    if rank == 2 {
                        set("interpolation", Value::from("nearest"));
                    }
                }
            }
            // Of the 1D layers, only ZeroPadding1D has a data_format.
            if rank > 1 || *kind == SpatialKind::ZeroPadding {
                set("data_format", Value::from(CHANNELS_LAST));
            }
        }
        LayerSpec::SpatialDropout { rank, rate, seed } => {
            set("rate", f32_value(*rate));
            set("seed", seed_value(*seed));
            if *rank > 1 {
                set("data_format", Value::from(CHANNELS_LAST));
            }
            config.remove("trainable");
            config.insert("dtype".into(), Value::from("float32"));
        }
        LayerSpec::Rescaling { scale, offset } => {
            set("scale", f64_value(*scale));
            set("offset", f64_value(*offset));
        }
        other => return image_config::write_layer(model, index, other, config),
    }
    Ok(layer.class_name())
}

/// Splits a class name such as `MaxPooling2D` into its `prefix` and rank.
pub(super) fn rank_of(class_name: &str, prefix: &str) -> Option<usize> {
    match class_name.strip_prefix(prefix)? {
        "1D" => Some(1),
        "2D" => Some(2),
        "3D" => Some(3),
        _ => None,
    }
}

impl Fields<'_> {
    /// Rejects any `data_format` other than channels_last.
    pub(super) fn channels_last(&self) -> Result<()> {
        match self.get("data_format") {
            None => Ok(()),
            Some(Value::String(s)) if s == CHANNELS_LAST => Ok(()),
            Some(Value::String(s)) => Err(Error::File(format!(
                "{}: data_format \"{s}\" is not supported; kerust uses channels_last",
                self.label
            ))),
            Some(_) => Err(self.bad("data_format", "\"channels_last\"")),
        }
    }

    /// Reads one positive integer for all `rank` axes, or one per axis;
    /// `default` (for every axis) when the key is missing or null.
    pub(super) fn axes(
        &self,
        key: &str,
        rank: usize,
        default: Option<usize>,
    ) -> Result<Vec<usize>> {
        let expected = if rank == 1 {
            "a positive integer".to_string()
        } else {
            format!("a positive integer or a list of {rank} of them")
        };
        let positive = |v: &Value| {
            v.as_u64()
                .filter(|&v| v > 0)
                .and_then(|v| usize::try_from(v).ok())
        };
        let values = match self.get(key) {
            None => default.map(|d| vec![d; rank]),
            Some(Value::Array(items)) if items.len() == rank => {
                items.iter().map(positive).collect::<Option<Vec<_>>>()
            }
            Some(Value::Array(_)) => None,
            Some(v) => positive(v).map(|d| vec![d; rank]),
        };
        values.ok_or_else(|| self.bad(key, &expected))
    }

    /// Reads a padding name in any letter case; "valid" when missing.
    pub(super) fn padding(&self, allow_causal: bool) -> Result<Padding> {
        let expected = if allow_causal {
            "\"valid\", \"same\" or \"causal\""
        } else {
            "\"valid\" or \"same\""
        };
        match self.get("padding") {
            None => Ok(Padding::Valid),
            Some(Value::String(s)) => Padding::from_name(&s.to_ascii_lowercase(), allow_causal)
                .map_err(|_| self.bad("padding", expected)),
            Some(_) => Err(self.bad("padding", expected)),
        }
    }

    /// Reads the `(before, after)` amounts of a padding or cropping layer
    /// in the forms keras accepts: one integer for every side, one integer
    /// per axis, or a pair per axis (a single pair for 1D layers).
    fn sides(&self, key: &str, rank: usize, default: usize) -> Result<Vec<(usize, usize)>> {
        let count = |v: &Value| v.as_u64().and_then(|v| usize::try_from(v).ok());
        let pair = |v: &Value| match v {
            Value::Array(p) if p.len() == 2 => Some((count(&p[0])?, count(&p[1])?)),
            other => count(other).map(|n| (n, n)),
        };
        let sides = match self.get(key) {
            None => Some(vec![(default, default); rank]),
            Some(v @ Value::Array(items)) if rank == 1 && items.len() == 2 => {
                pair(v).map(|p| vec![p])
            }
            Some(Value::Array(items)) if items.len() == rank => {
                items.iter().map(pair).collect::<Option<Vec<_>>>()
            }
            Some(Value::Array(_)) => None,
            Some(v) => count(v).map(|n| vec![(n, n); rank]),
        };
        sides.ok_or_else(|| {
            self.bad(
                key,
                &format!("a non-negative integer or a list of {rank} [before, after] pairs"),
            )
        })
    }

    /// Reads a rate, a number in `[0, 1)`.
    fn rate(&self, key: &str) -> Result<f32> {
        let rate = self.number(key)?;
        if !(0.0..1.0).contains(&rate) {
            return Err(self.bad(key, "a number in [0, 1)"));
        }
        Ok(rate as f32)
    }

    pub(super) fn initializer_pair(
        &self,
        key: &str,
        default: Initializer,
    ) -> Result<(Initializer, Option<u64>)> {
        let InitializerSpec { initializer, seed } = self.initializer(key, default)?;
        Ok((initializer, seed))
    }

    /// Sets the regularizer under `key` on weight `weight` of layer `name`,
    /// the layer just added, when the key names one and the layer has the
    /// weight (a `bias_regularizer` of a layer without bias does nothing, as
    /// in keras).
    pub(super) fn set_regularizer(
        &self,
        model: &mut Model,
        name: &str,
        key: &str,
        weight: &str,
    ) -> Result<()> {
        let Some(reg) = self.regularizer(key)? else {
            return Ok(());
        };
        let has_weight = model
            .layers()
            .last()
            .is_some_and(|l| l.params().iter().any(|p| p.name == weight));
        if has_weight {
            model.set_weight_regularizer(name, weight, reg)?;
        }
        Ok(())
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
    let added = if let Some(rank) = rank_of(class_name, "Conv") {
        add_conv_layer(model, name, rank, f)
    } else if let Some(rank) = rank_of(class_name, "MaxPooling") {
        add_pool_layer(model, name, PoolKind::Max, rank, f)
    } else if let Some(rank) = rank_of(class_name, "AveragePooling") {
        add_pool_layer(model, name, PoolKind::Average, rank, f)
    } else if let Some(rank) = rank_of(class_name, "GlobalMaxPooling") {
        add_global_pool_layer(model, name, PoolKind::Max, rank, f)
    } else if let Some(rank) = rank_of(class_name, "GlobalAveragePooling") {
        add_global_pool_layer(model, name, PoolKind::Average, rank, f)
    } else if let Some(rank) = rank_of(class_name, "ZeroPadding") {
        // Keras's defaults: 1 on every side.
        f.channels_last()
            .and_then(|()| f.sides("padding", rank, 1))
            .and_then(|sides| add_spatial(model, name, SpatialKind::ZeroPadding, &sides))
    } else if let Some(rank) = rank_of(class_name, "Cropping") {
        // Keras's defaults: 1 on every side, except 0 for Cropping2D.
        let default = if rank == 2 { 0 } else { 1 };
        f.channels_last()
            .and_then(|()| f.sides("cropping", rank, default))
            .and_then(|sides| add_spatial(model, name, SpatialKind::Cropping, &sides))
    } else if let Some(rank) = rank_of(class_name, "UpSampling") {
        add_upsampling_layer(model, name, rank, f)
    } else if let Some(rank) = rank_of(class_name, "SpatialDropout") {
        add_spatial_dropout_layer(model, name, rank, f)
    } else if class_name == "BatchNormalization" {
        add_batch_norm_layer(model, name, f)
    } else if class_name == "Rescaling" {
        add_rescaling_layer(model, name, f)
    } else {
        return image_config::add_layer(model, class_name, name, f);
    };
    Some(added)
}

fn add_conv_layer(model: &mut Model, name: &str, rank: usize, f: &Fields) -> Result<()> {
    f.require_null(&["kernel_constraint", "bias_constraint", "lora_rank"])?;
    f.channels_last()?;
    let config = ConvConfig {
        rank,
        filters: f.count("filters")?,
        kernel_size: f.axes("kernel_size", rank, None)?,
        strides: f.axes("strides", rank, Some(1))?,
        padding: f.padding(rank == 1)?,
        dilation_rate: f.axes("dilation_rate", rank, Some(1))?,
        groups: match f.get("groups") {
            None => 1,
            Some(_) => f.count("groups")?,
        },
        activation: f.activation("activation")?,
        use_bias: f.flag("use_bias", true)?,
    };
    let kernel = f.initializer_pair("kernel_initializer", Initializer::GlorotUniform)?;
    let bias = f.initializer_pair("bias_initializer", Initializer::Zeros)?;
    add_conv(model, name, &config, &kernel, &bias)?;
    f.set_regularizer(model, name, "kernel_regularizer", "kernel")?;
    f.set_regularizer(model, name, "bias_regularizer", "bias")
}

fn add_pool_layer(
    model: &mut Model,
    name: &str,
    kind: PoolKind,
    rank: usize,
    f: &Fields,
) -> Result<()> {
    f.channels_last()?;
    let pool_size = f.axes("pool_size", rank, Some(2))?;
    // Keras's strides default to the pool size.
    let strides = match f.get("strides") {
        None => pool_size.clone(),
        Some(_) => f.axes("strides", rank, None)?,
    };
    let config = PoolConfig {
        kind,
        rank,
        pool_size,
        strides,
        padding: f.padding(false)?,
    };
    add_pool(model, name, &config)
}

fn add_global_pool_layer(
    model: &mut Model,
    name: &str,
    kind: PoolKind,
    rank: usize,
    f: &Fields,
) -> Result<()> {
    f.channels_last()?;
    add_global_pool(model, name, kind, rank, f.flag("keepdims", false)?)
}

fn add_upsampling_layer(model: &mut Model, name: &str, rank: usize, f: &Fields) -> Result<()> {
    f.channels_last()?;
    let sizes = f.axes("size", rank, Some(2))?;
    match f.get("interpolation") {
        None => {}
        Some(Value::String(s)) if s == "nearest" => {}
        Some(Value::String(s)) if s == "bilinear" && rank == 2 => {
            return image_config::add_bilinear_upsampling(model, name, &sizes);
        }
        Some(_) => {
            return Err(Error::File(format!(
                "{}: interpolation {} is not supported; kerust upsamples with \"nearest\" or, in 2D, \"bilinear\" only",
                f.label,
                f.config.get("interpolation").unwrap_or(&Value::Null)
            )))
        }
    }
    let amounts: Vec<(usize, usize)> = sizes.iter().map(|&s| (s, s)).collect();
    add_spatial(model, name, SpatialKind::UpSampling, &amounts)
}

fn add_spatial_dropout_layer(model: &mut Model, name: &str, rank: usize, f: &Fields) -> Result<()> {
    f.channels_last()?;
    add_spatial_dropout(model, name, rank, f.rate("rate")?, f.seed("seed")?)
}

fn add_rescaling_layer(model: &mut Model, name: &str, f: &Fields) -> Result<()> {
    let offset = match f.get("offset") {
        None => 0.0,
        Some(_) => f.number("offset")?,
    };
    add_rescaling(model, name, f.number("scale")?, offset)
}

fn add_batch_norm_layer(model: &mut Model, name: &str, f: &Fields) -> Result<()> {
    f.require_null(&["beta_constraint", "gamma_constraint", "renorm_clipping"])?;
    // The axis of the channels, as -1 or as its index in the batch shape.
    let channel_axis = model.output_shape().len() as i64;
    match f.get("axis") {
        None => {}
        Some(v) if v.as_i64().is_some_and(|a| a == -1 || a == channel_axis) => {}
        Some(v)
            if v.as_array()
                .is_some_and(|a| a.len() == 1 && a[0].as_i64() == Some(-1)) => {}
        Some(_) => {
            return Err(Error::File(format!(
                "{}: axis {} is not supported; kerust normalizes the last axis (-1) only",
                f.label,
                f.config.get("axis").unwrap_or(&Value::Null)
            )))
        }
    }
    for key in ["synchronized", "renorm"] {
        if f.flag(key, false)? {
            return Err(Error::File(format!(
                "{}: `{key} = true` is not supported by this version of kerust",
                f.label
            )));
        }
    }
    let number = |key: &str, default: f64| match f.get(key) {
        None => Ok(default),
        Some(_) => f.number(key),
    };
    let config = BatchNormConfig {
        momentum: number("momentum", 0.99)? as f32,
        epsilon: number("epsilon", 1e-3)? as f32,
        center: f.flag("center", true)?,
        scale: f.flag("scale", true)?,
    };
    let initializers = BatchNormInitializers {
        gamma: f.initializer_pair("gamma_initializer", Initializer::Ones)?,
        beta: f.initializer_pair("beta_initializer", Initializer::Zeros)?,
        moving_mean: f.initializer_pair("moving_mean_initializer", Initializer::Zeros)?,
        moving_variance: f.initializer_pair("moving_variance_initializer", Initializer::Ones)?,
    };
    add_batch_norm(model, name, &config, &initializers)?;
    f.set_regularizer(model, name, "gamma_regularizer", "gamma")?;
    f.set_regularizer(model, name, "beta_regularizer", "beta")
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::io::keras_config::model_from_config;

    /// Reads a model of input `input` and one layer, `class_name` with
    /// `config`, and returns the layer's spec and output shape.
    pub(in crate::io) fn read(
        input: &[usize],
        class_name: &str,
        config: Value,
    ) -> Result<(LayerSpec, Vec<usize>)> {
        let mut batch_shape = vec![Value::Null];
        batch_shape.extend(input.iter().map(|&d| Value::from(d)));
        let mut config = config;
        config["name"] = json!("layer");
        let model = json!({
            "class_name": "Sequential",
            "config": {"name": "m", "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": batch_shape}},
                {"class_name": class_name, "config": config},
            ]}
        });
        let model = model_from_config(&model, false)?;
        let layer = &model.layers()[0];
        Ok((layer.spec().expect("spec"), layer.output_shape().to_vec()))
    }

    #[test]
    fn conv_accepts_single_integers() {
        let (spec, shape) = read(
            &[9, 9, 2],
            "Conv2D",
            json!({"filters": 3, "kernel_size": 3, "strides": 2, "padding": "SAME"}),
        )
        .unwrap();
        let LayerSpec::Conv { config, .. } = spec else {
            panic!("not a convolution: {spec:?}");
        };
        assert_eq!(config.kernel_size, vec![3, 3]);
        assert_eq!(config.strides, vec![2, 2]);
        assert_eq!(config.dilation_rate, vec![1, 1]);
        assert_eq!(config.padding, Padding::Same);
        assert_eq!(config.groups, 1);
        assert!(config.use_bias);
        assert_eq!(shape, vec![5, 5, 3]);
    }

    #[test]
    fn pooling_strides_default_to_pool_size() {
        let (spec, shape) = read(&[8, 6, 1], "MaxPooling2D", json!({"pool_size": [4, 3]})).unwrap();
        assert_eq!(
            spec,
            LayerSpec::Pooling(PoolConfig {
                kind: PoolKind::Max,
                rank: 2,
                pool_size: vec![4, 3],
                strides: vec![4, 3],
                padding: Padding::Valid,
            })
        );
        assert_eq!(shape, vec![2, 2, 1]);
        let (spec, _) = read(&[8, 1], "AveragePooling1D", json!({})).unwrap();
        assert_eq!(
            spec,
            LayerSpec::Pooling(PoolConfig {
                kind: PoolKind::Average,
                rank: 1,
                pool_size: vec![2],
                strides: vec![2],
                padding: Padding::Valid,
            })
        );
    }

    #[test]
    fn padding_sides_in_keras_forms() {
        let padding = |v: Value| {
            let (spec, _) = read(&[4, 4, 1], "ZeroPadding2D", json!({ "padding": v })).unwrap();
            match spec {
                LayerSpec::Spatial { amounts, .. } => amounts,
                other => panic!("not a spatial layer: {other:?}"),
            }
        };
        assert_eq!(padding(json!(2)), vec![(2, 2), (2, 2)]);
        assert_eq!(padding(json!([1, 3])), vec![(1, 1), (3, 3)]);
        assert_eq!(padding(json!([[1, 2], [0, 3]])), vec![(1, 2), (0, 3)]);
        assert_eq!(padding(Value::Null), vec![(1, 1), (1, 1)]);
        let (spec, shape) = read(&[6, 1], "Cropping1D", json!({"cropping": [2, 1]})).unwrap();
        assert_eq!(
            spec,
            LayerSpec::Spatial {
                kind: SpatialKind::Cropping,
                amounts: vec![(2, 1)]
            }
        );
        assert_eq!(shape, vec![3, 1]);
        // Keras's Cropping2D crops nothing by default.
        let (_, shape) = read(&[4, 4, 1], "Cropping2D", json!({})).unwrap();
        assert_eq!(shape, vec![4, 4, 1]);
    }

    #[test]
    fn upsampling_size_and_interpolation() {
        let (spec, shape) = read(&[2, 3, 1], "UpSampling2D", json!({"size": 3})).unwrap();
        assert_eq!(
            spec,
            LayerSpec::Spatial {
                kind: SpatialKind::UpSampling,
                amounts: vec![(3, 3), (3, 3)]
            }
        );
        assert_eq!(shape, vec![6, 9, 1]);
        let (spec, shape) = read(
            &[2, 3, 1],
            "UpSampling2D",
            json!({"size": [2, 1], "interpolation": "bilinear"}),
        )
        .unwrap();
        assert_eq!(spec, LayerSpec::BilinearUpSampling { size: [2, 1] });
        assert_eq!(shape, vec![4, 3, 1]);
        let err = read(&[2, 3, 1], "UpSampling2D", json!({"interpolation": "area"}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 1 (\"layer\", UpSampling2D): interpolation \"area\" is not supported; kerust upsamples with \"nearest\" or, in 2D, \"bilinear\" only"
        );
        let err = read(
            &[6, 1],
            "UpSampling1D",
            json!({"interpolation": "bilinear"}),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "layer 1 (\"layer\", UpSampling1D): interpolation \"bilinear\" is not supported; kerust upsamples with \"nearest\" or, in 2D, \"bilinear\" only"
        );
    }

    #[test]
    fn batch_norm_axis_forms() {
        for axis in [json!(-1), json!(3), json!([-1])] {
            let (spec, _) =
                read(&[2, 2, 5], "BatchNormalization", json!({ "axis": axis })).unwrap();
            assert!(
                matches!(spec, LayerSpec::BatchNormalization { .. }),
                "axis {axis}"
            );
        }
        let err = read(&[2, 2, 5], "BatchNormalization", json!({"axis": 1}))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer 1 (\"layer\", BatchNormalization): axis 1 is not supported; kerust normalizes the last axis (-1) only"
        );
    }

    #[test]
    fn rescaling_offset_defaults_to_zero() {
        let (spec, _) = read(&[3], "Rescaling", json!({"scale": 2.5})).unwrap();
        assert_eq!(
            spec,
            LayerSpec::Rescaling {
                scale: 2.5,
                offset: 0.0
            }
        );
        let err = read(&[3], "Rescaling", json!({})).unwrap_err().to_string();
        assert_eq!(
            err,
            "config.json is invalid: layer 1 (\"layer\", Rescaling): `scale` must be a number, got null"
        );
    }
}
