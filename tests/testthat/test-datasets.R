# Writes an IDX file byte by byte, without kerust's reader: the 4-byte magic
# number (0, 0, type code, number of dimensions), each size as a big-endian
# 32-bit integer, then `data` as unsigned bytes.
write_idx_bytes <- function(file, dims, data, type_code = 8, gzip = FALSE) {
  sizes <- unlist(lapply(dims, function(size) {
    c(size %/% 2^24, (size %/% 2^16) %% 256, (size %/% 2^8) %% 256, size %% 256)
  }))
  bytes <- as.raw(c(0, 0, type_code, length(dims), sizes, data))
  con <- if (gzip) gzfile(file, "wb") else file(file, "wb")
  writeBin(bytes, con)
  close(con)
  invisible(file)
}

# Writes a small valid data set in the standard file names: two training
# images of 2 x 3 pixels, stored row by row as 1, 2, 3 / 4, 5, 6 and
# 7, 8, 9 / 10, 11, 12, with labels 4 and 7, and one test image with rows
# 0, 255, 0 / 128, 0, 64 and label 9. Training files are gzipped.
write_small_dataset <- function(dir) {
  dir.create(dir, showWarnings = FALSE)
  write_idx_bytes(file.path(dir, "train-images-idx3-ubyte.gz"), c(2, 2, 3), 1:12, gzip = TRUE)
  write_idx_bytes(file.path(dir, "train-labels-idx1-ubyte.gz"), 2, c(4, 7), gzip = TRUE)
  write_idx_bytes(file.path(dir, "t10k-images-idx3-ubyte"), c(1, 2, 3), c(0, 255, 0, 128, 0, 64))
  write_idx_bytes(file.path(dir, "t10k-labels-idx1-ubyte"), 1, 9)
  invisible(dir)
}

expect_small_dataset <- function(data) {
  expect_named(data, c("train", "test"))
  expect_named(data$train, c("x", "y"))
  expect_identical(data$train$x[1, 1, ], 1:3)
  expect_identical(data$train$x[1, 2, ], 4:6)
  expect_identical(data$train$x[2, 1, ], 7:9)
  expect_identical(data$train$x[2, 2, ], 10:12)
  expect_identical(data$train$y, c(4L, 7L))
  expect_identical(dim(data$test$x), c(1L, 2L, 3L))
  expect_identical(data$test$x[1, , ], rbind(c(0L, 255L, 0L), c(128L, 0L, 64L)))
  expect_identical(data$test$y, 9L)
}

new_temp_dir <- function() {
  dir <- tempfile("idx-")
  dir.create(dir)
  dir
}

# read_idx() ---------------------------------------------------------------

test_that("read_idx reads images row-major", {
  file <- tempfile(fileext = ".idx")
  write_idx_bytes(file, c(2, 2, 3), 1:12)
  images <- read_idx(file)
  expect_type(images, "integer")
  expect_identical(dim(images), c(2L, 2L, 3L))
  # Bytes 1:12 fill image 1 row 1, image 1 row 2, image 2 row 1, row 2.
  expect_identical(images[1, , ], rbind(1:3, 4:6))
  expect_identical(images[2, , ], rbind(7:9, 10:12))
})

test_that("read_idx reads gzipped labels", {
  file <- tempfile(fileext = ".gz")
  write_idx_bytes(file, 4, c(0, 9, 255, 3), gzip = TRUE)
  expect_identical(read_idx(file), c(0L, 9L, 255L, 3L))
})

test_that("read_idx rejects a wrong magic number", {
  file <- tempfile()
  write_idx_bytes(file, 2, c(1, 2), type_code = 9)
  expect_error(
    read_idx(file), class = "kerust_error",
    regexp = "Invalid IDX file .*: its magic number is 0x00000901, expected 0x00000801"
  )

  text_file <- tempfile()
  writeLines("not an IDX file", text_file)
  expect_error(read_idx(text_file), class = "kerust_error", regexp = "magic number is 0x6E6F7420")
})

