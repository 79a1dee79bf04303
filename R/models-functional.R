# The functional API. keras_input() returns a symbolic tensor; calling a
# layer on symbolic tensors records the call and returns a new tensor; and
# keras_model() turns the recorded graph between its inputs and outputs
# into an engine model. A layer object (a layer function called without a
# model or tensor) is an R function with a state environment that gives it
# an identity: calling one layer object twice shares its weights.

# ---- Layer objects -----------------------------------------------------------

# Creates the state of a layer object: its spec, the input shapes it was
# first called on, its trainable flag, and the model holding its newest
# weights (`owner`, with a `version` counter) when models share it.
new_layer_state <- function(spec) {
  state <- new.env(parent = emptyenv())
  state$spec <- spec
  state$input_shapes <- NULL
  state$trainable <- TRUE
  state$owner <- NULL
  state$version <- 0L
  state
}

# Wraps a layer spec into a callable layer object.
as_layer_object <- function(spec, state = new_layer_state(spec)) {
  force(state)
  layer <- function(object, ...) {
    if (...length()) check_dots_empty(list(...), state$spec$name)
    if (missing(object)) {
      abort(sprintf("Call layer \"%s\" on a tensor from keras_input() or on a model.", state$spec$name))
    }
    call_layer_object(state, object)
  }
  class(layer) <- class(spec)
  layer
}

is_layer_object <- function(x) is.function(x) && inherits(x, "kerust_layer")

layer_state <- function(x) environment(x)$state

# Returns the spec of a layer object, or `x` itself when it is a spec.
layer_spec <- function(x) if (is.function(x)) layer_state(x)$spec else x

#' @export
`$.kerust_layer` <- function(x, name) {
  if (!is.function(x)) {
    return(.subset2(x, name))
  }
  state <- layer_state(x)
  switch(name,
    trainable = state$trainable,
    weights = layer_weights(state),
    input = ,
    output = layer_tensor(state, name),
    state$spec[[name]]
  )
}

#' @export
`[[.kerust_layer` <- function(x, i, ...) {
  if (is.function(x)) `$.kerust_layer`(x, i) else .subset2(x, i)
}

#' @export
`$<-.kerust_layer` <- function(x, name, value) {
  if (!is.function(x)) {
    if (identical(name, "trainable")) {
      # model$layers holds layer descriptions; setting the flag there would
      # change nothing.
      abort(sprintf(
        "Set `trainable` on the layer object: get_layer(model, \"%s\")$trainable <- %s, or use freeze_weights().",
        .subset2(x, "name"), deparse(value)
      ))
    }
    return(NextMethod())
  }
  state <- layer_state(x)
  if (!identical(name, "trainable")) {
    abort(sprintf("Only `trainable` can be set on layer \"%s\"; got `%s`.", state$spec$name, name))
  }
  check_flag(value, "trainable")
  state$trainable <- value
  x
}

#' @export
names.kerust_layer <- function(x) {
  if (is.function(x)) c(names(layer_state(x)$spec), "trainable", "weights") else NextMethod()
}

# The input or output tensor of the first call of a layer; for a layer of
# a Sequential model, the model's symbolic graph is made first.
layer_tensor <- function(state, name) {
  if (is.null(state$output) && !is.null(state$owner) && inherits(state$owner, "kerust_sequential")) {
    sequential_tensors(state$owner, "outputs")
  }
  if (is.null(state$output)) {
    abort(sprintf("Layer \"%s\" has not been called on a tensor yet, so it has no %s.", state$spec$name, name))
  }
  state[[name]]
}

# The weights of a layer object, read from the model that holds its newest
# weights; an empty list before the layer is built.
layer_weights <- function(state) {
  owner <- state$owner
  if (is.null(owner)) {
    return(list())
  }
  all <- get_weights_named(owner)
  unname(all[startsWith(names(all), paste0(state$spec$name, "/"))])
}

# Replaces the weights of one layer in the model that holds its newest
# weights; the models sharing it pick them up before their next use.
set_layer_weights <- function(state, weights, call = sys.call(-1)) {
  owner <- state$owner
  if (is.null(owner)) {
    abort(sprintf("Layer \"%s\" has no weights yet: it is not part of a built model.", state$spec$name), call = call)
  }
  if (!is.list(weights)) {
    abort(sprintf("`weights` must be a list of arrays as returned by get_weights(), got %s.", describe(weights)), call = call)
  }
  all <- get_weights_named(owner)
  mine <- which(startsWith(names(all), paste0(state$spec$name, "/")))
  if (length(weights) != length(mine)) {
    abort(sprintf("`weights` has %d arrays but layer \"%s\" has %d weights.", length(weights), state$spec$name, length(mine)), call = call)
  }
  all[mine] <- weights
  set_weights(owner, unname(all))
}

get_weights_named <- function(model) {
  check_model(model)
  sync_shared_layers(model)
  w <- engine_call(rs_get_weights(model$ptr))
  lapply(w, function(a) if (length(dim(a)) == 0) as.array(a) else a)
}

# ---- Symbolic tensors ----------------------------------------------------------

.tensor_ids <- new.env(parent = emptyenv())

# Tensor ids are unique across R sessions (a session tag and a counter),
# so that tensors of a model read back by readRDS() never share an id with
# tensors made in the reading session. The tag does not use R's random
# number generator, which would change results after set.seed().
next_tensor_id <- function() {
  if (is.null(.tensor_ids$session)) {
    .tensor_ids$session <- sprintf("%x.%x", Sys.getpid(), as.integer((as.numeric(Sys.time()) * 1e6) %% 2^31))
  }
  id <- (.tensor_ids$last %||% 0L) + 1L
  .tensor_ids$last <- id
  paste0(.tensor_ids$session, ".", id)
}

new_tensor <- function(shape, origin) {
  structure(list(shape = as.integer(shape), id = next_tensor_id(), origin = origin), class = "kerust_tensor")
}

is_tensor <- function(x) inherits(x, "kerust_tensor")

is_tensor_list <- function(x) {
  is.list(x) && !is_tensor(x) && length(x) > 0 && all(vapply(x, is_tensor, TRUE))
}

#' @export
print.kerust_tensor <- function(x, ...) {
  name <- if (x$origin$kind == "input") x$origin$name else x$origin$state$spec$name
  cat(sprintf("<KerasTensor shape=%s, name=%s>\n", format_output_shape(x$shape), name))
  invisible(x)
}

#' @export
dim.kerust_tensor <- function(x) c(NA_integer_, x$shape)

