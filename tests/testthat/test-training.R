# fit(), evaluate() and predict() as a user calls them.

iris_data <- function() {
  x <- scale(as.matrix(iris[, 1:4]))
  dimnames(x) <- NULL
  list(x = x, y = as.integer(iris$Species) - 1L)
}

iris_model <- function(seed = 1, dropout = 0) {
  set.seed(seed)
  model <- keras_model_sequential(input_shape = 4) |>
    layer_dense(16, activation = "relu") |>
    layer_dropout(dropout) |>
    layer_dense(3, activation = "softmax")
  compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  model
}

test_that("two epochs match Keras 3 with SGD", {
  # Reference: tools/golden/make_golden.py, case "sgd" of training.json,
  # computed with Keras 3.15.1 (TensorFlow 2.21 CPU): Dense(4, relu) ->
  # Dense(2, softmax), these literal weights, SGD(learning_rate = 0.1),
  # fit(batch_size = 4, epochs = 2, shuffle = FALSE). Keras arrays are
  # row-major, so a 3 x 4 kernel is matrix(..., byrow = TRUE) here.
  x <- matrix(c(0.5, -1, 1.5, 1, 0.2, -0.3, -0.7, 0.8, 0.1, 0.3, 0.3, 0.9, -1.2, -0.4, 0.6, 0.9, -0.6, -1.1), 6, byrow = TRUE)
  y <- c(0, 1, 1, 0, 1, 0)
  model <- keras_model_sequential(input_shape = 3) |>
    layer_dense(4, activation = "relu") |>
    layer_dense(2, activation = "softmax")
  set_weights(model, list(
    matrix(c(0.3, -0.4, 0.5, 0.1, -0.2, 0.6, 0.25, -0.5, 0.45, 0.1, -0.35, 0.7), 3, byrow = TRUE),
    c(0.05, 0.1, -0.05, 0),
    matrix(c(0.6, -0.3, -0.5, 0.4, 0.2, 0.7, -0.8, 0.35), 4, byrow = TRUE),
    c(0.1, -0.1)
  ))
  compile(model, optimizer = optimizer_sgd(0.1), loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  history <- fit(model, x, y, batch_size = 4, epochs = 2, shuffle = FALSE, verbose = 0)
  expect_equal(history$metrics$loss, c(0.7068087458610535, 0.6597929000854492), tolerance = 1e-5)
  expect_equal(history$metrics$accuracy, c(1 / 3, 1 / 3), tolerance = 1e-6)
  w <- get_weights(model)
  expect_equal(w[[1]], matrix(c(
    0.33927178382873535, -0.4583873152732849, 0.4889970123767853, 0.02748786099255085,
    -0.21247829496860504, 0.5925520658493042, 0.2684336304664612, -0.4889184236526489,
    0.5012888312339783, 0.10003426671028137, -0.3247421085834503, 0.6435171961784363
  ), 3, byrow = TRUE), tolerance = 1e-5)
  expect_equal(w[[2]], array(c(0.04414832592010498, 0.12555177509784698, -0.06364841014146805, -0.026458093896508217)), tolerance = 1e-5)
  expect_equal(w[[4]], array(c(0.12980344891548157, -0.12980344891548157)), tolerance = 1e-5)
})

test_that("fit returns a history and learns iris", {
  d <- iris_data()
  model <- iris_model()
  history <- fit(model, d$x, d$y, epochs = 60, batch_size = 16, verbose = 0)
  expect_s3_class(history, "kerust_history")
  expect_named(history$metrics, c("accuracy", "loss"))
  expect_length(history$metrics$loss, 60)
  expect_lt(history$metrics$loss[60], history$metrics$loss[1])
  result <- evaluate(model, d$x, d$y, verbose = 0)
  expect_named(result, c("loss", "accuracy"))
  expect_gt(result$accuracy, 0.85)
})

test_that("validation_split holds out the last rows", {
  d <- iris_data()
  model <- iris_model()
  history <- fit(model, d$x, d$y, epochs = 2, validation_split = 0.2, verbose = 0)
  expect_named(history$metrics, c("accuracy", "loss", "val_accuracy", "val_loss"))
  # The last 30 rows of iris are all virginica (class 2): validation accuracy
  # is the share of them predicted as class 2.
  p <- predict(model, d$x[121:150, ])
  expect_equal(history$metrics$val_accuracy[2], mean(max.col(p, ties.method = "first") == 3), tolerance = 1e-6)
  loss <- loss_sparse_categorical_crossentropy(d$y[121:150], p)
  expect_equal(history$metrics$val_loss[2], mean(loss), tolerance = 1e-5)
})

test_that("validation_data is evaluated after each epoch", {
  d <- iris_data()
  model <- iris_model()
  history <- fit(model, d$x, d$y, epochs = 3, validation_data = list(d$x[1:20, ], d$y[1:20]), verbose = 0)
  expect_length(history$metrics$val_loss, 3)
  expect_equal(history$metrics$val_loss[3], evaluate(model, d$x[1:20, ], d$y[1:20], verbose = 0)$loss, tolerance = 1e-6)
})

test_that("same seed gives identical weights and history", {
  d <- iris_data()
  run <- function() {
    model <- iris_model(seed = 3, dropout = 0.2)
    h <- fit(model, d$x, d$y, epochs = 3, batch_size = 10, verbose = 0)
    list(get_weights(model), h$metrics)
  }
  expect_identical(run(), run())
})

test_that("initial_epoch resumes numbering", {
  d <- iris_data()
  model <- iris_model()
  history <- fit(model, d$x, d$y, epochs = 5, initial_epoch = 3, verbose = 0)
  expect_length(history$metrics$loss, 3)
})

test_that("predict returns one row per sample", {
  d <- iris_data()
  model <- iris_model()
  p <- predict(model, d$x)
  expect_identical(dim(p), c(150L, 3L))
  expect_equal(rowSums(p), rep(1, 150), tolerance = 1e-6)
  one <- predict(model, d$x[1, , drop = FALSE])
  expect_identical(dim(one), c(1L, 3L))
  expect_equal(one, p[1, , drop = FALSE])
  # A plain vector of input_shape values is one sample.
  expect_equal(predict(model, d$x[1, ]), one)
  expect_equal(predict(model, d$x, batch_size = 7), p)
})

test_that("factor labels become 0-based integers", {
  d <- iris_data()
  a <- iris_model(seed = 5)
  b <- iris_model(seed = 5)
  set.seed(9)
  ha <- fit(a, d$x, iris$Species, epochs = 2, verbose = 0)
  set.seed(9)
  hb <- fit(b, d$x, d$y, epochs = 2, verbose = 0)
  expect_identical(ha$metrics, hb$metrics)
})

test_that("verbose = 2 prints one keras line per epoch", {
  d <- iris_data()
  model <- iris_model()
  out <- capture.output(fit(model, d$x, d$y, epochs = 2, batch_size = 50, verbose = 2))
  expect_equal(out[1], "Epoch 1/2")
  expect_match(out[2], "^3/3 - \\d+s - \\d+(us|ms)/step - accuracy: \\d\\.\\d{4} - loss: \\d\\.\\d{4}$")
  expect_equal(out[3], "Epoch 2/2")
})

test_that("verbose = 1 draws a progress bar", {
  d <- iris_data()
  model <- iris_model()
  out <- paste(capture.output(fit(model, d$x, d$y, epochs = 1, batch_size = 50, verbose = 1)), collapse = "\n")
  expect_match(out, "3/3 .{20} \\d+s \\d+(us|ms)/step - accuracy")
})

test_that("interrupt keeps the last completed step", {
  d <- iris_data()
  model <- iris_model()
  before <- get_weights(model)
  expect_message(
    h <- fit(model, d$x, d$y, epochs = 50, batch_size = 10, verbose = 0, .interrupt_after = 1),
    "Training interrupted by the user"
  )
  expect_length(h$metrics$loss, 0)
  # The model is usable and trained by at least one step.
  expect_false(identical(get_weights(model), before))
  expect_equal(dim(predict(model, d$x)), c(150L, 3L))
  expect_s3_class(fit(model, d$x, d$y, epochs = 1, verbose = 0), "kerust_history")
})

test_that("regression with mse and mae metric", {
  set.seed(2)
  x <- matrix(runif(400), 200, 2)
  y <- 3 * x[, 1] - 2 * x[, 2] + 0.5
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  compile(model, optimizer = optimizer_sgd(0.1), loss = "mse", metrics = c("mae", "rmse"))
  h <- fit(model, x, y, epochs = 100, batch_size = 20, verbose = 0)
  expect_lt(h$metrics$loss[100], 1e-3)
  expect_equal(h$metrics$rmse[100], sqrt(h$metrics$loss[100]), tolerance = 1e-3)
  w <- get_weights(model)
  expect_equal(as.vector(w[[1]]), c(3, -2), tolerance = 0.05)
})

test_that("one-hot targets with categorical crossentropy", {
  d <- iris_data()
  set.seed(4)
  model <- keras_model_sequential(input_shape = 4) |>
    layer_dense(8, activation = "tanh") |>
    layer_dense(3) |>
    layer_activation("softmax")
  compile(model, optimizer = optimizer_rmsprop(0.01), loss = "categorical_crossentropy", metrics = "accuracy")
  h <- fit(model, d$x, to_categorical(d$y), epochs = 20, verbose = 0)
  expect_named(h$metrics, c("accuracy", "loss"))
  expect_gt(h$metrics$accuracy[20], 0.7)
})

test_that("fit rejects bad input before changing the model", {
  d <- iris_data()
  model <- keras_model_sequential(input_shape = 4) |> layer_dense(3, activation = "softmax")
  expect_error(fit(model, d$x, d$y, verbose = 0), "must be compiled before fit\\(\\)", class = "kerust_error")
  compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  before <- get_weights(model)
  expect_error(fit(model, d$x, d$y[-1], verbose = 0), "`y` has 149 samples but `x` has 150", class = "kerust_error")
  expect_error(fit(model, d$x[, 1:3], d$y, verbose = 0), "samples of shape \\(3\\).*input_shape = c\\(4\\)", class = "kerust_error")
  y_bad <- d$y
  y_bad[5] <- 3
  expect_error(fit(model, d$x, y_bad, verbose = 0), "class labels from 0 to 2 \\(the output layer has 3 units\\), got 3 at position 5", class = "kerust_error")
  y_na <- as.double(d$y)
  y_na[7] <- NA
  expect_error(fit(model, d$x, y_na, verbose = 0), "`y` contains NA at y\\[7\\]", class = "kerust_error")
  x_inf <- d$x
  x_inf[2, 1] <- Inf
  expect_error(fit(model, x_inf, d$y, verbose = 0), "`x` contains Inf at x\\[2, 1\\]", class = "kerust_error")
  expect_error(fit(model, d$x, to_categorical(d$y), verbose = 0), "like one-hot targets.*categorical_crossentropy", class = "kerust_error")
  expect_error(fit(model, d$x, d$y, batch_size = 0, verbose = 0), "`batch_size` must be a single integer >= 1, got 0", class = "kerust_error")
  expect_error(fit(model, d$x, d$y, batch_size = -5, verbose = 0), "`batch_size`", class = "kerust_error")
  expect_error(fit(model, d$x, d$y, validation_split = 1, verbose = 0), "`validation_split` must be a single number in \\[0, 1\\)", class = "kerust_error")
  expect_error(fit(model, d$x, d$y, validation_split = -0.1, verbose = 0), "`validation_split`", class = "kerust_error")
  expect_error(fit(model, d$x[0, ], d$y[0], verbose = 0), "`x` is empty", class = "kerust_error")
  expect_error(fit(model, d$x, d$y, verbose = 3), "`verbose` must be \"auto\", 0, 1 or 2", class = "kerust_error")
  expect_error(fit(model, d$x, d$y, callbacks = list(1), verbose = 0), "`callbacks\\[\\[1\\]\\]` must be a callback_\\*\\(\\) object, got 1", class = "kerust_error")
  expect_identical(get_weights(model), before)

  cat_model <- keras_model_sequential(input_shape = 4) |> layer_dense(3, activation = "softmax")
  compile(cat_model, optimizer = "adam", loss = "categorical_crossentropy")
  expect_error(fit(cat_model, d$x, d$y, verbose = 0), "integer class labels.*sparse_categorical_crossentropy.*to_categorical", class = "kerust_error")
})

test_that("x of the wrong rank suggests a reshape", {
  model <- keras_model_sequential(input_shape = 784) |> layer_dense(2, activation = "softmax")
  compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy")
  x <- array(0, c(5, 28, 28))
  expect_error(predict(model, x), "array_reshape\\(x, c\\(nrow\\(x\\), 784\\)\\)", class = "kerust_error")
})

test_that("evaluate and predict reject bad input", {
  d <- iris_data()
  model <- iris_model()
  expect_error(evaluate(model, d$x, d$y[1:3], verbose = 0), "`y` has 3 samples but `x` has 150", class = "kerust_error")
  expect_error(evaluate(model, d$x, d$y, batch_size = 0, verbose = 0), "`batch_size`", class = "kerust_error")
  expect_error(predict(model, "a"), "`x` must be a numeric matrix or array, got \"a\"", class = "kerust_error")
  expect_error(predict(model, d$x, batch_size = 0), "`batch_size`", class = "kerust_error")
  uncompiled <- keras_model_sequential(input_shape = 4) |> layer_dense(2)
  expect_error(evaluate(uncompiled, d$x, d$y), "must be compiled before evaluate\\(\\)", class = "kerust_error")
})

test_that("resuming with initial_epoch repeats an uninterrupted run", {
  d <- iris_data()
  straight <- iris_model(seed = 8, dropout = 0.1)
  model <- iris_model(seed = 8, dropout = 0.1)
  h5 <- fit(straight, d$x, d$y, epochs = 5, batch_size = 16, verbose = 0)
  h3 <- fit(model, d$x, d$y, epochs = 3, batch_size = 16, verbose = 0)
  h45 <- fit(model, d$x, d$y, epochs = 5, initial_epoch = 4, batch_size = 16, verbose = 0)
  expect_identical(get_weights(model), get_weights(straight))
  expect_identical(c(h3$metrics$loss, h45$metrics$loss), h5$metrics$loss)
})

test_that("successive fit calls shuffle differently", {
  d <- iris_data()
  a <- iris_model(seed = 12)
  b <- iris_model(seed = 12)
  fit(a, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  first <- get_weights(a)
  fit(a, d$x, d$y, epochs = 1, batch_size = 16, verbose = 0)
  fit(b, d$x, d$y, epochs = 2, batch_size = 16, verbose = 0)
  # Two one-epoch calls equal one two-epoch call: epochs are keyed by step count.
  expect_identical(get_weights(a), get_weights(b))
  expect_false(identical(first, get_weights(a)))
})

test_that("oversized layers and batches give an error, not a crash", {
  expect_error(keras_model_sequential(input_shape = 784) |> layer_dense(1e9),
    "the weights of layer \"dense.*would need .* of memory", class = "kerust_error")
  model <- keras_model_sequential(input_shape = 1) |> layer_dense(1e5) |> layer_dense(1)
  compile(model, optimizer = "sgd", loss = "mse")
  expect_error(fit(model, matrix(0, 1e5, 1), rep(0, 1e5), batch_size = 1e5, verbose = 0),
    "a batch of 100000 samples would need", class = "kerust_error")
  expect_equal(dim(predict(model, matrix(0, 2, 1))), c(2L, 1L))
})

test_that("counts beyond the integer range are rejected", {
  d <- iris_data()
  model <- iris_model()
  expect_error(fit(model, d$x, d$y, batch_size = 1e10, verbose = 0), "`batch_size` must be at most 2147483647, got 1e\\+10", class = "kerust_error")
  expect_error(fit(model, d$x, d$y, epochs = Inf, verbose = 0), "`epochs` must be a single integer >= 0, got Inf", class = "kerust_error")
  expect_error(layer_dense(units = 2^31), "`units` must be at most", class = "kerust_error")
  expect_error(keras_model_sequential(input_shape = 1e10), "`input_shape` must be a vector of positive integers", class = "kerust_error")
  expect_error(kerust_threads(1e6), "at most .* \\(4 per logical core\\)", class = "kerust_error")
})

test_that("unknown arguments are rejected", {
  d <- iris_data()
  model <- iris_model()
  expect_error(fit(model, d$x, d$y, epoch = 10, verbose = 0), "Unknown argument in fit\\(\\): `epoch`", class = "kerust_error")
  expect_error(evaluate(model, d$x, d$y, batchsize = 10), "Unknown argument in evaluate\\(\\): `batchsize`", class = "kerust_error")
  expect_error(predict(model, d$x, batchsize = 10), "Unknown argument in predict\\(\\): `batchsize`", class = "kerust_error")
  expect_error(compile(model, loss = "mse", foo = "mae"), "Unknown argument in compile\\(\\): `foo`", class = "kerust_error")
})

test_that("validation data errors name the right argument", {
  d <- iris_data()
  model <- iris_model()
  expect_error(fit(model, d$x, d$y, validation_data = data.frame(a = 1:3), verbose = 0),
    "`validation_data` must be a list\\(x_val, y_val\\), got a data frame", class = "kerust_error")
  expect_error(fit(model, d$x, d$y, validation_data = list(d$x[1:5, ], d$y[1:4]), verbose = 0),
    "`validation_data\\[\\[2\\]\\]` has 4 samples but `validation_data\\[\\[1\\]\\]` has 5", class = "kerust_error")
})

test_that("categorical metrics with integer labels are rejected", {
  d <- iris_data()
  model <- keras_model_sequential(input_shape = 4) |> layer_dense(3, activation = "softmax")
  compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "categorical_accuracy")
  expect_error(fit(model, d$x, d$y, verbose = 0),
    "The metric \"categorical_accuracy\" needs one-hot targets.*sparse_categorical_accuracy", class = "kerust_error")
})

test_that("data frames and vectors of the wrong size get clear errors", {
  d <- iris_data()
  model <- iris_model()
  df <- as.data.frame(d$x)
  df$V2 <- factor(df$V2 > 0)
  expect_error(fit(model, df, d$y, verbose = 0), "data frame with non-numeric column `V2`", class = "kerust_error")
  expect_error(predict(model, c(1, 2)), "`x` is a vector of length 2, but the model expects samples of 4 values", class = "kerust_error")
  w <- get_weights(model)
  w[[1]] <- array(as.character(w[[1]]), dim(w[[1]]))
  expect_error(set_weights(model, w), "`weights\\[\\[1\\]\\]` must be a numeric", class = "kerust_error")
})

test_that("a rejected fit leaves an unbuilt model unbuilt", {
  model <- keras_model_sequential() |> layer_dense(2)
  compile(model, optimizer = "adam", loss = "mse")
  expect_error(fit(model, matrix(0, 4, 3), matrix(0, 4, 5), verbose = 0), "`y` has 5 values per sample but the model outputs 2", class = "kerust_error")
  expect_null(model$ptr)
  expect_null(model$input_shape)
  # The model can then be fitted on data of another shape.
  fit(model, matrix(0, 4, 6), matrix(0, 4, 2), verbose = 0)
  expect_equal(model$input_shape, 6L)
})
