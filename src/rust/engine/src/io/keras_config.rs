//! `config.json` in Keras 3's serialization schema: every object is
//! `{"module", "class_name", "config", "registered_name"}`, a Sequential
//! model lists an InputLayer and its layers, and `compile_config` contains the
//! optimizer, loss and metrics.
//!
//! Numbers are written so they read back as the same `f32`: see
//! [`f32_value`].

use serde_json::{json, Map, Value};

use crate::activations::Activation;
use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::layers::noise::NoiseKind;
use crate::layers::spec::InitializerSpec;
use crate::layers::LayerSpec;
use crate::losses::Loss;
use crate::metrics::{Metric, MetricKind};
use crate::model::{size_of, Compiled, Model};
use crate::regularizers::Regularizer;

use super::conv_config;
use super::functional_config;
use super::metric_config;
use super::optimizer;

/// Returns `v` as a JSON number that reads back as the same `f32`: the
/// shortest decimal that does (Rust's `Display` of f32), unless the double
/// nearest that decimal rounds to another f32, in which case the exact
/// value of `v`. Non-finite values become `null`.
pub fn f32_value(v: f32) -> Value {
    let short: f64 = format!("{v}").parse().unwrap_or(v as f64);
    let x = if short as f32 == v { short } else { v as f64 };
    serde_json::Number::from_f64(x)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

pub(super) fn f64_value(v: f64) -> Value {
    serde_json::Number::from_f64(v)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

pub(super) fn seed_value(seed: Option<u64>) -> Value {
    seed.map(Value::from).unwrap_or(Value::Null)
}

/// Keras's serialized form of a class: `{"module", "class_name", "config", "registered_name"}`.
pub fn keras_object(module: &str, class_name: &str, config: Value) -> Value {
    json!({
        "module": module,
        "class_name": class_name,
        "config": config,
        "registered_name": null,
    })
}

pub(super) fn dtype_policy() -> Value {
    keras_object("keras", "DTypePolicy", json!({ "name": "float32" }))
}

/// Returns the batch shape of per-sample `shape`, with `null` for the batch axis.
pub(super) fn batch_shape(shape: &[usize]) -> Value {
    let mut dims = vec![Value::Null];
    dims.extend(shape.iter().map(|&d| Value::from(d)));
    Value::Array(dims)
}

pub(super) fn activation_value(layer: &str, a: Activation) -> Result<Value> {
    // Keras writes built-in activations by name, so only their default
    // parameters can be written.
    match Activation::from_name(a.name()) {
        Ok(default) if default == a => Ok(Value::from(a.name())),
        _ => Err(Error::InvalidArgument(format!(
            "layer \"{layer}\" cannot be saved: its activation {a:?} has parameters that a Keras config cannot name"
        ))),
    }
}

pub(super) fn initializer_value(spec: &InitializerSpec) -> Value {
    let seed = seed_value(spec.seed);
    let (class_name, config) = match spec.initializer {
        Initializer::GlorotUniform => ("GlorotUniform", json!({ "seed": seed })),
        Initializer::GlorotNormal => ("GlorotNormal", json!({ "seed": seed })),
        Initializer::HeNormal => ("HeNormal", json!({ "seed": seed })),
        Initializer::HeUniform => ("HeUniform", json!({ "seed": seed })),
        Initializer::LecunNormal => ("LecunNormal", json!({ "seed": seed })),
        Initializer::LecunUniform => ("LecunUniform", json!({ "seed": seed })),
        Initializer::RandomNormal { mean, stddev } => (
            "RandomNormal",
            json!({ "mean": f64_value(mean), "stddev": f64_value(stddev), "seed": seed }),
        ),
        Initializer::RandomUniform { minval, maxval } => (
            "RandomUniform",
            json!({ "minval": f64_value(minval), "maxval": f64_value(maxval), "seed": seed }),
        ),
        Initializer::TruncatedNormal { mean, stddev } => (
            "TruncatedNormal",
            json!({ "mean": f64_value(mean), "stddev": f64_value(stddev), "seed": seed }),
        ),
        Initializer::Zeros => ("Zeros", json!({})),
        Initializer::Ones => ("Ones", json!({})),
        Initializer::Constant { value } => ("Constant", json!({ "value": f64_value(value) })),
        Initializer::Orthogonal { gain } => (
            "Orthogonal",
            json!({ "gain": f64_value(gain), "seed": seed }),
        ),
    };
    keras_object("keras.initializers", class_name, config)
}

pub(super) fn regularizer_value(reg: Option<Regularizer>) -> Value {
    match reg {
        Some(r) => keras_object(
            "keras.regularizers",
            "L1L2",
            json!({ "l1": f32_value(r.l1), "l2": f32_value(r.l2) }),
        ),
        None => Value::Null,
    }
}

/// Returns the Keras config of layer `index` of `model`, whose input has
/// per-sample shape `input`.
pub(super) fn layer_value(model: &Model, index: usize, input: &[usize]) -> Result<Value> {
    let layer = model.layers()[index].as_ref();
    let name = layer.name();
    let spec = layer.spec().ok_or_else(|| {
        Error::InvalidArgument(format!(
            "layer \"{name}\" ({}) cannot be saved yet: kerust has no saved form for this layer type",
            layer.class_name()
        ))
    })?;
    let mut config = Map::new();
    config.insert("name".into(), Value::from(name));
    config.insert("trainable".into(), Value::Bool(model.is_trainable(index)));
    config.insert("dtype".into(), dtype_policy());
    let class_name = match &spec {
        LayerSpec::Dense {
            units,
            activation,
            use_bias,
            kernel_initializer,
            bias_initializer,
        } => {
            config.insert("units".into(), Value::from(*units));
            config.insert("activation".into(), activation_value(name, *activation)?);
            config.insert("use_bias".into(), Value::Bool(*use_bias));
            config.insert(
                "kernel_initializer".into(),
                initializer_value(kernel_initializer),
            );
            config.insert(
                "bias_initializer".into(),
                initializer_value(bias_initializer),
            );
            config.insert(
                "kernel_regularizer".into(),
                regularizer_value(model.weight_regularizer(index, 0)),
            );
            config.insert(
                "bias_regularizer".into(),
                regularizer_value(model.weight_regularizer(index, 1)),
            );
            config.insert("kernel_constraint".into(), Value::Null);
            config.insert("bias_constraint".into(), Value::Null);
            "Dense"
        }
        LayerSpec::Activation { activation } => {
            config.insert("activation".into(), activation_value(name, *activation)?);
            "Activation"
        }
        LayerSpec::Dropout { rate, seed } => {
            config.insert("rate".into(), f32_value(*rate));
            config.insert("seed".into(), seed_value(*seed));
            config.insert("noise_shape".into(), Value::Null);
            "Dropout"
        }
        LayerSpec::Flatten => {
            config.insert("data_format".into(), Value::from("channels_last"));
            "Flatten"
        }
        LayerSpec::Reshape { target_shape } => {
            config.insert("target_shape".into(), Value::from(target_shape.clone()));
            "Reshape"
        }
        LayerSpec::Noise { kind, seed } => {
            config.insert("seed".into(), seed_value(*seed));
            match *kind {
                NoiseKind::Gaussian { stddev } => {
                    config.insert("stddev".into(), f32_value(stddev));
                    "GaussianNoise"
                }
                NoiseKind::GaussianDropout { rate } => {
                    config.insert("rate".into(), f32_value(rate));
                    "GaussianDropout"
                }
                NoiseKind::AlphaDropout { rate } => {
                    config.insert("rate".into(), f32_value(rate));
                    config.insert("noise_shape".into(), Value::Null);
                    "AlphaDropout"
                }
            }
        }
        LayerSpec::ActivityRegularization => {
            let reg = model.activity_regularizer(index).unwrap_or_default();
            config.insert("l1".into(), f32_value(reg.l1));
            config.insert("l2".into(), f32_value(reg.l2));
            "ActivityRegularization"
        }
        other => conv_config::write_layer(model, index, other, &mut config)?,
    };

    // Keras writes a layer's activity regularizer only when it has one.
    if !matches!(spec, LayerSpec::ActivityRegularization) {
        if let Some(reg) = model.activity_regularizer(index) {
            config.insert("activity_regularizer".into(), regularizer_value(Some(reg)));
        }
    }
    let mut value = keras_object("keras.layers", class_name, Value::Object(config));
    if conv_config::has_build_config(&spec) {
        value["build_config"] = json!({ "input_shape": batch_shape(input) });
    }
    Ok(value)
}

/// Returns `config.json` for `model`: the architecture and, when the model
/// is compiled, its compile configuration.
pub fn model_config(model: &Model, include_compile: bool) -> Result<Value> {
    if model.is_graph() {
        return functional_config::model_config(model, include_compile);
    }
    let input_shape = model.input_shape();
    let mut layers = vec![keras_object(
        "keras.layers",
        "InputLayer",
        json!({
            "batch_shape": batch_shape(input_shape),
            "dtype": "float32",
            "sparse": false,
            "name": "input_layer",
        }),
    )];
    let mut shape = input_shape.to_vec();
    for (index, layer) in model.layers().iter().enumerate() {
        layers.push(layer_value(model, index, &shape)?);
        shape = layer.output_shape().to_vec();
    }
    let compile = match (&model.compiled, include_compile) {
        (Some(c), true) => compile_config(c)?,
        _ => Value::Null,
    };
    Ok(json!({
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": model.name,
            "trainable": true,
            "dtype": dtype_policy(),
            "layers": layers,
            "build_input_shape": batch_shape(input_shape),
        },
        "registered_name": null,
        "build_config": { "input_shape": batch_shape(input_shape) },
        "compile_config": compile,
    }))
}

pub(super) fn loss_value(loss: &Loss) -> Value {
    let reduction = "sum_over_batch_size";
    let (class_name, config) = match *loss {
        Loss::MeanSquaredError => (
            "MeanSquaredError",
            json!({ "name": "mean_squared_error", "reduction": reduction }),
        ),
        Loss::MeanAbsoluteError => (
            "MeanAbsoluteError",
            json!({ "name": "mean_absolute_error", "reduction": reduction }),
        ),
        Loss::MeanAbsolutePercentageError => (
            "MeanAbsolutePercentageError",
            json!({ "name": "mean_absolute_percentage_error", "reduction": reduction }),
        ),
        Loss::MeanSquaredLogarithmicError => (
            "MeanSquaredLogarithmicError",
            json!({ "name": "mean_squared_logarithmic_error", "reduction": reduction }),
        ),
        Loss::Huber { delta } => (
            "Huber",
            json!({ "name": "huber_loss", "reduction": reduction, "delta": f32_value(delta) }),
        ),
        Loss::BinaryCrossentropy {
            from_logits,
            label_smoothing,
        } => (
            "BinaryCrossentropy",
            json!({
                "name": "binary_crossentropy", "reduction": reduction, "from_logits": from_logits,
                "label_smoothing": f32_value(label_smoothing), "axis": -1,
            }),
        ),
        Loss::CategoricalCrossentropy {
            from_logits,
            label_smoothing,
        } => (
            "CategoricalCrossentropy",
            json!({
                "name": "categorical_crossentropy", "reduction": reduction, "from_logits": from_logits,
                "label_smoothing": f32_value(label_smoothing), "axis": -1,
            }),
        ),
        Loss::SparseCategoricalCrossentropy { from_logits } => (
            "SparseCategoricalCrossentropy",
            json!({
                "name": "sparse_categorical_crossentropy", "reduction": reduction,
                "from_logits": from_logits, "ignore_class": null,
            }),
        ),
    };
    keras_object("keras.losses", class_name, config)
}

/// Returns the Keras config object of a compiled metric.
pub fn metric_value(m: &Metric) -> Value {
    if let Some(value) = metric_config::metric_value(m) {
        return value;
    }
    let mut config = json!({ "name": m.name, "dtype": "float32" });
    let class_name = match m.kind {
        MetricKind::SparseCategoricalAccuracy => "SparseCategoricalAccuracy",
        MetricKind::CategoricalAccuracy => "CategoricalAccuracy",
        MetricKind::BinaryAccuracy { threshold } => {
            config["threshold"] = f32_value(threshold);
            "BinaryAccuracy"
        }
        MetricKind::TopKCategoricalAccuracy { k, sparse } => {
            config["k"] = Value::from(k);
            if sparse {
                "SparseTopKCategoricalAccuracy"
            } else {
                "TopKCategoricalAccuracy"
            }
        }
        MetricKind::MeanAbsoluteError => "MeanAbsoluteError",
        MetricKind::MeanSquaredError => "MeanSquaredError",
        MetricKind::RootMeanSquaredError => "RootMeanSquaredError",
        _ => unreachable!("metric_config::metric_value writes the other metrics"),
    };
    keras_object("keras.metrics", class_name, config)
}

pub(super) fn compile_config(c: &Compiled) -> Result<Value> {
    Ok(json!({
        "optimizer": optimizer::optimizer_value(&c.optimizer)?,
        "loss": loss_value(&c.loss),
        "loss_weights": null,
        "metrics": c.metrics.iter().map(metric_value).collect::<Vec<_>>(),
        "weighted_metrics": null,
        "run_eagerly": false,
        "steps_per_execution": 1,
        "jit_compile": false,
    }))
}

// Reading. Errors name the place in config.json that is invalid, and the
// caller adds the file name.

pub(super) fn invalid(problem: String) -> Error {
    Error::File(format!("config.json is invalid: {problem}"))
}

/// Reads `config.json` into a model: the architecture, and the compile
/// configuration when `compile` is true. Weights are the initial ones
/// until the caller sets them.
pub fn model_from_config(config: &Value, compile: bool) -> Result<Model> {
    let class_name = config.get("class_name").and_then(Value::as_str);
    if class_name == Some("Functional") {
        return functional_config::model_from_config(config, compile);
    }
    if class_name != Some("Sequential") {
        return Err(Error::File(format!(
            "the saved model is a {} model; kerust reads Sequential and Functional models only",
            class_name.unwrap_or("(missing class_name)")
        )));
    }
    let inner = config
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("the model has no \"config\" object".into()))?;
    let name = inner
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("sequential");
    let layers = inner
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("the model has no \"layers\" list".into()))?;

    let (input_shape, rest) = match layers.first() {
        Some(first) if first.get("class_name").and_then(Value::as_str) == Some("InputLayer") => {
            (input_layer_shape(first)?, &layers[1..])
        }
        _ => {
            let shape = inner
                .get("build_input_shape")
                .or_else(|| config.pointer("/build_config/input_shape"))
                .ok_or_else(|| {
                    invalid("the model has no InputLayer and no build input shape; it was saved before it was built".into())
                })?;
            (per_sample_shape(shape, "build_input_shape")?, &layers[..])
        }
    };
    // The seed of the initial weights does not matter: loading replaces them.
    let mut model = Model::new(name, input_shape, 0)?;
    for (i, layer) in rest.iter().enumerate() {
        add_layer_from_config(&mut model, layer, i + 1)?;
    }
    if compile {
        if let Some(c) = config.get("compile_config").filter(|c| !c.is_null()) {
            model.compiled = Some(compiled_from_config(c, &model)?);
        }
    }
    Ok(model)
}

