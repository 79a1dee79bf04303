# Shared helpers of the kerust benchmarks.

# Peak resident memory of this R process in MB (VmHWM, Linux only).
peak_rss_mb <- function() {
  status <- readLines("/proc/self/status")
  line <- grep("^VmHWM:", status, value = TRUE)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}

# Fashion-MNIST scaled to [0, 1] and flattened to 784 columns. Each image
# array is dropped as soon as it is reshaped, so that only the double
# matrices stay in memory, as the peer scripts keep only their float32
# arrays.
load_fashion <- function() {
  fm <- kerust::dataset_fashion_mnist()
  prepare <- function(part) {
    x <- kerust::array_reshape(fm[[part]]$x, c(nrow(fm[[part]]$x), 784))
    fm[[part]]$x <<- NULL
    x / 255
  }
  x_train <- prepare("train")
  x_test <- prepare("test")
  invisible(gc())
  list(x_train = x_train, y_train = fm$train$y, x_test = x_test, y_test = fm$test$y)
}

mlp_model <- function() {
  kerust::keras_model_sequential(input_shape = 784) |>
    kerust::layer_dense(256, activation = "relu") |>
    kerust::layer_dense(128, activation = "relu") |>
    kerust::layer_dense(10, activation = "softmax")
}
