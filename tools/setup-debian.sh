#!/usr/bin/env bash
# Installs what kerust needs on Debian or Ubuntu when it is missing: R,
# the R packages the tests use, and the Fashion-MNIST data. Run as root, or
# it prints the command to run. The Rust toolchain (cargo, rustc >= 1.85)
# must already be installed, for example with rustup.
set -euo pipefail

PACKAGES="r-base-dev r-cran-testthat r-cran-generics r-cran-ggplot2 r-cran-mlbench r-cran-knitr r-cran-rmarkdown pandoc dataset-fashion-mnist"

missing=""
for pkg in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $pkg"
  fi
done

if [ -n "$missing" ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "kerust setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
  else
    echo "kerust setup: these Debian packages are missing:$missing"
    echo "Install them with:"
    echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends$missing"
    exit 1
  fi
fi

PATH="$PATH:$HOME/.cargo/bin"
if ! command -v cargo >/dev/null 2>&1; then
  echo "kerust setup: cargo was not found. Install Rust with rustup (https://rustup.rs):"
  echo "  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh"
  exit 1
fi
