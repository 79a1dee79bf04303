//! Extra optimizers, gradient clipping, weight decay and learning-rate
//! schedules against Keras 3.15.1 (TensorFlow 2.21 CPU). The values come from
//! tools/golden/make_golden_optim.py (golden/optimizers_extra.json and
//! golden/schedules.json); the tolerance is 1e-5 relative plus 1e-6 absolute.

use engine::optim::{Clipping, Optimizer, OptimizerKind, Schedule};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).expect("golden file")).expect("json")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn close(actual: f32, expected: f32) -> bool {
    (actual - expected).abs() <= 1e-6 + 1e-5 * expected.abs()
}

fn optimizer_for(case: &str) -> Optimizer {
    let adam = OptimizerKind::Adam {
        beta_1: 0.9,
        beta_2: 0.999,
        epsilon: 1e-7,
        amsgrad: false,
    };
    let sgd = OptimizerKind::Sgd {
        momentum: 0.0,
        nesterov: false,
    };
    match case {
        "adamw" => {
            let mut o = Optimizer::new(adam, 0.001);
            o.weight_decay = 0.004;
            o
        }
        "adadelta" => Optimizer::new(
            OptimizerKind::Adadelta {
                rho: 0.95,
                epsilon: 1e-7,
            },
            0.001,
        ),
        "adamax" => Optimizer::new(
            OptimizerKind::Adamax {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
            0.001,
        ),
        "nadam" => Optimizer::new(
            OptimizerKind::Nadam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
            0.001,
        ),
        "lion" => Optimizer::new(
            OptimizerKind::Lion {
                beta_1: 0.9,
                beta_2: 0.99,
            },
            0.001,
        ),
        "sgd_clipnorm" | "sgd_clipvalue" | "sgd_global_clipnorm" => {
            let mut o = Optimizer::new(sgd, 0.1);
            o.clipping = match case {
                "sgd_clipnorm" => Clipping {
                    clipnorm: 0.5,
                    ..Default::default()
                },
                "sgd_clipvalue" => Clipping {
                    clipvalue: 0.1,
                    ..Default::default()
                },
                _ => Clipping {
                    global_clipnorm: 0.5,
                    ..Default::default()
                },
            };
            o
        }
        "adam_weight_decay" => {
            let mut o = Optimizer::new(adam, 0.01);
            o.weight_decay = 0.1;
            o
        }
        "sgd_exponential_decay" => {
            let mut o = Optimizer::new(sgd, 0.1);
            o.schedule = Some(Schedule::ExponentialDecay {
                initial: 0.1,
                decay_steps: 1.0,
                decay_rate: 0.5,
                staircase: false,
            });
            o
        }
        other => panic!("no optimizer for case {other}"),
    }
}

#[test]
fn extra_optimizers_match_keras() {
    let golden = load("optimizers_extra.json");
    let w0: Vec<Vec<f32>> = golden["w0"]
        .as_array()
        .unwrap()
        .iter()
        .map(floats)
        .collect();
    let grads: Vec<Vec<Vec<f32>>> = golden["grads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|step| step.as_array().unwrap().iter().map(floats).collect())
        .collect();
    for (case, expected) in golden["cases"].as_object().unwrap() {
        let mut optimizer = optimizer_for(case);
        optimizer.build(&[w0[0].len(), w0[1].len()]);
        let mut weights = w0.clone();
        for (step, (step_grads, step_expected)) in grads
            .iter()
            .zip(expected["steps"].as_array().unwrap())
            .enumerate()
        {
            let mut g = step_grads.clone();
            let (w_a, w_b) = weights.split_at_mut(1);
            let (g_a, g_b) = g.split_at_mut(1);
            let mut items = vec![
                (0, &mut w_a[0][..], &mut g_a[0][..]),
                (1, &mut w_b[0][..], &mut g_b[0][..]),
            ];
            optimizer.apply(&mut items);
            for (p, exp) in step_expected.as_array().unwrap().iter().enumerate() {
                for (i, (&a, e)) in weights[p].iter().zip(floats(exp)).enumerate() {
                    assert!(
                        close(a, e),
                        "{case} step {} weight {p}[{i}]: engine {a}, keras {e}",
                        step + 1
                    );
                }
            }
        }
    }
}

fn schedule_for(class: &str, args: &Value) -> Schedule {
    let get = |k: &str, default: f64| args.get(k).and_then(|v| v.as_f64()).unwrap_or(default);
    let flag = |k: &str| args.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    match class {
        "ExponentialDecay" => Schedule::ExponentialDecay {
            initial: get("initial_learning_rate", 0.0),
            decay_steps: get("decay_steps", 1.0),
            decay_rate: get("decay_rate", 1.0),
            staircase: flag("staircase"),
        },
        "PiecewiseConstantDecay" => Schedule::PiecewiseConstantDecay {
            boundaries: floats(&args["boundaries"])
                .iter()
                .map(|&v| v as f64)
                .collect(),
            values: floats(&args["values"]).iter().map(|&v| v as f64).collect(),
        },
        "InverseTimeDecay" => Schedule::InverseTimeDecay {
            initial: get("initial_learning_rate", 0.0),
            decay_steps: get("decay_steps", 1.0),
            decay_rate: get("decay_rate", 1.0),
            staircase: flag("staircase"),
        },
        "PolynomialDecay" => Schedule::PolynomialDecay {
            initial: get("initial_learning_rate", 0.0),
            decay_steps: get("decay_steps", 1.0),
            end: get("end_learning_rate", 1e-4),
            power: get("power", 1.0),
            cycle: flag("cycle"),
        },
        "CosineDecay" => Schedule::CosineDecay {
            initial: get("initial_learning_rate", 0.0),
            decay_steps: get("decay_steps", 1.0),
            alpha: get("alpha", 0.0),
            warmup_target: args.get("warmup_target").and_then(|v| v.as_f64()),
            warmup_steps: get("warmup_steps", 0.0),
        },
        "CosineDecayRestarts" => Schedule::CosineDecayRestarts {
            initial: get("initial_learning_rate", 0.0),
            first_decay_steps: get("first_decay_steps", 1.0),
            t_mul: get("t_mul", 2.0),
            m_mul: get("m_mul", 1.0),
            alpha: get("alpha", 0.0),
        },
        other => panic!("unknown schedule {other}"),
    }
}

#[test]
fn schedules_match_keras() {
    let golden = load("schedules.json");
    let steps: Vec<u64> = golden["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    for (case, spec) in golden["cases"].as_object().unwrap() {
        let schedule = schedule_for(spec["class"].as_str().unwrap(), &spec["args"]);
        schedule.validate().unwrap();
        for (&step, expected) in steps.iter().zip(floats(&spec["values"])) {
            let actual = schedule.value_at(step);
            assert!(
                close(actual, expected),
                "{case} at step {step}: engine {actual}, keras {expected}"
            );
        }
    }
}