#' Create a symbolic input of a functional model
#'
#' `keras_input()` starts a functional model: it returns a symbolic tensor
#' with the shape of one sample. Calling layers on it (`x |> layer_dense(8)`
#' or `layer_dense(units = 8)(x)`) returns new symbolic tensors, and
#' [keras_model()] builds the model from its inputs and outputs.
#' `layer_input()` is the older name of the same function.
#'
#' @param shape The shape of one sample, without the batch axis, e.g. `784`
#'   or `c(28, 28, 1)`.
#' @param batch_size Accepted for compatibility; the batch size is always free.
#' @param dtype `NULL` or `"float32"`.
#' @param sparse,tensor `NULL`/`FALSE`; sparse and existing tensors are not
#'   supported.
#' @param batch_shape Alternative to `shape`: the shape with the batch axis
#'   first (the batch entry is ignored).
#' @param name Name of the input; by default `input_layer`,
#'   `input_layer_1`, ... Data for a model with several inputs can be given
#'   as a list named by these names.
#' @param optional Must be `FALSE`.
#' @param ... For `layer_input()`, the arguments of `keras_input()`.
#' @returns A symbolic tensor (class `kerust_tensor`).
#' @family functional API
#' @export
#' @examples
#' inputs <- keras_input(shape = 4, name = "features")
#' outputs <- inputs |>
#'   layer_dense(8, activation = "relu") |>
#'   layer_dense(1)
#' model <- keras_model(inputs, outputs)
#' model
keras_input <- function(shape = NULL, batch_size = NULL, dtype = NULL, sparse = NULL,
                        batch_shape = NULL, name = NULL, tensor = NULL, optional = FALSE) {
  if (is.null(shape) && !is.null(batch_shape)) shape <- batch_shape[-1]
  if (is.null(shape)) abort("`shape` is required: the shape of one sample, e.g. keras_input(shape = 784).")
  if (is.list(shape)) shape <- unlist(lapply(shape, function(d) if (is.null(d)) NA else d))
  if (anyNA(shape)) {
    abort(sprintf("`shape` must be fully known: variable sizes (NA or NULL) are not supported yet, got %s.", describe(shape)))
  }
  shape <- check_shape(shape, "shape")
  if (!is.null(batch_size)) check_count(batch_size, "batch_size", min = 1)
  if (!is.null(dtype) && !identical(dtype, "float32")) {
    abort(sprintf("`dtype` must be \"float32\" (the only type kerust computes in), got %s.", describe(dtype)))
  }
  if (isTRUE(sparse) || !is.null(tensor) || !isFALSE(optional)) {
    abort("`sparse`, `tensor` and `optional` are not supported; leave them at their defaults.")
  }
  name <- layer_name(name, "input_layer")
  new_tensor(shape, list(kind = "input", name = name))
}

#' @rdname keras_input
#' @export
layer_input <- function(...) keras_input(...)

# Calls a layer object on a model (appending it) or on symbolic tensors.
call_layer_object <- function(state, object, call = sys.call(-1)) {
  if (inherits(object, "kerust_model")) {
    if (!inherits(object, "kerust_sequential")) {
      abort("Layers can only be appended to a Sequential model; call them on tensors to build a functional model.", call = call)
    }
    check_model(object, call = call)
    add_layer(object, state$spec, input_shape = state$spec$input_shape, call = call)
    attach_layer_state(object, state, call = call)
    return(invisible(object))
  }
  if (is_tensor(object) || is_tensor_list(object)) {
    return(call_on_tensors(state, object, call = call))
  }
  abort(sprintf(
    "Layer \"%s\" must be called on a tensor from keras_input(), a list of such tensors, or a Sequential model; got %s.",
    state$spec$name, describe(object)
  ), call = call)
}

# Records the call of a layer on symbolic tensors and returns the output
# tensor. The output shape comes from building the layer in a scratch
# engine model, so shape errors appear here, naming both layers.
call_on_tensors <- function(state, inputs, call = sys.call(-1)) {
  if (is_tensor(inputs)) inputs <- list(inputs)
  spec <- state$spec
  shapes <- lapply(inputs, function(t) t$shape)
  merge <- identical(spec$type, "merge")
  if (!merge && length(inputs) != 1) {
    abort(sprintf("Layer \"%s\" (%s) takes one input tensor, got a list of %d.", spec$name, spec$class_name, length(inputs)), call = call)
  }
  if (!is.null(state$input_shapes) && !identical(state$input_shapes, shapes)) {
    abort(sprintf(
      "Layer \"%s\" was first called on inputs of shape %s; calling it again (shared weights) needs the same shape, got %s.",
      spec$name, format_shapes(state$input_shapes), format_shapes(shapes)
    ), call = call)
  }
  ptr <- engine_call(rs_graph_new("shape_check", lapply(shapes, as.double), paste0("input_", seq_along(shapes)), 0), call = call)
  engine_call(rs_set_next_inputs(ptr, -as.double(seq_along(shapes))), call = call)
  tryCatch(
    engine_add_layer(ptr, spec, call = call),
    kerust_error = function(e) {
      sources <- vapply(inputs, tensor_source_name, "")
      abort(sprintf(
        "Layer \"%s\" (%s) cannot be called on the output of %s (shape %s): %s",
        spec$name, spec$class_name, paste0("\"", sources, "\"", collapse = " and "), format_shapes(shapes),
        sub("^\\[kerust\\] ", "", conditionMessage(e))
      ), call = call)
    }
  )
  info <- engine_call(rs_graph_info(ptr), call = call)
  if (any(info$output_shapes[[1]] > .Machine$integer.max)) {
    abort(sprintf(
      "Layer \"%s\" would output samples of shape (%s), with an axis longer than R can index.",
      spec$name, paste(format(info$output_shapes[[1]], scientific = FALSE), collapse = ", ")
    ), call = call)
  }
  state$input_shapes <- shapes
  output <- new_tensor(info$output_shapes[[1]], list(kind = "layer", state = state, inputs = inputs))
  if (is.null(state$output)) {
    state$input <- if (length(inputs) == 1) inputs[[1]] else inputs
    state$output <- output
  }
  output
}

# ---- Models as layers -------------------------------------------------------------

