# Convolution layers: output shapes, known values and errors. Expected
# values were computed with Keras 3.15.1 (TensorFlow 2.21 CPU,
# TF_ENABLE_ONEDNN_OPTS=0) by calling the keras layer with the same weights
# on the same input; keras arrays are row-major, so kernels are written here
# with array_reshape() (C order). The engine tests compare many more cases
# with keras (src/rust/engine/tests/conv_golden.rs).

# A 4 x 5 grayscale image whose pixel [i, j] is ((i - 1) * 5 + j) / 10.
image_4x5 <- array(matrix(1:20, 4, byrow = TRUE) / 10, c(1, 4, 5, 1))

test_that("conv_2d output shapes follow keras", {
  shape_of <- function(input_shape, ...) {
    model <- keras_model_sequential(input_shape = input_shape) |> layer_conv_2d(...)
    info <- rs_layers(model$ptr)
    info$output_shape[[1]]
  }
  expect_equal(shape_of(c(28, 28, 1), 32, c(3, 3)), c(26L, 26L, 32L))
  expect_equal(shape_of(c(28, 28, 1), 8, 3, padding = "same"), c(28L, 28L, 8L))
  # "same" with stride 2: ceiling(7 / 2) = 4 and ceiling(6 / 2) = 3.
  expect_equal(shape_of(c(7, 6, 2), 4, 4, strides = 2, padding = "same"), c(4L, 3L, 4L))
  expect_equal(shape_of(c(7, 6, 2), 4, c(2, 3), strides = c(3, 2)), c(2L, 2L, 4L))
  expect_equal(shape_of(c(8, 7, 2), 2, 3, dilation_rate = 2), c(4L, 3L, 2L))
  expect_equal(shape_of(c(5, 6, 4), 6, 3, groups = 2, padding = "same"), c(5L, 6L, 6L))
})

test_that("conv_2d same padding with stride 2 matches keras", {
  model <- keras_model_sequential(input_shape = c(4, 5, 1)) |>
    layer_conv_2d(2, c(2, 2), strides = 2, padding = "same")
  kernel <- array_reshape(c(0.5, -1.0, 0.25, 2.0, -0.5, 1.0, 0.75, 0.1), c(2, 2, 1, 2))
  set_weights(model, list(kernel, c(0.1, -0.2)))
  y <- predict(model, image_4x5, verbose = 0)
  expect_equal(dim(y), c(1L, 2L, 3L, 2L))
  # The right column of windows covers the last image column and one zero
  # of padding (TensorFlow pads more on the right).
  expect_equal(y[1, , , 1], matrix(c(0.425, 0.625, -0.15, 1.425, 1.625, -0.15), 2, byrow = TRUE), tolerance = 1e-6)
  expect_equal(y[1, , , 2], matrix(c(0.77, 1.19, 0.3, 2.87, 3.29, 0.3), 2, byrow = TRUE), tolerance = 1e-6)
})

test_that("conv_2d valid padding with a non-square kernel matches keras", {
  model <- keras_model_sequential(input_shape = c(4, 5, 1)) |> layer_conv_2d(2, c(3, 2))
  kernel <- array_reshape(seq(-1, 1, length.out = 12), c(3, 2, 1, 2))
  set_weights(model, list(kernel, c(0.1, -0.2)))
  y <- predict(model, image_4x5, verbose = 0)
  expect_equal(dim(y), c(1L, 2L, 4L, 2L))
  expect_equal(y[1, , , 1], matrix(c(
    1.2545455694198608, 1.1999999284744263, 1.1454545259475708, 1.0909091234207153,
    0.9818182587623596, 0.9272726774215698, 0.8727272152900696, 0.8181818723678589
  ), 2, byrow = TRUE), tolerance = 1e-6)
  expect_equal(y[1, , , 2], matrix(c(
    1.663636326789856, 1.7181817293167114, 1.772727131843567, 1.827272653579712,
    1.936363697052002, 1.9909090995788574, 2.045454263687134, 2.0999999046325684
  ), 2, byrow = TRUE), tolerance = 1e-6)
})

