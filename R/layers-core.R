# Core layers. A layer function called on a model appends the layer and
# returns the model; called without a model it returns the layer, which
# keras_model_sequential(layers = ...) accepts.

# Creates a layer spec: `type` selects the engine constructor, `config`
# holds its checked arguments.
new_layer <- function(type, class_name, name, config) {
  structure(
    list(type = type, class_name = class_name, name = name, config = config),
    class = c(paste0("kerust_layer_", type), "kerust_layer")
  )
}

# Implements the three ways of calling a layer function: with a
# Sequential model (append and return the model), with symbolic tensors
# (return the output tensor, see R/functional.R), or without either
# (return the layer object, which can be called on tensors or models).
compose_layer <- function(object, layer, input_shape = NULL, call = sys.call(-1)) {
  if (missing(object) || is.null(object)) {
    if (!is.null(input_shape)) layer$input_shape <- input_shape
    return(as_layer_object(layer))
  }
  if (inherits(object, "kerust_model")) {
    if (!inherits(object, "kerust_sequential")) {
      abort("Layers can only be appended to a Sequential model; call them on tensors to build a functional model.", call = call)
    }
    check_model(object, call = call)
    add_layer(object, layer, input_shape = input_shape, call = call)
    return(invisible(object))
  }
  if (is_tensor(object) || is_tensor_list(object)) {
    if (!is.null(input_shape)) {
      abort(sprintf("`input_shape` cannot be given to layer \"%s\" called on a tensor: the tensor has a shape.", layer$name), call = call)
    }
    return(call_on_tensors(new_layer_state(layer), object, call = call))
  }
  abort(
    sprintf(
      "`object` must be a model from keras_model_sequential(), a tensor from keras_input(), or missing to create a layer; got %s.",
      describe(object)
    ),
    call = call
  )
}

# Reads keras's `input_shape` from `...` (accepted on any layer, as in
# keras) and rejects any other unknown argument.
layer_dots <- function(dots, call = sys.call(-1)) {
  known <- c("input_shape", "batch_input_shape", "dtype", "trainable")
  unknown <- setdiff(names(dots), known)
  if (length(dots) && (is.null(names(dots)) || any(!nzchar(names(dots))))) {
    abort("All arguments after the layer's own must be named, e.g. `input_shape = 784`.", call = call)
  }
  if (length(unknown)) {
    abort(sprintf("Unknown argument%s: %s.", if (length(unknown) > 1) "s" else "", paste0("`", unknown, "`", collapse = ", ")), call = call)
  }
  if (!is.null(dots$dtype) && !identical(dots$dtype, "float32")) {
    abort(sprintf("`dtype` must be \"float32\" (the only type kerust computes in), got %s.", describe(dots$dtype)), call = call)
  }
  if (!is.null(dots$trainable) && !isTRUE(dots$trainable)) {
    abort("`trainable = FALSE` is not supported yet; all weights are trained.", call = call)
  }
  shape <- dots$input_shape
  if (is.null(shape) && !is.null(dots$batch_input_shape)) shape <- dots$batch_input_shape[-1]
  if (!is.null(shape)) shape <- check_shape(shape, "input_shape", call = call)
  shape
}

check_shape <- function(shape, arg, call = sys.call(-1)) {
  if (is.list(shape)) shape <- unlist(shape)
  if (!is.numeric(shape) || length(shape) == 0 || anyNA(shape) || any(!is.finite(shape)) || any(shape < 1) ||
    any(shape != round(shape)) || any(shape > .Machine$integer.max)) {
    abort(sprintf("`%s` must be a vector of positive integers such as c(28, 28, 1), got %s.", arg, describe(shape)), call = call)
  }
  as.integer(shape)
}

layer_name <- function(name, base, call = sys.call(-1)) {
  if (is.null(name)) {
    return(unique_name(base))
  }
  check_string(name, "name", call = call)
  # Weights are named "<layer>/<weight>", as in keras.
  if (grepl("/", name, fixed = TRUE)) {
    abort(sprintf("`name` cannot contain \"/\", got \"%s\".", name), call = call)
  }
  name
}