# Calls a model: on symbolic tensors, its layers are called on them (the
# model is nested in the graph being built and shares its weights); on
# data, it predicts.
call_model_object <- function(model, object, ..., call = sys.call(-1)) {
  if (is_tensor(object) || is_tensor_list(object)) {
    check_model(model, call = call)
    if (!is_built(model)) {
      abort("The model has no input shape yet, so it cannot be called on tensors: give it an `input_shape`.", call = call)
    }
    given <- if (is_tensor(object)) list(object) else object
    inputs <- model$inputs
    if (!is.null(names(given)) && all(nzchar(names(given)))) {
      given <- match_data_list(given, vapply(inputs, function(t) t$origin$name, ""), "object", "input", call = call)
    }
    if (length(given) != length(inputs)) {
      abort(sprintf("Model \"%s\" has %d input%s but was called on %d tensors.", model$name, length(inputs), if (length(inputs) == 1) "" else "s", length(given)), call = call)
    }
    outputs <- replay_graph(inputs, model$outputs, given, identity, call = call)
    # The outputs remember the model, so that get_layer() on a model built
    # from them finds it by name.
    outputs <- lapply(outputs, function(t) {
      t$nested <- model
      t
    })
    return(if (length(outputs) == 1) outputs[[1]] else outputs)
  }
  if (inherits(object, "kerust_model")) {
    abort(sprintf(
      "Model \"%s\" was called on another model; call it on tensors (e.g. model(keras_input(...)) or model(other_model$output)) or on data to predict.",
      model$name
    ), call = call)
  }
  stats::predict(model, object, ...)
}

# Calls the layers of the graph between `inputs` and `outputs` again on
# `new_inputs`, with the layer state `state_for(old_state)` for each
# layer. Returns the new output tensors.
replay_graph <- function(inputs, outputs, new_inputs, state_for, call = sys.call(-1)) {
  graph <- trace_graph(inputs, outputs, call = call)
  map <- new.env(parent = emptyenv())
  for (k in seq_along(inputs)) map[[inputs[[k]]$id]] <- new_inputs[[k]]
  for (t in graph$calls) {
    args <- lapply(t$origin$inputs, function(i) map[[i$id]])
    map[[t$id]] <- call_on_tensors(state_for(t$origin$state), if (length(args) == 1) args[[1]] else args, call = call)
  }
  lapply(outputs, function(o) map[[o$id]])
}

# The symbolic input and output of a built Sequential model, made once
# (and again after its layers change) by calling its layers on a new input.
sequential_tensors <- function(model, name) {
  fields <- model_fields(model)
  if (is.null(fields$symbolic)) {
    if (is.null(fields$ptr)) {
      abort(sprintf("Model \"%s\" has no input shape yet, so it has no %s: give it an `input_shape`.", fields$name, name))
    }
    input <- keras_input(fields$input_shape)
    t <- input
    for (spec in fields$layers) t <- call_on_tensors(model_layer_state(model, spec$name), t)
    fields$symbolic <- list(inputs = list(input), outputs = list(t))
  }
  switch(name,
    input = fields$symbolic$inputs[[1]],
    output = fields$symbolic$outputs[[1]],
    fields$symbolic[[name]]
  )
}

#' Clone a model
#'
#' Creates a model with the same layers and connections as `model`, with
#' newly initialized weights (drawn from R's random number generator, so
#' `set.seed()` makes them reproducible). The clone is not compiled and
#' shares nothing with `model`; layers shared within `model` stay shared
#' within the clone.
#'
#' @param model A model.
#' @param input_tensors `NULL`, or tensors from [keras_input()] to build
#'   the clone of a functional model on.
#' @param clone_function `NULL`, or a function taking a layer object and
#'   returning the layer object to use in the clone (for example a layer
#'   with other arguments).
#' @param call_function,recursive Not supported; must be `NULL` and `FALSE`.
#' @returns A new model.
#' @family functional API
#' @export
#' @examples
#' set.seed(1)
#' model <- keras_model_sequential(input_shape = 3) |> layer_dense(2)
#' copy <- clone_model(model)
#' summary(copy)
clone_model <- function(model, input_tensors = NULL, clone_function = NULL, call_function = NULL, recursive = FALSE) {
  check_model(model)
  if (!is.null(call_function) || !isFALSE(recursive)) {
    abort("`call_function` and `recursive` are not supported; leave them at their defaults.")
  }
  if (!is.null(clone_function) && !is.function(clone_function)) {
    abort(sprintf("`clone_function` must be NULL or a function taking and returning a layer, got %s.", describe(clone_function)))
  }
  clone_spec <- function(spec) {
    if (is.null(clone_function)) {
      return(spec)
    }
    layer <- clone_function(as_layer_object(spec))
    if (!inherits(layer, "kerust_layer")) {
      abort(sprintf("`clone_function` must return a layer, got %s for layer \"%s\".", describe(layer), spec$name))
    }
    layer_spec(layer)
  }
  if (inherits(model, "kerust_sequential")) {
    if (!is.null(input_tensors)) abort("`input_tensors` applies to functional models only.")
    copy <- keras_model_sequential(input_shape = model$input_shape, name = model$name)
    for (spec in model$layers) add_layer(copy, clone_spec(spec))
    return(copy)
  }
  inputs <- model$inputs
  if (is.null(input_tensors)) {
    input_tensors <- lapply(inputs, function(t) keras_input(t$shape, name = t$origin$name))
  }
  if (is_tensor(input_tensors)) input_tensors <- list(input_tensors)
  if (!is_tensor_list(input_tensors) || length(input_tensors) != length(inputs)) {
    abort(sprintf("`input_tensors` must be a list of %d tensors from keras_input().", length(inputs)))
  }
  fresh <- new.env(parent = emptyenv())
  state_for <- function(state) {
    key <- state$spec$name
    if (is.null(fresh[[key]])) {
      fresh[[key]] <- new_layer_state(clone_spec(state$spec))
      fresh[[key]]$trainable <- state$trainable
    }
    fresh[[key]]
  }
  outputs <- replay_graph(inputs, model$outputs, input_tensors, state_for)
  keras_model(input_tensors, outputs, name = model$name)
}

tensor_source_name <- function(t) {
  if (t$origin$kind == "input") t$origin$name else t$origin$state$spec$name
}

format_shapes <- function(shapes) {
  paste(vapply(shapes, format_output_shape, ""), collapse = " and ")
}

# ---- Merge layers ----------------------------------------------------------------

# Builds a merge layer and calls it on the tensors in `inputs` (and in the
# unnamed arguments of `...`), or returns the layer object.
merge_layer <- function(inputs, dots, op, class_name, base, name, config = list(), call = sys.call(-1)) {
  extra <- if (length(dots)) dots[is.null(names(dots)) | !nzchar(names(dots) %||% rep("", length(dots)))] else list()
  named <- setdiff(names(dots), "")
  if (length(named)) {
    abort(sprintf("Unknown argument%s: %s.", if (length(named) > 1) "s" else "", paste0("`", named, "`", collapse = ", ")), call = call)
  }
  spec <- new_layer("merge", class_name, layer_name(name, base), c(list(op = op), config))
  layer <- as_layer_object(spec)
  if (is.null(inputs)) {
    return(layer)
  }
  if (is_tensor(inputs)) inputs <- list(inputs)
  inputs <- c(inputs, extra)
  if (!is_tensor_list(inputs)) {
    abort(sprintf("`inputs` must be a list of tensors from keras_input() or layer calls, got %s.", describe(inputs)), call = call)
  }
  call_on_tensors(layer_state(layer), inputs, call = call)
}

