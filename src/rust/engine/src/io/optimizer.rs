//! The optimizer in a saved model: its Keras config in `compile_config`,
//! and the names of its slot tensors in the weights file.

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::optim::{Clipping, Optimizer, OptimizerKind, Schedule};

use super::keras_config::{f32_value, invalid, keras_object};

/// Keras's class name and default `name` of each optimizer.
fn class_and_name(kind: &OptimizerKind) -> (&'static str, &'static str) {
    match kind {
        OptimizerKind::Sgd { .. } => ("SGD", "SGD"),
        OptimizerKind::Adam { .. } => ("Adam", "adam"),
        OptimizerKind::RmsProp { .. } => ("RMSprop", "rmsprop"),
        OptimizerKind::Adagrad { .. } => ("Adagrad", "adagrad"),
        OptimizerKind::Adadelta { .. } => ("Adadelta", "adadelta"),
        OptimizerKind::Adamax { .. } => ("Adamax", "adamax"),
        OptimizerKind::Nadam { .. } => ("Nadam", "nadam"),
        OptimizerKind::Lion { .. } => ("Lion", "lion"),
    }
}

/// Names of the slots of each parameter, in the optimizer's slot order;
/// they follow the variable names of Keras 3's optimizers.
pub fn slot_names(kind: &OptimizerKind) -> Vec<&'static str> {
    match *kind {
        OptimizerKind::Sgd { momentum, .. } => {
            if momentum != 0.0 {
                vec!["momentum"]
            } else {
                vec![]
            }
        }
        OptimizerKind::Adam { amsgrad, .. } => {
            let mut names = vec!["momentum", "velocity"];
            if amsgrad {
                names.push("velocity_hat");
            }
            names
        }
        OptimizerKind::RmsProp {
            momentum, centered, ..
        } => {
            let mut names = vec!["velocity"];
            if momentum != 0.0 {
                names.push("momentum");
            }
            if centered {
                names.push("average_gradient");
            }
            names
        }
        OptimizerKind::Adagrad { .. } => vec!["accumulator"],
        OptimizerKind::Adadelta { .. } => vec!["accumulated_grad", "accumulated_delta_var"],
        OptimizerKind::Adamax { .. } => vec!["m", "u"],
        OptimizerKind::Nadam { .. } => vec!["momentum", "velocity"],
        OptimizerKind::Lion { .. } => vec!["momentum"],
    }
}

fn zero_is_null(v: f32) -> Value {
    if v == 0.0 {
        Value::Null
    } else {
        f32_value(v)
    }
}

/// Returns the Keras config object of a learning-rate schedule.
pub fn schedule_value(s: &Schedule) -> Value {
    let (class_name, config) = match s {
        Schedule::ExponentialDecay {
            initial,
            decay_steps,
            decay_rate,
            staircase,
        } => (
            "ExponentialDecay",
            json!({
                "initial_learning_rate": initial, "decay_steps": decay_steps,
                "decay_rate": decay_rate, "staircase": staircase, "name": "ExponentialDecay",
            }),
        ),
        Schedule::PiecewiseConstantDecay { boundaries, values } => (
            "PiecewiseConstantDecay",
            json!({ "boundaries": boundaries, "values": values, "name": "PiecewiseConstant" }),
        ),
        Schedule::InverseTimeDecay {
            initial,
            decay_steps,
            decay_rate,
            staircase,
        } => (
            "InverseTimeDecay",
            json!({
                "initial_learning_rate": initial, "decay_steps": decay_steps,
                "decay_rate": decay_rate, "staircase": staircase, "name": "InverseTimeDecay",
            }),
        ),
        Schedule::PolynomialDecay {
            initial,
            decay_steps,
            end,
            power,
            cycle,
        } => (
            "PolynomialDecay",
            json!({
                "initial_learning_rate": initial, "decay_steps": decay_steps,
                "end_learning_rate": end, "power": power, "cycle": cycle, "name": "PolynomialDecay",
            }),
        ),
        Schedule::CosineDecay {
            initial,
            decay_steps,
            alpha,
            warmup_target,
            warmup_steps,
        } => (
            "CosineDecay",
            json!({
                "initial_learning_rate": initial, "decay_steps": decay_steps, "alpha": alpha,
                "name": "CosineDecay", "warmup_target": warmup_target, "warmup_steps": warmup_steps,
            }),
        ),
        Schedule::CosineDecayRestarts {
            initial,
            first_decay_steps,
            t_mul,
            m_mul,
            alpha,
        } => (
            "CosineDecayRestarts",
            json!({
                "initial_learning_rate": initial, "first_decay_steps": first_decay_steps,
                "t_mul": t_mul, "m_mul": m_mul, "alpha": alpha, "name": "SGDRDecay",
            }),
        ),
    };
    keras_object("keras.optimizers.schedules", class_name, config)
}

