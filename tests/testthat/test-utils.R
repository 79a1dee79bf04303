# to_categorical() ---------------------------------------------------------

test_that("to_categorical one-hot encodes labels", {
  # Label k puts a 1 in column k + 1 of its row.
  expected <- rbind(
    c(1, 0, 0),
    c(0, 0, 1),
    c(0, 1, 0),
    c(0, 0, 1)
  )
  expect_identical(to_categorical(c(0, 2, 1, 2)), expected)
  expect_identical(to_categorical(c(0L, 2L, 1L, 2L)), expected)
})

test_that("to_categorical uses num_classes", {
  expected <- rbind(c(1, 0, 0, 0), c(0, 1, 0, 0))
  expect_identical(to_categorical(c(0, 1), num_classes = 4), expected)
})

test_that("to_categorical converts factors to 0-based codes", {
  # Levels are "a", "b", so "b" is code 2, label 1, and "a" is label 0.
  expected <- rbind(c(0, 1), c(1, 0), c(0, 1))
  expect_identical(to_categorical(factor(c("b", "a", "b"))), expected)

  # As in keras3, the default is max + 1, not the number of levels.
  unused_level <- factor("a", levels = c("a", "b", "c"))
  expect_identical(to_categorical(unused_level), matrix(1, 1, 1))
  expect_identical(to_categorical(unused_level, nlevels(unused_level)), matrix(c(1, 0, 0), 1, 3))
})

test_that("to_categorical handles matrices and empty input", {
  # An n x 1 matrix gives the same result as a vector.
  column <- matrix(c(1, 0, 1), ncol = 1)
  expect_identical(to_categorical(column), rbind(c(0, 1), c(1, 0), c(0, 1)))

  # A 2 x 2 matrix gains a last axis of classes: [i, j, ] is x[i, j] one-hot.
  labels <- matrix(c(0, 1, 2, 1), nrow = 2)
  one_hot <- to_categorical(labels)
  expect_identical(dim(one_hot), c(2L, 2L, 3L))
  expect_identical(one_hot[1, 1, ], c(1, 0, 0))
  expect_identical(one_hot[2, 1, ], c(0, 1, 0))
  expect_identical(one_hot[1, 2, ], c(0, 0, 1))
  expect_identical(one_hot[2, 2, ], c(0, 1, 0))

  expect_identical(to_categorical(numeric(0), num_classes = 3), matrix(0, 0, 3))
})

test_that("to_categorical rejects invalid labels", {
  expect_error(to_categorical(c(0, -1)), class = "kerust_error", regexp = "labels >= 0, but element 2 is -1")
  expect_error(to_categorical(c(0, 1.5)), class = "kerust_error", regexp = "whole numbers, but element 2 is 1.5")
  expect_error(to_categorical(c(0, Inf)), class = "kerust_error", regexp = "whole numbers, but element 2 is Inf")
  expect_error(to_categorical(c(1, NA)), class = "kerust_error", regexp = "must not contain NA, but element 2")
  expect_error(to_categorical(c("a", "b")), class = "kerust_error", regexp = "class labels or a factor, got a character")
  expect_error(to_categorical(c(TRUE, FALSE)), class = "kerust_error", regexp = "class labels or a factor")
  expect_error(
    to_categorical(c(0, 3), num_classes = 3),
    class = "kerust_error", regexp = "labels < `num_classes` \\(3\\), but element 2 is 3"
  )
  expect_error(to_categorical(c(0, 1), num_classes = 0), class = "kerust_error", regexp = "`num_classes` must be a single integer >= 1")
  expect_error(to_categorical(c(0, 1), num_classes = 2.5), class = "kerust_error", regexp = "`num_classes`")
  expect_error(to_categorical(numeric(0)), class = "kerust_error", regexp = "`num_classes` must be given when `x` is empty")
})

# array_reshape() ----------------------------------------------------------

