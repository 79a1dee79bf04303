# Saving and loading models. A saved model is a zip archive with the layout
# of Keras 3's .keras files (metadata.json, config.json and the weights, here
# as model.weights.safetensors); the engine writes and reads it.
#
# Every built model also keeps the same bytes in `model$snapshot`, refreshed
# after each change of its engine state, so that a copy made by saveRDS(),
# save() or another R process can rebuild the engine model, which an
# external pointer cannot carry (see check_model()).

#' Save and load a model
#'
#' `save_model()` writes a model to a `.keras` file: its architecture, all
#' its weights, its compile configuration (optimizer, loss and metrics) and
#' the optimizer's state. `load_model()` reads it back as a model that
#' predicts exactly as the saved one and can continue training from where it
#' stopped: fitting a loaded model with `initial_epoch` repeats, bit for bit,
#' the epochs an uninterrupted run would have trained.
#'
#' The file is a zip archive laid out like Keras 3's `.keras` files:
#' `metadata.json` names kerust and the format version, `config.json`
#' describes the model in Keras's config format (each layer under its Keras
#' class name with the keys Keras 3 writes, so Keras 3 reads the
#' architecture), and
#' `model.weights.safetensors` holds the weights and the optimizer state in
#' the safetensors format. Keras itself stores the weights as HDF5
#' (`model.weights.h5`); kerust cannot read those yet and says so.
#'
#' Functional models ([keras_model()]) are written as Keras's `Functional`
#' config, with each layer's calls (a shared layer once, with one inbound
#' node per call), merge layers, frozen layers and the losses, metrics and
#' loss weights of each output. `load_model()` returns them as functional
#' models with symbolic inputs and outputs, which can be called on new
#' tensors like the saved model.
#'
#' The file is written to a temporary file in the same directory, which then
#' replaces `filepath`, so an interrupted or failed save never leaves a
#' partly written file behind. Files written by this version of kerust load
#' in later versions; a file from a later version that uses a newer format
#' gives an error asking to update kerust.
#'
#' Models also survive [saveRDS()]/[readRDS()], [save()]/[load()] and being
#' sent to other R processes (for example by `parallel::mclapply()`): the
#' model object carries its saved form, from which the engine model is
#' rebuilt on first use.
#'
#' @param model For `save_model()`, a built model. For `load_model()`, the
#'   path of a `.keras` file, or a raw vector as returned by
#'   `save_model(filepath = NULL)` or [serialize_model()].
#' @param filepath Path of the file to write; it must end in `.keras`. With
#'   `NULL`, the saved bytes are returned as a raw vector instead.
#' @param overwrite Whether to replace an existing file. With `FALSE`, an
#'   existing `filepath` is an error. The default is `TRUE`, as in Keras 3's
#'   Python `save_model()`; keras3 for R defaults to `FALSE` and asks before
#'   replacing a file in an interactive session.
#' @param zipped Must be `NULL` or `TRUE`: kerust always writes a zip
#'   archive.
#' @param ... Unused; must be empty.
#' @param custom_objects Must be `NULL`: kerust models contain no custom
#'   code.
#' @param compile Whether to restore the compile configuration and the
#'   optimizer state. With `FALSE` the model is returned uncompiled.
#' @param safe_mode Accepted for compatibility with keras and ignored: a
#'   kerust file contains no code to run.
#' @returns `save_model()`: the model, invisibly, or a raw vector when
#'   `filepath` is `NULL`. `load_model()`: a model.
#' @seealso [save_model_weights()] for the weights alone, [serialize_model()]
#'   for raw vectors.
#' @export
#' @examples
#' set.seed(1)
#' model <- keras_model_sequential(input_shape = 3) |>
#'   layer_dense(4, activation = "relu") |>
#'   layer_dense(1)
#' model |> compile(optimizer = "adam", loss = "mse")
#' x <- matrix(runif(30), ncol = 3)
#' model |> fit(x, rowSums(x), epochs = 2, verbose = 0)
#'
#' path <- tempfile(fileext = ".keras")
#' save_model(model, path)
#' loaded <- load_model(path)
#' identical(predict(loaded, x), predict(model, x))
#' unlink(path)
save_model <- function(model, filepath = NULL, overwrite = TRUE, zipped = NULL, ...) {
  check_dots_empty(list(...), "save_model")
  check_saveable(model)
  if (!is.null(zipped) && !isTRUE(zipped)) {
    abort("`zipped = FALSE` (saving as a directory) is not supported; leave `zipped` NULL.")
  }
  check_flag(overwrite, "overwrite")
  if (is.null(filepath)) {
    return(model_bytes(model, include_optimizer = TRUE))
  }
  path <- check_model_path(filepath, weights_only = FALSE)
  check_overwrite(path, overwrite)
  write_model_file(model, path, weights_only = FALSE)
  invisible(model)
}

