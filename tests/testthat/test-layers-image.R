# Resizing, center crop, bilinear upsampling and the random augmentation
# layers. Expected values here are worked by hand; the engine tests compare
# the same layers with Keras 3 values (src/rust/engine/tests/image_golden.rs).

image_of <- function(m) array(m, c(1, nrow(m), ncol(m), 1))

predict_with <- function(input_shape, layer_fn, x) {
  model <- layer_fn(keras_model_sequential(input_shape = input_shape))
  predict(model, x, verbose = 0)
}

# Fits one SGD(1) step of `layer -> flatten -> zero-initialized dense` on
# one image with mean squared error and target -1. The kernel gradient is
# 2 * (0 - (-1)) times the layer's training output, so that output is
# -kernel / 2. Returns it as an array of the input's shape.
training_output <- function(layer_fn, x) {
  model <- keras_model_sequential(input_shape = dim(x)[-1]) |>
    layer_fn() |>
    layer_flatten() |>
    layer_dense(1, use_bias = FALSE, kernel_initializer = "zeros")
  compile(model, optimizer = optimizer_sgd(1), loss = "mse")
  fit(model, x, -1, epochs = 1, batch_size = 1, verbose = 0)
  d <- dim(x)[-1]
  aperm(array(-get_weights(model)[[1]] / 2, rev(d)), rev(seq_along(d)))
}

grid <- matrix(c(0, 1, 2, 3), 2, byrow = TRUE)
ramp <- c(0, 0.25, 0.75, 1)

test_that("resizing interpolates like tf.image.resize", {
  # Doubling samples at (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25,
  # clamped to the edge pixels: weights 0, 1/4, 3/4 and 1 on the second pixel.
  y <- predict_with(c(2, 2, 1), function(m) layer_resizing(m, 4, 4), image_of(grid))
  expect_equal(dim(y), c(1L, 4L, 4L, 1L))
  expect_equal(y[1, , , 1], outer(2 * ramp, ramp, "+"))
  nearest <- predict_with(c(2, 2, 1), function(m) layer_resizing(m, 4, 4, interpolation = "nearest"), image_of(grid))
  expect_equal(nearest[1, , , 1], grid[c(1, 1, 2, 2), c(1, 1, 2, 2)])
})

test_that("resizing crops or pads to the aspect ratio", {
  x <- image_of(matrix(1:24, 4, byrow = TRUE))
  # The centred 4 x 4 window of a 4 x 6 image, halved: each output is the
  # mean of a 2 x 2 block (bilinear at half-integer positions).
  cropped <- predict_with(c(4, 6, 1), function(m) layer_resizing(m, 2, 2, crop_to_aspect_ratio = TRUE), x)
  expect_equal(cropped[1, , , 1], matrix(c(5.5, 7.5, 17.5, 19.5), 2, byrow = TRUE))
  # Padding 1 row of -1 above and below makes the 4 x 6 image 6 x 6, and
  # "nearest" at scale 1 copies it.
  padded <- predict_with(c(4, 6, 1), function(m) {
    layer_resizing(m, 6, 6, pad_to_aspect_ratio = TRUE, fill_value = -1, interpolation = "nearest")
  }, x)
  expect_equal(padded[1, , , 1], rbind(-1, matrix(1:24, 4, byrow = TRUE), -1))
})

test_that("center_crop cuts the centre or resizes small images", {
  x <- image_of(matrix(1:16, 4, byrow = TRUE))
  y <- predict_with(c(4, 4, 1), function(m) layer_center_crop(m, 2, 3), x)
  expect_equal(y[1, , , 1], matrix(c(5, 6, 7, 9, 10, 11), 2, byrow = TRUE))
  small <- predict_with(c(2, 2, 1), function(m) layer_center_crop(m, 4, 4), image_of(grid))
  expect_equal(small[1, , , 1], outer(2 * ramp, ramp, "+"))
})

test_that("upsampling_2d interpolates bilinearly on request", {
  y <- predict_with(c(1, 2, 1), function(m) layer_upsampling_2d(m, c(1, 2), interpolation = "bilinear"),
    image_of(matrix(c(0, 4), 1)))
  expect_equal(as.vector(y), 4 * ramp)
  model <- keras_model_sequential(input_shape = c(3, 5, 2)) |> layer_upsampling_2d(c(2, 3), interpolation = "bilinear")
  expect_equal(rs_layers(model$ptr)$output_shape[[1]], c(6L, 15L, 2L))
})

