# Callbacks of fit(): values are checked against the history that fit()
# returns and against hand-computed expectations.

linear_data <- function(n = 64, seed = 1) {
  set.seed(seed)
  x <- matrix(runif(n * 2), n, 2)
  list(x = x, y = x[, 1] - 2 * x[, 2] + 0.5)
}

linear_model <- function(optimizer = optimizer_sgd(0.1), seed = 2) {
  set.seed(seed)
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  compile(model, optimizer = optimizer, loss = "mse")
  model
}

test_that("early stopping stops after patience and restores the best weights", {
  d <- linear_data()
  # Validation targets that the model cannot fit: val_loss reaches a minimum
  # and then rises as training fits the training targets.
  val_x <- d$x[1:20, ]
  val_y <- rep(0, 20)
  model <- linear_model()
  es <- callback_early_stopping(monitor = "val_loss", patience = 2, restore_best_weights = TRUE)
  h <- fit(model, d$x, d$y, epochs = 50, batch_size = 16, validation_data = list(val_x, val_y),
    callbacks = list(es), verbose = 0)
  val <- h$metrics$val_loss
  best <- which.min(val)
  expect_lt(length(val), 50)
  # Training stops `patience` epochs after the best one.
  expect_equal(length(val), best + 2)
  # The restored weights are those of the best epoch: their validation loss
  # is the best one in the history.
  expect_equal(evaluate(model, val_x, val_y, verbose = 0)$loss, val[best], tolerance = 1e-6)
})

test_that("early stopping prints keras's messages", {
  d <- linear_data()
  model <- linear_model()
  es <- callback_early_stopping(monitor = "val_loss", patience = 1, verbose = 1, restore_best_weights = TRUE)
  out <- capture.output(fit(model, d$x, d$y, epochs = 60, batch_size = 16,
    validation_data = list(d$x[1:20, ], rep(0, 20)), callbacks = list(es), verbose = 0))
  expect_true(any(grepl("^Epoch \\d+: early stopping$", out)))
  expect_true(any(grepl("^Restoring model weights from the end of the best epoch: \\d+\\.$", out)))
})

test_that("early stopping rejects an unknown monitor and lists the logs", {
  d <- linear_data()
  model <- linear_model()
  expect_error(
    fit(model, d$x, d$y, epochs = 2, callbacks = list(callback_early_stopping(monitor = "val_acc")), verbose = 0),
    "`monitor` = \"val_acc\" is not a logged metric; available: loss",
    class = "kerust_error"
  )
})

test_that("reduce_lr_on_plateau halves the rate without improvement", {
  # Zero targets and a zero kernel without bias give a constant loss of 0,
  # which never improves: after the first epoch every epoch reduces the rate.
  x <- matrix(runif(20), 10, 2)
  model <- keras_model_sequential(input_shape = 2) |>
    layer_dense(1, use_bias = FALSE, kernel_initializer = "zeros")
  compile(model, optimizer = optimizer_sgd(0.1), loss = "mse")
  cb <- callback_reduce_lr_on_plateau(monitor = "loss", factor = 0.5, patience = 1)
  h <- fit(model, x, rep(0, 10), epochs = 5, callbacks = list(cb), verbose = 0)
  # The logged rate is the one used during the epoch (keras logs it before reducing).
  expect_equal(h$metrics$learning_rate, c(0.1, 0.1, 0.05, 0.025, 0.0125), tolerance = 1e-6)
})

test_that("learning_rate_scheduler follows the keras example", {
  # keras's documented example: SGD(0.01), 15 epochs, rate kept for epochs
  # 0-9 (0-based) and multiplied by exp(-0.1) after, ends at 0.01 * exp(-0.5).
  scheduler <- function(epoch, lr) if (epoch < 10) lr else lr * exp(-0.1)
  model <- keras_model_sequential(input_shape = 20) |> layer_dense(10)
  compile(model, optimizer = optimizer_sgd(), loss = "mse")
  h <- fit(model, array(runif(100), c(5, 20)), array(0, c(5, 10)), epochs = 15,
    callbacks = list(callback_learning_rate_scheduler(scheduler)), verbose = 0)
  expect_equal(h$metrics$learning_rate[15], 0.01 * exp(-0.5), tolerance = 1e-6)
  expect_equal(h$metrics$learning_rate[10], 0.01, tolerance = 1e-6)
})