test_that("read_idx rejects truncated files", {
  file <- tempfile()
  write_idx_bytes(file, c(2, 2, 3), 1:12)
  bytes <- readBin(file, "raw", n = 100)

  # 4 bytes of magic number + 12 of sizes + 12 of data = 28 bytes. Cutting
  # the last byte leaves 11 data bytes.
  writeBin(bytes[1:27], file)
  expect_error(read_idx(file), class = "kerust_error", regexp = "it ends after 11 of the 12 bytes of the data")

  # Cutting inside the sizes leaves 6 of their 12 bytes.
  writeBin(bytes[1:10], file)
  expect_error(read_idx(file), class = "kerust_error", regexp = "ends after 6 of the 12 bytes of the dimension sizes")

  writeBin(bytes[1:2], file)
  expect_error(read_idx(file), class = "kerust_error", regexp = "ends after 2 of the 4 bytes of the magic number")

  writeBin(raw(0), file)
  expect_error(read_idx(file), class = "kerust_error", regexp = "ends after 0 of the 4 bytes")
})

test_that("read_idx rejects extra bytes", {
  file <- tempfile()
  write_idx_bytes(file, 2, c(1, 2, 3))
  expect_error(read_idx(file), class = "kerust_error", regexp = "more than the 2 data bytes that its header \\(2\\) gives")
})

# Returns `n` bytes from the Park-Miller generator, so that the test data
# hardly compresses but is the same on every run.
pseudo_random_bytes <- function(n) {
  state <- 42
  bytes <- integer(n)
  for (i in seq_len(n)) {
    state <- (16807 * state) %% 2147483647
    bytes[[i]] <- (state %/% 256) %% 256
  }
  bytes
}

test_that("read_idx rejects corrupt gzip data", {
  # Pseudo-random pixels hardly compress, so the gzip stream is about as
  # long as the 10 x 28 x 28 = 7840 data bytes.
  file <- tempfile(fileext = ".gz")
  write_idx_bytes(file, c(10, 28, 28), pseudo_random_bytes(7840), gzip = TRUE)
  gz_bytes <- readBin(file, "raw", n = 1e5)
  expect_gt(length(gz_bytes), 7000)

  truncated <- file.path(tempdir(), "truncated.gz")
  writeBin(gz_bytes[seq_len(length(gz_bytes) %/% 2)], truncated)
  expect_error(
    read_idx(truncated), class = "kerust_error",
    regexp = "truncated.gz: it ends after [0-9]+ of the 7840 bytes of the data. The file is truncated, or its gzip data is corrupt"
  )

  # Overwriting 500 bytes in the middle of the stream breaks the deflate
  # data or its checksum. R either warns or returns a short read.
  garbled <- tempfile("garbled", fileext = ".gz")
  middle <- length(gz_bytes) %/% 2
  writeBin(c(gz_bytes[1:middle], as.raw(rep(7, 500)), gz_bytes[-(1:(middle + 500))]), garbled)
  expect_error(
    read_idx(garbled), class = "kerust_error",
    regexp = "IDX file .*garbled.*\\.gz.*(invalid or incomplete compressed data|its gzip data is corrupt)"
  )
})

test_that("read_idx rejects a wrong gzip checksum", {
  file <- tempfile(fileext = ".gz")
  write_idx_bytes(file, 5, 1:5, gzip = TRUE)
  gz_bytes <- readBin(file, "raw", n = 1000)
  # A gzip stream ends with the CRC-32 of the data (4 bytes) and its length
  # (4 bytes), so byte length - 6 is inside the CRC-32.
  position <- length(gz_bytes) - 6
  gz_bytes[[position]] <- xor(gz_bytes[[position]], as.raw(255))
  writeBin(gz_bytes, file)
  expect_error(read_idx(file), class = "kerust_error", regexp = "invalid or incomplete compressed data. The file is truncated or corrupt")
})

test_that("read_idx reports a missing file", {
  missing_file <- file.path(tempdir(), "no-such-file-idx3-ubyte")
  expect_error(read_idx(missing_file), class = "kerust_error", regexp = "IDX file not found: .*no-such-file-idx3-ubyte")
})

