# Regularizers, noise layers, schedules and sample weights, with values
# computed by hand in the comments.

test_that("l2 penalty adds to the loss and the gradient", {
  # Dense(1) without bias, kernel w = (1, 2), x = (1, 0), y = 0, l2 = 0.1:
  # prediction 1, mse 1; penalty 0.1 * (1 + 4) = 0.5; loss 1.5.
  model <- keras_model_sequential(input_shape = 2) |>
    layer_dense(1, use_bias = FALSE, kernel_regularizer = regularizer_l2(0.1))
  set_weights(model, list(matrix(c(1, 2), 2)))
  compile(model, optimizer = optimizer_sgd(0.1), loss = "mse")
  x <- matrix(c(1, 0), 1)
  expect_equal(evaluate(model, x, 0, verbose = 0)$loss, 1.5, tolerance = 1e-6)
  # Gradient: data 2 * (1 - 0) * x = (2, 0); penalty 2 * 0.1 * w = (0.2, 0.4).
  # SGD(0.1): w = (1 - 0.22, 2 - 0.04) = (0.78, 1.96). The reported loss is
  # the one before the step, 1.5.
  h <- fit(model, x, 0, epochs = 1, verbose = 0)
  expect_equal(h$metrics$loss, 1.5, tolerance = 1e-6)
  expect_equal(as.vector(get_weights(model)[[1]]), c(0.78, 1.96), tolerance = 1e-6)
})

test_that("l1 and bias penalties follow keras's formula", {
  # l1 = 0.1 on kernel (1, -2): 0.1 * 3 = 0.3; l1_l2(0, 0.5) on bias 2: 0.5 * 4 = 2.
  model <- keras_model_sequential(input_shape = 2) |>
    layer_dense(1, kernel_regularizer = regularizer_l1(0.1), bias_regularizer = regularizer_l1_l2(l2 = 0.5))
  set_weights(model, list(matrix(c(1, -2), 2), 2))
  compile(model, optimizer = "sgd", loss = "mse")
  # x = (0, 0): prediction = bias = 2, target 2, mse 0; loss = 0.3 + 2.
  expect_equal(evaluate(model, matrix(0, 1, 2), 2, verbose = 0)$loss, 2.3, tolerance = 1e-6)
})

test_that("activity penalty is divided by the batch size", {
  # Output (1, -2) and (3, 0) for a batch of 2, l1 = 0.5:
  # 0.5 * (1 + 2 + 3 + 0) / 2 = 1.5; targets equal the outputs, so mse 0.
  model <- keras_model_sequential(input_shape = 2) |>
    layer_dense(2, use_bias = FALSE, activity_regularizer = regularizer_l1(0.5))
  set_weights(model, list(diag(2)))
  compile(model, optimizer = "sgd", loss = "mse")
  x <- matrix(c(1, -2, 3, 0), 2, byrow = TRUE)
  expect_equal(evaluate(model, x, x, batch_size = 2, verbose = 0)$loss, 1.5, tolerance = 1e-6)
  reg <- keras_model_sequential(input_shape = 2) |> layer_activity_regularization(l2 = 0.25)
  compile(reg, optimizer = "sgd", loss = "mse")
  # 0.25 * (1 + 4 + 9 + 0) / 2 = 1.75.
  expect_equal(evaluate(reg, x, x, batch_size = 2, verbose = 0)$loss, 1.75, tolerance = 1e-6)
})

test_that("regularizers reject bad values", {
  expect_error(regularizer_l2(-1), "`l2` must be a single number in \\[0, Inf\\]", class = "kerust_error")
  expect_error(regularizer_l1("a"), "`l1`", class = "kerust_error")
  expect_error(layer_dense(units = 2, kernel_regularizer = 0.1), "`kernel_regularizer` must be NULL or a regularizer", class = "kerust_error")
  expect_output(print(regularizer_l1_l2(0.1, 0.2)), "l1 = 0.1, l2 = 0.2")
})

test_that("noise layers act only in training", {
  model <- keras_model_sequential(input_shape = 5000) |> layer_gaussian_noise(0.5, seed = 1)
  x <- matrix(0, 1, 5000)
  expect_equal(predict(model, x), x)
  for (layer in list(layer_gaussian_dropout(rate = 0.3), layer_alpha_dropout(rate = 0.3))) {
    m <- keras_model_sequential(input_shape = 10, layers = list(layer))
    expect_equal(predict(m, matrix(1:10, 1)), matrix(as.double(1:10), 1))
  }
  expect_error(layer_gaussian_noise(stddev = -1), "`stddev`", class = "kerust_error")
  expect_error(layer_alpha_dropout(rate = 1), "`rate`", class = "kerust_error")
})

test_that("gaussian noise has the requested spread in training", {
  # Zero inputs plus noise through a ones kernel give the sum of 4 noise
  # values; with target 0 the loss of a sample is that sum squared, whose
  # mean is 4 * stddev^2. The learning rate is tiny, so the kernel stays ones.
  set.seed(3)
  model <- keras_model_sequential(input_shape = 4) |>
    layer_gaussian_noise(0.5) |>
    layer_dense(1, use_bias = FALSE, kernel_initializer = "ones")
  compile(model, optimizer = optimizer_sgd(1e-12), loss = "mse")
  h <- fit(model, matrix(0, 4000, 4), rep(0, 4000), epochs = 1, batch_size = 100, verbose = 0)
  # E[(sum of 4 noises)^2] = 4 * 0.25 = 1.
  expect_equal(h$metrics$loss, 1, tolerance = 0.1)
})

