# Transposed, separable and depthwise convolution layers, channels last.
# The argument checks of layers-convolutional.R (check_axes, check_padding,
# check_data_format, check_strides_dilation, resolve_weight_args) apply here
# too.

# Checks `output_padding` of a transposed convolution: NULL, or one
# non-negative integer or `rank` of them, each smaller than its stride.
check_output_padding <- function(output_padding, strides, rank, call = sys.call(-1)) {
  if (is.null(output_padding)) {
    return(NULL)
  }
  output_padding <- check_axes(output_padding, "output_padding", rank, min = 0L, call = call)
  if (any(output_padding >= strides)) {
    abort(sprintf(
      "`output_padding` must be smaller than `strides` along every axis, got output_padding = c(%s) and strides = c(%s).",
      paste(output_padding, collapse = ", "), paste(strides, collapse = ", ")
    ), call = call)
  }
  output_padding
}

# Builds the spec of a Conv1DTranspose/Conv2DTranspose layer.
conv_transpose_layer <- function(object, rank, filters, kernel_size, strides, padding,
                                 output_padding, data_format, dilation_rate, activation,
                                 use_bias, kernel_initializer, bias_initializer,
                                 kernel_regularizer, bias_regularizer, activity_regularizer,
                                 dots, name, call = sys.call(-1)) {
  input_shape <- layer_dots(dots, call = call)
  filters <- check_count(filters, "filters", min = 1, call = call)
  kernel_size <- check_axes(kernel_size, "kernel_size", rank, call = call)
  strides <- check_axes(strides, "strides", rank, call = call)
  padding <- check_padding(padding, call = call)
  output_padding <- check_output_padding(output_padding, strides, rank, call = call)
  data_format <- check_data_format(data_format, rank, call = call)
  dilation_rate <- check_axes(dilation_rate, "dilation_rate", rank, call = call)
  check_strides_dilation(strides, dilation_rate, call = call)
  activation <- resolve_activation(activation, call = call)
  check_flag(use_bias, "use_bias", call = call)
  config <- list(
    filters = filters, kernel_size = kernel_size, strides = strides, padding = padding,
    output_padding = output_padding, data_format = data_format,
    dilation_rate = dilation_rate, activation = activation, use_bias = use_bias
  )
  config <- c(config, resolve_weight_args(
    list(kernel_initializer = kernel_initializer, bias_initializer = bias_initializer),
    list(
      kernel_regularizer = kernel_regularizer, bias_regularizer = bias_regularizer,
      activity_regularizer = activity_regularizer
    ),
    call = call
  ))
  layer <- new_layer(
    sprintf("conv_%dd_transpose", rank), sprintf("Conv%dDTranspose", rank),
    layer_name(name, sprintf("conv%dd_transpose", rank), call = call), config
  )
  compose_layer(object, layer, input_shape, call = call)
}

# Adds a transposed convolution spec to the engine model behind `ptr`.
engine_add_conv_transpose <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  engine_call(rs_add_conv_transpose(
    ptr, layer$name, length(cfg$kernel_size), cfg$filters, as.double(cfg$kernel_size),
    as.double(cfg$strides), cfg$padding, as.double(cfg$output_padding),
    as.double(cfg$dilation_rate), cfg$activation, numeric(), cfg$use_bias,
    cfg$kernel_initializer$name, cfg$kernel_initializer$params,
    cfg$bias_initializer$name, cfg$bias_initializer$params
  ), call = call)
}

# Builds the spec of a depthwise (`filters` NULL) or separable convolution.
depthwise_layer <- function(object, type, class_name, base_name, rank, filters, kernel_size,
                            strides, padding, depth_multiplier, data_format, dilation_rate,
                            activation, use_bias, initializers, regularizers, dots, name,
                            call = sys.call(-1)) {
  input_shape <- layer_dots(dots, call = call)
  if (!is.null(filters)) filters <- check_count(filters, "filters", min = 1, call = call)
  kernel_size <- check_axes(kernel_size, "kernel_size", rank, call = call)
  strides <- check_axes(strides, "strides", rank, call = call)
  padding <- check_padding(padding, call = call)
  depth_multiplier <- check_count(depth_multiplier, "depth_multiplier", min = 1, call = call)
  data_format <- check_data_format(data_format, rank, call = call)
  dilation_rate <- check_axes(dilation_rate, "dilation_rate", rank, call = call)
  activation <- resolve_activation(activation, call = call)
  check_flag(use_bias, "use_bias", call = call)
  config <- list(
    filters = filters, kernel_size = kernel_size, strides = strides, padding = padding,
    depth_multiplier = depth_multiplier, data_format = data_format,
    dilation_rate = dilation_rate, activation = activation, use_bias = use_bias
  )
  config <- c(config, resolve_weight_args(initializers, regularizers, call = call))
  layer <- new_layer(type, class_name, layer_name(name, base_name, call = call), config)
  compose_layer(object, layer, input_shape, call = call)
}

