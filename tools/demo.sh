#!/usr/bin/env bash
# The main job on a fresh Debian/Ubuntu machine with a Rust toolchain:
# installs R and the data when missing, builds and installs kerust, then
# trains the Fashion-MNIST MLP and prints the test loss and accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/setup-debian.sh
R CMD INSTALL --no-test-load .
Rscript inst/examples/fashion_mnist_mlp.R
