# Convolution layers. Data is channels last, as in keras's default: a batch
# of images has dim c(samples, height, width, channels). A grayscale image
# needs a channel axis of size 1.

# Checks a per-axis argument (kernel_size, strides, dilation_rate,
# pool_size, ...) of a layer with `rank` spatial axes: one integer for all
# axes, or `rank` of them, as a vector or a list as keras3 accepts.
# Returns `rank` integers.
check_axes <- function(x, arg, rank, min = 1L, call = sys.call(-1)) {
  if (is.list(x)) x <- unlist(x)
  if (!is.numeric(x) || !length(x) %in% c(1L, rank) || anyNA(x) || any(!is.finite(x)) ||
    any(x != round(x)) || any(x < min)) {
    what <- if (rank == 1) "a single integer" else sprintf("one integer or %d integers", rank)
    abort(sprintf("`%s` must be %s >= %d, got %s.", arg, what, min, describe(x)), call = call)
  }
  as.integer(rep_len(x, rank))
}

# Checks `padding`; keras accepts any letter case.
check_padding <- function(padding, allowed = c("valid", "same"), call = sys.call(-1)) {
  if (!is.character(padding) || length(padding) != 1 || is.na(padding) ||
    !tolower(padding) %in% allowed) {
    abort(sprintf(
      "`padding` must be %s, got %s.",
      paste0("\"", allowed, "\"", collapse = " or "), describe(padding)
    ), call = call)
  }
  tolower(padding)
}

# Checks `data_format`: kerust computes channels last only.
check_data_format <- function(data_format, rank, call = sys.call(-1)) {
  if (is.null(data_format) || identical(data_format, "channels_last")) {
    return("channels_last")
  }
  if (identical(data_format, "channels_first")) {
    order <- paste(c(1, seq_len(rank) + 2, 2), collapse = ", ")
    abort(sprintf(paste0(
      "`data_format = \"channels_first\"` is not supported: kerust computes channels last, ",
      "with samples of shape (%s, channels). Move the channel axis of the data last with ",
      "aperm(x, c(%s)) and use the default data_format."
    ), if (rank == 1) "steps" else if (rank == 2) "height, width" else "depth, height, width", order), call = call)
  }
  abort(sprintf("`data_format` must be NULL or \"channels_last\", got %s.", describe(data_format)), call = call)
}

# Checks that strides and dilation above 1 are not combined, as keras
# requires of convolutions and transposed convolutions.
check_strides_dilation <- function(strides, dilation_rate, call = sys.call(-1)) {
  if (any(strides > 1) && any(dilation_rate > 1)) {
    abort(sprintf(
      "`strides` > 1 cannot be combined with `dilation_rate` > 1 (as in keras), got strides = %s and dilation_rate = %s.",
      deparse(strides), deparse(dilation_rate)
    ), call = call)
  }
}

# Resolves a layer's named initializer and regularizer arguments, in that
# order, into config entries. A NULL regularizer stays as a NULL entry.
resolve_weight_args <- function(initializers, regularizers, call = sys.call(-1)) {
  config <- list()
  for (arg in names(initializers)) {
    config[[arg]] <- resolve_initializer(initializers[[arg]], arg, call = call)
  }
  for (arg in names(regularizers)) {
    config[arg] <- list(resolve_regularizer(regularizers[[arg]], arg, call = call))
  }
  config
}

# Builds the spec of a Conv1D/2D/3D layer from checked arguments.
conv_layer <- function(object, rank, filters, kernel_size, strides, padding, data_format,
                       dilation_rate, groups, activation, use_bias, kernel_initializer,
                       bias_initializer, kernel_regularizer, bias_regularizer,
                       activity_regularizer, dots, name, call = sys.call(-1)) {
  input_shape <- layer_dots(dots, call = call)
  filters <- check_count(filters, "filters", min = 1, call = call)
  kernel_size <- check_axes(kernel_size, "kernel_size", rank, call = call)
  strides <- check_axes(strides, "strides", rank, call = call)
  padding <- check_padding(padding, if (rank == 1) c("valid", "same", "causal") else c("valid", "same"), call = call)
  data_format <- check_data_format(data_format, rank, call = call)
  dilation_rate <- check_axes(dilation_rate, "dilation_rate", rank, call = call)
  groups <- check_count(groups, "groups", min = 1, call = call)
  if (filters %% groups != 0) {
    abort(sprintf("`filters` (%d) must be divisible by `groups` (%d).", filters, groups), call = call)
  }
  check_strides_dilation(strides, dilation_rate, call = call)
  activation <- resolve_activation(activation, call = call)
  check_flag(use_bias, "use_bias", call = call)
  class_name <- sprintf("Conv%dD", rank)
  config <- list(
    filters = filters, kernel_size = kernel_size, strides = strides, padding = padding,
    data_format = data_format, dilation_rate = dilation_rate, groups = groups,
    activation = activation, use_bias = use_bias
  )
  config <- c(config, resolve_weight_args(
    list(kernel_initializer = kernel_initializer, bias_initializer = bias_initializer),
    list(
      kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
      activity_regularizer = activity_regularizer
    ),
    call = call
  ))
  layer <- new_layer(sprintf("conv_%dd", rank), class_name, layer_name(name, sprintf("conv%dd", rank), call = call), config)
  compose_layer(object, layer, input_shape, call = call)
}

