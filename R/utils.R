# Array utilities with the semantics of keras's numerical utils.

#' Convert class labels to one-hot encoding
#'
#' Converts a vector of integer class labels, starting at 0, to a binary
#' class matrix with one column per class, the target format of the
#' `"categorical_crossentropy"` loss in [compile()]. Row `i` has a 1 in
#' column `x[i] + 1` and 0 elsewhere.
#'
#' A factor is converted to `as.integer(x) - 1`, so its first level is class
#' 0. As for other input, the default `num_classes` is then the largest label
#' plus one, so pass `num_classes = nlevels(x)` to get a column for every
#' level. An array of labels gives an array with one more axis, the class
#' axis, placed last. A trailing axis of size 1 is dropped first, so an n x 1
#' matrix gives an n x `num_classes` matrix as a vector does.
#'
#' @param x A vector, matrix or array of class labels: whole numbers from 0
#'   to `num_classes - 1`, or a factor.
#' @param num_classes Total number of classes, or `NULL` to use `max(x) + 1`.
#' @returns A double matrix with `length(x)` rows and `num_classes` columns,
#'   or for an array `x` a double array of dimensions `c(dim(x),
#'   num_classes)`.
#' @export
#' @examples
#' to_categorical(c(0, 2, 1, 2))
#' to_categorical(c(0, 1), num_classes = 4)
#' to_categorical(factor(c("cat", "dog", "cat")))
to_categorical <- function(x, num_classes = NULL) {
  if (is.factor(x)) {
    x <- as.integer(x) - 1L
  }
  if (!is.numeric(x)) {
    abort(sprintf("`x` must be integer class labels or a factor, got %s.", describe(x)))
  }
  if (anyNA(x)) {
    abort(sprintf("`x` must not contain NA, but element %d is NA.", which(is.na(x))[[1]]))
  }
  not_whole <- !is.finite(x) | x != round(x)
  if (any(not_whole)) {
    first <- which(not_whole)[[1]]
    abort(sprintf("`x` must contain whole numbers, but element %d is %s.", first, format(x[[first]])))
  }
  if (any(x < 0)) {
    first <- which(x < 0)[[1]]
    abort(sprintf("`x` must contain labels >= 0, but element %d is %s.", first, format(x[[first]])))
  }

  if (is.null(num_classes)) {
    if (length(x) == 0) {
      abort("`num_classes` must be given when `x` is empty, because it cannot be inferred from the labels.")
    }
    num_classes <- max(x) + 1
  } else {
    num_classes <- check_count(num_classes, "num_classes")
    if (any(x >= num_classes)) {
      first <- which(x >= num_classes)[[1]]
      abort(sprintf(
        "`x` must contain labels < `num_classes` (%d), but element %d is %s.",
        num_classes, first, format(x[[first]])
      ))
    }
  }

  input_dim <- dim(x)
  if (length(input_dim) > 1 && input_dim[[length(input_dim)]] == 1) {
    input_dim <- input_dim[-length(input_dim)]
  }
  if (length(input_dim) <= 1) {
    input_dim <- length(x)
  }

  n <- length(x)
  one_hot <- matrix(0, nrow = n, ncol = num_classes)
  one_hot[cbind(seq_len(n), as.integer(x) + 1L)] <- 1
  # Column-major storage of the n x num_classes matrix already has the class
  # axis slowest, so only the dimensions change for an array input.
  dim(one_hot) <- c(input_dim, num_classes)
  one_hot
}

