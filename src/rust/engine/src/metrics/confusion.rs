//! Precision, recall and AUC: weighted confusion counts at fixed thresholds,
//! accumulated as keras 3.15.1 accumulates them in `keras.metrics.Precision`,
//! `Recall` and `AUC` (keras/src/metrics/confusion_metrics.py and
//! metrics_utils.py).
//!
//! A target counts as positive when it is not 0, and a prediction counts as
//! positive at threshold `t` when `pred > t`, compared in f32 as keras does.
//! Each count is a sum of sample weights (1 per value without weights).

use crate::activations::sigmoid;
use crate::error::{Error, Result};

/// keras's `NEG_INF`: the default threshold of precision and recall with
/// `top_k`, and the value that predictions outside the top k are replaced by.
pub const NEG_INF: f32 = -1e10;

/// keras's fuzz factor; AUC adds the thresholds `-EPSILON` and
/// `1 + EPSILON` so that predictions of exactly 0 and 1 are counted.
const EPSILON: f64 = 1e-7;

/// Returns `x / y`, or 0 when `y` is 0 (TensorFlow's `divide_no_nan`).
fn divide_no_nan(x: f64, y: f64) -> f64 {
    if y == 0.0 {
        0.0
    } else {
        x / y
    }
}

// ---------------------------------------------------------------------------
// Precision and recall

/// Options of `Precision` and `Recall`.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfusionSpec {
    /// Predictions above it count as positive.
    pub threshold: f32,
    /// When set, only the `top_k` largest predictions of each sample can
    /// count as positive.
    pub top_k: Option<usize>,
    /// When set, only this output column (0-based) is counted.
    pub class_id: Option<usize>,
}

impl Default for ConfusionSpec {
    fn default() -> Self {
        ConfusionSpec {
            threshold: 0.5,
            top_k: None,
            class_id: None,
        }
    }
}

impl ConfusionSpec {
    /// Checks the options. Without a threshold, keras uses 0.5, or
    /// [`NEG_INF`] when `top_k` is set (every top-k prediction is positive).
    pub fn new(
        threshold: Option<f32>,
        top_k: Option<usize>,
        class_id: Option<usize>,
    ) -> Result<Self> {
        if let Some(t) = threshold {
            if !(0.0..=1.0).contains(&t) {
                return Err(Error::InvalidArgument(format!(
                    "`thresholds` must be in [0, 1], got {t}"
                )));
            }
        }
        if top_k == Some(0) {
            return Err(Error::InvalidArgument(
                "`top_k` must be at least 1, got 0".into(),
            ));
        }
        let default = if top_k.is_some() { NEG_INF } else { 0.5 };
        Ok(ConfusionSpec {
            threshold: threshold.unwrap_or(default),
            top_k,
            class_id,
        })
    }

    /// Checks `class_id` and `top_k` against the number of output columns.
    pub fn check_output(&self, metric: &str, width: usize) -> Result<()> {
        if let Some(c) = self.class_id {
            if c >= width {
                return Err(Error::InvalidArgument(format!(
                    "metric \"{metric}\": `class_id` = {c} is out of range for an output of {width} values per sample; it must be from 0 to {}",
                    width.saturating_sub(1)
                )));
            }
        }
        if let Some(k) = self.top_k {
            if k > width {
                return Err(Error::InvalidArgument(format!(
                    "metric \"{metric}\": `top_k` = {k} is larger than the {width} values per sample of the output"
                )));
            }
        }
        Ok(())
    }
}

/// Running true positives, false positives and false negatives at one threshold.
#[derive(Debug, Clone, Default)]
pub struct ConfusionCounts {
    pub true_positives: f64,
    pub false_positives: f64,
    pub false_negatives: f64,
    /// Column indices of one sample, reordered to find its top k.
    order: Vec<usize>,
    /// Whether each column of the current sample is among its top k.
    in_top_k: Vec<bool>,
}

impl ConfusionCounts {
    pub fn reset(&mut self) {
        self.true_positives = 0.0;
        self.false_positives = 0.0;
        self.false_negatives = 0.0;
    }

