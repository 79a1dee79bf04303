# Shared helpers of the kerust benchmarks.

# Peak resident memory of this R process in MB (VmHWM, Linux only).
peak_rss_mb <- function() {
  status <- readLines("/proc/self/status")
  line <- grep("^VmHWM:", status, value = TRUE)
  as.numeric(gsub("[^0-9]", "", line)) / 1024
}

# Fashion-MNIST scaled to [0, 1] and flattened to 784 columns.
load_fashion <- function() {
  fm <- kerust::dataset_fashion_mnist()
  list(
    x_train = kerust::array_reshape(fm$train$x, c(nrow(fm$train$x), 784)) / 255,
    y_train = fm$train$y,
    x_test = kerust::array_reshape(fm$test$x, c(nrow(fm$test$x), 784)) / 255,
    y_test = fm$test$y
  )
}

mlp_model <- function() {
  kerust::keras_model_sequential(input_shape = 784) |>
    kerust::layer_dense(256, activation = "relu") |>
    kerust::layer_dense(128, activation = "relu") |>
    kerust::layer_dense(10, activation = "softmax")
}
