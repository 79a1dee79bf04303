# compile(), fit(), evaluate() and predict() for kerust models. Arguments
# are checked here, before the engine or the model changes; the training
# loop itself runs in the engine.

#' Configure a model for training
#'
#' Sets the optimizer, the loss and the metrics. Compiling again replaces
#' them and resets the optimizer's state (its moments and step count).
#'
#' @param object A model.
#' @param optimizer An optimizer name (`"rmsprop"`, the default as in keras,
#'   `"adam"`, `"sgd"`, `"adagrad"`) or an `optimizer_*()` object
#'   (see [optimizers]).
#' @param loss A loss name or `loss_*()` object (see [losses]).
#' @param metrics A character vector or list of metric names and
#'   `metric_*()` objects (see [metrics]), or `NULL`.
#' @param ... Unused.
#' @param weighted_metrics Like `metrics`, but weighted by `sample_weight`
#'   and `class_weight` in [fit()] and [evaluate()]; as in keras, `metrics`
#'   ignore sample weights. A weighted metric whose name is also in
#'   `metrics` is reported as `weighted_<name>`.
#' @param loss_weights Not supported yet; must be `NULL`.
#' @param run_eagerly,steps_per_execution,jit_compile,auto_scale_loss
#'   Accepted for compatibility with keras and ignored: the engine always
#'   runs compiled code, one step at a time.
#' @returns The model, invisibly (it is changed in place).
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |>
#'   layer_dense(3, activation = "softmax")
#' model |> compile(
#'   optimizer = "adam",
#'   loss = "sparse_categorical_crossentropy",
#'   metrics = "accuracy"
#' )
compile.kerust_model <- function(object, optimizer = "rmsprop", loss = NULL, metrics = NULL, ...,
                                 loss_weights = NULL, weighted_metrics = NULL, run_eagerly = FALSE,
                                 steps_per_execution = 1L, jit_compile = "auto", auto_scale_loss = TRUE) {
  check_model(object)
  check_dots_empty(list(...), "compile")
  if (is.null(loss)) {
    abort("`loss` is required: give a loss name such as \"sparse_categorical_crossentropy\" or a loss_*() object.")
  }
  if (!is.null(loss_weights)) abort("`loss_weights` is not supported yet; leave it NULL.")

  optimizer <- resolve_optimizer(optimizer)
  loss <- resolve_loss(loss)
  resolve_metrics(metrics, loss, NA)
  resolve_metrics(weighted_metrics, loss, NA)
  config <- list(optimizer = optimizer, loss = loss, metrics = metrics, weighted_metrics = weighted_metrics)
  if (is_built(object)) apply_compile(object, config)
  object$compiled <- config
  invisible(object)
}

# Sends a compile configuration to the engine model.
apply_compile <- function(model, config, call = sys.call(-1)) {
  output_size <- engine_call(rs_output_size(model$ptr), call = call)
  metrics <- resolve_metrics(config$metrics, config$loss, output_size, call = call)
  weighted <- resolve_metrics(config$weighted_metrics, config$loss, output_size, call = call)
  # keras names a weighted metric "weighted_<name>" when `metrics` has the same name.
  plain_names <- vapply(metrics, function(m) m$name, "")
  weighted <- lapply(weighted, function(m) {
    if (m$name %in% plain_names) m$name <- paste0("weighted_", m$name)
    m$params <- c(m$params, list(weighted = TRUE))
    m
  })
  metrics <- c(metrics, weighted)
  # Custom R metrics are numbered in order; the engine asks R for their
  # values through the functions kept in the model.
  custom <- list()
  for (i in seq_along(metrics)) {
    if (metrics[[i]]$kind != "custom") next
    custom[[length(custom) + 1]] <- wrap_custom_metric(metrics[[i]]$params$fn, metrics[[i]]$name)
    weighted_flag <- metrics[[i]]$params$weighted
    metrics[[i]]$params <- list(index = length(custom) - 1, weighted = isTRUE(weighted_flag))
  }
  model$custom_metric_fns <- custom
  kinds <- vapply(metrics, function(m) m$kind, "")
  names <- vapply(metrics, function(m) m$name, "")
  if (anyDuplicated(names)) {
    abort(sprintf("Metric names must be unique, got %s.", paste(names, collapse = ", ")), call = call)
  }
  params <- lapply(metrics, function(m) m$params)
  opt <- config$optimizer
  schedule <- if (inherits(opt$learning_rate, "kerust_schedule")) unclass(opt$learning_rate) else NULL
  learning_rate <- if (is.null(schedule)) opt$learning_rate else schedule$initial_learning_rate %||% 0
  engine_call(rs_compile(
    model$ptr, opt$name, as.double(learning_rate), opt$params,
    config$loss$name, config$loss$params, kinds, names, params, schedule
  ), call = call)
  model$engine_compiled <- TRUE
  refresh_snapshot(model, call = call)
  invisible(model)
}