test_that("random layers pass inputs through in predict", {
  x <- array(runif(2 * 5 * 6 * 3), c(2, 5, 6, 3))
  layers <- list(
    function(m) layer_random_flip(m),
    function(m) layer_random_rotation(m, 0.3),
    function(m) layer_random_translation(m, 0.2, 0.3),
    function(m) layer_random_zoom(m, 0.5),
    function(m) layer_random_contrast(m, 0.5, value_range = c(0, 1))
  )
  for (layer_fn in layers) {
    expect_equal(predict_with(c(5, 6, 3), layer_fn, x), x, tolerance = 1e-6)
  }
})

test_that("random_rotation turns images in training", {
  x <- image_of(matrix(1:9, 3, byrow = TRUE))
  y <- training_output(function(m) layer_random_rotation(m, c(0.25, 0.25)), x)
  # A quarter turn counter-clockwise; cos(pi / 2) in f32 is about -4e-8.
  expect_equal(y[, , 1], matrix(c(3, 6, 9, 2, 5, 8, 1, 4, 7), 3, byrow = TRUE), tolerance = 1e-5)
})

test_that("random_translation shifts images in training", {
  x <- image_of(matrix(1:4, 1))
  y <- training_output(function(m) {
    layer_random_translation(m, 0, c(0.5, 0.5), fill_mode = "constant", fill_value = 9)
  }, x)
  expect_equal(as.vector(y), c(9, 9, 1, 2))
  wrapped <- training_output(function(m) layer_random_translation(m, 0, c(-0.25, -0.25), fill_mode = "wrap"), x)
  expect_equal(as.vector(wrapped), c(2, 3, 4, 1))
})

test_that("random_zoom zooms about the centre in training", {
  x <- image_of(matrix(1:5, 1))
  # Zoom factor 1 - 0.5: output column j reads input column 0.5 j + 1.
  y <- training_output(function(m) layer_random_zoom(m, c(-0.5, -0.5)), x)
  expect_equal(as.vector(y), c(2, 2.5, 3, 3.5, 4))
})

test_that("random_flip flips half the images, reproducibly", {
  x <- image_of(matrix(1:4, 1))
  draws <- vapply(1:40, function(seed) {
    set.seed(seed)
    y <- training_output(function(m) layer_random_flip(m, "horizontal"), x)
    if (identical(as.vector(y), c(4, 3, 2, 1))) "flipped" else if (identical(as.vector(y), c(1, 2, 3, 4))) "kept" else "other"
  }, character(1))
  expect_false("other" %in% draws)
  expect_gt(sum(draws == "flipped"), 8)
  expect_gt(sum(draws == "kept"), 8)
  set.seed(3)
  first <- training_output(function(m) layer_random_rotation(m, 0.5), image_of(grid))
  set.seed(3)
  again <- training_output(function(m) layer_random_rotation(m, 0.5), image_of(grid))
  expect_identical(first, again)
  both <- training_output(function(m) layer_random_flip(m, seed = 7), image_of(grid))
  expect_true(identical(both[, , 1], grid) || identical(both[, , 1], grid[2:1, 2:1]))
})

test_that("random_contrast keeps the channel mean", {
  x <- image_of(matrix(c(0.1, 0.4, 0.3, 0.6), 2))
  y <- training_output(function(m) layer_random_contrast(m, c(0.5, 0.5), value_range = c(0, 1)), x)
  centred_x <- x[1, , , 1] - mean(x)
  centred_y <- y[, , 1] - mean(y)
  expect_equal(mean(y), mean(x), tolerance = 1e-6)
  factor <- centred_y[1, 1] / centred_x[1, 1]
  expect_gte(factor, 0.5)
  expect_lte(factor, 1.5)
  expect_equal(centred_y, factor * centred_x, tolerance = 1e-5)
})

