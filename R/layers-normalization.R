# Normalization layers.

#' Batch normalization layer
#'
#' Normalizes each channel (the last axis) to zero mean and unit variance
#' and then scales by `gamma` and shifts by `beta`:
#' `output = gamma * (x - mean) / sqrt(var + epsilon) + beta`.
#'
#' During [fit()] the mean and the (biased) variance are those of the batch,
#' over all axes but the last, and the layer updates its moving statistics
#' after every step: `moving_mean <- moving_mean * momentum + mean * (1 - momentum)`,
#' likewise for the variance. In [evaluate()] and [predict()] the moving
#' statistics take the place of the batch statistics. The moving statistics
#' are non-trainable weights: [get_weights()] returns them after `gamma`
#' and `beta`, and [summary()] counts them as non-trainable parameters.
#'
#' @section Input shape: `(batch_size, ..., channels)`, any rank.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_dense
#' @param axis The normalized axis; only `-1` (the last axis, the channels)
#'   is supported.
#' @param momentum Momentum of the moving statistics, in `[0, 1]`.
#' @param epsilon Small positive number added to the variance.
#' @param center Whether to add the offset `beta`.
#' @param scale Whether to multiply by `gamma`.
#' @param beta_initializer,gamma_initializer,moving_mean_initializer,moving_variance_initializer
#'   Initializers of the four weights (see [initializers]).
#' @param beta_regularizer,gamma_regularizer `NULL` or a `regularizer_*()`
#'   penalty on `beta` or `gamma` (see [regularizers]).
#' @param beta_constraint,gamma_constraint Not supported; must be `NULL`.
#' @param synchronized Only `FALSE` (there is one device).
#' @param name Layer name; by default `batch_normalization`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family normalization layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(8, 8, 1)) |>
#'   layer_conv_2d(4, 3) |>
#'   layer_batch_normalization() |>
#'   layer_activation("relu")
#' model
#' w <- get_weights(model)
#' w[[6]] # moving variance, initially 1
layer_batch_normalization <- function(object, axis = -1L, momentum = 0.99, epsilon = 0.001,
                                      center = TRUE, scale = TRUE, beta_initializer = "zeros",
                                      gamma_initializer = "ones", moving_mean_initializer = "zeros",
                                      moving_variance_initializer = "ones", beta_regularizer = NULL,
                                      gamma_regularizer = NULL, beta_constraint = NULL,
                                      gamma_constraint = NULL, synchronized = FALSE, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  if (!identical(as.integer(axis), -1L) || length(axis) != 1) {
    abort(sprintf(
      "`axis` must be -1 (the last axis, the channels), got %s; kerust normalizes channels-last data only.",
      describe(axis)
    ))
  }
  momentum <- check_number(momentum, "momentum", lower = 0, upper = 1)
  epsilon <- check_number(epsilon, "epsilon", lower = 0, lower_open = TRUE)
  check_flag(center, "center")
  check_flag(scale, "scale")
  if (!is.null(beta_constraint) || !is.null(gamma_constraint)) {
    abort("Weight constraints (`beta_constraint`, `gamma_constraint`) are not supported yet; leave them NULL.")
  }
  if (!isFALSE(synchronized)) {
    abort("`synchronized` must be FALSE: kerust trains on one device.")
  }
  layer <- new_layer("batch_normalization", "BatchNormalization", layer_name(name, "batch_normalization"), list(
    axis = -1L, momentum = momentum, epsilon = epsilon, center = center, scale = scale,
    beta_initializer = resolve_initializer(beta_initializer, "beta_initializer"),
    gamma_initializer = resolve_initializer(gamma_initializer, "gamma_initializer"),
    moving_mean_initializer = resolve_initializer(moving_mean_initializer, "moving_mean_initializer"),
    moving_variance_initializer = resolve_initializer(moving_variance_initializer, "moving_variance_initializer"),
    beta_regularizer = resolve_regularizer(beta_regularizer, "beta_regularizer"),
    gamma_regularizer = resolve_regularizer(gamma_regularizer, "gamma_regularizer"),
    synchronized = FALSE
  ))
  compose_layer(object, layer, input_shape)
}

# Adds a BatchNormalization spec to the engine model behind `ptr`, with
# its gamma and beta penalties.
engine_add_batch_normalization <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  inits <- list(cfg$gamma_initializer, cfg$beta_initializer, cfg$moving_mean_initializer, cfg$moving_variance_initializer)
  engine_call(rs_add_batch_normalization(
    ptr, layer$name, cfg$momentum, cfg$epsilon, cfg$center, cfg$scale,
    vapply(inits, function(i) i$name, ""), lapply(inits, function(i) if (is.null(i$params)) numeric() else i$params)
  ), call = call)
  for (weight in c("gamma", "beta")) {
    reg <- cfg[[paste0(weight, "_regularizer")]]
    present <- if (weight == "gamma") cfg$scale else cfg$center
    if (!is.null(reg) && present) {
      engine_call(rs_set_regularizer(ptr, layer$name, weight, reg$l1, reg$l2), call = call)
    }
  }
}

register_layer_adder("batch_normalization", engine_add_batch_normalization)
