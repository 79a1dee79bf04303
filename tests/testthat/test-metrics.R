# Most tests evaluate an identity model: a dense layer with an identity
# kernel and zero bias, so the predictions are the inputs `x` (rounded to
# float32) and each expected value can be worked out from `x` and `y` in R.

identity_model <- function(units, loss, metrics = NULL, weighted_metrics = NULL) {
  model <- keras_model_sequential(input_shape = units) |> layer_dense(units)
  set_weights(model, list(diag(units), rep(0, units)))
  compile(model, optimizer = "sgd", loss = loss, metrics = metrics, weighted_metrics = weighted_metrics)
  model
}

# One output column, ten samples; the predictions are at least 0.03 apart,
# so each falls between its own pair of AUC thresholds (spaced 1/199 apart).
binary_y <- c(0, 1, 1, 0, 1, 0, 1, 0, 0, 1)
binary_p <- c(0.12, 0.81, 0.33, 0.46, 0.58, 0.03, 0.97, 0.64, 0.27, 0.71)
binary_w <- c(1, 0.5, 2, 1, 0, 1.5, 1, 3, 0.25, 1)

# The area under the ROC curve by the Mann-Whitney statistic: the weighted
# share of (positive, negative) pairs that the predictions rank correctly,
# a tie counting one half. When no two different predictions fall between
# the same pair of thresholds, keras's threshold approximation gives
# exactly this value (a tie is one trapezoid of half the height).
mann_whitney_auc <- function(p, y, w = rep(1, length(y))) {
  pairs <- outer(w * (y == 1), w * (y == 0))
  sum(pairs * (outer(p, p, ">") + 0.5 * outer(p, p, "=="))) / sum(pairs)
}

# Three output columns (multi-label targets), six samples.
labels_y <- rbind(c(1, 0, 1), c(0, 1, 0), c(1, 1, 0), c(0, 0, 1), c(1, 0, 0), c(0, 1, 1))
labels_p <- rbind(
  c(0.9, 0.2, 0.6), c(0.1, 0.7, 0.4), c(0.6, 0.3, 0.55),
  c(0.2, 0.1, 0.8), c(0.45, 0.52, 0.51), c(0.3, 0.8, 0.65)
)

test_that("auc matches the Mann-Whitney statistic", {
  expect_equal(mann_whitney_auc(binary_p, binary_y), 0.88)
  model <- identity_model(1, "mse", list(metric_auc()))
  result <- evaluate(model, binary_p, binary_y, verbose = 0)
  expect_equal(result$auc, 0.88, tolerance = 1e-6)
})

test_that("auc in fit history", {
  # One batch of all samples: the metric is computed on the predictions of
  # the initial (identity) weights, before the optimizer step.
  model <- identity_model(1, "mse", list(metric_auc()))
  history <- fit(model, binary_p, binary_y, epochs = 1, batch_size = 10, shuffle = FALSE, verbose = 0)
  expect_equal(history$metrics$auc, 0.88, tolerance = 1e-6)
})

test_that("auc with sample weights", {
  expected <- mann_whitney_auc(binary_p, binary_y, binary_w)
  # As in keras, only weighted_metrics use sample weights.
  model <- identity_model(1, "mse", weighted_metrics = list(metric_auc()))
  result <- evaluate(model, binary_p, binary_y, sample_weight = binary_w, verbose = 0)
  expect_equal(result$auc, expected, tolerance = 1e-6)
})

test_that("pr auc matches keras", {
  # keras 3.15.1: keras.metrics.AUC(curve="PR") after update_state(y, p),
  # and with sample_weight=w, on the data above (float32).
  model <- identity_model(1, "mse", list(metric_auc(curve = "PR", name = "pr_auc")))
  expect_equal(evaluate(model, binary_p, binary_y, verbose = 0)$pr_auc, 0.8937110304832458, tolerance = 1e-6)
  expect_equal(evaluate(model, binary_p, binary_y, sample_weight = binary_w, verbose = 0)$pr_auc,
    0.8937110304832458, tolerance = 1e-6)
  weighted_model <- identity_model(1, "mse", weighted_metrics = list(metric_auc(curve = "PR", name = "pr_auc")))
  weighted <- evaluate(weighted_model, binary_p, binary_y, sample_weight = binary_w, verbose = 0)
  expect_equal(weighted$pr_auc, 0.7615430951118469, tolerance = 1e-6)
})

