# Core layers: output shapes and known values. Keras reference values come
# from tools/golden/make_golden.py (Keras 3.15.1, TensorFlow 2.21 CPU),
# file src/rust/engine/tests/golden/dense.json; Keras arrays are row-major,
# so they are written here with byrow = TRUE.

dense_x <- matrix(c(0.5, -1.2, 0.3, 2.0, 1.5, 0.7, -0.4, -1.0, -0.3, 0.8, 1.1, 0.2), 3, byrow = TRUE)
dense_kernel <- matrix(c(
  0.2, -0.5, 0.1, 0.7, -0.3,
  0.4, 0.3, -0.6, 0.05, 0.9,
  -0.8, 0.25, 0.5, -0.1, 0.6,
  0.1, -0.2, 0.35, 0.45, -0.7
), 4, byrow = TRUE)
dense_bias <- c(0.1, -0.2, 0.05, 0.0, 0.3)

dense_model <- function(activation) {
  model <- keras_model_sequential(input_shape = 4) |> layer_dense(5, activation = activation)
  set_weights(model, list(dense_kernel, dense_bias))
  model
}

test_that("dense forward matches keras", {
  linear <- matrix(c(
    -0.3200000822544098, -1.1350001096725464, 1.6700000762939453, 1.159999966621399, -2.1499998569488525,
    0.8999999761581421, -0.64000004529953, -0.7700000405311584, 0.6749998927116394, 0.9399999380111694,
    -0.5, 0.42500001192092896, 0.15999996662139893, -0.1899999976158142, 1.630000114440918
  ), 3, byrow = TRUE)
  expect_equal(predict(dense_model("linear"), dense_x), linear, tolerance = 1e-6)
  expect_equal(predict(dense_model("relu"), dense_x), pmax(linear, 0), tolerance = 1e-6)
  softmax <- exp(linear) / rowSums(exp(linear))
  expect_equal(predict(dense_model("softmax"), dense_x), softmax, tolerance = 1e-6)
})

test_that("dense without bias and on rank-3 input", {
  model <- keras_model_sequential(input_shape = c(2, 4)) |> layer_dense(5, use_bias = FALSE)
  set_weights(model, list(dense_kernel))
  x <- array(0, c(3, 2, 4))
  x[, 1, ] <- dense_x
  x[, 2, ] <- -dense_x
  y <- predict(model, x)
  expect_equal(dim(y), c(3L, 2L, 5L))
  expect_equal(y[, 1, ], dense_x %*% dense_kernel, tolerance = 1e-6)
  expect_equal(y[, 2, ], -dense_x %*% dense_kernel, tolerance = 1e-6)
})

test_that("activation layer applies its function", {
  model <- keras_model_sequential(input_shape = 3) |> layer_activation("tanh")
  x <- matrix(c(-1, 0, 2, 0.5, -0.25, 3), 2, byrow = TRUE)
  expect_equal(predict(model, x), tanh(x), tolerance = 1e-6)
  sig <- keras_model_sequential(input_shape = 3) |> layer_activation(activation_sigmoid)
  expect_equal(predict(sig, x), 1 / (1 + exp(-x)), tolerance = 1e-6)
})

test_that("dropout is identity in inference and scales in training", {
  model <- keras_model_sequential(input_shape = 1000) |> layer_dropout(0.4, seed = 1)
  x <- matrix(1, 2, 1000)
  expect_equal(predict(model, x), x)
  # In training, surviving values are scaled by 1 / (1 - 0.4); check through
  # one SGD step on a linear model whose gradient passes the mask: with
  # mse loss on zero targets, the kernel update of input j is proportional
  # to the mask value of j.
  set.seed(1)
  m <- keras_model_sequential(input_shape = 2000) |>
    layer_dropout(0.4) |>
    layer_dense(1, use_bias = FALSE, kernel_initializer = "zeros")
  compile(m, optimizer = optimizer_sgd(1), loss = "mse")
  fit(m, matrix(1, 1, 2000), -1, epochs = 1, batch_size = 1, verbose = 0)
  w <- as.vector(get_weights(m)[[1]])
  # With y_pred = 0 and y = -1, d loss / d w_j = 2 (y_pred - y) * x_j * mask_j
  # = 2 * mask_j, so one step of SGD(1) gives w_j = -2 * mask_j.
  kept <- w != 0
  expect_equal(unique(round(w[kept], 5)), round(-2 / 0.6, 5))
  expect_equal(mean(!kept), 0.4, tolerance = 0.05)
})

test_that("flatten and reshape keep row-major order", {
  model <- keras_model_sequential(input_shape = c(2, 3)) |> layer_flatten() |> layer_reshape(c(3, 2))
  x <- array(0, c(1, 2, 3))
  x[1, , ] <- matrix(1:6, 2, byrow = TRUE)
  y <- predict(model, x)
  expect_equal(dim(y), c(1L, 3L, 2L))
  # keras: [[1, 2, 3], [4, 5, 6]] reshaped to (3, 2) is [[1, 2], [3, 4], [5, 6]].
  expect_equal(y[1, , ], matrix(1:6, 3, byrow = TRUE))
  inferred <- keras_model_sequential(input_shape = 12) |> layer_reshape(c(-1, 4))
  expect_equal(dim(predict(inferred, matrix(0, 2, 12))), c(2L, 3L, 4L))
})

test_that("layer functions return a layer without a model", {
  layer <- layer_dense(units = 4, name = "hidden")
  expect_s3_class(layer, "kerust_layer")
  expect_output(print(layer), "<Dense name=hidden>")
})

test_that("layer functions reject bad arguments", {
  expect_error(layer_dense(units = 0), "`units` must be a single integer >= 1, got 0", class = "kerust_error")
  expect_error(layer_dense(units = 2.5), "`units`", class = "kerust_error")
  expect_error(layer_dense(units = 2, activation = "relux"), "Unknown activation \"relux\". Valid names are: linear, relu", class = "kerust_error")
  expect_error(layer_dense(units = 2, activation = function(x) x), "custom R functions cannot run inside the engine", class = "kerust_error")
  expect_error(layer_dense(units = 2, kernel_initializer = "glorot"), "Unknown initializer \"glorot\" for `kernel_initializer`", class = "kerust_error")
  expect_error(layer_dense(units = 2, use_bias = NA), "`use_bias` must be TRUE or FALSE", class = "kerust_error")
  expect_error(layer_dense(units = 2, foo = 1), "Unknown argument: `foo`", class = "kerust_error")
  expect_error(layer_dense(1, units = 2), "`object` must be a model", class = "kerust_error")
  expect_error(layer_dropout(rate = 1), "`rate` must be a single number in \\[0, 1\\)", class = "kerust_error")
  expect_error(layer_dropout(rate = -0.1), "`rate`", class = "kerust_error")
  expect_error(layer_dropout(rate = 0.5, seed = -1), "`seed` must be NULL or a single non-negative integer", class = "kerust_error")
  expect_error(layer_reshape(target_shape = c(-1, -1)), "at most one -1", class = "kerust_error")
  expect_error(layer_flatten(data_format = "channels_first"), "`data_format` must be NULL or \"channels_last\"", class = "kerust_error")
  model <- keras_model_sequential(input_shape = 10)
  expect_error(model |> layer_reshape(c(3, 4)), "cannot reshape input of shape \\(None, 10\\)", class = "kerust_error")
  expect_error(layer_activation(activation = 3), "`activation` must be a single string", class = "kerust_error")
})
