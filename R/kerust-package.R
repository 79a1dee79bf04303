#' kerust: deep learning with the keras API on a Rust engine
#'
#' kerust builds, trains and evaluates neural networks with the function
#' names and arguments of the keras R package: [keras_model_sequential()],
#' [layer_dense()], [compile()], [fit()], [evaluate()] and
#' [predict()][predict.kerust_model]. The numerical work runs in a Rust
#' engine compiled with the package, so no Python installation is needed.
#'
#' Training is reproducible: after `set.seed()`, building and fitting the
#' same model gives bitwise-identical weights for any number of threads
#' (see [kerust_threads()]).
#'
#' @keywords internal
"_PACKAGE"

#' @importFrom generics compile fit
#' @export
generics::compile

#' @export
generics::fit

# Per-session counters for keras-style default names (dense, dense_1, ...).
.names <- new.env(parent = emptyenv())

# Returns `base` the first time and `base_1`, `base_2`, ... afterwards, as
# keras names layers and models.
unique_name <- function(base) {
  count <- .names[[base]]
  if (is.null(count)) {
    .names[[base]] <- 0L
    return(base)
  }
  .names[[base]] <- count + 1L
  paste0(base, "_", count + 1L)
}

# Marks `name` (`base` or `base_<n>`) as taken, so that unique_name(base)
# continues after it: once a loaded model has a layer "conv2d_3", the next
# default name is "conv2d_4".
reserve_name <- function(name) {
  base <- name
  number <- 0L
  if (grepl("_[0-9]{1,9}$", name)) {
    base <- sub("_[0-9]+$", "", name)
    number <- as.integer(sub("^.*_", "", name))
  }
  count <- .names[[base]]
  if (is.null(count) || count < number) {
    .names[[base]] <- number
  }
}

# Draws a seed for the engine from R's random number generator, so that
# set.seed() makes model building and training reproducible.
draw_seed <- function() {
  floor(stats::runif(1) * 2^31) * 2^21 + floor(stats::runif(1) * 2^21)
}
