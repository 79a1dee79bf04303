//! Keras configs of the metrics with options beyond `threshold` and `k`:
//! AUC, Precision, Recall, the crossentropies, MeanAbsolutePercentageError
//! and R2Score. The keys are those of each class's `get_config()` in
//! keras 3.15.1.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::metrics::{
    AucCurve, AucSpec, AucSummation, ConfusionSpec, Metric, MetricKind, R2Aggregation, NEG_INF,
};

use super::keras_config::{f32_value, keras_object};

/// Returns the keras object of `m`, or `None` for the metrics that
/// `keras_config` writes itself.
pub fn metric_value(m: &Metric) -> Option<Value> {
    let mut config = json!({ "name": m.name, "dtype": "float32" });
    let class_name = match &m.kind {
        MetricKind::MeanAbsolutePercentageError => "MeanAbsolutePercentageError",
        MetricKind::BinaryCrossentropy {
            from_logits,
            label_smoothing,
        } => {
            config["from_logits"] = Value::from(*from_logits);
            config["label_smoothing"] = f32_value(*label_smoothing);
            "BinaryCrossentropy"
        }
        MetricKind::CategoricalCrossentropy {
            from_logits,
            label_smoothing,
        } => {
            config["from_logits"] = Value::from(*from_logits);
            config["label_smoothing"] = f32_value(*label_smoothing);
            config["axis"] = Value::from(-1);
            "CategoricalCrossentropy"
        }
        MetricKind::SparseCategoricalCrossentropy {
            from_logits,
            ignore_class,
        } => {
            config["from_logits"] = Value::from(*from_logits);
            config["ignore_class"] = ignore_class.map_or(Value::Null, Value::from);
            config["axis"] = Value::from(-1);
            "SparseCategoricalCrossentropy"
        }
        MetricKind::Precision(spec) | MetricKind::Recall(spec) => {
            // keras stores the threshold as given, and None when the
            // default applies; NEG_INF is the default with top_k.
            config["thresholds"] = if spec.threshold == NEG_INF {
                Value::Null
            } else {
                f32_value(spec.threshold)
            };
            config["top_k"] = spec.top_k.map_or(Value::Null, Value::from);
            config["class_id"] = spec.class_id.map_or(Value::Null, Value::from);
            if matches!(m.kind, MetricKind::Precision(_)) {
                "Precision"
            } else {
                "Recall"
            }
        }
        MetricKind::Auc(spec) => {
            config["num_thresholds"] = Value::from(spec.thresholds.len());
            config["curve"] = Value::from(match spec.curve {
                AucCurve::Roc => "ROC",
                AucCurve::Pr => "PR",
                AucCurve::PrGain => "PRGAIN",
            });
            config["summation_method"] = Value::from(match spec.summation {
                AucSummation::Interpolation => "interpolation",
                AucSummation::Minoring => "minoring",
                AucSummation::Majoring => "majoring",
            });
            config["multi_label"] = Value::from(spec.multi_label);
            config["num_labels"] = spec.num_labels.map_or(Value::Null, Value::from);
            config["label_weights"] = match &spec.label_weights {
                Some(w) => Value::from(w.iter().map(|&v| f32_value(v)).collect::<Vec<_>>()),
                None => Value::Null,
            };
            config["from_logits"] = Value::from(spec.from_logits);
            // An evenly spaced grid is fully described by its size, which
            // is how keras writes its default grid. Other grids are written
            // without the two end points, as keras writes given thresholds.
            if !spec.evenly_spaced {
                let inner = &spec.thresholds[1..spec.thresholds.len() - 1];
                config["thresholds"] =
                    Value::from(inner.iter().map(|&t| f32_value(t)).collect::<Vec<_>>());
            }
            "AUC"
        }
        MetricKind::R2Score {
            aggregation,
            num_regressors,
        } => {
            config["class_aggregation"] = Value::from(match aggregation {
                R2Aggregation::UniformAverage => "uniform_average",
                R2Aggregation::VarianceWeightedAverage => "variance_weighted_average",
            });
            config["num_regressors"] = Value::from(*num_regressors);
            "R2Score"
        }
        _ => return None,
    };
    Some(keras_object("keras.metrics", class_name, config))
}