    /// Adds a batch; see [`crate::metrics::Metric::update`] for the layout.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        spec: &ConfusionSpec,
        y_true: &[f32],
        pred: &[f32],
        batch: usize,
        width: usize,
        target_width: usize,
        weights: Option<&[f32]>,
    ) {
        let columns = match spec.class_id {
            Some(c) => c..c + 1,
            None => 0..width,
        };
        for s in 0..batch {
            let p = &pred[s * width..(s + 1) * width];
            let t = &y_true[s * target_width..(s + 1) * target_width];
            let w = weights.map_or(1.0, |w| w[s] as f64);
            if let Some(k) = spec.top_k {
                self.mark_top_k(p, k);
            }
            for j in columns.clone() {
                let (Some(&value), Some(&target)) = (p.get(j), t.get(j)) else {
                    continue;
                };
                // keras replaces predictions outside the top k by NEG_INF.
                let value = match spec.top_k {
                    Some(_) if !self.in_top_k[j] => NEG_INF,
                    _ => value,
                };
                let predicted = value > spec.threshold;
                let actual = target != 0.0;
                match (actual, predicted) {
                    (true, true) => self.true_positives += w,
                    (false, true) => self.false_positives += w,
                    (true, false) => self.false_negatives += w,
                    (false, false) => {}
                }
            }
        }
    }

    /// Marks the `k` largest values of `p`; of equal values, the one with
    /// the lower index ranks first, as in TensorFlow's `top_k`.
    fn mark_top_k(&mut self, p: &[f32], k: usize) {
        self.order.clear();
        self.order.extend(0..p.len());
        self.in_top_k.clear();
        self.in_top_k.resize(p.len(), false);
        let k = k.min(p.len());
        if k == 0 {
            return;
        }
        // -0.0 and 0.0 compare equal in TensorFlow, but not under total_cmp.
        let key = |i: usize| if p[i] == 0.0 { 0.0 } else { p[i] };
        self.order
            .select_nth_unstable_by(k - 1, |&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
        for &i in &self.order[..k] {
            self.in_top_k[i] = true;
        }
    }

    pub fn precision(&self) -> f64 {
        divide_no_nan(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    pub fn recall(&self) -> f64 {
        divide_no_nan(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }
}

// ---------------------------------------------------------------------------
// AUC

/// The curve whose area `AUC` computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AucCurve {
    /// Recall (true positive rate) against the false positive rate.
    Roc,
    /// Precision against recall.
    Pr,
    /// Precision gain against recall gain, with keras's definitions (see
    /// [`curve_point`]).
    PrGain,
}

impl AucCurve {
    /// Parses keras's names: "ROC", "PR", "PRGAIN", or the same in lower case.
    pub fn from_name(name: &str) -> Result<AucCurve> {
        match name {
            "ROC" | "roc" => Ok(AucCurve::Roc),
            "PR" | "pr" => Ok(AucCurve::Pr),
            "PRGAIN" | "prgain" => Ok(AucCurve::PrGain),
            other => Err(Error::InvalidArgument(format!(
                "`curve` must be \"ROC\", \"PR\" or \"PRGAIN\", got \"{other}\""
            ))),
        }
    }
}

/// Summation rule for the area between two neighbouring thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AucSummation {
    /// Trapezoids for ROC; for PR, the interpolation of Davis and Goadrich
    /// (2006) that keras implements (see [`pr_interpolated_segment`]).
    Interpolation,
    /// Rectangles under the lower of the two heights.
    Minoring,
    /// Rectangles under the higher of the two heights.
    Majoring,
}

impl AucSummation {
    /// Parses keras's names: "interpolation", "minoring", "majoring", each
    /// also capitalised.
    pub fn from_name(name: &str) -> Result<AucSummation> {
        match name {
            "interpolation" | "Interpolation" => Ok(AucSummation::Interpolation),
            "minoring" | "Minoring" => Ok(AucSummation::Minoring),
            "majoring" | "Majoring" => Ok(AucSummation::Majoring),
            other => Err(Error::InvalidArgument(format!(
                "`summation_method` must be \"interpolation\", \"minoring\" or \"majoring\", got \"{other}\""
            ))),
        }
    }
}

/// Options of `AUC`.
#[derive(Debug, Clone, PartialEq)]
pub struct AucSpec {
    /// Thresholds in increasing order, starting with `-EPSILON` and ending
    /// with `1 + EPSILON`, rounded to f32 as keras compares them.
    pub thresholds: Vec<f32>,
    /// True when the thresholds are `i / (n - 1)` for `i = 0..n` (with the
    /// two ends moved out by `EPSILON`). keras then sorts each prediction
    /// into a bucket instead of comparing it with every threshold.
    pub evenly_spaced: bool,
    pub curve: AucCurve,
    pub summation: AucSummation,
    /// Computes one AUC per output column and averages them, instead of
    /// pooling all columns into one curve.
    pub multi_label: bool,
    /// Expected number of output columns with `multi_label`, if given.
    pub num_labels: Option<usize>,
    /// Weight of each output column: in the counts without `multi_label`,
    /// in the average of the per-column AUCs with it.
    pub label_weights: Option<Vec<f32>>,
    /// Applies a sigmoid to the predictions first.
    pub from_logits: bool,
}

impl Default for AucSpec {
    fn default() -> Self {
        AucSpec::new(
            200,
            None,
            AucCurve::Roc,
            AucSummation::Interpolation,
            false,
            None,
            None,
            false,
        )
        .expect("keras's default AUC options are valid")
    }
}

impl AucSpec {
    /// Builds the threshold grid and checks the options as keras does.
    /// With `thresholds`, `num_thresholds` is ignored and the grid is the
    /// sorted values plus the two end points.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        num_thresholds: usize,
        thresholds: Option<&[f64]>,
        curve: AucCurve,
        summation: AucSummation,
        multi_label: bool,
        num_labels: Option<usize>,
        label_weights: Option<Vec<f32>>,
        from_logits: bool,
    ) -> Result<AucSpec> {
        let (inner, evenly_spaced) = match thresholds {
            Some(values) => {
                if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
                    return Err(Error::InvalidArgument(format!(
                        "`thresholds` must be finite numbers, got {bad}"
                    )));
                }
                let mut sorted = values.to_vec();
                sorted.sort_by(f64::total_cmp);
                let mut with_ends = vec![0.0];
                with_ends.extend(&sorted);
                with_ends.push(1.0);
                let even = is_evenly_spaced(&with_ends);
                (sorted, even)
            }
            None => {
                if num_thresholds < 2 {
                    return Err(Error::InvalidArgument(format!(
                        "`num_thresholds` must be an integer > 1, got {num_thresholds}"
                    )));
                }
                let step = (num_thresholds - 1) as f64;
                let inner = (0..num_thresholds - 2)
                    .map(|i| (i + 1) as f64 / step)
                    .collect();
                (inner, true)
            }
        };
        if !multi_label && num_labels.is_some() {
            return Err(Error::InvalidArgument(
                "`num_labels` is needed only when `multi_label` is TRUE".into(),
            ));
        }
        if let Some(w) = &label_weights {
            if let Some(bad) = w.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
                return Err(Error::InvalidArgument(format!(
                    "`label_weights` must be finite non-negative numbers, got {bad}"
                )));
            }
        }
        let mut grid = Vec::with_capacity(inner.len() + 2);
        grid.push((0.0 - EPSILON) as f32);
        grid.extend(inner.iter().map(|&t| t as f32));
        grid.push((1.0 + EPSILON) as f32);
        Ok(AucSpec {
            thresholds: grid,
            evenly_spaced,
            curve,
            summation,
            multi_label,
            num_labels,
            label_weights,
            from_logits,
        })
    }

    /// Checks `num_labels` and `label_weights` against the number of output columns.
    pub fn check_output(&self, metric: &str, width: usize) -> Result<()> {
        if let Some(n) = self.num_labels {
            if n != width {
                return Err(Error::InvalidArgument(format!(
                    "metric \"{metric}\": `num_labels` = {n} but the output has {width} values per sample"
                )));
            }
        }
        if let Some(w) = &self.label_weights {
            if w.len() != width && w.len() != 1 {
                return Err(Error::InvalidArgument(format!(
                    "metric \"{metric}\": `label_weights` has {} values but the output has {width} values per sample; give one weight per output column",
                    w.len()
                )));
            }
        }
        Ok(())
    }

    fn label_weight(&self, column: usize) -> f64 {
        match &self.label_weights {
            Some(w) if w.len() == 1 => w[0] as f64,
            Some(w) => w.get(column).map_or(0.0, |&v| v as f64),
            None => 1.0,
        }
    }

    /// Returns the bucket of a prediction on an evenly spaced grid of `n`
    /// thresholds: `ceil(p (n - 1)) - 1`, at least 0, with `p` clipped to
    /// [0, 1] and the product taken in f32 as keras takes it. Counting the
    /// buckets from `i` upwards gives the predictions above threshold `i`.
    /// Returns `None` for NaN, which is then counted as negative.
    fn bucket(&self, p: f32) -> Option<usize> {
        let scaled = (p.clamp(0.0, 1.0) * (self.thresholds.len() - 1) as f32).ceil() - 1.0;
        if scaled.is_nan() {
            None
        } else {
            Some(scaled.max(0.0) as usize)
        }
    }
}

