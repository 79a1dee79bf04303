# Weight initializers. Each `initializer_*()` returns a description that a
# layer's `kernel_initializer` or `bias_initializer` accepts; the engine
# draws the values with Keras 3's formulas when the layer is built.

new_initializer <- function(name, ...) {
  params <- c(...)
  structure(list(name = name, params = params), class = "kerust_initializer")
}

#' Weight initializers
#'
#' Initializers set the starting values of a layer's weights. Pass one as
#' `kernel_initializer` or `bias_initializer`, or pass its name as a string
#' (`"glorot_uniform"`, `"he_normal"`, ...), which uses the defaults below.
#' The formulas are those of Keras 3, with `fan_in` and `fan_out` the input
#' and output sizes of the weight (a dense kernel of shape `(fan_in,
#' fan_out)`):
#'
#' * glorot_uniform: uniform on `[-l, l]`, `l = sqrt(6 / (fan_in + fan_out))`
#'   (the default kernel initializer of dense layers).
#' * glorot_normal: truncated normal with standard deviation
#'   `sqrt(2 / (fan_in + fan_out))`.
#' * he_normal, he_uniform: scale `2 / fan_in`; lecun_normal, lecun_uniform:
#'   scale `1 / fan_in`. Normal variants are truncated at 2 standard
#'   deviations and rescaled to keep the variance, as keras does.
#' * random_normal, random_uniform, truncated_normal: fixed parameters.
#' * zeros, ones, constant: fixed values (zeros is the default bias
#'   initializer).
#' * orthogonal: an orthogonal matrix (from a QR decomposition of a normal
#'   matrix) times `gain`.
#'
#' The values come from the engine's random number generator, which is
#' seeded from R's (see [set.seed()]) unless `seed` is given. They do not
#' equal the values keras would draw for the same seed.
#'
#' @param seed `NULL`, or a non-negative integer to draw the same values
#'   every time.
#' @param mean,stddev Mean and standard deviation of a normal distribution.
#' @param minval,maxval Bounds of a uniform distribution.
#' @param value The constant.
#' @param gain Multiplier of the orthogonal matrix.
#' @returns An initializer object of class `kerust_initializer`.
#' @name initializers
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |>
#'   layer_dense(3, kernel_initializer = initializer_he_normal(seed = 1))
NULL

#' @rdname initializers
#' @export
initializer_glorot_uniform <- function(seed = NULL) new_initializer("glorot_uniform", seed = check_seed(seed))

#' @rdname initializers
#' @export
initializer_glorot_normal <- function(seed = NULL) new_initializer("glorot_normal", seed = check_seed(seed))

#' @rdname initializers
#' @export
initializer_he_normal <- function(seed = NULL) new_initializer("he_normal", seed = check_seed(seed))

#' @rdname initializers
#' @export
initializer_he_uniform <- function(seed = NULL) new_initializer("he_uniform", seed = check_seed(seed))

#' @rdname initializers
#' @export
initializer_lecun_normal <- function(seed = NULL) new_initializer("lecun_normal", seed = check_seed(seed))

#' @rdname initializers
#' @export
initializer_lecun_uniform <- function(seed = NULL) new_initializer("lecun_uniform", seed = check_seed(seed))

#' @rdname initializers
#' @export
initializer_random_normal <- function(mean = 0, stddev = 0.05, seed = NULL) {
  check_number(mean, "mean")
  check_number(stddev, "stddev", lower = 0)
  new_initializer("random_normal", mean = mean, stddev = stddev, seed = check_seed(seed))
}

#' @rdname initializers
#' @export
initializer_random_uniform <- function(minval = -0.05, maxval = 0.05, seed = NULL) {
  check_number(minval, "minval")
  check_number(maxval, "maxval", lower = minval)
  new_initializer("random_uniform", minval = minval, maxval = maxval, seed = check_seed(seed))
}

#' @rdname initializers
#' @export
initializer_truncated_normal <- function(mean = 0, stddev = 0.05, seed = NULL) {
  check_number(mean, "mean")
  check_number(stddev, "stddev", lower = 0)
  new_initializer("truncated_normal", mean = mean, stddev = stddev, seed = check_seed(seed))
}

#' @rdname initializers
#' @export
initializer_zeros <- function() new_initializer("zeros")

#' @rdname initializers
#' @export
initializer_ones <- function() new_initializer("ones")

#' @rdname initializers
#' @export
initializer_constant <- function(value = 0) {
  check_number(value, "value")
  new_initializer("constant", value = value)
}

#' @rdname initializers
#' @export
initializer_orthogonal <- function(gain = 1, seed = NULL) {
  check_number(gain, "gain")
  new_initializer("orthogonal", gain = gain, seed = check_seed(seed))
}

initializer_names <- c(
  "glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
  "lecun_uniform", "random_normal", "random_uniform", "truncated_normal",
  "zeros", "ones", "constant", "orthogonal"
)

# Resolves a `*_initializer` argument (a name or an initializer object).
resolve_initializer <- function(x, arg, call = sys.call(-1)) {
  if (inherits(x, "kerust_initializer")) {
    return(x)
  }
  if (!is.character(x) || length(x) != 1 || is.na(x)) {
    abort(sprintf("`%s` must be an initializer name or an initializer_*() object, got %s.", arg, describe(x)), call = call)
  }
  if (!x %in% initializer_names) {
    abort(
      sprintf("Unknown initializer \"%s\" for `%s`. Valid names are: %s.", x, arg, paste(initializer_names, collapse = ", ")),
      call = call
    )
  }
  # The constructor with its defaults, so that a name and the equivalent
  # object (as a loaded model describes its layers) are identical.
  get(paste0("initializer_", x), mode = "function")()
}

#' @export
print.kerust_initializer <- function(x, ...) {
  params <- x$params[names(x$params) != "seed" | x$params >= 0]
  args <- if (length(params)) paste(names(params), params, sep = " = ", collapse = ", ") else ""
  cat(sprintf("<initializer_%s(%s)>\n", x$name, args))
  invisible(x)
}