/// Returns the Keras config of `opt`: hyperparameters, learning rate (or
/// schedule), weight decay and clipping. The step state is in the weights.
pub fn optimizer_value(opt: &Optimizer) -> Result<Value> {
    let (class_name, name) = class_and_name(&opt.kind);
    let learning_rate = match &opt.schedule {
        Some(s) => schedule_value(s),
        None => f32_value(opt.learning_rate),
    };
    let mut config = json!({
        "name": name,
        "learning_rate": learning_rate,
        "weight_decay": zero_is_null(opt.weight_decay),
        "clipnorm": zero_is_null(opt.clipping.clipnorm),
        "global_clipnorm": zero_is_null(opt.clipping.global_clipnorm),
        "clipvalue": zero_is_null(opt.clipping.clipvalue),
        "use_ema": false,
        "ema_momentum": 0.99,
        "ema_overwrite_frequency": null,
        "loss_scale_factor": null,
        "gradient_accumulation_steps": null,
    });
    let extra = match opt.kind {
        OptimizerKind::Sgd { momentum, nesterov } => {
            json!({ "momentum": f32_value(momentum), "nesterov": nesterov })
        }
        OptimizerKind::Adam {
            beta_1,
            beta_2,
            epsilon,
            amsgrad,
        } => json!({
            "beta_1": f32_value(beta_1), "beta_2": f32_value(beta_2),
            "epsilon": f32_value(epsilon), "amsgrad": amsgrad,
        }),
        OptimizerKind::RmsProp {
            rho,
            momentum,
            epsilon,
            centered,
        } => json!({
            "rho": f32_value(rho), "momentum": f32_value(momentum),
            "epsilon": f32_value(epsilon), "centered": centered,
        }),
        OptimizerKind::Adagrad {
            initial_accumulator_value,
            epsilon,
        } => json!({
            "initial_accumulator_value": f32_value(initial_accumulator_value),
            "epsilon": f32_value(epsilon),
        }),
        OptimizerKind::Adadelta { rho, epsilon } => {
            json!({ "rho": f32_value(rho), "epsilon": f32_value(epsilon) })
        }
        OptimizerKind::Adamax {
            beta_1,
            beta_2,
            epsilon,
        }
        | OptimizerKind::Nadam {
            beta_1,
            beta_2,
            epsilon,
        } => json!({
            "beta_1": f32_value(beta_1), "beta_2": f32_value(beta_2), "epsilon": f32_value(epsilon),
        }),
        OptimizerKind::Lion { beta_1, beta_2 } => {
            json!({ "beta_1": f32_value(beta_1), "beta_2": f32_value(beta_2) })
        }
    };
    if let (Value::Object(c), Value::Object(e)) = (&mut config, extra) {
        c.extend(e);
    }
    Ok(keras_object("keras.optimizers", class_name, config))
}

/// Reads numbers and flags of an optimizer or schedule config, with Keras's
/// defaults for missing ones.
struct Config<'a>(&'a Map<String, Value>, &'static str);

