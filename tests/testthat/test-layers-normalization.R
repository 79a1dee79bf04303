# BatchNormalization: shapes, weights, inference and training behaviour.
# The formulas checked here are Keras 3's (keras/src/layers/normalization/
# batch_normalization.py); the engine tests compare the layer with keras's
# values in training and inference mode (src/rust/engine/tests/conv_batch_norm.rs).

test_that("batch_normalization weights follow keras", {
  model <- keras_model_sequential(input_shape = c(5, 4, 3)) |> layer_batch_normalization()
  w <- get_weights(model)
  expect_length(w, 4)
  expect_equal(lapply(w, dim), rep(list(3L), 4))
  expect_equal(as.vector(w[[1]]), c(1, 1, 1)) # gamma
  expect_equal(as.vector(w[[2]]), c(0, 0, 0)) # beta
  expect_equal(as.vector(w[[3]]), c(0, 0, 0)) # moving mean
  expect_equal(as.vector(w[[4]]), c(1, 1, 1)) # moving variance
  info <- rs_layers(model$ptr)
  expect_equal(info$params, 12)
  expect_equal(info$trainable, 6)
  expect_output(summary(model), "Non-trainable params: 6")
  no_center <- keras_model_sequential(input_shape = 4) |> layer_batch_normalization(center = FALSE, scale = FALSE)
  expect_length(get_weights(no_center), 2)
})

test_that("batch_normalization uses the moving statistics in inference", {
  model <- keras_model_sequential(input_shape = c(2, 2)) |> layer_batch_normalization(epsilon = 0.01)
  gamma <- c(2, 0.5)
  beta <- c(0.1, -1)
  moving_mean <- c(1, -2)
  moving_var <- c(4, 0.25)
  set_weights(model, list(gamma, beta, moving_mean, moving_var))
  x <- array(c(1, 3, 0.5, -1, -2, 2, 0, 1), c(2, 2, 2))
  y <- predict(model, x, verbose = 0)
  expected <- x
  for (ch in 1:2) {
    expected[, , ch] <- gamma[ch] * (x[, , ch] - moving_mean[ch]) / sqrt(moving_var[ch] + 0.01) + beta[ch]
  }
  expect_equal(y, expected, tolerance = 1e-6)
})

test_that("batch_normalization trains with batch statistics and updates moving ones", {
  set.seed(2)
  x <- matrix(rnorm(40, mean = 3, sd = 2), 10, 4)
  model <- keras_model_sequential(input_shape = 4) |> layer_batch_normalization(momentum = 0.9)
  # A tiny learning rate keeps gamma and beta, so only the moving
  # statistics change: one step on the whole batch.
  compile(model, optimizer = optimizer_sgd(learning_rate = 1e-12), loss = "mse")
  fit(model, x, matrix(0, 10, 4), epochs = 1, batch_size = 10, shuffle = FALSE, verbose = 0)
  w <- get_weights(model)
  batch_mean <- colMeans(x)
  batch_var <- colMeans(sweep(x, 2, batch_mean)^2) # biased, as in keras
  expect_equal(as.vector(w[[3]]), 0.1 * batch_mean, tolerance = 1e-5)
  expect_equal(as.vector(w[[4]]), 0.9 + 0.1 * batch_var, tolerance = 1e-5)
})

test_that("a CNN with batch normalization learns", {
  set.seed(4)
  n <- 120
  x <- array(runif(n * 8 * 8), c(n, 8, 8, 1))
  y <- as.integer(apply(x[, 1:4, , 1], 1, mean) > apply(x[, 5:8, , 1], 1, mean))
  model <- keras_model_sequential(input_shape = c(8, 8, 1)) |>
    layer_conv_2d(4, 3, use_bias = FALSE) |>
    layer_batch_normalization() |>
    layer_activation("relu") |>
    layer_global_average_pooling_2d() |>
    layer_dense(2, activation = "softmax")
  compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy")
  history <- fit(model, x, y, epochs = 10, batch_size = 20, verbose = 0)
  losses <- history$metrics$loss
  expect_lt(losses[length(losses)], losses[1])
})

test_that("batch_normalization rejects bad arguments", {
  expect_error(layer_batch_normalization(axis = 1), "`axis` must be -1", class = "kerust_error")
  expect_error(layer_batch_normalization(momentum = 1.5), "`momentum` must be a single number in \\[0, 1\\]", class = "kerust_error")
  expect_error(layer_batch_normalization(epsilon = 0), "`epsilon` must be a single number in \\(0, Inf\\]", class = "kerust_error")
  expect_error(layer_batch_normalization(center = NA), "`center` must be TRUE or FALSE", class = "kerust_error")
  expect_error(layer_batch_normalization(gamma_initializer = "glorot"), "Unknown initializer \"glorot\" for `gamma_initializer`", class = "kerust_error")
  expect_error(layer_batch_normalization(beta_constraint = "non_neg"), "constraints", class = "kerust_error")
  expect_error(layer_batch_normalization(synchronized = TRUE), "`synchronized` must be FALSE", class = "kerust_error")
})