test_that("auc from logits applies a sigmoid", {
  # The sigmoid keeps the order of the predictions, so the area is the same.
  logits <- qlogis(binary_p)
  model <- identity_model(1, "mse", list(metric_auc(from_logits = TRUE)))
  expect_equal(evaluate(model, logits, binary_y, verbose = 0)$auc, 0.88, tolerance = 1e-6)
})

test_that("auc pools or averages the output columns", {
  # The pooled values include a tie between a positive and a negative (0.3).
  pooled <- mann_whitney_auc(as.vector(labels_p), as.vector(labels_y))
  per_column <- vapply(1:3, function(j) mann_whitney_auc(labels_p[, j], labels_y[, j]), 0)
  model <- identity_model(3, "mse", list(
    metric_auc(name = "pooled"),
    metric_auc(multi_label = TRUE, name = "mean"),
    metric_auc(multi_label = TRUE, num_labels = 3, label_weights = c(1, 0, 3), name = "weighted")
  ))
  result <- evaluate(model, labels_p, labels_y, verbose = 0)
  expect_equal(result$pooled, pooled, tolerance = 1e-6)
  expect_equal(result$mean, mean(per_column), tolerance = 1e-6)
  expect_equal(result$weighted, sum(per_column * c(1, 0, 3)) / 4, tolerance = 1e-6)
})

test_that("precision and recall count every output value", {
  predicted <- labels_p > 0.5
  actual <- labels_y == 1
  model <- identity_model(3, "binary_crossentropy", list(
    metric_precision(), metric_recall(),
    metric_precision(thresholds = 0.3, name = "precision_at_0.3")
  ))
  result <- evaluate(model, labels_p, labels_y, verbose = 0)
  expect_equal(result$precision, sum(predicted & actual) / sum(predicted), tolerance = 1e-6)
  expect_equal(result$recall, sum(predicted & actual) / sum(actual), tolerance = 1e-6)
  predicted_low <- labels_p > 0.3
  expect_equal(result$`precision_at_0.3`, sum(predicted_low & actual) / sum(predicted_low), tolerance = 1e-6)
})

test_that("precision and recall with class_id and top_k", {
  model <- identity_model(3, "binary_crossentropy", list(
    metric_precision(class_id = 1, name = "precision_1"),
    metric_recall(class_id = 2, name = "recall_2"),
    metric_precision(top_k = 1, name = "precision_top_1")
  ))
  result <- evaluate(model, labels_p, labels_y, verbose = 0)
  # class_id is 0-based: 1 is the second column.
  column <- labels_p[, 2] > 0.5
  expect_equal(result$precision_1, sum(column & labels_y[, 2] == 1) / sum(column), tolerance = 1e-6)
  column <- labels_p[, 3] > 0.5
  expect_equal(result$recall_2, sum(column & labels_y[, 3] == 1) / sum(labels_y[, 3] == 1), tolerance = 1e-6)
  # With top_k = 1 and no threshold, the largest prediction of each row is
  # the only positive one.
  top <- labels_y[cbind(1:6, max.col(labels_p, ties.method = "first"))]
  expect_equal(result$precision_top_1, mean(top), tolerance = 1e-6)
})

test_that("precision with sample weights", {
  w <- c(1, 2, 0.5, 0, 1, 1.5)
  weights <- matrix(w, nrow = 6, ncol = 3)
  predicted <- labels_p > 0.5
  actual <- labels_y == 1
  model <- identity_model(3, "mse", weighted_metrics = list(metric_precision()))
  result <- evaluate(model, labels_p, labels_y, sample_weight = w, verbose = 0)
  expect_equal(result$precision, sum(weights * (predicted & actual)) / sum(weights * predicted), tolerance = 1e-6)
})

test_that("binary crossentropy metric", {
  bce <- function(y, p) -mean(y * log(p) + (1 - y) * log(1 - p))
  model <- identity_model(3, "mse", list(
    metric_binary_crossentropy(),
    metric_binary_crossentropy(label_smoothing = 0.1, name = "smoothed")
  ))
  result <- evaluate(model, labels_p, labels_y, verbose = 0)
  expect_equal(result$binary_crossentropy, bce(labels_y, labels_p), tolerance = 1e-6)
  # Smoothing moves targets towards 0.5: y (1 - 0.1) + 0.05.
  expect_equal(result$smoothed, bce(labels_y * 0.9 + 0.05, labels_p), tolerance = 1e-6)
})

