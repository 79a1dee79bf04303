# Preprocessing layers that run inside the model.

#' Rescaling layer
#'
#' Multiplies its input by `scale` and adds `offset`:
#' `output = input * scale + offset`. Put it first in a model to feed raw
#' pixel values, e.g. `scale = 1 / 255` maps `[0, 255]` to `[0, 1]`, and
#' `scale = 1 / 127.5, offset = -1` maps it to `[-1, 1]`.
#'
#' @section Input shape: any.
#' @section Output shape: the same as the input.
#'
#' @inheritParams layer_dense
#' @param scale The factor, a single number.
#' @param offset The offset, a single number.
#' @param name Layer name; by default `rescaling`, `rescaling_1`, ...
#' @returns `object` with the layer appended (invisibly), or the layer when
#'   `object` is missing.
#' @family preprocessing layers
#' @export
#' @examples
#' model <- keras_model_sequential(input_shape = c(2, 2, 1)) |>
#'   layer_rescaling(1 / 255)
#' predict(model, array(c(0, 51, 102, 255), c(1, 2, 2, 1)), verbose = 0)[1, , , 1]
layer_rescaling <- function(object, scale, offset = 0, ..., name = NULL) {
  # Evaluate the model first, so that names are given in pipe order.
  object <- if (missing(object)) NULL else object
  input_shape <- layer_dots(list(...))
  scale <- check_number(scale, "scale")
  offset <- check_number(offset, "offset")
  layer <- new_layer("rescaling", "Rescaling", layer_name(name, "rescaling"), list(scale = scale, offset = offset))
  compose_layer(object, layer, input_shape)
}

# Adds a Rescaling spec to the engine model behind `ptr`.
engine_add_rescaling <- function(ptr, layer, call = sys.call(-1)) {
  engine_call(rs_add_rescaling(ptr, layer$name, layer$config$scale, layer$config$offset), call = call)
}

register_layer_adder("rescaling", engine_add_rescaling)
