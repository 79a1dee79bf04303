# Random image augmentation layers, channels last. They are active only in
# fit(); in evaluate() and predict() they pass their input through.

# Checks a keras augmentation factor: one number `f` in `bounds`, or two
# numbers c(lower, upper) in `bounds`. Returns c(lower, upper); a single
# number becomes `single(|f|)`, c(-|f|, |f|) unless given.
check_factor <- function(x, arg, bounds = c(-1, 1), lower_open = FALSE, single = function(f) c(-f, f),
                         call = sys.call(-1)) {
  if (is.list(x)) x <- unlist(x)
  inside <- function(v) (if (lower_open) v > bounds[1] else v >= bounds[1]) & v <= bounds[2]
  if (!is.numeric(x) || !length(x) %in% 1:2 || anyNA(x) || any(!is.finite(x)) || !all(inside(x))) {
    range <- sprintf("%s%s, %s]", if (lower_open) "(" else "[", format(bounds[1]), format(bounds[2]))
    abort(sprintf(
      "`%s` must be a number in %s or two numbers c(lower, upper) in %s, got %s.",
      arg, range, range, describe(x)
    ), call = call)
  }
  if (length(x) == 1) {
    return(as.double(single(abs(x))))
  }
  as.double(sort(x))
}

# Checks the settings shared by the rotation, translation and zoom layers.
check_sampling <- function(fill_mode, interpolation, fill_value, data_format, call = sys.call(-1)) {
  list(
    fill_mode = check_choice(fill_mode, "fill_mode", c("reflect", "wrap", "constant", "nearest"), call = call),
    interpolation = check_interpolation(interpolation, call = call),
    fill_value = check_number(fill_value, "fill_value", call = call),
    data_format = check_data_format(data_format, 2L, call = call)
  )
}

# Builds the spec of a random affine layer (`kind` "rotation",
# "translation" or "zoom").
affine_layer <- function(object, kind, class_name, config, sampling, seed, dots, name, call = sys.call(-1)) {
  input_shape <- layer_dots(dots, call = call)
  config <- c(config, sampling, list(seed = check_seed(seed, call = call)))
  base <- tolower(gsub("([a-z])([A-Z])", "\\1_\\2", class_name))
  layer <- new_layer("random_affine", class_name, layer_name(name, base, call = call), c(list(kind = kind), config))
  compose_layer(object, layer, input_shape, call = call)
}

# Adds a RandomRotation, RandomTranslation or RandomZoom spec to the engine
# model behind `ptr`.
engine_add_random_affine <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  height <- switch(cfg$kind, rotation = cfg$factor, cfg$height_factor)
  width <- if (is.null(cfg$width_factor)) double() else cfg$width_factor
  engine_call(rs_add_random_affine(
    ptr, layer$name, cfg$kind, height, width, cfg$fill_mode, cfg$interpolation, cfg$fill_value, cfg$seed
  ), call = call)
}

register_layer_adder("random_affine", engine_add_random_affine)

#' Random flip layer
#'
#' During training, flips each image with probability 1/2: horizontally
#' (the columns are reversed), vertically (the rows), or, with
#' `mode = "horizontal_and_vertical"`, both at once on one draw, so such an
#' image is turned by 180 degrees or left alone (as keras 3 does). In
#' [evaluate()] and [predict()] the layer passes its input through.
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_dense
#' @param mode `"horizontal"`, `"vertical"` or `"horizontal_and_vertical"`.
#' @param seed `NULL` to draw from the model's generator (seeded by
#'   `set.seed()`), or a non-negative integer for a sequence of the layer's own.
#' @param name Layer name; by default `random_flip`, `random_flip_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family image augmentation layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(8, 8, 3)) |>
#'   layer_random_flip("horizontal") |>
#'   layer_conv_2d(4, 3)
#' model
layer_random_flip <- function(object, mode = "horizontal_and_vertical", seed = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  mode <- check_choice(mode, "mode", c("horizontal", "vertical", "horizontal_and_vertical"))
  seed <- check_seed(seed)
  layer <- new_layer("random_flip", "RandomFlip", layer_name(name, "random_flip"), list(mode = mode, seed = seed))
  compose_layer(object, layer, input_shape)
}