/// Returns true when `values` pass numpy's
/// `allclose(values, arange(n) / (n - 1), atol = 1e-7)`, the test keras
/// uses (relative tolerance 1e-5, and the even grid in f32).
fn is_evenly_spaced(values: &[f64]) -> bool {
    let n = values.len();
    if n < 3 {
        return false;
    }
    values.iter().enumerate().all(|(i, &v)| {
        let even = (i as f32 / (n - 1) as f32) as f64;
        (v - even).abs() <= EPSILON + 1e-5 * even.abs()
    })
}

/// Running confusion counts of `AUC`, per output column with `multi_label`
/// and pooled over all columns otherwise.
#[derive(Debug, Clone, Default)]
pub struct CurveCounts {
    /// `labels x thresholds` weights of positive targets predicted positive.
    /// On an evenly spaced grid it contains per-bucket sums instead, and the
    /// count at threshold `i` is the sum over buckets `i..`.
    true_positives: Vec<f64>,
    /// The same for negative targets (false positives).
    false_positives: Vec<f64>,
    /// Total weight of positive targets, per label.
    positives: Vec<f64>,
    /// Total weight of negative targets, per label.
    negatives: Vec<f64>,
}

/// Confusion counts at one threshold.
#[derive(Debug, Clone, Copy)]
struct Point {
    tp: f64,
    fp: f64,
    fn_: f64,
    tn: f64,
}

