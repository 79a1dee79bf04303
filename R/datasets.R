# Image data sets stored in the IDX format of MNIST.
#
# An IDX file starts with a 4-byte magic number: two zero bytes, a type code
# (0x08 for unsigned bytes) and the number of dimensions (1 for labels, 3 for
# images, so the magic numbers are 0x00000801 and 0x00000803). Next comes the
# size of each dimension as a big-endian 32-bit integer, then the data in
# row-major order. The format is described at https://yann.lecun.com/exdb/mnist/.

idx_type_unsigned_byte <- 0x08

# Standard file names of the MNIST and Fashion-MNIST files. Each may also be
# stored gzipped, with ".gz" appended.
idx_file_names <- c(
  train_images = "train-images-idx3-ubyte",
  train_labels = "train-labels-idx1-ubyte",
  test_images = "t10k-images-idx3-ubyte",
  test_labels = "t10k-labels-idx1-ubyte"
)

# Folder where Debian's package `dataset-fashion-mnist` installs the full data.
fashion_mnist_debian_dir <- "/usr/share/datasets/fashion-mnist"

# Reads an IDX file of unsigned bytes, plain or gzipped. Returns an integer
# vector for a 1-dimensional file (labels) and an integer array otherwise,
# with R's index order matching the file's: `x[i, r, c]` is row r, column c
# of image i. Errors name the file and are reported against `call`.
read_idx <- function(file, call = sys.call(-1)) {
  if (!file.exists(file) || dir.exists(file)) {
    abort(sprintf("IDX file not found: %s.", file), call = call)
  }

  # gzfile() also reads files that are not gzipped, as they are.
  con <- tryCatch(
    gzfile(file, open = "rb"),
    error = function(e) {
      abort(sprintf("Cannot open IDX file %s: %s.", file, conditionMessage(e)), call = call)
    }
  )
  on.exit(close(con))

  magic <- read_idx_bytes(con, 4, file, "the magic number", call)
  if (magic[[1]] != 0 || magic[[2]] != 0 || as.integer(magic[[3]]) != idx_type_unsigned_byte ||
      as.integer(magic[[4]]) == 0) {
    abort(
      sprintf(
        paste(
          "Invalid IDX file %s: its magic number is 0x%s, expected 0x00000801 (labels)",
          "or 0x00000803 (images). The file is not an IDX file of unsigned bytes, or it is corrupt."
        ),
        file, paste(toupper(as.character(magic)), collapse = "")
      ),
      call = call
    )
  }

  rank <- as.integer(magic[[4]])
  size_bytes <- read_idx_bytes(con, 4 * rank, file, "the dimension sizes", call)
  dims <- readBin(size_bytes, "integer", n = rank, size = 4, endian = "big")
  # A size of 2^31 or more reads as negative here, and no real data set has one.
  if (any(dims < 0)) {
    abort(
      sprintf("Invalid IDX file %s: its header gives dimension sizes %s.", file, paste(dims, collapse = " x ")),
      call = call
    )
  }

  count <- prod(as.double(dims))
  values <- read_idx_bytes(con, count, file, "the data", call)
  extra <- read_idx_raw(con, 1, file, "the end", call)
  if (length(extra) > 0) {
    abort(
      sprintf(
        "Invalid IDX file %s: it has more than the %.0f data bytes that its header (%s) gives.",
        file, count, paste(dims, collapse = " x ")
      ),
      call = call
    )
  }

  values <- as.integer(values)
  if (rank == 1) {
    return(values)
  }
  # The file is row-major, so its last index varies fastest. Filling R's
  # column-major array with the sizes reversed and then reversing the axes
  # puts each value at the same index as in the file.
  dim(values) <- rev(dims)
  aperm(values, rev(seq_len(rank)))
}

# Reads exactly `n` bytes of an IDX file, and raises an error naming the file
# and `part` (the part of the file being read) when the file ends early or
# its gzip stream is invalid. R 4.2 reports a corrupt gzip stream either with
# the warning "invalid or incomplete compressed data" or only by returning
# fewer bytes, depending on where the damage is, so both raise an error here.
read_idx_bytes <- function(con, n, file, part, call) {
  bytes <- read_idx_raw(con, n, file, part, call)
  if (length(bytes) < n) {
    abort(
      sprintf(
        paste(
          "Invalid IDX file %s: it ends after %d of the %.0f bytes of %s.",
          "The file is truncated, or its gzip data is corrupt."
        ),
        file, length(bytes), n, part
      ),
      call = call
    )
  }
  bytes
}