test_that("binary crossentropy metric from logits", {
  model <- identity_model(1, "mse", list(metric_binary_crossentropy(from_logits = TRUE)))
  logits <- qlogis(binary_p)
  expected <- -mean(binary_y * log(binary_p) + (1 - binary_y) * log(1 - binary_p))
  expect_equal(evaluate(model, logits, binary_y, verbose = 0)$binary_crossentropy, expected, tolerance = 1e-5)
})

test_that("categorical crossentropy metrics", {
  probabilities <- rbind(c(0.7, 0.2, 0.1), c(0.2, 0.5, 0.3), c(0.1, 0.3, 0.6), c(0.25, 0.25, 0.5))
  labels <- c(0, 1, 1, 2)
  one_hot <- to_categorical(labels, 3)
  expected <- -mean(log(probabilities[cbind(1:4, labels + 1)]))

  model <- identity_model(3, "categorical_crossentropy", list(metric_categorical_crossentropy()))
  expect_equal(evaluate(model, probabilities, one_hot, verbose = 0)$categorical_crossentropy, expected, tolerance = 1e-6)

  model <- identity_model(3, "sparse_categorical_crossentropy", list(
    metric_sparse_categorical_crossentropy(),
    metric_sparse_categorical_crossentropy(ignore_class = 1, name = "ignoring_1")
  ))
  result <- evaluate(model, probabilities, labels, verbose = 0)
  expect_equal(result$sparse_categorical_crossentropy, expected, tolerance = 1e-6)
  # keras 3.15.1 gives ignored samples the value 0 and, without sample
  # weights, still counts them: the sum over rows 1 and 4 is divided by 4.
  kept <- c(1, 4)
  expect_equal(result$ignoring_1, sum(-log(probabilities[cbind(kept, labels[kept] + 1)])) / 4, tolerance = 1e-6)
})

test_that("categorical crossentropy metric from logits", {
  logits <- rbind(c(2, -1, 0.5), c(-0.3, 0.4, 1.2), c(0, 0, 3))
  one_hot <- to_categorical(c(0, 2, 1), 3)
  softmax <- exp(logits) / rowSums(exp(logits))
  expected <- -mean(log(rowSums(softmax * one_hot)))
  model <- identity_model(3, "mse", list(metric_categorical_crossentropy(from_logits = TRUE)))
  expect_equal(evaluate(model, logits, one_hot, verbose = 0)$categorical_crossentropy, expected, tolerance = 1e-5)
})

regression_y <- rbind(c(1, 2), c(0.5, -1), c(3, 0), c(-2, 1.5), c(0, 0.25), c(4, -3))
regression_p <- rbind(c(1.5, 1), c(0, -1.5), c(2, 0.5), c(-1, 1), c(0.75, 0.25), c(3, -1))

test_that("mean absolute percentage error metric", {
  # keras divides by max(|y|, 1e-7), so the zero targets dominate.
  expected <- 100 * mean(abs(regression_y - regression_p) / pmax(abs(regression_y), 1e-7))
  model <- identity_model(2, "mse", list(metric_mean_absolute_percentage_error()))
  result <- evaluate(model, regression_p, regression_y, verbose = 0)
  expect_equal(result$mean_absolute_percentage_error, expected, tolerance = 1e-6)
})

test_that("r2 score metric", {
  residual <- colSums((regression_y - regression_p)^2)
  total <- colSums(sweep(regression_y, 2, colMeans(regression_y))^2)
  per_column <- 1 - residual / total
  n <- length(regression_y)
  model <- identity_model(2, "mse", list(
    metric_r2_score(),
    metric_r2_score(class_aggregation = "variance_weighted_average", name = "weighted"),
    metric_r2_score(num_regressors = 3, name = "adjusted")
  ))
  result <- evaluate(model, regression_p, regression_y, verbose = 0)
  expect_equal(result$r2_score, mean(per_column), tolerance = 1e-6)
  expect_equal(result$weighted, sum(total * per_column) / sum(total), tolerance = 1e-6)
  # Adjusted R2 with n = 12 target values, as keras counts them.
  expect_equal(result$adjusted, 1 - (1 - mean(per_column)) * (n - 1) / (n - 3 - 1), tolerance = 1e-6)
})

