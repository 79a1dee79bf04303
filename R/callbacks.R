# Callbacks for fit(). Built-in callbacks (early stopping, learning-rate
# reduction, CSV logging) run inside the engine; callbacks with R functions
# run through one dispatcher, called only at the events they listen to.

new_callback <- function(kind, ..., builtin = NULL, handlers = list()) {
  structure(
    list(kind = kind, builtin = builtin, handlers = handlers, ...),
    class = "kerust_callback"
  )
}

check_mode <- function(mode, call = sys.call(-1)) {
  if (!is.character(mode) || length(mode) < 1 || !mode[1] %in% c("auto", "min", "max")) {
    abort(sprintf("`mode` must be \"auto\", \"min\" or \"max\", got %s.", describe(mode)), call = call)
  }
  mode[1]
}

#' Stop training when a monitored metric stops improving
#'
#' After each epoch, compares `monitor` with its best value so far. When it
#' has not improved by more than `min_delta` for `patience` epochs, training
#' stops, as keras's EarlyStopping does. With `restore_best_weights = TRUE`
#' the model gets the weights of the best epoch back at the end (of the last
#' epoch when it never improved).
#'
#' @param monitor Name of the logged value to watch, e.g. `"val_loss"` or
#'   `"val_accuracy"`; an unknown name gives an error that lists the logged
#'   names.
#' @param min_delta Minimum change that counts as an improvement.
#' @param patience Number of epochs without improvement before stopping.
#' @param verbose 0 or 1; 1 prints a message when training stops or weights
#'   are restored.
#' @param mode `"auto"` (maximise accuracies, AUC, precision, recall and R2;
#'   minimise the rest), `"min"` or `"max"`.
#' @param baseline `NULL`, or a value the metric must beat for the wait to
#'   restart.
#' @param restore_best_weights Whether to restore the weights of the best epoch.
#' @param start_from_epoch Number of epochs to wait before watching.
#' @returns A callback object for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' stop_early <- callback_early_stopping(monitor = "val_loss", patience = 3)
callback_early_stopping <- function(monitor = "val_loss", min_delta = 0L, patience = 0L, verbose = 0L,
                                    mode = c("auto", "min", "max"), baseline = NULL,
                                    restore_best_weights = FALSE, start_from_epoch = 0L) {
  check_string(monitor, "monitor")
  check_number(min_delta, "min_delta")
  patience <- check_count(patience, "patience", min = 0)
  verbose <- check_count(verbose, "verbose", min = 0)
  mode <- check_mode(mode)
  if (!is.null(baseline)) check_number(baseline, "baseline")
  check_flag(restore_best_weights, "restore_best_weights")
  start_from_epoch <- check_count(start_from_epoch, "start_from_epoch", min = 0)
  new_callback("early_stopping", builtin = list(
    type = "early_stopping", monitor = monitor, min_delta = as.double(min_delta),
    patience = as.double(patience), verbose = as.double(verbose), mode = mode,
    baseline = if (is.null(baseline)) NA_real_ else as.double(baseline),
    restore_best_weights = restore_best_weights, start_from_epoch = as.double(start_from_epoch)
  ))
}

#' Reduce the learning rate when a metric stops improving
#'
#' Multiplies the learning rate by `factor` when `monitor` has not improved
#' by more than `min_delta` for `patience` epochs, then waits `cooldown`
#' epochs, never going below `min_lr`; keras's ReduceLROnPlateau. The
#' history then records the learning rate of each epoch as
#' `learning_rate`.
#'
#' @inheritParams callback_early_stopping
#' @param factor Factor in `[0, 1)` by which the learning rate is multiplied.
#' @param cooldown Epochs to wait after a reduction before watching again.
#' @param min_lr Lower bound of the learning rate.
#' @param ... Unused.
#' @returns A callback object for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' reduce <- callback_reduce_lr_on_plateau(monitor = "val_loss", factor = 0.5, patience = 2)
callback_reduce_lr_on_plateau <- function(monitor = "val_loss", factor = 0.1, patience = 10L, verbose = 0L,
                                          mode = c("auto", "min", "max"), min_delta = 1e-04,
                                          cooldown = 0L, min_lr = 0, ...) {
  check_string(monitor, "monitor")
  check_number(factor, "factor", lower = 0, upper = 1, upper_open = TRUE)
  patience <- check_count(patience, "patience", min = 0)
  verbose <- check_count(verbose, "verbose", min = 0)
  mode <- check_mode(mode)
  check_number(min_delta, "min_delta")
  cooldown <- check_count(cooldown, "cooldown", min = 0)
  check_number(min_lr, "min_lr", lower = 0)
  new_callback("reduce_lr_on_plateau", builtin = list(
    type = "reduce_lr_on_plateau", monitor = monitor, factor = as.double(factor),
    patience = as.double(patience), verbose = as.double(verbose), mode = mode,
    min_delta = as.double(min_delta), cooldown = as.double(cooldown), min_lr = as.double(min_lr)
  ))
}