#' Reshape an array in row-major order
#'
#' Changes the dimensions of an array as numpy's `reshape()` does, which is
#' what keras expects. With `order = "C"` (the default), the values are read
#' and filled in row-major order, so the last index varies fastest. The
#' result, read with R's indices, matches numpy's reshape of the same array.
#' For example, the rows of `matrix(1:6, 2, 3)` are `(1, 3, 5)` and `(2, 4,
#' 6)`, so reshaping it to 3 x 2 gives the rows `(1, 3)`, `(5, 2)` and `(4,
#' 6)`. With `order = "F"`, the values keep R's column-major order, as with
#' `dim<-`.
#'
#' Flattening images to rows (`n x 28 x 28` to `n x 784`) and the reverse
#' each permute the array once with [aperm()], because leading dimensions
#' that stay the same need no permutation.
#'
#' @param x A vector, matrix or array.
#' @param dim The new dimensions, whose product must equal `length(x)`. One
#'   of them may be `-1`, which is inferred from the others.
#' @param order `"C"` to read and fill the values in row-major order, or
#'   `"F"` for column-major order.
#' @returns An array of the same type as `x` with dimensions `dim` and no
#'   dimnames.
#' @export
#' @examples
#' x <- matrix(1:6, nrow = 2, ncol = 3)
#' array_reshape(x, c(3, 2))
#' array_reshape(x, c(3, 2), order = "F")
#' images <- array(0, dim = c(5, 28, 28))
#' dim(array_reshape(images, c(-1, 784)))
array_reshape <- function(x, dim, order = c("C", "F")) {
  if (!is.atomic(x) || is.null(x)) {
    hint <- if (is.data.frame(x)) " Convert a data frame with as.matrix() first." else ""
    abort(sprintf("`x` must be a vector, matrix or array, got %s.%s", describe(x), hint))
  }
  if (!is.character(order) || length(order) < 1 || !order[[1]] %in% c("C", "F")) {
    abort(sprintf("`order` must be \"C\" or \"F\", got %s.", describe(order)))
  }
  order <- order[[1]]
  new_dim <- resolve_reshape_dim(dim, length(x))

  old_dim <- base::dim(x)
  if (is.null(old_dim)) {
    old_dim <- length(x)
  }

  if (order == "F") {
    attributes(x) <- NULL
    base::dim(x) <- new_dim
    return(x)
  }

  # When both shapes start with the same dimensions, a row-major reshape
  # keeps each cell of those leading dimensions in place, so only the axes
  # after that shared prefix need to be reversed. Reversing the old trailing
  # axes puts the values in row-major order within each prefix cell. Setting
  # the reversed new trailing dimensions and reversing those axes back fills
  # them row-major. Reversing a single axis changes nothing, so it is skipped.
  shared <- 0L
  while (shared < min(length(old_dim), length(new_dim)) &&
         old_dim[[shared + 1L]] == new_dim[[shared + 1L]]) {
    shared <- shared + 1L
  }

  # On a 60000 x 28 x 28 integer array (R 4.2.2, 2-core Intel Xeon VM),
  # flattening to 60000 x 784 (one aperm()) took 0.25 to 0.30 s, and
  # reshaping to 1680000 x 28 (two aperm() calls) 1.0 to 1.4 s, measured with
  #   Rscript -e 'source("R/errors.R"); source("R/utils.R");
  #     x <- array(sample(0:255, 60000 * 784, TRUE), c(60000, 28, 28));
  #     print(system.time(array_reshape(x, c(60000, 784))))'
  # Only aperm() copies the data. Setting attributes on a vector that the
  # caller still holds makes an ALTREP wrapper in R 4.2, not a copy (checked
  # with .Internal(inspect())).
  old_rank <- length(old_dim)
  if (old_rank - shared > 1) {
    trailing <- seq(shared + 1L, old_rank)
    x <- aperm(x, c(seq_len(shared), rev(trailing)))
  }
  attributes(x) <- NULL

  new_rank <- length(new_dim)
  if (new_rank - shared > 1) {
    trailing <- seq(shared + 1L, new_rank)
    base::dim(x) <- c(new_dim[seq_len(shared)], rev(new_dim[trailing]))
    x <- aperm(x, c(seq_len(shared), rev(trailing)))
  } else {
    base::dim(x) <- new_dim
  }
  x
}