# Resolves keras's verbose = "auto": 0 under testthat, 2 in knitr or a
# non-interactive session, 1 otherwise.
resolve_verbose <- function(verbose, call = sys.call(-1)) {
  if (identical(verbose, "auto")) {
    if (identical(Sys.getenv("TESTTHAT"), "true")) {
      return(0L)
    }
    if (isTRUE(getOption("knitr.in.progress")) || !interactive()) {
      return(2L)
    }
    return(1L)
  }
  if (!is.numeric(verbose) || length(verbose) != 1 || is.na(verbose) || !verbose %in% 0:2) {
    abort(sprintf("`verbose` must be \"auto\", 0, 1 or 2, got %s.", describe(verbose)), call = call)
  }
  as.integer(verbose)
}

# Checks x and gives it a sample axis; a plain vector is one value per
# sample for input_shape = 1 models.
prepare_x <- function(x, model, arg = "x", call = sys.call(-1)) {
  if (is.null(x)) {
    abort(sprintf("`%s` is missing: give the input data as a matrix or array with samples in rows.", arg), call = call)
  }
  if (is.data.frame(x)) {
    bad <- names(x)[!vapply(x, function(col) is.numeric(col) || is.logical(col), TRUE)]
    if (length(bad)) {
      abort(sprintf(
        "`%s` is a data frame with non-numeric column%s %s; convert %s to numbers first (e.g. one-hot encode factors).",
        arg, if (length(bad) > 1) "s" else "", paste0("`", bad, "`", collapse = ", "), if (length(bad) > 1) "them" else "it"
      ), call = call)
    }
    x <- as.matrix(x)
  }
  if (!(is.numeric(x) || is.logical(x)) || is.list(x)) {
    abort(sprintf("`%s` must be a numeric matrix or array, got %s.", arg, describe(x)), call = call)
  }
  if (is.null(dim(x)) && is_built(model) && length(model$input_shape) == 1 && model$input_shape > 1) {
    abort(sprintf(
      "`%s` is a vector of length %d, but the model expects samples of %d values; give a matrix with one sample per row.",
      arg, length(x), as.integer(model$input_shape)
    ), call = call)
  }
  if (length(x) == 0 || (!is.null(dim(x)) && dim(x)[1] == 0)) {
    abort(sprintf("`%s` is empty: it has no samples.", arg), call = call)
  }
  if (is.null(dim(x))) {
    dim(x) <- c(length(x), 1L)
  }
  if (!is_built(model)) ensure_built(model, x, call = call)
  shape <- as.integer(model$input_shape)
  sample <- dim(x)[-1]
  if (!identical(as.integer(sample), shape)) {
    hint <- ""
    if (prod(sample) == prod(shape)) {
      hint <- sprintf(" Reshape it with array_reshape(%s, c(nrow(%s), %s)).", arg, arg, paste(shape, collapse = ", "))
    } else if (length(sample) + 1 == length(shape) && shape[length(shape)] == 1) {
      hint <- sprintf(" Add the channel axis with array_reshape(%s, c(dim(%s), 1)).", arg, arg)
    }
    abort(sprintf(
      "`%s` has samples of shape (%s) (dim(%s) = c(%s)) but the model expects input_shape = c(%s).%s",
      arg, paste(sample, collapse = ", "), arg, paste(dim(x), collapse = ", "), paste(shape, collapse = ", "), hint
    ), call = call)
  }
  x
}

