//! Metrics, reported as keras reports them. Most are the mean over all
//! samples seen in the epoch of a per-sample value (for `rmse`, the square
//! root of the running mean squared error). Precision, recall and AUC keep
//! confusion counts per threshold (`confusion`), and the R2 score keeps
//! per-column sums of targets and residuals (`r2`).

mod confusion;
mod r2;

pub use confusion::{AucCurve, AucSpec, AucSummation, ConfusionSpec, NEG_INF};
pub use r2::R2Aggregation;

use crate::error::{Error, Result};
use crate::losses::Loss;
use confusion::{ConfusionCounts, CurveCounts};
use r2::R2Sums;

#[derive(Debug, Clone, PartialEq)]
pub enum MetricKind {
    /// Class index target, probability rows.
    SparseCategoricalAccuracy,
    /// One-hot target, probability rows.
    CategoricalAccuracy,
    /// Per-element `(pred > threshold) == target`, averaged over the last axis.
    BinaryAccuracy {
        threshold: f32,
    },
    /// Target is among the `k` largest predictions; `sparse` for class-index targets.
    TopKCategoricalAccuracy {
        k: usize,
        sparse: bool,
    },
    MeanAbsoluteError,
    MeanSquaredError,
    RootMeanSquaredError,
    /// `100 |y - p| / max(|y|, 1e-7)`, averaged over the last axis.
    MeanAbsolutePercentageError,
    /// The binary crossentropy loss of each sample, as a metric.
    BinaryCrossentropy {
        from_logits: bool,
        label_smoothing: f32,
    },
    /// The categorical crossentropy loss of each sample (one-hot targets).
    CategoricalCrossentropy {
        from_logits: bool,
        label_smoothing: f32,
    },
    /// The crossentropy of each sample with a class index target. A sample
    /// whose label is `ignore_class` has the value 0 (see [`Metric::update`]).
    SparseCategoricalCrossentropy {
        from_logits: bool,
        ignore_class: Option<i32>,
    },
    /// `TP / (TP + FP)` over all values seen.
    Precision(ConfusionSpec),
    /// `TP / (TP + FN)` over all values seen.
    Recall(ConfusionSpec),
    /// Area under the ROC or PR curve, from confusion counts at fixed thresholds.
    Auc(AucSpec),
    /// A metric computed outside the engine (an R function of y_true and
    /// y_pred returning per-sample values), number `index` of the model's
    /// external metrics; its values arrive through [`Metric::add_values`].
    External {
        index: usize,
    },
    /// Coefficient of determination over all samples seen, adjusted for
    /// `num_regressors` regressors when that is not 0.
    R2Score {
        aggregation: R2Aggregation,
        num_regressors: usize,
    },
}

/// Metric names accepted by [`MetricKind::from_name`].
pub const METRIC_NAMES: &[&str] = &[
    "accuracy",
    "binary_accuracy",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "top_k_categorical_accuracy",
    "sparse_top_k_categorical_accuracy",
    "mae",
    "mean_absolute_error",
    "mse",
    "mean_squared_error",
    "rmse",
    "root_mean_squared_error",
    "mape",
    "mean_absolute_percentage_error",
    "binary_crossentropy",
    "bce",
    "categorical_crossentropy",
    "sparse_categorical_crossentropy",
    "precision",
    "recall",
    "auc",
    "r2_score",
];

