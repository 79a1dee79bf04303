# Metrics for compile(). Most are reported as keras reports them: the mean
# over the samples seen so far in the epoch of a per-sample value (rmse: the
# square root of the running mean squared error). Precision, recall, AUC and
# the R2 score are computed from running counts and sums instead. The
# engine computes them all; R checks the options and passes them on.

# A metric object: the engine's metric kind, the name shown in logs, and a
# named list of options with keras's argument names (an absent option takes
# keras's default in the engine).
new_metric <- function(kind, name, params = list()) {
  structure(list(kind = kind, name = name, params = params), class = "kerust_metric")
}

#' Metrics
#'
#' Metrics are computed during [fit()] and [evaluate()] but not optimised.
#' Pass metric objects or names to `compile(metrics = )`. The name
#' `"accuracy"` (or `"acc"`) is resolved from the loss as keras does: sparse
#' categorical crossentropy gives sparse categorical accuracy, categorical
#' crossentropy categorical accuracy, binary crossentropy binary accuracy;
#' for other losses, one output unit gives binary accuracy and more give
#' categorical accuracy. A metric given by name is reported under that
#' name (`"mape"` as `mape`); a metric object under its `name`.
#'
#' Means of a per-sample value over the samples seen in the epoch:
#'
#' * binary_accuracy: share of elements with `(y_pred > threshold) == y_true`.
#' * categorical_accuracy: the largest prediction is the one-hot target.
#' * sparse_categorical_accuracy: the largest prediction is the integer target.
#' * top_k_categorical_accuracy (and its sparse variant): the target is
#'   among the `k` largest predictions.
#' * mean_absolute_error (`"mae"`), mean_squared_error (`"mse"`),
#'   root_mean_squared_error (`"rmse"`, the square root of the mean).
#' * mean_absolute_percentage_error (`"mape"`):
#'   `100 * mean(abs(y_true - y_pred) / pmax(abs(y_true), 1e-7))`.
#' * binary_crossentropy (`"bce"`), categorical_crossentropy (one-hot
#'   targets) and sparse_categorical_crossentropy (integer targets): the
#'   loss of the same name (see [losses]), with probabilities clipped to
#'   `[1e-7, 1 - 1e-7]`. Keras on TensorFlow computes these from the logits
#'   of a sigmoid or softmax output layer, so results can differ from
#'   keras's when a predicted probability is within 1e-7 of 0 or 1.
#'
#' Computed from running totals over all values seen in the epoch:
#'
#' * precision: `TP / (TP + FP)`, and recall: `TP / (TP + FN)`, where a
#'   prediction is positive when it is above the threshold and a target is
#'   positive when it is not 0. Every output value of every sample counts,
#'   unless `class_id` picks one output column. With `top_k`, only the `k`
#'   largest predictions of each sample can be positive (ties go to the
#'   lower column).
#' * auc: the area under the ROC curve (recall against the false positive
#'   rate) or the precision-recall curve, from confusion counts at
#'   `num_thresholds` thresholds evenly spaced over `[0, 1]` (keras's
#'   approximation, not the exact rank-based AUC). For `curve = "ROC"` the
#'   `"interpolation"` method sums trapezoids; for `curve = "PR"` it
#'   interpolates true and false positives linearly between thresholds
#'   (Davis and Goadrich, 2006) as keras does. `"minoring"` and
#'   `"majoring"` sum rectangles under the lower or higher end of each
#'   segment, which bound the area from below and above. `curve = "PRGAIN"`
#'   gives the area under the precision-gain recall-gain curve.
#' * r2_score: the coefficient of determination, per output column
#'   `1 - sum((y_true - y_pred)^2) / sum((y_true - mean(y_true))^2)`,
#'   averaged over columns.
#'
#' When `fit()` or `evaluate()` get sample weights, kerust weights every
#' metric by them: each sample counts with its weight in the means, counts
#' and sums. Keras 3 weights only the metrics given as
#' `compile(weighted_metrics = )` and leaves those given as `metrics =`
#' unweighted, so weighted results differ from keras's.
#'
#' These metrics are computed by kerust's engine; only the options listed
#' here are supported. Options that make keras return one value per
#' threshold or per column (several `thresholds` for precision and recall,
#' `class_aggregation = NULL` for the R2 score) raise an error, because
#' kerust reports one number per metric.
#'
#' @param y_true,y_pred Not supported yet: metrics are computed inside
#'   `fit()` and `evaluate()` only.
#' @param threshold Predictions above it count as 1.
#' @param k Number of top predictions to look at.
#' @param num_thresholds Number of thresholds for `metric_auc()`, at least
#'   2; they are `0, 1 / (n - 1), ..., 1`, with the ends moved out by 1e-7
#'   so that predictions of exactly 0 and 1 are counted.
#' @param curve `"ROC"` (default), `"PR"` (precision-recall) or `"PRGAIN"`.
#' @param summation_method `"interpolation"` (default), `"minoring"` or
#'   `"majoring"`.
#' @param thresholds For `metric_auc()`: `NULL`, or a numeric vector of
#'   thresholds to use in place of `num_thresholds` (sorted, with -1e-7 and
#'   1 + 1e-7 added at the ends). For `metric_precision()` and
#'   `metric_recall()`: `NULL` (0.5, or no threshold with `top_k`) or one
#'   number in `[0, 1]`; predictions above it count as positive.
#' @param multi_label If `TRUE`, `metric_auc()` computes one AUC per output
#'   column and averages them; if `FALSE` (default), all output values are
#'   pooled into one curve.
#' @param num_labels `NULL`, or the number of output columns when
#'   `multi_label = TRUE` (checked against the model).
#' @param label_weights `NULL`, or one non-negative weight per output
#'   column: the weight of the column's values in the counts when
#'   `multi_label = FALSE`, its weight in the average of the per-column
#'   AUCs when `multi_label = TRUE`.
#' @param from_logits If `TRUE`, predictions are logits: `metric_auc()`
#'   applies a sigmoid first, the crossentropies use the logits formula.
#' @param top_k `NULL`, or an integer: only the `top_k` largest predictions
#'   of each sample can count as positive.
#' @param class_id `NULL`, or a 0-based output column (as in keras): only
#'   that column is counted.
#' @param label_smoothing A number in `[0, 1]`: targets are smoothed
#'   towards 0.5 (binary) or `1 / classes` (categorical) before the
#'   crossentropy is computed.
#' @param axis The class axis; only the last axis (`-1`) is supported.
#' @param ignore_class `NULL`, or an integer class label whose samples are
#'   left out: they add 0 to the total. As in keras 3, they still count as
#'   samples unless `fit()` or `evaluate()` get sample weights, in which
#'   case their weight is 0.
#' @param class_aggregation How the per-column R2 scores are combined:
#'   `"uniform_average"` (the mean) or `"variance_weighted_average"`
#'   (weighted by each column's variance).
#' @param num_regressors Number of regressors for the adjusted R2 score
#'   `1 - (1 - R2) (n - 1) / (n - num_regressors - 1)`, with `n` the number
#'   of target values; 0 (default) gives the plain score. When
#'   `num_regressors >= n - 1` the plain score is reported, as in keras.
#' @param dtype `NULL` or `"float32"`: the engine computes in single
#'   precision and sums in double precision.
#' @param ... Unused. For the functions whose first argument is `...`, as
#'   in keras3, every argument must be named and unknown names are an error.
#' @param name Name shown in logs and history.
#' @returns A metric object of class `kerust_metric`.
#' @name metrics
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |> layer_dense(3, activation = "softmax")
#' model |> compile(loss = "categorical_crossentropy", metrics = list("accuracy", metric_top_k_categorical_accuracy(k = 2)))
#'
#' # A binary classifier with AUC, precision and recall
#' set.seed(1)
#' x <- matrix(rnorm(200), ncol = 2)
#' y <- as.numeric(x[, 1] + rnorm(100, sd = 0.5) > 0)
#' model <- keras_model_sequential(input_shape = 2) |> layer_dense(1, activation = "sigmoid")
#' model |> compile(
#'   optimizer = "adam", loss = "binary_crossentropy",
#'   metrics = list(metric_auc(), metric_auc(curve = "PR", name = "pr_auc"), "precision", "recall")
#' )
#' history <- model |> fit(x, y, epochs = 2, verbose = 0)
#' evaluate(model, x, y, verbose = 0)
#'
#' # A regression model with R2 and MAPE
#' model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
#' model |> compile(loss = "mse", metrics = list(metric_r2_score(), "mape"))
#' evaluate(model, x, 2 * x[, 1] + 3, verbose = 0)
NULL