# Checks y against the loss and output layer, converting factors to
# 0-based integer labels as keras3 does.
prepare_y <- function(y, n, model, arg = "y", x_arg = "x", call = sys.call(-1)) {
  if (is.null(y)) {
    abort(sprintf("`%s` is missing: give the targets for each sample.", arg), call = call)
  }
  if (is.factor(y)) y <- as.integer(y) - 1L
  if (is.data.frame(y)) y <- as.matrix(y)
  if (!(is.numeric(y) || is.logical(y)) || is.list(y)) {
    abort(sprintf("`%s` must be a numeric vector, matrix or array, got %s.", arg, describe(y)), call = call)
  }
  if (NROW(y) != n) {
    abort(sprintf("`%s` has %d samples but `%s` has %d; they must have one target per sample.", arg, NROW(y), x_arg, n), call = call)
  }
  loss <- model$compiled$loss$name
  units <- engine_call(rs_output_size(model$ptr), call = call)
  width <- if (is.null(dim(y))) 1 else prod(dim(y)[-1])
  if (loss == "sparse_categorical_crossentropy") {
    if (width != 1) {
      abort(sprintf(
        "`%s` has %d values per sample, like one-hot targets, but the loss \"sparse_categorical_crossentropy\" needs one integer class label per sample. Use loss = \"categorical_crossentropy\" with one-hot targets, or pass labels such as max.col(%s) - 1.",
        arg, as.integer(width), arg
      ), call = call)
    }
    bad <- which(!is.na(y) & (y < 0 | y >= units | y != round(y)))
    if (length(bad)) {
      abort(sprintf(
        "`%s` must hold integer class labels from 0 to %d (the output layer has %d units), got %s at position %d.",
        arg, as.integer(units - 1), as.integer(units), format(y[bad[1]]), bad[1]
      ), call = call)
    }
    check_metric_targets(model, 1, units, arg, call = call)
    return(as.double(y))
  }
  if (loss == "categorical_crossentropy" && width == 1 && units > 1) {
    abort(sprintf(
      "`%s` holds one value per sample, like integer class labels, but the loss \"categorical_crossentropy\" needs one-hot rows of %d values. Use loss = \"sparse_categorical_crossentropy\", or convert with to_categorical(%s, %d).",
      arg, as.integer(units), arg, as.integer(units)
    ), call = call)
  }
  if (width != units) {
    abort(sprintf(
      "`%s` has %d values per sample but the model outputs %d; the loss \"%s\" needs targets of the output's shape.",
      arg, as.integer(width), as.integer(units), loss
    ), call = call)
  }
  check_metric_targets(model, width, units, arg, call = call)
  if (is.null(dim(y))) dim(y) <- c(length(y), 1L)
  y
}

# Rejects metrics whose target format does not match `y`: categorical
# metrics need one-hot rows, sparse ones integer labels.
check_metric_targets <- function(model, width, units, arg, call = sys.call(-1)) {
  metrics <- resolve_metrics(model$compiled$metrics, model$compiled$loss, units, call = call)
  for (m in metrics) {
    needs_onehot <- m$kind %in% c("categorical_accuracy", "top_k_categorical_accuracy")
    needs_labels <- m$kind %in% c(
      "sparse_categorical_accuracy", "sparse_top_k_categorical_accuracy", "sparse_categorical_crossentropy"
    )
    needs_output_shape <- m$kind %in% c(
      "auc", "precision", "recall", "binary_crossentropy", "categorical_crossentropy",
      "mean_absolute_percentage_error", "r2_score"
    )
    if (needs_output_shape && width != units) {
      abort(sprintf(
        "The metric \"%s\" needs targets with the output's %d values per sample, but `%s` has %d. With integer class labels, use one-hot targets from to_categorical().",
        m$name, as.integer(units), arg, as.integer(width)
      ), call = call)
    }
    if (needs_onehot && width == 1 && units > 1) {
      abort(sprintf(
        "The metric \"%s\" needs one-hot targets, but `%s` holds one class label per sample. Use metric \"sparse_%s\" (or \"accuracy\"), or one-hot targets from to_categorical().",
        m$name, arg, m$kind
      ), call = call)
    }
    if (needs_labels && width != 1) {
      abort(sprintf(
        "The metric \"%s\" needs integer class labels, but `%s` has %d values per sample. Use metric \"%s\" (or \"accuracy\").",
        m$name, arg, as.integer(width), sub("^sparse_", "", m$kind)
      ), call = call)
    }
  }
}