# Adds a RandomFlip spec to the engine model behind `ptr`.
engine_add_random_flip <- function(ptr, layer, call = sys.call(-1)) {
  engine_call(rs_add_random_flip(ptr, layer$name, layer$config$mode, layer$config$seed), call = call)
}

register_layer_adder("random_flip", engine_add_random_flip)

#' Random rotation, translation and zoom layers
#'
#' During training, transform each image by its own random affine map:
#' a rotation about the image centre, a shift, or a zoom about the centre.
#' Points that fall outside the input are filled by `fill_mode`, and values
#' between pixels are read by `interpolation`, as keras 3 computes them on
#' its TensorFlow backend (`ImageProjectiveTransformV3`). In [evaluate()]
#' and [predict()] the layers pass their input through.
#'
#' Each factor is one number `f` for the range `c(-f, f)`, or two numbers
#' `c(lower, upper)`:
#' - `layer_random_rotation()`: fractions of a full turn in `[-1, 1]`;
#'   positive angles turn counter-clockwise. `factor = 0.1` rotates by up to
#'   36 degrees either way.
#' - `layer_random_translation()`: fractions of the height and width in
#'   `[-1, 1]`; positive values shift down and right.
#' - `layer_random_zoom()`: amounts in `(-1, 1]`; the image is zoomed by
#'   `1 + amount`, where positive amounts zoom out and negative ones zoom in.
#'   With `width_factor = NULL` both axes get the same zoom.
#'
#' The gradient with respect to the input is the adjoint of the transform
#' drawn in the forward pass, so the layers also work inside a network.
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_random_flip
#' @param factor Rotation range, in fractions of a full turn (see Details).
#' @param height_factor,width_factor Shift or zoom ranges of the two axes
#'   (see Details).
#' @param fill_mode `"reflect"` (`d c b a | a b c d | d c b a`), `"wrap"`
#'   (`a b c d | a b c d`), `"constant"` (`k k | a b c d | k k` with `k =
#'   fill_value`) or `"nearest"` (`a a | a b c d | d d`).
#' @param interpolation `"bilinear"` or `"nearest"`.
#' @param fill_value Value of points outside the input under
#'   `fill_mode = "constant"`.
#' @param data_format `NULL` or `"channels_last"`.
#' @param name Layer name; by default `random_rotation`, `random_translation`
#'   or `random_zoom`, with a suffix when taken.
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family image augmentation layers
#' @name layer_random_affine
#' @examples
#' model <- keras_model_sequential(input_shape = c(16, 16, 1)) |>
#'   layer_random_rotation(0.1) |>
#'   layer_random_translation(0.1, 0.1) |>
#'   layer_random_zoom(c(-0.2, 0.2)) |>
#'   layer_flatten() |>
#'   layer_dense(1)
#' model
NULL

#' @rdname layer_random_affine
#' @export
layer_random_rotation <- function(object, factor, fill_mode = "reflect", interpolation = "bilinear", seed = NULL,
                                  fill_value = 0, data_format = NULL, ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  factor <- check_factor(factor, "factor")
  sampling <- check_sampling(fill_mode, interpolation, fill_value, data_format)
  affine_layer(object, "rotation", "RandomRotation", list(factor = factor), sampling, seed, list(...), name)
}

