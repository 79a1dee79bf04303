#!/usr/bin/env bash
# Runs every kerust benchmark and its Keras 3 and PyTorch peers in one go,
# with 2 threads, and prints the ratios kerust / fastest peer.
# Needs kerust installed, the Fashion-MNIST data, and the peers' virtual
# environment (see bench/peers/README.md); PYTHON selects its interpreter.
# Run from the repository root: bash bench/run-all.sh > bench-results.txt
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-/work/venv/bin/python}"
out=$(mktemp)

run() {
  echo "# $*" >&2
  "$@" 2>/dev/null | grep '^peer=' | tee -a "$out"
}

run Rscript bench/conversion.R 2
run Rscript bench/mlp.R 2
run Rscript bench/mlp.R 1
run "$PYTHON" bench/peers/mlp_torch.py
run "$PYTHON" bench/peers/mlp_keras.py
run Rscript bench/cnn.R 2
run "$PYTHON" bench/peers/cnn_torch.py
run "$PYTHON" bench/peers/cnn_keras.py
run Rscript bench/iris.R 2
run "$PYTHON" bench/peers/iris_torch.py
run "$PYTHON" bench/peers/iris_keras.py
run Rscript bench/latency.R 2
run "$PYTHON" bench/peers/latency_torch.py
run "$PYTHON" bench/peers/latency_keras.py

Rscript - "$out" <<'RSCRIPT'
lines <- readLines(commandArgs(trailingOnly = TRUE)[1])
parse <- function(line) {
  pairs <- strsplit(strsplit(line, " ")[[1]], "=")
  stats::setNames(vapply(pairs, `[`, "", 2), vapply(pairs, `[`, "", 1))
}
rows <- lapply(lines, parse)
pick <- function(peer, workload, field, extra = NULL) {
  for (r in rows) {
    if (identical(r[["peer"]], peer) && identical(r[["workload"]], workload) &&
      (is.null(extra) || identical(r[[names(extra)]], extra[[1]])) && field %in% names(r)) {
      return(as.numeric(r[[field]]))
    }
  }
  NA_real_
}
mlp <- pick("kerust", "mlp", "epoch_s_median", c(threads = "2"))
torch_mlp <- pick("torch", "mlp", "epoch_s_median")
keras_mlp <- pick("keras", "mlp", "epoch_s_median")
cat(sprintf("MLP epoch: kerust %.3f s, torch %.3f s, keras %.3f s; kerust / torch = %.2f\n",
  mlp, torch_mlp, keras_mlp, mlp / torch_mlp))
cat(sprintf("MLP peak memory: kerust %.0f MB, torch %.0f MB, keras %.0f MB; kerust / torch = %.2f\n",
  pick("kerust", "mlp", "peak_rss_mb", c(threads = "2")), pick("torch", "mlp", "peak_rss_mb"),
  pick("keras", "mlp", "peak_rss_mb"),
  pick("kerust", "mlp", "peak_rss_mb", c(threads = "2")) / pick("torch", "mlp", "peak_rss_mb")))
cnn <- pick("kerust", "cnn", "epoch_s_median", c(threads = "2"))
cnn_torch <- pick("torch", "cnn", "epoch_s_median")
cnn_keras <- pick("keras", "cnn", "epoch_s_median")
cat(sprintf("CNN epoch: kerust %.3f s (%.0f GFLOP/s), torch %.3f s, keras %.3f s; kerust / fastest peer = %.2f\n",
  cnn, pick("kerust", "cnn", "gflops", c(threads = "2")), cnn_torch, cnn_keras, cnn / min(cnn_torch, cnn_keras)))
iris <- pick("kerust", "iris", "total_s")
cat(sprintf("iris 2000 steps: kerust %.3f s, torch %.3f s, keras %.3f s; kerust / torch = %.3f\n",
  iris, pick("torch", "iris", "total_s"), pick("keras", "iris", "total_s"), iris / pick("torch", "iris", "total_s")))
cat(sprintf("predict latency: kerust %.4f ms, torch forward %.4f ms\n",
  pick("kerust", "latency", "predict_ms_median"), pick("torch", "latency", "median_ms")))
RSCRIPT
rm -f "$out"
