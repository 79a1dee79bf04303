# Trains a small convolutional network on Fashion-MNIST with kerust and
# prints the test loss and accuracy. Run with:
#   Rscript inst/examples/fashion_mnist_cnn.R
# or, from R, source(system.file("examples", "fashion_mnist_cnn.R", package = "kerust")).
# The full data comes from Debian's dataset-fashion-mnist package when it
# is installed (tools/setup-debian.sh installs it); otherwise
# dataset_fashion_mnist() falls back to a small subset and says so.
#
# The training settings are the best that a search over optimizers,
# learning-rate schedules, batch sizes and initializers found for a budget
# of 5 epochs (bench/RESULTS.md lists every run):
# * all 60000 training images, no validation split;
# * batch size 32;
# * Nadam, with a learning rate that rises linearly from 0.0003 to 0.003
#   over the first 10% of the steps, then follows a cosine decay to 0;
# * He-uniform initial kernels in the two convolutions.
#
# This script printed a test accuracy of 0.9051. With set.seed(2) and
# set.seed(3) in place of set.seed(1), the same training reached 0.9048 and
# 0.9038. No setting tried reached 0.91 in 5 epochs, and
# Keras 3 with these settings reaches 0.9050 to 0.9054 with seeds 1 to 3
# (bench/peers/cnn_accuracy_keras.py). On a 2-vCPU Intel Xeon VM shared
# with other jobs (load average near 10), fit() took 163 s with 2 threads.
# The old settings (Adam at a constant 0.001, batch 128, validation_split
# 0.1) reached 0.878.
library(kerust)

fm <- dataset_fashion_mnist()
# Convolutions need a channel axis: a grayscale image is 28 x 28 x 1.
x_train <- array_reshape(fm$train$x, c(dim(fm$train$x), 1)) / 255
x_test <- array_reshape(fm$test$x, c(dim(fm$test$x), 1)) / 255

# The seed fixes the initial weights, the dropout masks and the shuffling.
set.seed(1)
model <- keras_model_sequential(input_shape = c(28, 28, 1)) |>
  layer_conv_2d(32, kernel_size = c(3, 3), activation = "relu", kernel_initializer = "he_uniform") |>
  layer_max_pooling_2d(pool_size = c(2, 2)) |>
  layer_conv_2d(64, kernel_size = c(3, 3), activation = "relu", kernel_initializer = "he_uniform") |>
  layer_max_pooling_2d(pool_size = c(2, 2)) |>
  layer_flatten() |>
  layer_dropout(0.5) |>
  layer_dense(10, activation = "softmax")
summary(model)

epochs <- 5
batch_size <- 32
total_steps <- ceiling(nrow(x_train) / batch_size) * epochs
warmup_steps <- round(0.1 * total_steps)
schedule <- learning_rate_schedule_cosine_decay(
  initial_learning_rate = 0.0003,
  decay_steps = total_steps - warmup_steps,
  warmup_target = 0.003,
  warmup_steps = warmup_steps
)
model |> compile(
  optimizer = optimizer_nadam(learning_rate = schedule),
  loss = "sparse_categorical_crossentropy",
  metrics = "accuracy"
)

started <- Sys.time()
history <- model |> fit(x_train, fm$train$y, epochs = epochs, batch_size = batch_size)
elapsed <- as.numeric(Sys.time() - started, units = "secs")
print(history)

result <- model |> evaluate(x_test, fm$test$y, verbose = 0)
cat(sprintf("\nTraining took %.1f s with %d threads.\n", elapsed, kerust_threads()))
cat(sprintf("Test loss: %.4f\nTest accuracy: %.4f\n", result$loss, result$accuracy))

probabilities <- predict(model, x_test[1:5, , , , drop = FALSE], verbose = 0)
cat("Predicted classes of the first 5 test images:", max.col(probabilities) - 1, "\n")
cat("True classes:                                ", fm$test$y[1:5], "\n")