# Adds a convolution layer spec to the engine model behind `ptr`.
engine_add_conv <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  engine_call(rs_add_conv(
    ptr, layer$name, length(cfg$kernel_size), cfg$filters, as.double(cfg$kernel_size),
    as.double(cfg$strides), cfg$padding, as.double(cfg$dilation_rate), cfg$groups,
    cfg$activation, numeric(), cfg$use_bias,
    cfg$kernel_initializer$name, cfg$kernel_initializer$params,
    cfg$bias_initializer$name, cfg$bias_initializer$params
  ), call = call)
}

#' 2D convolution layer
#'
#' Slides `filters` kernels of size `kernel_size` over the height and width
#' of an image and outputs, at each position, the sum of the products of
#' each kernel with the window it covers, plus a bias, through `activation`.
#' The kernel has keras's shape
#' `(kernel_height, kernel_width, channels / groups, filters)`.
#'
#' Padding follows keras and TensorFlow: `"valid"` uses no padding, so the
#' output shrinks by `dilation_rate * (kernel_size - 1)`; `"same"` pads with
#' zeros so that the output size is `ceiling(input / strides)`, putting the
#' extra zero at the bottom and right when the padding is odd.
#'
#' Data must be channels last. For grayscale images such as MNIST, add a
#' channel axis of size 1: `x <- array_reshape(x, c(dim(x), 1))` and
#' `input_shape = c(28, 28, 1)`.
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: `(batch_size, new_height, new_width, filters)`,
#'   with `new_height = ceiling(height / strides[1])` for `"same"` padding and
#'   `floor((height - dilation_rate[1] * (kernel_size[1] - 1) - 1) / strides[1]) + 1`
#'   for `"valid"`; likewise for the width.
#'
#' @inheritParams layer_dense
#' @param filters Number of output channels (kernels), a positive integer.
#' @param kernel_size Height and width of the kernels: one integer for both,
#'   or two.
#' @param strides Step of the window along height and width: one integer or
#'   two. Strides above 1 cannot be combined with `dilation_rate` above 1.
#' @param padding `"valid"` (no padding) or `"same"` (zero padding that keeps
#'   the size at stride 1).
#' @param data_format `NULL` or `"channels_last"`; `"channels_first"` is not
#'   supported.
#' @param dilation_rate Spacing between kernel taps (atrous convolution): one
#'   integer or two.
#' @param groups Number of groups: the channels and filters are split into
#'   `groups` parts, and each part of the filters sees only its part of the
#'   channels. Both must be divisible by `groups`.
#' @param kernel_constraint,bias_constraint Not supported; must be `NULL`.
#' @param name Layer name; by default `conv2d`, `conv2d_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(8, 8, 1)) |>
#'   layer_conv_2d(4, c(3, 3), activation = "relu") |>
#'   layer_max_pooling_2d() |>
#'   layer_flatten() |>
#'   layer_dense(2, activation = "softmax")
#' model
#' x <- array(runif(2 * 8 * 8), c(2, 8, 8, 1))
#' dim(predict(model, x, verbose = 0))
layer_conv_2d <- function(object, filters, kernel_size, strides = list(1L, 1L), padding = "valid",
                          data_format = NULL, dilation_rate = list(1L, 1L), groups = 1L,
                          activation = NULL, use_bias = TRUE, kernel_initializer = "glorot_uniform",
                          bias_initializer = "zeros", kernel_regularizer = NULL,
                          bias_regularizer = NULL, activity_regularizer = NULL,
                          kernel_constraint = NULL, bias_constraint = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_constraints(kernel_constraint, bias_constraint)
  conv_layer(
    object, 2L, filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
    activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
    bias_regularizer, activity_regularizer, list(...), name
  )
}

