# Losses against Keras 3.15.1 (TensorFlow 2.21 CPU), from
# tools/golden/make_golden.py, file src/rust/engine/tests/golden/losses.json.

reg_true <- matrix(c(1.0, 2.0, 3.0, 0.5, 1.5, 2.5, 4.0, 0.2, 1.0, 2.0, 2.0, 0.1), 4, byrow = TRUE)
reg_pred <- matrix(c(1.5, 1.0, 3.2, 0.4, 2.0, 0.5, 3.0, 0.3, 1.05, 2.5, 4.5, 0.3), 4, byrow = TRUE)
probs <- matrix(c(0.1, 0.2, 0.5, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1, 0.05, 0.15, 0.3, 0.2, 0.3, 0.25, 0.25, 0.2, 0.2, 0.1), 4, byrow = TRUE)

test_that("regression losses match keras per sample", {
  expect_equal(loss_mean_squared_error(reg_true, reg_pred), c(0.429999977350235, 1.4200000762939453, 0.3374999761581421, 2.180000066757202), tolerance = 1e-6)
  expect_equal(loss_huber(reg_true, reg_pred), c(0.2149999886751175, 0.5433333516120911, 0.16874998807907104, 0.7149999737739563), tolerance = 1e-6)
  expect_equal(loss_mean_absolute_percentage_error(reg_true, reg_pred), c(35.55555725097656, 44.44444274902344, 26.666667938232422, 116.66667175292969), tolerance = 1e-6)
  expect_equal(loss_mean_absolute_error(reg_true, reg_pred), rowMeans(abs(reg_true - reg_pred)), tolerance = 1e-6)
  expect_equal(loss_mean_squared_logarithmic_error(reg_true, reg_pred), rowMeans((log1p(reg_pred) - log1p(reg_true))^2), tolerance = 1e-6)
})

test_that("crossentropies match keras per sample", {
  labels <- c(2, 0, 4, 1)
  expect_equal(loss_sparse_categorical_crossentropy(labels, probs), c(0.6931471824645996, 0.510825514793396, 1.2039728164672852, 1.3862943649291992), tolerance = 1e-6)
  onehot <- to_categorical(labels, 5)
  expect_equal(loss_categorical_crossentropy(onehot, probs, label_smoothing = 0.1), c(0.8080391883850098, 0.6541663408279419, 1.2617801427841187, 1.4135459661483765), tolerance = 1e-6)
  logits <- matrix(c(0.5, 1.0, 2.0, -0.5, 0.0, 3.0, 0.1, -1.0, 0.2, 0.4, -0.3, 0.8, 0.2, 1.5, 0.6, 1.0, 2.0, -2.0, 0.5, 0.0), 4, byrow = TRUE)
  expect_equal(loss_sparse_categorical_crossentropy(labels, logits, from_logits = TRUE), c(0.5924590229988098, 0.1893158257007599, 1.7505720853805542, 0.5565599799156189), tolerance = 1e-6)
  bt <- matrix(c(1, 0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0), 4, byrow = TRUE)
  bp <- matrix(c(0.9, 0.2, 0.6, 0.3, 0.1, 0.8, 0.7, 0.95, 0.4, 0.05, 0.5, 0.15), 4, byrow = TRUE)
  expect_equal(loss_binary_crossentropy(bt, bp), c(0.27977654337882996, 0.22839301824569702, 0.30626460909843445, 0.30231979489326477), tolerance = 1e-6)
})

test_that("loss functions return objects for compile", {
  expect_s3_class(loss_binary_crossentropy(), "kerust_loss")
  expect_output(print(loss_huber(delta = 2)), "<loss huber>")
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  expect_silent(compile(model, optimizer = "sgd", loss = loss_huber(delta = 0.5)))
  expect_silent(compile(model, optimizer = "sgd", loss = loss_mean_absolute_error))
})

test_that("losses reject bad input", {
  expect_error(loss_mean_squared_error(reg_true), "Give both `y_true` and `y_pred`", class = "kerust_error")
  expect_error(loss_binary_crossentropy(from_logits = "yes"), "`from_logits` must be TRUE or FALSE", class = "kerust_error")
  expect_error(loss_binary_crossentropy(label_smoothing = 2), "`label_smoothing` must be a single number in \\[0, 1\\]", class = "kerust_error")
  expect_error(loss_huber(delta = 0), "`delta`", class = "kerust_error")
  expect_error(loss_mean_squared_error(reg_true, reg_pred[1:3, ]), "`y_true` has 12 values but `y_pred` needs 9", class = "kerust_error")
  expect_error(loss_categorical_crossentropy(reduction = "sum"), "`reduction` must be \"sum_over_batch_size\"", class = "kerust_error")
})