/// Reads a metric of the classes above from its keras class name and
/// config. Returns `None` for other class names. String names ("auc",
/// "mape", ...) are left to `MetricKind::from_name`.
pub fn metric_from_config(class_name: &str, config: &Value) -> Result<Option<MetricKind>> {
    let flag = |key: &str| config.get(key).and_then(Value::as_bool).unwrap_or(false);
    let number = |key: &str| config.get(key).and_then(Value::as_f64);
    let count = |key: &str| config.get(key).and_then(Value::as_u64).map(|v| v as usize);
    let text = |key: &str, default: &'static str| {
        config
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or(default)
            .to_string()
    };
    let numbers = |key: &str| -> Option<Vec<f64>> {
        config
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_f64).collect())
    };
    let unsupported = |e: Error| Error::File(format!("a saved metric is not supported: {e}"));

    let kind = match class_name {
        "MeanAbsolutePercentageError" => MetricKind::MeanAbsolutePercentageError,
        "BinaryCrossentropy" => MetricKind::BinaryCrossentropy {
            from_logits: flag("from_logits"),
            label_smoothing: number("label_smoothing").unwrap_or(0.0) as f32,
        },
        "CategoricalCrossentropy" => MetricKind::CategoricalCrossentropy {
            from_logits: flag("from_logits"),
            label_smoothing: number("label_smoothing").unwrap_or(0.0) as f32,
        },
        "SparseCategoricalCrossentropy" => MetricKind::SparseCategoricalCrossentropy {
            from_logits: flag("from_logits"),
            ignore_class: config
                .get("ignore_class")
                .and_then(Value::as_i64)
                .map(|c| c as i32),
        },
        "Precision" | "Recall" => {
            // keras allows a list of thresholds; kerust reports one value
            // per metric, so it reads a single one.
            let threshold = match config.get("thresholds") {
                Some(Value::Array(items)) if items.len() == 1 => items[0].as_f64(),
                Some(Value::Array(items)) => {
                    return Err(unsupported(Error::InvalidArgument(format!(
                        "{class_name} has {} thresholds; kerust supports one",
                        items.len()
                    ))))
                }
                Some(other) => other.as_f64(),
                None => None,
            };
            let spec = ConfusionSpec::new(
                threshold.map(|t| t as f32),
                count("top_k"),
                count("class_id"),
            )
            .map_err(unsupported)?;
            if class_name == "Precision" {
                MetricKind::Precision(spec)
            } else {
                MetricKind::Recall(spec)
            }
        }
        "AUC" => {
            let curve = AucCurve::from_name(&text("curve", "ROC")).map_err(unsupported)?;
            let summation = AucSummation::from_name(&text("summation_method", "interpolation"))
                .map_err(unsupported)?;
            let label_weights =
                numbers("label_weights").map(|w| w.iter().map(|&v| v as f32).collect());
            let spec = AucSpec::new(
                count("num_thresholds").unwrap_or(200),
                numbers("thresholds").as_deref(),
                curve,
                summation,
                flag("multi_label"),
                count("num_labels"),
                label_weights,
                flag("from_logits"),
            )
            .map_err(unsupported)?;
            MetricKind::Auc(spec)
        }
        "R2Score" => {
            let aggregation = match config.get("class_aggregation") {
                Some(Value::Null) => {
                    return Err(unsupported(Error::InvalidArgument(
                        "R2Score without class_aggregation returns one score per output column; kerust reports one number per metric".into(),
                    )))
                }
                _ => R2Aggregation::from_name(&text("class_aggregation", "uniform_average"))
                    .map_err(unsupported)?,
            };
            MetricKind::R2Score {
                aggregation,
                num_regressors: count("num_regressors").unwrap_or(0),
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_metrics_round_trip() {
        let kinds = [
            MetricKind::MeanAbsolutePercentageError,
            MetricKind::BinaryCrossentropy {
                from_logits: true,
                label_smoothing: 0.1,
            },
            MetricKind::CategoricalCrossentropy {
                from_logits: false,
                label_smoothing: 0.2,
            },
            MetricKind::SparseCategoricalCrossentropy {
                from_logits: false,
                ignore_class: Some(2),
            },
            MetricKind::Precision(ConfusionSpec::new(Some(0.3), None, Some(1)).unwrap()),
            MetricKind::Recall(ConfusionSpec::new(None, Some(2), None).unwrap()),
            MetricKind::Auc(AucSpec::default()),
            MetricKind::Auc(
                AucSpec::new(
                    0,
                    Some(&[0.1, 0.7]),
                    AucCurve::Pr,
                    AucSummation::Majoring,
                    true,
                    Some(3),
                    Some(vec![1.0, 2.0, 0.5]),
                    true,
                )
                .unwrap(),
            ),
            MetricKind::R2Score {
                aggregation: R2Aggregation::VarianceWeightedAverage,
                num_regressors: 2,
            },
        ];
        for kind in kinds {
            let value = metric_value(&Metric::new("m", kind.clone())).expect("written here");
            let class_name = value["class_name"].as_str().unwrap();
            let read = metric_from_config(class_name, &value["config"])
                .unwrap()
                .expect("read here");
            assert_eq!(read, kind, "{class_name}");
        }
    }
}
