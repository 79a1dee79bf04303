# CNN epoch time on Fashion-MNIST: Conv2D(32, 3x3, relu) - MaxPooling2D(2) -
# Conv2D(64, 3x3, relu) - MaxPooling2D(2) - Flatten - Dropout(0.5) -
# Dense(10, softmax), Adam, batch 128, the 60000 training images scaled to
# [0, 1]. One fit() of 4 epochs; the first is the warm-up and the result is
# the median of the other 3 (each epoch's wall time is recorded by the
# engine). Then the test accuracy, the achieved GFLOP/s and the process's
# peak memory.
# Run from the repository root: Rscript bench/cnn.R [threads]
suppressPackageStartupMessages(library(kerust))
source("bench/common.R")

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args)) as.integer(args[1]) else 2L
kerust_threads(threads)

# Floating-point operations of one training sample: forward, input gradient
# and weight gradient of each layer (2 per multiply-add), less the input
# gradient of the first convolution, which no layer needs. The same count is
# in bench/peers/cnn_keras.py and cnn_torch.py.
forward_macs <- 26 * 26 * 9 * 32 + 11 * 11 * 288 * 64 + 1600 * 10
train_flop_per_sample <- 2 * (3 * forward_macs - 26 * 26 * 9 * 32)

fm <- dataset_fashion_mnist()
x_train <- array_reshape(fm$train$x, c(dim(fm$train$x), 1)) / 255
y_train <- fm$train$y
x_test <- array_reshape(fm$test$x, c(dim(fm$test$x), 1)) / 255
y_test <- fm$test$y
rm(fm)
invisible(gc())

set.seed(1)
model <- keras_model_sequential(input_shape = c(28, 28, 1)) |>
  layer_conv_2d(32, c(3, 3), activation = "relu") |>
  layer_max_pooling_2d(c(2, 2)) |>
  layer_conv_2d(64, c(3, 3), activation = "relu") |>
  layer_max_pooling_2d(c(2, 2)) |>
  layer_flatten() |>
  layer_dropout(0.5) |>
  layer_dense(10, activation = "softmax")
compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
history <- fit(model, x_train, y_train, epochs = 4, batch_size = 128, verbose = 0)
times <- attr(history, "epoch_seconds")
median_s <- stats::median(times[-1])
acc <- evaluate(model, x_test, y_test, batch_size = 512, verbose = 0)[["accuracy"]]
cat(sprintf(
  "peer=kerust workload=cnn threads=%d epoch_s_median=%.3f epoch_s=%s warmup_s=%.3f gflops=%.1f final_loss=%.4f test_accuracy=%.4f peak_rss_mb=%.0f\n",
  threads, median_s, paste(sprintf("%.3f", times[-1]), collapse = ","), times[1],
  train_flop_per_sample * nrow(x_train) / median_s / 1e9,
  history$metrics$loss[length(history$metrics$loss)], acc, peak_rss_mb()
))
