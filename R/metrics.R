# Metrics for compile(). A metric is reported as keras reports it: the
# mean over the samples seen so far in the epoch of a per-sample value
# (rmse: the square root of the running mean squared error).

new_metric <- function(kind, name, threshold = 0.5, k = 5L) {
  structure(list(kind = kind, name = name, threshold = threshold, k = k), class = "kerust_metric")
}

#' Metrics
#'
#' Metrics are computed during [fit()] and [evaluate()] but not optimised.
#' Pass metric objects or names to `compile(metrics = )`. The name
#' `"accuracy"` (or `"acc"`) is resolved from the loss as keras does: sparse
#' categorical crossentropy gives sparse categorical accuracy, categorical
#' crossentropy categorical accuracy, binary crossentropy binary accuracy;
#' for other losses, one output unit gives binary accuracy and more give
#' categorical accuracy.
#'
#' * binary_accuracy: share of elements with `(y_pred > threshold) == y_true`.
#' * categorical_accuracy: the largest prediction is the one-hot target.
#' * sparse_categorical_accuracy: the largest prediction is the integer target.
#' * top_k_categorical_accuracy (and its sparse variant): the target is
#'   among the `k` largest predictions.
#' * mean_absolute_error (`"mae"`), mean_squared_error (`"mse"`),
#'   root_mean_squared_error (`"rmse"`).
#'
#' @param y_true,y_pred Not supported yet: metrics are computed inside
#'   `fit()` and `evaluate()` only.
#' @param threshold Predictions above it count as 1.
#' @param k Number of top predictions to look at.
#' @param ... Unused.
#' @param name Name shown in logs and history.
#' @returns A metric object of class `kerust_metric`.
#' @name metrics
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |> layer_dense(3, activation = "softmax")
#' model |> compile(loss = "categorical_crossentropy", metrics = list("accuracy", metric_top_k_categorical_accuracy(k = 2)))
NULL

metric_object <- function(kind, name, y_true, y_pred, threshold = 0.5, k = 5L, call = sys.call(-1)) {
  if (!missing(y_true) || !missing(y_pred)) {
    abort("Computing a metric directly on data is not supported yet; pass the metric to compile().", call = call)
  }
  check_string(name, "name", call = call)
  new_metric(kind, name, threshold, k)
}

#' @rdname metrics
#' @export
metric_binary_accuracy <- function(y_true, y_pred, threshold = 0.5, ..., name = "binary_accuracy") {
  check_number(threshold, "threshold", lower = 0, upper = 1)
  metric_object("binary_accuracy", name, y_true, y_pred, threshold = threshold)
}

#' @rdname metrics
#' @export
metric_categorical_accuracy <- function(y_true, y_pred, ..., name = "categorical_accuracy") {
  metric_object("categorical_accuracy", name, y_true, y_pred)
}

#' @rdname metrics
#' @export
metric_sparse_categorical_accuracy <- function(y_true, y_pred, ..., name = "sparse_categorical_accuracy") {
  metric_object("sparse_categorical_accuracy", name, y_true, y_pred)
}

#' @rdname metrics
#' @export
metric_top_k_categorical_accuracy <- function(y_true, y_pred, k = 5L, ..., name = "top_k_categorical_accuracy") {
  k <- check_count(k, "k", min = 1)
  metric_object("top_k_categorical_accuracy", name, y_true, y_pred, k = k)
}

#' @rdname metrics
#' @export
metric_sparse_top_k_categorical_accuracy <- function(y_true, y_pred, k = 5L, ..., name = "sparse_top_k_categorical_accuracy") {
  k <- check_count(k, "k", min = 1)
  metric_object("sparse_top_k_categorical_accuracy", name, y_true, y_pred, k = k)
}

#' @rdname metrics
#' @export
metric_mean_absolute_error <- function(y_true, y_pred, ..., name = "mean_absolute_error") {
  metric_object("mean_absolute_error", name, y_true, y_pred)
}

#' @rdname metrics
#' @export
metric_mean_squared_error <- function(y_true, y_pred, ..., name = "mean_squared_error") {
  metric_object("mean_squared_error", name, y_true, y_pred)
}

#' @rdname metrics
#' @export
metric_root_mean_squared_error <- function(y_true, y_pred, ..., name = "root_mean_squared_error") {
  metric_object("root_mean_squared_error", name, y_true, y_pred)
}

metric_kinds <- c(
  binary_accuracy = "binary_accuracy", categorical_accuracy = "categorical_accuracy",
  sparse_categorical_accuracy = "sparse_categorical_accuracy",
  top_k_categorical_accuracy = "top_k_categorical_accuracy",
  sparse_top_k_categorical_accuracy = "sparse_top_k_categorical_accuracy",
  mae = "mean_absolute_error", mean_absolute_error = "mean_absolute_error",
  mse = "mean_squared_error", mean_squared_error = "mean_squared_error",
  rmse = "root_mean_squared_error", root_mean_squared_error = "root_mean_squared_error"
)

# Resolves compile()'s `metrics` to a list of metric objects; "accuracy"
# depends on the loss and the number of output units.
resolve_metrics <- function(metrics, loss, output_size, call = sys.call(-1)) {
  if (is.null(metrics)) {
    return(list())
  }
  if (inherits(metrics, "kerust_metric") || is.character(metrics)) {
    metrics <- if (is.character(metrics)) as.list(metrics) else list(metrics)
  }
  if (!is.list(metrics)) {
    abort(sprintf("`metrics` must be a character vector or a list of metrics, got %s.", describe(metrics)), call = call)
  }
  lapply(seq_along(metrics), function(i) {
    m <- metrics[[i]]
    if (inherits(m, "kerust_metric")) {
      return(m)
    }
    if (!is.character(m) || length(m) != 1 || is.na(m)) {
      abort(sprintf("`metrics[[%d]]` must be a metric name or a metric_*() object, got %s.", i, describe(m)), call = call)
    }
    if (m %in% c("accuracy", "acc")) {
      kind <- switch(loss$name,
        sparse_categorical_crossentropy = "sparse_categorical_accuracy",
        categorical_crossentropy = "categorical_accuracy",
        binary_crossentropy = "binary_accuracy",
        if (identical(output_size, 1)) "binary_accuracy" else "categorical_accuracy"
      )
      return(new_metric(kind, m))
    }
    if (!m %in% names(metric_kinds)) {
      abort(
        sprintf("Unknown metric \"%s\". Valid names are: accuracy, %s.", m, paste(names(metric_kinds), collapse = ", ")),
        call = call
      )
    }
    new_metric(metric_kinds[[m]], m)
  })
}
