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
#' @param loss A loss name or `loss_*()` object (see [losses]). For a model
#'   with several outputs, one loss for all outputs, or a list with one loss
#'   per output, in order or named by output (layer) name.
#' @param metrics A character vector or list of metric names and
#'   `metric_*()` objects (see [metrics]), or `NULL`. For a model with
#'   several outputs, a list named by output name (or an unnamed list with
#'   one entry per output) gives each output its metrics; other values apply
#'   to every output.
#' @param ... Unused.
#' @param weighted_metrics Like `metrics`, but weighted by `sample_weight`
#'   and `class_weight` in [fit()] and [evaluate()]; as in keras, `metrics`
#'   ignore sample weights. A weighted metric whose name is also in
#'   `metrics` is reported as `weighted_<name>`.
#' @param loss_weights `NULL`, or a weight for each output's loss (a numeric
#'   vector in output order, or a named list or vector by output name); the
#'   loss minimized is the weighted sum. The history reports each output's
#'   unweighted loss, as keras does.
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
  optimizer <- resolve_optimizer(optimizer)
  outputs <- output_names_of(object)
  if (length(outputs) > 1) {
    loss <- per_output(loss, outputs, "loss", is_single_loss)
    for (h in seq_along(outputs)) {
      if (is.null(loss[[h]])) {
        abort(sprintf("`loss` has no loss for output \"%s\"; give a loss for every output.", outputs[h]))
      }
      loss[[h]] <- resolve_loss(loss[[h]])
    }
    metrics <- per_output(metrics, outputs, "metrics", is_single_metric)
    weighted_metrics <- per_output(weighted_metrics, outputs, "weighted_metrics", is_single_metric)
    for (h in seq_along(outputs)) {
      resolve_metrics(metrics[[h]], loss[[h]], NA)
      resolve_metrics(weighted_metrics[[h]], loss[[h]], NA)
    }
  } else {
    if (is.list(loss) && !inherits(loss, "kerust_loss") && length(loss) == 1) loss <- loss[[1]]
    loss <- resolve_loss(loss)
    resolve_metrics(metrics, loss, NA)
    resolve_metrics(weighted_metrics, loss, NA)
  }
  loss_weights <- resolve_loss_weights(loss_weights, outputs)
  config <- list(
    optimizer = optimizer, loss = loss, metrics = metrics, weighted_metrics = weighted_metrics,
    loss_weights = loss_weights
  )
  if (is_built(object)) apply_compile(object, config)
  object$compiled <- config
  invisible(object)
}

# Sends a compile configuration to the engine model.
apply_compile <- function(model, config, call = sys.call(-1)) {
  shapes <- output_shapes_of(model, call = call)
  multi <- length(shapes) > 1
  custom <- list()
  heads <- list()
  for (h in seq_along(shapes)) {
    pick <- function(x) if (multi) x[[h]] else x
    head <- compile_metrics(
      pick(config$metrics), pick(config$weighted_metrics), pick(config$loss), prod(shapes[[h]]), custom,
      call = call
    )
    custom <- head$custom
    heads[[h]] <- head
  }
  model$custom_metric_fns <- custom
  opt <- config$optimizer
  schedule <- if (inherits(opt$learning_rate, "kerust_schedule")) unclass(opt$learning_rate) else NULL
  learning_rate <- if (is.null(schedule)) opt$learning_rate else schedule$initial_learning_rate %||% 0
  first <- if (multi) config$loss[[1]] else config$loss
  engine_call(rs_compile(
    model$ptr, opt$name, as.double(learning_rate), opt$params,
    first$name, first$params, heads[[1]]$kinds, heads[[1]]$names, heads[[1]]$params, schedule
  ), call = call)
  extra <- lapply(seq_along(heads)[-1], function(h) {
    list(
      loss = config$loss[[h]]$name, loss_params = config$loss[[h]]$params,
      metric_kinds = heads[[h]]$kinds, metric_names = heads[[h]]$names, metric_params = heads[[h]]$params
    )
  })
  weights <- config$loss_weights %||% rep(1, length(shapes))
  if (multi || any(weights != 1)) engine_call(rs_compile_heads(model$ptr, extra, as.double(weights)), call = call)
  model$engine_compiled <- TRUE
  refresh_snapshot(model, call = call)
  invisible(model)
}

