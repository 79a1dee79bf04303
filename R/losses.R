# Losses. A `loss_*()` function called without data returns a loss object
# for compile(); called with `y_true` and `y_pred` it returns the loss of
# each sample, computed by the engine.

new_loss <- function(name, params = numeric()) {
  structure(list(name = name, params = params), class = "kerust_loss")
}

# Returns the loss object, or its per-sample values when data is given.
loss_or_values <- function(name, params, y_true, y_pred, call = sys.call(-1)) {
  if (missing(y_true) && missing(y_pred)) {
    return(new_loss(name, params))
  }
  if (missing(y_true) || missing(y_pred)) {
    abort("Give both `y_true` and `y_pred` to compute a loss, or neither to create a loss for compile().", call = call)
  }
  as.vector(engine_call(rs_loss(name, params, y_true, y_pred), call = call))
}

#' Loss functions
#'
#' Losses measure how far predictions are from targets; [compile()] takes a
#' loss object or its name as a string. Called with `y_true` and `y_pred`,
#' each function returns the loss of every sample (rows of `y_pred`); keras
#' reports their mean over the batch.
#'
#' Per-sample formulas, averaged over the last axis unless stated (`t`
#' target, `p` prediction, `eps = 1e-7`):
#' * mean_squared_error: `(p - t)^2`; mean_absolute_error: `|p - t|`.
#' * mean_absolute_percentage_error: `100 * |t - p| / max(|t|, eps)`.
#' * mean_squared_logarithmic_error: `(log(max(p, eps) + 1) - log(max(t,
#'   eps) + 1))^2`.
#' * huber: `0.5 * e^2` for `|e| <= delta`, else `delta * |e| - 0.5 *
#'   delta^2`, with `e = p - t`.
#' * binary_crossentropy: `-(t log(p) + (1 - t) log(1 - p))`, `p` clipped to
#'   `[eps, 1 - eps]`.
#' * categorical_crossentropy: `-sum(t * log(p))` over the classes, rows of
#'   `p` renormalised to sum to 1 and clipped; targets are one-hot rows.
#' * sparse_categorical_crossentropy: the same with integer class targets
#'   `0, ..., k - 1`, one per sample.
#'
#' With `from_logits = TRUE`, `y_pred` holds logits and the stable
#' log-sum-exp forms are used. When a model's last layer ends in softmax
#' (sigmoid) and the loss is categorical (binary) crossentropy, training
#' uses the logits in the same stable way, as Keras 3 does.
#' `label_smoothing` replaces targets by `t * (1 - s) + s / k` (`k` classes;
#' binary: `t * (1 - s) + s / 2`).
#'
#' @param y_true,y_pred Targets and predictions, with samples in rows; omit
#'   both to create a loss object.
#' @param from_logits Whether `y_pred` holds logits instead of probabilities.
#' @param label_smoothing Amount of label smoothing, in `[0, 1]`.
#' @param axis Only the last axis (`-1`) is supported.
#' @param delta Threshold of the Huber loss between its quadratic and linear parts.
#' @param ignore_class Not supported yet; must be `NULL`.
#' @param reduction Only `"sum_over_batch_size"` (the mean over the batch) is supported.
#' @param ... Unused.
#' @param name Name of the loss.
#' @returns A loss object of class `kerust_loss`, or a numeric vector with
#'   one value per sample.
#' @name losses
#' @examples
#' loss_mean_squared_error(matrix(c(0, 1), 1), matrix(c(1, 1), 1))
#' loss_sparse_categorical_crossentropy(0, matrix(c(0.9, 0.1), 1))
NULL

check_reduction <- function(reduction, call = sys.call(-1)) {
  if (!identical(reduction, "sum_over_batch_size")) {
    abort(sprintf("`reduction` must be \"sum_over_batch_size\" (the only reduction supported yet), got %s.", describe(reduction)), call = call)
  }
}

check_axis <- function(axis, call = sys.call(-1)) {
  if (!identical(as.integer(axis), -1L)) {
    abort(sprintf("`axis` must be -1 (the last axis), got %s.", describe(axis)), call = call)
  }
}

#' @rdname losses
#' @export
loss_mean_squared_error <- function(y_true, y_pred, ..., reduction = "sum_over_batch_size", name = "mean_squared_error") {
  check_reduction(reduction)
  loss_or_values("mean_squared_error", numeric(), y_true, y_pred)
}

#' @rdname losses
#' @export
loss_mean_absolute_error <- function(y_true, y_pred, ..., reduction = "sum_over_batch_size", name = "mean_absolute_error") {
  check_reduction(reduction)
  loss_or_values("mean_absolute_error", numeric(), y_true, y_pred)
}

#' @rdname losses
#' @export
loss_mean_absolute_percentage_error <- function(y_true, y_pred, ..., reduction = "sum_over_batch_size",
                                                name = "mean_absolute_percentage_error") {
  check_reduction(reduction)
  loss_or_values("mean_absolute_percentage_error", numeric(), y_true, y_pred)
}