impl CurveCounts {
    pub fn reset(&mut self) {
        for v in [
            &mut self.true_positives,
            &mut self.false_positives,
            &mut self.positives,
            &mut self.negatives,
        ] {
            v.iter_mut().for_each(|x| *x = 0.0);
        }
    }

    /// Sizes the counts for `labels` labels; the first update does this,
    /// as keras builds the metric's variables on its first call.
    fn ensure_labels(&mut self, labels: usize, thresholds: usize) {
        if self.positives.len() != labels {
            self.true_positives = vec![0.0; labels * thresholds];
            self.false_positives = vec![0.0; labels * thresholds];
            self.positives = vec![0.0; labels];
            self.negatives = vec![0.0; labels];
        }
    }

    /// Adds a batch; see [`crate::metrics::Metric::update`] for the layout.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        spec: &AucSpec,
        y_true: &[f32],
        pred: &[f32],
        batch: usize,
        width: usize,
        target_width: usize,
        weights: Option<&[f32]>,
    ) {
        let n = spec.thresholds.len();
        let labels = if spec.multi_label { width } else { 1 };
        self.ensure_labels(labels, n);
        let columns = width.min(target_width);
        for s in 0..batch {
            let sample_weight = weights.map_or(1.0, |w| w[s] as f64);
            for j in 0..columns {
                let actual = y_true[s * target_width + j] != 0.0;
                let raw = pred[s * width + j];
                let p = if spec.from_logits { sigmoid(raw) } else { raw };
                let (label, w) = if spec.multi_label {
                    (j, sample_weight)
                } else {
                    (0, sample_weight * spec.label_weight(j))
                };
                if actual {
                    self.positives[label] += w;
                } else {
                    self.negatives[label] += w;
                }
                let counts = if actual {
                    &mut self.true_positives[label * n..(label + 1) * n]
                } else {
                    &mut self.false_positives[label * n..(label + 1) * n]
                };
                if spec.evenly_spaced {
                    if let Some(b) = spec.bucket(p) {
                        counts[b] += w;
                    }
                } else {
                    for (count, &t) in counts.iter_mut().zip(&spec.thresholds) {
                        if p > t {
                            *count += w;
                        }
                    }
                }
            }
        }
    }

    /// Returns the AUC: the area of one label's curve, or the (weighted)
    /// mean of the per-label areas with `multi_label`. 0 before any update.
    pub fn result(&self, spec: &AucSpec) -> f64 {
        let labels = self.positives.len();
        if labels == 0 {
            return 0.0;
        }
        let areas = (0..labels).map(|l| self.label_area(spec, l));
        if !spec.multi_label {
            return areas.sum();
        }
        match &spec.label_weights {
            None => areas.sum::<f64>() / labels as f64,
            Some(_) => {
                let weighted: f64 = areas
                    .enumerate()
                    .map(|(l, a)| a * spec.label_weight(l))
                    .sum();
                let total: f64 = (0..labels).map(|l| spec.label_weight(l)).sum();
                divide_no_nan(weighted, total)
            }
        }
    }

    /// Returns the area under the curve of label `l`, summed over the segments between
    /// neighbouring thresholds. The thresholds are walked from the highest
    /// down, so that bucket sums can be accumulated on the way.
    fn label_area(&self, spec: &AucSpec, l: usize) -> f64 {
        let n = spec.thresholds.len();
        let tp = &self.true_positives[l * n..(l + 1) * n];
        let fp = &self.false_positives[l * n..(l + 1) * n];
        let (positives, negatives) = (self.positives[l], self.negatives[l]);
        let (mut tp_sum, mut fp_sum) = (0.0, 0.0);
        let mut upper: Option<Point> = None;
        let mut area = 0.0;
        for i in (0..n).rev() {
            let (tp_i, fp_i) = if spec.evenly_spaced {
                tp_sum += tp[i];
                fp_sum += fp[i];
                (tp_sum, fp_sum)
            } else {
                (tp[i], fp[i])
            };
            let point = Point {
                tp: tp_i,
                fp: fp_i,
                fn_: positives - tp_i,
                tn: negatives - fp_i,
            };
            if let Some(upper) = upper {
                area += segment_area(spec, &point, &upper);
            }
            upper = Some(point);
        }
        area
    }
}