# Makes sure the model is built and compiled before fit() or evaluate().
prepare_training <- function(object, x, what, call = sys.call(-1)) {
  check_model(object, call = call)
  if (is.null(object$compiled)) {
    abort(sprintf(
      "The model must be compiled before %s(): call compile(model, optimizer = \"adam\", loss = ...) first.", what
    ), call = call)
  }
  x <- prepare_x(x, object, call = call)
  if (!isTRUE(object$engine_compiled)) apply_compile(object, object$compiled, call = call)
  x
}

#' Train a model
#'
#' Trains the model for a number of epochs (passes over the data), in the
#' engine. Each epoch shuffles the samples (when `shuffle = TRUE`), takes
#' them in batches of `batch_size` (the last batch may be smaller) and takes
#' one optimizer step per batch. Training is reproducible bit for bit:
#' shuffling and dropout masks come from a generator seeded by the model's
#' seed (drawn from R's generator when the model is created, so `set.seed()`
#' before building the model fixes it) and the number of steps taken so far.
#' Two calls of `fit(epochs = 1)` therefore shuffle differently, and
#' resuming with `initial_epoch` repeats the epochs of an uninterrupted run.
#'
#' Progress is printed as keras prints it: `verbose = 1` shows a progress
#' bar, `2` one line per epoch, `0` nothing; `"auto"` means 1 in an
#' interactive session, 2 in knitr and scripts, and 0 under testthat.
#' Pressing Ctrl-C (Esc in RStudio) stops training after the current step;
#' the model keeps the weights of the last completed step and `fit()`
#' returns the history of the completed epochs.
#'
#' @param object A compiled model.
#' @param x Input data: a matrix or array with samples in the first
#'   dimension, or a data frame of numeric columns.
#' @param y Targets: integer class labels (0-based) for sparse losses, a
#'   factor (converted with `as.integer(y) - 1`), or a matrix/array with one
#'   row per sample.
#' @param ... Unused.
#' @param batch_size Samples per step; `NULL` means 32.
#' @param epochs Number of the last epoch to train.
#' @param callbacks A list of callbacks (`callback_*()` objects), run at the
#'   points keras defines; see [callback_early_stopping()] and
#'   [callback_lambda()].
#' @param validation_split Fraction in `[0, 1)` of the samples to hold out
#'   for validation; taken from the last rows of `x` and `y` before
#'   shuffling, as in keras.
#' @param validation_data A list `list(x_val, y_val)` or `list(x_val,
#'   y_val, sample_weight_val)` to validate on after each epoch; overrides
#'   `validation_split`.
#' @param shuffle Whether to shuffle the training samples before each epoch.
#' @param class_weight `NULL`, or a named list or named numeric vector
#'   mapping class labels (0-based, as names) to weights; each sample's loss
#'   is multiplied by the weight of its class.
#' @param sample_weight `NULL`, or a non-negative weight per sample. The loss
#'   of a batch is `sum(w * loss) / batch_size`, as in keras; only
#'   `weighted_metrics` of [compile()] use the weights. With `class_weight`,
#'   the two multiply.
#' @param steps_per_epoch,validation_steps Not supported yet; must be `NULL`.
#' @param initial_epoch Epoch to start from (1-based), to resume training.
#' @param validation_batch_size Batch size for validation; `NULL` means
#'   `batch_size`.
#' @param validation_freq Only 1 (validate after every epoch) is supported.
#' @param verbose `"auto"`, 0, 1 or 2 (see Details).
#' @param view_metrics Ignored; use `plot()` on the returned history.
#' @returns A `kerust_history` object with the loss and metrics per epoch,
#'   with `print()`, `plot()` and `as.data.frame()` methods.
#' @export
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(200), ncol = 2)
#' y <- as.integer(x[, 1] + x[, 2] > 0)
#' model <- keras_model_sequential(input_shape = 2) |>
#'   layer_dense(8, activation = "relu") |>
#'   layer_dense(1, activation = "sigmoid")
#' model |> compile(optimizer = "adam", loss = "binary_crossentropy", metrics = "accuracy")
#' history <- model |> fit(x, y, epochs = 5, batch_size = 16, verbose = 0)
#' history
fit.kerust_model <- function(object, x = NULL, y = NULL, ..., batch_size = NULL, epochs = 1L,
                             callbacks = NULL, validation_split = 0, validation_data = NULL,
                             shuffle = TRUE, class_weight = NULL, sample_weight = NULL,
                             initial_epoch = 1L, steps_per_epoch = NULL, validation_steps = NULL,
                             validation_batch_size = NULL, validation_freq = 1L,
                             verbose = getOption("keras.verbose", default = "auto"),
                             view_metrics = getOption("keras.view_metrics", default = "auto")) {
  dots <- list(...)
  check_dots_empty(dots, "fit", allowed = ".interrupt_after")
  interrupt_after <- if (is.null(dots$.interrupt_after)) -1 else dots$.interrupt_after
  # Training changes the engine model even when it stops early or fails.
  on.exit(refresh_snapshot(object), add = TRUE)
  x <- prepare_training(object, x, "fit")
  y <- prepare_y(y, dim(x)[1], object)
  batch_size <- if (is.null(batch_size)) 32L else check_count(batch_size, "batch_size", min = 1)
  epochs <- check_count(epochs, "epochs", min = 0)
  initial_epoch <- check_count(initial_epoch, "initial_epoch", min = 1)
  check_number(validation_split, "validation_split", lower = 0, upper = 1, upper_open = TRUE)
  check_flag(shuffle, "shuffle")
  verbose <- resolve_verbose(verbose)
  callbacks <- check_callbacks(callbacks)
  for (arg in c("steps_per_epoch", "validation_steps")) {
    if (!is.null(get(arg))) abort(sprintf("`%s` is not supported yet; leave it NULL.", arg))
  }
  weights <- prepare_sample_weight(sample_weight, class_weight, y, object)
  if (!identical(as.integer(validation_freq), 1L)) abort("`validation_freq` must be 1 (validation after every epoch).")
  if (!is.null(validation_batch_size)) validation_batch_size <- check_count(validation_batch_size, "validation_batch_size", min = 1)
  val_x <- NULL
  val_y <- NULL
  val_weight <- NULL
  if (!is.null(validation_data)) {
    if (is.data.frame(validation_data) || !is.list(validation_data) || length(validation_data) < 2) {
      abort(sprintf("`validation_data` must be a list(x_val, y_val), got %s.", describe(validation_data)))
    }
    if (length(validation_data) > 3) {
      abort(sprintf("`validation_data` must be list(x_val, y_val) or list(x_val, y_val, sample_weight_val), got a list of length %d.", length(validation_data)))
    }
    val_x <- prepare_x(validation_data[[1]], object, arg = "validation_data[[1]]")
    val_y <- prepare_y(validation_data[[2]], dim(val_x)[1], object, arg = "validation_data[[2]]", x_arg = "validation_data[[1]]")
    if (length(validation_data) == 3) {
      val_weight <- check_sample_weight(validation_data[[3]], dim(val_x)[1], "validation_data[[3]]")
    }
    validation_split <- 0
  } else if (validation_split > 0) {
    n_train <- floor(dim(x)[1] * (1 - validation_split))
    if (n_train == 0 || n_train == dim(x)[1]) {
      abort(sprintf(
        "`validation_split = %s` leaves no samples for %s out of %d.",
        format(validation_split), if (n_train == 0) "training" else "validation", dim(x)[1]
      ))
    }
  }
  builtins <- lapply(Filter(function(cb) !is.null(cb$builtin), callbacks), function(cb) cb$builtin)
  object$stop_training <- FALSE
  dispatcher <- make_dispatcher(object, callbacks)
  changes_lr <- any(vapply(callbacks, function(cb) isTRUE(cb$changes_learning_rate), TRUE))
  result <- engine_call(rs_fit(
    object$ptr, x, y, weights, val_x, val_y, val_weight, batch_size, epochs, initial_epoch - 1, shuffle,
    validation_split, verbose, isTRUE(l10n_info()$`UTF-8`), interrupt_after,
    builtins, dispatcher, as.double(callback_event_flags(callbacks)), changes_lr,
    object$custom_metric_fns %||% list()
  ))
  metrics <- stats::setNames(lapply(result$values, as.numeric), result$names)
  n_train <- if (validation_split > 0) floor(dim(x)[1] * (1 - validation_split)) else dim(x)[1]
  history <- new_history(
    epochs = result$epochs,
    metrics = metrics,
    params = list(epochs = epochs, steps = ceiling(n_train / batch_size), verbose = verbose, batch_size = batch_size)
  )
  # Wall time of each epoch, for benchmarks; keras has no such field.
  attr(history, "epoch_seconds") <- as.numeric(result$seconds)
  if (length(result$non_finite) == 3) {
    at <- result$non_finite
    if (any(vapply(callbacks, function(cb) cb$kind == "terminate_on_nan", TRUE))) {
      cat(sprintf("Batch %d: Invalid loss, terminating training\n", as.integer(at[2] - 1)))
    } else {
      warning(kerust_warning(sprintf(
        "Training stopped: the loss became %s at epoch %d, batch %d. The model keeps the weights from before that batch. Lower the learning rate or check the data for extreme values.",
        format(at[3]), as.integer(at[1]), as.integer(at[2])
      ), call = sys.call()))
    }
  }
  if (isTRUE(result$interrupted)) {
    message(sprintf(
      "Training interrupted by the user after %d completed epoch%s and %d step%s of the next; the model keeps the weights of the last completed step.",
      length(result$epochs), if (length(result$epochs) == 1) "" else "s",
      result$interrupted_at_step, if (result$interrupted_at_step == 1) "" else "s"
    ))
  }
  invisible(history)
}