# Reads up to `n` bytes, and raises an error on any error or warning from
# the connection, such as a failed gzip checksum.
read_idx_raw <- function(con, n, file, part, call) {
  fail <- function(condition) {
    abort(
      sprintf(
        "Cannot read %s of IDX file %s: %s. The file is truncated or corrupt.",
        part, file, conditionMessage(condition)
      ),
      call = call
    )
  }
  tryCatch(readBin(con, "raw", n = n), error = fail, warning = fail)
}

# Returns the paths of the four standard files in `dir`, named as
# `idx_file_names`, with NA for each file that is missing. The plain file is
# used when both the plain and the gzipped file exist.
find_idx_files <- function(dir) {
  vapply(
    idx_file_names,
    function(name) {
      candidates <- file.path(dir, c(name, paste0(name, ".gz")))
      found <- candidates[file.exists(candidates) & !dir.exists(candidates)]
      if (length(found) == 0) NA_character_ else found[[1]]
    },
    character(1)
  )
}

# Reads the images and labels of one split and checks that they match.
read_idx_split <- function(images_file, labels_file, call) {
  x <- read_idx(images_file, call = call)
  if (length(dim(x)) != 3) {
    abort(
      sprintf(
        "IDX file %s must contain images (magic number 0x00000803), got %s.",
        images_file, describe(x)
      ),
      call = call
    )
  }

  y <- read_idx(labels_file, call = call)
  if (!is.null(dim(y))) {
    abort(
      sprintf(
        "IDX file %s must contain labels (magic number 0x00000801), got %s.",
        labels_file, describe(y)
      ),
      call = call
    )
  }

  if (dim(x)[[1]] != length(y)) {
    abort(
      sprintf(
        "IDX files %s and %s do not match: %d images but %d labels.",
        images_file, labels_file, dim(x)[[1]], length(y)
      ),
      call = call
    )
  }
  list(x = x, y = y)
}

# Reads the four files found by find_idx_files() into keras's structure.
read_idx_dataset <- function(files, call) {
  list(
    train = read_idx_split(files[["train_images"]], files[["train_labels"]], call),
    test = read_idx_split(files[["test_images"]], files[["test_labels"]], call)
  )
}

# Reads the four files from the folder `path` given by the user, and raises
# an error naming each missing file.
read_idx_dataset_from_path <- function(path, dataset_name, source_hint, call) {
  if (!dir.exists(path)) {
    reason <- if (file.exists(path)) "a file" else "not found"
    abort(sprintf("`path` must be an existing folder, got \"%s\", which is %s.", path, reason), call = call)
  }
  files <- find_idx_files(path)
  if (anyNA(files)) {
    missing <- idx_file_names[is.na(files)]
    abort(
      sprintf(
        "%s files not found in %s: %s (each may be gzipped, with \".gz\" appended). %s",
        dataset_name, path, paste(missing, collapse = ", "), source_hint
      ),
      call = call
    )
  }
  read_idx_dataset(files, call)
}

fashion_mnist_source_hint <- paste(
  "Install the full data with `apt-get install dataset-fashion-mnist` (Debian, Ubuntu),",
  "or download the four .gz files from https://github.com/zalandoresearch/fashion-mnist",
  "(folder data/fashion) and pass their folder as `path`."
)

mnist_source_hint <- paste(
  "The files were published at https://yann.lecun.com/exdb/mnist/, and any mirror",
  "that serves these four files works. Download them, plain or gzipped, and pass",
  "their folder as `path`."
)