metric_object <- function(kind, name, y_true, y_pred, params = list(), call = sys.call(-1)) {
  if (!missing(y_true) || !missing(y_pred)) {
    abort("Computing a metric directly on data is not supported yet; pass the metric to compile().", call = call)
  }
  check_string(name, "name", call = call)
  new_metric(kind, name, params)
}

#' @rdname metrics
#' @export
metric_binary_accuracy <- function(y_true, y_pred, threshold = 0.5, ..., name = "binary_accuracy") {
  check_number(threshold, "threshold", lower = 0, upper = 1)
  metric_object("binary_accuracy", name, y_true, y_pred, params = list(threshold = threshold))
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
  metric_object("top_k_categorical_accuracy", name, y_true, y_pred, params = list(k = k))
}

#' @rdname metrics
#' @export
metric_sparse_top_k_categorical_accuracy <- function(y_true, y_pred, k = 5L, ..., name = "sparse_top_k_categorical_accuracy") {
  k <- check_count(k, "k", min = 1)
  metric_object("sparse_top_k_categorical_accuracy", name, y_true, y_pred, params = list(k = k))
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

#' @rdname metrics
#' @export
metric_mean_absolute_percentage_error <- function(y_true, y_pred, ..., name = "mean_absolute_percentage_error",
                                                  dtype = NULL) {
  check_metric_dtype(dtype)
  metric_object("mean_absolute_percentage_error", name, y_true, y_pred)
}

#' @rdname metrics
#' @export
metric_binary_crossentropy <- function(y_true, y_pred, from_logits = FALSE, label_smoothing = 0, axis = -1L, ...,
                                       name = "binary_crossentropy", dtype = NULL) {
  check_flag(from_logits, "from_logits")
  check_number(label_smoothing, "label_smoothing", lower = 0, upper = 1)
  check_last_axis(axis)
  check_metric_dtype(dtype)
  params <- list(from_logits = from_logits, label_smoothing = as.double(label_smoothing))
  metric_object("binary_crossentropy", name, y_true, y_pred, params = params)
}

#' @rdname metrics
#' @export
metric_categorical_crossentropy <- function(y_true, y_pred, from_logits = FALSE, label_smoothing = 0, axis = -1L, ...,
                                            name = "categorical_crossentropy", dtype = NULL) {
  check_flag(from_logits, "from_logits")
  check_number(label_smoothing, "label_smoothing", lower = 0, upper = 1)
  check_last_axis(axis)
  check_metric_dtype(dtype)
  params <- list(from_logits = from_logits, label_smoothing = as.double(label_smoothing))
  metric_object("categorical_crossentropy", name, y_true, y_pred, params = params)
}

#' @rdname metrics
#' @export
metric_sparse_categorical_crossentropy <- function(y_true, y_pred, from_logits = FALSE, ignore_class = NULL,
                                                   axis = -1L, ..., name = "sparse_categorical_crossentropy",
                                                   dtype = NULL) {
  check_flag(from_logits, "from_logits")
  if (!is.null(ignore_class)) {
    if (!is.numeric(ignore_class) || length(ignore_class) != 1 || is.na(ignore_class) ||
      ignore_class != round(ignore_class) || abs(ignore_class) > .Machine$integer.max) {
      abort(sprintf("`ignore_class` must be NULL or a single integer class label, got %s.", describe(ignore_class)))
    }
  }
  check_last_axis(axis)
  check_metric_dtype(dtype)
  params <- list(from_logits = from_logits, ignore_class = if (!is.null(ignore_class)) as.double(ignore_class))
  metric_object("sparse_categorical_crossentropy", name, y_true, y_pred, params = params)
}

#' @rdname metrics
#' @export
metric_precision <- function(..., thresholds = NULL, top_k = NULL, class_id = NULL, name = "precision", dtype = NULL) {
  check_dots_empty(list(...), "metric_precision")
  confusion_metric("precision", thresholds, top_k, class_id, name, dtype)
}

#' @rdname metrics
#' @export
metric_recall <- function(..., thresholds = NULL, top_k = NULL, class_id = NULL, name = "recall", dtype = NULL) {
  check_dots_empty(list(...), "metric_recall")
  confusion_metric("recall", thresholds, top_k, class_id, name, dtype)
}

# Checks the arguments of metric_precision() and metric_recall(); errors are
# reported against the function the user called.
confusion_metric <- function(kind, thresholds, top_k, class_id, name, dtype, call = sys.call(-1)) {
  if (!is.null(thresholds)) {
    if (is.numeric(thresholds) && length(thresholds) > 1) {
      abort(sprintf(
        "`thresholds` must be NULL or a single number; got %d thresholds. Keras returns one %s per threshold, but kerust reports one number per metric: use one metric_%s(thresholds = ) per threshold, each with its own `name`.",
        length(thresholds), kind, kind
      ), call = call)
    }
    check_number(thresholds, "thresholds", lower = 0, upper = 1, call = call)
  }
  if (!is.null(top_k)) top_k <- check_count(top_k, "top_k", min = 1, call = call)
  if (!is.null(class_id)) class_id <- check_count(class_id, "class_id", min = 0, call = call)
  check_metric_dtype(dtype, call = call)
  params <- list(
    thresholds = if (!is.null(thresholds)) as.double(thresholds),
    top_k = if (!is.null(top_k)) as.double(top_k),
    class_id = if (!is.null(class_id)) as.double(class_id)
  )
  check_string(name, "name", call = call)
  new_metric(kind, name, params)
}

#' @rdname metrics
#' @export
metric_auc <- function(..., num_thresholds = 200L, curve = "ROC", summation_method = "interpolation",
                       name = "auc", dtype = NULL, thresholds = NULL, multi_label = FALSE, num_labels = NULL,
                       label_weights = NULL, from_logits = FALSE) {
  check_dots_empty(list(...), "metric_auc")
  if (is.null(thresholds)) {
    num_thresholds <- check_count(num_thresholds, "num_thresholds", min = 2)
  } else if (!is.numeric(thresholds) || anyNA(thresholds) || !all(is.finite(thresholds))) {
    abort(sprintf("`thresholds` must be NULL or a numeric vector of finite values, got %s.", describe(thresholds)))
  }
  check_choice(curve, "curve", c("ROC", "PR", "PRGAIN", "roc", "pr", "prgain"))
  check_choice(summation_method, "summation_method", c(
    "interpolation", "minoring", "majoring", "Interpolation", "Minoring", "Majoring"
  ))
  check_flag(multi_label, "multi_label")
  if (!is.null(num_labels)) {
    num_labels <- check_count(num_labels, "num_labels", min = 1)
    if (!multi_label) {
      abort("`num_labels` is needed only when `multi_label` is TRUE; leave it NULL or set multi_label = TRUE.")
    }
  }
  if (!is.null(label_weights) &&
    (!is.numeric(label_weights) || length(label_weights) == 0 || anyNA(label_weights) ||
      !all(is.finite(label_weights)) || any(label_weights < 0))) {
    abort(sprintf("`label_weights` must be NULL or a numeric vector of finite non-negative weights, one per output column, got %s.", describe(label_weights)))
  }
  check_flag(from_logits, "from_logits")
  check_metric_dtype(dtype)
  check_string(name, "name")
  params <- list(
    num_thresholds = as.double(num_thresholds),
    curve = curve,
    summation_method = summation_method,
    thresholds = if (!is.null(thresholds)) as.double(thresholds),
    multi_label = multi_label,
    num_labels = if (!is.null(num_labels)) as.double(num_labels),
    label_weights = if (!is.null(label_weights)) as.double(label_weights),
    from_logits = from_logits
  )
  new_metric("auc", name, params)
}

#' @rdname metrics
#' @export
metric_r2_score <- function(..., class_aggregation = "uniform_average", num_regressors = 0L, name = "r2_score",
                            dtype = NULL) {
  check_dots_empty(list(...), "metric_r2_score")
  if (is.null(class_aggregation)) {
    abort("`class_aggregation = NULL` gives one R2 score per output column, and kerust reports one number per metric; use \"uniform_average\" or \"variance_weighted_average\".")
  }
  check_choice(class_aggregation, "class_aggregation", c("uniform_average", "variance_weighted_average"))
  num_regressors <- check_count(num_regressors, "num_regressors", min = 0)
  check_metric_dtype(dtype)
  check_string(name, "name")
  params <- list(class_aggregation = class_aggregation, num_regressors = as.double(num_regressors))
  new_metric("r2_score", name, params)
}

# Checks that `x` is one of the strings in `choices`.
check_choice <- function(x, arg, choices, call = sys.call(-1)) {
  if (!is.character(x) || length(x) != 1 || is.na(x) || !x %in% choices) {
    abort(sprintf(
      "`%s` must be one of %s, got %s.", arg, paste0("\"", choices, "\"", collapse = ", "), describe(x)
    ), call = call)
  }
  invisible(x)
}

# The crossentropy metrics reduce over the class axis, which kerust keeps last.
check_last_axis <- function(axis, call = sys.call(-1)) {
  if (!is.numeric(axis) || length(axis) != 1 || is.na(axis) || axis != -1) {
    abort(sprintf("`axis` must be -1 (the last axis), the only axis kerust supports, got %s.", describe(axis)), call = call)
  }
  invisible(axis)
}

check_metric_dtype <- function(dtype, call = sys.call(-1)) {
  if (!is.null(dtype) && !identical(dtype, "float32")) {
    abort(sprintf("`dtype` must be NULL or \"float32\", got %s.", describe(dtype)), call = call)
  }
  invisible(dtype)
}

metric_kinds <- c(
  binary_accuracy = "binary_accuracy", categorical_accuracy = "categorical_accuracy",
  sparse_categorical_accuracy = "sparse_categorical_accuracy",
  top_k_categorical_accuracy = "top_k_categorical_accuracy",
  sparse_top_k_categorical_accuracy = "sparse_top_k_categorical_accuracy",
  mae = "mean_absolute_error", mean_absolute_error = "mean_absolute_error",
  mse = "mean_squared_error", mean_squared_error = "mean_squared_error",
  rmse = "root_mean_squared_error", root_mean_squared_error = "root_mean_squared_error",
  mape = "mean_absolute_percentage_error", mean_absolute_percentage_error = "mean_absolute_percentage_error",
  binary_crossentropy = "binary_crossentropy", bce = "binary_crossentropy",
  categorical_crossentropy = "categorical_crossentropy",
  sparse_categorical_crossentropy = "sparse_categorical_crossentropy",
  precision = "precision", recall = "recall", auc = "auc", r2_score = "r2_score"
)

# Resolves compile()'s `metrics` to a list of metric objects; "accuracy"
# depends on the loss and the number of output units.
resolve_metrics <- function(metrics, loss, output_size, call = sys.call(-1)) {
  if (is.null(metrics)) {
    return(list())
  }
  if (inherits(metrics, "kerust_metric") || is.character(metrics) || is.function(metrics)) {
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
    if (is.function(m)) {
      # An R function of (y_true, y_pred); its name comes from the list
      # names, then from custom_metric(), then "custom_metric".
      name <- names(metrics)[i]
      if (is.null(name) || !nzchar(name)) name <- attr(m, "kerust_name") %||% "custom_metric"
      return(new_metric("custom", name, list(fn = m)))
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

#' Use an R function as a metric
#'
#' Wraps an R function of `(y_true, y_pred)` that returns one value per
#' sample, for `compile(metrics = )`. During [fit()] and [evaluate()] the
#' engine calls it after each batch with the batch's targets and
#' predictions as matrices with one row per sample (integer labels are a
#' one-column matrix), and reports the mean of its values over the samples
#' of the epoch, as keras reports metrics. A function can also be passed
#' directly, named by its list name: `metrics = list(my_error = fn)`.
#'
#' Each call goes from the engine to R and back, so a custom metric slows
#' training more than a built-in one.
#'
#' @param name Name of the metric in logs and history.
#' @param metric_fn An R function of `(y_true, y_pred)`.
#' @returns The function, marked with its name.
#' @export
#' @examples
#' max_error <- custom_metric("max_error", function(y_true, y_pred) {
#'   apply(abs(y_true - y_pred), 1, max)
#' })
#' model <- keras_model_sequential(input_shape = 2) |> layer_dense(2)
#' model |> compile(loss = "mse", metrics = list(max_error))
custom_metric <- function(name, metric_fn) {
  check_string(name, "name")
  if (!is.function(metric_fn)) {
    abort(sprintf("`metric_fn` must be a function of (y_true, y_pred), got %s.", describe(metric_fn)))
  }
  attr(metric_fn, "kerust_name") <- name
  metric_fn
}