impl Config<'_> {
    fn f64(&self, key: &str, default: f64) -> Result<f64> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(v) => v.as_f64().ok_or_else(|| {
                invalid(format!("the {} `{key}` must be a number, got {v}", self.1))
            }),
        }
    }

    fn f32(&self, key: &str, default: f32) -> Result<f32> {
        Ok(self.f64(key, default as f64)? as f32)
    }

    fn flag(&self, key: &str) -> Result<bool> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(v) => v.as_bool().ok_or_else(|| {
                invalid(format!(
                    "the {} `{key}` must be true or false, got {v}",
                    self.1
                ))
            }),
        }
    }

    fn list(&self, key: &str) -> Result<Vec<f64>> {
        self.0
            .get(key)
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(Value::as_f64).collect())
            .ok_or_else(|| invalid(format!("the {} `{key}` must be a list of numbers", self.1)))
    }
}

fn schedule_from_value(v: &Value) -> Result<Schedule> {
    let class_name = v.get("class_name").and_then(Value::as_str).unwrap_or("");
    let empty = Map::new();
    let c = Config(
        v.get("config").and_then(Value::as_object).unwrap_or(&empty),
        "learning-rate schedule's",
    );
    let initial = || c.f64("initial_learning_rate", f64::NAN);
    let schedule = match class_name {
        "ExponentialDecay" => Schedule::ExponentialDecay {
            initial: initial()?,
            decay_steps: c.f64("decay_steps", f64::NAN)?,
            decay_rate: c.f64("decay_rate", f64::NAN)?,
            staircase: c.flag("staircase")?,
        },
        "PiecewiseConstantDecay" => Schedule::PiecewiseConstantDecay {
            boundaries: c.list("boundaries")?,
            values: c.list("values")?,
        },
        "InverseTimeDecay" => Schedule::InverseTimeDecay {
            initial: initial()?,
            decay_steps: c.f64("decay_steps", f64::NAN)?,
            decay_rate: c.f64("decay_rate", f64::NAN)?,
            staircase: c.flag("staircase")?,
        },
        "PolynomialDecay" => Schedule::PolynomialDecay {
            initial: initial()?,
            decay_steps: c.f64("decay_steps", f64::NAN)?,
            end: c.f64("end_learning_rate", 0.0001)?,
            power: c.f64("power", 1.0)?,
            cycle: c.flag("cycle")?,
        },
        "CosineDecay" => Schedule::CosineDecay {
            initial: initial()?,
            decay_steps: c.f64("decay_steps", f64::NAN)?,
            alpha: c.f64("alpha", 0.0)?,
            warmup_target: match c.0.get("warmup_target") {
                None | Some(Value::Null) => None,
                Some(_) => Some(c.f64("warmup_target", 0.0)?),
            },
            warmup_steps: c.f64("warmup_steps", 0.0)?,
        },
        "CosineDecayRestarts" => Schedule::CosineDecayRestarts {
            initial: initial()?,
            first_decay_steps: c.f64("first_decay_steps", f64::NAN)?,
            t_mul: c.f64("t_mul", 2.0)?,
            m_mul: c.f64("m_mul", 1.0)?,
            alpha: c.f64("alpha", 0.0)?,
        },
        other => {
            return Err(Error::File(format!(
            "the saved learning-rate schedule {other} is not supported by this version of kerust"
        )))
        }
    };
    schedule
        .validate()
        .map_err(|e| invalid(format!("the learning-rate schedule {class_name}: {e}")))?;
    Ok(schedule)
}

