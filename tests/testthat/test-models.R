# Model building, summary() and weights.

test_that("summary matches keras for the Fashion-MNIST MLP", {
  # Reference: Keras 3.15.1 model.summary() of Input((784,)) ->
  # Dense(256, relu) -> Dense(128, relu) -> Dense(10, softmax) printed
  # 200,960 / 32,896 / 1,290 parameters, total 235,146 (918.54 KB).
  model <- keras_model_sequential(input_shape = 784, name = "mlp") |>
    layer_dense(256, activation = "relu", name = "d1") |>
    layer_dense(128, activation = "relu", name = "d2") |>
    layer_dense(10, activation = "softmax", name = "d3")
  expect_equal(count_params(model), 235146)
  out <- capture.output(summary(model))
  expect_equal(out[1], "Model: \"mlp\"")
  expect_true(any(grepl("d1 (Dense)", out, fixed = TRUE) & grepl("(None, 256)", out, fixed = TRUE) & grepl("200,960", out, fixed = TRUE)))
  expect_true(any(grepl("32,896", out, fixed = TRUE)))
  expect_true(any(grepl("1,290", out, fixed = TRUE)))
  expect_true(any(grepl(" Total params: 235,146 (918.54 KB)", out, fixed = TRUE)))
  expect_true(any(grepl(" Non-trainable params: 0 (0.00 B)", out, fixed = TRUE)))
  expect_output(print(model), "Total params: 235,146")
})

test_that("output shapes and counts match keras for shape layers", {
  # Reference: Keras 3.15.1 summary of Input((5, 7)) -> Dense(3, use_bias =
  # False) -> Flatten -> Dropout(0.5) -> Reshape((3, 5)) -> Activation(tanh)
  # -> Dense(2): output shapes (None, 5, 3), (None, 15), (None, 15),
  # (None, 3, 5), (None, 3, 5), (None, 3, 2); parameters 21, 0, 0, 0, 0, 12.
  model <- keras_model_sequential(input_shape = c(5, 7)) |>
    layer_dense(3, use_bias = FALSE) |>
    layer_flatten() |>
    layer_dropout(0.5) |>
    layer_reshape(c(3, 5)) |>
    layer_activation("tanh") |>
    layer_dense(2)
  info <- kerust:::rs_layers(model$ptr)
  expect_equal(info$output_shape, list(c(5L, 3L), 15L, 15L, c(3L, 5L), c(3L, 5L), c(3L, 2L)))
  expect_equal(info$params, c(21, 0, 0, 0, 0, 12))
  expect_equal(count_params(model), 33)
  expect_equal(dim(predict(model, array(0, c(4, 5, 7)))), c(4L, 3L, 2L))
})

test_that("default names count up as in keras", {
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(2) |> layer_dense(1)
  names <- vapply(model$layers, function(l) l$name, "")
  expect_match(names[1], "^dense(_\\d+)?$")
  n1 <- as.integer(sub("^dense_?", "", names[1]))
  n2 <- as.integer(sub("^dense_", "", names[2]))
  expect_equal(if (is.na(n1)) 1L else n1 + 1L, n2)
})

test_that("get_weights and set_weights use keras shapes and order", {
  model <- keras_model_sequential(input_shape = 3) |> layer_dense(2) |> layer_dense(1, use_bias = FALSE)
  w <- get_weights(model)
  expect_length(w, 3)
  expect_equal(dim(w[[1]]), c(3L, 2L))
  expect_equal(dim(w[[2]]), 2L)
  expect_equal(dim(w[[3]]), c(2L, 1L))
  expect_equal(as.vector(w[[2]]), c(0, 0))
  new <- list(matrix(1:6, 3), c(0.5, -0.5), matrix(c(2, 3), 2))
  set_weights(model, new)
  got <- get_weights(model)
  expect_equal(got[[1]], matrix(as.double(1:6), 3))
  # predict = (x %*% W1 + b1) %*% W2, computed here in R.
  x <- matrix(c(1, 0, 2, -1, 1, 0), 2, byrow = TRUE)
  expect_equal(predict(model, x), (sweep(x %*% new[[1]], 2, new[[2]], "+")) %*% new[[3]], tolerance = 1e-6)
})