# Checks the `dim` argument of array_reshape() and replaces a -1 with the
# size that makes the product equal `n`, the length of the array.
resolve_reshape_dim <- function(dim, n, call = sys.call(-1)) {
  if (!is.numeric(dim) || length(dim) == 0 || anyNA(dim) || any(!is.finite(dim)) ||
      any(dim != round(dim)) || any(dim < -1)) {
    abort(
      sprintf("`dim` must be a vector of whole numbers >= 0, with at most one -1, got %s.", describe(dim)),
      call = call
    )
  }
  unknown <- which(dim == -1)
  if (length(unknown) > 1) {
    abort(sprintf("`dim` must contain at most one -1, got %d.", length(unknown)), call = call)
  }

  known_size <- prod(dim[dim != -1])
  if (length(unknown) == 1) {
    if (known_size == 0 || n %% known_size != 0) {
      abort(
        sprintf(
          "`dim` (%s) does not fit an array of %.0f values: no size for the -1 makes the product %.0f.",
          paste(dim, collapse = ", "), n, n
        ),
        call = call
      )
    }
    dim[[unknown]] <- n / known_size
  } else if (known_size != n) {
    abort(
      sprintf(
        "`dim` (%s) gives %.0f values, but `x` has %.0f.",
        paste(dim, collapse = ", "), known_size, n
      ),
      call = call
    )
  }
  as.integer(dim)
}

#' Normalize an array along an axis
#'
#' Divides each vector along `axis` by its L-p norm, `sum(abs(v)^order)^(1 /
#' order)`, or by `max(abs(v))` for `order = Inf`, as keras's `normalize()`
#' does. A vector whose norm is 0 is returned unchanged, so it stays all
#' zeros.
#'
#' @param x A numeric vector, matrix or array.
#' @param axis The axis to normalize along: 1 for the first axis, -1 (the
#'   default) for the last, -2 for the one before it, and so on. A matrix is
#'   normalized row by row with `axis = -1` or `2`, column by column with
#'   `axis = 1`.
#' @param order The order p of the norm: a number > 0 or `Inf`. The default 2
#'   is the Euclidean norm.
#' @returns A double array of the same dimensions and dimnames as `x`.
#' @export
#' @examples
#' normalize(matrix(c(3, 0, 4, 0), nrow = 2))
#' normalize(c(1, 1, 2), order = 1)
normalize <- function(x, axis = -1, order = 2) {
  if (!is.numeric(x)) {
    abort(sprintf("`x` must be a numeric vector, matrix or array, got %s.", describe(x)))
  }
  if (!is.numeric(order) || length(order) != 1 || is.na(order) || order <= 0) {
    abort(sprintf("`order` must be a single number > 0 or Inf, got %s.", describe(order)))
  }

  dims <- dim(x)
  if (is.null(dims)) {
    dims <- length(x)
  }
  rank <- length(dims)
  if (!is.numeric(axis) || length(axis) != 1 || is.na(axis) || axis != round(axis) ||
      axis == 0 || abs(axis) > rank) {
    abort(sprintf(
      "`axis` must be a single whole number from 1 to %d or from -%d to -1 (x has %d %s), got %s.",
      rank, rank, rank, if (rank == 1) "axis" else "axes", describe(axis)
    ))
  }
  if (axis < 0) {
    axis <- rank + 1 + axis
  }

  # Move `axis` last and flatten the others, so that each row of `values` is
  # one vector to normalize.
  permutation <- c(seq_len(rank)[-axis], axis)
  values <- array(as.double(x), dims)
  if (rank > 1) {
    values <- aperm(values, permutation)
  }
  values <- matrix(values, ncol = dims[[axis]])

  norms <- lp_row_norms(values, order)
  norms[norms == 0] <- 1
  # Division recycles `norms` down each column, so row i is divided by norms[i].
  values <- values / norms

  out <- array(values, dims[permutation])
  if (rank > 1) {
    out <- aperm(out, match(seq_len(rank), permutation))
  }
  attributes(out) <- attributes(x)
  out
}

# Returns the L-p norm of each row of a matrix.
lp_row_norms <- function(values, order) {
  if (ncol(values) == 0) {
    return(numeric(nrow(values)))
  }
  if (is.infinite(order)) {
    # A loop over the columns avoids one R function call per row, as apply() makes.
    norms <- abs(values[, 1])
    for (j in seq_len(ncol(values))[-1]) {
      norms <- pmax(norms, abs(values[, j]))
    }
    return(norms)
  }
  rowSums(abs(values)^order)^(1 / order)
}
