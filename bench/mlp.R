# MLP epoch time on Fashion-MNIST: Dense(256, relu) - Dense(128, relu) -
# Dense(10, softmax), Adam, batch 128, the 60000 training images. One fit()
# of 4 epochs; the first is the warm-up, the result is the median of the
# other 3 (each epoch's wall time is recorded by the engine). Then the
# process's peak memory.
# Run from the repository root: Rscript bench/mlp.R [threads]
suppressPackageStartupMessages(library(kerust))
source("bench/common.R")

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args)) as.integer(args[1]) else 2L
kerust_threads(threads)
set.seed(1)
d <- load_fashion()
model <- mlp_model()
compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
history <- fit(model, d$x_train, d$y_train, epochs = 4, batch_size = 128, verbose = 0)
times <- attr(history, "epoch_seconds")
acc <- evaluate(model, d$x_test, d$y_test, verbose = 0)$accuracy
cat(sprintf(
  "peer=kerust workload=mlp threads=%d epoch_s_median=%.3f epoch_s=%s warmup_s=%.3f test_accuracy=%.4f peak_rss_mb=%.0f\n",
  threads, stats::median(times[-1]), paste(sprintf("%.3f", times[-1]), collapse = ","), times[1], acc, peak_rss_mb()
))