test_that("set_weights rejects wrong shapes without changing weights", {
  model <- keras_model_sequential(input_shape = 3) |> layer_dense(2)
  before <- get_weights(model)
  expect_error(set_weights(model, list(matrix(0, 2, 3), c(0, 0))), "weight 1 \\(dense.*/kernel\\) must have shape \\(3, 2\\), got \\(2, 3\\)", class = "kerust_error")
  expect_error(set_weights(model, list(matrix(0, 3, 2))), "`weights` has 1 arrays but the model has 2 weights", class = "kerust_error")
  expect_error(set_weights(model, "a"), "`weights` must be a list", class = "kerust_error")
  expect_identical(get_weights(model), before)
})

test_that("glorot_uniform kernel stays within its limit", {
  set.seed(1)
  model <- keras_model_sequential(input_shape = 300) |> layer_dense(200)
  w <- get_weights(model)[[1]]
  limit <- sqrt(6 / (300 + 200))
  expect_true(all(abs(w) <= limit))
  # Uniform on [-l, l] has standard deviation l / sqrt(3).
  expect_equal(sd(as.vector(w)), limit / sqrt(3), tolerance = 0.02)
})

test_that("initializers set the documented values", {
  model <- keras_model_sequential(input_shape = 2) |>
    layer_dense(3, kernel_initializer = initializer_constant(0.25), bias_initializer = "ones")
  w <- get_weights(model)
  expect_true(all(w[[1]] == 0.25))
  expect_true(all(w[[2]] == 1))
  seeded <- function() {
    m <- keras_model_sequential(input_shape = 20) |> layer_dense(10, kernel_initializer = initializer_random_normal(stddev = 1, seed = 3))
    get_weights(m)[[1]]
  }
  expect_identical(seeded(), seeded())
  ortho <- keras_model_sequential(input_shape = 6) |> layer_dense(4, kernel_initializer = "orthogonal")
  q <- get_weights(ortho)[[1]]
  expect_equal(crossprod(q), diag(4), tolerance = 1e-5)
})

test_that("same seed gives the same initial weights", {
  build <- function() {
    set.seed(11)
    get_weights(keras_model_sequential(input_shape = 5) |> layer_dense(4) |> layer_dense(2))
  }
  expect_identical(build(), build())
})

test_that("model without input_shape builds on first data", {
  model <- keras_model_sequential() |> layer_dense(3) |> layer_dense(1)
  expect_output(summary(model), "not built yet")
  expect_equal(get_weights(model), list())
  p <- predict(model, matrix(1, 4, 6))
  expect_equal(dim(p), c(4L, 1L))
  expect_equal(count_params(model), 6 * 3 + 3 + 3 + 1)
  model2 <- keras_model_sequential() |> layer_dense(3, input_shape = 5)
  expect_equal(count_params(model2), 18)
})

test_that("layers list and pop_layer", {
  model <- keras_model_sequential(input_shape = 4, layers = list(layer_dense(units = 8), layer_dense(units = 2)))
  expect_length(model$layers, 2)
  pop_layer(model)
  expect_length(model$layers, 1)
  expect_equal(dim(predict(model, matrix(0, 1, 4))), c(1L, 8L))
  expect_error(pop_layer(pop_layer(model)), "no layers to remove", class = "kerust_error")
})

test_that("model functions reject bad input", {
  expect_error(keras_model_sequential(input_shape = 0), "`input_shape` must be a vector of positive integers", class = "kerust_error")
  expect_error(keras_model_sequential(input_shape = "a"), "`input_shape`", class = "kerust_error")
  expect_error(keras_model_sequential(foo = 1), "Unknown argument in keras_model_sequential\\(\\): `foo`", class = "kerust_error")
  expect_error(keras_model_sequential(layers = list(1)), "`layers\\[\\[1\\]\\]` must be a layer", class = "kerust_error")
  expect_error(get_weights(1), "`object` must be a kerust model", class = "kerust_error")
  expect_error(count_params(keras_model_sequential()), "not built yet", class = "kerust_error")
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(2, name = "a")
  expect_error(model |> layer_dense(2, name = "a"), "already has a layer named \"a\"", class = "kerust_error")
  expect_error(model |> layer_dense(2, input_shape = 3), "`input_shape` can only be given to the first layer", class = "kerust_error")
})

test_that("a model read back from saveRDS predicts", {
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  file <- tempfile(fileext = ".rds")
  saveRDS(model, file)
  back <- readRDS(file)
  x <- matrix(c(0.5, -1), 1, 2)
  expect_identical(predict(back, x), predict(model, x))
  # Without its saved state, a copied model cannot rebuild its engine model.
  model$snapshot <- NULL
  saveRDS(model, file)
  expect_error(predict(readRDS(file), x), "engine state is missing", class = "kerust_error")
})
