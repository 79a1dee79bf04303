# Transposed, depthwise and separable convolutions: output shapes, known
# values and errors. Expected values were printed by
# tools/golden/print_conv_transpose_r_values.py with Keras 3.15.1
# (TensorFlow 2.21 CPU), calling the keras layer with the same weights on
# the same input; kernels are written here with array_reshape() (C order),
# as the script fills them. The engine tests compare many more cases with
# keras (src/rust/engine/tests/conv_transpose_golden.rs).

# A 4 x 5 grayscale image whose pixel [i, j] is ((i - 1) * 5 + j) / 10.
image_4x5 <- array(matrix(1:20, 4, byrow = TRUE) / 10, c(1, 4, 5, 1))

output_shape_of <- function(input_shape, layer_fn, ...) {
  model <- keras_model_sequential(input_shape = input_shape) |> layer_fn(...)
  rs_layers(model$ptr)$output_shape[[1]]
}

test_that("conv_2d_transpose output shapes follow keras", {
  shape <- function(...) output_shape_of(c(4, 3, 2), layer_conv_2d_transpose, ...)
  # valid: (n - 1) * s + max(k, s); same: n * s.
  expect_equal(shape(5, 3), c(6L, 5L, 5L))
  expect_equal(shape(5, 3, strides = 2), c(9L, 7L, 5L))
  expect_equal(shape(5, 2, strides = 3), c(12L, 9L, 5L))
  expect_equal(shape(5, 3, strides = 2, padding = "same"), c(8L, 6L, 5L))
  # output_padding p: valid (n - 1) * s + k + p; same (n - 1) * s + k %% 2 + p.
  expect_equal(shape(5, c(2, 3), strides = 3, output_padding = 2), c(13L, 11L, 5L))
  expect_equal(shape(5, 3, strides = 2, padding = "same", output_padding = 1), c(8L, 6L, 5L))
  expect_equal(shape(5, 3, dilation_rate = 2), c(8L, 7L, 5L))
})

test_that("conv_1d_transpose output shape follows keras", {
  expect_equal(output_shape_of(c(5, 2), layer_conv_1d_transpose, 3, 4, strides = 3), c(16L, 3L))
  expect_equal(
    output_shape_of(c(5, 2), layer_conv_1d_transpose, 3, 4, strides = 3, padding = "same"),
    c(15L, 3L)
  )
})

test_that("depthwise and separable output shapes follow keras", {
  expect_equal(output_shape_of(c(7, 6, 2), layer_depthwise_conv_2d, 3), c(5L, 4L, 2L))
  expect_equal(
    output_shape_of(c(7, 6, 2), layer_depthwise_conv_2d, c(4, 3), strides = 2, padding = "same", depth_multiplier = 3),
    c(4L, 3L, 6L)
  )
  expect_equal(output_shape_of(c(7, 6, 2), layer_separable_conv_2d, 5, 3, dilation_rate = 2), c(3L, 2L, 5L))
  expect_equal(output_shape_of(c(9, 3), layer_separable_conv_1d, 4, 3, strides = 2), c(4L, 4L))
  expect_equal(
    output_shape_of(c(9, 3), layer_depthwise_conv_1d, 4, padding = "same", depth_multiplier = 2),
    c(9L, 6L)
  )
})

test_that("conv_2d_transpose with stride 2 matches keras", {
  model <- keras_model_sequential(input_shape = c(4, 5, 1)) |>
    layer_conv_2d_transpose(2, c(2, 2), strides = 2)
  kernel <- array_reshape(c(0.5, -1.0, 0.25, 2.0, -0.5, 1.0, 0.75, 0.1), c(2, 2, 2, 1))
  set_weights(model, list(kernel, c(0.1, -0.2)))
  y <- predict(model, image_4x5, verbose = 0)
  expect_equal(dim(y), c(1L, 8L, 10L, 2L))
  # Each pixel v becomes the 2 x 2 block v * kernel[, , f, 1] + bias[f].
  expect_equal(y[1, 1:2, 1:4, 1], matrix(c(
    0.15, 0.125, 0.2, 0.15,
    0.05, 0.175, 0.0, 0.25
  ), 2, byrow = TRUE), tolerance = 1e-6)
  expect_equal(y[1, 7:8, 7:10, 2], matrix(c(
    -2.1, 3.6, -2.2, 3.8,
    1.7, -0.01, 1.8, 0.0
  ), 2, byrow = TRUE), tolerance = 1e-6)
})