#' Evaluate a model
#'
#' Computes the loss and the compiled metrics on data, in inference mode
#' (dropout off), in batches of `batch_size`.
#'
#' @param object A compiled model.
#' @param x,y Input data and targets, as for [fit()].
#' @param ... Unused.
#' @param batch_size Samples per batch; `NULL` means 32.
#' @param verbose `"auto"`, 0, 1 or 2; above 0 prints the results on one line.
#' @param sample_weight `NULL`, or a non-negative weight per sample (see [fit()]).
#' @param steps,callbacks Not supported yet; must be `NULL`.
#' @returns A named list of numbers: `loss` and one entry per metric.
#' @export
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(40), ncol = 2)
#' y <- x[, 1] - x[, 2]
#' model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
#' model |> compile(loss = "mse", metrics = "mae")
#' evaluate(model, x, y)
evaluate <- function(object, ...) UseMethod("evaluate")

#' @rdname evaluate
#' @export
evaluate.kerust_model <- function(object, x = NULL, y = NULL, ..., batch_size = NULL, verbose = "auto",
                                  sample_weight = NULL, steps = NULL, callbacks = NULL) {
  check_dots_empty(list(...), "evaluate")
  x <- prepare_training(object, x, "evaluate")
  y <- prepare_y(y, dim(x)[1], object)
  batch_size <- if (is.null(batch_size)) 32L else check_count(batch_size, "batch_size", min = 1)
  verbose <- resolve_verbose(verbose)
  if (!is.null(steps) || !is.null(callbacks)) {
    abort("`steps` and `callbacks` are not supported yet; leave them NULL.")
  }
  weights <- if (is.null(sample_weight)) NULL else check_sample_weight(sample_weight, dim(x)[1], "sample_weight")
  values <- engine_call(rs_evaluate(object$ptr, x, y, weights, batch_size, object$custom_metric_fns %||% list()))
  if (verbose > 0) {
    steps_done <- ceiling(dim(x)[1] / batch_size)
    cat(sprintf("%d/%d - %s\n", steps_done, steps_done, paste(
      names(values), vapply(values, format_metric, ""), sep = ": ", collapse = " - "
    )))
  }
  # keras lists the loss first; the engine returns the names sorted.
  values <- values[c("loss", setdiff(names(values), "loss"))]
  as.list(values)
}

