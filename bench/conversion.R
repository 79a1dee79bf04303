# Conversion of a 60000 x 784 double matrix to the engine (f32, row-major)
# and back to a new R matrix. Times the conversion into the engine alone
# and the round trip (median of 5 each); the way back is their difference.
# Run from the repository root: Rscript bench/conversion.R [threads]
suppressPackageStartupMessages(library(kerust))

args <- commandArgs(trailingOnly = TRUE)
threads <- if (length(args)) as.integer(args[1]) else 2L
kerust_threads(threads)
set.seed(1)
x <- matrix(stats::runif(60000 * 784), 60000, 784)
invisible(kerust:::rs_roundtrip(x[1:10, ], "x"))
round_trip <- vapply(1:5, function(i) system.time(kerust:::rs_roundtrip(x, "x"))[["elapsed"]], 0)
y <- kerust:::rs_roundtrip(x, "x")
to_engine <- vapply(1:5, function(i) system.time(kerust:::rs_to_engine_only(x))[["elapsed"]], 0)
stopifnot(identical(dim(y), dim(x)), max(abs(y - x)) < 1e-6)
cat(sprintf(
  "peer=kerust workload=conversion threads=%d to_engine_s_median=%.3f from_engine_s_median=%.3f round_trip_s_median=%.3f\n",
  threads, stats::median(to_engine), stats::median(round_trip) - stats::median(to_engine), stats::median(round_trip)
))
