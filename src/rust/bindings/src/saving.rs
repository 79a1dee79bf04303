//! Saving and loading models: model archives as files or raw vectors,
//! weights files, and a description of a loaded model from which the R
//! side rebuilds its layer and compile objects.

use std::path::Path;

use extendr_api::prelude::*;
use extendr_api::Result;
use serde_json::Value;

use engine::init::Initializer;
use engine::io::keras_config;
use engine::io::{self, SaveOptions};
use engine::layers::merge::MergeSpec;
use engine::layers::noise::NoiseKind;
use engine::layers::spec::InitializerSpec;
use engine::layers::LayerSpec;
use engine::losses::Loss;
use engine::metrics::Metric;
use engine::model::Model;
use engine::optim::{Optimizer, OptimizerKind};
use engine::regularizers::Regularizer;

use crate::errors::{engine_err, guard, r_error};
use crate::layer_descriptions::conv_layer_description;

/// Runs `f` with read access to the model. Reading is also allowed while
/// `fit()` trains the model, so a checkpoint callback can save it.
fn with_model_read<T>(model: &Robj, f: impl FnOnce(&Model) -> Result<T>) -> Result<T> {
    let ptr = crate::model_mut(model)?;
    let m = ptr.try_addr().map_err(|_| {
        r_error("the model handle is empty: the model was read back from a file without its saved state")
    })?;
    f(m)
}

/// Wraps the pointer to a new engine model for R.
fn model_handle(model: Model) -> Result<Robj> {
    let mut robj: Robj = ExternalPtr::new(model).into();
    robj.set_class(["kerust_model_ptr"])?;
    Ok(robj)
}

fn options(kerust_version: &str, include_optimizer: bool) -> SaveOptions<'_> {
    SaveOptions {
        kerust_version,
        include_optimizer,
    }
}

/// Returns true when `model` is an external pointer whose address is NULL,
/// as R restores every external pointer that saveRDS(), save() or another
/// process carried.
/// @noRd
#[extendr]
fn rs_handle_is_null(model: Robj) -> bool {
    // SAFETY: reads the address field of an external pointer without
    // dereferencing it.
    model.is_external_pointer() && unsafe { extendr_ffi::R_ExternalPtrAddr(model.get()).is_null() }
}

/// Returns the model archive as a raw vector.
/// @noRd
#[extendr]
fn rs_model_to_raw(model: Robj, kerust_version: &str, include_optimizer: bool) -> Result<Robj> {
    guard(|| {
        with_model_read(&model, |m| {
            let bytes = io::save_model(m, &options(kerust_version, include_optimizer))
                .map_err(|e| r_error(&format!("cannot save the model: {e}")))?;
            Ok(Raw::from_bytes(&bytes).into())
        })
    })
}

/// Writes the model archive, or with `weights_only` the weights file, to
/// `path`, replacing it atomically.
/// @noRd
#[extendr]
fn rs_model_to_file(
    model: Robj,
    path: &str,
    kerust_version: &str,
    include_optimizer: bool,
    weights_only: bool,
) -> Result<()> {
    guard(|| {
        let bytes = with_model_read(&model, |m| {
            let result = if weights_only {
                io::save_weights(m, kerust_version)
            } else {
                io::save_model(m, &options(kerust_version, include_optimizer))
            };
            result.map_err(|e| r_error(&format!("cannot save the model to \"{path}\": {e}")))
        })?;
        io::write_file_atomic(Path::new(path), &bytes).map_err(engine_err)
    })
}

/// Rebuilds a model from an archive in a raw vector; `source` names the
/// vector in error messages.
/// @noRd
#[extendr]
fn rs_model_from_raw(bytes: Raw, compile: bool, source: &str) -> Result<Robj> {
    guard(|| {
        let model = io::load_model(bytes.as_slice(), compile)
            .map_err(|e| r_error(&format!("cannot load {source}: {e}")))?;
        model_handle(model)
    })
}

