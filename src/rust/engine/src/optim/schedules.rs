//! Learning-rate schedules with the formulas of Keras 3
//! (`keras.optimizers.schedules`). Each maps the number of completed
//! optimizer steps to a learning rate.

use std::f64::consts::PI;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// `initial * decay_rate^(step / decay_steps)`, the exponent floored when `staircase`.
    ExponentialDecay {
        initial: f64,
        decay_steps: f64,
        decay_rate: f64,
        staircase: bool,
    },
    /// `values[i]` for `boundaries[i-1] < step <= boundaries[i]`.
    PiecewiseConstantDecay {
        boundaries: Vec<f64>,
        values: Vec<f64>,
    },
    /// `initial / (1 + decay_rate * step / decay_steps)`, the ratio floored when `staircase`.
    InverseTimeDecay {
        initial: f64,
        decay_steps: f64,
        decay_rate: f64,
        staircase: bool,
    },
    /// `(initial - end) * (1 - step / decay_steps)^power + end`.
    PolynomialDecay {
        initial: f64,
        decay_steps: f64,
        end: f64,
        power: f64,
        cycle: bool,
    },
    /// Cosine decay from `initial` (or `warmup_target` after a linear warmup) to `alpha` times it.
    CosineDecay {
        initial: f64,
        decay_steps: f64,
        alpha: f64,
        warmup_target: Option<f64>,
        warmup_steps: f64,
    },
    /// Cosine decay with warm restarts (SGDR).
    CosineDecayRestarts {
        initial: f64,
        first_decay_steps: f64,
        t_mul: f64,
        m_mul: f64,
        alpha: f64,
    },
}

impl Schedule {
    /// Checks the parameters, naming the first invalid one.
    pub fn validate(&self) -> Result<()> {
        let positive = |name: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::InvalidArgument(format!(
                    "`{name}` must be a positive number, got {v}"
                )))
            }
        };
        match self {
            Schedule::ExponentialDecay { decay_steps, .. }
            | Schedule::InverseTimeDecay { decay_steps, .. } => {
                positive("decay_steps", *decay_steps)
            }
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                if values.len() != boundaries.len() + 1 {
                    return Err(Error::InvalidArgument(format!(
                        "`values` must have one more element than `boundaries`, got {} values and {} boundaries",
                        values.len(),
                        boundaries.len()
                    )));
                }
                if boundaries.windows(2).any(|w| w[1] <= w[0]) {
                    return Err(Error::InvalidArgument(
                        "`boundaries` must be increasing".into(),
                    ));
                }
                Ok(())
            }
            Schedule::PolynomialDecay { decay_steps, .. } => positive("decay_steps", *decay_steps),
            Schedule::CosineDecay { decay_steps, .. } => {
                if *decay_steps >= 0.0 {
                    Ok(())
                } else {
                    positive("decay_steps", *decay_steps)
                }
            }
            Schedule::CosineDecayRestarts {
                first_decay_steps, ..
            } => positive("first_decay_steps", *first_decay_steps),
        }
    }

    /// Returns the learning rate after `step` completed steps.
    pub fn value_at(&self, step: u64) -> f32 {
        let step = step as f64;
        let value = match self {
            Schedule::ExponentialDecay {
                initial,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let mut p = step / decay_steps;
                if *staircase {
                    p = p.floor();
                }
                initial * decay_rate.powf(p)
            }
            Schedule::PiecewiseConstantDecay { boundaries, values } => {
                let i = boundaries.iter().take_while(|&&b| step > b).count();
                values[i]
            }
            Schedule::InverseTimeDecay {
                initial,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let mut p = step / decay_steps;
                if *staircase {
                    p = p.floor();
                }
                initial / (1.0 + decay_rate * p)
            }
            Schedule::PolynomialDecay {
                initial,
                decay_steps,
                end,
                power,
                cycle,
            } => {
                let (step, steps) = if *cycle {
                    // keras: the period grows to the next multiple of decay_steps (at least one).
                    let multiplier = if step == 0.0 {
                        1.0
                    } else {
                        (step / decay_steps).ceil()
                    };
                    (step, decay_steps * multiplier)
                } else {
                    (step.min(*decay_steps), *decay_steps)
                };
                (initial - end) * (1.0 - step / steps).powf(*power) + end
            }
            Schedule::CosineDecay {
                initial,
                decay_steps,
                alpha,
                warmup_target,
                warmup_steps,
            } => match warmup_target {
                Some(target) if step < *warmup_steps => {
                    initial + (target - initial) * step / warmup_steps
                }
                Some(target) => cosine(
                    *target,
                    (step - warmup_steps).min(*decay_steps),
                    *decay_steps,
                    *alpha,
                ),
                None => cosine(*initial, step.min(*decay_steps), *decay_steps, *alpha),
            },
            Schedule::CosineDecayRestarts {
                initial,
                first_decay_steps,
                t_mul,
                m_mul,
                alpha,
            } => {
                let mut completed = step / first_decay_steps;
                let (i_restart, fraction) = if *t_mul == 1.0 {
                    let i = completed.floor();
                    (i, completed - i)
                } else {
                    let i = ((1.0 - completed * (1.0 - t_mul)).ln() / t_mul.ln()).floor();
                    let sum_r = (1.0 - t_mul.powf(i)) / (1.0 - t_mul);
                    completed = (completed - sum_r) / t_mul.powf(i);
                    (i, completed)
                };
                let m_fac = m_mul.powf(i_restart);
                let cosine_decayed = 0.5 * m_fac * (1.0 + (PI * fraction).cos());
                initial * ((1.0 - alpha) * cosine_decayed + alpha)
            }
        };
        value as f32
    }
}

/// `initial * ((1 - alpha) * 0.5 * (1 + cos(pi * step / steps)) + alpha)`.
fn cosine(initial: f64, step: f64, steps: f64, alpha: f64) -> f64 {
    let fraction = if steps > 0.0 { step / steps } else { 1.0 };
    let decayed = 0.5 * (1.0 + (PI * fraction).cos());
    initial * ((1.0 - alpha) * decayed + alpha)
}
