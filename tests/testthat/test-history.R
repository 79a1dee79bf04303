make_history <- function(epoch_count = 3, planned_epochs = epoch_count) {
  epochs <- seq_len(epoch_count)
  new_history(
    epochs = epochs,
    metrics = list(
      loss = 1 / (epochs + 1),
      accuracy = 1 - 1 / (epochs + 2),
      val_loss = 1.2 / (epochs + 1),
      val_accuracy = 1 - 1.5 / (epochs + 2)
    ),
    params = list(epochs = planned_epochs, steps = 10, verbose = 0, batch_size = 32)
  )
}

# Draws to a temporary PNG device and closes it afterwards.
draw_to_png <- function(code) {
  file <- tempfile(fileext = ".png")
  grDevices::png(file)
  on.exit({
    grDevices::dev.off()
    unlink(file)
  })
  force(code)
}

# new_history() --------------------------------------------------------------

test_that("new_history builds the object", {
  history <- make_history()
  expect_s3_class(history, c("kerust_history", "keras_training_history"), exact = TRUE)
  expect_named(history, c("params", "metrics", "epoch"))
  expect_identical(history$epoch, 1:3)
  expect_identical(history$metrics$loss, c(1 / 2, 1 / 3, 1 / 4))
  expect_identical(history$params$batch_size, 32)
})

test_that("new_history rejects invalid input", {
  params <- list(epochs = 2, steps = 1, verbose = 0, batch_size = 32)
  expect_error(
    new_history(c(0, 1), list(loss = c(1, 2)), params),
    class = "kerust_error", regexp = "`epochs` must be a vector of whole numbers >= 1, got a double vector of length 2"
  )
  expect_error(new_history(c(1, NA), list(loss = c(1, 2)), params), class = "kerust_error", regexp = "`epochs` must be")
  expect_error(
    new_history(1:2, c(loss = 1, accuracy = 2), params),
    class = "kerust_error", regexp = "`metrics` must be a named list of numeric vectors, got a double vector"
  )
  expect_error(new_history(1:2, list(c(1, 2)), params), class = "kerust_error", regexp = "`metrics` must be a named list")
  expect_error(
    new_history(1:2, list(loss = c(1, 2), loss = c(3, 4)), params),
    class = "kerust_error", regexp = "unique, non-empty names, got names \"loss\", \"loss\""
  )
  expect_error(
    new_history(1:2, list(loss = c("a", "b")), params),
    class = "kerust_error", regexp = "`metrics\\$loss` must be a numeric vector, got a character vector"
  )
  expect_error(
    new_history(1:2, list(loss = c(1, 2), val_loss = 1), params),
    class = "kerust_error", regexp = "`metrics\\$val_loss` must have one value per epoch \\(2\\), got 1 values"
  )
  expect_error(new_history(1:2, list(loss = c(1, 2)), "fast"), class = "kerust_error", regexp = "`params` must be a list, got \"fast\"")
})

# print() ------------------------------------------------------------------

test_that("print shows the final value of each metric", {
  history <- new_history(
    epochs = 1:3,
    metrics = list(
      loss = c(0.9, 0.5, 0.29812),
      accuracy = c(0.5, 0.8, 0.89123),
      val_loss = c(1, 0.6, 0.3),
      val_accuracy = c(0.4, 0.7, 0.85)
    ),
    params = list(epochs = 3, steps = 10, verbose = 0, batch_size = 32)
  )
  # Names are right-aligned to the longest, "val_accuracy" (12 characters),
  # and values have 4 significant digits.
  expected <- c(
    "Trained for 3 epochs (10 steps per epoch, batch size 32).",
    "Final epoch (plot to see history):",
    "        loss: 0.2981",
    "    accuracy: 0.8912",
    "    val_loss: 0.3",
    "val_accuracy: 0.85"
  )
  expect_identical(capture.output(print(history)), expected)
  expect_output(expect_invisible(print(history)), "Final epoch")
  capture.output(returned <- print(history))
  expect_identical(returned, history)
})

test_that("print shows an early stop", {
  history <- make_history(epoch_count = 4, planned_epochs = 10)
  expect_output(print(history), "Trained for 4 of 10 epochs \\(10 steps per epoch, batch size 32\\)\\.")
})

test_that("print shows resumed training", {
  # keras counts params$epochs as the last epoch, so epochs 6:10 are complete.
  params <- list(epochs = 10, steps = 5, verbose = 0, batch_size = 16)
  resumed <- new_history(6:10, list(loss = c(0.5, 0.4, 0.3, 0.2, 0.1)), params)
  expect_output(print(resumed), "Trained for epochs 6 to 10 \\(5 steps per epoch, batch size 16\\)\\.")

  resumed_early_stop <- new_history(6:8, list(loss = c(0.5, 0.4, 0.3)), params)
  expect_output(print(resumed_early_stop), "Trained for epochs 6 to 8 of 10 \\(")
})

test_that("print handles missing params and no epochs", {
  history <- new_history(1L, list(loss = 0.5), list())
  expect_output(print(history), "^Trained for 1 epoch\\.\nFinal epoch")

  empty <- new_history(integer(0), list(), list(epochs = 5))
  expect_output(print(empty), "Trained for 0 of 5 epochs\\.\nNo metrics recorded\\.")
})

