# Models. A model is a reference object, as in keras: compile() and fit()
# change it in place. It is an R function (calling it on symbolic tensors
# nests the model in a functional model, on data it predicts) whose
# fields live in an environment reached with `$`: the layer specs and,
# once the input shape is known, the engine model behind an external
# pointer.

# Creates a model object with no fields.
new_model_object <- function(classes) {
  fields <- new.env(parent = emptyenv())
  model <- function(object, ...) call_model_object(model, object, ...)
  class(model) <- classes
  model
}

model_fields <- function(x) environment(x)$fields

#' @export
`$.kerust_model` <- function(x, name) {
  # Stored fields come first: this runs on every field access, so on every
  # predict() call several times.
  fields <- environment(x)$fields
  value <- .subset2(fields, name)
  if (!is.null(value)) {
    return(value)
  }
  if (identical(name, "trainable")) {
    states <- lapply(fields$layers, function(l) fields$layer_states[[l$name]])
    return(all(vapply(states, function(st) is.null(st) || isTRUE(st$trainable), TRUE)))
  }
  if (name %in% c("input", "inputs", "output", "outputs")) {
    if (!inherits(x, "kerust_functional")) {
      return(sequential_tensors(x, name))
    }
    if (name %in% c("input", "output")) {
      tensors <- fields[[paste0(name, "s")]]
      return(if (length(tensors) == 1) tensors[[1]] else tensors)
    }
  }
  NULL
}

#' @export
`[[.kerust_model` <- function(x, i, ...) `$.kerust_model`(x, i)

#' @export
`$<-.kerust_model` <- function(x, name, value) {
  if (identical(name, "trainable")) {
    # As in keras, `model$trainable <- FALSE` freezes every layer.
    check_flag(value, "trainable")
    if (length(model_fields(x)$layers)) set_layers_trainable(x, NULL, NULL, NULL, value)
    return(x)
  }
  assign(name, value, envir = model_fields(x))
  x
}

#' @export
names.kerust_model <- function(x) sort(ls(model_fields(x)))

#' Create a Sequential model
#'
#' A Sequential model is a stack of layers where each layer has one input
#' and one output. Add layers with the pipe: `keras_model_sequential(input_shape
#' = 784) |> layer_dense(10)`. The model is a reference object: layer
#' functions, [compile()] and [fit()] change it in place.
#'
#' When `input_shape` is given, the weights are created as layers are added.
#' Otherwise they are created when the model first sees data (in `fit()`,
#' `evaluate()` or `predict()`), or when a layer is given `input_shape`.
#' Initial weights are drawn from the engine's generator, which is seeded
#' from R's random number generator when the model is created, so
#' `set.seed()` makes them reproducible.
#'
#' @param input_shape The shape of one sample, without the batch axis (for
#'   example `784` or `c(28, 28, 1)`), or `NULL`.
#' @param name Model name; by default `sequential`, `sequential_1`, ...
#' @param ... Reserved; must be empty, except `input_batch_shape` as in
#'   keras (its first entry, the batch size, is ignored).
#' @param layers A list of layers (created by layer functions called
#'   without a model) to add.
#' @returns A model of class `kerust_sequential`.
#' @export
#' @examples
#' set.seed(1)
#' model <- keras_model_sequential(input_shape = 4) |>
#'   layer_dense(8, activation = "relu") |>
#'   layer_dense(3, activation = "softmax")
#' summary(model)
keras_model_sequential <- function(input_shape = NULL, name = NULL, ..., layers = list()) {
  dots <- list(...)
  if (length(dots)) {
    if (!identical(names(dots), "input_batch_shape")) {
      abort(sprintf("Unknown argument%s in keras_model_sequential(): %s.", if (length(dots) > 1) "s" else "", paste0("`", names(dots), "`", collapse = ", ")))
    }
    input_shape <- dots$input_batch_shape[-1]
  }
  if (!is.null(input_shape)) input_shape <- check_shape(input_shape, "input_shape")
  name <- if (is.null(name)) unique_name("sequential") else check_string(name, "name")
  if (inherits(layers, "kerust_layer")) layers <- list(layers)
  if (!is.list(layers)) {
    abort(sprintf("`layers` must be a list of layers, got %s.", describe(layers)))
  }
  model <- new_model(name, input_shape, draw_seed())
  if (!is.null(input_shape)) build_model(model)
  for (i in seq_along(layers)) {
    if (!inherits(layers[[i]], "kerust_layer")) {
      abort(sprintf("`layers[[%d]]` must be a layer created by a layer_*() function, got %s.", i, describe(layers[[i]])))
    }
    spec <- layer_spec(layers[[i]])
    add_layer(model, spec, input_shape = spec$input_shape)
    if (is_layer_object(layers[[i]])) attach_layer_state(model, layer_state(layers[[i]]))
  }
  model
}