/// Returns the area of the curve between threshold `i` (`lower`) and
/// `i + 1` (`upper`), as keras's `AUC.result()` computes it.
fn segment_area(spec: &AucSpec, lower: &Point, upper: &Point) -> f64 {
    if spec.curve == AucCurve::Pr && spec.summation == AucSummation::Interpolation {
        return pr_interpolated_segment(lower, upper);
    }
    let (x_lower, y_lower) = curve_point(spec.curve, lower);
    let (x_upper, y_upper) = curve_point(spec.curve, upper);
    let height = match spec.summation {
        AucSummation::Interpolation => (y_lower + y_upper) / 2.0,
        AucSummation::Minoring => y_lower.min(y_upper),
        AucSummation::Majoring => y_lower.max(y_upper),
    };
    (x_lower - x_upper) * height
}

/// Returns the (x, y) coordinates of the curve at one threshold.
fn curve_point(curve: AucCurve, c: &Point) -> (f64, f64) {
    let recall = divide_no_nan(c.tp, c.tp + c.fn_);
    match curve {
        AucCurve::Roc => (divide_no_nan(c.fp, c.fp + c.tn), recall),
        AucCurve::Pr => (recall, divide_no_nan(c.tp, c.tp + c.fp)),
        AucCurve::PrGain => {
            // Gains relative to a classifier that predicts all positive, with
            // keras's guards: no true positives gives recall gain 0 and
            // precision gain 1, and a negative recall gain becomes 0.
            let scale = divide_no_nan(c.tp + c.fn_, c.tn + c.fp);
            if c.tp == 0.0 {
                return (0.0, 1.0);
            }
            let recall_gain = (1.0 - scale * divide_no_nan(c.fn_, c.tp)).max(0.0);
            let precision_gain = 1.0 - scale * divide_no_nan(c.fp, c.tp);
            (recall_gain, precision_gain)
        }
    }
}

