#!/usr/bin/env bash
# The test command on a fresh Debian/Ubuntu machine with a Rust toolchain:
# installs R and the test dependencies when missing, builds and installs
# kerust (release profile), runs the engine's cargo tests, then the
# testthat suite against the installed package.
set -euo pipefail
cd "$(dirname "$0")/.."
PATH="$PATH:$HOME/.cargo/bin"

bash tools/setup-debian.sh
R CMD INSTALL --no-test-load .
(cd src/rust && cargo test --locked --workspace)
Rscript tools/run-tests.R
# The vignettes must build (they train small models on real data).
Rscript -e 'for (f in list.files("vignettes", "[.]Rmd$", full.names = TRUE)) rmarkdown::render(f, output_dir = tempdir(), quiet = TRUE)'