/// Reads a `[null, d1, d2, ...]` batch shape into the per-sample shape.
fn per_sample_shape(v: &Value, field: &str) -> Result<Vec<usize>> {
    let dims = v.as_array().filter(|d| d.len() >= 2).ok_or_else(|| {
        invalid(format!(
            "{field} must be a list [null, ...] of at least two entries, got {v}"
        ))
    })?;
    dims[1..]
        .iter()
        .map(|d| {
            d.as_u64()
                .filter(|&d| d > 0)
                .and_then(|d| usize::try_from(d).ok())
                .ok_or_else(|| {
                    invalid(format!(
                        "{field} must have positive sizes after the batch axis, got {v}"
                    ))
                })
        })
        .collect()
}

pub(super) fn input_layer_shape(layer: &Value) -> Result<Vec<usize>> {
    let config = layer.get("config").unwrap_or(&Value::Null);
    let shape = config
        .get("batch_shape")
        .or_else(|| config.get("batch_input_shape"))
        .ok_or_else(|| invalid("the InputLayer has no \"batch_shape\"".into()))?;
    check_dtype(config, "the InputLayer")?;
    per_sample_shape(shape, "the InputLayer's batch_shape")
}

/// Accepts a missing dtype, "float32", or a float32 DTypePolicy.
pub(super) fn check_dtype(config: &Value, owner: &str) -> Result<()> {
    let dtype = match config.get("dtype") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::String(s)) => s.as_str(),
        Some(policy) => policy
            .pointer("/config/name")
            .and_then(Value::as_str)
            .unwrap_or("(unreadable)"),
    };
    if dtype != "float32" {
        return Err(Error::File(format!(
            "{owner} has dtype \"{dtype}\"; kerust computes in float32 only"
        )));
    }
    Ok(())
}