register_layer_adder("merge", function(ptr, layer, call) {
  cfg <- layer$config
  axes <- switch(cfg$op,
    concatenate = cfg$axis,
    dot = cfg$axes,
    numeric()
  )
  engine_call(rs_add_merge(ptr, layer$name, cfg$op, as.double(axes), isTRUE(cfg$normalize)), call = call)
})

#' Merge layers
#'
#' Layers that combine several tensors of a functional model:
#' `layer_add()`, `layer_subtract()` (exactly two inputs),
#' `layer_multiply()`, `layer_average()`, `layer_maximum()` and
#' `layer_minimum()` work element-wise on inputs of one shape;
#' `layer_concatenate()` joins inputs along `axis`; `layer_dot()` takes the
#' dot products of the vectors of two inputs along `axes` (the cosine
#' similarity with `normalize = TRUE`).
#'
#' @param inputs A list of tensors (from [keras_input()] or layer calls), or
#'   missing to return the layer, which can then be called on such a list.
#' @param ... More input tensors, appended to `inputs`.
#' @param axis The axis to concatenate along, counted as in keras with the
#'   batch axis as 0 (`-1`, the default, is the last axis).
#' @param axes The axis of each input to take the dot product along: one
#'   integer for both inputs or two integers (batch axis is 0, `-1` is the
#'   last). Inputs may have 1 or 2 axes per sample.
#' @param normalize Whether to L2-normalize the vectors first, which gives
#'   the cosine similarity.
#' @param name Layer name; by default the layer's type in snake case, e.g.
#'   `add`, `add_1`, ...
#' @returns The output tensor, or the layer when `inputs` is missing.
#' @family functional API
#' @name merge-layers
#' @examples
#' a <- keras_input(shape = 4)
#' b <- keras_input(shape = 4)
#' s <- layer_add(list(a, b))
#' joined <- layer_concatenate(list(a, b, s))
#' cosine <- layer_dot(list(a, b), axes = 1, normalize = TRUE)
#' model <- keras_model(list(a, b), list(joined, cosine))
#' model
NULL

#' @rdname merge-layers
#' @export
layer_add <- function(inputs, ..., name = NULL) {
  merge_layer(if (missing(inputs)) NULL else inputs, list(...), "add", "Add", "add", name)
}

#' @rdname merge-layers
#' @export
layer_subtract <- function(inputs, ..., name = NULL) {
  merge_layer(if (missing(inputs)) NULL else inputs, list(...), "subtract", "Subtract", "subtract", name)
}

#' @rdname merge-layers
#' @export
layer_multiply <- function(inputs, ..., name = NULL) {
  merge_layer(if (missing(inputs)) NULL else inputs, list(...), "multiply", "Multiply", "multiply", name)
}

#' @rdname merge-layers
#' @export
layer_average <- function(inputs, ..., name = NULL) {
  merge_layer(if (missing(inputs)) NULL else inputs, list(...), "average", "Average", "average", name)
}

#' @rdname merge-layers
#' @export
layer_maximum <- function(inputs, ..., name = NULL) {
  merge_layer(if (missing(inputs)) NULL else inputs, list(...), "maximum", "Maximum", "maximum", name)
}

#' @rdname merge-layers
#' @export
layer_minimum <- function(inputs, ..., name = NULL) {
  merge_layer(if (missing(inputs)) NULL else inputs, list(...), "minimum", "Minimum", "minimum", name)
}

#' @rdname merge-layers
#' @export
layer_concatenate <- function(inputs, ..., axis = -1L, name = NULL) {
  if (!is.numeric(axis) || length(axis) != 1 || is.na(axis) || axis != round(axis)) {
    abort(sprintf("`axis` must be a single integer, got %s.", describe(axis)))
  }
  merge_layer(if (missing(inputs)) NULL else inputs, list(...), "concatenate", "Concatenate", "concatenate", name,
    config = list(axis = as.integer(axis))
  )
}

#' @rdname merge-layers
#' @export
layer_dot <- function(inputs, ..., axes, normalize = FALSE, name = NULL) {
  if (missing(axes)) abort("`axes` is required: the axis of each input to take the dot product along, e.g. axes = 1.")
  if (!is.numeric(axes) || !length(axes) %in% 1:2 || anyNA(axes) || any(axes != round(axes))) {
    abort(sprintf("`axes` must be one or two integers, got %s.", describe(axes)))
  }
  check_flag(normalize, "normalize")
  merge_layer(if (missing(inputs)) NULL else inputs, list(...), "dot", "Dot", "dot", name,
    config = list(axes = rep_len(as.integer(axes), 2), normalize = normalize)
  )
}

# ---- Building functional models -------------------------------------------------

