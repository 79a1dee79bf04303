# Pooling layers, channels last. Windowed pooling reduces each window of
# each channel to its maximum or mean; global pooling reduces all positions.

# Builds the spec of a windowed pooling layer from the user's arguments.
pooling_layer <- function(object, kind, rank, pool_size, strides, padding, data_format,
                          dots, name, call = sys.call(-1)) {
  input_shape <- layer_dots(dots, call = call)
  pool_size <- check_axes(pool_size, "pool_size", rank, call = call)
  strides <- if (is.null(strides)) pool_size else check_axes(strides, "strides", rank, call = call)
  padding <- check_padding(padding, call = call)
  data_format <- check_data_format(data_format, rank, call = call)
  prefix <- if (kind == "max") "Max" else "Average"
  class_name <- sprintf("%sPooling%dD", prefix, rank)
  base <- sprintf("%s_pooling%dd", tolower(prefix), rank)
  layer <- new_layer(base, class_name, layer_name(name, base, call = call), list(
    pool_size = pool_size, strides = strides, padding = padding, data_format = data_format
  ))
  compose_layer(object, layer, input_shape, call = call)
}

# Adds a windowed pooling layer spec to the engine model behind `ptr`.
engine_add_pooling <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  kind <- if (startsWith(layer$class_name, "Max")) "max" else "average"
  engine_call(rs_add_pooling(
    ptr, layer$name, kind, length(cfg$pool_size), as.double(cfg$pool_size),
    as.double(cfg$strides), cfg$padding
  ), call = call)
}

# Builds the spec of a global pooling layer.
global_pooling_layer <- function(object, kind, rank, data_format, keepdims, dots, name,
                                 call = sys.call(-1)) {
  input_shape <- layer_dots(dots, call = call)
  data_format <- check_data_format(data_format, rank, call = call)
  check_flag(keepdims, "keepdims", call = call)
  prefix <- if (kind == "max") "Max" else "Average"
  class_name <- sprintf("Global%sPooling%dD", prefix, rank)
  base <- sprintf("global_%s_pooling%dd", tolower(prefix), rank)
  layer <- new_layer(base, class_name, layer_name(name, base, call = call), list(
    data_format = data_format, keepdims = keepdims
  ))
  compose_layer(object, layer, input_shape, call = call)
}

# Adds a global pooling layer spec to the engine model behind `ptr`.
engine_add_global_pooling <- function(ptr, layer, call = sys.call(-1)) {
  kind <- if (grepl("Max", layer$class_name, fixed = TRUE)) "max" else "average"
  rank <- as.integer(substr(layer$class_name, nchar(layer$class_name) - 1, nchar(layer$class_name) - 1))
  engine_call(rs_add_global_pooling(ptr, layer$name, kind, rank, layer$config$keepdims), call = call)
}

#' Max pooling layers
#'
#' Downsample each channel by taking the maximum of each window of
#' `pool_size` positions, moved by `strides`. With `padding = "same"`, the
#' windows at the edges cover fewer positions (the padding is ignored, as in
#' TensorFlow) and the output size is `ceiling(input / strides)`; with
#' `"valid"` it is `floor((input - pool_size) / strides) + 1`.
#'
#' In the backward pass the gradient of each output goes to the position of
#' its window's maximum (the first one on ties).
#'
#' @section Input shape: `layer_max_pooling_1d()`: `(batch_size, steps, channels)`;
#'   `layer_max_pooling_2d()`: `(batch_size, height, width, channels)`;
#'   `layer_max_pooling_3d()`: `(batch_size, depth, height, width, channels)`.
#' @section Output shape: the same rank, with the spatial sizes reduced as
#'   described above and the channels unchanged.
#'
#' @inheritParams layer_dense
#' @param pool_size Window size: one integer for all spatial axes, or one per
#'   axis. Keras's default is 2.
#' @param strides Step of the window: `NULL` (the default) means
#'   `pool_size`; else one integer or one per axis.
#' @param padding `"valid"` or `"same"`.
#' @param data_format `NULL` or `"channels_last"`; `"channels_first"` is not
#'   supported.
#' @param name Layer name; by default `max_pooling2d`, `max_pooling2d_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family pooling layers
#' @name layer_max_pooling
#' @examples
#' model <- keras_model_sequential(input_shape = c(4, 4, 1)) |>
#'   layer_max_pooling_2d(pool_size = c(2, 2))
#' x <- array(1:16, c(1, 4, 4, 1))
#' predict(model, x, verbose = 0)[1, , , 1]
NULL

#' @rdname layer_max_pooling
#' @export
layer_max_pooling_2d <- function(object, pool_size = list(2L, 2L), strides = NULL, padding = "valid",
                                 data_format = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  pooling_layer(object, "max", 2L, pool_size, strides, padding, data_format, list(...), name)
}

#' @rdname layer_max_pooling
#' @export
layer_max_pooling_1d <- function(object, pool_size = 2L, strides = NULL, padding = "valid",
                                 data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  pooling_layer(object, "max", 1L, pool_size, strides, padding, data_format, list(...), name)
}

#' @rdname layer_max_pooling
#' @export
layer_max_pooling_3d <- function(object, pool_size = list(2L, 2L, 2L), strides = NULL,
                                 padding = "valid", data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  pooling_layer(object, "max", 3L, pool_size, strides, padding, data_format, list(...), name)
}