/// Returns the area under the PR curve between two thresholds `A` (`lower`)
/// and `B` (`upper`), interpolating as keras's `AUC.interpolate_pr_auc` does.
///
/// TP and the number of predicted positives `P = TP + FP` are taken to
/// change linearly between the thresholds, so precision is
/// `(TP_A + slope (P - P_A)) / P` with `slope = dTP / dP`. Integrating it
/// over recall `TP / total_positives` gives
/// `slope (dTP + intercept ln(P_A / P_B)) / total_positives`, with
/// `intercept = TP_B - slope P_B`. When `P_A` or `P_B` is 0 the log term is
/// dropped, which keeps the precision constant over that segment.
fn pr_interpolated_segment(lower: &Point, upper: &Point) -> f64 {
    let dtp = lower.tp - upper.tp;
    let p_lower = lower.tp + lower.fp;
    let p_upper = upper.tp + upper.fp;
    let slope = divide_no_nan(dtp, (p_lower - p_upper).max(0.0));
    let intercept = upper.tp - slope * p_upper;
    let ratio = if p_lower > 0.0 && p_upper > 0.0 {
        divide_no_nan(p_lower, p_upper.max(0.0))
    } else {
        1.0
    };
    divide_no_nan(
        slope * (dtp + intercept * ratio.ln()),
        (upper.tp + upper.fn_).max(0.0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auc(spec: &AucSpec, y: &[f32], p: &[f32], w: Option<&[f32]>) -> f64 {
        let mut c = CurveCounts::default();
        c.update(spec, y, p, y.len(), 1, 1, w);
        c.result(spec)
    }

    #[test]
    fn auc_keras_docstring_example() {
        // keras's AUC docstring: num_thresholds = 3, thresholds
        // [-1e-7, 0.5, 1 + 1e-7], tp = [2, 1, 0], fp = [2, 0, 0], so
        // recall = [1, 0.5, 0], fp rate = [1, 0, 0] and
        // auc = (1 + 0.5) / 2 * (1 - 0) + (0.5 + 0) / 2 * (0 - 0) = 0.75.
        let spec = AucSpec::new(
            3,
            None,
            AucCurve::Roc,
            AucSummation::Interpolation,
            false,
            None,
            None,
            false,
        )
        .unwrap();
        let y = [0.0, 0.0, 1.0, 1.0];
        let p = [0.0, 0.5, 0.3, 0.9];
        assert!((auc(&spec, &y, &p, None) - 0.75).abs() < 1e-12);
        // With weights [1, 0, 0, 1] only a perfectly ranked pair is left.
        let w = [1.0, 0.0, 0.0, 1.0];
        assert!((auc(&spec, &y, &p, Some(&w)) - 1.0).abs() < 1e-12);
    }

    #[test]
    fn auc_buckets_match_direct_comparison() {
        // On an evenly spaced grid the bucket path must count the same
        // predictions as comparing with each threshold.
        let even = AucSpec::default();
        let mut direct = even.clone();
        direct.evenly_spaced = false;
        let y = [0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 1.0];
        let p = [0.0, 1.0, 0.31, 0.3, 0.77, 0.995, 0.5];
        let a = auc(&even, &y, &p, None);
        let b = auc(&direct, &y, &p, None);
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
    }

    #[test]
    fn auc_rejects_bad_options() {
        let bad = AucSpec::new(
            1,
            None,
            AucCurve::Roc,
            AucSummation::Interpolation,
            false,
            None,
            None,
            false,
        );
        assert!(bad.is_err());
        let bad = AucSpec::new(
            200,
            None,
            AucCurve::Roc,
            AucSummation::Interpolation,
            false,
            Some(3),
            None,
            false,
        );
        assert!(bad.is_err());
        assert!(AucCurve::from_name("XYZ").is_err());
        assert!(AucSummation::from_name("riemann").is_err());
    }

    #[test]
    fn user_thresholds_on_even_grid_use_buckets() {
        let spec = AucSpec::new(
            0,
            Some(&[0.75, 0.25, 0.5]),
            AucCurve::Roc,
            AucSummation::Interpolation,
            false,
            None,
            None,
            false,
        )
        .unwrap();
        assert!(spec.evenly_spaced);
        assert_eq!(spec.thresholds.len(), 5);
        assert_eq!(spec.thresholds[1], 0.25);
        let uneven = AucSpec::new(
            0,
            Some(&[0.1, 0.5]),
            AucCurve::Roc,
            AucSummation::Interpolation,
            false,
            None,
            None,
            false,
        )
        .unwrap();
        assert!(!uneven.evenly_spaced);
    }

    #[test]
    fn precision_top_k_breaks_ties_by_index() {
        // Row [0.5, 0.9, 0.5] with k = 2 keeps columns 1 and 0 (the first of
        // the tied 0.5s), so column 2 is not predicted positive.
        let spec = ConfusionSpec::new(None, Some(2), None).unwrap();
        let mut c = ConfusionCounts::default();
        c.update(&spec, &[1.0, 0.0, 1.0], &[0.5, 0.9, 0.5], 1, 3, 3, None);
        assert_eq!(c.true_positives, 1.0);
        assert_eq!(c.false_positives, 1.0);
        assert_eq!(c.false_negatives, 1.0);
    }
}