#' Write the logs of each epoch to a CSV file
#'
#' Writes one row per epoch with the epoch number (0-based, as keras writes
#' it) and every logged value, columns sorted by name; keras's CSVLogger.
#'
#' @param filename Path of the CSV file.
#' @param separator Field separator.
#' @param append Whether to append to an existing file instead of replacing it.
#' @returns A callback object for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' logger <- callback_csv_logger(tempfile(fileext = ".csv"))
callback_csv_logger <- function(filename, separator = ",", append = FALSE) {
  check_string(filename, "filename")
  check_string(separator, "separator")
  check_flag(append, "append")
  new_callback("csv_logger", builtin = list(
    type = "csv_logger", filename = path.expand(filename), separator = separator, append = append
  ))
}

#' Stop training when the loss becomes NaN
#'
#' kerust always stops training when the loss of a batch is NaN or infinite,
#' before that batch changes the weights. Without this callback it also
#' gives a warning; with it, it prints keras's message instead.
#'
#' @returns A callback object for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' stop_on_nan <- callback_terminate_on_nan()
callback_terminate_on_nan <- function() {
  new_callback("terminate_on_nan")
}

#' Set the learning rate at the start of each epoch
#'
#' Calls `schedule(epoch, lr)` at the start of every epoch, with the epoch
#' index (0-based, as in keras) and the current learning rate, and sets the
#' learning rate to the number it returns; keras's LearningRateScheduler.
#' The history records the learning rate of each epoch as `learning_rate`.
#'
#' @param schedule An R function of `(epoch, lr)` returning one positive number.
#' @param verbose 0 or 1; 1 prints the new rate at each epoch.
#' @returns A callback object for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' scheduler <- function(epoch, lr) if (epoch < 10) lr else lr * exp(-0.1)
#' callback <- callback_learning_rate_scheduler(scheduler)
callback_learning_rate_scheduler <- function(schedule, verbose = 0L) {
  if (!is.function(schedule)) {
    abort(sprintf("`schedule` must be a function of (epoch, lr), got %s.", describe(schedule)))
  }
  verbose <- check_count(verbose, "verbose", min = 0)
  on_epoch_begin <- function(epoch, logs, lr) {
    value <- schedule(epoch, lr)
    if (!is.numeric(value) || length(value) != 1 || !is.finite(value) || value <= 0) {
      stop(sprintf(
        "the schedule of callback_learning_rate_scheduler() must return one positive number, got %s at epoch %d",
        describe(value), epoch
      ), call. = FALSE)
    }
    if (verbose > 0) {
      cat(sprintf("\nEpoch %d: LearningRateScheduler setting learning rate to %s.\n", epoch + 1, format(value)))
    }
    list(learning_rate = as.double(value))
  }
  new_callback("learning_rate_scheduler", changes_learning_rate = TRUE,
    handlers = list(epoch_begin = on_epoch_begin))
}