#' 1D convolution layer
#'
#' Slides `filters` kernels of `kernel_size` steps along a sequence (time
#' series, text embeddings) and outputs, at each position, the sum of the
#' products of each kernel with the window it covers, plus a bias, through
#' `activation`. The kernel has keras's shape
#' `(kernel_size, channels / groups, filters)`.
#'
#' `padding = "causal"` pads `dilation_rate * (kernel_size - 1)` zeros at the
#' start only, so the output at step `t` depends on inputs up to `t` (as in
#' WaveNet); the output has as many steps as the input at stride 1.
#'
#' @section Input shape: `(batch_size, steps, channels)`.
#' @section Output shape: `(batch_size, new_steps, filters)`, with
#'   `new_steps = ceiling(steps / strides)` for `"same"` and `"causal"`
#'   padding, and `floor((steps - dilation_rate * (kernel_size - 1) - 1) / strides) + 1`
#'   for `"valid"`.
#'
#' @inheritParams layer_conv_2d
#' @param kernel_size Length of the kernels, an integer.
#' @param strides Step of the window, an integer. Strides above 1 cannot be
#'   combined with `dilation_rate` above 1.
#' @param padding `"valid"`, `"same"` or `"causal"`.
#' @param dilation_rate Spacing between kernel taps, an integer.
#' @param name Layer name; by default `conv1d`, `conv1d_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(20, 2)) |>
#'   layer_conv_1d(4, 3, padding = "causal", activation = "relu") |>
#'   layer_global_average_pooling_1d() |>
#'   layer_dense(1)
#' x <- array(rnorm(3 * 20 * 2), c(3, 20, 2))
#' dim(predict(model, x, verbose = 0))
layer_conv_1d <- function(object, filters, kernel_size, strides = 1L, padding = "valid",
                          data_format = NULL, dilation_rate = 1L, groups = 1L,
                          activation = NULL, use_bias = TRUE, kernel_initializer = "glorot_uniform",
                          bias_initializer = "zeros", kernel_regularizer = NULL,
                          bias_regularizer = NULL, activity_regularizer = NULL,
                          kernel_constraint = NULL, bias_constraint = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_constraints(kernel_constraint, bias_constraint)
  conv_layer(
    object, 1L, filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
    activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
    bias_regularizer, activity_regularizer, list(...), name
  )
}

#' 3D convolution layer
#'
#' The convolution of [layer_conv_2d()] over three spatial axes (volumes,
#' or video frames as depth). The kernel has keras's shape
#' `(kernel_depth, kernel_height, kernel_width, channels / groups, filters)`.
#'
#' @section Input shape: `(batch_size, depth, height, width, channels)`.
#' @section Output shape: `(batch_size, new_depth, new_height, new_width, filters)`,
#'   each size computed as in [layer_conv_2d()].
#'
#' @inheritParams layer_conv_2d
#' @param kernel_size Depth, height and width of the kernels: one integer for
#'   all, or three.
#' @param strides Step of the window: one integer or three.
#' @param dilation_rate Spacing between kernel taps: one integer or three.
#' @param name Layer name; by default `conv3d`, `conv3d_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(4, 6, 6, 1)) |>
#'   layer_conv_3d(2, 3, padding = "same")
#' dim(predict(model, array(1, c(1, 4, 6, 6, 1)), verbose = 0))
layer_conv_3d <- function(object, filters, kernel_size, strides = list(1L, 1L, 1L), padding = "valid",
                          data_format = NULL, dilation_rate = list(1L, 1L, 1L), groups = 1L,
                          activation = NULL, use_bias = TRUE, kernel_initializer = "glorot_uniform",
                          bias_initializer = "zeros", kernel_regularizer = NULL,
                          bias_regularizer = NULL, activity_regularizer = NULL,
                          kernel_constraint = NULL, bias_constraint = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_constraints(kernel_constraint, bias_constraint)
  conv_layer(
    object, 3L, filters, kernel_size, strides, padding, data_format, dilation_rate, groups,
    activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
    bias_regularizer, activity_regularizer, list(...), name
  )
}

# Weight constraints are not implemented; reject them instead of ignoring them.
check_no_constraints <- function(kernel_constraint, bias_constraint, call = sys.call(-1)) {
  if (!is.null(kernel_constraint) || !is.null(bias_constraint)) {
    abort("Weight constraints (`kernel_constraint`, `bias_constraint`) are not supported yet; leave them NULL.", call = call)
  }
}