test_that("r2 score with sample weights", {
  w <- c(1, 2, 0.5, 1, 0, 3)
  weighted_mean <- colSums(w * regression_y) / sum(w)
  residual <- colSums(w * (regression_y - regression_p)^2)
  total <- colSums(w * sweep(regression_y, 2, weighted_mean)^2)
  model <- identity_model(2, "mse", weighted_metrics = list(metric_r2_score()))
  result <- evaluate(model, regression_p, regression_y, sample_weight = w, verbose = 0)
  expect_equal(result$r2_score, mean(1 - residual / total), tolerance = 1e-6)
})

test_that("metric names in compile", {
  model <- identity_model(1, "mse", c("auc", "precision", "recall", "bce", "mape", "r2_score"))
  result <- evaluate(model, binary_p, binary_y, verbose = 0)
  expect_named(result, c("auc", "bce", "loss", "mape", "precision", "r2_score", "recall"), ignore.order = TRUE)
  expect_equal(result$auc, 0.88, tolerance = 1e-6)
  expect_equal(result$precision, 4 / 5, tolerance = 1e-6)
  expect_equal(result$recall, 4 / 5, tolerance = 1e-6)
  expect_equal(result$bce, -mean(binary_y * log(binary_p) + (1 - binary_y) * log(1 - binary_p)), tolerance = 1e-6)
})

test_that("validation metrics use the val_ prefix", {
  model <- identity_model(1, "mse", list(metric_auc()))
  history <- fit(model, binary_p, binary_y,
    epochs = 1, batch_size = 10, verbose = 0,
    validation_data = list(binary_p, binary_y)
  )
  expect_true("val_auc" %in% names(history$metrics))
  expect_true(history$metrics$val_auc >= 0 && history$metrics$val_auc <= 1)
})

test_that("metric constructors reject bad arguments", {
  expect_error(metric_auc(num_thresholds = 1), "`num_thresholds` must be a single integer >= 2, got 1", class = "kerust_error")
  expect_error(metric_auc(curve = "XYZ"), "`curve` must be one of \"ROC\", \"PR\", \"PRGAIN\"", class = "kerust_error")
  expect_error(metric_auc(summation_method = "riemann"), "`summation_method` must be one of", class = "kerust_error")
  expect_error(metric_auc(thresholds = c(0.1, NA)), "`thresholds` must be NULL or a numeric vector", class = "kerust_error")
  expect_error(metric_auc(num_labels = 3), "`num_labels` is needed only when `multi_label` is TRUE", class = "kerust_error")
  expect_error(metric_auc(label_weights = c(1, -1)), "`label_weights` must be NULL or a numeric vector of finite non-negative", class = "kerust_error")
  expect_error(metric_auc(200), "Unknown argument in metric_auc\\(\\): an unnamed argument", class = "kerust_error")
  expect_error(metric_precision(class_id = -1), "`class_id` must be a single integer >= 0, got -1", class = "kerust_error")
  expect_error(metric_recall(thresholds = 1.5), "`thresholds` must be a single number in \\[0, 1\\], got 1.5", class = "kerust_error")
  expect_error(metric_precision(thresholds = c(0.3, 0.5)), "got 2 thresholds", class = "kerust_error")
  expect_error(metric_recall(top_k = 0), "`top_k` must be a single integer >= 1, got 0", class = "kerust_error")
  expect_error(metric_binary_crossentropy(label_smoothing = 2), "`label_smoothing` must be a single number in \\[0, 1\\]", class = "kerust_error")
  expect_error(metric_categorical_crossentropy(axis = 1), "`axis` must be -1", class = "kerust_error")
  expect_error(metric_sparse_categorical_crossentropy(ignore_class = 1.5), "`ignore_class` must be NULL or a single integer", class = "kerust_error")
  expect_error(metric_r2_score(class_aggregation = NULL), "kerust reports one number per metric", class = "kerust_error")
  expect_error(metric_r2_score(class_aggregation = "median"), "`class_aggregation` must be one of", class = "kerust_error")
  expect_error(metric_r2_score(num_regressors = -1), "`num_regressors` must be a single integer >= 0", class = "kerust_error")
  expect_error(metric_mean_absolute_percentage_error(dtype = "float64"), "`dtype` must be NULL or \"float32\"", class = "kerust_error")
})

test_that("metric errors name the function called", {
  err <- tryCatch(metric_auc(num_thresholds = 1), error = function(e) e)
  expect_identical(conditionCall(err)[[1]], as.name("metric_auc"))
  err <- tryCatch(metric_precision(class_id = -1), error = function(e) e)
  expect_identical(conditionCall(err)[[1]], as.name("metric_precision"))
})