/// Rebuilds a model from the archive file at `path`.
/// @noRd
#[extendr]
fn rs_model_from_file(path: &str, compile: bool) -> Result<Robj> {
    guard(|| {
        let bytes = io::read_file(Path::new(path)).map_err(engine_err)?;
        let model = io::load_model(&bytes, compile)
            .map_err(|e| r_error(&format!("cannot load \"{path}\": {e}")))?;
        model_handle(model)
    })
}

/// Loads layer weights from a weights file or model archive; returns the
/// descriptions of the layers skipped with `skip_mismatch`.
/// @noRd
#[extendr]
fn rs_load_weights_file(model: Robj, path: &str, skip_mismatch: bool) -> Result<Vec<String>> {
    guard(|| {
        let bytes = io::read_file(Path::new(path)).map_err(engine_err)?;
        crate::with_model(&model, |m| {
            io::load_weights(m, &bytes, skip_mismatch)
                .map_err(|e| r_error(&format!("cannot load weights from \"{path}\": {e}")))
        })
    })
}

/// Converts an f32 to the double of its shortest decimal, so R prints
/// `0.001` rather than `0.0010000000474974513`.
pub(crate) fn short(v: f32) -> f64 {
    format!("{v}").parse().unwrap_or(v as f64)
}

fn named(pairs: Vec<(&str, Robj)>) -> Robj {
    List::from_pairs(pairs).into()
}

pub(crate) fn seed_robj(seed: Option<u64>) -> Robj {
    seed.map(|s| Robj::from(s as f64))
        .unwrap_or_else(|| ().into())
}

/// Describes an initializer as the name and arguments of `initializer_<name>()`.
pub(crate) fn initializer_description(spec: &InitializerSpec) -> Robj {
    let seed = || ("seed", seed_robj(spec.seed));
    let (name, args): (&str, Vec<(&str, Robj)>) = match spec.initializer {
        Initializer::GlorotUniform => ("glorot_uniform", vec![seed()]),
        Initializer::GlorotNormal => ("glorot_normal", vec![seed()]),
        Initializer::HeNormal => ("he_normal", vec![seed()]),
        Initializer::HeUniform => ("he_uniform", vec![seed()]),
        Initializer::LecunNormal => ("lecun_normal", vec![seed()]),
        Initializer::LecunUniform => ("lecun_uniform", vec![seed()]),
        Initializer::RandomNormal { mean, stddev } => (
            "random_normal",
            vec![("mean", mean.into()), ("stddev", stddev.into()), seed()],
        ),
        Initializer::RandomUniform { minval, maxval } => (
            "random_uniform",
            vec![("minval", minval.into()), ("maxval", maxval.into()), seed()],
        ),
        Initializer::TruncatedNormal { mean, stddev } => (
            "truncated_normal",
            vec![("mean", mean.into()), ("stddev", stddev.into()), seed()],
        ),
        Initializer::Zeros => ("zeros", vec![]),
        Initializer::Ones => ("ones", vec![]),
        Initializer::Constant { value } => ("constant", vec![("value", value.into())]),
        Initializer::Orthogonal { gain } => ("orthogonal", vec![("gain", gain.into()), seed()]),
    };
    named(vec![("name", name.into()), ("args", named(args))])
}

pub(crate) fn regularizer_description(reg: Option<Regularizer>) -> Robj {
    match reg {
        Some(r) => named(vec![("l1", short(r.l1).into()), ("l2", short(r.l2).into())]),
        None => ().into(),
    }
}