#' @rdname save_model
#' @export
load_model <- function(model, custom_objects = NULL, compile = TRUE, safe_mode = TRUE) {
  if (!is.null(custom_objects)) {
    abort("`custom_objects` must be NULL: kerust models contain no custom layers or functions.")
  }
  check_flag(compile, "compile")
  check_flag(safe_mode, "safe_mode")
  if (is.raw(model)) {
    ptr <- engine_call(rs_model_from_raw(model, compile, "the raw vector"))
    return(model_from_engine(ptr))
  }
  if (!is.character(model) || length(model) != 1 || is.na(model) || !nzchar(model)) {
    abort(sprintf("`model` must be the path of a .keras file or a raw vector, got %s.", describe(model)))
  }
  path <- path.expand(model)
  if (!file.exists(path)) {
    abort(sprintf("Cannot load \"%s\": the file does not exist.", model))
  }
  if (grepl("\\.weights\\.(safetensors|h5)$", path, ignore.case = TRUE)) {
    abort(sprintf(
      "Cannot load \"%s\" as a model: it is a weights file, without the architecture. Build the model and call load_model_weights(model, \"%s\").",
      model, model
    ))
  }
  ptr <- engine_call(rs_model_from_file(path, compile))
  model_from_engine(ptr)
}

#' Save and load the weights of a model
#'
#' `save_model_weights()` writes all weights of a model to a
#' `.weights.safetensors` file, in the safetensors format: each weight is a
#' float32 tensor named `layers/<layer name>/vars/<i>`, with `i` counting
#' the layer's weights from 0 (kernel, then bias). `load_model_weights()`
#' reads such a file, or the weights of a `.keras` file, into a model with
#' the same architecture.
#'
#' Layers are matched by name when every layer of the model that has weights
#' has a namesake in the file, and otherwise by their order, as keras does,
#' so a model built again in a new session (whose layers may be named
#' `dense_3` rather than `dense`) loads the weights of the old one. A layer
#' whose weights differ in number or shape is an error that leaves the model
#' unchanged; with `skip_mismatch = TRUE` such layers keep their weights and
#' a warning lists them. The optimizer state is not part of a weights file.
#'
#' Keras's own `.weights.h5` files (HDF5) cannot be read or written yet.
#'
#' @param model A built model.
#' @param filepath Path of the weights file; it must end in
#'   `.weights.safetensors`. `load_model_weights()` also reads `.keras`
#'   files written by [save_model()].
#' @param overwrite Whether to replace an existing file. With `FALSE`, an
#'   existing `filepath` is an error.
#' @param skip_mismatch Whether to skip layers whose weights do not fit
#'   instead of raising an error.
#' @param ... Unused; must be empty.
#' @returns The model, invisibly.
#' @export
#' @examples
#' set.seed(1)
#' model <- keras_model_sequential(input_shape = 3) |>
#'   layer_dense(4, activation = "relu") |>
#'   layer_dense(1)
#' path <- tempfile(fileext = ".weights.safetensors")
#' save_model_weights(model, path)
#'
#' # A model with the same architecture, and other initial weights.
#' other <- keras_model_sequential(input_shape = 3) |>
#'   layer_dense(4, activation = "relu") |>
#'   layer_dense(1)
#' load_model_weights(other, path)
#' identical(get_weights(other), get_weights(model))
#' unlink(path)
save_model_weights <- function(model, filepath, overwrite = TRUE) {
  check_saveable(model)
  check_flag(overwrite, "overwrite")
  path <- check_model_path(filepath, weights_only = TRUE)
  check_overwrite(path, overwrite)
  write_model_file(model, path, weights_only = TRUE)
  invisible(model)
}