test_that("learning_rate_scheduler rejects a schedule returning a non-number", {
  d <- linear_data()
  model <- linear_model()
  before <- get_weights(model)
  bad <- callback_learning_rate_scheduler(function(epoch, lr) "fast")
  expect_error(fit(model, d$x, d$y, epochs = 2, callbacks = list(bad), verbose = 0),
    "must return one positive number, got \"fast\" at epoch 0", class = "kerust_error")
  expect_identical(get_weights(model), before)
})

test_that("csv_logger writes one row per epoch", {
  d <- linear_data()
  model <- linear_model()
  file <- tempfile(fileext = ".csv")
  h <- fit(model, d$x, d$y, epochs = 3, validation_split = 0.25, callbacks = list(callback_csv_logger(file)), verbose = 0)
  log <- read.csv(file)
  expect_equal(names(log), c("epoch", "loss", "val_loss"))
  expect_equal(log$epoch, 0:2)
  expect_equal(log$loss, h$metrics$loss, tolerance = 1e-12)
  fit(model, d$x, d$y, epochs = 2, callbacks = list(callback_csv_logger(file, append = TRUE)), verbose = 0)
  expect_equal(nrow(read.csv(file)), 5)
})

test_that("lambda callbacks run at their events with 0-based indices", {
  d <- linear_data(n = 40)
  model <- linear_model()
  seen <- new.env()
  seen$events <- character()
  cb <- callback_lambda(
    on_train_begin = function(logs) seen$events <- c(seen$events, "train_begin"),
    on_epoch_begin = function(epoch, logs) seen$events <- c(seen$events, paste("epoch_begin", epoch)),
    on_train_batch_end = function(batch, logs) seen$events <- c(seen$events, paste("batch_end", batch)),
    on_epoch_end = function(epoch, logs) {
      seen$events <- c(seen$events, paste("epoch_end", epoch))
      seen$last_logs <- logs
    },
    on_train_end = function(logs) seen$events <- c(seen$events, "train_end")
  )
  h <- fit(model, d$x, d$y, epochs = 2, batch_size = 20, callbacks = list(cb), verbose = 0)
  expect_equal(seen$events, c(
    "train_begin", "epoch_begin 0", "batch_end 0", "batch_end 1", "epoch_end 0",
    "epoch_begin 1", "batch_end 0", "batch_end 1", "epoch_end 1", "train_end"
  ))
  expect_equal(seen$last_logs$loss, h$metrics$loss[2])
})

test_that("a callback stops training with model$stop_training", {
  d <- linear_data()
  model <- linear_model()
  stopper <- callback_lambda(on_epoch_end = function(epoch, logs) {
    if (epoch == 2) model$stop_training <- TRUE
  })
  h <- fit(model, d$x, d$y, epochs = 10, callbacks = list(stopper), verbose = 0)
  expect_length(h$metrics$loss, 3)
})

test_that("a callback can read but not change the model during fit", {
  d <- linear_data()
  model <- linear_model()
  kernels <- list()
  reader <- callback_lambda(on_epoch_end = function(epoch, logs) {
    kernels[[epoch + 1]] <<- get_weights(model)[[1]]
  })
  fit(model, d$x, d$y, epochs = 2, callbacks = list(reader), verbose = 0)
  expect_length(kernels, 2)
  expect_equal(kernels[[2]], get_weights(model)[[1]])
  writer <- callback_lambda(on_epoch_end = function(epoch, logs) set_weights(model, get_weights(model)))
  expect_error(fit(model, d$x, d$y, epochs = 1, callbacks = list(writer), verbose = 0),
    "a callback failed at epoch end: .*cannot change, fit, evaluate or predict", class = "kerust_error")
})

test_that("a failing callback stops training with its message", {
  d <- linear_data()
  model <- linear_model()
  boom <- callback_lambda(on_epoch_begin = function(epoch, logs) stop("boom"))
  expect_error(fit(model, d$x, d$y, epochs = 2, callbacks = list(boom), verbose = 0),
    "a callback failed at epoch begin: boom", class = "kerust_error")
  expect_s3_class(fit(model, d$x, d$y, epochs = 1, verbose = 0), "kerust_history")
})