/// Describes layer `index` of `m` as the `layer_<type>()` function and its
/// arguments.
fn layer_description(m: &Model, index: usize, spec: &LayerSpec) -> Robj {
    let name = m.layers()[index].name();
    let (kind, mut args): (String, Vec<(&str, Robj)>) = match spec {
        LayerSpec::Dense {
            units,
            activation,
            use_bias,
            kernel_initializer,
            bias_initializer,
        } => (
            "dense".into(),
            vec![
                ("units", (*units as f64).into()),
                ("activation", activation.name().into()),
                ("use_bias", (*use_bias).into()),
                (
                    "kernel_initializer",
                    initializer_description(kernel_initializer),
                ),
                (
                    "bias_initializer",
                    initializer_description(bias_initializer),
                ),
                (
                    "kernel_regularizer",
                    regularizer_description(m.weight_regularizer(index, 0)),
                ),
                (
                    "bias_regularizer",
                    regularizer_description(m.weight_regularizer(index, 1)),
                ),
            ],
        ),
        LayerSpec::Activation { activation } => (
            "activation".into(),
            vec![("activation", activation.name().into())],
        ),
        LayerSpec::Dropout { rate, seed } => (
            "dropout".into(),
            vec![("rate", short(*rate).into()), ("seed", seed_robj(*seed))],
        ),
        LayerSpec::Flatten => ("flatten".into(), vec![]),
        LayerSpec::Reshape { target_shape } => {
            let shape: Vec<f64> = target_shape.iter().map(|&d| d as f64).collect();
            ("reshape".into(), vec![("target_shape", shape.into())])
        }
        LayerSpec::Noise { kind, seed } => {
            let seed = ("seed", seed_robj(*seed));
            match *kind {
                NoiseKind::Gaussian { stddev } => (
                    "gaussian_noise".into(),
                    vec![("stddev", short(stddev).into()), seed],
                ),
                NoiseKind::GaussianDropout { rate } => (
                    "gaussian_dropout".into(),
                    vec![("rate", short(rate).into()), seed],
                ),
                NoiseKind::AlphaDropout { rate } => (
                    "alpha_dropout".into(),
                    vec![("rate", short(rate).into()), seed],
                ),
            }
        }
        LayerSpec::ActivityRegularization => {
            let reg = m.activity_regularizer(index).unwrap_or_default();
            (
                "activity_regularization".into(),
                vec![("l1", short(reg.l1).into()), ("l2", short(reg.l2).into())],
            )
        }
        other => conv_layer_description(m, index, other),
    };
    // Of kerust's layer functions, the dense and convolution layers take an
    // activity regularizer.
    if matches!(
        spec,
        LayerSpec::Dense { .. }
            | LayerSpec::Conv { .. }
            | LayerSpec::ConvTranspose { .. }
            | LayerSpec::DepthwiseConv { .. }
            | LayerSpec::SeparableConv { .. }
    ) {
        args.push((
            "activity_regularizer",
            regularizer_description(m.activity_regularizer(index)),
        ));
    }
    named(vec![
        ("type", kind.as_str().into()),
        ("name", name.into()),
        ("args", named(args)),
    ])
}

/// Describes an optimizer as `optimizer_<name>()` and its arguments.
fn optimizer_description(opt: &Optimizer) -> Robj {
    // A schedule is described as `learning_rate_schedule_<kind>()` and the
    // keys of its Keras config, which the R functions take as arguments.
    let lr_value: Robj = match &opt.schedule {
        Some(schedule) => {
            let value = engine::io::optimizer::schedule_value(schedule);
            named(vec![
                (
                    "schedule",
                    snake_case(value["class_name"].as_str().unwrap_or(""))
                        .as_str()
                        .into(),
                ),
                ("args", json_to_r(&value["config"])),
            ])
        }
        None => short(opt.learning_rate).into(),
    };
    let lr = ("learning_rate", lr_value);
    let f = |key: &'static str, v: f32| (key, Robj::from(short(v)));
    let (name, mut args): (&str, Vec<(&str, Robj)>) = match opt.kind {
        OptimizerKind::Sgd { momentum, nesterov } => (
            "sgd",
            vec![lr, f("momentum", momentum), ("nesterov", nesterov.into())],
        ),
        OptimizerKind::Adam {
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
        } => (
            "adam",
            vec![
                lr,
                f("beta_1", beta_1),
                f("beta_2", beta_2),
                f("epsilon", epsilon),
                ("amsgrad", amsgrad.into()),
            ],
        ),
        OptimizerKind::RmsProp {
            rho,
            momentum,
            epsilon,
            centered,
        } => (
            "rmsprop",
            vec![
                lr,
                f("rho", rho),
                f("momentum", momentum),
                f("epsilon", epsilon),
                ("centered", centered.into()),
            ],
        ),
        OptimizerKind::Adagrad {
            initial_accumulator_value,
            epsilon,
        } => (
            "adagrad",
            vec![
                lr,
                f("initial_accumulator_value", initial_accumulator_value),
                f("epsilon", epsilon),
            ],
        ),
        OptimizerKind::Adadelta { rho, epsilon } => {
            ("adadelta", vec![lr, f("rho", rho), f("epsilon", epsilon)])
        }
        OptimizerKind::Adamax {
            beta_1,
            beta_2,
            epsilon,
        } => (
            "adamax",
            vec![
                lr,
                f("beta_1", beta_1),
                f("beta_2", beta_2),
                f("epsilon", epsilon),
            ],
        ),
        OptimizerKind::Nadam {
            beta_1,
            beta_2,
            epsilon,
        } => (
            "nadam",
            vec![
                lr,
                f("beta_1", beta_1),
                f("beta_2", beta_2),
                f("epsilon", epsilon),
            ],
        ),
        OptimizerKind::Lion { beta_1, beta_2 } => {
            ("lion", vec![lr, f("beta_1", beta_1), f("beta_2", beta_2)])
        }
    };
    // Weight decay and clipping are off at 0, as the R functions' NULL.
    let options = [
        ("weight_decay", opt.weight_decay),
        ("clipnorm", opt.clipping.clipnorm),
        ("clipvalue", opt.clipping.clipvalue),
        ("global_clipnorm", opt.clipping.global_clipnorm),
    ];
    for (key, v) in options {
        if v != 0.0 {
            args.push(f(key, v));
        }
    }
    named(vec![("name", name.into()), ("args", named(args))])
}