format_metric <- function(v) if (abs(v) > 1e-3 || v == 0) sprintf("%.4f", v) else sprintf("%.4e", v)

#' Predict with a model
#'
#' Computes the model output for new data, in inference mode (dropout off).
#'
#' @param object A model.
#' @param x Input data with samples in the first dimension. For a model
#'   whose `input_shape` is a single length `n > 1`, a plain vector of
#'   length `n` is taken as one sample.
#' @param ... Unused.
#' @param batch_size Samples per batch; `NULL` means 32.
#' @param verbose Accepted for compatibility with keras; prediction prints
#'   nothing.
#' @param steps,callbacks Not supported yet; must be `NULL`.
#' @returns A matrix (or array) with one row per sample and the model's
#'   output shape in the other dimensions, e.g. `n x 10` for ten units.
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 3) |>
#'   layer_dense(2, activation = "softmax")
#' predict(model, matrix(runif(6), nrow = 2))
predict.kerust_model <- function(object, x, ..., batch_size = NULL, verbose = "auto", steps = NULL, callbacks = NULL) {
  check_model(object)
  if (...length()) check_dots_empty(list(...), "predict")
  if (!is.null(steps) || !is.null(callbacks)) abort("`steps` and `callbacks` are not supported yet; leave them NULL.")
  if (is.null(dim(x)) && is.numeric(x) && is_built(object) &&
    length(object$input_shape) == 1 && object$input_shape > 1 && length(x) == object$input_shape) {
    dim(x) <- c(1L, length(x))
  }
  x <- prepare_x(x, object)
  batch_size <- if (is.null(batch_size)) 32L else check_count(batch_size, "batch_size", min = 1)
  engine_call(rs_predict(object$ptr, x, batch_size))
}