/// Typed access to the fields of one layer's config, with errors that name
/// the layer.
pub(super) struct Fields<'a> {
    pub(super) config: &'a Map<String, Value>,
    /// The layer, as error messages name it.
    pub(super) label: String,
}

impl Fields<'_> {
    pub(super) fn get(&self, key: &str) -> Option<&Value> {
        self.config.get(key).filter(|v| !v.is_null())
    }

    pub(super) fn bad(&self, key: &str, expected: &str) -> Error {
        invalid(format!(
            "{}: `{key}` must be {expected}, got {}",
            self.label,
            self.config.get(key).unwrap_or(&Value::Null)
        ))
    }

    pub(super) fn count(&self, key: &str) -> Result<usize> {
        self.get(key)
            .and_then(Value::as_u64)
            .filter(|&v| v > 0)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| self.bad(key, "a positive integer"))
    }

    pub(super) fn number(&self, key: &str) -> Result<f64> {
        self.get(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| self.bad(key, "a number"))
    }

    pub(super) fn flag(&self, key: &str, default: bool) -> Result<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| self.bad(key, "true or false")),
        }
    }

    pub(super) fn seed(&self, key: &str) -> Result<Option<u64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| self.bad(key, "null or a non-negative integer")),
        }
    }

    pub(super) fn activation(&self, key: &str) -> Result<Activation> {
        let name = match self.get(key) {
            None => "linear",
            Some(Value::String(s)) => s.as_str(),
            // Keras 3 may write a built-in activation as a serialized function.
            Some(v) => v
                .get("config")
                .and_then(Value::as_str)
                .ok_or_else(|| self.bad(key, "an activation name"))?,
        };
        Activation::from_name(name).map_err(|e| invalid(format!("{}: {e}", self.label)))
    }

    pub(super) fn initializer(&self, key: &str, default: Initializer) -> Result<InitializerSpec> {
        let Some(v) = self.get(key) else {
            return Ok(InitializerSpec {
                initializer: default,
                seed: None,
            });
        };
        let (class_name, config) = match v {
            Value::String(s) => (s.as_str(), &Value::Null),
            Value::Object(o) => (
                o.get("class_name").and_then(Value::as_str).unwrap_or(""),
                o.get("config").unwrap_or(&Value::Null),
            ),
            _ => return Err(self.bad(key, "an initializer")),
        };
        let name = initializer_name(class_name)
            .ok_or_else(|| self.bad(key, "a Keras built-in initializer"))?;
        let params: Vec<(String, f64)> = config
            .as_object()
            .map(|o| {
                o.iter()
                    .filter_map(|(k, v)| v.as_f64().map(|v| (k.clone(), v)))
                    .collect()
            })
            .unwrap_or_default();
        let seed = config.get("seed").and_then(Value::as_u64);
        let initializer = Initializer::from_parts(name, &params)
            .map_err(|e| invalid(format!("{}: {e}", self.label)))?;
        Ok(InitializerSpec { initializer, seed })
    }

    /// Reads an L1, L2 or L1L2 regularizer object, or its name.
    pub(super) fn regularizer(&self, key: &str) -> Result<Option<Regularizer>> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        let (class_name, config) = match v {
            Value::String(s) => (s.as_str(), &Value::Null),
            Value::Object(o) => (
                o.get("class_name").and_then(Value::as_str).unwrap_or(""),
                o.get("config").unwrap_or(&Value::Null),
            ),
            _ => return Err(self.bad(key, "a regularizer")),
        };
        // Keras's defaults: L1(0.01), L2(0.01), L1L2(0, 0).
        let default = match class_name {
            "L1" | "l1" => (0.01, 0.0),
            "L2" | "l2" => (0.0, 0.01),
            "L1L2" | "l1_l2" => (0.0, 0.0),
            _ => return Err(self.bad(key, "an L1, L2 or L1L2 regularizer")),
        };
        let factor = |k: &str, default: f64| {
            config
                .get(k)
                .and_then(Value::as_f64)
                .filter(|v| *v >= 0.0 && v.is_finite())
                .unwrap_or(default) as f32
        };
        let l1 = if class_name.eq_ignore_ascii_case("l2") {
            0.0
        } else {
            factor("l1", default.0)
        };
        let l2 = if class_name.eq_ignore_ascii_case("l1") {
            0.0
        } else {
            factor("l2", default.1)
        };
        Ok(Some(Regularizer { l1, l2 }))
    }

    pub(super) fn require_null(&self, keys: &[&str]) -> Result<()> {
        for key in keys {
            if self.get(key).is_some() {
                return Err(Error::File(format!(
                    "{}: `{key}` is not supported by this version of kerust",
                    self.label
                )));
            }
        }
        Ok(())
    }
}