/// Describes a loss as `loss_<name>()` and its arguments.
fn loss_description(loss: &Loss) -> Robj {
    let (name, args): (&str, Vec<(&str, Robj)>) = match *loss {
        Loss::MeanSquaredError => ("mean_squared_error", vec![]),
        Loss::MeanAbsoluteError => ("mean_absolute_error", vec![]),
        Loss::MeanAbsolutePercentageError => ("mean_absolute_percentage_error", vec![]),
        Loss::MeanSquaredLogarithmicError => ("mean_squared_logarithmic_error", vec![]),
        Loss::Huber { delta } => ("huber", vec![("delta", short(delta).into())]),
        Loss::BinaryCrossentropy {
            from_logits,
            label_smoothing,
        } => (
            "binary_crossentropy",
            vec![
                ("from_logits", from_logits.into()),
                ("label_smoothing", short(label_smoothing).into()),
            ],
        ),
        Loss::CategoricalCrossentropy {
            from_logits,
            label_smoothing,
        } => (
            "categorical_crossentropy",
            vec![
                ("from_logits", from_logits.into()),
                ("label_smoothing", short(label_smoothing).into()),
            ],
        ),
        Loss::SparseCategoricalCrossentropy { from_logits } => (
            "sparse_categorical_crossentropy",
            vec![("from_logits", from_logits.into())],
        ),
    };
    named(vec![("name", name.into()), ("args", named(args))])
}

/// Converts JSON to R: objects to named lists, arrays of numbers to numeric
/// vectors, other arrays to lists, and null to NULL.
fn json_to_r(v: &Value) -> Robj {
    match v {
        Value::Null => ().into(),
        Value::Bool(b) => (*b).into(),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN).into(),
        Value::String(s) => s.as_str().into(),
        Value::Array(items) => {
            let numbers: Option<Vec<f64>> = items.iter().map(Value::as_f64).collect();
            match numbers {
                Some(numbers) if !items.is_empty() => numbers.into(),
                _ => List::from_values(items.iter().map(json_to_r)).into(),
            }
        }
        Value::Object(map) => List::from_pairs(
            map.iter()
                .map(|(k, v)| (k.as_str(), json_to_r(v)))
                .collect::<Vec<_>>(),
        )
        .into(),
    }
}

