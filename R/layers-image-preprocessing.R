# Image preprocessing layers that resample images inside the model:
# resizing and center cropping, channels last.

# Checks `interpolation` of a resampling layer. kerust implements the two
# that keras's random image layers accept.
check_interpolation <- function(interpolation, call = sys.call(-1)) {
  if (!is.character(interpolation) || length(interpolation) != 1 || !interpolation %in% c("bilinear", "nearest")) {
    abort(sprintf(
      "`interpolation` must be one of \"bilinear\", \"nearest\" (kerust implements no others), got %s.",
      describe(interpolation)
    ), call = call)
  }
  interpolation
}

#' Resizing layer
#'
#' Resizes images to `height` x `width` by bilinear or nearest-neighbour
#' interpolation, sampling at pixel centres as keras 3 does on its
#' TensorFlow backend (`tf.image.resize` without antialiasing). With
#' `crop_to_aspect_ratio = TRUE` the largest centred window with the target
#' aspect ratio is resized, so the image is not distorted; with
#' `pad_to_aspect_ratio = TRUE` the short side is first padded evenly with
#' `fill_value`.
#'
#' The layer is a fixed linear map, so it also works in the middle of a
#' network: its gradient is the exact adjoint of the resampling.
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: `(batch_size, target_height, target_width, channels)`.
#'
#' @inheritParams layer_dense
#' @param height,width Target size, positive integers.
#' @param interpolation `"bilinear"` or `"nearest"`. keras also offers
#'   `"bicubic"`, `"lanczos3"` and `"lanczos5"`, which kerust rejects.
#' @param crop_to_aspect_ratio If `TRUE`, resize the centred window of the
#'   target aspect ratio.
#' @param pad_to_aspect_ratio If `TRUE`, pad the short side evenly to the
#'   target aspect ratio before resizing. At most one of the two can be `TRUE`.
#' @param fill_mode Fill of the padded area; only `"constant"`, as in keras.
#' @param fill_value Value of the padded area.
#' @param data_format `NULL` or `"channels_last"`.
#' @param name Layer name; by default `resizing`, `resizing_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family image preprocessing layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(2, 2, 1)) |>
#'   layer_resizing(4, 4)
#' predict(model, array(c(0, 1, 2, 3), c(1, 2, 2, 1)), verbose = 0)[1, , , 1]
layer_resizing <- function(object, height, width, interpolation = "bilinear", crop_to_aspect_ratio = FALSE,
                           pad_to_aspect_ratio = FALSE, fill_mode = "constant", fill_value = 0,
                           data_format = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  height <- check_count(height, "height")
  width <- check_count(width, "width")
  interpolation <- check_interpolation(interpolation)
  crop_to_aspect_ratio <- check_flag(crop_to_aspect_ratio, "crop_to_aspect_ratio")
  pad_to_aspect_ratio <- check_flag(pad_to_aspect_ratio, "pad_to_aspect_ratio")
  if (crop_to_aspect_ratio && pad_to_aspect_ratio) {
    abort("Only one of `crop_to_aspect_ratio` and `pad_to_aspect_ratio` can be TRUE.")
  }
  fill_mode <- check_choice(fill_mode, "fill_mode", "constant")
  fill_value <- check_number(fill_value, "fill_value")
  data_format <- check_data_format(data_format, 2L)
  layer <- new_layer("resizing", "Resizing", layer_name(name, "resizing"), list(
    height = height, width = width, interpolation = interpolation,
    crop_to_aspect_ratio = crop_to_aspect_ratio, pad_to_aspect_ratio = pad_to_aspect_ratio,
    fill_mode = fill_mode, fill_value = fill_value, data_format = data_format
  ))
  compose_layer(object, layer, input_shape)
}

# Adds a Resizing spec to the engine model behind `ptr`.
engine_add_resizing <- function(ptr, layer, call = sys.call(-1)) {
  cfg <- layer$config
  aspect <- if (cfg$crop_to_aspect_ratio) "crop" else if (cfg$pad_to_aspect_ratio) "pad" else "stretch"
  engine_call(rs_add_resizing(
    ptr, layer$name, cfg$height, cfg$width, cfg$interpolation, aspect, cfg$fill_value
  ), call = call)
}

register_layer_adder("resizing", engine_add_resizing)

#' Center crop layer
#'
#' Cuts the centred `height` x `width` window of each image. The window
#' starts at half the surplus, rounded down. As in keras, an image smaller
#' than the target on either axis is instead cropped to the target aspect
#' ratio and resized bilinearly (as `layer_resizing(crop_to_aspect_ratio =
#' TRUE)` does).
#'
#' @section Input shape: `(batch_size, height, width, channels)`.
#' @section Output shape: `(batch_size, target_height, target_width, channels)`.
#'
#' @inheritParams layer_resizing
#' @param height,width Size of the window, positive integers.
#' @param name Layer name; by default `center_crop`, `center_crop_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family image preprocessing layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(4, 4, 1)) |>
#'   layer_center_crop(2, 2)
#' predict(model, array(1:16, c(1, 4, 4, 1)), verbose = 0)[1, , , 1]
layer_center_crop <- function(object, height, width, data_format = NULL, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  height <- check_count(height, "height")
  width <- check_count(width, "width")
  data_format <- check_data_format(data_format, 2L)
  layer <- new_layer("center_crop", "CenterCrop", layer_name(name, "center_crop"), list(
    height = height, width = width, data_format = data_format
  ))
  compose_layer(object, layer, input_shape)
}

# Adds a CenterCrop spec to the engine model behind `ptr`.
engine_add_center_crop <- function(ptr, layer, call = sys.call(-1)) {
  engine_call(rs_add_center_crop(ptr, layer$name, layer$config$height, layer$config$width), call = call)
}

register_layer_adder("center_crop", engine_add_center_crop)