#' Create a model from inputs and outputs (functional API)
#'
#' Builds a model from the graph of layer calls between `inputs` (tensors
#' from [keras_input()]) and `outputs`. The graph may have several inputs
#' and outputs, branches, merges ([merge-layers]) and shared layers (one
#' layer object called on several tensors uses one set of weights). Models
#' built from the same layer objects share those layers' weights: training
#' one model changes the other's predictions.
#'
#' Data for a model with several inputs is a list of arrays, in the order of
#' `inputs` or named by the inputs' names; targets are a list with one
#' array per output, in order or named by the output layers' names.
#' [compile()] takes one loss for all outputs or a list of them, and
#' `loss_weights`; the history then names each output's loss and metrics
#' after its layer, as keras does (`dense_1_loss`, `dense_1_accuracy`).
#'
#' @param inputs A tensor from [keras_input()] or a list of them.
#' @param outputs A tensor computed from `inputs` or a list of them.
#' @param ... Must be empty.
#' @param name Model name; by default `functional`, `functional_1`, ...
#' @returns A model of class `kerust_functional`.
#' @family functional API
#' @export
#' @examples
#' set.seed(1)
#' image <- keras_input(shape = 4, name = "image")
#' extra <- keras_input(shape = 1, name = "extra")
#' hidden <- layer_concatenate(list(image, extra)) |>
#'   layer_dense(8, activation = "relu")
#' class <- hidden |> layer_dense(3, activation = "softmax", name = "class")
#' size <- hidden |> layer_dense(1, name = "size")
#' model <- keras_model(list(image, extra), list(class, size))
#' model |> compile(
#'   optimizer = "adam",
#'   loss = list(class = "sparse_categorical_crossentropy", size = "mse"),
#'   loss_weights = c(1, 0.5),
#'   metrics = list(class = "accuracy")
#' )
#' x <- list(image = matrix(runif(40), 10), extra = matrix(runif(10), 10))
#' y <- list(class = sample(0:2, 10, TRUE), size = runif(10))
#' history <- model |> fit(x, y, epochs = 2, verbose = 0)
#' names(history$metrics)
keras_model <- function(inputs = NULL, outputs = NULL, ..., name = NULL) {
  check_dots_empty(list(...), "keras_model")
  if (is_tensor(inputs)) inputs <- list(inputs)
  if (is_tensor(outputs)) outputs <- list(outputs)
  if (!is_tensor_list(inputs)) {
    abort(sprintf("`inputs` must be a tensor from keras_input() or a list of them, got %s.", describe(inputs)))
  }
  if (!is_tensor_list(outputs)) {
    abort(sprintf("`outputs` must be a tensor computed from the inputs or a list of them, got %s.", describe(outputs)))
  }
  not_inputs <- !vapply(inputs, function(t) t$origin$kind == "input", TRUE)
  if (any(not_inputs)) {
    abort(sprintf("`inputs[[%d]]` is not a tensor from keras_input() but the output of layer \"%s\".", which(not_inputs)[1], tensor_source_name(inputs[[which(not_inputs)[1]]])))
  }
  given <- names(outputs)
  if (!is.null(given) && (!all(nzchar(given)) || anyDuplicated(given))) {
    abort("`outputs` must be unnamed or named with different, non-empty names.")
  }
  input_names <- vapply(inputs, function(t) t$origin$name, "")
  if (anyDuplicated(input_names)) {
    abort(sprintf("The inputs must have different names; \"%s\" is given twice.", input_names[anyDuplicated(input_names)]))
  }
  name <- if (is.null(name)) unique_name("functional") else check_string(name, "name")
  graph <- trace_graph(inputs, outputs)
  model <- new_functional_object(inputs, outputs, name, graph$states, draw_seed())
  model$nested_models <- nested_models(graph, outputs)
  build_functional(model)
  for (state in graph$states) attach_layer_state(model, state)
  refresh_snapshot(model)
  model
}

# Creates the R object of a functional model whose layers are `states`, in
# the order of the engine model's layers. The caller sets `model$ptr`.
new_functional_object <- function(inputs, outputs, name, states, seed) {
  model <- new_model_object(c("kerust_functional", "kerust_model"))
  model$name <- name
  model$seed <- seed
  model$inputs <- inputs
  model$outputs <- outputs
  model$input_shape <- inputs[[1]]$shape
  model$layers <- lapply(states, function(s) s$spec)
  model$layer_states <- stats::setNames(states, vapply(states, function(s) s$spec$name, ""))
  model$ptr <- NULL
  model$compiled <- NULL
  model$stop_training <- FALSE
  model
}

# Creates the R object of a functional engine model loaded from a file:
# layer objects from the engine's layer descriptions (`info`), and symbolic
# tensors made by calling them on new inputs in the engine's node order.
functional_from_engine <- function(ptr, info, call = sys.call(-1)) {
  graph <- engine_call(rs_graph_info(ptr), call = call)
  states <- lapply(info$layers, function(d) new_layer_state(layer_from_description(d)))
  for (i in seq_along(states)) states[[i]]$trainable <- info$trainable[[i]]
  for (state in states) reserve_name(state$spec$name)
  inputs <- lapply(seq_along(graph$input_names), function(k) {
    reserve_name(graph$input_names[[k]])
    keras_input(graph$input_shapes[[k]], name = graph$input_names[[k]])
  })
  node_outputs <- vector("list", length(graph$node_layer))
  tensor_of <- function(code) if (code < 0) inputs[[-code]] else node_outputs[[code]]
  for (j in seq_along(graph$node_layer)) {
    args <- lapply(graph$node_inputs[[j]], tensor_of)
    if (length(args) == 1) args <- args[[1]]
    node_outputs[[j]] <- call_on_tensors(states[[graph$node_layer[[j]]]], args, call = call)
  }
  outputs <- lapply(graph$outputs, tensor_of)
  reserve_name(info$name)
  model <- new_functional_object(inputs, outputs, info$name, states, NA_real_)
  model$ptr <- ptr
  model$input_names <- graph$input_names
  model$output_names <- graph$output_names
  for (state in states) attach_layer_state(model, state, call = call)
  if (!is.null(info$compiled)) {
    model$compiled <- compiled_from_description(info$compiled)
    model$engine_compiled <- TRUE
  }
  refresh_snapshot(model, call = call)
  model
}

# Walks the graph back from the outputs. Returns the layer calls in an order
# where every call comes after the calls it reads from, and the distinct
# layer states in order of first use.
trace_graph <- function(inputs, outputs, call = sys.call(-1)) {
  input_ids <- vapply(inputs, function(t) t$id, "")
  seen <- new.env(parent = emptyenv())
  order <- list()
  # A depth-first walk with an explicit stack, so that deep graphs do not
  # exhaust R's C stack; an entry with `done = TRUE` is emitted after the
  # calls it reads from.
  stack <- lapply(rev(outputs), function(t) list(t = t, done = FALSE))
  while (length(stack)) {
    top <- stack[[length(stack)]]
    stack[[length(stack)]] <- NULL
    t <- top$t
    if (top$done) {
      order[[length(order) + 1]] <- t
      next
    }
    if (!is.null(seen[[t$id]])) next
    seen[[t$id]] <- TRUE
    if (t$origin$kind == "input") {
      if (!t$id %in% input_ids) {
        abort(sprintf(
          "The outputs depend on input \"%s\", which is not in `inputs`; add it to `inputs`.", t$origin$name
        ), call = call)
      }
      next
    }
    stack[[length(stack) + 1]] <- list(t = t, done = TRUE)
    for (i in rev(t$origin$inputs)) {
      if (is.null(seen[[i$id]])) stack[[length(stack) + 1]] <- list(t = i, done = FALSE)
    }
  }
  states <- list()
  for (t in order) {
    s <- t$origin$state
    if (!any(vapply(states, identical, TRUE, s))) {
      clash <- vapply(states, function(o) identical(o$spec$name, s$spec$name), TRUE)
      if (any(clash)) {
        abort(sprintf("Two different layers are named \"%s\"; layer names must be unique within a model.", s$spec$name), call = call)
      }
      states[[length(states) + 1]] <- s
    }
  }
  input_names <- vapply(inputs, function(t) t$origin$name, "")
  layer_names <- vapply(states, function(s) s$spec$name, "")
  both <- intersect(input_names, layer_names)
  if (length(both)) {
    abort(sprintf("The name \"%s\" is used by an input and a layer; names must be unique within a model.", both[1]), call = call)
  }
  consumed <- unlist(lapply(order, function(t) vapply(t$origin$inputs, function(i) i$id, "")))
  direct <- vapply(outputs, function(t) t$id, "")
  unused <- setdiff(input_ids, c(consumed, direct))
  if (length(unused)) {
    unused_name <- inputs[[match(unused[1], input_ids)]]$origin$name
    abort(sprintf("The outputs do not depend on input \"%s\"; remove it from `inputs` or use it.", unused_name), call = call)
  }
  list(calls = order, states = states)
}