test_that("array_reshape reorders a matrix row-major", {
  # matrix(1:6, 2, 3) has rows (1, 3, 5) and (2, 4, 6), as numpy's
  # [[1, 3, 5], [2, 4, 6]]. Its C-order flattening is 1, 3, 5, 2, 4, 6, and
  # filling a 3 x 2 array row by row gives [[1, 3], [5, 2], [4, 6]].
  expected <- rbind(c(1L, 3L), c(5L, 2L), c(4L, 6L))
  expect_identical(array_reshape(matrix(1:6, 2, 3), c(3, 2)), expected)
  expect_identical(array_reshape(matrix(1:6, 2, 3), c(-1, 2)), expected)
  expect_identical(array_reshape(matrix(1:6, 2, 3), c(3, -1)), expected)

  # Back to 2 x 3: flattening [[1, 3], [5, 2], [4, 6]] gives 1, 3, 5, 2, 4,
  # 6 again, so the rows are (1, 3, 5) and (2, 4, 6).
  expect_identical(array_reshape(expected, c(2, 3)), matrix(1:6, 2, 3))
})

test_that("array_reshape order F matches dim<-", {
  # Column-major: the values 1:6 are read and filled in R's own order.
  expect_identical(array_reshape(matrix(1:6, 2, 3), c(3, 2), order = "F"), matrix(1:6, 3, 2))
})

test_that("array_reshape flattens 3-d arrays row-major", {
  # x[i, j, k] = i + 2 * (j - 1) + 6 * (k - 1). Flattening x[1, , ] with k
  # fastest gives, for j = 1, 2, 3: (1, 7, 13, 19), (3, 9, 15, 21),
  # (5, 11, 17, 23). Row 2 is the same plus 1.
  x <- array(1:24, dim = c(2, 3, 4))
  row_1 <- c(1L, 7L, 13L, 19L, 3L, 9L, 15L, 21L, 5L, 11L, 17L, 23L)
  expect_identical(array_reshape(x, c(2, 12)), rbind(row_1, row_1 + 1L, deparse.level = 0))

  # 4 x 6 takes the 24 values of row 1 and then row 2, six per row.
  flat <- c(row_1, row_1 + 1L)
  expect_identical(array_reshape(x, c(4, 6)), matrix(flat, nrow = 4, ncol = 6, byrow = TRUE))
  expect_identical(array_reshape(x, 24), array(flat, dim = 24))

  # Reshaping back restores the original array.
  expect_identical(array_reshape(array_reshape(x, c(4, 6)), c(2, 3, 4)), x)
  expect_identical(array_reshape(array_reshape(x, c(2, 12)), c(2, 3, 4)), x)
})

test_that("array_reshape flattens images row by row", {
  # Flattening an image row-major concatenates its rows, which is
  # as.vector(t(image)) in R.
  images <- array(sample(0:255, 5 * 28 * 28, replace = TRUE), dim = c(5, 28, 28))
  flat <- array_reshape(images, c(5, 784))
  for (i in 1:5) {
    expect_identical(flat[i, ], as.vector(t(images[i, , ])))
  }
  expect_identical(array_reshape(flat, c(-1, 28, 28)), images)
})

test_that("array_reshape drops dimnames and keeps the type", {
  x <- matrix(c(TRUE, FALSE, TRUE, TRUE), 2, 2, dimnames = list(c("a", "b"), c("c", "d")))
  reshaped <- array_reshape(x, c(1, 4))
  # Rows of x are (TRUE, TRUE) and (FALSE, TRUE).
  expect_identical(reshaped, matrix(c(TRUE, TRUE, FALSE, TRUE), 1, 4))
  expect_null(dimnames(reshaped))
})

test_that("array_reshape rejects invalid dim, order and x", {
  x <- matrix(1:6, 2, 3)
  expect_error(array_reshape(x, c(4, 2)), class = "kerust_error", regexp = "`dim` \\(4, 2\\) gives 8 values, but `x` has 6")
  expect_error(array_reshape(x, c(-1, -1)), class = "kerust_error", regexp = "at most one -1, got 2")
  expect_error(array_reshape(x, c(-1, 4)), class = "kerust_error", regexp = "does not fit an array of 6 values")
  expect_error(array_reshape(x, c(2, -3)), class = "kerust_error", regexp = "whole numbers >= 0")
  expect_error(array_reshape(x, c(2, NA)), class = "kerust_error", regexp = "`dim` must be")
  expect_error(array_reshape(x, c(1.5, 4)), class = "kerust_error", regexp = "`dim` must be")
  expect_error(array_reshape(x, "3, 2"), class = "kerust_error", regexp = "`dim` must be")
  expect_error(array_reshape(x, c(3, 2), order = "K"), class = "kerust_error", regexp = "`order` must be \"C\" or \"F\", got \"K\"")
  expect_error(array_reshape(list(1, 2), 2), class = "kerust_error", regexp = "`x` must be a vector, matrix or array, got a list")
  expect_error(
    array_reshape(data.frame(a = 1:2), 2),
    class = "kerust_error", regexp = "Convert a data frame with as.matrix\\(\\)"
  )
})

