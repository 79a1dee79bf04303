# Spatial reshaping layers, channels last: zero padding, cropping and
# nearest-neighbour upsampling in 1, 2 or 3 dimensions.

# Checks a padding or cropping argument of a layer with `rank` spatial axes
# and returns a list of `rank` integer pairs c(before, after). Accepted, as
# in keras: one integer for every side; `rank` integers, one per axis for
# both sides; or a list of `rank` pairs. For 1D layers a pair c(before,
# after) is also accepted.
check_sides <- function(x, arg, rank, call = sys.call(-1)) {
  bad <- function() {
    abort(sprintf(
      "`%s` must be a non-negative integer, %d of them (one per axis), or a list of %d pairs c(before, after); got %s.",
      arg, rank, rank, describe(x)
    ), call = call)
  }
  is_count <- function(v) is.numeric(v) && !anyNA(v) && all(is.finite(v)) && all(v >= 0) && all(v == round(v))
  if (is.list(x)) {
    if (length(x) != rank) bad()
    pairs <- lapply(x, function(p) {
      p <- unlist(p)
      if (!is_count(p) || !length(p) %in% 1:2) bad()
      as.integer(rep_len(p, 2))
    })
    return(pairs)
  }
  if (!is_count(x)) bad()
  if (length(x) == 1) {
    return(rep(list(rep(as.integer(x), 2)), rank))
  }
  if (rank == 1 && length(x) == 2) {
    return(list(as.integer(x)))
  }
  if (length(x) == rank) {
    return(lapply(as.integer(x), function(v) c(v, v)))
  }
  bad()
}

# Builds the spec of a padding, cropping or upsampling layer.
spatial_layer <- function(object, type, class_name, config, data_format, rank, dots, name,
                          call = sys.call(-1)) {
  input_shape <- layer_dots(dots, call = call)
  config$data_format <- check_data_format(data_format, rank, call = call)
  base <- tolower(gsub("([a-z])([A-Z])", "\\1_\\2", class_name))
  layer <- new_layer(type, class_name, layer_name(name, base, call = call), config)
  compose_layer(object, layer, input_shape, call = call)
}

# Adds a padding, cropping or upsampling spec to the engine model behind `ptr`.
engine_add_spatial <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  if (identical(cfg$interpolation, "bilinear")) {
    return(engine_call(rs_add_upsampling_bilinear(ptr, layer$name, as.double(cfg$size)), call = call))
  }
  amounts <- switch(layer$type,
    zero_padding = cfg$padding,
    cropping = cfg$cropping,
    upsampling = lapply(cfg$size, function(s) c(s, s))
  )
  engine_call(rs_add_spatial(ptr, layer$name, layer$type, as.double(unlist(amounts))), call = call)
}

register_layer_adder("zero_padding", engine_add_spatial)
register_layer_adder("cropping", engine_add_spatial)
register_layer_adder("upsampling", engine_add_spatial)

#' Zero padding layers
#'
#' Add rows, columns (and, in 3D, planes) of zeros around each sample, for
#' example to keep a convolution's output size or to pad images to a common
#' size.
#'
#' @section Input shape: `*_1d()`: `(batch_size, steps, channels)`;
#'   `*_2d()`: `(batch_size, height, width, channels)`;
#'   `*_3d()`: `(batch_size, depth, height, width, channels)`.
#' @section Output shape: each spatial size grows by the zeros added before
#'   and after it; the channels are unchanged.
#'
#' @inheritParams layer_dense
#' @param padding Zeros to add: one integer for every side; one integer per
#'   spatial axis (the same before and after); or a list with one pair
#'   `c(before, after)` per axis, e.g. `list(c(1, 2), c(0, 1))` for
#'   1 row on top, 2 at the bottom, none on the left and 1 on the right.
#'   For `layer_zero_padding_1d()`, `c(before, after)` also works.
#' @param data_format `NULL` or `"channels_last"`.
#' @param name Layer name; by default `zero_padding2d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family reshaping layers
#' @name layer_zero_padding
#' @examples
#' model <- keras_model_sequential(input_shape = c(2, 2, 1)) |>
#'   layer_zero_padding_2d(padding = 1)
#' predict(model, array(1:4, c(1, 2, 2, 1)), verbose = 0)[1, , , 1]
NULL

#' @rdname layer_zero_padding
#' @export
layer_zero_padding_2d <- function(object, padding = list(1L, 1L), data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  padding <- check_sides(padding, "padding", 2L)
  spatial_layer(object, "zero_padding", "ZeroPadding2D", list(padding = padding), data_format, 2L, list(...), name)
}

#' @rdname layer_zero_padding
#' @export
layer_zero_padding_1d <- function(object, padding = 1L, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  padding <- check_sides(padding, "padding", 1L)
  spatial_layer(object, "zero_padding", "ZeroPadding1D", list(padding = padding), NULL, 1L, list(...), name)
}

#' @rdname layer_zero_padding
#' @export
layer_zero_padding_3d <- function(object, padding = list(1L, 1L, 1L), data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  padding <- check_sides(padding, "padding", 3L)
  spatial_layer(object, "zero_padding", "ZeroPadding3D", list(padding = padding), data_format, 3L, list(...), name)
}