#' Average pooling layers
#'
#' Downsample each channel by taking the mean of each window of `pool_size`
#' positions, moved by `strides`. With `padding = "same"`, the windows at
#' the edges average only the positions inside the input (padding does not
#' count, as in TensorFlow) and the output size is `ceiling(input / strides)`;
#' with `"valid"` it is `floor((input - pool_size) / strides) + 1`.
#'
#' @section Input shape: `layer_average_pooling_1d()`: `(batch_size, steps, channels)`;
#'   `layer_average_pooling_2d()`: `(batch_size, height, width, channels)`;
#'   `layer_average_pooling_3d()`: `(batch_size, depth, height, width, channels)`.
#' @section Output shape: the same rank, with the spatial sizes reduced as
#'   described above and the channels unchanged.
#'
#' @inheritParams layer_max_pooling
#' @param name Layer name; by default `average_pooling2d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family pooling layers
#' @name layer_average_pooling
#' @examples
#' model <- keras_model_sequential(input_shape = c(4, 4, 1)) |>
#'   layer_average_pooling_2d(pool_size = 2)
#' x <- array(1:16, c(1, 4, 4, 1))
#' predict(model, x, verbose = 0)[1, , , 1]
NULL

#' @rdname layer_average_pooling
#' @export
layer_average_pooling_2d <- function(object, pool_size = list(2L, 2L), strides = NULL,
                                     padding = "valid", data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  pooling_layer(object, "average", 2L, pool_size, strides, padding, data_format, list(...), name)
}

#' @rdname layer_average_pooling
#' @export
layer_average_pooling_1d <- function(object, pool_size = 2L, strides = NULL, padding = "valid",
                                     data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  pooling_layer(object, "average", 1L, pool_size, strides, padding, data_format, list(...), name)
}

#' @rdname layer_average_pooling
#' @export
layer_average_pooling_3d <- function(object, pool_size = list(2L, 2L, 2L), strides = NULL,
                                     padding = "valid", data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  pooling_layer(object, "average", 3L, pool_size, strides, padding, data_format, list(...), name)
}

#' Global pooling layers
#'
#' Reduce each channel over all spatial positions to its mean
#' (`layer_global_average_pooling_*()`) or maximum
#' (`layer_global_max_pooling_*()`). They often replace [layer_flatten()]
#' between the convolutional part of a network and its dense head.
#'
#' @section Input shape: `*_1d()`: `(batch_size, steps, channels)`;
#'   `*_2d()`: `(batch_size, height, width, channels)`;
#'   `*_3d()`: `(batch_size, depth, height, width, channels)`.
#' @section Output shape: `(batch_size, channels)`; with `keepdims = TRUE`
#'   the spatial axes stay with size 1, e.g. `(batch_size, 1, 1, channels)`.
#'
#' @inheritParams layer_max_pooling
#' @param keepdims Whether to keep the spatial axes, with size 1.
#' @param name Layer name; by default `global_average_pooling2d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family pooling layers
#' @name layer_global_pooling
#' @examples
#' model <- keras_model_sequential(input_shape = c(3, 3, 2)) |>
#'   layer_global_average_pooling_2d()
#' x <- array(1:18, c(1, 3, 3, 2))
#' predict(model, x, verbose = 0)
NULL

#' @rdname layer_global_pooling
#' @export
layer_global_average_pooling_2d <- function(object, data_format = NULL, keepdims = FALSE, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  global_pooling_layer(object, "average", 2L, data_format, keepdims, list(...), name)
}

#' @rdname layer_global_pooling
#' @export
layer_global_max_pooling_2d <- function(object, data_format = NULL, keepdims = FALSE, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  global_pooling_layer(object, "max", 2L, data_format, keepdims, list(...), name)
}

#' @rdname layer_global_pooling
#' @export
layer_global_average_pooling_1d <- function(object, data_format = NULL, keepdims = FALSE, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  global_pooling_layer(object, "average", 1L, data_format, keepdims, list(...), name)
}

#' @rdname layer_global_pooling
#' @export
layer_global_max_pooling_1d <- function(object, data_format = NULL, keepdims = FALSE, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  global_pooling_layer(object, "max", 1L, data_format, keepdims, list(...), name)
}

#' @rdname layer_global_pooling
#' @export
layer_global_average_pooling_3d <- function(object, data_format = NULL, keepdims = FALSE, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  global_pooling_layer(object, "average", 3L, data_format, keepdims, list(...), name)
}

#' @rdname layer_global_pooling
#' @export
layer_global_max_pooling_3d <- function(object, data_format = NULL, keepdims = FALSE, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  global_pooling_layer(object, "max", 3L, data_format, keepdims, list(...), name)
}

register_layer_adder("max_pooling1d", engine_add_pooling)
register_layer_adder("max_pooling2d", engine_add_pooling)
register_layer_adder("max_pooling3d", engine_add_pooling)
register_layer_adder("average_pooling1d", engine_add_pooling)
register_layer_adder("average_pooling2d", engine_add_pooling)
register_layer_adder("average_pooling3d", engine_add_pooling)
register_layer_adder("global_max_pooling1d", engine_add_global_pooling)
register_layer_adder("global_max_pooling2d", engine_add_global_pooling)
register_layer_adder("global_max_pooling3d", engine_add_global_pooling)
register_layer_adder("global_average_pooling1d", engine_add_global_pooling)
register_layer_adder("global_average_pooling2d", engine_add_global_pooling)
register_layer_adder("global_average_pooling3d", engine_add_global_pooling)
# Convolution layers are defined in layers-convolutional.R, which R sources
# before layers-core.R defines register_layer_adder(), so they register here.
register_layer_adder("conv_1d", engine_add_conv)
register_layer_adder("conv_2d", engine_add_conv)
register_layer_adder("conv_3d", engine_add_conv)