test_that("conv_2d_transpose with same padding and output_padding matches keras", {
  model <- keras_model_sequential(input_shape = c(4, 5, 1)) |>
    layer_conv_2d_transpose(1, 3, strides = 2, padding = "same", output_padding = 1)
  set_weights(model, list(array_reshape(seq(-1, 1, length.out = 9), c(3, 3, 1, 1)), 0.05))
  y <- predict(model, image_4x5, verbose = 0)
  expect_equal(dim(y), c(1L, 8L, 10L, 1L))
  expect_equal(y[1, 1:3, 1:5, 1], matrix(c(
    -0.05, -0.025, -0.2, -0.1, -0.35,
    0.025, 0.05, 0.025, 0.05, 0.025,
    -0.5, -0.325, -0.75, -0.325, -0.75
  ), 3, byrow = TRUE), tolerance = 1e-6)
  expect_equal(y[1, 8, 1:3, 1], c(-0.35, 0.05, 0.025), tolerance = 1e-6)
})

test_that("depthwise_conv_2d with depth_multiplier 2 matches keras", {
  model <- keras_model_sequential(input_shape = c(4, 5, 1)) |>
    layer_depthwise_conv_2d(c(2, 3), depth_multiplier = 2)
  w <- get_weights(model)
  expect_equal(dim(w[[1]]), c(2L, 3L, 1L, 2L))
  expect_equal(dim(w[[2]]), 2L)
  set_weights(model, list(array_reshape(seq(-1, 1, length.out = 12), c(2, 3, 1, 2)), c(0.1, -0.1)))
  y <- predict(model, image_4x5, verbose = 0)
  expect_equal(dim(y), c(1L, 3L, 3L, 2L))
  expect_equal(y[1, , , 1], matrix(c(
    0.8181819, 0.76363635, 0.70909095,
    0.54545456, 0.490909, 0.43636367,
    0.27272722, 0.2181817, 0.16363654
  ), 3, byrow = TRUE), tolerance = 1e-6)
  expect_equal(y[1, , , 2], matrix(c(
    1.1090909, 1.1636363, 1.2181817,
    1.3818182, 1.4363636, 1.490909,
    1.6545454, 1.709091, 1.7636364
  ), 3, byrow = TRUE), tolerance = 1e-6)
})

test_that("separable_conv_2d matches keras and has keras weights", {
  model <- keras_model_sequential(input_shape = c(4, 5, 1)) |>
    layer_separable_conv_2d(2, 2, depth_multiplier = 2, padding = "same")
  w <- get_weights(model)
  expect_equal(lapply(w, dim), list(c(2L, 2L, 1L, 2L), c(1L, 1L, 2L, 2L), 2L))
  set_weights(model, list(
    array_reshape(c(0.5, -0.5, 1.0, 0.25, -1.0, 0.75, 0.2, 0.4), c(2, 2, 1, 2)),
    array_reshape(c(1.0, -1.0, 0.5, 2.0), c(1, 1, 2, 2)),
    c(0.1, 0)
  ))
  y <- predict(model, image_4x5, verbose = 0)
  expect_equal(dim(y), c(1L, 4L, 5L, 2L))
  expect_equal(y[1, , , 1], matrix(c(
    0.255, 0.37000003, 0.48499998, 0.6, -0.4,
    0.83000004, 0.94499993, 1.06, 1.1750001, -0.5875,
    1.4050001, 1.52, 1.635, 1.75, -0.775,
    2.4125, 2.55, 2.6874998, 2.825, 0.6
  ), 4, byrow = TRUE), tolerance = 1e-6)
  expect_equal(y[1, 4, , 2], c(-3.25, -3.4500003, -3.6499999, -3.85, -3.0), tolerance = 1e-6)
})