# dataset_mnist() and dataset_fashion_mnist() with `path` ------------------

test_that("dataset_mnist reads files from path", {
  dir <- write_small_dataset(new_temp_dir())
  expect_small_dataset(dataset_mnist(dir))
})

test_that("dataset_fashion_mnist reads files from path", {
  dir <- write_small_dataset(new_temp_dir())
  expect_silent(data <- dataset_fashion_mnist(dir))
  expect_small_dataset(data)
})

test_that("dataset_mnist requires path", {
  expect_error(dataset_mnist(), class = "kerust_error", regexp = "`path` is required")
  expect_error(dataset_mnist(), class = "kerust_error", regexp = "train-images-idx3-ubyte, train-labels-idx1-ubyte")
  expect_error(dataset_mnist(), class = "kerust_error", regexp = "https://yann.lecun.com/exdb/mnist/")
  expect_error(dataset_mnist(), class = "kerust_error", regexp = "any mirror")
})

test_that("dataset loaders name missing files", {
  dir <- write_small_dataset(new_temp_dir())
  file.remove(file.path(dir, "t10k-labels-idx1-ubyte"))
  expect_error(
    dataset_mnist(dir), class = "kerust_error",
    regexp = "MNIST files not found in .*: t10k-labels-idx1-ubyte \\(each may be gzipped"
  )
  expect_error(
    dataset_fashion_mnist(dir), class = "kerust_error",
    regexp = "Fashion-MNIST files not found in .*: t10k-labels-idx1-ubyte.*apt-get install dataset-fashion-mnist"
  )
})

test_that("dataset loaders reject an invalid path", {
  missing_dir <- file.path(tempdir(), "no-such-folder")
  expect_error(
    dataset_mnist(missing_dir),
    class = "kerust_error", regexp = "`path` must be an existing folder, got .*no-such-folder\", which is not found"
  )
  plain_file <- tempfile()
  writeLines("x", plain_file)
  expect_error(dataset_mnist(plain_file), class = "kerust_error", regexp = "must be an existing folder, got .*, which is a file")
  expect_error(dataset_fashion_mnist(42), class = "kerust_error", regexp = "`path` must be a single non-empty string, got 42")
  expect_error(dataset_mnist(c("a", "b")), class = "kerust_error", regexp = "`path` must be a single non-empty string")
})

test_that("dataset loaders reject mismatched files", {
  dir <- write_small_dataset(new_temp_dir())
  write_idx_bytes(file.path(dir, "train-labels-idx1-ubyte.gz"), 3, c(4, 7, 1), gzip = TRUE)
  expect_error(dataset_mnist(dir), class = "kerust_error", regexp = "do not match: 2 images but 3 labels")

  dir <- write_small_dataset(new_temp_dir())
  write_idx_bytes(file.path(dir, "t10k-images-idx3-ubyte"), 1, 5)
  expect_error(dataset_mnist(dir), class = "kerust_error", regexp = "must contain images \\(magic number 0x00000803\\)")

  dir <- write_small_dataset(new_temp_dir())
  write_idx_bytes(file.path(dir, "t10k-labels-idx1-ubyte"), c(1, 2, 3), 1:6)
  expect_error(dataset_mnist(dir), class = "kerust_error", regexp = "must contain labels \\(magic number 0x00000801\\)")
})

test_that("dataset loaders report corrupt files", {
  dir <- write_small_dataset(new_temp_dir())
  images_file <- file.path(dir, "t10k-images-idx3-ubyte")
  bytes <- readBin(images_file, "raw", n = 100)
  writeBin(bytes[-length(bytes)], images_file)
  expect_error(dataset_fashion_mnist(dir), class = "kerust_error", regexp = "t10k-images-idx3-ubyte: it ends after 5 of the 6 bytes")
})

test_that("dataset loaders prefer the plain file to the gzipped one", {
  dir <- write_small_dataset(new_temp_dir())
  write_idx_bytes(file.path(dir, "t10k-labels-idx1-ubyte.gz"), 1, 3, gzip = TRUE)
  expect_identical(dataset_mnist(dir)$test$y, 9L)
})

