//! Golden-value tests of AUC, precision, recall, the crossentropy metrics,
//! MAPE and the R2 score against Keras 3.
//!
//! `tests/golden/metrics_extra.json` was written by
//! `tools/golden/make_golden_metrics.py` with keras 3.15.1 (TensorFlow
//! backend), tensorflow 2.21.0 and numpy 2.4.6 on CPU. For each case it contains
//! the result of one update with all rows, the running result after two
//! updates (rows `[0, split)`, then the rest), and the result of one update
//! with sample weights. Keras accumulates in float32 and the engine in f64,
//! so results are compared with a relative tolerance of 1e-5.

mod common;

use common::{assert_close, load_golden};
use engine::metrics::{
    AucCurve, AucSpec, AucSummation, ConfusionSpec, Metric, MetricKind, R2Aggregation,
};
use serde_json::Value;

const RTOL: f64 = 1e-5;
const ATOL: f64 = 1e-6;

fn load() -> Value {
    load_golden("metrics_extra.json")
}

fn number(value: &Value, key: &str) -> f64 {
    value
        .get(key)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("golden case has no number \"{key}\""))
}

/// Flattens a matrix (list of rows) into f32 values and returns its width.
fn matrix(value: &Value) -> (Vec<f32>, usize) {
    let rows = value.as_array().expect("a matrix is a list of rows");
    let width = rows[0].as_array().expect("a row is a list").len();
    let values = rows
        .iter()
        .flat_map(|row| row.as_array().expect("a row is a list"))
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect();
    (values, width)
}

fn vector(value: &Value) -> Vec<f32> {
    value
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_f64().expect("a number") as f32)
        .collect()
}

/// Builds the engine metric from keras's class name and keyword arguments,
/// with keras's defaults for the options a case leaves out.
fn metric_kind(class: &str, options: &Value) -> MetricKind {
    let flag = |key: &str| options.get(key).and_then(Value::as_bool).unwrap_or(false);
    let float = |key: &str| options.get(key).and_then(Value::as_f64);
    let count = |key: &str| options.get(key).and_then(Value::as_u64).map(|v| v as usize);
    let text = |key: &str, default: &'static str| {
        options
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    let list = |key: &str| -> Option<Vec<f64>> {
        options.get(key).and_then(Value::as_array).map(|items| {
            items
                .iter()
                .map(|v| v.as_f64().expect("a number"))
                .collect()
        })
    };
    match class {
        "AUC" => MetricKind::Auc(
            AucSpec::new(
                count("num_thresholds").unwrap_or(200),
                list("thresholds").as_deref(),
                AucCurve::from_name(&text("curve", "ROC")).unwrap(),
                AucSummation::from_name(&text("summation_method", "interpolation")).unwrap(),
                flag("multi_label"),
                count("num_labels"),
                list("label_weights").map(|w| w.iter().map(|&v| v as f32).collect()),
                flag("from_logits"),
            )
            .unwrap(),
        ),
        "Precision" | "Recall" => {
            let spec = ConfusionSpec::new(
                float("thresholds").map(|t| t as f32),
                count("top_k"),
                count("class_id"),
            )
            .unwrap();
            if class == "Precision" {
                MetricKind::Precision(spec)
            } else {
                MetricKind::Recall(spec)
            }
        }
        "BinaryCrossentropy" => MetricKind::BinaryCrossentropy {
            from_logits: flag("from_logits"),
            label_smoothing: float("label_smoothing").unwrap_or(0.0) as f32,
        },
        "CategoricalCrossentropy" => MetricKind::CategoricalCrossentropy {
            from_logits: flag("from_logits"),
            label_smoothing: float("label_smoothing").unwrap_or(0.0) as f32,
        },
        "SparseCategoricalCrossentropy" => MetricKind::SparseCategoricalCrossentropy {
            from_logits: flag("from_logits"),
            ignore_class: options
                .get("ignore_class")
                .and_then(Value::as_i64)
                .map(|c| c as i32),
        },
        "MeanAbsolutePercentageError" => MetricKind::MeanAbsolutePercentageError,
        "R2Score" => MetricKind::R2Score {
            aggregation: R2Aggregation::from_name(&text("class_aggregation", "uniform_average"))
                .unwrap(),
            num_regressors: count("num_regressors").unwrap_or(0),
        },
        other => panic!("no engine metric for keras class {other}"),
    }
}