test_that("NaN loss stops training and keeps the last finite weights", {
  x <- matrix(c(1, 1, 1e30, 1), 2, byrow = TRUE)
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  compile(model, optimizer = optimizer_sgd(0.01), loss = "mse")
  before <- get_weights(model)
  # Batch 1 (row 1) is finite; batch 2 (row 2) overflows the loss to Inf.
  expect_warning(
    h <- fit(model, x, c(0, 0), epochs = 3, batch_size = 1, shuffle = FALSE, verbose = 0),
    "the loss became Inf at epoch 1, batch 2",
    class = "kerust_warning"
  )
  # The epoch ends early and is recorded with the loss of its finite batch, as
  # keras records an epoch stopped by stop_training.
  expect_length(h$metrics$loss, 1)
  expect_true(is.finite(h$metrics$loss))
  w <- get_weights(model)
  expect_true(all(is.finite(unlist(w))))
  expect_false(identical(w, before))
  model2 <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  compile(model2, optimizer = optimizer_sgd(0.01), loss = "mse")
  expect_output(
    fit(model2, x, c(0, 0), epochs = 3, batch_size = 1, shuffle = FALSE, verbose = 0,
      callbacks = list(callback_terminate_on_nan())),
    "Batch 1: Invalid loss, terminating training"
  )
})

test_that("callback constructors reject bad arguments", {
  expect_error(callback_early_stopping(patience = -1), "`patience` must be a single integer >= 0, got -1", class = "kerust_error")
  expect_error(callback_early_stopping(mode = "up"), "`mode` must be \"auto\", \"min\" or \"max\"", class = "kerust_error")
  expect_error(callback_early_stopping(monitor = 3), "`monitor` must be a single non-empty string", class = "kerust_error")
  expect_error(callback_reduce_lr_on_plateau(factor = 1), "`factor` must be a single number in \\[0, 1\\)", class = "kerust_error")
  expect_error(callback_learning_rate_scheduler(0.1), "`schedule` must be a function", class = "kerust_error")
  expect_error(callback_lambda(on_epoch_end = 1), "`on_epoch_end` must be NULL or a function", class = "kerust_error")
  expect_error(callback_lambda(on_epoch_ending = identity), "Unknown argument of callback_lambda\\(\\): `on_epoch_ending`", class = "kerust_error")
  expect_error(callback_csv_logger(NA_character_), "`filename`", class = "kerust_error")
})

test_that("model_checkpoint saves each epoch and the best one", {
  d <- linear_data()
  model <- linear_model()
  dir <- tempfile("checkpoints")
  dir.create(dir)
  every <- callback_model_checkpoint(file.path(dir, "model-{epoch:02d}-{loss:.3f}.keras"), monitor = "loss")
  h <- fit(model, d$x, d$y, epochs = 3, batch_size = 16, callbacks = list(every), verbose = 0)
  expected <- sprintf("model-%02d-%.3f.keras", 1:3, h$metrics$loss)
  expect_setequal(list.files(dir), expected)
  # The last file holds the final weights.
  loaded <- load_model(file.path(dir, expected[3]))
  expect_identical(get_weights(loaded), get_weights(model))

  best_dir <- tempfile("best")
  dir.create(best_dir)
  best <- callback_model_checkpoint(file.path(best_dir, "best.weights.safetensors"), monitor = "val_loss",
    save_best_only = TRUE, save_weights_only = TRUE, verbose = 1)
  out <- capture.output(fit(model, d$x, d$y, epochs = 3, batch_size = 16,
    validation_data = list(d$x[1:20, ], rep(0, 20)), callbacks = list(best), verbose = 0))
  expect_true(file.exists(file.path(best_dir, "best.weights.safetensors")))
  expect_true(any(grepl("val_loss improved from Inf to", out)))
  expect_error(
    fit(model, d$x, d$y, epochs = 1, callbacks = list(callback_model_checkpoint(file.path(dir, "m-{acc}.keras"))), verbose = 0),
    "the checkpoint path uses \\{acc\\}, which is not in the logs", class = "kerust_error"
  )
})
