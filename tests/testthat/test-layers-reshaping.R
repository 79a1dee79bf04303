# Zero padding, cropping, upsampling, spatial dropout and rescaling. The
# engine tests compare these layers with Keras 3 values
# (src/rust/engine/tests/conv_golden.rs).

small_image <- array(matrix(1:6, 2, byrow = TRUE), c(1, 2, 3, 1))

layer_output <- function(input_shape, layer_fn, x) {
  model <- layer_fn(keras_model_sequential(input_shape = input_shape))
  predict(model, x, verbose = 0)
}

test_that("zero_padding_2d adds zeros like keras", {
  y <- layer_output(c(2, 3, 1), function(m) layer_zero_padding_2d(m, list(c(1, 0), c(0, 2))), small_image)
  expect_equal(dim(y), c(1L, 3L, 5L, 1L))
  expect_equal(y[1, , , 1], rbind(0, cbind(matrix(1:6, 2, byrow = TRUE), 0, 0)))
  sym <- layer_output(c(2, 3, 1), function(m) layer_zero_padding_2d(m), small_image)
  expect_equal(dim(sym), c(1L, 4L, 5L, 1L))
  expect_equal(sum(sym), 21)
  seq_y <- layer_output(c(3, 1), function(m) layer_zero_padding_1d(m, c(2, 1)), array(1:3, c(1, 3, 1)))
  expect_equal(as.vector(seq_y), c(0, 0, 1, 2, 3, 0))
  vol <- keras_model_sequential(input_shape = c(2, 2, 2, 1)) |> layer_zero_padding_3d(1)
  expect_equal(rs_layers(vol$ptr)$output_shape[[1]], c(4L, 4L, 4L, 1L))
})

test_that("cropping_2d removes borders like keras", {
  x <- array(matrix(1:16, 4, byrow = TRUE), c(1, 4, 4, 1))
  y <- layer_output(c(4, 4, 1), function(m) layer_cropping_2d(m, list(c(1, 0), c(1, 2))), x)
  expect_equal(dim(y), c(1L, 3L, 1L, 1L))
  expect_equal(as.vector(y), c(6, 10, 14))
  seq_y <- layer_output(c(5, 1), function(m) layer_cropping_1d(m, c(1, 2)), array(1:5, c(1, 5, 1)))
  expect_equal(as.vector(seq_y), c(2, 3))
  vol <- keras_model_sequential(input_shape = c(4, 4, 4, 2)) |> layer_cropping_3d()
  expect_equal(rs_layers(vol$ptr)$output_shape[[1]], c(2L, 2L, 2L, 2L))
})

test_that("upsampling_2d repeats values like keras", {
  y <- layer_output(c(2, 3, 1), function(m) layer_upsampling_2d(m, size = c(2, 1)), small_image)
  expect_equal(y[1, , , 1], matrix(c(1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6), 4, byrow = TRUE))
  seq_y <- layer_output(c(2, 1), function(m) layer_upsampling_1d(m, 3), array(c(7, 8), c(1, 2, 1)))
  expect_equal(as.vector(seq_y), c(7, 7, 7, 8, 8, 8))
  vol <- keras_model_sequential(input_shape = c(1, 2, 2, 1)) |> layer_upsampling_3d()
  expect_equal(rs_layers(vol$ptr)$output_shape[[1]], c(2L, 4L, 4L, 1L))
})

test_that("spatial_dropout_2d drops whole channels in training only", {
  model <- keras_model_sequential(input_shape = c(3, 3, 50)) |> layer_spatial_dropout_2d(0.5, seed = 1)
  x <- array(1, c(2, 3, 3, 50))
  expect_equal(predict(model, x, verbose = 0), x)
  # One SGD(1) step through a zero-initialized dense layer: the kernel
  # update of input j is proportional to its mask value, so a channel's
  # nine positions are all kept (scaled by 2) or all dropped.
  set.seed(1)
  m <- keras_model_sequential(input_shape = c(3, 3, 50)) |>
    layer_spatial_dropout_2d(0.5) |>
    layer_flatten() |>
    layer_dense(1, use_bias = FALSE, kernel_initializer = "zeros")
  compile(m, optimizer = optimizer_sgd(1), loss = "mse")
  fit(m, array(1, c(1, 3, 3, 50)), -1, epochs = 1, batch_size = 1, verbose = 0)
  w <- matrix(get_weights(m)[[1]], 9, 50, byrow = TRUE)
  kept <- w[1, ] != 0
  expect_true(all(apply(w, 2, function(col) all(col == col[1]))))
  expect_equal(unique(round(w[1, kept], 5)), -4)
  expect_gt(sum(kept), 10)
  expect_lt(sum(kept), 40)
})

test_that("rescaling scales and shifts", {
  y <- layer_output(c(2, 3, 1), function(m) layer_rescaling(m, 1 / 255, offset = -0.5), small_image * 51)
  expect_equal(y, small_image * 51 / 255 - 0.5, tolerance = 1e-6)
  expect_equal(layer_rescaling(scale = 2)$config, list(scale = 2, offset = 0))
})

test_that("reshaping layers reject bad arguments", {
  expect_error(layer_zero_padding_2d(padding = -1), "`padding` must be a non-negative integer", class = "kerust_error")
  expect_error(layer_zero_padding_2d(padding = list(1, 2, 3)), "list of 2 pairs", class = "kerust_error")
  expect_error(layer_zero_padding_1d(padding = c(1, 2, 3)), "`padding`", class = "kerust_error")
  expect_error(layer_zero_padding_3d(padding = "same"), "`padding`", class = "kerust_error")
  expect_error(layer_cropping_2d(cropping = 1.5), "`cropping` must be", class = "kerust_error")
  expect_error(layer_cropping_1d(cropping = NA), "`cropping`", class = "kerust_error")
  expect_error(layer_cropping_3d(cropping = list(1, 1)), "list of 3 pairs", class = "kerust_error")
  expect_error(
    keras_model_sequential(input_shape = c(4, 4, 1)) |> layer_cropping_2d(cropping = 2, name = "crop"),
    "layer \"crop\" \\(Cropping2D\\): cropping 2 \\+ 2 positions from an axis of size 4 leaves nothing",
    class = "kerust_error"
  )
  expect_error(layer_upsampling_2d(size = 0), "`size` must be one integer or 2 integers >= 1", class = "kerust_error")
  expect_error(layer_upsampling_2d(interpolation = "bicubic"), "`interpolation` must be one of \"bilinear\", \"nearest\"", class = "kerust_error")
  expect_error(layer_upsampling_1d(size = c(2, 2)), "`size` must be a single integer", class = "kerust_error")
  expect_error(layer_upsampling_3d(size = -1), "`size`", class = "kerust_error")
  expect_error(layer_spatial_dropout_2d(rate = 1), "`rate` must be a single number in \\[0, 1\\)", class = "kerust_error")
  expect_error(layer_spatial_dropout_1d(rate = 0.5, seed = -2), "`seed` must be NULL or a single non-negative integer", class = "kerust_error")
  expect_error(layer_spatial_dropout_3d(rate = 0.5, data_format = "channels_first"), "channels_first", class = "kerust_error")
  expect_error(
    keras_model_sequential(input_shape = c(28, 28)) |> layer_spatial_dropout_2d(0.2),
    "input_shape = c\\(28, 28, 1\\)",
    class = "kerust_error"
  )
  expect_error(layer_rescaling(scale = "a"), "`scale` must be a single number", class = "kerust_error")
  expect_error(layer_rescaling(scale = 1, offset = NA), "`offset`", class = "kerust_error")
})