test_that("conv_2d weights have keras shapes and relu applies", {
  model <- keras_model_sequential(input_shape = c(6, 5, 3)) |>
    layer_conv_2d(4, c(3, 2), activation = "relu", groups = 1)
  w <- get_weights(model)
  expect_equal(dim(w[[1]]), c(3L, 2L, 3L, 4L))
  expect_equal(dim(w[[2]]), 4L)
  expect_equal(count_params(model), 3 * 2 * 3 * 4 + 4)
  grouped <- keras_model_sequential(input_shape = c(6, 5, 4)) |> layer_conv_2d(6, 3, groups = 2, use_bias = FALSE)
  expect_equal(dim(get_weights(grouped)[[1]]), c(3L, 3L, 2L, 6L))
  x <- array(rnorm(2 * 6 * 5 * 3), c(2, 6, 5, 3))
  expect_true(all(predict(model, x, verbose = 0) >= 0))
})

test_that("conv_1d causal padding matches keras", {
  model <- keras_model_sequential(input_shape = c(7, 1)) |>
    layer_conv_1d(1, 3, padding = "causal", dilation_rate = 2, use_bias = FALSE)
  set_weights(model, list(array(c(1, 10, 100), c(3, 1, 1))))
  x <- array(c(1, 3, -2, 5, 4, 0, 2), c(1, 7, 1))
  y <- predict(model, x, verbose = 0)
  expect_equal(dim(y), c(1L, 7L, 1L))
  # y[t] = 100 x[t] + 10 x[t - 2] + x[t - 4], with zeros before the start.
  expect_equal(as.vector(y), c(100, 300, -190, 530, 381, 53, 238))
})

test_that("conv_3d output shape", {
  model <- keras_model_sequential(input_shape = c(4, 6, 5, 2)) |>
    layer_conv_3d(3, c(2, 3, 3), padding = "same", strides = 2)
  expect_equal(rs_layers(model$ptr)$output_shape[[1]], c(2L, 3L, 3L, 3L))
  expect_equal(dim(get_weights(model)[[1]]), c(2L, 3L, 3L, 2L, 3L))
})

test_that("conv layers report keras config names", {
  layer <- layer_conv_2d(filters = 8, kernel_size = 3, strides = c(2, 1), padding = "SAME", name = "c")
  expect_s3_class(layer, "kerust_layer")
  expect_equal(layer$class_name, "Conv2D")
  expect_equal(layer$config$kernel_size, c(3L, 3L))
  expect_equal(layer$config$strides, c(2L, 1L))
  expect_equal(layer$config$padding, "same")
  expect_equal(layer$config$dilation_rate, c(1L, 1L))
  expect_equal(layer$config$data_format, "channels_last")
  expect_output(print(layer), "<Conv2D name=c>")
})

test_that("conv_2d rejects bad arguments", {
  expect_error(layer_conv_2d(filters = 0, kernel_size = 3), "`filters` must be a single integer >= 1, got 0", class = "kerust_error")
  expect_error(layer_conv_2d(filters = 4, kernel_size = c(3, 3, 3)), "`kernel_size` must be one integer or 2 integers >= 1", class = "kerust_error")
  expect_error(layer_conv_2d(filters = 4, kernel_size = 3, strides = 0), "`strides` must be one integer or 2 integers >= 1, got 0", class = "kerust_error")
  expect_error(layer_conv_2d(filters = 4, kernel_size = 3, dilation_rate = c(1, 0)), "`dilation_rate` must be", class = "kerust_error")
  expect_error(layer_conv_2d(filters = 4, kernel_size = 3, padding = "causal"), "`padding` must be \"valid\" or \"same\", got \"causal\"", class = "kerust_error")
  expect_error(layer_conv_2d(filters = 5, kernel_size = 3, groups = 2), "`filters` \\(5\\) must be divisible by `groups` \\(2\\)", class = "kerust_error")
  expect_error(layer_conv_2d(filters = 4, kernel_size = 3, strides = 2, dilation_rate = 2), "cannot be combined", class = "kerust_error")
  expect_error(
    layer_conv_2d(filters = 4, kernel_size = 3, data_format = "channels_first"),
    "`data_format = \"channels_first\"` is not supported.*aperm\\(x, c\\(1, 3, 4, 2\\)\\)",
    class = "kerust_error"
  )
  expect_error(layer_conv_2d(filters = 4, kernel_size = 3, kernel_constraint = "max_norm"), "constraints", class = "kerust_error")
})