#' @rdname layer_random_affine
#' @export
layer_random_translation <- function(object, height_factor, width_factor, fill_mode = "reflect",
                                     interpolation = "bilinear", seed = NULL, fill_value = 0, data_format = NULL,
                                     ..., name = NULL) {
  object <- if (missing(object)) NULL else object
  height_factor <- check_factor(height_factor, "height_factor")
  width_factor <- check_factor(width_factor, "width_factor")
  sampling <- check_sampling(fill_mode, interpolation, fill_value, data_format)
  config <- list(height_factor = height_factor, width_factor = width_factor)
  affine_layer(object, "translation", "RandomTranslation", config, sampling, seed, list(...), name)
}

#' @rdname layer_random_affine
#' @export
layer_random_zoom <- function(object, height_factor, width_factor = NULL, fill_mode = "reflect",
                              interpolation = "bilinear", seed = NULL, fill_value = 0, data_format = NULL, ...,
                              name = NULL) {
  object <- if (missing(object)) NULL else object
  height_factor <- check_factor(height_factor, "height_factor", lower_open = TRUE)
  if (!is.null(width_factor)) width_factor <- check_factor(width_factor, "width_factor", lower_open = TRUE)
  sampling <- check_sampling(fill_mode, interpolation, fill_value, data_format)
  config <- list(height_factor = height_factor, width_factor = width_factor)
  affine_layer(object, "zoom", "RandomZoom", config, sampling, seed, list(...), name)
}

#' Random contrast layer
#'
#' During training, draws a contrast factor `f` per image and changes every
#' channel `x` to `(x - mean(x)) * f + mean(x)`, where `mean(x)` is the
#' channel's mean over the image, then clips the result to `value_range`.
#' In [evaluate()] and [predict()] the layer passes its input through,
#' without clipping.
#'
#' Two numbers `factor = c(lower, upper)` draw `f` uniformly from
#' `[1 - lower, 1 + upper]`. A single number `factor = f` draws from
#' `[1, 1 + f]`: keras 3.15 turns it into `c(0, f)`, although its
#' documentation reads `[1 - f, 1 + f]`, and kerust does the same so that
#' scripts augment as they do in keras. Give `c(f, f)` for `[1 - f, 1 + f]`.
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_random_flip
#' @param factor One number in `[0, 1]`, or two numbers `c(lower, upper)` in
#'   `[0, 1]` (see Details).
#' @param value_range The range of the pixel values, `c(low, high)`; the
#'   output is clipped to it. `c(0, 255)` by default, as in keras; use
#'   `c(0, 1)` for images scaled to `[0, 1]`.
#' @param name Layer name; by default `random_contrast`, `random_contrast_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family image augmentation layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(8, 8, 3)) |>
#'   layer_random_contrast(c(0.2, 0.2), value_range = c(0, 1))
#' x <- array(runif(2 * 8 * 8 * 3), c(2, 8, 8, 3))
#' # predict() passes images through, up to float32 rounding.
#' all.equal(predict(model, x, verbose = 0), x, tolerance = 1e-6)
layer_random_contrast <- function(object, factor, value_range = c(0, 255), seed = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  factor <- check_factor(factor, "factor", bounds = c(0, 1), single = function(f) c(0, f))
  if (is.list(value_range)) value_range <- unlist(value_range)
  if (!is.numeric(value_range) || length(value_range) != 2 || anyNA(value_range) ||
    any(!is.finite(value_range)) || value_range[1] >= value_range[2]) {
    abort(sprintf("`value_range` must be two finite numbers c(low, high) with low < high, got %s.", describe(value_range)))
  }
  seed <- check_seed(seed)
  layer <- new_layer("random_contrast", "RandomContrast", layer_name(name, "random_contrast"), list(
    factor = factor, value_range = as.double(value_range), seed = seed
  ))
  compose_layer(object, layer, input_shape)
}

# Adds a RandomContrast spec to the engine model behind `ptr`.
engine_add_random_contrast <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  engine_call(rs_add_random_contrast(ptr, layer$name, cfg$factor, cfg$value_range, cfg$seed), call = call)
}

register_layer_adder("random_contrast", engine_add_random_contrast)