/// Maps a Keras initializer class name (or snake-case name) to kerust's name.
fn initializer_name(class_name: &str) -> Option<&'static str> {
    Some(match class_name {
        "GlorotUniform" | "glorot_uniform" => "glorot_uniform",
        "GlorotNormal" | "glorot_normal" => "glorot_normal",
        "HeNormal" | "he_normal" => "he_normal",
        "HeUniform" | "he_uniform" => "he_uniform",
        "LecunNormal" | "lecun_normal" => "lecun_normal",
        "LecunUniform" | "lecun_uniform" => "lecun_uniform",
        "RandomNormal" | "random_normal" => "random_normal",
        "RandomUniform" | "random_uniform" => "random_uniform",
        "TruncatedNormal" | "truncated_normal" => "truncated_normal",
        "Zeros" | "zeros" => "zeros",
        "Ones" | "ones" => "ones",
        "Constant" | "constant" => "constant",
        "Orthogonal" | "orthogonal" => "orthogonal",
        _ => return None,
    })
}

/// Adds the layer described by `layer` (entry `index` of the layer list).
pub(super) fn add_layer_from_config(model: &mut Model, layer: &Value, index: usize) -> Result<()> {
    let class_name = layer
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("layer {index} has no \"class_name\"")))?;
    let config = layer
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            invalid(format!(
                "layer {index} ({class_name}) has no \"config\" object"
            ))
        })?;
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("layer {index} ({class_name}) has no \"name\"")))?;
    let f = Fields {
        config,
        label: format!("layer {index} (\"{name}\", {class_name})"),
    };
    check_dtype(layer.get("config").unwrap_or(&Value::Null), &f.label)?;
    let trainable = f.flag("trainable", true)?;
    match class_name {
        "Dense" => {
            f.require_null(&["kernel_constraint", "bias_constraint", "lora_rank"])?;
            let kernel = f.initializer("kernel_initializer", Initializer::GlorotUniform)?;
            let bias = f.initializer("bias_initializer", Initializer::Zeros)?;
            let use_bias = f.flag("use_bias", true)?;
            model.add_dense(
                name,
                f.count("units")?,
                f.activation("activation")?,
                use_bias,
                &kernel.initializer,
                kernel.seed,
                &bias.initializer,
                bias.seed,
            )?;
            if let Some(reg) = f.regularizer("kernel_regularizer")? {
                model.set_weight_regularizer(name, "kernel", reg)?;
            }
            match f.regularizer("bias_regularizer")? {
                Some(reg) if use_bias => model.set_weight_regularizer(name, "bias", reg),
                _ => Ok(()),
            }
        }
        "GaussianNoise" => model.add_noise(
            name,
            NoiseKind::Gaussian {
                stddev: f.number("stddev")? as f32,
            },
            f.seed("seed")?,
        ),
        "GaussianDropout" => model.add_noise(
            name,
            NoiseKind::GaussianDropout {
                rate: f.number("rate")? as f32,
            },
            f.seed("seed")?,
        ),
        "AlphaDropout" => {
            f.require_null(&["noise_shape"])?;
            model.add_noise(
                name,
                NoiseKind::AlphaDropout {
                    rate: f.number("rate")? as f32,
                },
                f.seed("seed")?,
            )
        }
        "ActivityRegularization" => {
            let factor = |key: &str| match f.get(key) {
                None => Ok(0.0),
                Some(_) => f.number(key).map(|v| v as f32),
            };
            let reg = Regularizer {
                l1: factor("l1")?,
                l2: factor("l2")?,
            };
            model.add_activity_regularization(name, reg)
        }
        "Activation" => model.add_activation(name, f.activation("activation")?),
        "Dropout" => {
            f.require_null(&["noise_shape"])?;
            model.add_dropout(name, f.number("rate")? as f32, f.seed("seed")?)
        }
        "Flatten" => {
            match f.get("data_format").and_then(Value::as_str) {
                None | Some("channels_last") => {}
                Some(other) => {
                    return Err(Error::File(format!(
                        "{}: data_format \"{other}\" is not supported; kerust uses channels_last",
                        f.label
                    )))
                }
            }
            model.add_flatten(name)
        }
        "Reshape" => {
            let target: Option<Vec<i64>> = f.get("target_shape").and_then(Value::as_array).and_then(
                |dims| dims.iter().map(Value::as_i64).collect(),
            );
            let target = target.ok_or_else(|| f.bad("target_shape", "a list of sizes"))?;
            model.add_reshape(name, &target)
        }
        other => conv_config::add_layer(model, other, name, &f).unwrap_or_else(|| {
            Err(Error::File(format!(
                "layer {index} (\"{name}\") is a {other} layer, which this version of kerust cannot load"
            )))
        }),
    }
    .and_then(|()| {
        if class_name == "ActivityRegularization" {
            return Ok(());
        }
        match f.regularizer("activity_regularizer")? {
            Some(reg) => model.set_activity_regularizer(name, reg),
            None => Ok(()),
        }
    })
    .and_then(|()| model.set_trainable(name, trainable))
    .map_err(|e| match e {
        Error::File(_) => e,
        other => invalid(format!("{}: {other}", f.label)),
    })
}

