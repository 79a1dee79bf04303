# Evaluates `code` with the function `name` in kerust's namespace replaced
# by `value` (testthat 3.1.6, Debian's version, has no
# local_mocked_bindings()).
with_kerust_mock <- function(name, value, code) {
  ns <- asNamespace("kerust")
  original <- get(name, envir = ns)
  unlockBinding(name, ns)
  assign(name, value, envir = ns)
  on.exit({
    assign(name, original, envir = ns)
    lockBinding(name, ns)
  })
  force(code)
}

# Writes a .npy file (format version 1.0) of little-endian float64 values
# in C order, without kerust's reader.
write_npy <- function(file, values, shape) {
  shape_text <- if (length(shape) == 1) sprintf("(%d,)", shape) else sprintf("(%s)", paste(shape, collapse = ", "))
  header <- sprintf("{'descr': '<f8', 'fortran_order': False, 'shape': %s, }", shape_text)
  # The magic, the version, the 2-byte length and the header fill a
  # multiple of 64 bytes; the header ends in a newline.
  padding <- 64 - (10 + nchar(header) + 1) %% 64
  header <- paste0(header, strrep(" ", padding), "\n")
  con <- file(file, "wb")
  writeBin(as.raw(c(0x93, charToRaw("NUMPY"), 1, 0)), con)
  writeBin(nchar(header), con, size = 2, endian = "little")
  writeBin(charToRaw(header), con)
  data <- if (length(shape) == 2) as.vector(t(values)) else values
  writeBin(as.double(data), con, size = 8, endian = "little")
  close(con)
}

test_that("numpy legacy shuffle matches numpy", {
  # Expected values from numpy 2.4.6:
  #   rng = np.random.RandomState(seed); idx = np.arange(n); rng.shuffle(idx)
  # printing idx[:12] and sum(idx * np.arange(n)).
  shuffle <- kerust:::numpy_legacy_shuffle
  expect_identical(shuffle(10, 0), c(2, 8, 4, 9, 1, 6, 7, 3, 0, 5))
  expect_identical(shuffle(7, 1), c(6, 2, 1, 0, 4, 3, 5))
  expect_identical(shuffle(12, 4294967295), c(11, 8, 5, 9, 1, 10, 6, 0, 4, 7, 2, 3))
  order <- shuffle(1000, 113)
  expect_identical(order[1:12], c(641, 987, 187, 779, 848, 237, 582, 883, 752, 815, 799, 311))
  expect_identical(sum(order * (0:999)), 251673380)
  # The 506 rows of the Boston data with keras's seed.
  order <- shuffle(506, 113)
  expect_identical(order[1:12], c(22, 202, 368, 335, 461, 323, 382, 143, 146, 141, 402, 412))
  expect_identical(order[502:506], c(364, 74, 162, 220, 165))
  expect_setequal(order, 0:505)
})

test_that("boston matches keras's split", {
  skip_if_not_installed("mlbench")
  boston <- dataset_boston_housing()
  expect_named(boston, c("train", "test"))
  expect_named(boston$train, c("x", "y"))
  expect_identical(dim(boston$train$x), c(404L, 13L))
  expect_identical(dim(boston$test$x), c(102L, 13L))
  expect_length(boston$train$y, 404)
  expect_length(boston$test$y, 102)
  expect_identical(
    colnames(boston$train$x),
    c("crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "b", "lstat")
  )
  expect_type(boston$train$x, "double")
  expect_setequal(boston$train$x[, "chas"], c(0, 1))
  # keras.datasets.boston_housing.load_data(): the first training targets,
  # the first training sample and the first test targets, as keras 2 and 3
  # return them (the same file and seed).
  expect_equal(boston$train$y[1:10], c(15.2, 42.3, 50, 21.1, 17.7, 18.5, 11.3, 15.6, 15.6, 14.4))
  expect_equal(
    unname(boston$train$x[1, ]),
    c(1.23247, 0, 8.14, 0, 0.538, 6.142, 91.7, 3.9769, 4, 307, 21, 396.9, 18.72)
  )
  expect_equal(boston$test$y[1:6], c(7.2, 18.8, 19, 27, 22.2, 24.5))
})

test_that("boston honours test_split and seed", {
  skip_if_not_installed("mlbench")
  all_train <- dataset_boston_housing(test_split = 0)
  expect_identical(dim(all_train$train$x), c(506L, 13L))
  expect_identical(dim(all_train$test$x), c(0L, 13L))
  half <- dataset_boston_housing(test_split = 0.5, seed = 1)
  expect_identical(nrow(half$train$x), 253L)
  expect_false(identical(half$train$y[1:10], dataset_boston_housing(test_split = 0.5)$train$y[1:10]))
  expect_identical(dataset_boston_housing(seed = 7), dataset_boston_housing(seed = 7))
})

test_that("boston error names missing mlbench", {
  with_kerust_mock("boston_mlbench_installed", function() FALSE, {
    expect_error(
      dataset_boston_housing(),
      "needs the R package mlbench.*apt-get install r-cran-mlbench.*install.packages\\(\"mlbench\"\\)",
      class = "kerust_error"
    )
  })
  # The mock is gone afterwards.
  expect_identical(kerust:::boston_mlbench_installed(), requireNamespace("mlbench", quietly = TRUE))
})

test_that("boston reads keras's npz file", {
  skip_if(!nzchar(Sys.which("zip")), "the zip program is needed to write the test archive")
  dir <- tempfile("boston-npz-")
  dir.create(dir)
  # Three samples of 13 features: row i holds i * 100 + 1:13, target 10 * i.
  x <- t(sapply(1:3, function(i) i * 100 + 1:13))
  write_npy(file.path(dir, "x.npy"), x, c(3, 13))
  write_npy(file.path(dir, "y.npy"), c(10, 20, 30), 3)
  archive <- file.path(dir, "boston_housing.npz")
  utils::zip(archive, file.path(dir, c("x.npy", "y.npy")), flags = "-j -q")

  boston <- dataset_boston_housing(path = archive, test_split = 0.34)
  # numpy's RandomState(113) shuffles 0:2 to this order.
  order <- kerust:::numpy_legacy_shuffle(3, 113) + 1
  expect_identical(nrow(boston$train$x), 1L)
  expect_equal(unname(boston$train$x[1, ]), x[order[1], ])
  expect_equal(boston$train$y, 10 * order[1])
  expect_equal(boston$test$y, 10 * order[2:3])
  expect_equal(unname(boston$test$x), x[order[2:3], ])
  unlink(dir, recursive = TRUE)
})

test_that("boston rejects bad arguments", {
  expect_error(dataset_boston_housing(test_split = 1), "`test_split` must be a single number in \\[0, 1\\)", class = "kerust_error")
  expect_error(dataset_boston_housing(seed = -1), "`seed` must be a single integer from 0 to 2\\^32 - 1, got -1", class = "kerust_error")
  expect_error(dataset_boston_housing(path = tempfile()), "`path` must be keras's file boston_housing.npz, but .* is not found", class = "kerust_error")
  not_npz <- tempfile(fileext = ".npz")
  writeLines("not a zip archive", not_npz)
  expect_error(dataset_boston_housing(path = not_npz), "is not an npz archive with the arrays x and y", class = "kerust_error")
})