# Creates an empty Sequential model object without an engine model.
# `seed` seeds the engine model that build_model() creates.
new_model <- function(name, input_shape, seed) {
  model <- new_model_object(c("kerust_sequential", "kerust_model"))
  model$name <- name
  model$input_shape <- input_shape
  model$seed <- seed
  model$layers <- list()
  model$ptr <- NULL
  model$compiled <- NULL
  model$stop_training <- FALSE
  model
}

# Creates the engine model once the input shape is known and adds the
# layers recorded so far.
build_model <- function(model, call = sys.call(-1)) {
  ptr <- engine_call(rs_model_new(model$name, as.double(model$input_shape), model$seed), call = call)
  for (layer in model$layers) engine_add_layer(ptr, layer, call = call)
  model$ptr <- ptr
  refresh_snapshot(model, call = call)
  invisible(model)
}

is_built <- function(model) !is.null(model$ptr)

add_layer <- function(model, layer, input_shape = NULL, call = sys.call(-1)) {
  if (layer$name %in% vapply(model$layers, function(l) l$name, "")) {
    abort(sprintf("The model already has a layer named \"%s\"; layer names must be unique.", layer$name), call = call)
  }
  if (!is.null(input_shape)) {
    if (length(model$layers) > 0 || (is_built(model) && !identical(as.integer(model$input_shape), input_shape))) {
      abort(
        sprintf(
          "`input_shape` can only be given to the first layer of a model created without one; layer \"%s\" got input_shape = %s.",
          layer$name, deparse(input_shape)
        ),
        call = call
      )
    }
    if (!is_built(model)) {
      model$input_shape <- input_shape
      build_model(model, call = call)
    }
  }
  if (is_built(model)) engine_add_layer(model$ptr, layer, call = call)
  model$layers <- c(model$layers, list(layer))
  model$symbolic <- NULL
  refresh_snapshot(model, call = call)
  invisible(model)
}

# Builds the model from the shape of its input data when needed.
ensure_built <- function(model, x, call = sys.call(-1)) {
  if (is_built(model)) {
    return(invisible(model))
  }
  dims <- if (is.null(dim(x))) length(x) else dim(x)
  model$input_shape <- if (length(dims) > 1) dims[-1] else 1L
  build_model(model, call = call)
}

check_model <- function(object, call = sys.call(-1)) {
  if (!inherits(object, "kerust_model")) {
    abort(sprintf("`object` must be a kerust model, got %s.", describe(object)), call = call)
  }
  # A model read back by readRDS() or load(), or received from another
  # process, has a NULL external pointer, so its engine model is rebuilt
  # from the snapshot.
  ptr <- model_fields(object)$ptr
  if (!is.null(ptr) && !ptr_valid(ptr)) restore_engine_model(object, call = call)
  invisible(object)
}

# An external pointer read back from saveRDS() is NULL inside.
ptr_valid <- function(ptr) {
  !identical(ptr, NULL) && !rs_handle_is_null(ptr)
}