#' @rdname save_model_weights
#' @export
load_model_weights <- function(model, filepath, skip_mismatch = FALSE, ...) {
  check_dots_empty(list(...), "load_model_weights")
  check_model(model)
  if (!is_built(model)) {
    abort("The model has no weights yet: give it an `input_shape` or fit it before loading weights.")
  }
  check_flag(skip_mismatch, "skip_mismatch")
  check_string(filepath, "filepath")
  path <- path.expand(filepath)
  if (grepl("\\.(h5|hdf5)$", path, ignore.case = TRUE)) {
    abort(sprintf(
      "Cannot load \"%s\": reading Keras HDF5 weights (.weights.h5) is not supported yet. Save the weights with save_model_weights(model, \"%s\") instead.",
      filepath, sub("\\.(weights\\.)?(h5|hdf5)$", ".weights.safetensors", filepath, ignore.case = TRUE)
    ))
  }
  if (!grepl("\\.(safetensors|keras)$", path, ignore.case = TRUE)) {
    abort(sprintf(
      "`filepath` must end in \".weights.safetensors\" or \".keras\", got \"%s\".",
      filepath
    ))
  }
  if (!file.exists(path)) {
    abort(sprintf("Cannot load weights from \"%s\": the file does not exist.", filepath))
  }
  sync_shared_layers(model)
  skipped <- engine_call(rs_load_weights_file(model$ptr, path, skip_mismatch))
  claim_shared_layers(model)
  refresh_snapshot(model)
  if (length(skipped)) {
    warning(sprintf(
      "Skipped %d mismatched layer%s while loading weights from \"%s\":\n%s",
      length(skipped), if (length(skipped) == 1) "" else "s", filepath,
      paste0("* ", skipped, collapse = "\n")
    ), call. = FALSE)
  }
  invisible(model)
}

#' Serialize a model to a raw vector
#'
#' `serialize_model()` returns the bytes that [save_model()] writes to a
#' `.keras` file, as a raw vector that can be stored in an R object, a
#' database or sent over a connection. `unserialize_model()` rebuilds the
#' model. A model object is itself safe to [saveRDS()]; these functions are
#' for storing the bytes elsewhere.
#'
#' @param model For `serialize_model()`, a built model. For
#'   `unserialize_model()`, a raw vector returned by `serialize_model()`.
#' @param include_optimizer Whether to include the optimizer's state. The
#'   compile configuration is included either way; without the state, a
#'   loaded model continues training with a fresh optimizer.
#' @param custom_objects Must be `NULL`.
#' @param compile Whether to restore the compile configuration and the
#'   optimizer state.
#' @returns `serialize_model()`: a raw vector. `unserialize_model()`: a model.
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
#' bytes <- serialize_model(model)
#' restored <- unserialize_model(bytes)
#' identical(get_weights(restored), get_weights(model))
serialize_model <- function(model, include_optimizer = TRUE) {
  check_saveable(model)
  check_flag(include_optimizer, "include_optimizer")
  model_bytes(model, include_optimizer)
}

#' @rdname serialize_model
#' @export
unserialize_model <- function(model, custom_objects = NULL, compile = TRUE) {
  if (!is.raw(model)) {
    abort(sprintf("`model` must be a raw vector returned by serialize_model(), got %s.", describe(model)))
  }
  load_model(model, custom_objects = custom_objects, compile = compile)
}

# Writes `model` to `path` (a .keras file, or with `weights_only` a
# .weights.safetensors file), replacing it atomically. For
# callback_model_checkpoint(): it may run while fit() trains the model.
save_model_file <- function(model, path, weights_only = FALSE, call = sys.call(-1)) {
  check_saveable(model, call = call)
  path <- check_model_path(path, weights_only, call = call)
  write_model_file(model, path, weights_only, call = call)
  invisible(model)
}

write_model_file <- function(model, path, weights_only, call = sys.call(-1)) {
  sync_shared_layers(model, call = call)
  engine_call(rs_model_to_file(model$ptr, path, kerust_version(), TRUE, weights_only), call = call)
}

model_bytes <- function(model, include_optimizer, call = sys.call(-1)) {
  sync_shared_layers(model, call = call)
  engine_call(rs_model_to_raw(model$ptr, kerust_version(), include_optimizer), call = call)
}