/// Maps a Keras loss class name or loss name to the engine's loss.
pub(super) fn loss_from_config(v: &Value) -> Result<Loss> {
    let (name, config) = match v {
        Value::String(s) => (s.as_str(), &Value::Null),
        Value::Object(o) => {
            let class_name = o.get("class_name").and_then(Value::as_str).unwrap_or("");
            let name = match class_name {
                "MeanSquaredError" => "mean_squared_error",
                "MeanAbsoluteError" => "mean_absolute_error",
                "MeanAbsolutePercentageError" => "mean_absolute_percentage_error",
                "MeanSquaredLogarithmicError" => "mean_squared_logarithmic_error",
                "Huber" => "huber",
                "BinaryCrossentropy" => "binary_crossentropy",
                "CategoricalCrossentropy" => "categorical_crossentropy",
                "SparseCategoricalCrossentropy" => "sparse_categorical_crossentropy",
                other => {
                    return Err(Error::File(format!(
                        "the saved loss {other} is not supported by this version of kerust"
                    )))
                }
            };
            (name, o.get("config").unwrap_or(&Value::Null))
        }
        other => {
            return Err(invalid(format!(
                "the loss must be a name or a loss object, got {other}"
            )))
        }
    };
    let number =
        |key: &str, default: f64| config.get(key).and_then(Value::as_f64).unwrap_or(default);
    if config.get("ignore_class").is_some_and(|v| !v.is_null()) {
        return Err(Error::File(
            "the saved loss uses `ignore_class`, which this version of kerust does not support"
                .into(),
        ));
    }
    Loss::from_name(
        name,
        config
            .get("from_logits")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        number("label_smoothing", 0.0) as f32,
        number("delta", 1.0) as f32,
    )
    .map_err(|e| Error::File(format!("the saved loss is invalid: {e}")))
}