# The models called on tensors while building the graph, by name.
nested_models <- function(graph, outputs) {
  tensors <- c(outputs, unlist(lapply(graph$calls, function(t) t$origin$inputs), recursive = FALSE))
  found <- list()
  for (t in tensors) {
    if (!is.null(t$nested)) found[[t$nested$name]] <- t$nested
  }
  found
}

# Creates the engine model of a functional model from its tensors.
build_functional <- function(model, call = sys.call(-1)) {
  graph <- trace_graph(model$inputs, model$outputs, call = call)
  shapes <- lapply(model$inputs, function(t) as.double(t$shape))
  input_names <- vapply(model$inputs, function(t) t$origin$name, "")
  ptr <- engine_call(rs_graph_new(model$name, shapes, input_names, model$seed), call = call)
  codes <- new.env(parent = emptyenv())
  for (k in seq_along(model$inputs)) codes[[model$inputs[[k]]$id]] <- -k
  added <- character()
  for (t in graph$calls) {
    spec <- t$origin$state$spec
    srcs <- vapply(t$origin$inputs, function(i) codes[[i$id]], 0)
    if (spec$name %in% added) {
      engine_call(rs_call_layer(ptr, spec$name, srcs), call = call)
    } else {
      engine_call(rs_set_next_inputs(ptr, srcs), call = call)
      engine_add_layer(ptr, spec, call = call)
      added <- c(added, spec$name)
    }
    codes[[t$id]] <- engine_call(rs_last_node(ptr), call = call)
  }
  outs <- vapply(model$outputs, function(t) codes[[t$id]], 0)
  engine_call(rs_set_outputs(ptr, outs), call = call)
  # Outputs given as a named list are named by the list's names, as keras
  # names dict outputs.
  given <- names(model$outputs)
  if (!is.null(given) && all(nzchar(given))) engine_call(rs_set_output_names(ptr, given), call = call)
  model$ptr <- ptr
  info <- engine_call(rs_graph_info(ptr), call = call)
  model$input_names <- info$input_names
  model$output_names <- info$output_names
  invisible(model)
}

# ---- Sharing layers between models ---------------------------------------------

# Records that `model` uses the layer of `state`. A layer already built in
# another model brings its weights along.
attach_layer_state <- function(model, state, call = sys.call(-1)) {
  name <- state$spec$name
  if (is.null(model$layer_states)) model$layer_states <- list()
  model$layer_states[[name]] <- state
  if (!any(vapply(state$users, identical, TRUE, model))) state$users <- c(state$users, list(model))
  if (is.null(model$layer_versions)) model$layer_versions <- integer()
  owner <- state$owner
  if (!is.null(owner) && !identical(owner, model) && is_built(model) && ptr_valid(owner$ptr)) {
    engine_call(rs_copy_layer_weights(model$ptr, owner$ptr, name), call = call)
  } else if (is_built(model)) {
    state$owner <- model
  }
  model$layer_versions[[name]] <- state$version
  invisible(model)
}

# Pulls the newest weights of shared layers from the model that changed
# them last, and applies the layers' trainable flags.
sync_shared_layers <- function(model, call = sys.call(-1)) {
  # Read the fields directly: this runs before every predict().
  fields <- model_fields(model)
  if (is.null(fields$ptr) || length(fields$layer_states) == 0) {
    return(invisible(model))
  }
  for (name in names(model$layer_states)) {
    state <- model$layer_states[[name]]
    owner <- state$owner
    mine <- model$layer_versions[[name]] %||% 0L
    if (!is.null(owner) && !identical(owner, model) && state$version > mine) {
      if (!ptr_valid(owner$ptr)) check_model(owner, call = call)
      engine_call(rs_copy_layer_weights(model$ptr, owner$ptr, name), call = call)
      model$layer_versions[[name]] <- state$version
    }
  }
  states <- model$layer_states
  frozen <- names(states)[!vapply(states, function(s) isTRUE(s$trainable), TRUE)]
  engine_call(rs_set_trainable(model$ptr, setdiff(names(states), frozen), TRUE), call = call)
  engine_call(rs_set_trainable(model$ptr, frozen, FALSE), call = call)
  invisible(model)
}

# Removes `model` from the users of a layer it no longer has. When it held
# the layer's newest weights, they are first copied to the other users.
detach_layer_state <- function(model, state, call = sys.call(-1)) {
  name <- state$spec$name
  others <- Filter(function(u) !identical(u, model), state$users)
  state$users <- others
  if (!identical(state$owner, model)) {
    return(invisible())
  }
  state$owner <- NULL
  for (other in others) {
    if (!is_built(other) || !ptr_valid(other$ptr)) next
    engine_call(rs_copy_layer_weights(other$ptr, model$ptr, name), call = call)
    other$layer_versions[[name]] <- state$version
    if (is.null(state$owner)) state$owner <- other
  }
  invisible()
}

# Marks `model` as holding the newest weights of all its shared layers,
# after training or setting weights.
claim_shared_layers <- function(model) {
  for (name in names(model$layer_states)) {
    state <- model$layer_states[[name]]
    state$version <- state$version + 1L
    state$owner <- model
    model$layer_versions[[name]] <- state$version
  }
  invisible(model)
}

# ---- Inspection ------------------------------------------------------------------