# as.data.frame() ----------------------------------------------------------

test_that("as.data.frame returns long format", {
  history <- make_history()
  df <- as.data.frame(history)
  expect_named(df, c("epoch", "value", "metric", "data"))
  # 4 metrics x 3 epochs.
  expect_identical(nrow(df), 12L)
  expect_identical(df$epoch, rep(1:3, 4))
  expect_identical(levels(df$metric), c("loss", "accuracy"))
  expect_identical(levels(df$data), c("training", "validation"))
  expect_identical(as.character(df$metric), rep(c("loss", "accuracy", "loss", "accuracy"), each = 3))
  expect_identical(as.character(df$data), rep(c("training", "validation"), each = 6))

  # val_loss at epoch 2 is 1.2 / 3 = 0.4.
  row <- df[df$metric == "loss" & df$data == "validation" & df$epoch == 2, ]
  expect_equal(row$value, 0.4)
})

test_that("as.data.frame keeps NA values", {
  history <- new_history(1:2, list(loss = c(0.5, 0.4), val_loss = c(NA, 0.45)), list())
  df <- as.data.frame(history)
  expect_identical(df$value, c(0.5, 0.4, NA, 0.45))
})

# plot() -------------------------------------------------------------------

test_that("plot draws with base graphics", {
  history <- make_history()
  draw_to_png(expect_invisible(plot(history, method = "base")))
  draw_to_png(expect_identical(plot(history, method = "base"), history))
  draw_to_png(expect_invisible(plot(history, metrics = "loss", method = "base")))
})

test_that("plot smooths long histories with base graphics", {
  history <- make_history(epoch_count = 12)
  draw_to_png(expect_invisible(plot(history, method = "base", smooth = TRUE)))
  draw_to_png(expect_invisible(plot(history, method = "base", smooth = FALSE)))
})

test_that("plot handles missing validation values with base graphics", {
  history <- new_history(1:3, list(loss = c(0.5, 0.4, 0.3), val_loss = c(NA, 0.45, NA)), list())
  draw_to_png(expect_invisible(plot(history, method = "base")))
  training_only <- new_history(1:3, list(loss = c(0.5, 0.4, 0.3)), list())
  draw_to_png(expect_invisible(plot(training_only, method = "base")))
  all_na <- new_history(1:2, list(loss = c(0.5, 0.4), accuracy = c(NA, NA)), list())
  draw_to_png(expect_invisible(plot(all_na, method = "base")))
})

test_that("plot passes ... to base plot()", {
  history <- make_history()
  draw_to_png(expect_invisible(plot(history, method = "base", ylab = "value", main = "run 1", log = "y")))
})

test_that("plot restores par settings", {
  history <- make_history()
  draw_to_png({
    before <- graphics::par("mfrow")
    plot(history, method = "base")
    expect_identical(graphics::par("mfrow"), before)
  })
})

test_that("plot returns a ggplot with ggplot2", {
  skip_if_not_installed("ggplot2")
  history <- make_history(epoch_count = 12)
  p <- plot(history, method = "ggplot2")
  expect_s3_class(p, "ggplot")
  expect_identical(nrow(p$data), 48L)
  draw_to_png(expect_no_error(print(p)))

  expect_s3_class(plot(history), "ggplot")
  p_lines <- plot(history, method = "ggplot2", smooth = FALSE, theme_bw = TRUE, metrics = "accuracy")
  expect_identical(levels(p_lines$data$metric), "accuracy")
  draw_to_png(expect_no_error(print(p_lines)))

  all_na <- new_history(1:2, list(loss = c(0.5, 0.4), accuracy = c(NA, NA)), list())
  draw_to_png(expect_no_error(print(plot(all_na, method = "ggplot2"))))
})

test_that("plot falls back to base graphics without ggplot2", {
  skip_if(requireNamespace("ggplot2", quietly = TRUE), "ggplot2 is installed")
  history <- make_history()
  draw_to_png(expect_invisible(plot(history)))
  expect_error(
    plot(history, method = "ggplot2"),
    class = "kerust_error", regexp = "needs the ggplot2 package. Install it with install.packages"
  )
})

test_that("plot rejects invalid arguments", {
  history <- make_history()
  expect_error(
    plot(history, method = "lattice"),
    class = "kerust_error", regexp = "`method` must be \"auto\", \"ggplot2\" or \"base\", got \"lattice\""
  )
  expect_error(
    plot(history, metrics = "val_loss", method = "base"),
    class = "kerust_error", regexp = "`metrics` must be names of recorded metrics \\(\"loss\", \"accuracy\"\\), got \"val_loss\""
  )
  expect_error(plot(history, smooth = "yes"), class = "kerust_error", regexp = "`smooth` must be TRUE or FALSE")
  expect_error(plot(history, theme_bw = NA), class = "kerust_error", regexp = "`theme_bw` must be TRUE or FALSE")
  empty <- new_history(integer(0), list(), list())
  expect_error(plot(empty, method = "base"), class = "kerust_error", regexp = "`x` has no metrics to plot")
})
