test_that("engine error becomes a kerust_error", {
  err <- tryCatch(kerust:::engine_call(kerust:::rs_test_failure("engine")), error = function(e) e)
  expect_s3_class(err, "kerust_error")
  expect_s3_class(err, "error")
  # The message keeps a literal percent sign (extendr would read it as a format).
  expect_match(conditionMessage(err), "raised on purpose; 100% expected", fixed = TRUE)
})

test_that("panic becomes an R error and R keeps working", {
  err <- tryCatch(kerust:::engine_call(kerust:::rs_test_failure("panic")), error = function(e) e)
  expect_s3_class(err, "kerust_error")
  expect_match(conditionMessage(err), "internal error in the kerust engine")
  expect_match(conditionMessage(err), "a panic raised on purpose")
  expect_equal(1 + 1, 2)
  # The engine still works after the panic.
  expect_equal(kerust:::rs_roundtrip(c(1, 2), "x"), c(1, 2))
})

test_that("panic in a worker thread becomes an R error", {
  err <- tryCatch(kerust:::engine_call(kerust:::rs_test_failure("worker_panic")), error = function(e) e)
  expect_s3_class(err, "kerust_error")
  expect_match(conditionMessage(err), "worker thread")
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  expect_equal(dim(predict(model, matrix(0, 3, 2))), c(3L, 1L))
})

test_that("errors are reported against the user's call", {
  err <- tryCatch(layer_dense(units = 0), error = function(e) e)
  expect_s3_class(err, "kerust_error")
  expect_match(deparse(conditionCall(err)), "layer_dense")
})
