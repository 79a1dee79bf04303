# The Boston housing data set, split into training and test samples as
# keras.datasets.boston_housing.load_data() splits it.
#
# keras shuffles the 506 row indices with numpy's legacy generator,
# np.random.RandomState(seed).shuffle(), and takes the first
# floor(506 * (1 - test_split)) rows for training. That generator is the
# Mersenne Twister MT19937 seeded by its reference init_genrand(), and
# shuffle() is a Fisher-Yates shuffle that draws each index with numpy's
# random_interval() (a masked 32-bit draw, redrawn while above the bound).
# Both are reproduced below with exact integer arithmetic on doubles, so the
# split is keras's own: the same 404 training and 102 test rows in the
# same order (checked against numpy 2.4.6 by the package tests).

#' Boston housing price regression data set
#'
#' The 506 census tracts of Boston from the 1970 census (Harrison and
#' Rubinfeld, 1978): 13 features per tract and the median value of
#' owner-occupied homes in thousands of dollars, split into training and
#' test samples as `keras.datasets.boston_housing.load_data()` splits them.
#'
#' The rows are shuffled with numpy's legacy Mersenne Twister generator
#' seeded with `seed`, which kerust reimplements in R, so the split and the
#' row order are those of keras: with the defaults, 404 training and 102
#' test samples, the first training sample having `y = 15.2`. The first
#' `floor(506 * (1 - test_split))` shuffled rows are the training samples.
#'
#' The columns of `x` are, in keras's order: `crim`, `zn`, `indus`, `chas`
#' (1 if the tract bounds the Charles River, else 0), `nox`, `rm`, `age`,
#' `dis`, `rad`, `tax`, `ptratio`, `b` and `lstat`; see
#' `?mlbench::BostonHousing` for their meaning.
#'
#' The data come from:
#'
#' 1. `path`, when given: keras's file `boston_housing.npz` (keras caches it
#'    as `~/.keras/datasets/boston_housing.npz`), an npz archive holding the
#'    arrays `x` (506 x 13) and `y` (506).
#' 2. Otherwise the `BostonHousing` data of the R package mlbench
#'    (Debian: `apt-get install r-cran-mlbench`; CRAN:
#'    `install.packages("mlbench")`), the same 506 rows in the same order.
#'
#' kerust does not download data. Without `path` and without mlbench, the
#' function raises an error that says what to install.
#'
#' @param path `NULL`, or the path of keras's `boston_housing.npz`.
#' @param test_split Fraction of the samples held out for testing, in
#'   `[0, 1)`.
#' @param seed Seed of the shuffle, an integer from 0 to `2^32 - 1` (keras
#'   and kerust both default to 113).
#' @returns A list with elements `train` and `test`, each a list of `x`, a
#'   numeric matrix with one row per sample and 13 named columns, and `y`,
#'   a numeric vector of median home values in thousands of dollars.
#' @export
#' @examples
#' if (requireNamespace("mlbench", quietly = TRUE)) {
#'   boston <- dataset_boston_housing()
#'   print(dim(boston$train$x))
#'   print(head(boston$train$y))
#'
#'   # Standardise with the training statistics and fit a linear model
#'   means <- colMeans(boston$train$x)
#'   sds <- apply(boston$train$x, 2, sd)
#'   x <- scale(boston$train$x, center = means, scale = sds)
#'   model <- keras_model_sequential(input_shape = 13) |> layer_dense(1)
#'   model |> compile(optimizer = "adam", loss = "mse", metrics = list("mae", metric_r2_score()))
#'   history <- model |> fit(x, boston$train$y, epochs = 2, verbose = 0)
#'   print(history)
#' }
dataset_boston_housing <- function(path = NULL, test_split = 0.2, seed = 113L) {
  call <- sys.call()
  check_string(path, "path", null_ok = TRUE)
  check_number(test_split, "test_split", lower = 0, upper = 1, upper_open = TRUE)
  if (!is.numeric(seed) || length(seed) != 1 || is.na(seed) || seed != round(seed) || seed < 0 || seed > 2^32 - 1) {
    abort(sprintf("`seed` must be a single integer from 0 to 2^32 - 1, got %s.", describe(seed)))
  }

  data <- if (is.null(path)) boston_from_mlbench(call) else boston_from_npz(path, call)
  order <- numpy_legacy_shuffle(nrow(data$x), as.double(seed)) + 1
  x <- data$x[order, , drop = FALSE]
  y <- data$y[order]

  n_train <- floor(nrow(x) * (1 - test_split))
  train <- seq_len(n_train)
  list(
    train = list(x = x[train, , drop = FALSE], y = y[train]),
    test = list(x = x[-train, , drop = FALSE], y = y[-train])
  )
}