test_that("conv_2d rejects inputs that do not fit", {
  # A kernel larger than the input.
  model <- keras_model_sequential(input_shape = c(3, 3, 1))
  expect_error(
    model |> layer_conv_2d(2, 5, name = "big"),
    "layer \"big\" \\(Conv2D\\): the kernel spans c\\(5, 5\\) positions, larger than the input \\(None, 3, 3, 1\\) with padding \"valid\"",
    class = "kerust_error"
  )
  # Dilation makes the window larger than the padded input.
  expect_error(
    keras_model_sequential(input_shape = c(6, 6, 1)) |> layer_conv_2d(2, 3, dilation_rate = 3),
    "spans c\\(7, 7\\) positions",
    class = "kerust_error"
  )
  # A 28 x 28 image without its channel axis.
  expect_error(
    keras_model_sequential(input_shape = c(28, 28)) |> layer_conv_2d(32, 3, name = "conv"),
    "layer \"conv\" \\(Conv2D\\) expects inputs of shape \\(batch_size, height, width, channels\\), got \\(None, 28, 28\\).*input_shape = c\\(28, 28, 1\\).*array_reshape\\(x, c\\(dim\\(x\\), 1\\)\\)",
    class = "kerust_error"
  )
  # Channels not divisible by groups.
  expect_error(
    keras_model_sequential(input_shape = c(5, 5, 3)) |> layer_conv_2d(4, 3, groups = 2),
    "has 3 channels, which `groups` = 2 does not divide",
    class = "kerust_error"
  )
  # Data without the channel axis when the model has one.
  model <- keras_model_sequential(input_shape = c(6, 6, 1)) |> layer_conv_2d(2, 3)
  expect_error(
    predict(model, array(0, c(2, 6, 6)), verbose = 0),
    "expects input_shape = c\\(6, 6, 1\\).*array_reshape\\(x, c\\(nrow\\(x\\), 6, 6, 1\\)\\)",
    class = "kerust_error"
  )
})

test_that("conv_1d and conv_3d reject bad arguments", {
  expect_error(layer_conv_1d(filters = 2, kernel_size = c(2, 2)), "`kernel_size` must be a single integer >= 1", class = "kerust_error")
  expect_error(layer_conv_1d(filters = 2, kernel_size = 3, padding = "full"), "\"valid\" or \"same\" or \"causal\"", class = "kerust_error")
  expect_error(
    keras_model_sequential(input_shape = 100) |> layer_conv_1d(4, 3),
    "expects inputs of shape \\(batch_size, steps, channels\\), got \\(None, 100\\).*input_shape = c\\(100, 1\\)",
    class = "kerust_error"
  )
  expect_error(layer_conv_3d(filters = 2, kernel_size = c(2, 2)), "one integer or 3 integers", class = "kerust_error")
})

test_that("a small CNN trains and its loss decreases", {
  set.seed(3)
  n <- 200
  x <- array(runif(n * 10 * 10), c(n, 10, 10, 1))
  # Class 1 when the left half is brighter than the right half.
  y <- as.integer(apply(x[, , 1:5, 1], 1, mean) > apply(x[, , 6:10, 1], 1, mean))
  model <- keras_model_sequential(input_shape = c(10, 10, 1)) |>
    layer_conv_2d(4, 3, activation = "relu") |>
    layer_max_pooling_2d() |>
    layer_flatten() |>
    layer_dense(2, activation = "softmax")
  compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  history <- fit(model, x, y, epochs = 8, batch_size = 20, verbose = 0)
  losses <- history$metrics$loss
  expect_lt(losses[length(losses)], losses[1])
})

test_that("the Fashion-MNIST CNN trains on 2000 images", {
  fm <- dataset_fashion_mnist()
  n <- min(2000, dim(fm$train$x)[1])
  x <- array_reshape(fm$train$x[seq_len(n), , ], c(n, 28, 28, 1)) / 255
  y <- fm$train$y[seq_len(n)]
  set.seed(5)
  model <- keras_model_sequential(input_shape = c(28, 28, 1)) |>
    layer_conv_2d(32, c(3, 3), activation = "relu") |>
    layer_max_pooling_2d(c(2, 2)) |>
    layer_conv_2d(64, c(3, 3), activation = "relu") |>
    layer_max_pooling_2d(c(2, 2)) |>
    layer_flatten() |>
    layer_dropout(0.5) |>
    layer_dense(10, activation = "softmax")
  expect_equal(count_params(model), 34826)
  compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  before <- evaluate(model, x, y, verbose = 0)
  history <- fit(model, x, y, epochs = 1, batch_size = 128, verbose = 0)
  after <- evaluate(model, x, y, verbose = 0)
  expect_lt(after$loss, before$loss)
  expect_gt(after$accuracy, 0.3)
  expect_true(is.finite(history$metrics$loss))
})