# Adds a depthwise or separable convolution spec to the engine model behind
# `ptr`, with its depthwise and pointwise regularizers (engine weights
# `kernel` of a depthwise layer, `depthwise_kernel` and `pointwise_kernel`
# of a separable one). The bias and activity regularizers are set by
# engine_set_regularizers().
engine_add_depthwise <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  separable <- !is.null(cfg$filters)
  pointwise <- if (separable) cfg$pointwise_initializer else cfg$depthwise_initializer
  inits <- list(cfg$depthwise_initializer, pointwise, cfg$bias_initializer)
  engine_call(rs_add_depthwise_conv(
    ptr, layer$name, length(cfg$kernel_size), if (separable) cfg$filters else 0,
    as.double(cfg$kernel_size), as.double(cfg$strides), cfg$padding,
    as.double(cfg$dilation_rate), cfg$depth_multiplier, cfg$activation, numeric(),
    cfg$use_bias, vapply(inits, `[[`, "", "name"), lapply(inits, `[[`, "params")
  ), call = call)
  targets <- if (separable) {
    c(depthwise_regularizer = "depthwise_kernel", pointwise_regularizer = "pointwise_kernel")
  } else {
    c(depthwise_regularizer = "kernel")
  }
  for (arg in names(targets)) {
    reg <- cfg[[arg]]
    if (is.null(reg)) next
    engine_call(rs_set_regularizer(ptr, layer$name, targets[[arg]], reg$l1, reg$l2), call = call)
  }
}

#' 2D transposed convolution layer
#'
#' The transpose (gradient) of [layer_conv_2d()]: each input position adds
#' `kernel_size` windows of `filters` values to the output, spaced `strides`
#' apart, so the output is larger than the input. It is used to upsample
#' feature maps, as in decoders and generators (sometimes called
#' deconvolution). The kernel has keras's shape
#' `(kernel_height, kernel_width, filters, channels)`.
#'
#' The output size follows keras. Along each axis, with input size `n`,
#' stride `s` and a kernel spanning `k = dilation_rate * (kernel_size - 1) + 1`
#' inputs, it is `n * s` for `"same"` padding and
#' `(n - 1) * s + max(k, s)` for `"valid"` padding. With `output_padding = p`
#' it is `(n - 1) * s + k + p` for `"valid"` and
#' `(n - 1) * s + (k %% 2) + p` for `"same"`; keras (with TensorFlow)
#' rejects the `"same"` settings whose output a convolution with these
#' strides would not map back to `n`, and so does kerust.
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: `(batch_size, new_height, new_width, filters)`,
#'   with the sizes above.
#'
#' @inheritParams layer_conv_2d
#' @param filters Number of output channels, a positive integer.
#' @param kernel_size Height and width of the kernels: one integer for both,
#'   or two.
#' @param strides Step between the windows that neighbouring input
#'   positions add to the output: one integer or two. Strides above 1
#'   cannot be combined with `dilation_rate` above 1.
#' @param padding `"valid"` or `"same"` (see the output size above).
#' @param output_padding `NULL` (keras's default size), or extra rows and
#'   columns at the end of the output: one integer or two, each smaller
#'   than the stride along its axis.
#' @param dilation_rate Spacing between kernel taps: one integer or two.
#' @param name Layer name; by default `conv2d_transpose`,
#'   `conv2d_transpose_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(4, 4, 3)) |>
#'   layer_conv_2d_transpose(2, 3, strides = 2, padding = "same")
#' x <- array(runif(2 * 4 * 4 * 3), c(2, 4, 4, 3))
#' dim(predict(model, x, verbose = 0))
layer_conv_2d_transpose <- function(object, filters, kernel_size, strides = list(1L, 1L),
                                    padding = "valid", output_padding = NULL,
                                    data_format = NULL, dilation_rate = list(1L, 1L),
                                    activation = NULL, use_bias = TRUE,
                                    kernel_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", kernel_regularizer = NULL,
                                    bias_regularizer = NULL, activity_regularizer = NULL,
                                    kernel_constraint = NULL, bias_constraint = NULL, ...,
                                    name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_constraints(kernel_constraint, bias_constraint)
  conv_transpose_layer(
    object, 2L, filters, kernel_size, strides, padding, output_padding, data_format,
    dilation_rate, activation, use_bias, kernel_initializer, bias_initializer,
    kernel_regularizer, bias_regularizer, activity_regularizer, list(...), name
  )
}