#' Create a callback from R functions
#'
#' Each function runs at its point of training, as keras's LambdaCallback
#' calls it: `on_epoch_begin(epoch, logs)` and `on_epoch_end(epoch, logs)`,
#' `on_train_batch_begin(batch, logs)` and `on_train_batch_end(batch, logs)`,
#' `on_train_begin(logs)` and `on_train_end(logs)`. Epochs and batches are
#' 0-based, as in keras; `logs` is a named list of the loss and metrics so
#' far (empty at the begin events). A function can stop training with
#' `model$stop_training <- TRUE`. The engine calls R only for the events
#' given here, so a callback without batch functions costs nothing per batch.
#'
#' While `fit()` runs, a callback can read the model (`get_weights(model)`)
#' but not change, fit, evaluate or predict with it.
#'
#' @param on_epoch_begin,on_epoch_end,on_train_begin,on_train_end,on_train_batch_begin,on_train_batch_end
#'   `NULL` or R functions.
#' @param ... `on_batch_begin` and `on_batch_end` as older names of the
#'   batch functions.
#' @returns A callback object for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' print_epoch <- callback_lambda(on_epoch_end = function(epoch, logs) {
#'   cat("epoch", epoch, "loss", logs$loss, "\n")
#' })
callback_lambda <- function(on_epoch_begin = NULL, on_epoch_end = NULL, on_train_begin = NULL,
                            on_train_end = NULL, on_train_batch_begin = NULL,
                            on_train_batch_end = NULL, ...) {
  dots <- list(...)
  unknown <- setdiff(names(dots), c("on_batch_begin", "on_batch_end"))
  if (length(unknown) || (length(dots) && is.null(names(dots)))) {
    abort(sprintf("Unknown argument%s of callback_lambda(): %s.", if (length(unknown) > 1) "s" else "",
      paste0("`", unknown, "`", collapse = ", ")))
  }
  on_train_batch_begin <- on_train_batch_begin %||% dots$on_batch_begin
  on_train_batch_end <- on_train_batch_end %||% dots$on_batch_end
  given <- list(
    train_begin = on_train_begin, epoch_begin = on_epoch_begin, batch_begin = on_train_batch_begin,
    batch_end = on_train_batch_end, epoch_end = on_epoch_end, train_end = on_train_end
  )
  arg_names <- c(
    train_begin = "on_train_begin", epoch_begin = "on_epoch_begin", batch_begin = "on_train_batch_begin",
    batch_end = "on_train_batch_end", epoch_end = "on_epoch_end", train_end = "on_train_end"
  )
  handlers <- list()
  for (event in names(given)) {
    f <- given[[event]]
    if (is.null(f)) next
    if (!is.function(f)) {
      abort(sprintf("`%s` must be NULL or a function, got %s.", arg_names[[event]], describe(f)))
    }
    handlers[[event]] <- if (event %in% c("train_begin", "train_end")) {
      local({
        g <- f
        function(index, logs, lr) {
          g(logs)
          NULL
        }
      })
    } else {
      local({
        g <- f
        function(index, logs, lr) {
          g(index, logs)
          NULL
        }
      })
    }
  }
  new_callback("lambda", handlers = handlers)
}

#' @export
print.kerust_callback <- function(x, ...) {
  cat(sprintf("<callback %s>\n", x$kind))
  invisible(x)
}

callback_events <- c("train_begin", "epoch_begin", "batch_begin", "batch_end", "epoch_end", "train_end")

check_callbacks <- function(callbacks, call = sys.call(-1)) {
  if (is.null(callbacks)) {
    return(list())
  }
  if (inherits(callbacks, "kerust_callback")) callbacks <- list(callbacks)
  if (!is.list(callbacks)) {
    abort(sprintf("`callbacks` must be a list of callback_*() objects, got %s.", describe(callbacks)), call = call)
  }
  for (i in seq_along(callbacks)) {
    if (!inherits(callbacks[[i]], "kerust_callback")) {
      abort(sprintf("`callbacks[[%d]]` must be a callback_*() object, got %s.", i, describe(callbacks[[i]])), call = call)
    }
  }
  callbacks
}

# Builds the R function that the engine calls at callback events. It runs
# the handlers of every R callback listening to `event` and returns
# list(stop, learning_rate, error); an error in a handler is returned, not
# raised, so that the engine can stop training cleanly.
make_dispatcher <- function(model, callbacks) {
  with_handlers <- Filter(function(cb) length(cb$handlers) > 0, callbacks)
  if (length(with_handlers) == 0) {
    return(NULL)
  }
  for (cb in with_handlers) {
    if (!is.null(cb$state)) cb$state$model <- model
  }
  function(event, index, logs, lr) {
    tryCatch(
      {
        new_lr <- NA_real_
        logs_list <- if (is.null(logs)) list() else as.list(logs)
        for (cb in with_handlers) {
          handler <- cb$handlers[[event]]
          if (is.null(handler)) next
          result <- handler(index - 1L, logs_list, if (is.na(new_lr)) lr else new_lr)
          if (is.list(result) && !is.null(result$learning_rate)) new_lr <- result$learning_rate
        }
        list(stop = isTRUE(model$stop_training), learning_rate = new_lr)
      },
      error = function(e) {
        list(error = sprintf("a callback failed at %s: %s", gsub("_", " ", event), conditionMessage(e)))
      }
    )
  }
}

callback_event_flags <- function(callbacks) {
  vapply(callback_events, function(event) {
    any(vapply(callbacks, function(cb) !is.null(cb$handlers[[event]]), TRUE))
  }, TRUE)
}

