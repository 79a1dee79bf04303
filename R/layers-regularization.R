# Regularization layers: noise and activity penalties that act only while
# training, as in keras.

#' Noise and activity regularization layers
#'
#' These layers change their input only during training, like
#' [layer_dropout()]; in [evaluate()] and [predict()] they pass it through.
#'
#' * `layer_gaussian_noise()` adds normal noise with standard deviation
#'   `stddev`.
#' * `layer_gaussian_dropout()` multiplies by normal noise with mean 1 and
#'   standard deviation `sqrt(rate / (1 - rate))`.
#' * `layer_alpha_dropout()` sets dropped values to selu's negative
#'   saturation value and rescales so that the mean and variance of selu
#'   activations are kept (keras's formula).
#' * `layer_activity_regularization()` passes its input through and adds
#'   `l1 * sum(abs(x)) + l2 * sum(x^2)`, divided by the batch size, to the
#'   loss.
#'
#' @section Input shape: any.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_dense
#' @param stddev Standard deviation of the added noise, non-negative.
#' @param rate Dropout rate, in `[0, 1)`.
#' @param noise_shape Not supported yet; must be `NULL`.
#' @param seed `NULL` to draw from the model's generator (seeded by
#'   `set.seed()`), or a non-negative integer for a layer-own sequence.
#' @param l1,l2 Factors of the activity penalty, non-negative.
#' @param name Layer name; by default derived from the layer type.
#' @returns `object` with the layer appended (invisibly), or the layer.
#' @name layer_noise
#' @family core layers
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |>
#'   layer_gaussian_noise(0.1) |>
#'   layer_dense(8, activation = "selu") |>
#'   layer_alpha_dropout(0.1) |>
#'   layer_activity_regularization(l2 = 0.001) |>
#'   layer_dense(1)
NULL

#' @rdname layer_noise
#' @export
layer_gaussian_noise <- function(object, stddev, seed = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  stddev <- check_number(stddev, "stddev", lower = 0)
  seed <- check_seed(seed)
  layer <- new_layer("gaussian_noise", "GaussianNoise", layer_name(name, "gaussian_noise"), list(stddev = stddev, seed = seed))
  compose_layer(object, layer, input_shape)
}

#' @rdname layer_noise
#' @export
layer_gaussian_dropout <- function(object, rate, seed = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  rate <- check_number(rate, "rate", lower = 0, upper = 1, upper_open = TRUE)
  seed <- check_seed(seed)
  layer <- new_layer("gaussian_dropout", "GaussianDropout", layer_name(name, "gaussian_dropout"), list(rate = rate, seed = seed))
  compose_layer(object, layer, input_shape)
}

#' @rdname layer_noise
#' @export
layer_alpha_dropout <- function(object, rate, noise_shape = NULL, seed = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  rate <- check_number(rate, "rate", lower = 0, upper = 1, upper_open = TRUE)
  if (!is.null(noise_shape)) abort("`noise_shape` is not supported yet; use the default `noise_shape = NULL`.")
  seed <- check_seed(seed)
  layer <- new_layer("alpha_dropout", "AlphaDropout", layer_name(name, "alpha_dropout"), list(rate = rate, seed = seed))
  compose_layer(object, layer, input_shape)
}

#' @rdname layer_noise
#' @export
layer_activity_regularization <- function(object, l1 = 0, l2 = 0, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  l1 <- check_number(l1, "l1", lower = 0)
  l2 <- check_number(l2, "l2", lower = 0)
  layer <- new_layer("activity_regularization", "ActivityRegularization",
    layer_name(name, "activity_regularization"), list(l1 = l1, l2 = l2))
  compose_layer(object, layer, input_shape)
}

add_noise_layer <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  value <- if (layer$type == "gaussian_noise") cfg$stddev else cfg$rate
  engine_call(rs_add_noise(ptr, layer$name, layer$type, value, cfg$seed), call = call)
}

register_layer_adder("gaussian_noise", add_noise_layer)
register_layer_adder("gaussian_dropout", add_noise_layer)
register_layer_adder("alpha_dropout", add_noise_layer)
register_layer_adder("activity_regularization", function(ptr, layer, call = sys.call(-1)) {
  engine_call(rs_add_activity_regularization(ptr, layer$name, layer$config$l1, layer$config$l2), call = call)
})