impl MetricKind {
    /// Looks up a metric by keras name; "accuracy" must be resolved against
    /// the loss before it gets here. Metrics with more options than
    /// `threshold` and `k` get keras's defaults; build their variants
    /// directly to set the options.
    pub fn from_name(name: &str, threshold: f32, k: usize) -> Result<MetricKind> {
        Ok(match name {
            "binary_accuracy" => MetricKind::BinaryAccuracy { threshold },
            "categorical_accuracy" => MetricKind::CategoricalAccuracy,
            "sparse_categorical_accuracy" => MetricKind::SparseCategoricalAccuracy,
            "top_k_categorical_accuracy" => {
                MetricKind::TopKCategoricalAccuracy { k, sparse: false }
            }
            "sparse_top_k_categorical_accuracy" => {
                MetricKind::TopKCategoricalAccuracy { k, sparse: true }
            }
            "mae" | "mean_absolute_error" => MetricKind::MeanAbsoluteError,
            "mse" | "mean_squared_error" => MetricKind::MeanSquaredError,
            "rmse" | "root_mean_squared_error" => MetricKind::RootMeanSquaredError,
            "mape" | "mean_absolute_percentage_error" => MetricKind::MeanAbsolutePercentageError,
            "binary_crossentropy" | "bce" => MetricKind::BinaryCrossentropy {
                from_logits: false,
                label_smoothing: 0.0,
            },
            "categorical_crossentropy" => MetricKind::CategoricalCrossentropy {
                from_logits: false,
                label_smoothing: 0.0,
            },
            "sparse_categorical_crossentropy" => MetricKind::SparseCategoricalCrossentropy {
                from_logits: false,
                ignore_class: None,
            },
            "precision" => MetricKind::Precision(ConfusionSpec::default()),
            "recall" => MetricKind::Recall(ConfusionSpec::default()),
            "auc" => MetricKind::Auc(AucSpec::default()),
            "r2_score" => MetricKind::R2Score {
                aggregation: R2Aggregation::UniformAverage,
                num_regressors: 0,
            },
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown metric \"{other}\"; valid names are: {}",
                    METRIC_NAMES.join(", ")
                )))
            }
        })
    }

    /// True when targets are class indices, one per sample.
    pub fn is_sparse(&self) -> bool {
        matches!(
            self,
            MetricKind::SparseCategoricalAccuracy
                | MetricKind::TopKCategoricalAccuracy { sparse: true, .. }
                | MetricKind::SparseCategoricalCrossentropy { .. }
        )
    }

    /// Checks the options that depend on the number of output values per
    /// sample (`class_id`, `top_k`, `num_labels`, `label_weights`). The
    /// message names the metric by `name`.
    pub fn check_output(&self, name: &str, width: usize) -> Result<()> {
        match self {
            MetricKind::Precision(spec) | MetricKind::Recall(spec) => {
                spec.check_output(name, width)
            }
            MetricKind::Auc(spec) => spec.check_output(name, width),
            _ => Ok(()),
        }
    }

    /// True when the sample with target `t` is left out (its label is `ignore_class`).
    fn ignores(&self, t: &[f32]) -> bool {
        match *self {
            MetricKind::SparseCategoricalCrossentropy {
                ignore_class: Some(c),
                ..
            } => t[0] == c as f32,
            _ => false,
        }
    }

    /// Computes the value for one sample with prediction `p` and target `t`
    /// (`t` has one element, the class index, for sparse metrics).
    fn sample_value(&self, t: &[f32], p: &[f32]) -> f64 {
        match *self {
            MetricKind::SparseCategoricalAccuracy => (argmax(p) == t[0] as usize) as u8 as f64,
            MetricKind::CategoricalAccuracy => (argmax(p) == argmax(t)) as u8 as f64,
            MetricKind::BinaryAccuracy { threshold } => {
                let hits = t
                    .iter()
                    .zip(p)
                    .filter(|(&t, &p)| ((p > threshold) as u8 as f32) == t)
                    .count();
                hits as f64 / p.len() as f64
            }
            MetricKind::TopKCategoricalAccuracy { k, sparse } => {
                let target = if sparse { t[0] as usize } else { argmax(t) };
                let value = p[target];
                // In the top k when fewer than k predictions are strictly larger.
                let larger = p.iter().filter(|&&v| v > value).count();
                (larger < k) as u8 as f64
            }
            MetricKind::MeanAbsoluteError => {
                t.iter()
                    .zip(p)
                    .map(|(&t, &p)| (p - t).abs() as f64)
                    .sum::<f64>()
                    / p.len() as f64
            }
            MetricKind::MeanSquaredError | MetricKind::RootMeanSquaredError => {
                t.iter()
                    .zip(p)
                    .map(|(&t, &p)| ((p - t) as f64).powi(2))
                    .sum::<f64>()
                    / p.len() as f64
            }
            MetricKind::MeanAbsolutePercentageError => {
                loss_value(Loss::MeanAbsolutePercentageError, t, p)
            }
            MetricKind::BinaryCrossentropy {
                from_logits,
                label_smoothing,
            } => loss_value(
                Loss::BinaryCrossentropy {
                    from_logits,
                    label_smoothing,
                },
                t,
                p,
            ),
            MetricKind::CategoricalCrossentropy {
                from_logits,
                label_smoothing,
            } => loss_value(
                Loss::CategoricalCrossentropy {
                    from_logits,
                    label_smoothing,
                },
                t,
                p,
            ),
            MetricKind::SparseCategoricalCrossentropy { from_logits, .. } => {
                let label = t[0];
                // Labels are checked before training; this guards the index.
                if !(label >= 0.0 && (label as usize) < p.len()) {
                    return f64::NAN;
                }
                loss_value(Loss::SparseCategoricalCrossentropy { from_logits }, t, p)
            }
            MetricKind::Precision(_)
            | MetricKind::Recall(_)
            | MetricKind::Auc(_)
            | MetricKind::R2Score { .. }
            | MetricKind::External { .. } => {
                unreachable!("metrics with their own totals have no per-sample value")
            }
        }
    }
}

