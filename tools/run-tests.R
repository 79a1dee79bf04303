# Runs the testthat suite against the installed kerust and prints the
# totals as "N passed, N failed"; exits with status 1 on any failure.
library(testthat)

# Run the tests that CRAN would skip (reading the full Fashion-MNIST data).
Sys.setenv(NOT_CRAN = "true")

result <- test_dir(
  "tests/testthat",
  package = "kerust",
  load_package = "installed",
  reporter = ProgressReporter$new(show_praise = FALSE),
  stop_on_failure = FALSE
)
df <- as.data.frame(result)
failed <- sum(df$failed) + sum(df$error)
passed <- sum(df$nb) - sum(df$failed) - sum(df$skipped) - sum(df$warning)
skipped <- sum(df$skipped)
cat(sprintf("%d passed, %d failed\n", passed, failed))
cat(sprintf("(%d skipped, %d warnings)\n", skipped, sum(df$warning)))
quit(status = if (failed > 0) 1 else 0)
