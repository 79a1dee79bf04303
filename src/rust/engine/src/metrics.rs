//! Metrics, reported as keras reports them: the mean over all samples seen
//! in the epoch of a per-sample value (for `rmse`, the square root of the
//! running mean squared error).

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq)]
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
];

impl MetricKind {
    /// Looks up a metric by keras name; "accuracy" must be resolved against
    /// the loss before it gets here.
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
        )
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
        }
    }
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
    total: f64,
    count: f64,
}

impl Metric {
    pub fn new(name: &str, kind: MetricKind) -> Self {
        Metric {
            name: name.to_string(),
            kind,
            total: 0.0,
            count: 0.0,
        }
    }

    pub fn reset(&mut self) {
        self.total = 0.0;
        self.count = 0.0;
    }

    /// Adds a batch: `pred` is `batch x width`; `y_true` has `target_width`
    /// values per sample. With `weights`, each sample counts with its weight
    /// (keras's weighted mean).
    pub fn update(
        &mut self,
        y_true: &[f32],
        pred: &[f32],
        batch: usize,
        width: usize,
        target_width: usize,
        weights: Option<&[f32]>,
    ) {
        for s in 0..batch {
            let t = &y_true[s * target_width..(s + 1) * target_width];
            let p = &pred[s * width..(s + 1) * width];
            let w = weights.map(|w| w[s] as f64).unwrap_or(1.0);
            self.total += w * self.kind.sample_value(t, p);
            self.count += w;
        }
    }

    pub fn result(&self) -> f64 {
        if self.count == 0.0 {
            return 0.0;
        }
        let mean = self.total / self.count;
        match self.kind {
            MetricKind::RootMeanSquaredError => mean.sqrt(),
            _ => mean,
        }
    }
}