#' Fashion-MNIST data set of clothing images
#'
#' Loads Fashion-MNIST: 60,000 training and 10,000 test grayscale images of
#' 28 x 28 pixels, each of one of 10 kinds of clothing, published by
#' Zalando Research under the MIT license.
#'
#' The four IDX files (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
#' `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain or with
#' `.gz` appended) are looked up in this order:
#'
#' 1. in `path`, when given. Missing files are an error.
#' 2. in `/usr/share/datasets/fashion-mnist`, where Debian's package
#'    `dataset-fashion-mnist` installs them. The option
#'    `kerust.fashion_mnist_dir` replaces this folder.
#' 3. in the subset shipped with kerust: the first 2,000 training and the
#'    first 500 test images. A message then says so and how to get the full
#'    data.
#'
#' The labels are 0: T-shirt/top, 1: Trouser, 2: Pullover, 3: Dress, 4: Coat,
#' 5: Sandal, 6: Shirt, 7: Sneaker, 8: Bag, 9: Ankle boot.
#'
#' @param path Folder that contains the four IDX files, or `NULL` to use the
#'   system-wide copy or the shipped subset.
#' @returns A list with elements `train` and `test`, each a list of `x`, an
#'   integer array of dimensions n x 28 x 28 with values 0 to 255 (`x[i, r,
#'   c]` is row `r`, column `c` of image `i`), and `y`, an integer vector of
#'   n labels from 0 to 9.
#' @export
#' @examples
#' # Without `path`, dataset_fashion_mnist() loads the full 70,000 images
#' # when they are installed. This example reads the shipped subset
#' # directly, to stay fast.
#' subset_dir <- system.file("extdata", "fashion-mnist", package = "kerust")
#' fashion <- dataset_fashion_mnist(subset_dir)
#' dim(fashion$train$x)
#' table(fashion$train$y)
#' image(t(fashion$train$x[1, 28:1, ]), col = grey.colors(256, 1, 0))
dataset_fashion_mnist <- function(path = NULL) {
  call <- sys.call()
  check_string(path, "path", null_ok = TRUE)
  if (!is.null(path)) {
    return(read_idx_dataset_from_path(path, "Fashion-MNIST", fashion_mnist_source_hint, call))
  }

  system_dir <- getOption("kerust.fashion_mnist_dir", fashion_mnist_debian_dir)
  files <- find_idx_files(system_dir)
  if (!anyNA(files)) {
    return(read_idx_dataset(files, call))
  }

  subset_dir <- system.file("extdata", "fashion-mnist", package = "kerust")
  subset_files <- find_idx_files(subset_dir)
  if (!nzchar(subset_dir) || anyNA(subset_files)) {
    abort(
      paste(
        "Fashion-MNIST was not found in", system_dir, "and the subset shipped with",
        "kerust is missing, so the installation is incomplete.", fashion_mnist_source_hint
      ),
      call = call
    )
  }
  data <- read_idx_dataset(subset_files, call)
  message(
    sprintf(
      paste(
        "The full Fashion-MNIST data was not found in %s, so this is the subset",
        "shipped with kerust: %d training and %d test images (of 60000 and 10000). %s"
      ),
      system_dir, length(data$train$y), length(data$test$y), fashion_mnist_source_hint
    )
  )
  data
}

#' MNIST data set of handwritten digits
#'
#' Loads MNIST: 60,000 training and 10,000 test grayscale images of
#' handwritten digits, 28 x 28 pixels each, from the four IDX files
#' `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
#' `t10k-images-idx3-ubyte` and `t10k-labels-idx1-ubyte` (each plain or with
#' `.gz` appended) in the folder `path`.
#'
#' kerust does not download data, and no Debian package contains MNIST, so
#' `path` is required. The files were published at
#' <https://yann.lecun.com/exdb/mnist/>, and any mirror of those four files
#' works. [dataset_fashion_mnist()] has the same structure and works without
#' a download.
#'
#' @param path Folder that contains the four IDX files.
#' @returns A list with elements `train` and `test`, each a list of `x`, an
#'   integer array of dimensions n x 28 x 28 with values 0 to 255 (`x[i, r,
#'   c]` is row `r`, column `c` of image `i`), and `y`, an integer vector of
#'   n digits from 0 to 9.
#' @export
#' @examples
#' # Without the files, the error names them and says where to get them.
#' try(dataset_mnist())
#'
#' # The Fashion-MNIST subset shipped with kerust has the same format, so it
#' # stands in for a folder of MNIST files here.
#' subset_dir <- system.file("extdata", "fashion-mnist", package = "kerust")
#' images <- dataset_mnist(subset_dir)
#' str(images$test)
dataset_mnist <- function(path = NULL) {
  call <- sys.call()
  check_string(path, "path", null_ok = TRUE)
  if (is.null(path)) {
    abort(
      sprintf(
        "`path` is required: kerust does not download MNIST. It needs the files %s. %s",
        paste(idx_file_names, collapse = ", "), mnist_source_hint
      ),
      call = call
    )
  }
  read_idx_dataset_from_path(path, "MNIST", mnist_source_hint, call)
}