test_that("new conv layers report keras class names and default names", {
  model <- keras_model_sequential(input_shape = c(6, 6, 2)) |>
    layer_separable_conv_2d(4, 3) |>
    layer_depthwise_conv_2d(3) |>
    layer_conv_2d_transpose(2, 3)
  info <- rs_layers(model$ptr)
  expect_equal(info$class, c("SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose"))
  # Default names count up within the session, as in keras.
  expect_match(info$name, "^(separable_conv2d|depthwise_conv2d|conv2d_transpose)(_[0-9]+)?$")
  model_1d <- keras_model_sequential(input_shape = c(8, 2)) |>
    layer_separable_conv_1d(3, 3) |>
    layer_depthwise_conv_1d(2) |>
    layer_conv_1d_transpose(2, 3)
  expect_equal(rs_layers(model_1d$ptr)$class, c("SeparableConv1D", "DepthwiseConv1D", "Conv1DTranspose"))
  layer <- layer_conv_2d_transpose(filters = 8, kernel_size = 3, strides = c(2, 1), output_padding = c(1, 0), name = "up")
  expect_equal(layer$class_name, "Conv2DTranspose")
  expect_equal(layer$config$output_padding, c(1L, 0L))
  expect_output(print(layer), "<Conv2DTranspose name=up>")
})

test_that("regularizers of separable and depthwise layers add to the loss", {
  x <- array(seq(-1, 1, length.out = 2 * 5 * 5 * 2), c(2, 5, 5, 2))
  loss_of <- function(layer_fn, ...) {
    set.seed(1)
    model <- keras_model_sequential(input_shape = c(5, 5, 2)) |> layer_fn(...) |> layer_flatten()
    model |> compile(loss = "mse", optimizer = "sgd")
    y <- array(0, c(2, prod(rs_layers(model$ptr)$output_shape[[2]])))
    weights <- get_weights(model)
    list(loss = evaluate(model, x, y, verbose = 0)$loss, weights = weights)
  }
  plain <- loss_of(layer_separable_conv_2d, 3, 3)
  penalized <- loss_of(layer_separable_conv_2d, 3, 3,
    depthwise_regularizer = regularizer_l2(0.1), pointwise_regularizer = regularizer_l1(0.2)
  )
  expect_equal(
    penalized$loss - plain$loss,
    0.1 * sum(plain$weights[[1]]^2) + 0.2 * sum(abs(plain$weights[[2]])),
    tolerance = 1e-5
  )
  plain <- loss_of(layer_depthwise_conv_2d, 3)
  penalized <- loss_of(layer_depthwise_conv_2d, 3, depthwise_regularizer = regularizer_l2(0.1))
  expect_equal(penalized$loss - plain$loss, 0.1 * sum(plain$weights[[1]]^2), tolerance = 1e-5)
})

test_that("an autoencoder with the new layers trains", {
  set.seed(3)
  x <- array(runif(32 * 8 * 8 * 1), c(32, 8, 8, 1))
  model <- keras_model_sequential(input_shape = c(8, 8, 1)) |>
    layer_separable_conv_2d(4, 3, strides = 2, padding = "same", activation = "relu") |>
    layer_depthwise_conv_2d(3, padding = "same", depth_multiplier = 2, activation = "tanh") |>
    layer_conv_2d_transpose(1, 3, strides = 2, padding = "same")
  model |> compile(loss = "mse", optimizer = optimizer_adam(0.01))
  history <- fit(model, x, x, epochs = 5, batch_size = 8, verbose = 0)
  loss <- history$metrics$loss
  expect_length(loss, 5)
  expect_lt(loss[5], loss[1])
})

test_that("conv_2d_transpose rejects bad arguments", {
  model <- function() keras_model_sequential(input_shape = c(4, 4, 1))
  expect_error(layer_conv_2d_transpose(model(), 0, 3), "`filters`")
  expect_error(layer_conv_2d_transpose(model(), 2, 0), "`kernel_size`.*got 0")
  expect_error(layer_conv_2d_transpose(model(), 2, 3, strides = 0), "`strides`.*got 0")
  expect_error(layer_conv_2d_transpose(model(), 2, 3, dilation_rate = c(0, 1)), "`dilation_rate`")
  expect_error(
    layer_conv_2d_transpose(model(), 2, 3, strides = 2, output_padding = 2),
    "`output_padding` must be smaller than `strides` along every axis, got output_padding = c\\(2, 2\\) and strides = c\\(2, 2\\)"
  )
  expect_error(layer_conv_2d_transpose(model(), 2, 3, output_padding = -1), "`output_padding`")
  expect_error(
    layer_conv_2d_transpose(model(), 2, 3, strides = 2, dilation_rate = 2),
    "cannot be combined"
  )
  expect_error(layer_conv_2d_transpose(model(), 2, 3, padding = "causal"), "`padding`")
  expect_error(
    layer_conv_2d_transpose(model(), 2, 3, data_format = "channels_first"),
    "channels_first.*not supported"
  )
  expect_error(layer_conv_2d_transpose(model(), 2, 3, kernel_constraint = "max_norm"), "not supported")
  expect_error(layer_conv_1d_transpose(keras_model_sequential(input_shape = c(4, 1)), 2, 3, strides = 0), "`strides`")
})