#' Layers and weights of a model
#'
#' `get_weights()` returns all weights as a list of R arrays in keras's
#' order (for each layer, kernel then bias) with keras's shapes (a dense
#' kernel is `input_dim x units`). Given a layer (from [get_layer()] or a
#' layer object used in a model), `get_weights()` and `set_weights()` read
#' and write that layer's weights only. `set_weights()` replaces them from such a
#' list. `count_params()` returns the number of weights. `pop_layer()`
#' removes the last layer of a Sequential model.
#'
#' @param object A model, or for `get_weights()` and `set_weights()` a layer.
#' @param weights A list of arrays with the shapes `get_weights()` returns.
#' @param ... Unused.
#' @returns `get_weights()`: a list of arrays. `set_weights()` and
#'   `pop_layer()`: the model, invisibly. `count_params()`: a number.
#' @name model-weights
#' @examples
#' model <- keras_model_sequential(input_shape = 2) |> layer_dense(3)
#' w <- get_weights(model)
#' str(w)
#' w[[2]][] <- 1
#' set_weights(model, w)
#' count_params(model)
NULL

#' @rdname model-weights
#' @export
get_weights <- function(object, ...) {
  if (is_layer_object(object)) {
    return(layer_weights(layer_state(object)))
  }
  check_model(object)
  if (!is_built(object)) {
    return(list())
  }
  sync_shared_layers(object)
  w <- engine_call(rs_get_weights(object$ptr))
  names(w) <- NULL
  lapply(w, function(a) if (length(dim(a)) == 0) as.array(a) else a)
}

#' @rdname model-weights
#' @export
set_weights <- function(object, weights, ...) {
  if (is_layer_object(object)) {
    set_layer_weights(layer_state(object), weights)
    return(invisible(object))
  }
  check_model(object)
  if (!is.list(weights)) {
    abort(sprintf("`weights` must be a list of arrays as returned by get_weights(), got %s.", describe(weights)))
  }
  if (!is_built(object)) {
    abort("The model has no weights yet: give it an `input_shape` or fit it first.")
  }
  weights <- lapply(weights, function(w) if (is.null(dim(w))) array(w, length(w)) else w)
  engine_call(rs_set_weights(object$ptr, weights))
  claim_shared_layers(object)
  refresh_snapshot(object)
  invisible(object)
}

#' @rdname model-weights
#' @export
count_params <- function(object) {
  check_model(object)
  if (!is_built(object)) {
    abort("The model is not built yet: give it an `input_shape` or fit it first.")
  }
  info <- engine_call(rs_layers(object$ptr))
  sum(info$params)
}

#' @rdname model-weights
#' @export
pop_layer <- function(object) {
  check_model(object)
  if (length(object$layers) == 0) {
    abort("The model has no layers to remove.")
  }
  removed <- object$layers[[length(object$layers)]]$name
  state <- object$layer_states[[removed]]
  if (!is.null(state)) {
    if (is_built(object)) sync_shared_layers(object)
    detach_layer_state(object, state)
    object$layer_states[[removed]] <- NULL
  }
  if (is_built(object)) engine_call(rs_pop(object$ptr))
  object$layers <- object$layers[-length(object$layers)]
  object$symbolic <- NULL
  refresh_snapshot(object)
  invisible(object)
}

format_count <- function(n) formatC(n, format = "d", big.mark = ",")

format_bytes <- function(bytes) {
  units <- c("B", "KB", "MB", "GB")
  i <- 1
  while (bytes >= 1024 && i < length(units)) {
    bytes <- bytes / 1024
    i <- i + 1
  }
  sprintf("%.2f %s", bytes, units[i])
}

format_output_shape <- function(shape) {
  sprintf("(None, %s)", paste(shape, collapse = ", "))
}