#' Get a layer of a model
#'
#' Returns the layer named `name`, or the `index`-th layer (1-based, in the
#' order of `model$layers`). A model called on tensors while building
#' `object` is found by its name too; its layers are also layers of
#' `object`. The layer is shared with the model: setting
#' `layer$trainable <- FALSE` freezes its weights in every model that uses
#' it, `layer$weights` lists its weights, and calling it on a tensor reuses
#' its weights in a new model.
#'
#' @param object A model.
#' @param name A layer name.
#' @param index A layer position, 1-based.
#' @returns A layer object.
#' @family functional API
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 3) |>
#'   layer_dense(4, name = "hidden") |>
#'   layer_dense(1, name = "out")
#' hidden <- get_layer(model, "hidden")
#' dim(hidden$weights[[1]])
get_layer <- function(object, name = NULL, index = NULL) {
  check_model(object)
  if (is.null(name) == is.null(index)) abort("Give exactly one of `name` and `index`.")
  names <- vapply(object$layers, function(l) l$name, "")
  if (!is.null(name)) {
    check_string(name, "name")
    i <- match(name, names)
    # A model nested in this one is found by its name, as in keras.
    if (is.na(i) && !is.null(object$nested_models[[name]])) {
      return(object$nested_models[[name]])
    }
    if (is.na(i)) {
      abort(sprintf("The model has no layer named \"%s\"; its layers are %s.", name, paste0("\"", names, "\"", collapse = ", ")))
    }
  } else {
    i <- check_count(index, "index", min = 1)
    if (i > length(names)) abort(sprintf("`index` = %d is beyond the model's %d layers.", i, length(names)))
  }
  as_layer_object(object$layers[[i]], model_layer_state(object, names[i]))
}

# Returns the state of a model's layer, creating it for a layer added to
# a Sequential model by a layer function.
model_layer_state <- function(model, name) {
  state <- model$layer_states[[name]]
  if (is.null(state)) {
    spec <- model$layers[[match(name, vapply(model$layers, function(l) l$name, ""))]]
    state <- new_layer_state(spec)
    attach_layer_state(model, state)
  }
  state
}

#' Freeze and unfreeze weights
#'
#' `freeze_weights()` makes training leave the weights of a range of layers
#' unchanged; `unfreeze_weights()` lets training change them again. Frozen
#' weights count as non-trainable in [summary()]. The flag belongs to the
#' layer, so it holds in every model that shares the layer (as
#' `layer$trainable` does in keras).
#'
#' @param object A model.
#' @param from,to The first and last layer of the range, by name or by
#'   1-based index; by default the first and the last layer.
#' @param which Alternatively, a vector of layer names or indices; the name
#'   of a model nested in `object` stands for all of its layers.
#' @returns The model, invisibly.
#' @family functional API
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 3) |>
#'   layer_dense(4, name = "a") |>
#'   layer_dense(1, name = "b")
#' freeze_weights(model, to = "a")
#' summary(model)
#' unfreeze_weights(model)
freeze_weights <- function(object, from = NULL, to = NULL, which = NULL) {
  set_layers_trainable(object, from, to, which, FALSE)
}

#' @rdname freeze_weights
#' @export
unfreeze_weights <- function(object, from = NULL, to = NULL, which = NULL) {
  set_layers_trainable(object, from, to, which, TRUE)
}

set_layers_trainable <- function(object, from, to, which, trainable, call = sys.call(-1)) {
  check_model(object, call = call)
  names <- vapply(object$layers, function(l) l$name, "")
  position <- function(x, arg) {
    if (is.character(x) && length(x) == 1) {
      i <- match(x, names)
      if (is.na(i)) abort(sprintf("`%s` = \"%s\" is not a layer of the model; its layers are %s.", arg, x, paste0("\"", names, "\"", collapse = ", ")), call = call)
      return(i)
    }
    i <- check_count(x, arg, min = 1, call = call)
    if (i > length(names)) abort(sprintf("`%s` = %d is beyond the model's %d layers.", arg, i, length(names)), call = call)
    i
  }
  if (!is.null(which)) {
    if (!is.null(from) || !is.null(to)) abort("Give either `which` or `from`/`to`, not both.", call = call)
    # A nested model's name stands for all of its layers.
    which <- unlist(lapply(as.list(which), function(w) {
      nested <- if (is.character(w)) object$nested_models[[w]] else NULL
      if (is.null(nested)) list(w) else as.list(vapply(nested$layers, function(l) l$name, ""))
    }), recursive = FALSE)
    chosen <- vapply(seq_along(which), function(k) position(which[[k]], sprintf("which[[%d]]", k)), 0)
  } else {
    first <- if (is.null(from)) 1 else position(from, "from")
    last <- if (is.null(to)) length(names) else position(to, "to")
    if (first > last) abort(sprintf("`from` (layer %d) comes after `to` (layer %d).", first, last), call = call)
    chosen <- seq(first, last)
  }
  for (i in chosen) {
    state <- model_layer_state(object, names[i])
    state$trainable <- trainable
  }
  if (is_built(object)) sync_shared_layers(object, call = call)
  invisible(object)
}

# "Connected to" entries of each layer of a functional model, as keras
# prints them: `<layer>[<call>][0]` for each input of each call.
connected_to <- function(model, info) {
  layer_names <- vapply(model$layers, function(l) l$name, "")
  node_layers <- layer_names[info$node_layer]
  call_index <- stats::ave(seq_along(node_layers), node_layers, FUN = seq_along) - 1L
  describe_src <- function(code) {
    if (code < 0) {
      return(sprintf("%s[0][0]", info$input_names[-code]))
    }
    sprintf("%s[%d][0]", node_layers[code], call_index[code])
  }
  lapply(layer_names, function(name) {
    nodes <- which(node_layers == name)
    links <- unlist(lapply(nodes, function(j) vapply(info$node_inputs[[j]], describe_src, "")))
    # keras separates the entries with commas.
    if (length(links) > 1) links[-length(links)] <- paste0(links[-length(links)], ",")
    links
  })
}

# ---- Plotting ---------------------------------------------------------------------

# The layer graph of a model: box labels and edges (pairs of box indices),
# with the inputs first.
layer_graph <- function(model, show_shapes, show_layer_names) {
  info <- engine_call(rs_layers(model$ptr))
  graph <- engine_call(rs_graph_info(model$ptr))
  n_in <- length(graph$input_names)
  label <- function(name, class, shape) {
    text <- if (show_layer_names) sprintf("%s (%s)", name, class) else class
    if (show_shapes) text <- paste0(text, "\n", format_output_shape(shape))
    text
  }
  labels <- c(
    vapply(seq_len(n_in), function(k) label(graph$input_names[k], "InputLayer", graph$input_shapes[[k]]), ""),
    vapply(seq_along(info$name), function(i) label(info$name[i], info$class[i], info$output_shape[[i]]), "")
  )
  box_of <- function(code) if (code < 0) -code else n_in + graph$node_layer[code]
  edges <- do.call(rbind, lapply(seq_along(graph$node_layer), function(j) {
    cbind(vapply(graph$node_inputs[[j]], box_of, 0), n_in + graph$node_layer[j])
  }))
  list(labels = labels, edges = unique(edges))
}

