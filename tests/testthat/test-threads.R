test_that("kerust_threads gets and sets the thread count", {
  old <- kerust_threads()
  expect_true(old >= 1)
  previous <- kerust_threads(1)
  expect_equal(previous, old)
  expect_equal(kerust_threads(), 1)
  kerust_threads(2)
  expect_equal(kerust_threads(), 2)
  kerust_threads(old)
  expect_equal(kerust_threads(), old)
})

test_that("kerust_threads rejects invalid values", {
  expect_error(kerust_threads(0), "`n` must be a single integer >= 1, got 0", class = "kerust_error")
  expect_error(kerust_threads(-2), "`n` must be a single integer >= 1", class = "kerust_error")
  expect_error(kerust_threads(NA), "`n` must be a single integer >= 1, got NA", class = "kerust_error")
  expect_error(kerust_threads("two"), "got \"two\"", class = "kerust_error")
  expect_error(kerust_threads(1.5), "`n` must be a single integer", class = "kerust_error")
  expect_error(kerust_threads(c(1, 2)), "`n` must be a single integer", class = "kerust_error")
})

test_that("training gives the same weights with 1 and 2 threads", {
  old <- kerust_threads()
  on.exit(kerust_threads(old))
  run <- function(threads) {
    kerust_threads(threads)
    set.seed(7)
    x <- matrix(rnorm(600 * 20), 600, 20)
    y <- as.integer(rowSums(x[, 1:3]) > 0)
    model <- keras_model_sequential(input_shape = 20) |>
      layer_dense(300, activation = "relu") |>
      layer_dropout(0.3) |>
      layer_dense(2, activation = "softmax")
    compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
    h <- fit(model, x, y, epochs = 2, batch_size = 256, verbose = 0)
    list(weights = get_weights(model), history = h$metrics)
  }
  one <- run(1)
  two <- run(2)
  expect_identical(one$weights, two$weights)
  expect_identical(one$history, two$history)
})
