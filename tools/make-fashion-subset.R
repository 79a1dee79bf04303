# Writes the Fashion-MNIST subset shipped in inst/extdata/fashion-mnist/:
# the first 2000 training and the first 500 test images with their labels,
# as gzipped IDX files with the standard names. dataset_fashion_mnist()
# falls back to this subset when the full data is not installed.
#
# Rerun it from the package root, on a machine with Debian's package
# `dataset-fashion-mnist` (it installs the full data in
# /usr/share/datasets/fashion-mnist):
#
#   apt-get install dataset-fashion-mnist
#   Rscript tools/make-fashion-subset.R
#
# The output is the same on every run, because the subset is the first
# images in file order and zlib's gzip header stores no time stamp.

source("R/errors.R")
source("R/datasets.R")

source_dir <- "/usr/share/datasets/fashion-mnist"
output_dir <- "inst/extdata/fashion-mnist"
train_count <- 2000
test_count <- 500

# Writes an integer vector (labels) or an n x rows x cols integer array
# (images) with values 0 to 255 as a gzipped IDX file of unsigned bytes.
write_idx_gz <- function(x, file) {
  dims <- if (is.null(dim(x))) length(x) else dim(x)
  # IDX stores the data row-major, so the last index has to vary fastest.
  values <- if (length(dims) == 1) x else aperm(x, rev(seq_along(dims)))

  con <- gzfile(file, open = "wb", compression = 9)
  on.exit(close(con))
  writeBin(as.raw(c(0, 0, 8, length(dims))), con)
  writeBin(as.integer(dims), con, size = 4, endian = "big")
  writeBin(as.raw(values), con)
}

files <- find_idx_files(source_dir)
if (anyNA(files)) {
  stop(
    "Fashion-MNIST files not found in ", source_dir, ": ",
    paste(idx_file_names[is.na(files)], collapse = ", "),
    ". Install them with `apt-get install dataset-fashion-mnist`."
  )
}
full <- read_idx_dataset(files, call = NULL)

dir.create(output_dir, recursive = TRUE, showWarnings = FALSE)
subset <- list(
  train_images = full$train$x[seq_len(train_count), , , drop = FALSE],
  train_labels = full$train$y[seq_len(train_count)],
  test_images = full$test$x[seq_len(test_count), , , drop = FALSE],
  test_labels = full$test$y[seq_len(test_count)]
)
for (name in names(subset)) {
  write_idx_gz(subset[[name]], file.path(output_dir, paste0(idx_file_names[[name]], ".gz")))
}

# Read the subset back and compare it with the full data it was cut from.
written <- read_idx_dataset(find_idx_files(output_dir), call = NULL)
stopifnot(
  identical(written$train$x, subset$train_images),
  identical(written$train$y, subset$train_labels),
  identical(written$test$x, subset$test_images),
  identical(written$test$y, subset$test_labels)
)

sizes <- file.size(list.files(output_dir, pattern = "\\.gz$", full.names = TRUE))
cat(sprintf(
  "Wrote %d training and %d test images to %s (%.2f MB in total).\n",
  train_count, test_count, output_dir, sum(sizes) / 1e6
))
