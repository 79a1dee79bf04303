# Trains a multilayer perceptron on Fashion-MNIST with kerust and prints
# the test loss and accuracy. Run with:
#   Rscript inst/examples/fashion_mnist_mlp.R
# or, from R, source(system.file("examples", "fashion_mnist_mlp.R", package = "kerust")).
# The full data comes from Debian's dataset-fashion-mnist package when it
# is installed (tools/setup-debian.sh installs it); otherwise
# dataset_fashion_mnist() falls back to a small subset and says so.
library(kerust)

set.seed(42)
fm <- dataset_fashion_mnist()
x_train <- array_reshape(fm$train$x, c(nrow(fm$train$x), 784)) / 255
x_test <- array_reshape(fm$test$x, c(nrow(fm$test$x), 784)) / 255

model <- keras_model_sequential(input_shape = 784) |>
  layer_dense(256, activation = "relu") |>
  layer_dense(128, activation = "relu") |>
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
  epochs = 10, batch_size = 128, validation_split = 0.1
)
elapsed <- as.numeric(Sys.time() - started, units = "secs")
print(history)

result <- model |> evaluate(x_test, fm$test$y, verbose = 0)
cat(sprintf("\nTraining took %.1f s with %d threads.\n", elapsed, kerust_threads()))
cat(sprintf("Test loss: %.4f\nTest accuracy: %.4f\n", result$loss, result$accuracy))

probabilities <- predict(model, x_test[1:5, ])
cat("Predicted classes of the first 5 test images:", max.col(probabilities) - 1, "\n")
cat("True classes:                                ", fm$test$y[1:5], "\n")
