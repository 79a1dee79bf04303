# Weight regularizers. A regularizer adds a penalty on a layer's weights
# (or, as `activity_regularizer`, on its output) to the training loss.

new_regularizer <- function(l1, l2) {
  structure(list(l1 = l1, l2 = l2), class = "kerust_regularizer")
}

#' Weight regularizers
#'
#' Penalties on the size of a layer's weights, added to the loss that
#' training minimises and to the loss that [fit()] and [evaluate()] report,
#' as in keras: `l1 * sum(abs(w)) + l2 * sum(w^2)` (keras's L2 penalty has no
#' factor 1/2). Pass one as `kernel_regularizer`, `bias_regularizer` or
#' `activity_regularizer` of a layer; an activity penalty applies to the
#' layer's output and is divided by the batch size, as keras does.
#'
#' @param l1 Factor of the L1 penalty, a non-negative number.
#' @param l2 Factor of the L2 penalty, a non-negative number.
#' @returns A regularizer object of class `kerust_regularizer`.
#' @name regularizers
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |>
#'   layer_dense(8, activation = "relu", kernel_regularizer = regularizer_l2(0.001)) |>
#'   layer_dense(1)
NULL

#' @rdname regularizers
#' @export
regularizer_l1 <- function(l1 = 0.01) {
  check_number(l1, "l1", lower = 0)
  new_regularizer(l1, 0)
}

#' @rdname regularizers
#' @export
regularizer_l2 <- function(l2 = 0.01) {
  check_number(l2, "l2", lower = 0)
  new_regularizer(0, l2)
}

#' @rdname regularizers
#' @export
regularizer_l1_l2 <- function(l1 = 0, l2 = 0) {
  check_number(l1, "l1", lower = 0)
  check_number(l2, "l2", lower = 0)
  new_regularizer(l1, l2)
}

#' @export
print.kerust_regularizer <- function(x, ...) {
  cat(sprintf("<regularizer l1 = %s, l2 = %s>\n", format(x$l1), format(x$l2)))
  invisible(x)
}

# Checks a `*_regularizer` argument: NULL or a regularizer object; a name
# ("l1", "l2", "l1_l2") means keras's defaults.
resolve_regularizer <- function(x, arg, call = sys.call(-1)) {
  if (is.null(x) || inherits(x, "kerust_regularizer")) {
    return(x)
  }
  if (is.character(x) && length(x) == 1 && x %in% c("l1", "l2", "l1_l2")) {
    return(switch(x, l1 = regularizer_l1(), l2 = regularizer_l2(), l1_l2 = regularizer_l1_l2()))
  }
  abort(sprintf("`%s` must be NULL or a regularizer_*() object, got %s.", arg, describe(x)), call = call)
}

# Sends the regularizers of a layer spec to the engine after the layer is added.
engine_set_regularizers <- function(ptr, layer, call = sys.call(-1)) {
  targets <- c(kernel_regularizer = "kernel", bias_regularizer = "bias", activity_regularizer = "activity")
  for (arg in names(targets)) {
    reg <- layer$config[[arg]]
    if (is.null(reg)) next
    if (targets[[arg]] == "bias" && isFALSE(layer$config$use_bias)) next
    engine_call(rs_set_regularizer(ptr, layer$name, targets[[arg]], reg$l1, reg$l2), call = call)
  }
}
