# Pooling layers: output shapes, known values and errors. Expected values
# were computed with Keras 3.15.1 (TensorFlow 2.21 CPU) on the same input;
# the engine tests compare many more cases with keras
# (src/rust/engine/tests/conv_golden.rs).

# A 4 x 5 grayscale image whose pixel [i, j] is ((i - 1) * 5 + j) / 10.
pool_image <- array(matrix(1:20, 4, byrow = TRUE) / 10, c(1, 4, 5, 1))

output_shape <- function(model) {
  info <- rs_layers(model$ptr)
  info$output_shape[[length(info$output_shape)]]
}

test_that("max_pooling_2d output shapes follow keras", {
  shape <- function(input_shape, ...) {
    output_shape(keras_model_sequential(input_shape = input_shape) |> layer_max_pooling_2d(...))
  }
  expect_equal(shape(c(26, 26, 32)), c(13L, 13L, 32L))
  expect_equal(shape(c(7, 6, 2)), c(3L, 3L, 2L))
  expect_equal(shape(c(7, 6, 2), padding = "same"), c(4L, 3L, 2L))
  expect_equal(shape(c(7, 6, 2), pool_size = 3, strides = 1), c(5L, 4L, 2L))
  expect_equal(shape(c(7, 6, 2), pool_size = c(2, 3), strides = c(3, 2), padding = "same"), c(3L, 3L, 2L))
})

test_that("max_pooling_2d values match keras", {
  model <- keras_model_sequential(input_shape = c(4, 5, 1)) |> layer_max_pooling_2d()
  expect_equal(predict(model, pool_image, verbose = 0)[1, , , 1], matrix(c(0.7, 0.9, 1.7, 1.9), 2, byrow = TRUE), tolerance = 1e-6)
  # "same" padding with stride 2: edge windows ignore the padding.
  same <- keras_model_sequential(input_shape = c(4, 5, 1)) |>
    layer_max_pooling_2d(pool_size = 3, strides = 2, padding = "same")
  expect_equal(
    predict(same, pool_image, verbose = 0)[1, , , 1],
    matrix(c(1.2, 1.4, 1.5, 1.7, 1.9, 2.0), 2, byrow = TRUE),
    tolerance = 1e-6
  )
})

test_that("average_pooling_2d excludes padding like keras", {
  model <- keras_model_sequential(input_shape = c(4, 5, 1)) |>
    layer_average_pooling_2d(pool_size = 3, strides = 2, padding = "same")
  y <- predict(model, pool_image, verbose = 0)
  expect_equal(dim(y), c(1L, 2L, 3L, 1L))
  expect_equal(y[1, , , 1], matrix(c(0.65, 0.8, 0.95, 1.4, 1.55, 1.7), 2, byrow = TRUE), tolerance = 1e-6)
})

test_that("1D pooling values", {
  x <- array(c(1, 5, 2, 8, 3, 0, 7), c(1, 7, 1))
  max_model <- keras_model_sequential(input_shape = c(7, 1)) |> layer_max_pooling_1d()
  expect_equal(as.vector(predict(max_model, x, verbose = 0)), c(5, 8, 3))
  same <- keras_model_sequential(input_shape = c(7, 1)) |> layer_max_pooling_1d(padding = "same")
  expect_equal(as.vector(predict(same, x, verbose = 0)), c(5, 8, 3, 7))
  avg <- keras_model_sequential(input_shape = c(7, 1)) |> layer_average_pooling_1d(pool_size = 3, strides = 2)
  expect_equal(as.vector(predict(avg, x, verbose = 0)), c(8 / 3, 13 / 3, 10 / 3), tolerance = 1e-6)
})