/// Reads one metric. "accuracy" as a bare name is resolved the way
/// `compile()` resolves it: from the loss and the number of outputs.
pub(super) fn metric_from_config(v: &Value, loss: &Loss, outputs: usize) -> Result<Metric> {
    let (class_name, config) = match v {
        Value::String(s) => (s.as_str(), &Value::Null),
        Value::Object(o) => (
            o.get("class_name").and_then(Value::as_str).unwrap_or(""),
            o.get("config").unwrap_or(&Value::Null),
        ),
        other => {
            return Err(invalid(format!(
                "a metric must be a name or a metric object, got {other}"
            )))
        }
    };
    if let Some(kind) = metric_config::metric_from_config(class_name, config)? {
        let name = config
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(class_name);
        return Ok(Metric::new(name, kind));
    }
    let kind_name = match class_name {
        "accuracy" | "acc" => match loss {
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_accuracy",
            Loss::CategoricalCrossentropy { .. } => "categorical_accuracy",
            Loss::BinaryCrossentropy { .. } => "binary_accuracy",
            _ if outputs == 1 => "binary_accuracy",
            _ => "categorical_accuracy",
        },
        "SparseCategoricalAccuracy" => "sparse_categorical_accuracy",
        "CategoricalAccuracy" => "categorical_accuracy",
        "BinaryAccuracy" => "binary_accuracy",
        "TopKCategoricalAccuracy" => "top_k_categorical_accuracy",
        "SparseTopKCategoricalAccuracy" => "sparse_top_k_categorical_accuracy",
        "MeanAbsoluteError" => "mean_absolute_error",
        "MeanSquaredError" => "mean_squared_error",
        "RootMeanSquaredError" => "root_mean_squared_error",
        other => other,
    };
    let threshold = config
        .get("threshold")
        .and_then(Value::as_f64)
        .unwrap_or(0.5) as f32;
    let k = config.get("k").and_then(Value::as_u64).unwrap_or(5) as usize;
    let kind = MetricKind::from_name(kind_name, threshold, k)
        .map_err(|e| Error::File(format!("a saved metric is not supported: {e}")))?;
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or(class_name);
    Ok(Metric::new(name, kind))
}

