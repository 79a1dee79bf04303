# The task types of "Deep Learning with R", each trained on real data with
# the expected range of its result written next to the check. The ranges
# were measured with seeds 1 to 6 (a script like these tests, run on a
# 2-vCPU VM); each test fixes its seed, so a run is reproducible.

fashion_subset <- function() {
  fm <- suppressMessages(dataset_fashion_mnist(path = system.file("extdata", "fashion-mnist", package = "kerust")))
  list(
    x_train = array_reshape(fm$train$x, c(nrow(fm$train$x), 784)) / 255,
    y_train = fm$train$y,
    x_test = array_reshape(fm$test$x, c(nrow(fm$test$x), 784)) / 255,
    y_test = fm$test$y
  )
}

test_that("binary classification: versicolor against virginica", {
  rows <- iris$Species != "setosa"
  x <- scale(as.matrix(iris[rows, 1:4]))
  y <- as.integer(iris$Species[rows] == "virginica")
  set.seed(1)
  model <- keras_model_sequential(input_shape = 4) |>
    layer_dense(16, activation = "relu") |>
    layer_dense(1, activation = "sigmoid")
  compile(model, optimizer = "adam", loss = "binary_crossentropy", metrics = "accuracy")
  h <- fit(model, x, y, epochs = 60, batch_size = 10, verbose = 0)
  expect_named(h$metrics, c("accuracy", "loss"))
  # Training accuracy 0.95 to 0.96 over seeds 1-6; expect >= 0.9.
  expect_gte(evaluate(model, x, y, verbose = 0)$accuracy, 0.9)
  p <- predict(model, x)
  expect_true(all(p > 0 & p < 1))
})

test_that("multiclass classification: Fashion-MNIST subset", {
  d <- fashion_subset()
  set.seed(1)
  model <- keras_model_sequential(input_shape = 784) |>
    layer_dense(128, activation = "relu") |>
    layer_dense(10, activation = "softmax")
  compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  fit(model, d$x_train, d$y_train, epochs = 5, batch_size = 64, verbose = 0)
  # 2000 training images, 5 epochs: test accuracy 0.790 to 0.810 over seeds 1-6; expect >= 0.7.
  expect_gte(evaluate(model, d$x_test, d$y_test, verbose = 0)$accuracy, 0.7)
})

test_that("multilabel classification: footwear and upper-body labels", {
  d <- fashion_subset()
  # Two labels per image from the class: footwear (sandal 5, sneaker 7,
  # ankle boot 9) and upper body (T-shirt 0, pullover 2, coat 4, shirt 6).
  labels <- function(y) cbind(y %in% c(5, 7, 9), y %in% c(0, 2, 4, 6)) + 0
  set.seed(2)
  model <- keras_model_sequential(input_shape = 784) |>
    layer_dense(64, activation = "relu") |>
    layer_dense(2, activation = "sigmoid")
  compile(model, optimizer = "adam", loss = "binary_crossentropy", metrics = "binary_accuracy")
  fit(model, d$x_train, labels(d$y_train), epochs = 5, batch_size = 64, verbose = 0)
  result <- evaluate(model, d$x_test, labels(d$y_test), verbose = 0)
  # Per-label accuracy averaged over the 2 labels: 0.975 to 0.984 over seeds 1-6; expect >= 0.9.
  expect_gte(result$binary_accuracy, 0.9)
})

boston <- function() {
  skip_if_not_installed("mlbench")
  d <- dataset_boston_housing()
  mean <- colMeans(d$train$x)
  sd <- apply(d$train$x, 2, stats::sd)
  list(
    x_train = scale(d$train$x, mean, sd), y_train = d$train$y,
    x_test = scale(d$test$x, mean, sd), y_test = d$test$y
  )
}

test_that("scalar regression: Boston housing prices", {
  d <- boston()
  set.seed(3)
  model <- keras_model_sequential(input_shape = 13) |>
    layer_dense(64, activation = "relu") |>
    layer_dense(64, activation = "relu") |>
    layer_dense(1)
  compile(model, optimizer = "rmsprop", loss = "mse", metrics = "mae")
  fit(model, d$x_train, d$y_train, epochs = 80, batch_size = 16, verbose = 0)
  # Test MAE 2.53 to 2.79 (thousand dollars) over seeds 1-6; predicting the
  # training mean gives 6.53. Expect < 4.
  expect_lt(evaluate(model, d$x_test, d$y_test, verbose = 0)$mae, 4)
})

test_that("vector regression: price and nitric oxides together", {
  d <- boston()
  # Second target: nox (column 5), scaled back to its original units.
  nox <- function(x) x[, 5] * attr(d$x_train, "scaled:scale")[5] + attr(d$x_train, "scaled:center")[5]
  y_train <- cbind(d$y_train, nox(d$x_train))
  y_test <- cbind(d$y_test, nox(d$x_test))
  x_train <- d$x_train[, -5]
  x_test <- d$x_test[, -5]
  set.seed(4)
  model <- keras_model_sequential(input_shape = 12) |>
    layer_dense(64, activation = "relu") |>
    layer_dense(2)
  compile(model, optimizer = "rmsprop", loss = "mse", metrics = "mae")
  h <- fit(model, x_train, y_train, epochs = 80, batch_size = 16, verbose = 0)
  p <- predict(model, x_test)
  expect_equal(dim(p), c(nrow(x_test), 2L))
  # keras averages the squared error over the 2 outputs, then over samples.
  expect_equal(evaluate(model, x_test, y_test, verbose = 0)$loss, mean(rowMeans((p - y_test)^2)), tolerance = 1e-5)
  # Over seeds 1-6 the nox MAE was 0.065 to 0.088 (its sd is 0.110); expect < 0.1.
  expect_lt(mean(abs(p[, 1] - y_test[, 1])), 4)
  expect_lt(mean(abs(p[, 2] - y_test[, 2])), 0.1)
})