# Column names of x, in the order of keras's file and of mlbench.
boston_features <- c("crim", "zn", "indus", "chas", "nox", "rm", "age", "dis", "rad", "tax", "ptratio", "b", "lstat")

boston_from_mlbench <- function(call = sys.call(-1)) {
  if (!boston_mlbench_installed()) {
    abort(
      paste(
        "dataset_boston_housing() needs the R package mlbench for the data, and it is not installed.",
        "Install it with apt-get install r-cran-mlbench (Debian and Ubuntu) or install.packages(\"mlbench\"),",
        "or pass keras's boston_housing.npz as `path`."
      ),
      call = call
    )
  }
  env <- new.env()
  utils::data("BostonHousing", package = "mlbench", envir = env)
  frame <- env$BostonHousing
  # chas is a factor with levels "0" and "1"; keras stores it as 0 and 1.
  frame$chas <- as.numeric(as.character(frame$chas))
  x <- as.matrix(frame[, boston_features])
  rownames(x) <- NULL
  list(x = x, y = as.numeric(frame$medv))
}

# A function of its own so that tests can mock a missing package.
boston_mlbench_installed <- function() requireNamespace("mlbench", quietly = TRUE)

# Reads keras's boston_housing.npz: a zip archive of x.npy and y.npy.
boston_from_npz <- function(path, call = sys.call(-1)) {
  if (!file.exists(path) || dir.exists(path)) {
    abort(sprintf("`path` must be keras's file boston_housing.npz, but \"%s\" is %s.", path,
      if (dir.exists(path)) "a folder" else "not found"), call = call)
  }
  dir <- tempfile("kerust-boston-")
  on.exit(unlink(dir, recursive = TRUE), add = TRUE)
  files <- tryCatch(
    utils::unzip(path, files = c("x.npy", "y.npy"), exdir = dir),
    warning = function(w) character(),
    error = function(e) character()
  )
  if (length(files) != 2) {
    abort(sprintf("`path` \"%s\" is not an npz archive with the arrays x and y, as keras's boston_housing.npz is.", path),
      call = call)
  }
  x <- read_npy(file.path(dir, "x.npy"), call)
  y <- read_npy(file.path(dir, "y.npy"), call)
  if (length(dim(x)) != 2 || dim(x)[2] != length(boston_features) || length(dim(y)) != 1 || dim(y)[1] != dim(x)[1]) {
    abort(sprintf(
      "`path` \"%s\" holds x of shape (%s) and y of shape (%s); expected (n, 13) and (n), as in keras's boston_housing.npz.",
      path, paste(dim(x), collapse = ", "), paste(dim(y), collapse = ", ")
    ), call = call)
  }
  colnames(x) <- boston_features
  list(x = x, y = as.vector(y))
}

# Reads a .npy file of little-endian float64 or float32 values. The format
# (numpy's NEP 1): the bytes 0x93 "NUMPY", a major and a minor version, the
# header length (2 bytes little-endian in version 1, 4 bytes in versions 2
# and 3), a header that is a Python dict literal with `descr`,
# `fortran_order` and `shape`, then the data. Returns an array of that shape.
read_npy <- function(file, call = sys.call(-1)) {
  con <- file(file, "rb")
  on.exit(close(con))
  magic <- readBin(con, "raw", 8)
  if (length(magic) < 8 || !identical(magic[1:6], as.raw(c(0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59)))) {
    abort(sprintf("%s is not a .npy file: it does not start with the bytes 0x93 \"NUMPY\".", basename(file)), call = call)
  }
  major <- as.integer(magic[7])
  header_size <- readBin(con, "integer", n = 1, size = if (major == 1) 2 else 4, endian = "little", signed = major != 1)
  header <- rawToChar(readBin(con, "raw", header_size))

  descr <- sub(".*'descr': *'([^']*)'.*", "\\1", header)
  fortran <- grepl("'fortran_order': *True", header)
  shape_text <- sub(".*'shape': *\\(([^)]*)\\).*", "\\1", header)
  shape <- as.numeric(strsplit(gsub(" ", "", shape_text), ",")[[1]])
  shape <- shape[!is.na(shape)]
  size <- switch(descr, "<f8" = 8L, "<f4" = 4L, NA_integer_)
  if (is.na(size)) {
    abort(sprintf("%s holds values of numpy type '%s'; kerust reads float64 ('<f8') and float32 ('<f4').",
      basename(file), descr), call = call)
  }

  count <- prod(shape)
  values <- readBin(con, "double", n = count, size = size, endian = "little")
  if (length(values) != count) {
    abort(sprintf("%s is truncated: its header gives %s values, but it holds %d.", basename(file),
      format(count), length(values)), call = call)
  }
  if (length(shape) <= 1) {
    return(array(values, dim = max(1, shape)))
  }
  if (fortran) {
    return(array(values, dim = shape))
  }
  # C order: the last index varies fastest, so fill the reversed shape and
  # reverse the axes.
  aperm(array(values, dim = rev(shape)))
}

