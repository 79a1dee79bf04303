# Latency of predict() for one Fashion-MNIST sample with the MLP, from R:
# median of 1000 calls after 50 warm-up calls (untrained weights, as in the
# peer scripts).
# Run from the repository root: Rscript bench/latency.R [threads]
suppressPackageStartupMessages(library(kerust))
source("bench/common.R")

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args)) as.integer(args[1]) else 2L
kerust_threads(threads)
set.seed(1)
model <- mlp_model()
x <- matrix(stats::runif(784), 1, 784)
for (i in 1:50) predict(model, x)
times <- vapply(1:1000, function(i) {
  start <- proc.time()[["elapsed"]]
  t0 <- Sys.time()
  predict(model, x)
  as.numeric(Sys.time() - t0, units = "secs")
}, 0)
cat(sprintf(
  "peer=kerust workload=latency threads=%d predict_ms_median=%.4f predict_ms_p90=%.4f\n",
  threads, stats::median(times) * 1e3, stats::quantile(times, 0.9) * 1e3
))