test_that("compile checks output-dependent options", {
  model <- keras_model_sequential(input_shape = 3) |> layer_dense(3)
  expect_error(
    compile(model, loss = "mse", metrics = list(metric_precision(class_id = 3))),
    "metric \"precision\": `class_id` = 3 is out of range for an output of 3 values per sample",
    class = "kerust_error"
  )
  expect_error(
    compile(model, loss = "mse", metrics = list(metric_recall(top_k = 4))),
    "`top_k` = 4 is larger than the 3 values per sample",
    class = "kerust_error"
  )
  expect_error(
    compile(model, loss = "mse", metrics = list(metric_auc(multi_label = TRUE, num_labels = 2))),
    "`num_labels` = 2 but the output has 3 values per sample",
    class = "kerust_error"
  )
  expect_error(
    compile(model, loss = "mse", metrics = list(metric_auc(label_weights = c(1, 2)))),
    "`label_weights` has 2 values but the output has 3 values per sample",
    class = "kerust_error"
  )
})

test_that("metrics reject targets of the wrong form", {
  model <- identity_model(3, "sparse_categorical_crossentropy", list(metric_auc()))
  expect_error(
    evaluate(model, labels_p, c(0, 1, 2, 0, 1, 2), verbose = 0),
    "The metric \"auc\" needs targets with the output's 3 values per sample, but `y` has 1",
    class = "kerust_error"
  )
  model <- identity_model(3, "mse", list(metric_sparse_categorical_crossentropy()))
  expect_error(
    evaluate(model, labels_p, labels_y, verbose = 0),
    "The metric \"sparse_categorical_crossentropy\" needs integer class labels",
    class = "kerust_error"
  )
})

test_that("metric options survive saving", {
  model <- identity_model(3, "mse", list(
    metric_auc(curve = "PR", thresholds = c(0.1, 0.7), multi_label = TRUE, label_weights = c(1, 2, 3), name = "pr"),
    metric_precision(class_id = 1, thresholds = 0.3),
    metric_r2_score(num_regressors = 2),
    metric_binary_crossentropy(label_smoothing = 0.1),
    "mape"
  ))
  file <- tempfile(fileext = ".keras")
  save_model(model, file)
  loaded <- load_model(file)
  unlink(file)
  expect_equal(
    evaluate(loaded, labels_p, labels_y, verbose = 0),
    evaluate(model, labels_p, labels_y, verbose = 0)
  )
  params <- loaded$compiled$metrics[[1]]$params
  expect_identical(params$curve, "PR")
  expect_equal(params$thresholds, c(0.1, 0.7), tolerance = 1e-7)
  expect_equal(params$label_weights, c(1, 2, 3))
})

test_that("custom R metrics report the mean of their per-sample values", {
  # Per-sample mean absolute error, written in R, must equal the built-in mae.
  abs_error <- function(y_true, y_pred) rowMeans(abs(y_true - y_pred))
  set.seed(5)
  x <- matrix(runif(40), 20, 2)
  y <- cbind(x[, 1] + x[, 2], x[, 1] - x[, 2])
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(2)
  compile(model, optimizer = "sgd", loss = "mse", metrics = list("mae", my_mae = abs_error,
    custom_metric("worst", function(y_true, y_pred) apply(abs(y_true - y_pred), 1, max))))
  h <- fit(model, x, y, epochs = 2, batch_size = 7, verbose = 0)
  expect_equal(h$metrics$my_mae, h$metrics$mae, tolerance = 1e-6)
  r <- evaluate(model, x, y, verbose = 0)
  p <- predict(model, x)
  expect_equal(r$worst, mean(apply(abs(y - p), 1, max)), tolerance = 1e-6)
})

test_that("custom metric errors are reported", {
  x <- matrix(runif(20), 10, 2)
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  compile(model, optimizer = "sgd", loss = "mse", metrics = list(short = function(y_true, y_pred) 1))
  expect_error(fit(model, x, runif(10), batch_size = 5, verbose = 0),
    "custom metric 1 returned 1 values for a batch of 5 samples", class = "kerust_error")
  compile(model, optimizer = "sgd", loss = "mse", metrics = list(bad = function(y_true, y_pred) stop("no")))
  expect_error(evaluate(model, x, runif(10), verbose = 0), "custom metric \"bad\" failed: no", class = "kerust_error")
  expect_error(custom_metric("x", 1), "`metric_fn` must be a function", class = "kerust_error")
})
