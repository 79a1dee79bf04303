# Array exchange between R and the engine. Each array holds values that
# encode their own 1-based subscripts (element [2, 3, 1] holds 231), so a
# value in the wrong place shows which index was mixed up.

encoded_array <- function(dims) {
  grid <- as.matrix(expand.grid(lapply(dims, seq_len)))
  values <- as.vector(grid %*% 10^(rev(seq_along(dims)) - 1))
  array(values, dims)
}

test_that("round trip keeps values and dim for ranks 1 to 5", {
  for (dims in list(7, c(3, 4), c(2, 3, 4), c(2, 3, 2, 3), c(2, 2, 3, 2, 3))) {
    x <- encoded_array(dims)
    back <- kerust:::rs_roundtrip(x, "x")
    if (length(dims) == 1) {
      expect_equal(as.vector(back), as.vector(x))
    } else {
      expect_identical(dim(back), as.integer(dims))
      expect_identical(back, x + 0)
    }
  }
})

test_that("encoded array holds its subscripts", {
  x <- encoded_array(c(2, 3, 4))
  expect_equal(x[2, 3, 1], 231)
  expect_equal(x[1, 2, 4], 124)
})

test_that("engine sees R index order as row-major", {
  # A 2 x 3 matrix sent through a Dense layer with an identity kernel comes
  # back unchanged only if engine row i holds R row i.
  model <- keras_model_sequential(input_shape = 3) |>
    layer_dense(3, use_bias = FALSE, kernel_initializer = "zeros")
  set_weights(model, list(diag(3)))
  x <- matrix(c(11, 21, 12, 22, 13, 23), nrow = 2)
  expect_equal(predict(model, x), x)
  # Flatten of a 2 x 3 sample is row-major as in keras: [1,1], [1,2], [1,3], [2,1], ...
  flat <- keras_model_sequential(input_shape = c(2, 3)) |> layer_flatten()
  sample <- array(encoded_array(c(1, 2, 3)), c(1, 2, 3))
  expect_equal(as.vector(predict(flat, sample)), c(111, 112, 113, 121, 122, 123))
})

test_that("integer and logical arrays convert to doubles", {
  x <- array(1:24, c(2, 3, 4))
  expect_identical(kerust:::rs_roundtrip(x, "x"), x + 0)
  b <- matrix(c(TRUE, FALSE, TRUE, TRUE), 2)
  expect_identical(kerust:::rs_roundtrip(b, "b"), b + 0)
})

test_that("non-finite values are located in the error", {
  x <- matrix(1, 3, 4)
  x[2, 3] <- NA
  expect_error(kerust:::rs_roundtrip(x, "x"), "contains NA at x\\[2, 3\\]")
  x[2, 3] <- NaN
  expect_error(kerust:::rs_roundtrip(x, "x"), "contains NaN at x\\[2, 3\\]")
  y <- c(1, 2, Inf)
  expect_error(kerust:::rs_roundtrip(y, "y"), "contains Inf at y\\[3\\]")
  z <- array(1L, c(2, 2, 2))
  z[1, 2, 2] <- NA
  expect_error(kerust:::rs_roundtrip(z, "z"), "contains NA at z\\[1, 2, 2\\]")
})

test_that("fit reports NA in x with its position", {
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  compile(model, optimizer = "sgd", loss = "mse")
  x <- matrix(1, 5, 2)
  x[4, 2] <- NA
  expect_error(fit(model, x, rep(0, 5), verbose = 0), "`x` contains NA at x\\[4, 2\\]", class = "kerust_error")
})

test_that("non-numeric data is rejected", {
  expect_error(kerust:::rs_roundtrip(letters, "x"), "must be a numeric")
})
