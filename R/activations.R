# Activation functions. Each `activation_*()` applies the activation to an
# R array when called on data, and can be passed as the `activation` of a
# layer, like its name as a string.

activation_names <- c(
  "linear", "relu", "sigmoid", "tanh", "softmax", "elu", "selu", "softplus",
  "softsign", "gelu", "silu", "swish", "leaky_relu", "hard_sigmoid",
  "exponential"
)

apply_activation <- function(name, x, params = numeric(), call = sys.call(-1)) {
  if (!is.numeric(x) && !is.logical(x)) {
    abort(sprintf("`x` must be a numeric vector, matrix or array, got %s.", describe(x)), call = call)
  }
  out <- engine_call(rs_activation(name, params, x), call = call)
  if (is.null(dim(x))) out <- as.vector(out)
  out
}

#' Activation functions
#'
#' Each function applies an activation elementwise (softmax: along the last
#' axis) to a numeric vector, matrix or array, with the formula and defaults
#' of Keras 3. Pass the function itself, or its name as a string, as the
#' `activation` argument of a layer: `layer_dense(units = 10, activation =
#' activation_relu)` is the same as `activation = "relu"`.
#'
#' Formulas: `relu(x) = max(x, 0)` (with `negative_slope`, `max_value` and
#' `threshold` as in keras); `sigmoid(x) = 1 / (1 + exp(-x))`;
#' `softmax(x)_i = exp(x_i) / sum_j exp(x_j)`; `elu(x) = x` for `x > 0`, else
#' `alpha * (exp(x) - 1)`; `selu(x) = scale * elu(x, alpha)` with keras's
#' constants `alpha = 1.67326324`, `scale = 1.05070098`; `softplus(x) =
#' log(1 + exp(x))`; `softsign(x) = x / (1 + |x|)`; `gelu(x) = x * Phi(x)`
#' (exact, or the tanh approximation with `approximate = TRUE`); `silu(x) =
#' x * sigmoid(x)` (also called swish); `leaky_relu(x) = x` for `x > 0`, else
#' `negative_slope * x`; `hard_sigmoid(x) = clip(x / 6 + 0.5, 0, 1)`;
#' `exponential(x) = exp(x)`; `linear(x) = x`.
#'
#' Values are computed in single precision (float32) by the engine.
#'
#' @param x A numeric vector, matrix or array.
#' @param negative_slope Slope for values below the threshold.
#' @param max_value Upper bound of the output, or `NULL` for none.
#' @param threshold Values below it are damped by `negative_slope`.
#' @param alpha Scale of the negative part of `elu`.
#' @param approximate For `gelu`, use the tanh approximation.
#' @param axis For `softmax`, the axis to normalise; only the last axis
#'   (`-1`) is supported.
#' @returns An array of the same shape as `x`.
#' @name activations
#' @examples
#' activation_relu(c(-1, 0, 2))
#' activation_softmax(matrix(c(1, 2, 3, 1, 1, 1), nrow = 2, byrow = TRUE))
NULL

#' @rdname activations
#' @export
activation_relu <- function(x, negative_slope = 0, max_value = NULL, threshold = 0) {
  check_number(negative_slope, "negative_slope")
  if (!is.null(max_value)) check_number(max_value, "max_value")
  check_number(threshold, "threshold")
  params <- c(
    negative_slope = negative_slope,
    max_value = if (is.null(max_value)) NA_real_ else max_value,
    threshold = threshold
  )
  apply_activation("relu", x, params)
}

#' @rdname activations
#' @export
activation_sigmoid <- function(x) apply_activation("sigmoid", x)

#' @rdname activations
#' @export
activation_tanh <- function(x) apply_activation("tanh", x)

#' @rdname activations
#' @export
activation_softmax <- function(x, axis = -1L) {
  if (!identical(as.integer(axis), -1L) && !identical(as.integer(axis), length(dim(x)))) {
    abort(sprintf("`axis` must be -1 (the last axis); softmax over other axes is not supported yet, got %s.", describe(axis)))
  }
  apply_activation("softmax", x)
}

#' @rdname activations
#' @export
activation_elu <- function(x, alpha = 1) {
  check_number(alpha, "alpha")
  apply_activation("elu", x, c(alpha = alpha))
}

#' @rdname activations
#' @export
activation_selu <- function(x) apply_activation("selu", x)

#' @rdname activations
#' @export
activation_softplus <- function(x) apply_activation("softplus", x)

#' @rdname activations
#' @export
activation_softsign <- function(x) apply_activation("softsign", x)

#' @rdname activations
#' @export
activation_gelu <- function(x, approximate = FALSE) {
  check_flag(approximate, "approximate")
  apply_activation("gelu", x, c(approximate = as.numeric(approximate)))
}

#' @rdname activations
#' @export
activation_silu <- function(x) apply_activation("silu", x)

#' @rdname activations
#' @export
activation_swish <- activation_silu

#' @rdname activations
#' @export
activation_leaky_relu <- function(x, negative_slope = 0.2) {
  check_number(negative_slope, "negative_slope")
  apply_activation("leaky_relu", x, c(negative_slope = negative_slope))
}

#' @rdname activations
#' @export
activation_hard_sigmoid <- function(x) apply_activation("hard_sigmoid", x)

#' @rdname activations
#' @export
activation_exponential <- function(x) apply_activation("exponential", x)

#' @rdname activations
#' @export
activation_linear <- function(x) {
  apply_activation("linear", x)
}

# The activation functions by name, to resolve a function passed as a
# layer's `activation`.
activation_functions <- function() {
  list(
    relu = activation_relu, sigmoid = activation_sigmoid, tanh = activation_tanh,
    softmax = activation_softmax, elu = activation_elu, selu = activation_selu,
    softplus = activation_softplus, softsign = activation_softsign,
    gelu = activation_gelu, silu = activation_silu, leaky_relu = activation_leaky_relu,
    hard_sigmoid = activation_hard_sigmoid, exponential = activation_exponential,
    linear = activation_linear
  )
}

# Resolves a layer's `activation` argument (NULL, a name or an
# activation_*() function) to the engine's activation name.
resolve_activation <- function(activation, call = sys.call(-1)) {
  if (is.null(activation)) {
    return("linear")
  }
  if (is.function(activation)) {
    fns <- activation_functions()
    for (name in names(fns)) {
      if (identical(activation, fns[[name]])) {
        return(name)
      }
    }
    abort(
      "`activation` must be an activation name or one of kerust's activation_*() functions; ",
      "custom R functions cannot run inside the engine. Got an unknown function.",
      call = call
    )
  }
  if (!is.character(activation) || length(activation) != 1 || is.na(activation)) {
    abort(sprintf("`activation` must be a single string or an activation_*() function, got %s.", describe(activation)), call = call)
  }
  if (!activation %in% activation_names) {
    abort(
      sprintf("Unknown activation \"%s\". Valid names are: %s.", activation, paste(activation_names, collapse = ", ")),
      call = call
    )
  }
  if (activation == "swish") "silu" else activation
}