check_saveable <- function(model, call = sys.call(-1)) {
  check_model(model, call = call)
  if (!is_built(model)) {
    abort(
      "The model is not built yet, so it has no weights to save: give it an `input_shape` or fit it first.",
      call = call
    )
  }
  # Layers shared with a model trained since bring their newest weights.
  sync_shared_layers(model, call = call)
}

# Checks the extension of a path to write and returns it expanded.
check_model_path <- function(filepath, weights_only, call = sys.call(-1)) {
  check_string(filepath, "filepath", call = call)
  path <- path.expand(filepath)
  if (weights_only) {
    if (grepl("\\.(h5|hdf5)$", path, ignore.case = TRUE)) {
      abort(sprintf(
        "`filepath` must end in \".weights.safetensors\": kerust cannot write Keras HDF5 weights yet. Use \"%s\".",
        sub("\\.(weights\\.)?(h5|hdf5)$", ".weights.safetensors", filepath, ignore.case = TRUE)
      ), call = call)
    }
    if (!endsWith(path, ".weights.safetensors")) {
      abort(sprintf("`filepath` must end in \".weights.safetensors\", got \"%s\".", filepath), call = call)
    }
  } else {
    if (grepl("\\.(h5|hdf5)$", path, ignore.case = TRUE)) {
      abort(sprintf(
        "`filepath` must end in \".keras\": the legacy HDF5 format (.h5) is not supported. Use \"%s\".",
        sub("\\.(h5|hdf5)$", ".keras", filepath, ignore.case = TRUE)
      ), call = call)
    }
    if (!endsWith(path, ".keras")) {
      abort(sprintf("`filepath` must end in \".keras\", got \"%s\".", filepath), call = call)
    }
  }
  path
}

check_overwrite <- function(path, overwrite, call = sys.call(-1)) {
  if (!overwrite && file.exists(path)) {
    abort(sprintf("The file \"%s\" already exists; pass `overwrite = TRUE` to replace it.", path), call = call)
  }
}

kerust_version <- function() {
  if (is.null(.saving$version)) {
    .saving$version <- as.character(utils::packageVersion("kerust"))
  }
  .saving$version
}

.saving <- new.env(parent = emptyenv())

# Stores the model's saved form in `model$snapshot`. Call after every change
# of the engine model's state. A model whose layers cannot be saved yet
# keeps no snapshot, and the reason is shown if a copy needs it.
refresh_snapshot <- function(model, call = sys.call(-1)) {
  if (!is_built(model)) {
    return(invisible(model))
  }
  model$snapshot <- tryCatch(
    {
      bytes <- model_bytes(model, include_optimizer = TRUE, call = call)
      model$snapshot_error <- NULL
      bytes
    },
    kerust_error = function(e) {
      model$snapshot_error <- conditionMessage(e)
      NULL
    }
  )
  if (inherits(model, "kerust_functional")) {
    # A functional model whose saved form cannot be written can still be
    # rebuilt from its tensors, with these weights and a fresh optimizer.
    model$weights_snapshot <- if (is.null(model$snapshot)) engine_call(rs_get_weights(model$ptr), call = call)
  }
  invisible(model)
}

# Rebuilds the engine model of a model object whose external pointer is
# dead (it was read back by readRDS() or load(), or came from another
# process) from its snapshot.
restore_engine_model <- function(model, call = sys.call(-1)) {
  if (inherits(model, "kerust_functional") && is.null(model$snapshot) && !is.null(model$weights_snapshot)) {
    build_functional(model, call = call)
    engine_call(rs_set_weights(model$ptr, unname(model$weights_snapshot)), call = call)
    model$engine_compiled <- FALSE
    if (length(model$layer_versions)) model$layer_versions[] <- 0L
    for (layer in model$layers) reserve_name(layer$name)
    return(invisible(model))
  }
  if (is.null(model$snapshot)) {
    reason <- if (is.null(model$snapshot_error)) {
      "it contains no saved state (it was saved by an older version of kerust)"
    } else {
      sprintf("it could not be saved (%s)", model$snapshot_error)
    }
    abort(sprintf(
      "The model's engine state is missing: the model object was copied (saveRDS(), load() or another process), and %s. Rebuild and retrain the model.",
      reason
    ), call = call)
  }
  model$ptr <- engine_call(rs_model_from_raw(model$snapshot, TRUE, "the model's saved state"), call = call)
  # The snapshot holds the weights of the last refresh, so shared layers
  # are taken again from the model that changed them last.
  if (length(model$layer_versions)) model$layer_versions[] <- 0L
  for (layer in model$layers) reserve_name(layer$name)
  invisible(model)
}