#[test]
fn golden_metrics_file_names_its_source() {
    let document = load();
    let source = document["source"].as_str().expect("source is a string");
    assert!(
        source.contains("keras 3.15.1"),
        "unexpected source {source}"
    );
    assert!(
        source.contains("make_golden_metrics.py"),
        "unexpected source {source}"
    );
}

#[test]
fn extra_metrics_match_keras() {
    let document = load();
    let split = document["split"].as_u64().expect("split is a count") as usize;
    let cases = document["cases"].as_object().expect("cases is an object");
    assert_eq!(cases.len(), 44, "every case of make_golden_metrics.py");

    for (name, case) in cases {
        let class = case["class"].as_str().expect("class is a string");
        let kind = metric_kind(class, &case["options"]);
        let (y_true, target_width) = matrix(&case["y_true"]);
        let (pred, width) = matrix(&case["y_pred"]);
        let rows = pred.len() / width;
        let weights = vector(&case["sample_weight"]);

        let mut whole = Metric::new(name, kind.clone());
        whole.update(&y_true, &pred, rows, width, target_width, None);
        assert_close(
            &format!("{name}: result"),
            whole.result(),
            number(case, "result"),
            RTOL,
            ATOL,
        );

        let mut running = Metric::new(name, kind.clone());
        running.update(
            &y_true[..split * target_width],
            &pred[..split * width],
            split,
            width,
            target_width,
            None,
        );
        assert_close(
            &format!("{name}: after rows 0 to {}", split - 1),
            running.result(),
            number(case, "running_after_first_rows"),
            RTOL,
            ATOL,
        );
        running.update(
            &y_true[split * target_width..],
            &pred[split * width..],
            rows - split,
            width,
            target_width,
            None,
        );
        assert_close(
            &format!("{name}: after all rows"),
            running.result(),
            number(case, "running_after_all_rows"),
            RTOL,
            ATOL,
        );

        let mut weighted = Metric::new(name, kind.clone());
        weighted.update(&y_true, &pred, rows, width, target_width, Some(&weights));
        assert_close(
            &format!("{name}: weighted"),
            weighted.result(),
            number(case, "weighted_result"),
            RTOL,
            ATOL,
        );

        // A reset starts the running totals again: the same rows give the
        // same result, and no rows give 0.
        weighted.reset();
        assert_eq!(weighted.result(), 0.0, "{name}: result after reset");
        weighted.update(&y_true, &pred, rows, width, target_width, Some(&weights));
        assert_close(
            &format!("{name}: weighted after reset"),
            weighted.result(),
            number(case, "weighted_result"),
            RTOL,
            ATOL,
        );
    }
}

#[test]
fn output_width_checks_name_the_option() {
    let precision = MetricKind::Precision(ConfusionSpec::new(None, None, Some(3)).unwrap());
    let message = precision
        .check_output("precision", 3)
        .unwrap_err()
        .to_string();
    assert!(message.contains("`class_id` = 3"), "{message}");
    assert!(precision.check_output("precision", 4).is_ok());

    let recall = MetricKind::Recall(ConfusionSpec::new(None, Some(5), None).unwrap());
    let message = recall.check_output("recall", 3).unwrap_err().to_string();
    assert!(message.contains("`top_k` = 5"), "{message}");

    let auc = MetricKind::Auc(
        AucSpec::new(
            200,
            None,
            AucCurve::Roc,
            AucSummation::Interpolation,
            true,
            Some(2),
            Some(vec![1.0, 2.0]),
            false,
        )
        .unwrap(),
    );
    let message = auc.check_output("auc", 3).unwrap_err().to_string();
    assert!(message.contains("`num_labels` = 2"), "{message}");
    assert!(auc.check_output("auc", 2).is_ok());
}