#' Summarise a model
#'
#' Prints keras's table of layers with their output shapes and parameter
#' counts, and the total, trainable and non-trainable parameters with their
#' size in memory (4 bytes per float32 weight).
#'
#' @param object,x A model.
#' @param ... Unused.
#' @returns The model, invisibly.
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 784) |>
#'   layer_dense(256, activation = "relu") |>
#'   layer_dense(10, activation = "softmax")
#' summary(model)
summary.kerust_model <- function(object, ...) {
  check_model(object)
  cat(sprintf("Model: \"%s\"\n", object$name))
  if (!is_built(object)) {
    cat("The model is not built yet: its input shape is unknown until it is fitted or given `input_shape`.\n")
    for (layer in object$layers) cat(sprintf("  %s (%s)\n", layer$name, layer$class_name))
    return(invisible(object))
  }
  sync_shared_layers(object)
  info <- engine_call(rs_layers(object$ptr))
  rows <- data.frame(
    layer = sprintf("%s (%s)", info$name, info$class),
    shape = vapply(info$output_shape, format_output_shape, ""),
    params = format_count(info$params),
    stringsAsFactors = FALSE
  )
  cells <- lapply(seq_len(nrow(rows)), function(i) unlist(rows[i, ]))
  header <- c("Layer (type)", "Output Shape", "Param #")
  min_widths <- c(31, 22, 13)
  if (inherits(object, "kerust_functional")) {
    graph <- engine_call(rs_graph_info(object$ptr))
    links <- connected_to(object, graph)
    inputs <- lapply(seq_along(graph$input_names), function(k) {
      list(c(sprintf("%s (InputLayer)", graph$input_names[k]), format_output_shape(graph$input_shapes[[k]]), "0", "-"))
    })
    layers <- lapply(seq_along(cells), function(i) {
      to <- if (length(links[[i]])) links[[i]] else "-"
      c(list(c(cells[[i]], to[1])), lapply(to[-1], function(t) c("", "", "", t)))
    })
    cells <- c(inputs, layers)
    header <- c(header, "Connected to")
    min_widths <- c(min_widths, 21)
  } else {
    cells <- lapply(cells, list)
  }
  print_table(header, cells, min_widths)
  total <- sum(info$params)
  trainable <- sum(info$trainable)
  cat(sprintf(" Total params: %s (%s)\n", format_count(total), format_bytes(4 * total)))
  cat(sprintf(" Trainable params: %s (%s)\n", format_count(trainable), format_bytes(4 * trainable)))
  cat(sprintf(" Non-trainable params: %s (%s)\n", format_count(total - trainable), format_bytes(4 * (total - trainable))))
  invisible(object)
}

# Prints keras's summary table: `cells` holds one entry per row, each a
# list of lines (character vectors with one value per column); numbers in
# the third column are right-aligned.
print_table <- function(header, cells, min_widths) {
  utf8 <- isTRUE(l10n_info()$`UTF-8`)
  # The table is drawn with the box characters of Keras 3's summary (a
  # heavy header, light rows), or ASCII in a non-UTF-8 locale.
  box <- if (utf8) {
    list(
      h = "\u2500", v = "\u2502", hh = "\u2501", hv = "\u2503",
      top = c("\u250f", "\u2533", "\u2513"), head = c("\u2521", "\u2547", "\u2529"),
      mid = c("\u251c", "\u253c", "\u2524"), bottom = c("\u2514", "\u2534", "\u2518")
    )
  } else {
    list(
      h = "-", v = "|", hh = "=", hv = "|",
      top = c("+", "+", "+"), head = c("+", "+", "+"), mid = c("+", "+", "+"), bottom = c("+", "+", "+")
    )
  }
  all_lines <- do.call(rbind, c(list(header), unlist(cells, recursive = FALSE)))
  widths <- pmax(min_widths, apply(all_lines, 2, function(col) max(nchar(col))))
  right <- seq_along(header) == 3
  rule <- function(corners, fill) {
    cat(corners[1], paste(vapply(widths, function(w) strrep(fill, w + 2), ""), collapse = corners[2]), corners[3], "\n", sep = "")
  }
  line <- function(values, bar = box$v, align_right = right) {
    padded <- vapply(seq_along(values), function(i) {
      formatC(values[i], width = if (align_right[i]) widths[i] else -widths[i])
    }, "")
    cat(bar, " ", paste(padded, collapse = paste0(" ", bar, " ")), " ", bar, "\n", sep = "")
  }
  rule(box$top, box$hh)
  line(header, bar = box$hv, align_right = rep(FALSE, length(header)))
  rule(box$head, box$hh)
  for (i in seq_along(cells)) {
    if (i > 1) rule(box$mid, box$h)
    for (values in cells[[i]]) line(values)
  }
  rule(box$bottom, box$h)
}

#' @rdname summary.kerust_model
#' @export
print.kerust_model <- function(x, ...) {
  summary.kerust_model(x, ...)
}