# Resolves the metrics and weighted metrics of one output for the engine.
# Custom R metrics are numbered in order over all outputs (`custom` holds
# those of earlier outputs); the engine asks R for their values through
# the functions kept in the model.
compile_metrics <- function(metrics, weighted, loss, output_size, custom, call = sys.call(-1)) {
  metrics <- resolve_metrics(metrics, loss, output_size, call = call)
  weighted <- resolve_metrics(weighted, loss, output_size, call = call)
  # keras names a weighted metric "weighted_<name>" when `metrics` has the same name.
  plain_names <- vapply(metrics, function(m) m$name, "")
  weighted <- lapply(weighted, function(m) {
    if (m$name %in% plain_names) m$name <- paste0("weighted_", m$name)
    m$params <- c(m$params, list(weighted = TRUE))
    m
  })
  metrics <- c(metrics, weighted)
  for (i in seq_along(metrics)) {
    if (metrics[[i]]$kind != "custom") next
    custom[[length(custom) + 1]] <- wrap_custom_metric(metrics[[i]]$params$fn, metrics[[i]]$name)
    weighted_flag <- metrics[[i]]$params$weighted
    metrics[[i]]$params <- list(index = length(custom) - 1, weighted = isTRUE(weighted_flag))
  }
  names <- vapply(metrics, function(m) m$name, "")
  if (anyDuplicated(names)) {
    abort(sprintf("Metric names must be unique, got %s.", paste(names, collapse = ", ")), call = call)
  }
  list(
    kinds = vapply(metrics, function(m) m$kind, ""), names = names,
    params = lapply(metrics, function(m) m$params), custom = custom
  )
}

# Names and per-sample shapes of a model's outputs. A Sequential model has
# one output, named after its last layer.
output_names_of <- function(model) {
  if (inherits(model, "kerust_functional")) {
    return(model$output_names)
  }
  n <- length(model$layers)
  if (n == 0) "output" else model$layers[[n]]$name
}

output_shapes_of <- function(model, call = sys.call(-1)) {
  engine_call(rs_graph_info(model$ptr), call = call)$output_shapes
}

is_single_loss <- function(x) {
  inherits(x, "kerust_loss") || is.function(x) || (is.character(x) && length(x) == 1)
}

is_single_metric <- function(x) {
  inherits(x, "kerust_metric") || is.function(x) || (is.character(x) && length(x) == 1)
}

# Spreads a compile argument over the outputs: a list named by output
# names, an unnamed list or vector with one entry per output, or one value
# for all outputs. Returns a list with one entry per output.
per_output <- function(value, outputs, arg, is_single, call = sys.call(-1)) {
  n <- length(outputs)
  if (is.null(value)) {
    return(rep(list(NULL), n))
  }
  given <- names(value)
  if (!is.null(given) && any(nzchar(given)) && !inherits(value, c("kerust_loss", "kerust_metric"))) {
    unknown <- setdiff(given, outputs)
    if (length(unknown) || any(!nzchar(given))) {
      abort(sprintf(
        "`%s` names %s, which %s not an output; the outputs are %s.", arg,
        paste0("\"", unknown, "\"", collapse = ", "), if (length(unknown) > 1) "are" else "is",
        paste0("\"", outputs, "\"", collapse = ", ")
      ), call = call)
    }
    return(lapply(outputs, function(o) if (o %in% given) value[[o]] else NULL))
  }
  if (is_single(value)) {
    return(rep(list(value), n))
  }
  if ((is.list(value) || is.character(value)) && !inherits(value, c("kerust_loss", "kerust_metric"))) {
    if (length(value) != n) {
      abort(sprintf(
        "`%s` has %d entries but the model has %d outputs (%s); give one entry per output or a list named by output.",
        arg, length(value), n, paste0("\"", outputs, "\"", collapse = ", ")
      ), call = call)
    }
    return(lapply(seq_len(n), function(h) value[[h]]))
  }
  rep(list(value), n)
}

