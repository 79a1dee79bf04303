# Per-step overhead: a 4-16-3 network on iris (standardised features),
# batch 16, 200 epochs (10 steps each, 2000 steps), Adam. One unmeasured
# epoch first, as in the peer scripts; then the wall time of one fit() of
# 200 epochs.
# Run from the repository root: Rscript bench/iris.R [threads]
suppressPackageStartupMessages(library(kerust))
source("bench/common.R")

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args)) as.integer(args[1]) else 2L
kerust_threads(threads)
iris_csv <- utils::read.csv("bench/data/iris.csv")
x <- scale(as.matrix(iris_csv[, 1:4]))
y <- as.integer(factor(iris_csv$Species)) - 1L
set.seed(1)
model <- keras_model_sequential(input_shape = 4) |>
  layer_dense(16, activation = "relu") |>
  layer_dense(3, activation = "softmax")
compile(model, optimizer = "adam", loss = "sparse_categorical_crossentropy")
fit(model, x, y, epochs = 1, batch_size = 16, verbose = 0)
elapsed <- system.time(fit(model, x, y, epochs = 200, batch_size = 16, verbose = 0))[["elapsed"]]
cat(sprintf(
  "peer=kerust workload=iris threads=%d total_s=%.3f us_per_step=%.1f peak_rss_mb=%.0f\n",
  threads, elapsed, elapsed / 2000 * 1e6, peak_rss_mb()
))
