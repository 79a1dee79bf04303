//! The R2 score (coefficient of determination) over all samples seen, as
//! keras 3.15.1's `keras.metrics.R2Score` accumulates it
//! (keras/src/metrics/regression_metrics.py).
//!
//! Per output column `j`, with sample weights `w`:
//! `R2_j = 1 - sum(w (y - p)^2) / (sum(w y^2) - sum(w y)^2 / sum(w))`.
//! An infinite `R2_j` (targets with no variance and a residual) becomes 0,
//! as in keras. The sums are kept in f64, where keras keeps float32.

use crate::error::{Error, Result};

/// Rule that combines the per-column scores into one number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum R2Aggregation {
    /// The plain mean of the per-column scores.
    UniformAverage,
    /// The mean weighted by each column's total sum of squares.
    VarianceWeightedAverage,
}

impl R2Aggregation {
    /// Parses keras's names "uniform_average" and "variance_weighted_average".
    pub fn from_name(name: &str) -> Result<R2Aggregation> {
        match name {
            "uniform_average" => Ok(R2Aggregation::UniformAverage),
            "variance_weighted_average" => Ok(R2Aggregation::VarianceWeightedAverage),
            other => Err(Error::InvalidArgument(format!(
                "`class_aggregation` must be \"uniform_average\" or \"variance_weighted_average\", got \"{other}\""
            ))),
        }
    }
}

/// Running per-column sums of the R2 score.
#[derive(Debug, Clone, Default)]
pub struct R2Sums {
    /// `sum(w y)` per column.
    sum: Vec<f64>,
    /// `sum(w y^2)` per column.
    squared_sum: Vec<f64>,
    /// `sum(w (y - p)^2)` per column.
    residual: Vec<f64>,
    /// `sum(w)` per column.
    count: Vec<f64>,
    /// Number of target values seen (samples times columns), unweighted;
    /// keras uses it as `n` of the adjusted score.
    values: f64,
}

impl R2Sums {
    pub fn reset(&mut self) {
        for v in [
            &mut self.sum,
            &mut self.squared_sum,
            &mut self.residual,
            &mut self.count,
        ] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
        self.values = 0.0;
    }

    /// Adds a batch; see [`crate::metrics::Metric::update`] for the layout.
    pub fn update(
        &mut self,
        y_true: &[f32],
        pred: &[f32],
        batch: usize,
        width: usize,
        target_width: usize,
        weights: Option<&[f32]>,
    ) {
        let columns = width.min(target_width);
        if self.sum.len() != columns {
            self.sum = vec![0.0; columns];
            self.squared_sum = vec![0.0; columns];
            self.residual = vec![0.0; columns];
            self.count = vec![0.0; columns];
        }
        for s in 0..batch {
            let w = weights.map_or(1.0, |w| w[s] as f64);
            for j in 0..columns {
                let y = y_true[s * target_width + j] as f64;
                let p = pred[s * width + j] as f64;
                self.sum[j] += w * y;
                self.squared_sum[j] += w * y * y;
                self.residual[j] += w * (y - p) * (y - p);
                self.count[j] += w;
            }
            self.values += columns as f64;
        }
    }

    /// Returns the aggregated score, adjusted for `num_regressors`
    /// regressors when that is not 0: `1 - (1 - R2) (n - 1) / (n - k - 1)`
    /// with `n` target values. As in keras, the plain score is returned
    /// when `k >= n - 1` (keras also warns). Returns 0 before any update.
    pub fn result(&self, aggregation: R2Aggregation, num_regressors: usize) -> f64 {
        if self.values == 0.0 {
            return 0.0;
        }
        let mut score_sum = 0.0;
        let mut weighted_sum = 0.0;
        let mut total_sum = 0.0;
        for j in 0..self.sum.len() {
            let mean = self.sum[j] / self.count[j];
            let total = self.squared_sum[j] - self.sum[j] * mean;
            let mut score = 1.0 - self.residual[j] / total;
            if score.is_infinite() {
                score = 0.0;
            }
            score_sum += score;
            weighted_sum += total * score;
            total_sum += total;
        }
        let r2 = match aggregation {
            R2Aggregation::UniformAverage => score_sum / self.sum.len() as f64,
            R2Aggregation::VarianceWeightedAverage => weighted_sum / total_sum,
        };
        let n = self.values;
        let k = num_regressors as f64;
        if num_regressors == 0 || k >= n - 1.0 {
            return r2;
        }
        1.0 - (1.0 - r2) * (n - 1.0) / (n - k - 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r2_keras_docstring_example() {
        // keras's R2Score docstring: y = [1, 4, 3], p = [2, 4, 4]. Mean 8/3,
        // total sum of squares 26 - 64/3 = 14/3, residual 1 + 0 + 1 = 2, so
        // R2 = 1 - 2 / (14/3) = 4/7 = 0.5714286.
        let mut sums = R2Sums::default();
        sums.update(&[1.0, 4.0, 3.0], &[2.0, 4.0, 4.0], 3, 1, 1, None);
        let r2 = sums.result(R2Aggregation::UniformAverage, 0);
        assert!((r2 - 4.0 / 7.0).abs() < 1e-12, "{r2}");
    }

    #[test]
    fn r2_adjusted_falls_back_when_too_few_values() {
        let mut sums = R2Sums::default();
        sums.update(&[1.0, 4.0, 3.0], &[2.0, 4.0, 4.0], 3, 1, 1, None);
        let plain = sums.result(R2Aggregation::UniformAverage, 0);
        // n = 3 values: k = 2 = n - 1 gives the plain score.
        assert_eq!(sums.result(R2Aggregation::UniformAverage, 2), plain);
        // k = 1: 1 - (1 - 4/7) * 2 / 1 = 1/7.
        let adjusted = sums.result(R2Aggregation::UniformAverage, 1);
        assert!((adjusted - 1.0 / 7.0).abs() < 1e-12, "{adjusted}");
    }
}
