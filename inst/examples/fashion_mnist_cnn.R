# Trains a small convolutional network on Fashion-MNIST with kerust and
# prints the test loss and accuracy. Run with:
#   Rscript inst/examples/fashion_mnist_cnn.R
# or, from R, source(system.file("examples", "fashion_mnist_cnn.R", package = "kerust")).
# The full data comes from Debian's dataset-fashion-mnist package when it
# is installed (tools/setup-debian.sh installs it); otherwise
# dataset_fashion_mnist() falls back to a small subset and says so.
#
# On a 2-vCPU Intel Xeon VM, five epochs took 31 s and reached a test
# accuracy of 0.878; Keras 3 and PyTorch reach 0.875 to 0.880 with the same
# network and settings (bench/cnn.R and bench/peers/cnn_*.py, 4 epochs).
library(kerust)

set.seed(42)
fm <- dataset_fashion_mnist()
# Convolutions need a channel axis: a grayscale image is 28 x 28 x 1.
x_train <- array_reshape(fm$train$x, c(dim(fm$train$x), 1)) / 255
x_test <- array_reshape(fm$test$x, c(dim(fm$test$x), 1)) / 255

model <- keras_model_sequential(input_shape = c(28, 28, 1)) |>
  layer_conv_2d(32, kernel_size = c(3, 3), activation = "relu") |>
  layer_max_pooling_2d(pool_size = c(2, 2)) |>
  layer_conv_2d(64, kernel_size = c(3, 3), activation = "relu") |>
  layer_max_pooling_2d(pool_size = c(2, 2)) |>
  layer_flatten() |>
  layer_dropout(0.5) |>
  layer_dense(10, activation = "softmax")
summary(model)

model |> compile(
  optimizer = "adam",
  loss = "sparse_categorical_crossentropy",
  metrics = "accuracy"
)

started <- Sys.time()
history <- model |> fit(
  x_train, fm$train$y,
  epochs = 5, batch_size = 128, validation_split = 0.1
)
elapsed <- as.numeric(Sys.time() - started, units = "secs")
print(history)

result <- model |> evaluate(x_test, fm$test$y, verbose = 0)
cat(sprintf("\nTraining took %.1f s with %d threads.\n", elapsed, kerust_threads()))
cat(sprintf("Test loss: %.4f\nTest accuracy: %.4f\n", result$loss, result$accuracy))

probabilities <- predict(model, x_test[1:5, , , , drop = FALSE], verbose = 0)
cat("Predicted classes of the first 5 test images:", max.col(probabilities) - 1, "\n")
cat("True classes:                                ", fm$test$y[1:5], "\n")
