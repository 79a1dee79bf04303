//! R bindings of kerust's engine. This crate converts R values to engine
//! types, keeps models behind external pointers and maps errors. It does no
//! numerical work. Every exported function runs inside [`errors::guard`], so
//! a panic becomes an R error.

use extendr_api::prelude::*;
use extendr_api::Result;

use engine::activations::Activation;
use engine::init::Initializer;
use engine::losses::Loss;
use engine::model::{size_of, Compiled, Model};
use engine::optim::{Clipping, Optimizer, OptimizerKind, Schedule};
use engine::regularizers::Regularizer;
use engine::train::{self, Data, FitConfig};

mod callbacks;
mod conv;
mod convert;
mod errors;
mod graph;
mod image;
mod layer_descriptions;
mod metrics;
mod observer;
mod saving;

use errors::{engine_err, guard, r_error};

fn model_mut(model: &Robj) -> Result<ExternalPtr<Model>> {
    let ptr: ExternalPtr<Model> = model.try_into().map_err(|_| {
        r_error(
            "`model` is not a kerust model handle; build the model with keras_model_sequential()",
        )
    })?;
    Ok(ptr)
}

thread_local! {
    /// Address of the model that `fit()` is training on this thread, or 0.
    static TRAINING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Marks a model as being trained while it lives, so that R callbacks cannot
/// change or run the same model (the training loop has a mutable reference to it).
struct TrainingGuard(usize);

impl TrainingGuard {
    fn enter(model: &Model) -> TrainingGuard {
        let previous = TRAINING.with(|t| t.replace(model as *const Model as usize));
        TrainingGuard(previous)
    }
}

impl Drop for TrainingGuard {
    fn drop(&mut self) {
        TRAINING.with(|t| t.set(self.0));
    }
}

/// Runs `f` with read access to the model, also from a callback during training.
fn with_model_ref<T>(model: &Robj, f: impl FnOnce(&Model) -> Result<T>) -> Result<T> {
    let ptr = model_mut(model)?;
    let m = ptr.try_addr().map_err(|_| {
        r_error("the model handle is empty (was the model saved with saveRDS() and read back?); rebuild the model")
    })?;
    f(m)
}

fn with_model<T>(model: &Robj, f: impl FnOnce(&mut Model) -> Result<T>) -> Result<T> {
    let mut ptr = model_mut(model)?;
    if let Ok(m) = ptr.try_addr() {
        if TRAINING.with(|t| t.get()) == m as *const Model as usize {
            return Err(r_error(
                "the model is being trained by fit(): a callback can read its weights (get_weights()) but cannot change, fit, evaluate or predict with it",
            ));
        }
    }
    let m = ptr.try_addr_mut().map_err(|_| {
        r_error("the model handle is empty (was the model saved with saveRDS() and read back?); rebuild the model")
    })?;
    f(m)
}

fn seed_of(seed: f64) -> Option<u64> {
    (seed.is_finite() && seed >= 0.0).then_some(seed as u64)
}

/// Reads a named double vector into (name, value) pairs.
fn named_params(params: &Robj) -> Vec<(String, f64)> {
    let values: Vec<f64> = params.as_real_vector().unwrap_or_default();
    match params.names() {
        Some(names) => names.map(|n| n.to_string()).zip(values).collect(),
        None => Vec::new(),
    }
}

fn activation_of(name: &str, params: &Robj) -> Result<Activation> {
    let act = Activation::from_name(name).map_err(engine_err)?;
    let p = named_params(params);
    let get = |key: &str| p.iter().find(|(n, _)| n == key).map(|(_, v)| *v);
    Ok(match act {
        Activation::Relu { .. } => Activation::Relu {
            negative_slope: get("negative_slope").unwrap_or(0.0) as f32,
            max_value: get("max_value").filter(|v| v.is_finite()).map(|v| v as f32),
            threshold: get("threshold").unwrap_or(0.0) as f32,
        },
        Activation::Elu { alpha } => Activation::Elu {
            alpha: get("alpha").map(|v| v as f32).unwrap_or(alpha),
        },
        Activation::LeakyRelu { negative_slope } => Activation::LeakyRelu {
            negative_slope: get("negative_slope")
                .map(|v| v as f32)
                .unwrap_or(negative_slope),
        },
        Activation::Gelu { approximate } => Activation::Gelu {
            approximate: get("approximate").map(|v| v != 0.0).unwrap_or(approximate),
        },
        other => other,
    })
}

fn initializer_of(name: &str, params: &Robj) -> Result<(Initializer, Option<u64>)> {
    let p = named_params(params);
    let seed = p
        .iter()
        .find(|(n, _)| n == "seed")
        .and_then(|(_, v)| seed_of(*v));
    Ok((Initializer::from_parts(name, &p).map_err(engine_err)?, seed))
}

/// Number of threads the engine uses.
/// @noRd
#[extendr]
fn rs_threads() -> i32 {
    engine::pool::threads() as i32
}

/// Sets the number of engine threads.
/// @noRd
#[extendr]
fn rs_set_threads(n: i32) -> Result<()> {
    guard(|| engine::pool::set_threads(n.max(0) as usize).map_err(engine_err))
}

/// Converts `x` to an engine tensor and back (tests the array exchange).
/// @noRd
#[extendr]
fn rs_roundtrip(x: Robj, arg: &str) -> Result<Robj> {
    guard(|| {
        let received = convert::from_r(arg, &x)?;
        Ok(convert::to_r(&received.data, &received.dims))
    })
}

/// Converts `x` to an engine tensor and drops it; returns its length (for
/// benchmarking the conversion into the engine alone).
/// @noRd
#[extendr]
fn rs_to_engine_only(x: Robj) -> Result<f64> {
    guard(|| Ok(convert::from_r("x", &x)?.data.len() as f64))
}

/// Raises an engine error or a panic on purpose, to test error handling.
/// @noRd
#[extendr]
fn rs_test_failure(kind: &str) -> Result<()> {
    guard(|| match kind {
        "engine" => Err(engine_err(engine::Error::InvalidArgument(
            "this engine error was raised on purpose; 100% expected".into(),
        ))),
        "panic" => panic!("a panic raised on purpose"),
        "worker_panic" => {
            engine::pool::install(|| {
                use std::sync::atomic::{AtomicBool, Ordering};
                static FLAG: AtomicBool = AtomicBool::new(true);
                rayon::join(
                    || {
                        if FLAG.load(Ordering::Relaxed) {
                            panic!("a panic raised on purpose in a worker thread")
                        }
                    },
                    || (),
                )
            });
            Ok(())
        }
        _ => Ok(()),
    })
}

/// Creates an empty Sequential model.
/// @noRd
#[extendr]
fn rs_model_new(name: &str, input_shape: Vec<f64>, seed: f64) -> Result<Robj> {
    guard(|| {
        let shape: Vec<usize> = input_shape.iter().map(|&d| d.max(0.0) as usize).collect();
        let model = Model::new(name, shape, seed_of(seed).unwrap_or(0)).map_err(engine_err)?;
        let mut robj: Robj = ExternalPtr::new(model).into();
        robj.set_class(["kerust_model_ptr"])?;
        Ok(robj)
    })
}

/// Appends a Dense layer.
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_add_dense(
    model: Robj,
    name: &str,
    units: f64,
    activation: &str,
    activation_params: Robj,
    use_bias: bool,
    kernel_init: &str,
    kernel_params: Robj,
    bias_init: &str,
    bias_params: Robj,
) -> Result<()> {
    guard(|| {
        let act = activation_of(activation, &activation_params)?;
        let (k, kseed) = initializer_of(kernel_init, &kernel_params)?;
        let (b, bseed) = initializer_of(bias_init, &bias_params)?;
        with_model(&model, |m| {
            m.add_dense(name, units as usize, act, use_bias, &k, kseed, &b, bseed)
                .map_err(engine_err)
        })
    })
}

/// Appends an Activation layer.
/// @noRd
#[extendr]
fn rs_add_activation(
    model: Robj,
    name: &str,
    activation: &str,
    activation_params: Robj,
) -> Result<()> {
    guard(|| {
        let act = activation_of(activation, &activation_params)?;
        with_model(&model, |m| m.add_activation(name, act).map_err(engine_err))
    })
}

/// Appends a Dropout layer; `seed` NA draws masks from the model's generator.
/// @noRd
#[extendr]
fn rs_add_dropout(model: Robj, name: &str, rate: f64, seed: f64) -> Result<()> {
    guard(|| {
        with_model(&model, |m| {
            m.add_dropout(name, rate as f32, seed_of(seed))
                .map_err(engine_err)
        })
    })
}

/// Appends a Flatten layer.
/// @noRd
#[extendr]
fn rs_add_flatten(model: Robj, name: &str) -> Result<()> {
    guard(|| with_model(&model, |m| m.add_flatten(name).map_err(engine_err)))
}

/// Appends a Reshape layer.
/// @noRd
#[extendr]
fn rs_add_reshape(model: Robj, name: &str, target_shape: Vec<f64>) -> Result<()> {
    guard(|| {
        let target: Vec<i64> = target_shape.iter().map(|&d| d as i64).collect();
        with_model(&model, |m| m.add_reshape(name, &target).map_err(engine_err))
    })
}

/// Removes the last layer.
/// @noRd
#[extendr]
fn rs_pop(model: Robj) -> Result<()> {
    guard(|| with_model(&model, |m| m.pop().map_err(engine_err)))
}

/// Describes the layers: name, class, output shape, parameter counts.
/// @noRd
#[extendr]
fn rs_layers(model: Robj) -> Result<Robj> {
    guard(|| {
        with_model_ref(&model, |m| {
            let mut names = Vec::new();
            let mut classes = Vec::new();
            let mut shapes = Vec::new();
            let mut params = Vec::new();
            let mut trainable = Vec::new();
            for (l, layer) in m.layers().iter().enumerate() {
                names.push(layer.name().to_string());
                classes.push(layer.class_name().to_string());
                let shape: Vec<i32> = layer.output_shape().iter().map(|&d| d as i32).collect();
                shapes.push(Robj::from(shape));
                params.push(
                    layer
                        .params()
                        .iter()
                        .map(|p| p.value.len() as f64)
                        .sum::<f64>(),
                );
                trainable.push(m.layer_param_counts(l).0 as f64);
            }
            let input: Vec<i32> = m.input_shape().iter().map(|&d| d as i32).collect();
            Ok(list!(
                name = names,
                class = classes,
                output_shape = List::from_values(shapes),
                params = params,
                trainable = trainable,
                input_shape = input
            )
            .into())
        })
    })
}

/// Returns the weights as a list of R arrays in keras's order, named `layer/weight`.
/// @noRd
#[extendr]
fn rs_get_weights(model: Robj) -> Result<Robj> {
    guard(|| {
        with_model_ref(&model, |m| {
            let mut values = Vec::new();
            let mut names = Vec::new();
            for layer in m.layers() {
                for p in layer.params() {
                    values.push(convert::to_r(&p.value, &p.shape));
                    names.push(format!("{}/{}", layer.name(), p.name));
                }
            }
            let mut list: Robj = List::from_values(values).into();
            list.set_names(names)?;
            Ok(list)
        })
    })
}

/// Replaces all weights from a list of R arrays in keras's order.
/// @noRd
#[extendr]
fn rs_set_weights(model: Robj, weights: List) -> Result<()> {
    guard(|| {
        let mut values = Vec::new();
        for (i, (_, w)) in weights.iter().enumerate() {
            let received = convert::from_r(&format!("weights[[{}]]", i + 1), &w)?;
            values.push((received.dims, received.data));
        }
        with_model(&model, |m| m.set_weights(values).map_err(engine_err))
    })
}

/// Sets the loss, metrics and optimizer.
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_compile(
    model: Robj,
    optimizer: &str,
    learning_rate: f64,
    optimizer_params: Robj,
    loss: &str,
    loss_params: Robj,
    metric_kinds: Vec<String>,
    metric_names: Vec<String>,
    metric_params: Robj,
    schedule: Robj,
) -> Result<()> {
    guard(|| {
        let p = named_params(&optimizer_params);
        let get = |key: &str, default: f64| {
            p.iter()
                .find(|(n, _)| n == key)
                .map(|(_, v)| *v)
                .unwrap_or(default)
        };
        let kind = match optimizer {
            "sgd" => OptimizerKind::Sgd {
                momentum: get("momentum", 0.0) as f32,
                nesterov: get("nesterov", 0.0) != 0.0,
            },
            "adam" => OptimizerKind::Adam {
                beta_1: get("beta_1", 0.9) as f32,
                beta_2: get("beta_2", 0.999) as f32,
                epsilon: get("epsilon", 1e-7) as f32,
                amsgrad: get("amsgrad", 0.0) != 0.0,
            },
            "rmsprop" => OptimizerKind::RmsProp {
                rho: get("rho", 0.9) as f32,
                momentum: get("momentum", 0.0) as f32,
                epsilon: get("epsilon", 1e-7) as f32,
                centered: get("centered", 0.0) != 0.0,
            },
            "adagrad" => OptimizerKind::Adagrad {
                initial_accumulator_value: get("initial_accumulator_value", 0.1) as f32,
                epsilon: get("epsilon", 1e-7) as f32,
            },
            "adadelta" => OptimizerKind::Adadelta {
                rho: get("rho", 0.95) as f32,
                epsilon: get("epsilon", 1e-7) as f32,
            },
            "adamax" => OptimizerKind::Adamax {
                beta_1: get("beta_1", 0.9) as f32,
                beta_2: get("beta_2", 0.999) as f32,
                epsilon: get("epsilon", 1e-7) as f32,
            },
            "nadam" => OptimizerKind::Nadam {
                beta_1: get("beta_1", 0.9) as f32,
                beta_2: get("beta_2", 0.999) as f32,
                epsilon: get("epsilon", 1e-7) as f32,
            },
            "lion" => OptimizerKind::Lion {
                beta_1: get("beta_1", 0.9) as f32,
                beta_2: get("beta_2", 0.99) as f32,
            },
            other => return Err(r_error(&format!("unknown optimizer \"{other}\""))),
        };
        kind.validate().map_err(engine_err)?;
        let mut optimizer = Optimizer::new(kind, learning_rate as f32);
        optimizer.weight_decay = get("weight_decay", 0.0) as f32;
        optimizer.clipping = Clipping {
            clipnorm: get("clipnorm", 0.0) as f32,
            clipvalue: get("clipvalue", 0.0) as f32,
            global_clipnorm: get("global_clipnorm", 0.0) as f32,
        };
        if !schedule.is_null() {
            let s = schedule_of(&schedule)?;
            s.validate().map_err(engine_err)?;
            optimizer.schedule = Some(s);
        }
        let lp = named_params(&loss_params);
        let lget = |key: &str, default: f64| {
            lp.iter()
                .find(|(n, _)| n == key)
                .map(|(_, v)| *v)
                .unwrap_or(default)
        };
        let loss = Loss::from_name(
            loss,
            lget("from_logits", 0.0) != 0.0,
            lget("label_smoothing", 0.0) as f32,
            lget("delta", 1.0) as f32,
        )
        .map_err(engine_err)?;
        with_model(&model, |m| {
            let width = size_of(m.output_shape());
            let metrics = metrics::metrics_of(&metric_kinds, &metric_names, &metric_params, width)?;
            m.compiled = Some(Compiled {
                loss,
                metrics,
                optimizer,
            });
            Ok(())
        })
    })
}

/// Builds a learning-rate schedule from its R spec: a named list with
/// `type` and keras's argument names.
fn schedule_of(spec: &Robj) -> Result<Schedule> {
    let list: List = spec.clone().try_into()?;
    let get = |k: &str| -> Option<Robj> { list.iter().find(|(n, _)| *n == k).map(|(_, v)| v) };
    let num = |k: &str, default: f64| {
        get(k)
            .and_then(|v| v.as_real())
            .filter(|v| !v.is_nan())
            .unwrap_or(default)
    };
    let flag = |k: &str| get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    let vec = |k: &str| get(k).and_then(|v| v.as_real_vector()).unwrap_or_default();
    let kind = get("type")
        .and_then(|v| v.as_str().map(|s| s.to_string()))
        .unwrap_or_default();
    Ok(match kind.as_str() {
        "exponential_decay" => Schedule::ExponentialDecay {
            initial: num("initial_learning_rate", 0.0),
            decay_steps: num("decay_steps", 1.0),
            decay_rate: num("decay_rate", 1.0),
            staircase: flag("staircase"),
        },
        "piecewise_constant_decay" => Schedule::PiecewiseConstantDecay {
            boundaries: vec("boundaries"),
            values: vec("values"),
        },
        "inverse_time_decay" => Schedule::InverseTimeDecay {
            initial: num("initial_learning_rate", 0.0),
            decay_steps: num("decay_steps", 1.0),
            decay_rate: num("decay_rate", 1.0),
            staircase: flag("staircase"),
        },
        "polynomial_decay" => Schedule::PolynomialDecay {
            initial: num("initial_learning_rate", 0.0),
            decay_steps: num("decay_steps", 1.0),
            end: num("end_learning_rate", 1e-4),
            power: num("power", 1.0),
            cycle: flag("cycle"),
        },
        "cosine_decay" => Schedule::CosineDecay {
            initial: num("initial_learning_rate", 0.0),
            decay_steps: num("decay_steps", 1.0),
            alpha: num("alpha", 0.0),
            warmup_target: get("warmup_target")
                .and_then(|v| v.as_real())
                .filter(|v| !v.is_nan()),
            warmup_steps: num("warmup_steps", 0.0),
        },
        "cosine_decay_restarts" => Schedule::CosineDecayRestarts {
            initial: num("initial_learning_rate", 0.0),
            first_decay_steps: num("first_decay_steps", 1.0),
            t_mul: num("t_mul", 2.0),
            m_mul: num("m_mul", 1.0),
            alpha: num("alpha", 0.0),
        },
        other => {
            return Err(r_error(&format!(
                "unknown learning-rate schedule \"{other}\""
            )))
        }
    })
}

/// Sets an L1/L2 regularizer on a layer: `target` is a weight name
/// (`kernel`, `bias`) or `activity` for its output.
/// @noRd
#[extendr]
fn rs_set_regularizer(model: Robj, layer: &str, target: &str, l1: f64, l2: f64) -> Result<()> {
    guard(|| {
        let reg = Regularizer {
            l1: l1 as f32,
            l2: l2 as f32,
        };
        with_model(&model, |m| {
            if target == "activity" {
                m.set_activity_regularizer(layer, reg).map_err(engine_err)
            } else {
                m.set_weight_regularizer(layer, target, reg)
                    .map_err(engine_err)
            }
        })
    })
}

/// Appends a GaussianNoise, GaussianDropout or AlphaDropout layer.
/// @noRd
#[extendr]
fn rs_add_noise(model: Robj, name: &str, kind: &str, value: f64, seed: f64) -> Result<()> {
    guard(|| {
        use engine::layers::noise::NoiseKind;
        let kind = match kind {
            "gaussian_noise" => NoiseKind::Gaussian {
                stddev: value as f32,
            },
            "gaussian_dropout" => NoiseKind::GaussianDropout { rate: value as f32 },
            "alpha_dropout" => NoiseKind::AlphaDropout { rate: value as f32 },
            other => return Err(r_error(&format!("unknown noise layer \"{other}\""))),
        };
        with_model(&model, |m| {
            m.add_noise(name, kind, seed_of(seed)).map_err(engine_err)
        })
    })
}

/// Appends an ActivityRegularization layer.
/// @noRd
#[extendr]
fn rs_add_activity_regularization(model: Robj, name: &str, l1: f64, l2: f64) -> Result<()> {
    guard(|| {
        let reg = Regularizer {
            l1: l1 as f32,
            l2: l2 as f32,
        };
        with_model(&model, |m| {
            m.add_activity_regularization(name, reg).map_err(engine_err)
        })
    })
}

/// Converts a list of R functions (the custom metrics).
fn functions_of(list: &List) -> Result<Vec<Function>> {
    list.iter()
        .map(|(_, f)| {
            f.try_into()
                .map_err(|_| r_error("custom metrics must be R functions"))
        })
        .collect()
}

/// Converts optional sample weights (NULL or a numeric vector) for `arg`.
fn weights_of(arg: &str, w: &Robj) -> Result<Option<Vec<f32>>> {
    if w.is_null() {
        return Ok(None);
    }
    Ok(Some(convert::from_r(arg, w)?.data))
}

/// Trains the model. Returns the history as a list.
/// @noRd
#[extendr]
#[allow(clippy::too_many_arguments)]
fn rs_fit(
    model: Robj,
    x: Robj,
    y: Robj,
    sample_weight: Robj,
    val_x: Robj,
    val_y: Robj,
    val_weight: Robj,
    batch_size: f64,
    epochs: f64,
    initial_epoch: f64,
    shuffle: bool,
    validation_split: f64,
    verbose: i32,
    unicode: bool,
    interrupt_after: f64,
    builtin_callbacks: List,
    dispatch: Robj,
    events: Vec<f64>,
    r_changes_lr: bool,
    custom_metrics: List,
) -> Result<Robj> {
    guard(|| {
        let weights = weights_of("sample_weight", &sample_weight)?;
        let val_weights = weights_of("validation_data[[3]]", &val_weight)?;
        let mut callbacks = callbacks::builtins(&builtin_callbacks)?;
        if !dispatch.is_null() {
            let f: Function = dispatch
                .try_into()
                .map_err(|_| r_error("the callback dispatcher must be an R function"))?;
            let events: Vec<bool> = events.iter().map(|&e| e != 0.0).collect();
            callbacks.push(Box::new(callbacks::RCallbacks::new(
                f,
                &events,
                r_changes_lr,
            )));
        }
        with_model(&model, |m| {
            let (xs, n) = graph::inputs_of(m, "x", &x)?;
            let ys = graph::targets_of(m, "y", &y, n)?;
            let data = Data {
                x: &xs,
                y: &ys,
                n,
                weights: weights.as_deref(),
            };
            let validation = if val_x.is_null() {
                None
            } else {
                let (vx, vn) = graph::inputs_of(m, "validation_data[[1]]", &val_x)?;
                let vy = graph::targets_of(m, "validation_data[[2]]", &val_y, vn)?;
                Some((vx, vy, vn))
            };
            let val = validation.as_ref().map(|(vx, vy, vn)| Data {
                x: vx,
                y: vy,
                n: *vn,
                weights: val_weights.as_deref(),
            });
            let config = FitConfig {
                batch_size: batch_size.max(0.0) as usize,
                epochs: epochs.max(0.0) as usize,
                initial_epoch: initial_epoch.max(0.0) as usize,
                shuffle,
                validation_split,
                verbose: verbose.clamp(0, 2) as u8,
                unicode,
            };
            let mut obs = observer::RObserver::new(seed_of(interrupt_after).map(|v| v as usize))
                .with_custom_metrics(functions_of(&custom_metrics)?);
            let _training = TrainingGuard::enter(m);
            let history =
                train::fit_with_callbacks(m, data, val, &config, &mut callbacks, &mut obs)
                    .map_err(engine_err)?;
            let values: Vec<Robj> = history
                .values
                .iter()
                .map(|v| Robj::from(v.clone()))
                .collect();
            let epochs: Vec<i32> = history.epochs.iter().map(|&e| e as i32).collect();
            let non_finite: Vec<f64> = match history.non_finite {
                Some((e, b, v)) => vec![e as f64, b as f64, v],
                None => Vec::new(),
            };
            Ok(list!(
                epochs = epochs,
                names = history.names.clone(),
                values = List::from_values(values),
                interrupted = history.interrupted,
                interrupted_at_step = history.interrupted_at_step as i32,
                seconds = history.seconds.clone(),
                non_finite = non_finite
            )
            .into())
        })
    })
}

/// Returns loss and metrics on (x, y) as a named numeric vector.
/// @noRd
#[extendr]
fn rs_evaluate(
    model: Robj,
    x: Robj,
    y: Robj,
    sample_weight: Robj,
    batch_size: f64,
    custom_metrics: List,
) -> Result<Robj> {
    guard(|| {
        let weights = weights_of("sample_weight", &sample_weight)?;
        with_model(&model, |m| {
            let (xs, n) = graph::inputs_of(m, "x", &x)?;
            let ys = graph::targets_of(m, "y", &y, n)?;
            let mut obs =
                observer::RObserver::new(None).with_custom_metrics(functions_of(&custom_metrics)?);
            let logs = train::evaluate_with(
                m,
                Data {
                    x: &xs,
                    y: &ys,
                    n,
                    weights: weights.as_deref(),
                },
                batch_size.max(0.0) as usize,
                &mut obs,
            )
            .map_err(engine_err)?;
            let mut out: Robj = logs.iter().map(|(_, v)| *v).collect::<Vec<f64>>().into();
            out.set_names(logs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())?;
            Ok(out)
        })
    })
}

/// Returns the model output for x, with the batch axis first.
/// @noRd
#[extendr]
fn rs_predict(model: Robj, x: Robj, batch_size: f64) -> Result<Robj> {
    guard(|| {
        with_model(&model, |m| {
            let (xs, n) = graph::inputs_of(m, "x", &x)?;
            let mut obs = observer::RObserver::new(None);
            let out = train::predict_with(m, &xs, n, batch_size.max(0.0) as usize, &mut obs)
                .map_err(engine_err)?;
            Ok(graph::outputs_to_r(m, &out, n))
        })
    })
}

/// Applies an activation to an R array (for `activation_*()` on data).
/// @noRd
#[extendr]
fn rs_activation(name: &str, params: Robj, x: Robj) -> Result<Robj> {
    guard(|| {
        let act = activation_of(name, &params)?;
        let xr = convert::from_r("x", &x)?;
        let width = *xr.dims.last().unwrap_or(&1);
        let mut y = vec![0f32; xr.data.len()];
        act.forward(&xr.data, &mut y, width);
        Ok(convert::to_r(&y, &xr.dims))
    })
}

/// Computes per-sample losses for (y_true, y_pred) (for `loss_*()` on data).
/// @noRd
#[extendr]
fn rs_loss(name: &str, params: Robj, y_true: Robj, y_pred: Robj) -> Result<Robj> {
    guard(|| {
        let lp = named_params(&params);
        let get = |key: &str, default: f64| {
            lp.iter()
                .find(|(n, _)| n == key)
                .map(|(_, v)| *v)
                .unwrap_or(default)
        };
        let loss = Loss::from_name(
            name,
            get("from_logits", 0.0) != 0.0,
            get("label_smoothing", 0.0) as f32,
            get("delta", 1.0) as f32,
        )
        .map_err(engine_err)?;
        let t = convert::from_r("y_true", &y_true)?;
        let p = convert::from_r("y_pred", &y_pred)?;
        let batch = if p.dims.len() > 1 { p.dims[0] } else { 1 };
        let width = p.data.len() / batch.max(1);
        let expected_t = if loss.is_sparse() {
            batch
        } else {
            batch * width
        };
        if t.data.len() != expected_t {
            return Err(r_error(&format!(
                "`y_true` has {} values but `y_pred` needs {expected_t}",
                t.data.len()
            )));
        }
        let mut out = vec![0f32; batch];
        loss.compute(&t.data, &p.data, batch, width, false, &mut out, None);
        Ok(convert::to_r(&out, &[batch]))
    })
}

/// Size of one sample of the model output.
/// @noRd
#[extendr]
fn rs_output_size(model: Robj) -> Result<f64> {
    guard(|| with_model_ref(&model, |m| Ok(size_of(m.output_shape()) as f64)))
}

extendr_module! {
    mod kerust;
    use graph;
    use saving;
    use conv;
    use image;
    fn rs_threads;
    fn rs_set_threads;
    fn rs_roundtrip;
    fn rs_to_engine_only;
    fn rs_test_failure;
    fn rs_model_new;
    fn rs_add_dense;
    fn rs_add_activation;
    fn rs_add_dropout;
    fn rs_add_flatten;
    fn rs_add_reshape;
    fn rs_pop;
    fn rs_set_regularizer;
    fn rs_add_noise;
    fn rs_add_activity_regularization;
    fn rs_layers;
    fn rs_get_weights;
    fn rs_set_weights;
    fn rs_compile;
    fn rs_fit;
    fn rs_evaluate;
    fn rs_predict;
    fn rs_activation;
    fn rs_loss;
    fn rs_output_size;
}