#' Densely connected layer
#'
#' `output = activation(input %*% kernel + bias)`, the layer of multilayer
#' perceptrons. The kernel has shape `(input_dim, units)`.
#'
#' @section Input shape: `(batch_size, ..., input_dim)`; leading axes after
#'   the batch are kept, as in keras.
#' @section Output shape: `(batch_size, ..., units)`.
#'
#' @param object A model to append the layer to, or missing to return the
#'   layer itself.
#' @param units Number of output units, a positive integer.
#' @param activation An activation name (see [activations]) or an
#'   `activation_*()` function; `NULL` means linear.
#' @param use_bias Whether the layer adds a bias vector.
#' @param kernel_initializer,bias_initializer Initializers of the kernel and
#'   bias: a name or an `initializer_*()` object (see [initializers]).
#' @param kernel_regularizer,bias_regularizer,activity_regularizer `NULL` or
#'   a `regularizer_*()` penalty on the kernel, the bias or the layer's
#'   output (see [regularizers]).
#' @param ... `input_shape` (the shape of one sample, for the first layer
#'   of a model created without it), `dtype` (only `"float32"`).
#' @param name Layer name; by default `dense`, `dense_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family core layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |>
#'   layer_dense(8, activation = "relu") |>
#'   layer_dense(3, activation = "softmax")
#' model
layer_dense <- function(object, units, activation = NULL, use_bias = TRUE,
                        kernel_initializer = "glorot_uniform",
                        bias_initializer = "zeros", kernel_regularizer = NULL,
                        bias_regularizer = NULL, activity_regularizer = NULL, ...,
                        name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  units <- check_count(units, "units", min = 1)
  activation <- resolve_activation(activation)
  check_flag(use_bias, "use_bias")
  kernel_initializer <- resolve_initializer(kernel_initializer, "kernel_initializer")
  bias_initializer <- resolve_initializer(bias_initializer, "bias_initializer")
  layer <- new_layer("dense", "Dense", layer_name(name, "dense"), list(
    units = units, activation = activation, use_bias = use_bias,
    kernel_initializer = kernel_initializer, bias_initializer = bias_initializer,
    kernel_regularizer = resolve_regularizer(kernel_regularizer, "kernel_regularizer"),
    bias_regularizer = resolve_regularizer(bias_regularizer, "bias_regularizer"),
    activity_regularizer = resolve_regularizer(activity_regularizer, "activity_regularizer")
  ))
  compose_layer(object, layer, input_shape)
}

#' Activation layer
#'
#' Applies an activation function to its input.
#'
#' @section Input shape: any.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_dense
#' @param activation An activation name or an `activation_*()` function.
#' @param name Layer name; by default `activation`, `activation_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer.
#' @family core layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |>
#'   layer_dense(3) |>
#'   layer_activation("softmax")
layer_activation <- function(object, activation, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  activation <- resolve_activation(activation)
  layer <- new_layer("activation", "Activation", layer_name(name, "activation"), list(activation = activation))
  compose_layer(object, layer, input_shape)
}

#' Dropout layer
#'
#' During training, sets each input value to 0 with probability `rate` and
#' scales the others by `1 / (1 - rate)`, so the expected sum is unchanged.
#' In `evaluate()` and `predict()` it passes the input through unchanged.
#'
#' @section Input shape: any.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_dense
#' @param rate Fraction of the input values to drop, in `[0, 1)`.
#' @param noise_shape Not supported yet; must be `NULL`.
#' @param seed `NULL` to draw masks from the model's generator (seeded by
#'   `set.seed()`), or a non-negative integer for a layer-own sequence.
#' @param name Layer name; by default `dropout`, `dropout_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer.
#' @family core layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |>
#'   layer_dense(8, activation = "relu") |>
#'   layer_dropout(0.5) |>
#'   layer_dense(1)
layer_dropout <- function(object, rate, noise_shape = NULL, seed = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  rate <- check_number(rate, "rate", lower = 0, upper = 1, upper_open = TRUE)
  if (!is.null(noise_shape)) {
    abort("`noise_shape` is not supported yet; use the default `noise_shape = NULL`.")
  }
  seed <- check_seed(seed)
  layer <- new_layer("dropout", "Dropout", layer_name(name, "dropout"), list(rate = rate, seed = seed))
  compose_layer(object, layer, input_shape)
}