resolve_loss_weights <- function(loss_weights, outputs, call = sys.call(-1)) {
  if (is.null(loss_weights)) {
    return(NULL)
  }
  if (is.list(loss_weights)) {
    if (!all(vapply(loss_weights, function(w) is.numeric(w) && length(w) == 1, TRUE))) {
      abort(sprintf("`loss_weights` must hold one number per output, got %s.", describe(loss_weights)), call = call)
    }
    loss_weights <- unlist(loss_weights)
  }
  if (!is.numeric(loss_weights) || anyNA(loss_weights) || any(!is.finite(loss_weights)) || any(loss_weights < 0)) {
    abort(sprintf("`loss_weights` must be finite non-negative numbers, got %s.", describe(loss_weights)), call = call)
  }
  if (!is.null(names(loss_weights))) {
    weights <- per_output(as.list(loss_weights), outputs, "loss_weights", function(x) FALSE, call = call)
    return(vapply(weights, function(w) if (is.null(w)) 1 else as.double(w), 0))
  }
  if (length(loss_weights) != length(outputs)) {
    abort(sprintf(
      "`loss_weights` has %d values but the model has %d output%s.",
      length(loss_weights), length(outputs), if (length(outputs) == 1) "" else "s"
    ), call = call)
  }
  as.double(loss_weights)
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

# Checks the inputs of a functional model: a list of arrays (in input
# order or named by input name) or, for one input, an array. Other models
# take one array (see prepare_x()).
prepare_inputs <- function(x, model, arg = "x", call = sys.call(-1)) {
  if (!inherits(model, "kerust_functional")) {
    return(prepare_x(x, model, arg = arg, call = call))
  }
  names <- model$input_names
  shapes <- lapply(model$inputs, function(t) t$shape)
  as_list <- is.list(x) && !is.data.frame(x)
  if (length(names) == 1 && !as_list) {
    return(prepare_x(x, list(ptr = model$ptr, input_shape = shapes[[1]]), arg = arg, call = call))
  }
  if (!as_list) {
    abort(sprintf(
      "`%s` must be a list of %d arrays, one per input (%s), got %s.",
      arg, length(names), paste0("\"", names, "\"", collapse = ", "), describe(x)
    ), call = call)
  }
  x <- match_data_list(x, names, arg, "input", call = call)
  out <- lapply(seq_along(names), function(k) {
    prepare_x(x[[k]], list(ptr = model$ptr, input_shape = shapes[[k]]), arg = sprintf("%s$%s", arg, names[k]), call = call)
  })
  counts <- vapply(out, function(a) dim(a)[1], 0L)
  if (any(counts != counts[1])) {
    abort(sprintf(
      "The inputs in `%s` must have the same number of samples, got %s.",
      arg, paste(sprintf("%d (%s)", counts, names), collapse = ", ")
    ), call = call)
  }
  out
}

# Orders a list of arrays by `names` (in order when unnamed, by name
# otherwise); `what` is "input" or "output".
match_data_list <- function(x, names, arg, what, call = sys.call(-1)) {
  given <- names(x)
  if (!is.null(given) && any(nzchar(given)) && (!all(nzchar(given)) || anyDuplicated(given))) {
    abort(sprintf(
      "`%s` must be named by different %s names, or not named at all, got names %s.",
      arg, what, paste0("\"", given, "\"", collapse = ", ")
    ), call = call)
  }
  if (!is.null(given) && all(nzchar(given))) {
    missing_names <- setdiff(names, given)
    unknown <- setdiff(given, names)
    if (length(missing_names) || length(unknown)) {
      abort(sprintf(
        "`%s` must be named by the model's %ss (%s); %s.", arg, what, paste0("\"", names, "\"", collapse = ", "),
        if (length(unknown)) sprintf("\"%s\" is not one of them", unknown[1]) else sprintf("\"%s\" is missing", missing_names[1])
      ), call = call)
    }
    return(x[names])
  }
  if (length(x) != length(names)) {
    abort(sprintf(
      "`%s` has %d arrays but the model has %d %ss (%s).",
      arg, length(x), length(names), what, paste0("\"", names, "\"", collapse = ", ")
    ), call = call)
  }
  unname(x)
}

# Number of samples of prepared inputs.
n_samples <- function(x) if (is.list(x)) dim(x[[1]])[1] else dim(x)[1]

# Checks the targets of each output of a functional model (see prepare_y()).
prepare_targets <- function(y, n, model, arg = "y", x_arg = "x", call = sys.call(-1)) {
  if (!inherits(model, "kerust_functional")) {
    return(prepare_y(y, n, model, arg = arg, x_arg = x_arg, call = call))
  }
  outputs <- model$output_names
  shapes <- output_shapes_of(model, call = call)
  multi <- length(outputs) > 1
  as_list <- is.list(y) && !is.data.frame(y)
  if (!multi && !as_list) {
    return(prepare_y(y, n, model, arg = arg, x_arg = x_arg, units = prod(shapes[[1]]), call = call))
  }
  if (is.null(y)) abort(sprintf("`%s` is missing: give the targets for each sample.", arg), call = call)
  if (!as_list) {
    abort(sprintf(
      "`%s` must be a list of %d arrays, one per output (%s), got %s.",
      arg, length(outputs), paste0("\"", outputs, "\"", collapse = ", "), describe(y)
    ), call = call)
  }
  y <- match_data_list(y, outputs, arg, "output", call = call)
  compiled <- model$compiled
  lapply(seq_along(outputs), function(h) {
    head <- if (multi) {
      list(loss = compiled$loss[[h]], metrics = compiled$metrics[[h]])
    } else {
      compiled
    }
    prepare_y(y[[h]], n, list(ptr = model$ptr, compiled = head),
      arg = sprintf("%s$%s", arg, outputs[h]), x_arg = x_arg, units = prod(shapes[[h]]), call = call
    )
  })
}

# Checks y against the loss and output layer, converting factors to
# 0-based integer labels as keras3 does. `units` is the output size.
prepare_y <- function(y, n, model, arg = "y", x_arg = "x", units = NULL, call = sys.call(-1)) {
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
  if (is.null(units)) units <- engine_call(rs_output_size(model$ptr), call = call)
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

# Returns a function that puts an unbuilt Sequential model back in its
# unbuilt state (no engine model, no input shape), or does nothing for a
# model that is built already.
unbuild_on_failure <- function(model) {
  if (is_built(model)) {
    return(function() invisible())
  }
  function() {
    model$ptr <- NULL
    model$input_shape <- NULL
    model$engine_compiled <- NULL
    model$snapshot <- NULL
    model$symbolic <- NULL
    invisible()
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
  x <- prepare_inputs(x, object, call = call)
  if (!isTRUE(object$engine_compiled)) apply_compile(object, object$compiled, call = call)
  sync_shared_layers(object, call = call)
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
  # A model built from `x` here is unbuilt again when other arguments are
  # rejected, so that a rejected call changes nothing.
  checked <- FALSE
  undo <- unbuild_on_failure(object)
  on.exit(if (!checked) undo(), add = TRUE, after = FALSE)
  x <- prepare_training(object, x, "fit")
  y <- prepare_targets(y, n_samples(x), object)
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
    val_x <- prepare_inputs(validation_data[[1]], object, arg = "validation_data[[1]]")
    val_y <- prepare_targets(validation_data[[2]], n_samples(val_x), object, arg = "validation_data[[2]]", x_arg = "validation_data[[1]]")
    if (length(validation_data) == 3) {
      val_weight <- check_sample_weight(validation_data[[3]], n_samples(val_x), "validation_data[[3]]")
    }
    validation_split <- 0
  } else if (validation_split > 0) {
    n_train <- floor(n_samples(x) * (1 - validation_split))
    if (n_train == 0 || n_train == n_samples(x)) {
      abort(sprintf(
        "`validation_split = %s` leaves no samples for %s out of %d.",
        format(validation_split), if (n_train == 0) "training" else "validation", n_samples(x)
      ))
    }
  }
  builtins <- lapply(Filter(function(cb) !is.null(cb$builtin), callbacks), function(cb) cb$builtin)
  object$stop_training <- FALSE
  dispatcher <- make_dispatcher(object, callbacks)
  changes_lr <- any(vapply(callbacks, function(cb) isTRUE(cb$changes_learning_rate), TRUE))
  checked <- TRUE
  result <- engine_call(rs_fit(
    object$ptr, x, y, weights, val_x, val_y, val_weight, batch_size, epochs, initial_epoch - 1, shuffle,
    validation_split, verbose, isTRUE(l10n_info()$`UTF-8`), interrupt_after,
    builtins, dispatcher, as.double(callback_event_flags(callbacks)), changes_lr,
    object$custom_metric_fns %||% list()
  ))
  metrics <- stats::setNames(lapply(result$values, as.numeric), result$names)
  claim_shared_layers(object)
  n_train <- if (validation_split > 0) floor(n_samples(x) * (1 - validation_split)) else n_samples(x)
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
  y <- prepare_targets(y, n_samples(x), object)
  batch_size <- if (is.null(batch_size)) 32L else check_count(batch_size, "batch_size", min = 1)
  verbose <- resolve_verbose(verbose)
  if (!is.null(steps) || !is.null(callbacks)) {
    abort("`steps` and `callbacks` are not supported yet; leave them NULL.")
  }
  weights <- if (is.null(sample_weight)) NULL else check_sample_weight(sample_weight, n_samples(x), "sample_weight")
  values <- engine_call(rs_evaluate(object$ptr, x, y, weights, batch_size, object$custom_metric_fns %||% list()))
  if (verbose > 0) {
    steps_done <- ceiling(n_samples(x) / batch_size)
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
  x <- prepare_inputs(x, object)
  sync_shared_layers(object)
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
  if (is.list(y)) {
    if (!is.null(class_weight) && length(y) > 1) {
      abort("`class_weight` is supported only for models with one output; give `sample_weight` instead.", call = call)
    }
    y <- y[[1]]
  }
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

#' Train, evaluate or predict on one batch
#'
#' `train_on_batch()` takes one optimizer step on all of `x` as a single
#' batch; `test_on_batch()` computes the loss and metrics on it;
#' `predict_on_batch()` returns the model output. The data is given as for
#' [fit()], [evaluate()] and [predict()].
#'
#' @param object A model (compiled, except for `predict_on_batch()`).
#' @param x Input data: an array, or a list of arrays for a model with
#'   several inputs.
#' @param y Targets, as for [fit()].
#' @param sample_weight `NULL`, or a non-negative weight per sample.
#' @param class_weight `NULL`, or weights per class, as for [fit()].
#' @returns `train_on_batch()` and `test_on_batch()`: the loss as a number
#'   when the model has no metrics, otherwise a named list of the loss and
#'   the metrics (the values computed on the batch before the step, as in
#'   keras). `predict_on_batch()`: as [predict()].
#' @export
#' @examples
#' set.seed(1)
#' x <- matrix(rnorm(64), ncol = 2)
#' y <- x[, 1] - x[, 2]
#' model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
#' model |> compile(optimizer = optimizer_sgd(0.1), loss = "mse")
#' train_on_batch(model, x, y)
#' train_on_batch(model, x, y)
#' test_on_batch(model, x, y)
#' predict_on_batch(model, x[1:3, ])
train_on_batch <- function(object, x, y = NULL, sample_weight = NULL, class_weight = NULL) {
  check_model(object)
  prepared <- prepare_training(object, x, "train_on_batch")
  history <- fit(object, x, y,
    batch_size = n_samples(prepared), epochs = 1, shuffle = FALSE, verbose = 0,
    sample_weight = sample_weight, class_weight = class_weight
  )
  logs <- lapply(history$metrics, function(v) v[length(v)])
  batch_result(logs)
}

#' @rdname train_on_batch
#' @export
test_on_batch <- function(object, x, y = NULL, sample_weight = NULL) {
  check_model(object)
  prepared <- prepare_training(object, x, "test_on_batch")
  logs <- evaluate(object, x, y, batch_size = n_samples(prepared), verbose = 0, sample_weight = sample_weight)
  batch_result(logs)
}

#' @rdname train_on_batch
#' @export
predict_on_batch <- function(object, x) {
  check_model(object)
  prepared <- prepare_inputs(x, object)
  stats::predict(object, x, batch_size = n_samples(prepared))
}

batch_result <- function(logs) {
  logs <- logs[c("loss", setdiff(names(logs), "loss"))]
  if (length(logs) == 1) logs[[1]] else logs
}