fn compiled_from_config(c: &Value, model: &Model) -> Result<Compiled> {
    let loss = loss_from_config(
        c.get("loss")
            .ok_or_else(|| invalid("compile_config has no \"loss\"".into()))?,
    )?;
    let outputs = size_of(model.output_shape());
    let metrics = match c.get("metrics") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|m| metric_from_config(m, &loss, outputs))
            .collect::<Result<_>>()?,
        Some(other) => {
            return Err(invalid(format!(
                "compile_config's \"metrics\" must be a list, got {other}"
            )))
        }
    };
    let optimizer = optimizer::optimizer_from_value(
        c.get("optimizer")
            .ok_or_else(|| invalid("compile_config has no \"optimizer\"".into()))?,
    )?;
    Ok(Compiled {
        loss,
        metrics,
        optimizer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_values_read_back_exactly() {
        for v in [
            0.001f32,
            0.1,
            1e-7,
            0.9,
            0.999,
            3.0e38,
            f32::MIN_POSITIVE,
            0.3,
            2.5e-4,
        ] {
            let json = serde_json::to_string(&f32_value(v)).unwrap();
            let back: f64 = serde_json::from_str(&json).unwrap();
            assert_eq!(
                (back as f32).to_bits(),
                v.to_bits(),
                "{v} written as {json}"
            );
        }
        assert_eq!(serde_json::to_string(&f32_value(0.001)).unwrap(), "0.001");
    }

    #[test]
    fn unknown_layer_class_is_named() {
        let config = json!({
            "class_name": "Sequential",
            "config": {"name": "m", "layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [null, 4]}},
                {"class_name": "LSTM", "config": {"name": "lstm"}}
            ]}
        });
        let err = model_from_config(&config, true).unwrap_err().to_string();
        assert_eq!(
            err,
            "layer 1 (\"lstm\") is a LSTM layer, which this version of kerust cannot load"
        );
    }
}