test_that("global pooling with and without keepdims", {
  x <- array(1:18, c(1, 3, 3, 2))
  avg <- keras_model_sequential(input_shape = c(3, 3, 2)) |> layer_global_average_pooling_2d()
  expect_equal(predict(avg, x, verbose = 0), matrix(c(5, 14), 1))
  maxed <- keras_model_sequential(input_shape = c(3, 3, 2)) |> layer_global_max_pooling_2d(keepdims = TRUE)
  y <- predict(maxed, x, verbose = 0)
  expect_equal(dim(y), c(1L, 1L, 1L, 2L))
  expect_equal(as.vector(y), c(9, 18))
  seq_model <- keras_model_sequential(input_shape = c(4, 3)) |> layer_global_max_pooling_1d()
  expect_equal(predict(seq_model, array(1:12, c(1, 4, 3)), verbose = 0), matrix(c(4, 8, 12), 1))
  avg_1d <- keras_model_sequential(input_shape = c(4, 3)) |> layer_global_average_pooling_1d()
  expect_equal(predict(avg_1d, array(1:12, c(1, 4, 3)), verbose = 0), matrix(c(2.5, 6.5, 10.5), 1))
})

test_that("3D pooling shapes", {
  model <- keras_model_sequential(input_shape = c(4, 6, 5, 2)) |>
    layer_max_pooling_3d() |>
    layer_average_pooling_3d(pool_size = 2, padding = "same") |>
    layer_global_average_pooling_3d()
  expect_equal(output_shape(model), 2L)
})

test_that("pooling layers keep keras config names", {
  layer <- layer_max_pooling_2d(pool_size = 3)
  expect_equal(layer$class_name, "MaxPooling2D")
  expect_equal(layer$config$pool_size, c(3L, 3L))
  expect_equal(layer$config$strides, c(3L, 3L))
  expect_equal(layer$config$padding, "valid")
  expect_equal(layer_global_average_pooling_2d(keepdims = TRUE)$config$keepdims, TRUE)
})

test_that("pooling layers reject bad arguments", {
  expect_error(layer_max_pooling_2d(pool_size = 0), "`pool_size` must be one integer or 2 integers >= 1, got 0", class = "kerust_error")
  expect_error(layer_max_pooling_2d(strides = c(0, 1)), "`strides` must be one integer or 2 integers >= 1", class = "kerust_error")
  expect_error(layer_average_pooling_2d(padding = "full"), "`padding` must be \"valid\" or \"same\", got \"full\"", class = "kerust_error")
  expect_error(layer_max_pooling_1d(pool_size = c(2, 2)), "`pool_size` must be a single integer >= 1", class = "kerust_error")
  expect_error(layer_average_pooling_1d(padding = "causal"), "`padding` must be \"valid\" or \"same\"", class = "kerust_error")
  expect_error(layer_max_pooling_3d(pool_size = c(2, 2)), "one integer or 3 integers", class = "kerust_error")
  expect_error(layer_global_average_pooling_2d(keepdims = NA), "`keepdims` must be TRUE or FALSE", class = "kerust_error")
  expect_error(layer_global_max_pooling_2d(data_format = "channels_first"), "channels_first", class = "kerust_error")
  expect_error(layer_global_max_pooling_1d(foo = 1), "Unknown argument: `foo`", class = "kerust_error")
  expect_error(layer_global_average_pooling_1d(keepdims = 1), "`keepdims` must be TRUE or FALSE", class = "kerust_error")
  expect_error(layer_global_max_pooling_3d(data_format = "nchw"), "`data_format` must be NULL or \"channels_last\"", class = "kerust_error")
  expect_error(layer_global_average_pooling_3d(keepdims = "yes"), "`keepdims`", class = "kerust_error")
  expect_error(layer_average_pooling_3d(strides = -1), "`strides`", class = "kerust_error")
})

test_that("pooling rejects inputs that do not fit", {
  expect_error(
    keras_model_sequential(input_shape = c(3, 3, 1)) |> layer_max_pooling_2d(pool_size = 4, name = "pool"),
    "layer \"pool\" \\(MaxPooling2D\\): the pool_size spans c\\(4, 4\\) positions, larger than the input \\(None, 3, 3, 1\\) with padding \"valid\"",
    class = "kerust_error"
  )
  expect_error(
    keras_model_sequential(input_shape = c(28, 28)) |> layer_max_pooling_2d(),
    "expects inputs of shape \\(batch_size, height, width, channels\\), got \\(None, 28, 28\\)",
    class = "kerust_error"
  )
  expect_error(
    keras_model_sequential(input_shape = 10) |> layer_global_average_pooling_1d(),
    "GlobalAveragePooling1D\\) expects inputs of shape \\(batch_size, steps, channels\\), got \\(None, 10\\)",
    class = "kerust_error"
  )
})