/// Converts a Keras class name to snake case: `SparseCategoricalAccuracy`
/// to `sparse_categorical_accuracy`, `AUC` to `auc`, `R2Score` to `r2_score`.
fn snake_case(class_name: &str) -> String {
    let chars: Vec<char> = class_name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let starts_word = c.is_uppercase()
            && i > 0
            && (chars[i - 1].is_lowercase()
                || chars[i - 1].is_ascii_digit()
                || chars.get(i + 1).is_some_and(|n| n.is_lowercase()));
        if starts_word {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Describes a metric as `metric_<kind>()` and its arguments: the keys of
/// its Keras config, which the R constructors take under the same names.
fn metric_description(m: &Metric) -> Robj {
    let value = keras_config::metric_value(m);
    let kind = snake_case(value["class_name"].as_str().unwrap_or(""));
    let mut args = value["config"].clone();
    if let Value::Object(map) = &mut args {
        map.remove("dtype");
    }
    named(vec![
        ("kind", kind.as_str().into()),
        ("args", json_to_r(&args)),
    ])
}

/// Describes a loaded model for the R side: name, input shape, layers and
/// compile configuration (`NULL` when not compiled), each as the R function
/// that creates it and its arguments.
/// @noRd
#[extendr]
fn rs_model_description(model: Robj) -> Result<Robj> {
    guard(|| {
        with_model_read(&model, |m| {
            let mut layers = Vec::new();
            for (index, layer) in m.layers().iter().enumerate() {
                if let Some(merge) = layer.as_merge() {
                    layers.push(merge_description(layer.name(), merge.merge_spec()));
                    continue;
                }
                let spec = layer.spec().ok_or_else(|| {
                    r_error(&format!(
                        "layer \"{}\" ({}) has no saved form",
                        layer.name(),
                        layer.class_name()
                    ))
                })?;
                layers.push(layer_description(m, index, &spec));
            }
            let trainable: Vec<bool> = (0..m.layers().len()).map(|l| m.is_trainable(l)).collect();
            let compiled: Robj = match &m.compiled {
                Some(c) => {
                    // Outputs 2 and later of a functional model, each with its loss and metrics.
                    let heads: Vec<Robj> = m
                        .extra_heads
                        .iter()
                        .map(|h| {
                            named(vec![
                                ("loss", loss_description(&h.loss)),
                                (
                                    "metrics",
                                    List::from_values(h.metrics.iter().map(metric_description))
                                        .into(),
                                ),
                            ])
                        })
                        .collect();
                    let loss_weights: Vec<f64> = m.loss_weights.iter().map(|&w| short(w)).collect();
                    named(vec![
                        ("optimizer", optimizer_description(&c.optimizer)),
                        ("loss", loss_description(&c.loss)),
                        (
                            "metrics",
                            List::from_values(c.metrics.iter().map(metric_description)).into(),
                        ),
                        ("heads", List::from_values(heads).into()),
                        ("loss_weights", loss_weights.into()),
                    ])
                }
                None => ().into(),
            };
            let input: Vec<f64> = m.input_shape().iter().map(|&d| d as f64).collect();
            Ok(named(vec![
                ("name", m.name.as_str().into()),
                ("input_shape", input.into()),
                ("layers", List::from_values(layers).into()),
                ("trainable", trainable.into()),
                ("is_graph", m.is_graph().into()),
                ("compiled", compiled),
            ]))
        })
    })
}

/// Describes a merge layer as the `layer_<type>()` function and its arguments.
fn merge_description(name: &str, spec: MergeSpec) -> Robj {
    let (kind, args): (String, Vec<(&str, Robj)>) = match spec {
        MergeSpec::Elementwise(op) => (op.class_name().to_lowercase(), vec![]),
        MergeSpec::Concatenate { axis } => {
            ("concatenate".into(), vec![("axis", (axis as f64).into())])
        }
        MergeSpec::Dot { axes, normalize } => (
            "dot".into(),
            vec![
                ("axes", vec![axes[0] as f64, axes[1] as f64].into()),
                ("normalize", normalize.into()),
            ],
        ),
    };
    named(vec![
        ("type", kind.as_str().into()),
        ("name", name.into()),
        ("args", named(args)),
    ])
}

extendr_module! {
    mod saving;
    fn rs_handle_is_null;
    fn rs_model_to_raw;
    fn rs_model_to_file;
    fn rs_model_from_raw;
    fn rs_model_from_file;
    fn rs_load_weights_file;
    fn rs_model_description;
}