test_that("conv_2d_transpose rejects inputs and output_padding that do not fit", {
  expect_error(
    keras_model_sequential(input_shape = c(4, 4)) |> layer_conv_2d_transpose(2, 3),
    "Conv2DTranspose.*\\(None, 4, 4\\).*Add a channel axis"
  )
  # Keras rejects this too: the 3 x 3 output of "same" padding with an even
  # kernel and output_padding 0 does not map back to the 4 x 4 input.
  expect_error(
    keras_model_sequential(input_shape = c(4, 4, 1)) |>
      layer_conv_2d_transpose(2, 2, padding = "same", output_padding = 0),
    "Conv2DTranspose.*does not map back to the input \\(None, 4, 4, 1\\)"
  )
  model <- keras_model_sequential(input_shape = c(4, 4, 1))
  expect_error(layer_conv_2d_transpose(model, 2, 2, padding = "same", output_padding = 0))
  expect_equal(length(rs_layers(model$ptr)$name), 0)
})

test_that("depthwise and separable layers reject bad arguments", {
  model <- function() keras_model_sequential(input_shape = c(5, 5, 2))
  expect_error(layer_depthwise_conv_2d(model(), 3, depth_multiplier = 0), "`depth_multiplier`")
  expect_error(layer_depthwise_conv_2d(model(), 3, strides = 0), "`strides`.*got 0")
  expect_error(layer_depthwise_conv_2d(model(), 3, dilation_rate = 0), "`dilation_rate`.*got 0")
  expect_error(layer_depthwise_conv_2d(model(), 3, padding = "causal"), "`padding`")
  expect_error(layer_depthwise_conv_2d(model(), 3, data_format = "channels_first"), "channels_first")
  expect_error(layer_depthwise_conv_2d(model(), 3, depthwise_constraint = "x"), "`depthwise_constraint`")
  expect_error(layer_separable_conv_2d(model(), 0, 3), "`filters`")
  expect_error(layer_separable_conv_2d(model(), 2, c(3, 3, 3)), "`kernel_size`")
  expect_error(layer_separable_conv_2d(model(), 2, 3, pointwise_constraint = "x"), "`pointwise_constraint`")
  expect_error(layer_separable_conv_2d(model(), 2, 3, depthwise_regularizer = 1), "`depthwise_regularizer`")
  expect_error(
    layer_separable_conv_1d(keras_model_sequential(input_shape = c(6, 2)), 2, 3, padding = "causal"),
    "`padding`"
  )
  expect_error(
    layer_depthwise_conv_1d(keras_model_sequential(input_shape = c(6, 2)), 3, depth_multiplier = 1.5),
    "`depth_multiplier`"
  )
  expect_error(
    keras_model_sequential(input_shape = 6) |> layer_depthwise_conv_1d(3),
    "DepthwiseConv1D.*Add a channel axis"
  )
  expect_error(
    keras_model_sequential(input_shape = c(2, 5, 2)) |> layer_depthwise_conv_2d(3),
    "DepthwiseConv2D.*kernel spans c\\(3, 3\\).*\\(None, 2, 5, 2\\)"
  )
  expect_error(
    keras_model_sequential(input_shape = c(5, 5)) |> layer_separable_conv_2d(2, 3),
    "SeparableConv2D.*Add a channel axis"
  )
  expect_error(
    keras_model_sequential(input_shape = c(6, 2, 1)) |> layer_separable_conv_1d(2, 3),
    "SeparableConv1D.*\\(batch_size, steps, channels\\)"
  )
})