test_that("image layers reject bad arguments", {
  expect_error(layer_resizing(height = 0, width = 2), "`height` must be a single integer >= 1, got 0", class = "kerust_error")
  expect_error(layer_resizing(height = 2, width = 2, interpolation = "bicubic"), "`interpolation` must be one of \"bilinear\", \"nearest\" \\(kerust implements no others\\), got \"bicubic\"", class = "kerust_error")
  expect_error(layer_resizing(height = 2, width = 2, crop_to_aspect_ratio = TRUE, pad_to_aspect_ratio = TRUE), "Only one of", class = "kerust_error")
  expect_error(layer_resizing(height = 2, width = 2, fill_mode = "reflect"), "`fill_mode` must be one of \"constant\", got \"reflect\"", class = "kerust_error")
  expect_error(layer_resizing(height = 2, width = 2, data_format = "channels_first"), "channels_first", class = "kerust_error")
  expect_error(layer_center_crop(height = 2, width = -1), "`width` must be a single integer >= 1, got -1", class = "kerust_error")
  expect_error(layer_random_flip(mode = "diagonal"), "`mode` must be one of \"horizontal\", \"vertical\", \"horizontal_and_vertical\", got \"diagonal\"", class = "kerust_error")
  expect_error(layer_random_flip(seed = -1), "`seed` must be NULL or a single non-negative integer", class = "kerust_error")
  expect_error(layer_random_rotation(factor = 1.5), "`factor` must be a number in \\[-1, 1\\] or two numbers c\\(lower, upper\\) in \\[-1, 1\\], got 1.5", class = "kerust_error")
  expect_error(layer_random_rotation(factor = c(0.1, 0.2, 0.3)), "`factor`", class = "kerust_error")
  expect_error(layer_random_rotation(factor = 0.1, fill_mode = "mirror"), "`fill_mode` must be one of \"reflect\", \"wrap\", \"constant\", \"nearest\", got \"mirror\"", class = "kerust_error")
  expect_error(layer_random_rotation(factor = 0.1, interpolation = "area"), "`interpolation`", class = "kerust_error")
  expect_error(layer_random_rotation(factor = 0.1, fill_value = NA), "`fill_value` must be a single number", class = "kerust_error")
  expect_error(layer_random_translation(height_factor = 0.1, width_factor = -2), "`width_factor` must be a number in \\[-1, 1\\]", class = "kerust_error")
  expect_error(layer_random_translation(height_factor = "a", width_factor = 0.1), "`height_factor`", class = "kerust_error")
  expect_error(layer_random_zoom(height_factor = -1), "`height_factor` must be a number in \\(-1, 1\\]", class = "kerust_error")
  expect_error(layer_random_zoom(height_factor = 0.1, width_factor = c(-1, 0)), "`width_factor` must be a number in \\(-1, 1\\]", class = "kerust_error")
  expect_error(layer_random_contrast(factor = 2), "`factor` must be a number in \\[0, 1\\]", class = "kerust_error")
  expect_error(layer_random_contrast(factor = c(-0.1, 0.5)), "`factor`", class = "kerust_error")
  expect_error(layer_random_contrast(factor = 0.1, value_range = c(1, 0)), "`value_range` must be two finite numbers c\\(low, high\\) with low < high, got a double vector of length 2", class = "kerust_error")
  expect_error(layer_random_contrast(factor = 0.1, value_range = 255), "`value_range`", class = "kerust_error")
  expect_error(
    keras_model_sequential(input_shape = c(4, 4)) |> layer_random_flip(),
    "expects inputs of shape \\(batch_size, height, width, channels\\), got \\(None, 4, 4\\)",
    class = "kerust_error"
  )
  expect_error(
    keras_model_sequential(input_shape = c(8, 4, 4, 1)) |> layer_resizing(2, 2),
    "expects inputs of shape",
    class = "kerust_error"
  )
})

test_that("random layer specs store keras's factor ranges", {
  expect_equal(layer_random_rotation(factor = 0.2)$config$factor, c(-0.2, 0.2))
  expect_equal(layer_random_rotation(factor = c(0.3, -0.1))$config$factor, c(-0.1, 0.3))
  expect_equal(layer_random_zoom(height_factor = -0.3)$config$height_factor, c(-0.3, 0.3))
  expect_null(layer_random_zoom(height_factor = 0.3)$config$width_factor)
  # keras 3.15 reads a single contrast factor f as c(0, f).
  expect_equal(layer_random_contrast(factor = 0.4)$config$factor, c(0, 0.4))
  expect_equal(layer_random_contrast(factor = c(0.4, 0.2))$config$factor, c(0.2, 0.4))
  expect_equal(layer_random_flip()$config$mode, "horizontal_and_vertical")
  expect_equal(layer_random_rotation(factor = 0.1)$config$fill_mode, "reflect")
})