/// Builds the optimizer kind named `class_name` from its config; returns
/// it with Keras's default learning rate for that optimizer.
fn kind_from_config(class_name: &str, c: &Config) -> Result<(OptimizerKind, f32)> {
    Ok(match class_name.to_ascii_lowercase().as_str() {
        "sgd" => (
            OptimizerKind::Sgd {
                momentum: c.f32("momentum", 0.0)?,
                nesterov: c.flag("nesterov")?,
            },
            0.01,
        ),
        "adam" => (
            OptimizerKind::Adam {
                beta_1: c.f32("beta_1", 0.9)?,
                beta_2: c.f32("beta_2", 0.999)?,
                epsilon: c.f32("epsilon", 1e-7)?,
                amsgrad: c.flag("amsgrad")?,
            },
            0.001,
        ),
        "rmsprop" => (
            OptimizerKind::RmsProp {
                rho: c.f32("rho", 0.9)?,
                momentum: c.f32("momentum", 0.0)?,
                epsilon: c.f32("epsilon", 1e-7)?,
                centered: c.flag("centered")?,
            },
            0.001,
        ),
        "adagrad" => (
            OptimizerKind::Adagrad {
                initial_accumulator_value: c.f32("initial_accumulator_value", 0.1)?,
                epsilon: c.f32("epsilon", 1e-7)?,
            },
            0.001,
        ),
        "adadelta" => (
            OptimizerKind::Adadelta {
                rho: c.f32("rho", 0.95)?,
                epsilon: c.f32("epsilon", 1e-7)?,
            },
            0.001,
        ),
        "adamax" => (
            OptimizerKind::Adamax {
                beta_1: c.f32("beta_1", 0.9)?,
                beta_2: c.f32("beta_2", 0.999)?,
                epsilon: c.f32("epsilon", 1e-7)?,
            },
            0.001,
        ),
        "nadam" => (
            OptimizerKind::Nadam {
                beta_1: c.f32("beta_1", 0.9)?,
                beta_2: c.f32("beta_2", 0.999)?,
                epsilon: c.f32("epsilon", 1e-7)?,
            },
            0.001,
        ),
        "lion" => (
            OptimizerKind::Lion {
                beta_1: c.f32("beta_1", 0.9)?,
                beta_2: c.f32("beta_2", 0.99)?,
            },
            0.001,
        ),
        _ => {
            return Err(Error::File(format!(
                "the saved optimizer \"{class_name}\" is not supported by this version of kerust"
            )))
        }
    })
}

/// Builds an optimizer, without state, from its Keras config.
pub fn optimizer_from_value(v: &Value) -> Result<Optimizer> {
    let (class_name, config) = match v {
        Value::String(s) => (s.as_str(), None),
        Value::Object(o) => (
            o.get("class_name").and_then(Value::as_str).unwrap_or(""),
            o.get("config").and_then(Value::as_object),
        ),
        other => {
            return Err(invalid(format!(
                "the optimizer must be a name or an optimizer object, got {other}"
            )))
        }
    };
    let empty = Map::new();
    let c = Config(config.unwrap_or(&empty), "optimizer's");

    let (kind, default_lr) = kind_from_config(class_name, &c)?;
    kind.validate()
        .map_err(|e| invalid(format!("the optimizer {class_name}: {e}")))?;
    for key in [
        "use_ema",
        "loss_scale_factor",
        "gradient_accumulation_steps",
    ] {
        let set = match c.0.get(key) {
            None | Some(Value::Null) | Some(Value::Bool(false)) => false,
            Some(_) => true,
        };
        if set {
            return Err(Error::File(format!(
                "the saved optimizer uses `{key}`, which this version of kerust does not support"
            )));
        }
    }

    let (learning_rate, schedule) = match c.0.get("learning_rate") {
        Some(s @ Value::Object(_)) => {
            let schedule = schedule_from_value(s)?;
            (schedule.value_at(0), Some(schedule))
        }
        _ => (c.f32("learning_rate", default_lr)?, None),
    };
    if schedule.is_none() && !(learning_rate > 0.0 && learning_rate.is_finite()) {
        return Err(invalid(format!(
            "the optimizer's learning rate must be a positive number, got {learning_rate}"
        )));
    }

    let mut opt = Optimizer::new(kind, learning_rate);
    opt.schedule = schedule;
    opt.weight_decay = c.f32("weight_decay", 0.0)?;
    opt.clipping = Clipping {
        clipnorm: c.f32("clipnorm", 0.0)?,
        clipvalue: c.f32("clipvalue", 0.0)?,
        global_clipnorm: c.f32("global_clipnorm", 0.0)?,
    };
    Ok(opt)
}