test_that("sample_weight and class_weight weight the loss as keras does", {
  # Two samples with squared errors 1 and 4 (predictions 0, targets 1 and 2).
  model <- keras_model_sequential(input_shape = 1) |>
    layer_dense(1, use_bias = FALSE, kernel_initializer = "zeros")
  compile(model, optimizer = "sgd", loss = "mse")
  x <- matrix(c(1, 1), 2)
  # keras: sum(w * loss) / batch = (3 * 1 + 1 * 4) / 2 = 3.5.
  expect_equal(evaluate(model, x, c(1, 2), sample_weight = c(3, 1), verbose = 0)$loss, 3.5, tolerance = 1e-6)
  expect_error(evaluate(model, x, c(1, 2), sample_weight = c(1, -1), verbose = 0),
    "`sample_weight` must be finite and non-negative, got -1 at position 2", class = "kerust_error")
  expect_error(fit(model, x, c(1, 2), sample_weight = 1, verbose = 0),
    "`sample_weight` has 1 weights but there are 2 samples", class = "kerust_error")
  clf <- keras_model_sequential(input_shape = 1) |> layer_dense(2, activation = "softmax")
  compile(clf, optimizer = "sgd", loss = "sparse_categorical_crossentropy")
  expect_error(fit(clf, x, c(0, 1), class_weight = list("0" = 1, "5" = 2), verbose = 0),
    "`class_weight` names classes that do not exist: \"5\"; the classes are 0 to 1", class = "kerust_error")
  # class_weight equals the matching sample_weight.
  a <- keras_model_sequential(input_shape = 1) |> layer_dense(2, activation = "softmax", kernel_initializer = "ones")
  b <- keras_model_sequential(input_shape = 1) |> layer_dense(2, activation = "softmax", kernel_initializer = "ones")
  compile(a, optimizer = "sgd", loss = "sparse_categorical_crossentropy")
  compile(b, optimizer = "sgd", loss = "sparse_categorical_crossentropy")
  xs <- matrix(c(0.5, -1, 2), 3)
  ha <- fit(a, xs, c(0, 1, 1), class_weight = c("0" = 2, "1" = 0.5), shuffle = FALSE, epochs = 2, verbose = 0)
  hb <- fit(b, xs, c(0, 1, 1), sample_weight = c(2, 0.5, 0.5), shuffle = FALSE, epochs = 2, verbose = 0)
  expect_identical(ha$metrics, hb$metrics)
  expect_identical(get_weights(a), get_weights(b))
})

test_that("a learning-rate schedule sets the rate per step", {
  # exponential_decay(0.1, decay_steps = 2, decay_rate = 0.5): 2 steps per
  # epoch, so the last step of epoch e (step 2e - 1) uses 0.1 * 0.5^((2e - 1) / 2).
  schedule <- learning_rate_schedule_exponential_decay(0.1, decay_steps = 2, decay_rate = 0.5)
  model <- keras_model_sequential(input_shape = 1) |> layer_dense(1)
  compile(model, optimizer = optimizer_sgd(learning_rate = schedule), loss = "mse")
  h <- fit(model, matrix(1:4, 4), 1:4, batch_size = 2, epochs = 3, shuffle = FALSE, verbose = 0)
  expect_equal(h$metrics$learning_rate, 0.1 * 0.5^((2 * (1:3) - 1) / 2), tolerance = 1e-6)
  expect_output(print(schedule), "learning_rate_schedule_exponential_decay")
  expect_error(learning_rate_schedule_piecewise_constant_decay(c(10, 5), c(1, 2, 3)), "`boundaries` must be an increasing", class = "kerust_error")
  expect_error(learning_rate_schedule_piecewise_constant_decay(c(5, 10), c(1, 2)), "`values` must be 3 non-negative numbers", class = "kerust_error")
  expect_error(learning_rate_schedule_cosine_decay(0.1, decay_steps = -1), "`decay_steps`", class = "kerust_error")
})

test_that("new optimizers train", {
  set.seed(1)
  x <- matrix(runif(200), 100, 2)
  y <- x[, 1] - x[, 2]
  for (opt in list(optimizer_adamw(0.05), optimizer_adadelta(1), optimizer_adamax(0.05),
                   optimizer_nadam(0.05), optimizer_lion(0.01), optimizer_sgd(0.1, clipnorm = 1),
                   optimizer_adam(0.05, global_clipnorm = 1))) {
    model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
    compile(model, optimizer = opt, loss = "mse")
    h <- fit(model, x, y, epochs = 20, batch_size = 10, verbose = 0)
    expect_lt(h$metrics$loss[20], h$metrics$loss[1])
  }
})

test_that("only weighted_metrics use sample weights, as in keras", {
  # Prediction = x with a unit kernel; absolute errors (1, 2, 3, 0).
  # mae ignores the weights: 1.5. weighted_mae with weights (1, 0, 0, 3):
  # (1 * 1 + 3 * 0) / (1 + 0 + 0 + 3) = 0.25. The mse loss is weighted:
  # sum(w * e^2) / 4 = (1 + 0) / 4 = 0.25.
  model <- keras_model_sequential(input_shape = 1) |>
    layer_dense(1, use_bias = FALSE, kernel_initializer = "ones")
  compile(model, optimizer = "sgd", loss = "mse", metrics = "mae", weighted_metrics = "mae")
  r <- evaluate(model, matrix(1:4), c(0, 0, 0, 4), sample_weight = c(1, 0, 0, 3), verbose = 0)
  expect_equal(r$mae, 1.5, tolerance = 1e-6)
  expect_equal(r$weighted_mae, 0.25, tolerance = 1e-6)
  expect_equal(r$loss, 0.25, tolerance = 1e-6)
})