# Checks per-sample weights: non-negative finite numbers, one per sample.
check_sample_weight <- function(w, n, arg, call = sys.call(-1)) {
  if (!is.numeric(w) || !is.null(dim(w)) && length(dim(w)) > 1 && dim(w)[2] != 1) {
    abort(sprintf("`%s` must be a numeric vector with one weight per sample, got %s.", arg, describe(w)), call = call)
  }
  if (length(w) != n) {
    abort(sprintf("`%s` has %d weights but there are %d samples.", arg, length(w), n), call = call)
  }
  bad <- which(is.na(w) | !is.finite(w) | w < 0)
  if (length(bad)) {
    abort(sprintf("`%s` must be finite and non-negative, got %s at position %d.", arg, format(w[bad[1]]), bad[1]), call = call)
  }
  as.double(w)
}

# Combines `sample_weight` and `class_weight` into one weight per sample,
# or NULL when neither is given.
prepare_sample_weight <- function(sample_weight, class_weight, y, model, call = sys.call(-1)) {
  n <- NROW(y)
  weights <- if (is.null(sample_weight)) NULL else check_sample_weight(sample_weight, n, "sample_weight", call = call)
  if (is.null(class_weight)) {
    return(weights)
  }
  if (is.list(class_weight)) class_weight <- unlist(class_weight)
  if (!is.numeric(class_weight) || is.null(names(class_weight)) || anyNA(class_weight) || any(class_weight < 0)) {
    abort(sprintf(
      "`class_weight` must be a named list or named numeric vector of non-negative weights, named by class label (e.g. list(\"0\" = 1, \"1\" = 5)), got %s.",
      describe(class_weight)
    ), call = call)
  }
  units <- engine_call(rs_output_size(model$ptr), call = call)
  n_classes <- if (units == 1) 2 else units
  labels <- suppressWarnings(as.integer(names(class_weight)))
  bad <- names(class_weight)[is.na(labels) | labels < 0 | labels >= n_classes]
  if (length(bad)) {
    abort(sprintf(
      "`class_weight` names classes that do not exist: %s; the classes are 0 to %d.",
      paste0("\"", bad, "\"", collapse = ", "), n_classes - 1
    ), call = call)
  }
  classes <- if (is.null(dim(y)) || NCOL(y) == 1) {
    if (units == 1) as.integer(round(as.vector(y))) else as.integer(as.vector(y))
  } else {
    max.col(y, ties.method = "first") - 1L
  }
  per_class <- rep(1, n_classes)
  per_class[labels + 1] <- class_weight
  from_class <- per_class[classes + 1]
  if (is.null(weights)) from_class else weights * from_class
}

# Wraps a custom metric so that it never raises into the engine: it returns
# list(values = ) with one number per sample, or list(error = message).
wrap_custom_metric <- function(fn, name) {
  force(fn)
  function(y_true, y_pred) {
    tryCatch(
      {
        values <- fn(y_true, y_pred)
        if (!is.numeric(values) && !is.logical(values)) {
          stop(sprintf("it returned %s, expected one number per sample", describe(values)), call. = FALSE)
        }
        list(values = as.double(values))
      },
      error = function(e) list(error = sprintf("custom metric \"%s\" failed: %s", name, conditionMessage(e)))
    )
  }
}