/// Computes the loss of one sample with keras's formula. The crossentropies
/// take the predictions as probabilities (clipped to [1e-7, 1 - 1e-7]) unless
/// `from_logits` is set.
// NOTE: during fit(), keras on TensorFlow computes a crossentropy metric on
// the logits of a sigmoid or softmax output layer, as the loss does. This
// uses the probabilities, so the two differ when a probability is within
// 1e-7 of 0 or 1.
fn loss_value(loss: Loss, t: &[f32], p: &[f32]) -> f64 {
    let mut value = [0.0f32];
    loss.compute(t, p, 1, p.len(), false, &mut value, None);
    value[0] as f64
}

/// Index of the first maximum, as `argmax` in keras.
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// A metric with its running totals over the samples seen so far.
#[derive(Debug, Clone)]
pub struct Metric {
    /// The name reported in logs and history, e.g. `accuracy`.
    pub name: String,
    pub kind: MetricKind,
    /// True for keras's `weighted_metrics`: only these use sample weights.
    pub weighted: bool,
    totals: Totals,
}

/// Running totals of a metric. The metric kind decides the variant.
#[derive(Debug, Clone)]
enum Totals {
    /// Weighted sum of per-sample values, and the sum of the weights.
    Mean {
        total: f64,
        count: f64,
    },
    /// Precision and recall.
    Confusion(ConfusionCounts),
    /// AUC.
    Curve(CurveCounts),
    R2(R2Sums),
}

impl Totals {
    /// Returns empty totals of the variant that `kind` accumulates.
    fn for_kind(kind: &MetricKind) -> Totals {
        match kind {
            MetricKind::Precision(_) | MetricKind::Recall(_) => {
                Totals::Confusion(ConfusionCounts::default())
            }
            MetricKind::Auc(_) => Totals::Curve(CurveCounts::default()),
            MetricKind::R2Score { .. } => Totals::R2(R2Sums::default()),
            _ => Totals::Mean {
                total: 0.0,
                count: 0.0,
            },
        }
    }

    /// True when these totals are the variant that `kind` accumulates.
    fn fit(&self, kind: &MetricKind) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(&Totals::for_kind(kind))
    }
}

impl Metric {
    pub fn new(name: &str, kind: MetricKind) -> Self {
        let totals = Totals::for_kind(&kind);
        Metric {
            name: name.to_string(),
            kind,
            weighted: false,
            totals,
        }
    }