# normalize() --------------------------------------------------------------

test_that("normalize divides rows by their L2 norm", {
  # Row (3, 4) has norm 5. Row (0, 0) has norm 0 and stays zero.
  x <- rbind(c(3, 4), c(0, 0))
  expect_equal(normalize(x), rbind(c(0.6, 0.8), c(0, 0)))
  expect_equal(normalize(x, axis = 2), rbind(c(0.6, 0.8), c(0, 0)))
})

test_that("normalize works along the first axis", {
  # Column (3, 0) has norm 3 and column (4, 0) norm 4.
  x <- rbind(c(3, 4), c(0, 0))
  expect_equal(normalize(x, axis = 1), rbind(c(1, 1), c(0, 0)))
})

test_that("normalize supports L1 and max norms", {
  # L1 norm of (1, 1, 2) is 4. Max norm of (-4, 2) is 4.
  expect_equal(normalize(c(1, 1, 2), order = 1), c(0.25, 0.25, 0.5))
  expect_equal(normalize(c(-4, 2), order = Inf), c(-1, 0.5))
  # L3 norm of (1, 2, 2) is (1 + 8 + 8)^(1/3) = 17^(1/3).
  expect_equal(normalize(c(1, 2, 2), order = 3), c(1, 2, 2) / 17^(1 / 3))
})

test_that("normalize handles 3-d arrays along a middle axis", {
  # x[1, , 1] is (1, 3) with norm sqrt(10). x[2, , 2] is (6, 8) with norm 10.
  x <- array(1:8, dim = c(2, 2, 2))
  normalized <- normalize(x, axis = 2)
  expect_equal(normalized[1, , 1], c(1, 3) / sqrt(10))
  expect_equal(normalized[2, , 2], c(0.6, 0.8))
  expect_equal(normalize(x, axis = -2), normalized)

  # Along the last axis, x[1, 1, ] is (1, 5) with norm sqrt(26).
  expect_equal(normalize(x)[1, 1, ], c(1, 5) / sqrt(26))
})

test_that("normalize keeps dimnames and returns doubles", {
  x <- matrix(c(3L, 0L, 4L, 0L), 2, 2, dimnames = list(c("a", "b"), c("c", "d")))
  normalized <- normalize(x)
  expect_type(normalized, "double")
  expect_identical(dimnames(normalized), dimnames(x))
})

test_that("normalize rejects invalid x, axis and order", {
  x <- matrix(1:4, 2, 2)
  expect_error(normalize(x, axis = 0), class = "kerust_error", regexp = "`axis` must be a single whole number from 1 to 2 or from -2 to -1")
  expect_error(normalize(x, axis = 3), class = "kerust_error", regexp = "x has 2 axes\\), got 3")
  expect_error(normalize(1:3, axis = 2), class = "kerust_error", regexp = "from 1 to 1 or from -1 to -1 \\(x has 1 axis\\)")
  expect_error(normalize(x, axis = 1.5), class = "kerust_error", regexp = "`axis` must be")
  expect_error(normalize(x, order = 0), class = "kerust_error", regexp = "`order` must be a single number > 0 or Inf, got 0")
  expect_error(normalize(x, order = -1), class = "kerust_error", regexp = "`order` must be")
  expect_error(normalize(x, order = NA_real_), class = "kerust_error", regexp = "`order` must be")
  expect_error(normalize(c("a", "b")), class = "kerust_error", regexp = "`x` must be a numeric vector, matrix or array, got a character")
})