# Unsigned 32-bit arithmetic on doubles. Every value stays below 2^53, so
# the results are exact; bitwAnd() and bitwXor() take 16-bit halves because
# they work on signed 32-bit integers.
u32_split <- function(a) list(high = a %/% 65536, low = a %% 65536)

u32_xor <- function(a, b) {
  a <- u32_split(a)
  b <- u32_split(b)
  bitwXor(a$high, b$high) * 65536 + bitwXor(a$low, b$low)
}

u32_and <- function(a, b) {
  a <- u32_split(a)
  b <- u32_split(b)
  bitwAnd(a$high, b$high) * 65536 + bitwAnd(a$low, b$low)
}

u32_shift_left <- function(a, bits) (a * 2^bits) %% 2^32

u32_shift_right <- function(a, bits) a %/% 2^bits

# (a * b) mod 2^32, with each product of 16-bit halves below 2^33.
u32_multiply <- function(a, b) {
  a <- u32_split(a)
  b <- u32_split(b)
  cross <- (a$high * b$low + a$low * b$high) %% 65536
  (a$low * b$low + cross * 65536) %% 2^32
}

# MT19937 (Matsumoto and Nishimura, 1998) with the reference
# init_genrand() seeding, as numpy's RandomState(seed) seeds it. The state
# is an environment: `key` holds the 624 words, `position` (0-based) the
# next word to temper.
mt19937_new <- function(seed) {
  key <- numeric(624)
  value <- seed
  for (i in seq_len(624)) {
    key[i] <- value
    value <- (u32_multiply(1812433253, u32_xor(value, u32_shift_right(value, 30))) + i) %% 2^32
  }
  state <- new.env()
  state$key <- key
  state$position <- 624
  state
}

# Regenerates the 624 words of the state (the "twist").
mt19937_twist <- function(state) {
  key <- state$key
  n <- 624
  m <- 397
  for (i in seq_len(n)) {
    following <- if (i == n) 1 else i + 1
    y <- u32_and(key[i], 0x80000000) + u32_and(key[following], 0x7fffffff)
    shifted <- ((i - 1 + m) %% n) + 1
    mixed <- u32_xor(key[shifted], u32_shift_right(y, 1))
    if (y %% 2 == 1) mixed <- u32_xor(mixed, 0x9908b0df)
    key[i] <- mixed
  }
  state$key <- key
  state$position <- 0
}

# Returns the next tempered 32-bit output.
mt19937_next <- function(state) {
  if (state$position >= 624) mt19937_twist(state)
  y <- state$key[state$position + 1]
  state$position <- state$position + 1
  y <- u32_xor(y, u32_shift_right(y, 11))
  y <- u32_xor(y, u32_and(u32_shift_left(y, 7), 0x9d2c5680))
  y <- u32_xor(y, u32_and(u32_shift_left(y, 15), 0xefc60000))
  u32_xor(y, u32_shift_right(y, 18))
}

# numpy's random_interval(max) for max < 2^32: a draw masked to the
# smallest 2^k - 1 >= max, repeated until it is at most max.
numpy_random_interval <- function(state, max) {
  if (max == 0) {
    return(0)
  }
  mask <- 1
  while (mask < max) mask <- mask * 2 + 1
  repeat {
    value <- mt19937_next(state) %% (mask + 1)
    if (value <= max) {
      return(value)
    }
  }
}

# Returns np.arange(n) after np.random.RandomState(seed).shuffle(): 0-based
# indices. shuffle() swaps element i with element random_interval(i), for i
# from n - 1 down to 1.
numpy_legacy_shuffle <- function(n, seed) {
  state <- mt19937_new(seed)
  indices <- seq_len(n) - 1
  if (n < 2) {
    return(indices)
  }
  for (i in (n - 1):1) {
    j <- numpy_random_interval(state, i)
    swap <- indices[i + 1]
    indices[i + 1] <- indices[j + 1]
    indices[j + 1] <- swap
  }
  indices
}