    pub fn reset(&mut self) {
        match &mut self.totals {
            Totals::Mean { total, count } => {
                *total = 0.0;
                *count = 0.0;
            }
            Totals::Confusion(c) => c.reset(),
            Totals::Curve(c) => c.reset(),
            Totals::R2(sums) => sums.reset(),
        }
    }

    /// Adds a batch: `pred` is `batch x width`; `y_true` has `target_width`
    /// values per sample. With `weights`, each sample counts with its weight
    /// in the mean (keras's weighted mean). For precision, recall, AUC and
    /// R2, each value of the sample adds its weight to the counts and sums.
    ///
    /// A sample that sparse categorical crossentropy ignores (`ignore_class`)
    /// adds 0 to the total. As in keras 3.15.1, it still counts as a sample
    /// without weights, and is left out of the count with weights: keras
    /// applies the mask of ignored samples to the sample weights only.
    /// Adds per-sample values computed outside the engine, each counted with
    /// its weight (1 without weights).
    pub fn add_values(&mut self, values: &[f64], weights: Option<&[f32]>) {
        if let Totals::Mean { total, count } = &mut self.totals {
            for (s, &v) in values.iter().enumerate() {
                let w = weights.map(|w| w[s] as f64).unwrap_or(1.0);
                *total += w * v;
                *count += w;
            }
        }
    }

    pub fn update(
        &mut self,
        y_true: &[f32],
        pred: &[f32],
        batch: usize,
        width: usize,
        target_width: usize,
        weights: Option<&[f32]>,
    ) {
        // `kind` is public, so it may have changed since the totals were made.
        if !self.totals.fit(&self.kind) {
            self.totals = Totals::for_kind(&self.kind);
        }
        match (&self.kind, &mut self.totals) {
            // External values arrive through add_values.
            (MetricKind::External { .. }, _) => {}
            (MetricKind::Precision(spec) | MetricKind::Recall(spec), Totals::Confusion(c)) => {
                c.update(spec, y_true, pred, batch, width, target_width, weights)
            }
            (MetricKind::Auc(spec), Totals::Curve(c)) => {
                c.update(spec, y_true, pred, batch, width, target_width, weights)
            }
            (_, Totals::R2(sums)) => sums.update(y_true, pred, batch, width, target_width, weights),
            (kind, Totals::Mean { total, count }) => {
                for s in 0..batch {
                    let t = &y_true[s * target_width..(s + 1) * target_width];
                    let p = &pred[s * width..(s + 1) * width];
                    let w = weights.map(|w| w[s] as f64).unwrap_or(1.0);
                    if kind.ignores(t) {
                        if weights.is_none() {
                            *count += 1.0;
                        }
                        continue;
                    }
                    *total += w * kind.sample_value(t, p);
                    *count += w;
                }
            }
            (kind, totals) => unreachable!("{kind:?} was matched with {totals:?} above"),
        }
    }

    /// Returns the metric over all samples seen since the last reset, or 0
    /// when there were none.
    pub fn result(&self) -> f64 {
        match (&self.kind, &self.totals) {
            (MetricKind::Precision(_), Totals::Confusion(c)) => c.precision(),
            (MetricKind::Recall(_), Totals::Confusion(c)) => c.recall(),
            (MetricKind::Auc(spec), Totals::Curve(c)) => c.result(spec),
            (
                MetricKind::R2Score {
                    aggregation,
                    num_regressors,
                },
                Totals::R2(sums),
            ) => sums.result(*aggregation, *num_regressors),
            (kind, Totals::Mean { total, count }) => {
                if *count == 0.0 {
                    return 0.0;
                }
                let mean = total / count;
                match kind {
                    MetricKind::RootMeanSquaredError => mean.sqrt(),
                    _ => mean,
                }
            }
            // Totals of another kind (`kind` was changed after the last
            // update): no sample of this kind has been seen.
            _ => 0.0,
        }
    }
}