#' Save the model during training
#'
#' Saves the model (or only its weights) at the end of every epoch, or
#' every `save_freq` batches, to `filepath`, as keras's ModelCheckpoint does.
#' `filepath` may contain placeholders in Python's format syntax, filled
#' from the epoch number (1-based, as keras writes it) and the logs, e.g.
#' `"model-{epoch:02d}-{val_loss:.2f}.keras"`. With `save_best_only =
#' TRUE`, only a value of `monitor` better than the best so far is saved.
#'
#' @inheritParams callback_early_stopping
#' @param filepath Path of the file to write: `.keras` for the whole model,
#'   `.weights.safetensors` with `save_weights_only = TRUE`.
#' @param save_best_only Whether to save only when `monitor` improves.
#' @param save_weights_only Whether to save only the weights.
#' @param save_freq `"epoch"`, or a number of batches between saves.
#' @param initial_value_threshold `NULL`, or the value `monitor` must beat
#'   for the first save with `save_best_only = TRUE`.
#' @returns A callback object for `fit(callbacks = )`.
#' @family callbacks
#' @export
#' @examples
#' checkpoint <- callback_model_checkpoint(
#'   file.path(tempdir(), "model-{epoch:02d}.keras")
#' )
callback_model_checkpoint <- function(filepath, monitor = "val_loss", verbose = 0L, save_best_only = FALSE,
                                      save_weights_only = FALSE, mode = c("auto", "min", "max"),
                                      save_freq = "epoch", initial_value_threshold = NULL) {
  check_string(filepath, "filepath")
  check_string(monitor, "monitor")
  verbose <- check_count(verbose, "verbose", min = 0)
  check_flag(save_best_only, "save_best_only")
  check_flag(save_weights_only, "save_weights_only")
  mode <- check_mode(mode)
  if (!identical(save_freq, "epoch")) save_freq <- check_count(save_freq, "save_freq", min = 1)
  if (!is.null(initial_value_threshold)) check_number(initial_value_threshold, "initial_value_threshold")
  name <- sub("^val_", "", monitor)
  maximise <- mode == "max" || (mode == "auto" && grepl("acc|auc|precision|recall|r2", name))
  state <- new.env(parent = emptyenv())
  state$best <- initial_value_threshold
  state$batches <- 0L
  state$model <- NULL
  save <- function(epoch, logs) {
    if (save_best_only) {
      current <- logs[[monitor]]
      if (is.null(current)) {
        stop(sprintf(
          "callback_model_checkpoint(): `monitor` = \"%s\" is not a logged metric; available: %s",
          monitor, paste(names(logs), collapse = ", ")
        ), call. = FALSE)
      }
      improved <- is.null(state$best) || (if (maximise) current > state$best else current < state$best)
      if (!improved) {
        if (verbose > 0) cat(sprintf("\nEpoch %d: %s did not improve from %s\n", epoch + 1, monitor, format(state$best)))
        return(invisible())
      }
      if (verbose > 0) {
        cat(sprintf("\nEpoch %d: %s improved from %s to %s, saving model to %s\n", epoch + 1, monitor,
          format(state$best %||% Inf), format(current), format_checkpoint_path(filepath, epoch, logs)))
      }
      state$best <- current
    } else if (verbose > 0) {
      cat(sprintf("\nEpoch %d: saving model to %s\n", epoch + 1, format_checkpoint_path(filepath, epoch, logs)))
    }
    save_model_file(state$model, format_checkpoint_path(filepath, epoch, logs), weights_only = save_weights_only)
  }
  handlers <- if (identical(save_freq, "epoch")) {
    list(epoch_end = function(index, logs, lr) save(index, logs))
  } else {
    list(
      epoch_begin = function(index, logs, lr) {
        state$epoch <- index
        NULL
      },
      batch_end = function(index, logs, lr) {
        state$batches <- state$batches + 1L
        if (state$batches %% save_freq == 0) save(state$epoch %||% 0L, logs)
        NULL
      }
    )
  }
  new_callback("model_checkpoint", handlers = handlers, state = state)
}

# Fills Python-style placeholders ("{epoch:02d}", "{val_loss:.2f}") of a
# checkpoint path from the 0-based epoch and the logs, as keras does.
format_checkpoint_path <- function(path, epoch, logs) {
  values <- c(list(epoch = epoch + 1L), logs)
  pattern <- "\\{([A-Za-z_][A-Za-z0-9_]*)(:([^}]*))?\\}"
  matches <- regmatches(path, gregexpr(pattern, path))[[1]]
  for (m in unique(matches)) {
    parts <- regmatches(m, regexec(pattern, m))[[1]]
    key <- parts[2]
    spec <- parts[4]
    value <- values[[key]]
    if (is.null(value)) {
      stop(sprintf(
        "the checkpoint path uses {%s}, which is not in the logs (available: epoch, %s)",
        key, paste(names(logs), collapse = ", ")
      ), call. = FALSE)
    }
    text <- if (!nzchar(spec)) {
      format(value)
    } else if (grepl("d$", spec)) {
      sprintf(paste0("%", spec), as.integer(round(value)))
    } else {
      sprintf(paste0("%", spec), value)
    }
    path <- gsub(m, text, path, fixed = TRUE)
  }
  path
}