#' 1D transposed convolution layer
#'
#' The transpose (gradient) of [layer_conv_1d()], which lengthens a
#' sequence: see [layer_conv_2d_transpose()] for the output length. The
#' kernel has keras's shape `(kernel_size, filters, channels)`.
#'
#' @section Input shape: `(batch_size, steps, channels)`.
#' @section Output shape: `(batch_size, new_steps, filters)`.
#'
#' @inheritParams layer_conv_2d_transpose
#' @param kernel_size Length of the kernels, an integer.
#' @param strides Step between the windows of neighbouring input steps, an
#'   integer.
#' @param output_padding `NULL` or an integer smaller than `strides`.
#' @param dilation_rate Spacing between kernel taps, an integer.
#' @param name Layer name; by default `conv1d_transpose`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(5, 2)) |>
#'   layer_conv_1d_transpose(3, 4, strides = 3)
#' dim(predict(model, array(1, c(1, 5, 2)), verbose = 0))
layer_conv_1d_transpose <- function(object, filters, kernel_size, strides = 1L,
                                    padding = "valid", output_padding = NULL,
                                    data_format = NULL, dilation_rate = 1L,
                                    activation = NULL, use_bias = TRUE,
                                    kernel_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", kernel_regularizer = NULL,
                                    bias_regularizer = NULL, activity_regularizer = NULL,
                                    kernel_constraint = NULL, bias_constraint = NULL, ...,
                                    name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_constraints(kernel_constraint, bias_constraint)
  conv_transpose_layer(
    object, 1L, filters, kernel_size, strides, padding, output_padding, data_format,
    dilation_rate, activation, use_bias, kernel_initializer, bias_initializer,
    kernel_regularizer, bias_regularizer, activity_regularizer, list(...), name
  )
}

#' 2D depthwise convolution layer
#'
#' Convolves each input channel with its own `depth_multiplier` kernels,
#' without mixing channels: output channel `(c - 1) * depth_multiplier + m`
#' reads only input channel `c`. The kernel has keras's shape
#' `(kernel_height, kernel_width, channels, depth_multiplier)` and the bias
#' `(channels * depth_multiplier)`. Padding and output sizes are those of
#' [layer_conv_2d()].
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: `(batch_size, new_height, new_width,
#'   channels * depth_multiplier)`.
#'
#' @inheritParams layer_conv_2d
#' @param strides Step of the window along height and width: one integer or
#'   two.
#' @param depth_multiplier Number of output channels per input channel, a
#'   positive integer.
#' @param depthwise_initializer Initializer of the kernel (see
#'   [initializers]).
#' @param depthwise_regularizer `NULL` or a `regularizer_*()` penalty on the
#'   kernel.
#' @param depthwise_constraint,bias_constraint Not supported; must be `NULL`.
#' @param bias_initializer Initializer of the bias: a name or an
#'   `initializer_*()` object (see [initializers]).
#' @param bias_regularizer,activity_regularizer `NULL` or a
#'   `regularizer_*()` penalty on the bias or on the layer's output (see
#'   [regularizers]).
#' @param name Layer name; by default `depthwise_conv2d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(6, 6, 3)) |>
#'   layer_depthwise_conv_2d(3, depth_multiplier = 2, padding = "same")
#' dim(predict(model, array(1, c(1, 6, 6, 3)), verbose = 0))
layer_depthwise_conv_2d <- function(object, kernel_size, strides = list(1L, 1L),
                                    padding = "valid", depth_multiplier = 1L,
                                    data_format = NULL, dilation_rate = list(1L, 1L),
                                    activation = NULL, use_bias = TRUE,
                                    depthwise_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", depthwise_regularizer = NULL,
                                    bias_regularizer = NULL, activity_regularizer = NULL,
                                    depthwise_constraint = NULL, bias_constraint = NULL, ...,
                                    name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_weight_constraints(depthwise_constraint = depthwise_constraint, bias_constraint = bias_constraint)
  depthwise_layer(
    object, "depthwise_conv_2d", "DepthwiseConv2D", "depthwise_conv2d", 2L, NULL,
    kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate,
    activation, use_bias,
    list(depthwise_initializer = depthwise_initializer, bias_initializer = bias_initializer),
    list(
      depthwise_regularizer = depthwise_regularizer, bias_regularizer = bias_regularizer,
      activity_regularizer = activity_regularizer
    ),
    list(...), name
  )
}