#' @rdname losses
#' @export
loss_mean_squared_logarithmic_error <- function(y_true, y_pred, ..., reduction = "sum_over_batch_size",
                                                name = "mean_squared_logarithmic_error") {
  check_reduction(reduction)
  loss_or_values("mean_squared_logarithmic_error", numeric(), y_true, y_pred)
}

#' @rdname losses
#' @export
loss_huber <- function(y_true, y_pred, delta = 1, ..., reduction = "sum_over_batch_size", name = "huber_loss") {
  check_number(delta, "delta", lower = 0, lower_open = TRUE)
  check_reduction(reduction)
  loss_or_values("huber", c(delta = delta), y_true, y_pred)
}

#' @rdname losses
#' @export
loss_binary_crossentropy <- function(y_true, y_pred, from_logits = FALSE, label_smoothing = 0,
                                     axis = -1L, ..., reduction = "sum_over_batch_size",
                                     name = "binary_crossentropy") {
  check_flag(from_logits, "from_logits")
  check_number(label_smoothing, "label_smoothing", lower = 0, upper = 1)
  check_axis(axis)
  check_reduction(reduction)
  loss_or_values("binary_crossentropy", c(from_logits = as.numeric(from_logits), label_smoothing = label_smoothing), y_true, y_pred)
}

#' @rdname losses
#' @export
loss_categorical_crossentropy <- function(y_true, y_pred, from_logits = FALSE, label_smoothing = 0,
                                          axis = -1L, ..., reduction = "sum_over_batch_size",
                                          name = "categorical_crossentropy") {
  check_flag(from_logits, "from_logits")
  check_number(label_smoothing, "label_smoothing", lower = 0, upper = 1)
  check_axis(axis)
  check_reduction(reduction)
  loss_or_values("categorical_crossentropy", c(from_logits = as.numeric(from_logits), label_smoothing = label_smoothing), y_true, y_pred)
}

#' @rdname losses
#' @export
loss_sparse_categorical_crossentropy <- function(y_true, y_pred, from_logits = FALSE, ignore_class = NULL,
                                                 axis = -1L, ..., reduction = "sum_over_batch_size",
                                                 name = "sparse_categorical_crossentropy") {
  check_flag(from_logits, "from_logits")
  if (!is.null(ignore_class)) abort("`ignore_class` is not supported yet; leave it NULL.")
  check_axis(axis)
  check_reduction(reduction)
  loss_or_values("sparse_categorical_crossentropy", c(from_logits = as.numeric(from_logits)), y_true, y_pred)
}

loss_aliases <- c(
  mean_squared_error = "mean_squared_error", mse = "mean_squared_error",
  mean_absolute_error = "mean_absolute_error", mae = "mean_absolute_error",
  mean_absolute_percentage_error = "mean_absolute_percentage_error", mape = "mean_absolute_percentage_error",
  mean_squared_logarithmic_error = "mean_squared_logarithmic_error", msle = "mean_squared_logarithmic_error",
  huber = "huber", huber_loss = "huber",
  binary_crossentropy = "binary_crossentropy",
  categorical_crossentropy = "categorical_crossentropy",
  sparse_categorical_crossentropy = "sparse_categorical_crossentropy"
)

resolve_loss <- function(loss, call = sys.call(-1)) {
  if (inherits(loss, "kerust_loss")) {
    return(loss)
  }
  if (is.function(loss)) {
    fns <- list(
      mean_squared_error = loss_mean_squared_error, mean_absolute_error = loss_mean_absolute_error,
      mean_absolute_percentage_error = loss_mean_absolute_percentage_error,
      mean_squared_logarithmic_error = loss_mean_squared_logarithmic_error, huber = loss_huber,
      binary_crossentropy = loss_binary_crossentropy, categorical_crossentropy = loss_categorical_crossentropy,
      sparse_categorical_crossentropy = loss_sparse_categorical_crossentropy
    )
    for (name in names(fns)) if (identical(loss, fns[[name]])) return(new_loss(name))
    abort("`loss` must be a loss name or a loss_*() object; custom R loss functions cannot run inside the engine yet.", call = call)
  }
  if (!is.character(loss) || length(loss) != 1 || is.na(loss)) {
    abort(sprintf("`loss` must be a loss name or a loss_*() object, got %s.", describe(loss)), call = call)
  }
  if (!loss %in% names(loss_aliases)) {
    abort(sprintf("Unknown loss \"%s\". Valid names are: %s.", loss, paste(names(loss_aliases), collapse = ", ")), call = call)
  }
  new_loss(loss_aliases[[loss]])
}

#' @export
print.kerust_loss <- function(x, ...) {
  cat(sprintf("<loss %s>\n", x$name))
  invisible(x)
}
