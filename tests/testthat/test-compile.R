test_that("compile accepts names and objects", {
  model <- keras_model_sequential(input_shape = 4) |> layer_dense(3, activation = "softmax")
  for (opt in list("adam", "sgd", "rmsprop", "adagrad", "Adam", optimizer_adam(amsgrad = TRUE),
                   optimizer_sgd(momentum = 0.9, nesterov = TRUE), optimizer_rmsprop(momentum = 0.5, centered = TRUE),
                   optimizer_adagrad(initial_accumulator_value = 0.2))) {
    expect_silent(compile(model, optimizer = opt, loss = "sparse_categorical_crossentropy", metrics = "accuracy"))
  }
  expect_silent(compile(model, loss = "categorical_crossentropy",
    metrics = list("accuracy", metric_top_k_categorical_accuracy(k = 2), "mae")))
})

test_that("accuracy resolves from the loss as in keras", {
  resolve <- function(loss, units) {
    kerust:::resolve_metrics("accuracy", kerust:::resolve_loss(loss), units)[[1]]$kind
  }
  expect_equal(resolve("sparse_categorical_crossentropy", 3), "sparse_categorical_accuracy")
  expect_equal(resolve("categorical_crossentropy", 3), "categorical_accuracy")
  expect_equal(resolve("binary_crossentropy", 1), "binary_accuracy")
  expect_equal(resolve("mse", 1), "binary_accuracy")
  expect_equal(resolve("mse", 4), "categorical_accuracy")
})

test_that("compile rejects unknown names and listing valid ones", {
  model <- keras_model_sequential(input_shape = 4) |> layer_dense(3, activation = "softmax")
  expect_error(compile(model, optimizer = "adamm", loss = "mse"), "Unknown optimizer \"adamm\". Valid names are: sgd, adam, rmsprop, adagrad", class = "kerust_error")
  expect_error(compile(model, optimizer = "adam", loss = "msee"), "Unknown loss \"msee\". Valid names are: mean_squared_error, mse", class = "kerust_error")
  expect_error(compile(model, optimizer = "adam", loss = "mse", metrics = "acuracy"), "Unknown metric \"acuracy\". Valid names are: accuracy", class = "kerust_error")
  expect_error(compile(model, optimizer = "adam"), "`loss` is required", class = "kerust_error")
  expect_error(compile(model, optimizer = 3, loss = "mse"), "`optimizer` must be an optimizer name", class = "kerust_error")
  expect_error(compile(model, optimizer = "adam", loss = "mse", metrics = list(3)), "`metrics\\[\\[1\\]\\]` must be a metric name", class = "kerust_error")
  expect_error(compile(model, optimizer = "adam", loss = "mse", loss_weights = c(1, 2)), "`loss_weights` has 2 values but the model has 1 output", class = "kerust_error")
  expect_error(compile(model, optimizer = "adam", loss = "mse", loss_weights = -1), "`loss_weights` must be finite non-negative numbers, got -1", class = "kerust_error")
})

test_that("optimizer constructors reject bad values", {
  expect_error(optimizer_adam(learning_rate = 0), "`learning_rate` must be a single number in \\(0, Inf\\]", class = "kerust_error")
  expect_error(optimizer_adam(beta_1 = 1), "`beta_1` must be a single number in \\[0, 1\\)", class = "kerust_error")
  expect_error(optimizer_sgd(momentum = -1), "`momentum`", class = "kerust_error")
  expect_error(optimizer_sgd(clipnorm = 1, clipvalue = 1), "Only one of `clipnorm`, `clipvalue` and `global_clipnorm`", class = "kerust_error")
  expect_error(optimizer_sgd(clipnorm = 0), "`clipnorm` must be a single number in \\(0, Inf\\]", class = "kerust_error")
  expect_error(optimizer_adamw(weight_decay = -1), "`weight_decay`", class = "kerust_error")
  expect_error(optimizer_rmsprop(rho = NA), "`rho`", class = "kerust_error")
  expect_error(optimizer_adagrad(epsilon = -1), "`epsilon`", class = "kerust_error")
  expect_output(print(optimizer_adam()), "optimizer_adam\\(learning_rate = 0.001")
})

test_that("one sgd step matches the hand-computed update", {
  # Model y = w x + b with w = 1, b = 0; data x = 2, y = 5; mse loss
  # (y_pred - y)^2 = (2 - 5)^2 = 9; d/dw = 2 (y_pred - y) x = -12,
  # d/db = -6. SGD(0.01): w = 1 + 0.12 = 1.12, b = 0.06.
  model <- keras_model_sequential(input_shape = 1) |> layer_dense(1)
  set_weights(model, list(matrix(1), 0))
  compile(model, optimizer = optimizer_sgd(0.01), loss = "mse")
  h <- fit(model, matrix(2), 5, epochs = 1, verbose = 0)
  expect_equal(h$metrics$loss, 9)
  w <- get_weights(model)
  expect_equal(as.vector(w[[1]]), 1.12, tolerance = 1e-6)
  expect_equal(as.vector(w[[2]]), 0.06, tolerance = 1e-6)
})

test_that("one adam step moves each weight by the learning rate", {
  # Adam's first step: m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1,
  # so w changes by lr * g / (|g| + epsilon / sqrt(0.001)) ~ -lr * sign(g).
  model <- keras_model_sequential(input_shape = 1) |> layer_dense(1)
  set_weights(model, list(matrix(1), 0))
  compile(model, optimizer = optimizer_adam(0.1), loss = "mse")
  fit(model, matrix(2), 5, epochs = 1, verbose = 0)
  w <- get_weights(model)
  expect_equal(as.vector(w[[1]]), 1.1, tolerance = 1e-5)
  expect_equal(as.vector(w[[2]]), 0.1, tolerance = 1e-5)
})
