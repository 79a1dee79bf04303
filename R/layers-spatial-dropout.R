# Spatial dropout: dropout of whole channels.

#' Spatial dropout layers
#'
#' During training, zero each channel of each sample with probability
#' `rate`, at every position at once, and scale the kept channels by
#' `1 / (1 - rate)`. Neighbouring positions of a feature map are strongly
#' correlated, so dropping single values ([layer_dropout()]) regularizes
#' convolutional layers little; dropping whole feature maps does. In
#' [evaluate()] and [predict()] the layer passes its input through unchanged.
#'
#' @section Input shape: `*_1d()`: `(batch_size, steps, channels)`;
#'   `*_2d()`: `(batch_size, height, width, channels)`;
#'   `*_3d()`: `(batch_size, depth, height, width, channels)`.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_dense
#' @param rate Fraction of the channels to drop, in `[0, 1)`.
#' @param data_format `NULL` or `"channels_last"`.
#' @param seed `NULL` to draw masks from the model's generator (seeded by
#'   `set.seed()`), or a non-negative integer for a layer-own sequence.
#' @param name Layer name; by default `spatial_dropout2d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family regularization layers
#' @name layer_spatial_dropout
#' @examples
#' model <- keras_model_sequential(input_shape = c(8, 8, 1)) |>
#'   layer_conv_2d(8, 3, activation = "relu") |>
#'   layer_spatial_dropout_2d(0.25)
#' model
NULL

spatial_dropout_layer <- function(object, rank, rate, data_format, seed, dots, name, call = sys.call(-1)) {
  input_shape <- layer_dots(dots, call = call)
  rate <- check_number(rate, "rate", lower = 0, upper = 1, upper_open = TRUE, call = call)
  data_format <- check_data_format(data_format, rank, call = call)
  seed <- check_seed(seed, call = call)
  class_name <- sprintf("SpatialDropout%dD", rank)
  base <- sprintf("spatial_dropout%dd", rank)
  layer <- new_layer("spatial_dropout", class_name, layer_name(name, base, call = call), list(
    rate = rate, data_format = data_format, seed = seed
  ))
  compose_layer(object, layer, input_shape, call = call)
}

#' @rdname layer_spatial_dropout
#' @export
layer_spatial_dropout_2d <- function(object, rate, data_format = NULL, seed = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  spatial_dropout_layer(object, 2L, rate, data_format, seed, list(...), name)
}

#' @rdname layer_spatial_dropout
#' @export
layer_spatial_dropout_1d <- function(object, rate, seed = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  spatial_dropout_layer(object, 1L, rate, NULL, seed, list(...), name)
}

#' @rdname layer_spatial_dropout
#' @export
layer_spatial_dropout_3d <- function(object, rate, data_format = NULL, seed = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  spatial_dropout_layer(object, 3L, rate, data_format, seed, list(...), name)
}

# Adds a SpatialDropout spec to the engine model behind `ptr`.
engine_add_spatial_dropout <- function(ptr, layer, call = sys.call(-1)) {
  rank <- as.integer(substr(layer$class_name, 15, 15))
  cfg <- layer$config
  engine_call(rs_add_spatial_dropout(ptr, layer$name, rank, cfg$rate, cfg$seed), call = call)
}

register_layer_adder("spatial_dropout", engine_add_spatial_dropout)