#' Plot the layer graph of a model
#'
#' Draws the model's layers as boxes (inputs first) with arrows from each
#' layer to the layers that read its output, using base graphics, so no
#' other package is needed. Layers are placed in rows by their distance
#' from the inputs.
#'
#' @param x A built model.
#' @param show_shapes Whether to show each layer's output shape.
#' @param show_layer_names Whether to show the layer names as well as
#'   their types.
#' @param ... Unused.
#' @param rankdir `"TB"` (top to bottom) or `"LR"` (left to right).
#' @param to_file `NULL` to draw on the current device, or a `.png` path
#'   to draw into.
#' @returns `x`, invisibly.
#' @family functional API
#' @export
#' @examples
#' a <- keras_input(4, name = "a")
#' b <- keras_input(2, name = "b")
#' out <- layer_concatenate(list(a |> layer_dense(3), b)) |> layer_dense(1)
#' plot(keras_model(list(a, b), out), show_shapes = TRUE)
plot.kerust_model <- function(x, show_shapes = FALSE, show_layer_names = TRUE, ..., rankdir = "TB", to_file = NULL) {
  check_model(x)
  if (!is_built(x)) abort("The model is not built yet: give it an `input_shape` to plot its layers.")
  check_flag(show_shapes, "show_shapes")
  check_flag(show_layer_names, "show_layer_names")
  rankdir <- check_choice(rankdir, "rankdir", c("TB", "LR"))
  if (!is.null(to_file)) {
    check_string(to_file, "to_file")
    if (!grepl("\\.png$", to_file, ignore.case = TRUE)) abort(sprintf("`to_file` must end in \".png\", got \"%s\".", to_file))
    if (!dir.exists(dirname(path.expand(to_file)))) {
      abort(sprintf("Cannot write \"%s\": the folder \"%s\" does not exist.", to_file, dirname(to_file)))
    }
  }
  g <- layer_graph(x, show_shapes, show_layer_names)
  n <- length(g$labels)
  depth <- rep(0, n)
  # Edges go from earlier to later boxes except for shared layers, so a
  # few passes settle the longest distance from the inputs.
  for (pass in seq_len(n)) {
    changed <- FALSE
    for (e in seq_len(nrow(g$edges))) {
      d <- depth[g$edges[e, 1]] + 1
      if (depth[g$edges[e, 2]] < d) {
        depth[g$edges[e, 2]] <- d
        changed <- TRUE
      }
    }
    if (!changed) break
  }
  slot <- stats::ave(seq_len(n), depth, FUN = seq_along)
  width <- stats::ave(seq_len(n), depth, FUN = length)
  across <- (slot - 0.5) / width
  along <- if (max(depth) == 0) rep(0.5, n) else 1 - depth / max(depth)
  pos <- if (rankdir == "TB") cbind(across, along) else cbind(1 - along, 1 - across)
  if (!is.null(to_file)) {
    grDevices::png(to_file, width = 1200, height = 200 + 160 * (max(depth) + 1), res = 150)
    on.exit(grDevices::dev.off(), add = TRUE)
  }
  old <- graphics::par(mar = c(0.5, 0.5, 0.5, 0.5))
  # Restore the margins before the file's device (if any) is closed.
  on.exit(graphics::par(old), add = TRUE, after = FALSE)
  graphics::plot.new()
  graphics::plot.window(xlim = c(-0.05, 1.05), ylim = c(-0.1, 1.1))
  cex <- 0.8
  half_w <- (graphics::strwidth(g$labels, cex = cex) / 2) + 0.01
  half_h <- (graphics::strheight(g$labels, cex = cex) / 2) + 0.02
  for (e in seq_len(nrow(g$edges))) {
    from <- g$edges[e, 1]
    to <- g$edges[e, 2]
    if (rankdir == "TB") {
      graphics::arrows(pos[from, 1], pos[from, 2] - half_h[from], pos[to, 1], pos[to, 2] + half_h[to], length = 0.08)
    } else {
      graphics::arrows(pos[from, 1] + half_w[from], pos[from, 2], pos[to, 1] - half_w[to], pos[to, 2], length = 0.08)
    }
  }
  graphics::rect(pos[, 1] - half_w, pos[, 2] - half_h, pos[, 1] + half_w, pos[, 2] + half_h, col = "grey95")
  graphics::text(pos[, 1], pos[, 2], g$labels, cex = cex)
  invisible(x)
}

# ---- Arithmetic on symbolic tensors ---------------------------------------------------

#' Arithmetic on symbolic tensors
#'
#' `+`, `-` and `*` between two tensors of one shape add the layers
#' [layer_add()], [layer_subtract()] and [layer_multiply()]. With a number,
#' `+`, `-`, `*` and `/` add a [layer_rescaling()] (`x * scale + offset`);
#' unary minus multiplies by -1.
#'
#' @param e1,e2 Tensors from [keras_input()] or layer calls, or numbers.
#' @returns A tensor.
#' @family functional API
#' @name tensor-arithmetic
#' @examples
#' a <- keras_input(3)
#' b <- keras_input(3)
#' model <- keras_model(list(a, b), (a + b) * 0.5 - a * b)
#' model
NULL

#' @rdname tensor-arithmetic
#' @export
Ops.kerust_tensor <- function(e1, e2) {
  op <- .Generic
  if (nargs() == 1) {
    if (op == "-") return(layer_rescaling(e1, scale = -1))
    if (op == "+") return(e1)
    abort(sprintf("`%s` is not supported on symbolic tensors.", op))
  }
  if (is_tensor(e1) && is_tensor(e2)) {
    return(switch(op,
      "+" = layer_add(list(e1, e2)),
      "-" = layer_subtract(list(e1, e2)),
      "*" = layer_multiply(list(e1, e2)),
      abort(sprintf("`%s` between two symbolic tensors is not supported; `+`, `-` and `*` are.", op))
    ))
  }
  number <- if (is_tensor(e1)) e2 else e1
  tensor <- if (is_tensor(e1)) e1 else e2
  if (!is.numeric(number) || length(number) != 1 || !is.finite(number)) {
    abort(sprintf("Arithmetic on a symbolic tensor needs another tensor or a single finite number, got %s.", describe(number)))
  }
  tensor_first <- is_tensor(e1)
  switch(op,
    "+" = layer_rescaling(tensor, scale = 1, offset = number),
    "-" = if (tensor_first) layer_rescaling(tensor, scale = 1, offset = -number) else layer_rescaling(tensor, scale = -1, offset = number),
    "*" = layer_rescaling(tensor, scale = number),
    "/" = if (tensor_first && number != 0) {
      layer_rescaling(tensor, scale = 1 / number)
    } else {
      abort("A symbolic tensor can only be divided by a non-zero number.")
    },
    abort(sprintf("`%s` is not supported on symbolic tensors; `+`, `-`, `*` and `/` by a number are.", op))
  )
}