#' 1D depthwise convolution layer
#'
#' The depthwise convolution of [layer_depthwise_conv_2d()] along a
#' sequence. The kernel has keras's shape
#' `(kernel_size, channels, depth_multiplier)` and the bias
#' `(channels * depth_multiplier)`.
#'
#' @section Input shape: `(batch_size, steps, channels)`.
#' @section Output shape: `(batch_size, new_steps, channels * depth_multiplier)`.
#'
#' @inheritParams layer_depthwise_conv_2d
#' @param kernel_size Length of the kernels, an integer.
#' @param strides Step of the window, an integer.
#' @param dilation_rate Spacing between kernel taps, an integer.
#' @param name Layer name; by default `depthwise_conv1d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 2)) |>
#'   layer_depthwise_conv_1d(3, depth_multiplier = 2)
#' dim(predict(model, array(1, c(1, 10, 2)), verbose = 0))
layer_depthwise_conv_1d <- function(object, kernel_size, strides = 1L, padding = "valid",
                                    depth_multiplier = 1L, data_format = NULL,
                                    dilation_rate = 1L, activation = NULL, use_bias = TRUE,
                                    depthwise_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", depthwise_regularizer = NULL,
                                    bias_regularizer = NULL, activity_regularizer = NULL,
                                    depthwise_constraint = NULL, bias_constraint = NULL, ...,
                                    name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_weight_constraints(depthwise_constraint = depthwise_constraint, bias_constraint = bias_constraint)
  depthwise_layer(
    object, "depthwise_conv_1d", "DepthwiseConv1D", "depthwise_conv1d", 1L, NULL,
    kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate,
    activation, use_bias,
    list(depthwise_initializer = depthwise_initializer, bias_initializer = bias_initializer),
    list(
      depthwise_regularizer = depthwise_regularizer, bias_regularizer = bias_regularizer,
      activity_regularizer = activity_regularizer
    ),
    list(...), name
  )
}

#' 2D separable convolution layer
#'
#' A depthwise convolution ([layer_depthwise_conv_2d()], without bias)
#' followed by a pointwise (1x1) convolution to `filters` channels, plus a
#' bias, through `activation`. It needs far fewer weights than
#' [layer_conv_2d()] for the same output. Weights, in keras's order:
#' `depthwise_kernel (kernel_height, kernel_width, channels, depth_multiplier)`,
#' `pointwise_kernel (1, 1, channels * depth_multiplier, filters)` and
#' `bias (filters)`. Strides, padding and dilation apply to the depthwise
#' step, with the output sizes of [layer_conv_2d()].
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: `(batch_size, new_height, new_width, filters)`.
#'
#' @inheritParams layer_depthwise_conv_2d
#' @param filters Number of output channels, a positive integer.
#' @param depth_multiplier Number of depthwise output channels per input
#'   channel, a positive integer.
#' @param depthwise_initializer,pointwise_initializer Initializers of the
#'   depthwise and pointwise kernels (see [initializers]).
#' @param depthwise_regularizer,pointwise_regularizer `NULL` or a
#'   `regularizer_*()` penalty on the depthwise or pointwise kernel.
#' @param depthwise_constraint,pointwise_constraint,bias_constraint Not
#'   supported; must be `NULL`.
#' @param name Layer name; by default `separable_conv2d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(8, 8, 3)) |>
#'   layer_separable_conv_2d(4, 3, activation = "relu") |>
#'   layer_global_average_pooling_2d() |>
#'   layer_dense(1)
#' dim(predict(model, array(runif(2 * 8 * 8 * 3), c(2, 8, 8, 3)), verbose = 0))
layer_separable_conv_2d <- function(object, filters, kernel_size, strides = list(1L, 1L),
                                    padding = "valid", data_format = NULL,
                                    dilation_rate = list(1L, 1L), depth_multiplier = 1L,
                                    activation = NULL, use_bias = TRUE,
                                    depthwise_initializer = "glorot_uniform",
                                    pointwise_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", depthwise_regularizer = NULL,
                                    pointwise_regularizer = NULL, bias_regularizer = NULL,
                                    activity_regularizer = NULL, depthwise_constraint = NULL,
                                    pointwise_constraint = NULL, bias_constraint = NULL, ...,
                                    name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_weight_constraints(
    depthwise_constraint = depthwise_constraint, pointwise_constraint = pointwise_constraint,
    bias_constraint = bias_constraint
  )
  separable_layer(
    object, 2L, filters, kernel_size, strides, padding, depth_multiplier, data_format,
    dilation_rate, activation, use_bias, depthwise_initializer, pointwise_initializer,
    bias_initializer, depthwise_regularizer, pointwise_regularizer, bias_regularizer,
    activity_regularizer, list(...), name
  )
}