#' Cropping layers
#'
#' Remove positions at the start and end of each spatial axis.
#'
#' @section Input shape: `*_1d()`: `(batch_size, steps, channels)`;
#'   `*_2d()`: `(batch_size, height, width, channels)`;
#'   `*_3d()`: `(batch_size, depth, height, width, channels)`.
#' @section Output shape: each spatial size shrinks by the positions removed
#'   before and after it; the channels are unchanged.
#'
#' @inheritParams layer_zero_padding
#' @param cropping Positions to remove, in the forms `padding` accepts in
#'   [layer_zero_padding_2d()]: one integer, one per axis, or a list of
#'   pairs `c(before, after)`.
#' @param name Layer name; by default `cropping2d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family reshaping layers
#' @name layer_cropping
#' @examples
#' model <- keras_model_sequential(input_shape = c(4, 4, 1)) |>
#'   layer_cropping_2d(cropping = list(c(1, 0), c(1, 2)))
#' predict(model, array(1:16, c(1, 4, 4, 1)), verbose = 0)[1, , , 1]
NULL

#' @rdname layer_cropping
#' @export
layer_cropping_2d <- function(object, cropping = list(list(0L, 0L), list(0L, 0L)), data_format = NULL, ...,
                              name = NULL) {
  object <- if (missing(object)) NULL else object
  cropping <- check_sides(cropping, "cropping", 2L)
  spatial_layer(object, "cropping", "Cropping2D", list(cropping = cropping), data_format, 2L, list(...), name)
}

#' @rdname layer_cropping
#' @export
layer_cropping_1d <- function(object, cropping = list(1L, 1L), ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  if (is.list(cropping) && length(cropping) == 2) cropping <- unlist(cropping)
  cropping <- check_sides(cropping, "cropping", 1L)
  spatial_layer(object, "cropping", "Cropping1D", list(cropping = cropping), NULL, 1L, list(...), name)
}

#' @rdname layer_cropping
#' @export
layer_cropping_3d <- function(object, cropping = list(list(1L, 1L), list(1L, 1L), list(1L, 1L)),
                              data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  cropping <- check_sides(cropping, "cropping", 3L)
  spatial_layer(object, "cropping", "Cropping3D", list(cropping = cropping), data_format, 3L, list(...), name)
}

#' Upsampling layers
#'
#' Repeat each position `size` times along each spatial axis (nearest
#' neighbour interpolation), for example to enlarge feature maps in a
#' decoder. The gradient of each input position is the sum of the
#' gradients of its copies. `layer_upsampling_2d(interpolation =
#' "bilinear")` instead resizes to `size` times the input by bilinear
#' interpolation, as [layer_resizing()] does, with the adjoint of that
#' resampling as its gradient.
#'
#' @section Input shape: `*_1d()`: `(batch_size, steps, channels)`;
#'   `*_2d()`: `(batch_size, height, width, channels)`;
#'   `*_3d()`: `(batch_size, depth, height, width, channels)`.
#' @section Output shape: each spatial size multiplied by its `size`; the
#'   channels are unchanged.
#'
#' @inheritParams layer_zero_padding
#' @param size Repeat count: one integer for all spatial axes, or one per axis.
#' @param interpolation `"nearest"` or `"bilinear"` (`layer_upsampling_2d()`
#'   only). keras also offers `"bicubic"`, `"lanczos3"` and `"lanczos5"`,
#'   which kerust rejects.
#' @param name Layer name; by default `up_sampling2d`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family reshaping layers
#' @name layer_upsampling
#' @examples
#' model <- keras_model_sequential(input_shape = c(2, 2, 1)) |>
#'   layer_upsampling_2d(size = c(2, 3))
#' predict(model, array(1:4, c(1, 2, 2, 1)), verbose = 0)[1, , , 1]
#'
#' smooth <- keras_model_sequential(input_shape = c(2, 2, 1)) |>
#'   layer_upsampling_2d(size = 2, interpolation = "bilinear")
#' predict(smooth, array(1:4, c(1, 2, 2, 1)), verbose = 0)[1, , , 1]
NULL

upsampling_layer <- function(object, size, rank, class_name, data_format, interpolation, dots, name,
                             call = sys.call(-1)) {
  size <- check_axes(size, "size", rank, call = call)
  interpolation <- check_interpolation(interpolation, call = call)
  config <- list(size = size, interpolation = interpolation)
  if (rank == 1L) config$interpolation <- NULL
  spatial_layer(object, "upsampling", class_name, config, data_format, rank, dots, name, call = call)
}

#' @rdname layer_upsampling
#' @export
layer_upsampling_2d <- function(object, size = list(2L, 2L), data_format = NULL, interpolation = "nearest", ...,
                                name = NULL) {
  object <- if (missing(object)) NULL else object
  upsampling_layer(object, size, 2L, "UpSampling2D", data_format, interpolation, list(...), name)
}

#' @rdname layer_upsampling
#' @export
layer_upsampling_1d <- function(object, size = 2L, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  upsampling_layer(object, size, 1L, "UpSampling1D", NULL, "nearest", list(...), name)
}

#' @rdname layer_upsampling
#' @export
layer_upsampling_3d <- function(object, size = list(2L, 2L, 2L), data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  upsampling_layer(object, size, 3L, "UpSampling3D", data_format, "nearest", list(...), name)
}