#' Flatten layer
#'
#' Reshapes each sample to a vector, in row-major order as keras does:
#' element `[i, j]` of a `(h, w)` sample becomes element `(i - 1) * w + j`.
#'
#' @section Input shape: `(batch_size, ...)`.
#' @section Output shape: `(batch_size, prod(...))`.
#'
#' @inheritParams layer_dense
#' @param data_format Only `NULL` or `"channels_last"` are supported.
#' @param name Layer name; by default `flatten`, `flatten_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer.
#' @family core layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(28, 28)) |>
#'   layer_flatten() |>
#'   layer_dense(10, activation = "softmax")
layer_flatten <- function(object, data_format = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  if (!is.null(data_format) && !identical(data_format, "channels_last")) {
    abort(sprintf("`data_format` must be NULL or \"channels_last\", got %s.", describe(data_format)))
  }
  layer <- new_layer("flatten", "Flatten", layer_name(name, "flatten"), list())
  compose_layer(object, layer, input_shape)
}

#' Reshape layer
#'
#' Gives each sample a new shape with the same number of values, in
#' row-major order as keras does.
#'
#' @section Input shape: `(batch_size, ...)`.
#' @section Output shape: `(batch_size, target_shape)`.
#'
#' @inheritParams layer_dense
#' @param target_shape The new shape of one sample; one entry may be `-1`,
#'   which is inferred from the others.
#' @param name Layer name; by default `reshape`, `reshape_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer.
#' @family core layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = 784) |>
#'   layer_reshape(c(28, 28))
layer_reshape <- function(object, target_shape, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  if (is.list(target_shape)) target_shape <- unlist(target_shape)
  if (!is.numeric(target_shape) || length(target_shape) == 0 || anyNA(target_shape) ||
    any(target_shape != round(target_shape)) || any(target_shape < 1 & target_shape != -1) ||
    sum(target_shape == -1) > 1) {
    abort(sprintf("`target_shape` must be positive integers with at most one -1, got %s.", describe(target_shape)))
  }
  layer <- new_layer("reshape", "Reshape", layer_name(name, "reshape"), list(target_shape = as.integer(target_shape)))
  compose_layer(object, layer, input_shape)
}

# Adds a layer spec to the engine model behind `ptr`.
engine_add_layer <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  adder <- layer_adders[[layer$type]]
  if (!is.null(adder)) {
    adder(ptr, layer, call = call)
    engine_set_regularizers(ptr, layer, call = call)
    return(invisible())
  }
  engine_call(switch(layer$type,
    dense = rs_add_dense(
      ptr, layer$name, cfg$units, cfg$activation, numeric(), cfg$use_bias,
      cfg$kernel_initializer$name, cfg$kernel_initializer$params,
      cfg$bias_initializer$name, cfg$bias_initializer$params
    ),
    activation = rs_add_activation(ptr, layer$name, cfg$activation, numeric()),
    dropout = rs_add_dropout(ptr, layer$name, cfg$rate, cfg$seed),
    flatten = rs_add_flatten(ptr, layer$name),
    reshape = rs_add_reshape(ptr, layer$name, as.double(cfg$target_shape)),
    abort(sprintf("Layer type \"%s\" is not supported in a Sequential model.", layer$type), call = call)
  ), call = call)
  engine_set_regularizers(ptr, layer, call = call)
  invisible()
}

# Engine constructors of layer types defined in other files, by spec type:
# functions (ptr, layer, call) registered with register_layer_adder().
layer_adders <- new.env(parent = emptyenv())

register_layer_adder <- function(type, adder) {
  assign(type, adder, envir = layer_adders)
}

#' @export
print.kerust_layer <- function(x, ...) {
  cat(sprintf("<%s name=%s>\n", x$class_name, x$name))
  invisible(x)
}