# dataset_fashion_mnist() without `path` -----------------------------------

# The shipped subset is found with system.file(), so it needs kerust to be
# installed or loaded with pkgload, not only its R files sourced.
skip_if_no_subset <- function() {
  subset_dir <- system.file("extdata", "fashion-mnist", package = "kerust")
  skip_if(!nzchar(subset_dir), "the Fashion-MNIST subset of an installed kerust is not found")
}

test_that("dataset_fashion_mnist falls back to the shipped subset", {
  skip_if_no_subset()
  old <- options(kerust.fashion_mnist_dir = new_temp_dir())
  on.exit(options(old), add = TRUE)

  expect_message(
    data <- dataset_fashion_mnist(),
    "not found in .*subset shipped with kerust: 2000 training and 500 test images"
  )
  expect_message(dataset_fashion_mnist(), "apt-get install dataset-fashion-mnist")

  expect_identical(dim(data$train$x), c(2000L, 28L, 28L))
  expect_identical(dim(data$test$x), c(500L, 28L, 28L))
  expect_type(data$train$x, "integer")
  expect_type(data$test$y, "integer")
  expect_identical(range(data$train$x), c(0L, 255L))
  expect_true(all(data$train$y %in% 0:9))

  # Known values, read with xxd from the Debian files in
  # /usr/share/datasets/fashion-mnist. Labels start at byte 8, images at
  # byte 16, and pixel [i, r, c] is at 16 + (i - 1) * 784 + (r - 1) * 28 + c - 1.
  expect_identical(data$train$y[1:10], c(9L, 0L, 0L, 3L, 0L, 2L, 7L, 2L, 5L, 5L))
  expect_identical(data$test$y[1:10], c(9L, 2L, 1L, 1L, 6L, 1L, 4L, 6L, 5L, 7L))
  # Training image 1, row 5 holds bytes 0x03 0x00 0x24 0x88 in columns 13:16.
  expect_identical(data$train$x[1, 5, 13:16], c(3L, 0L, 36L, 136L))
  # Test image 500, row 14 holds 0x22 0xFF 0xE5 in columns 8:10.
  expect_identical(data$test$x[500, 14, 8:10], c(34L, 255L, 229L))
})

test_that("dataset_fashion_mnist falls back when files are missing", {
  skip_if_no_subset()
  dir <- write_small_dataset(new_temp_dir())
  file.remove(file.path(dir, "train-images-idx3-ubyte.gz"))
  old <- options(kerust.fashion_mnist_dir = dir)
  on.exit(options(old), add = TRUE)
  expect_message(data <- dataset_fashion_mnist(), "2000 training and 500 test images")
  expect_identical(length(data$train$y), 2000L)
})

test_that("dataset_fashion_mnist reads the system folder", {
  dir <- write_small_dataset(new_temp_dir())
  old <- options(kerust.fashion_mnist_dir = dir)
  on.exit(options(old), add = TRUE)
  expect_silent(data <- dataset_fashion_mnist())
  expect_small_dataset(data)
})

test_that("dataset_fashion_mnist reads the Debian package", {
  skip_on_cran()
  debian_dir <- "/usr/share/datasets/fashion-mnist"
  skip_if_not(
    file.exists(file.path(debian_dir, "train-images-idx3-ubyte.gz")),
    "Debian's dataset-fashion-mnist is not installed"
  )
  old <- options(kerust.fashion_mnist_dir = NULL)
  on.exit(options(old), add = TRUE)

  expect_silent(data <- dataset_fashion_mnist())
  expect_identical(dim(data$train$x), c(60000L, 28L, 28L))
  expect_identical(dim(data$test$x), c(10000L, 28L, 28L))
  expect_identical(length(data$train$y), 60000L)
  expect_identical(as.vector(table(data$test$y)), rep(1000L, 10))
  # The shipped subset is the first images of the full data.
  expect_identical(data$train$x[1, 5, 13:16], c(3L, 0L, 36L, 136L))
})
