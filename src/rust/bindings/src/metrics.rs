//! Metrics of `compile()`: each comes from R as a kind, a name and a named
//! list of options (keras's argument names, as the `metric_*()` functions
//! take them). An option that is absent or `NULL` takes keras's default.
//! R checks the options first, so the engine's checks here are a second line.

use extendr_api::prelude::*;
use extendr_api::Result;

use engine::metrics::{
    AucCurve, AucSpec, AucSummation, ConfusionSpec, Metric, MetricKind, R2Aggregation,
};

use crate::errors::{engine_err, r_error};

/// Returns the option `key`, or `None` when it is absent or `NULL`.
fn option(params: &List, key: &str) -> Option<Robj> {
    params
        .iter()
        .find(|(n, _)| *n == key)
        .map(|(_, v)| v)
        .filter(|v| !v.is_null())
}

fn numbers(params: &List, key: &str) -> Option<Vec<f64>> {
    option(params, key).and_then(|v| {
        v.as_real_vector().or_else(|| {
            v.as_integer_vector()
                .map(|i| i.iter().map(|&x| x as f64).collect())
        })
    })
}

fn number(params: &List, key: &str) -> Option<f64> {
    numbers(params, key)
        .and_then(|v| v.first().copied())
        .filter(|v| !v.is_nan())
}

fn count(params: &List, key: &str) -> Option<usize> {
    number(params, key).map(|v| v as usize)
}

fn flag(params: &List, key: &str) -> bool {
    option(params, key)
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

fn text(params: &List, key: &str, default: &str) -> String {
    option(params, key)
        .and_then(|v| v.as_str().map(|s| s.to_string()))
        .unwrap_or_else(|| default.to_string())
}

/// Builds one metric kind from its R kind name and options.
fn metric_kind(kind: &str, params: &List) -> Result<MetricKind> {
    Ok(match kind {
        "custom" => MetricKind::External {
            index: count(params, "index").unwrap_or(0),
        },
        "auc" => {
            let label_weights =
                numbers(params, "label_weights").map(|w| w.iter().map(|&v| v as f32).collect());
            let spec = AucSpec::new(
                count(params, "num_thresholds").unwrap_or(200),
                numbers(params, "thresholds").as_deref(),
                AucCurve::from_name(&text(params, "curve", "ROC")).map_err(engine_err)?,
                AucSummation::from_name(&text(params, "summation_method", "interpolation"))
                    .map_err(engine_err)?,
                flag(params, "multi_label"),
                count(params, "num_labels"),
                label_weights,
                flag(params, "from_logits"),
            )
            .map_err(engine_err)?;
            MetricKind::Auc(spec)
        }
        "precision" | "recall" => {
            let spec = ConfusionSpec::new(
                number(params, "thresholds").map(|t| t as f32),
                count(params, "top_k"),
                count(params, "class_id"),
            )
            .map_err(engine_err)?;
            if kind == "precision" {
                MetricKind::Precision(spec)
            } else {
                MetricKind::Recall(spec)
            }
        }
        "binary_crossentropy" => MetricKind::BinaryCrossentropy {
            from_logits: flag(params, "from_logits"),
            label_smoothing: number(params, "label_smoothing").unwrap_or(0.0) as f32,
        },
        "categorical_crossentropy" => MetricKind::CategoricalCrossentropy {
            from_logits: flag(params, "from_logits"),
            label_smoothing: number(params, "label_smoothing").unwrap_or(0.0) as f32,
        },
        "sparse_categorical_crossentropy" => MetricKind::SparseCategoricalCrossentropy {
            from_logits: flag(params, "from_logits"),
            ignore_class: number(params, "ignore_class").map(|c| c as i32),
        },
        "r2_score" => MetricKind::R2Score {
            aggregation: R2Aggregation::from_name(&text(
                params,
                "class_aggregation",
                "uniform_average",
            ))
            .map_err(engine_err)?,
            num_regressors: count(params, "num_regressors").unwrap_or(0),
        },
        other => MetricKind::from_name(
            other,
            number(params, "threshold").unwrap_or(0.5) as f32,
            count(params, "k").unwrap_or(5),
        )
        .map_err(engine_err)?,
    })
}

/// Builds the metrics of `compile()`; `params[[i]]` contains the options of
/// metric `i`. `output_width` is the number of output values per sample,
/// which options such as `class_id` are checked against.
pub fn metrics_of(
    kinds: &[String],
    names: &[String],
    params: &Robj,
    output_width: usize,
) -> Result<Vec<Metric>> {
    let params: List = params.clone().try_into().map_err(|_| {
        r_error("`metric_params` must be a list with one list of options per metric")
    })?;
    if params.len() != kinds.len() || names.len() != kinds.len() {
        return Err(r_error(&format!(
            "got {} metric kinds, {} names and {} option lists; they must match",
            kinds.len(),
            names.len(),
            params.len()
        )));
    }
    let mut metrics = Vec::with_capacity(kinds.len());
    for ((kind, name), (_, options)) in kinds.iter().zip(names).zip(params.iter()) {
        let options: List = if options.is_null() {
            List::new(0)
        } else {
            options
                .try_into()
                .map_err(|_| r_error(&format!("the options of metric \"{name}\" must be a list")))?
        };
        let kind = metric_kind(kind, &options)?;
        kind.check_output(name, output_width).map_err(engine_err)?;
        let mut metric = Metric::new(name, kind);
        metric.weighted = flag(&options, "weighted");
        metrics.push(metric);
    }
    Ok(metrics)
}