# Creates the R model object of an engine model loaded from a file: the
# layer and compile objects are rebuilt with the layer_*(), optimizer_*(),
# loss_*() and metric_*() functions from the engine's description.
model_from_engine <- function(ptr, call = sys.call(-1)) {
  info <- engine_call(rs_model_description(ptr), call = call)
  if (isTRUE(info$is_graph)) {
    return(functional_from_engine(ptr, info, call = call))
  }
  # The engine model carries its own training seed; this one would only
  # seed a rebuild from the layer objects, which a built model never needs.
  model <- new_model(info$name, as.integer(info$input_shape), NA_real_)
  model$layers <- lapply(info$layers, layer_from_description)
  # Layers added later get default names that the loaded ones do not use.
  for (layer in model$layers) reserve_name(layer$name)
  model$ptr <- ptr
  # Layers frozen in the file stay frozen: their layer objects say so.
  for (i in which(!as.logical(info$trainable))) {
    state <- model_layer_state(model, model$layers[[i]]$name)
    state$trainable <- FALSE
  }
  if (!is.null(info$compiled)) {
    model$compiled <- compiled_from_description(info$compiled)
    model$engine_compiled <- TRUE
  }
  refresh_snapshot(model, call = call)
  model
}

# Calls the kerust function `prefix` + `name` with `args`.
call_constructor <- function(prefix, name, args) {
  do.call(get(paste0(prefix, name), envir = asNamespace("kerust"), mode = "function"), args)
}

# Creates the layer object of an engine layer description: `d$type` names
# the layer function and `d$args` its arguments, with each initializer
# given as list(name, args) and each regularizer as list(l1, l2).
# NOTE: the engine keeps rates, momentum, epsilon, augmentation factors and
# fill values as float32 and describes each by the shortest decimal of its
# float32. A value such as 0.3 comes back unchanged, but rate = 1 / 3 comes
# back as 0.33333334.
layer_from_description <- function(d) {
  args <- d$args
  for (arg in grep("_initializer$", names(args), value = TRUE)) {
    args[[arg]] <- call_constructor("initializer_", args[[arg]]$name, args[[arg]]$args)
  }
  for (arg in grep("_regularizer$", names(args), value = TRUE)) {
    if (!is.null(args[[arg]])) {
      args[[arg]] <- regularizer_l1_l2(l1 = args[[arg]]$l1, l2 = args[[arg]]$l2)
    }
  }
  layer_spec(call_constructor("layer_", d$type, c(list(NULL), args, list(name = d$name))))
}

compiled_from_description <- function(d) {
  optimizer_args <- d$optimizer$args
  if (is.list(optimizer_args$learning_rate)) {
    schedule <- optimizer_args$learning_rate
    optimizer_args$learning_rate <- call_constructor("learning_rate_schedule_", schedule$schedule, schedule$args)
  }
  loss_of <- function(l) call_constructor("loss_", l$name, l$args)
  metrics_of <- function(ms) lapply(ms, function(m) call_constructor("metric_", m$kind, m$args))
  config <- list(
    optimizer = call_constructor("optimizer_", d$optimizer$name, optimizer_args),
    loss = loss_of(d$loss),
    metrics = metrics_of(d$metrics)
  )
  if (length(d$heads)) {
    # A functional model with several outputs: one loss and one metric list per output.
    config$loss <- c(list(config$loss), lapply(d$heads, function(h) loss_of(h$loss)))
    config$metrics <- c(list(config$metrics), lapply(d$heads, function(h) metrics_of(h$metrics)))
    config$weighted_metrics <- rep(list(NULL), length(config$loss))
  }
  if (length(d$loss_weights)) config$loss_weights <- d$loss_weights
  config
}