#' 1D separable convolution layer
#'
#' The separable convolution of [layer_separable_conv_2d()] along a
#' sequence. Weights, in keras's order:
#' `depthwise_kernel (kernel_size, channels, depth_multiplier)`,
#' `pointwise_kernel (1, channels * depth_multiplier, filters)` and
#' `bias (filters)`.
#'
#' @section Input shape: `(batch_size, steps, channels)`.
#' @section Output shape: `(batch_size, new_steps, filters)`.
#'
#' @inheritParams layer_separable_conv_2d
#' @param kernel_size Length of the kernels, an integer.
#' @param strides Step of the window, an integer.
#' @param dilation_rate Spacing between kernel taps, an integer.
#' @param name Layer name; by default `separable_conv1d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family convolutional layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(10, 2)) |>
#'   layer_separable_conv_1d(3, 3, depth_multiplier = 2, padding = "same")
#' dim(predict(model, array(1, c(1, 10, 2)), verbose = 0))
layer_separable_conv_1d <- function(object, filters, kernel_size, strides = 1L,
                                    padding = "valid", data_format = NULL,
                                    dilation_rate = 1L, depth_multiplier = 1L,
                                    activation = NULL, use_bias = TRUE,
                                    depthwise_initializer = "glorot_uniform",
                                    pointwise_initializer = "glorot_uniform",
                                    bias_initializer = "zeros", depthwise_regularizer = NULL,
                                    pointwise_regularizer = NULL, bias_regularizer = NULL,
                                    activity_regularizer = NULL, depthwise_constraint = NULL,
                                    pointwise_constraint = NULL, bias_constraint = NULL, ...,
                                    name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  check_no_weight_constraints(
    depthwise_constraint = depthwise_constraint, pointwise_constraint = pointwise_constraint,
    bias_constraint = bias_constraint
  )
  separable_layer(
    object, 1L, filters, kernel_size, strides, padding, depth_multiplier, data_format,
    dilation_rate, activation, use_bias, depthwise_initializer, pointwise_initializer,
    bias_initializer, depthwise_regularizer, pointwise_regularizer, bias_regularizer,
    activity_regularizer, list(...), name
  )
}

# Builds the spec of a SeparableConv1D/2D layer.
separable_layer <- function(object, rank, filters, kernel_size, strides, padding,
                            depth_multiplier, data_format, dilation_rate, activation, use_bias,
                            depthwise_initializer, pointwise_initializer, bias_initializer,
                            depthwise_regularizer, pointwise_regularizer, bias_regularizer,
                            activity_regularizer, dots, name, call = sys.call(-1)) {
  depthwise_layer(
    object, sprintf("separable_conv_%dd", rank), sprintf("SeparableConv%dD", rank),
    sprintf("separable_conv%dd", rank), rank, filters, kernel_size, strides, padding,
    depth_multiplier, data_format, dilation_rate, activation, use_bias,
    list(
      depthwise_initializer = depthwise_initializer,
      pointwise_initializer = pointwise_initializer, bias_initializer = bias_initializer
    ),
    list(
      depthwise_regularizer = depthwise_regularizer,
      pointwise_regularizer = pointwise_regularizer, bias_regularizer = bias_regularizer,
      activity_regularizer = activity_regularizer
    ),
    dots, name,
    call = call
  )
}

# Weight constraints are not implemented; rejects any given, by name.
check_no_weight_constraints <- function(..., call = sys.call(-1)) {
  given <- Filter(Negate(is.null), list(...))
  if (length(given)) {
    abort(sprintf(
      "Weight constraints (%s) are not supported yet; leave them NULL.",
      paste0("`", names(given), "`", collapse = ", ")
    ), call = call)
  }
}

register_layer_adder("conv_1d_transpose", engine_add_conv_transpose)
register_layer_adder("conv_2d_transpose", engine_add_conv_transpose)
register_layer_adder("depthwise_conv_1d", engine_add_depthwise)
register_layer_adder("depthwise_conv_2d", engine_add_depthwise)
register_layer_adder("separable_conv_1d", engine_add_depthwise)
register_layer_adder("separable_conv_2d", engine_add_depthwise)
