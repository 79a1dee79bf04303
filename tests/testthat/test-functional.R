# The functional API: graphs of layers with several inputs and outputs,
# merge layers, shared layers and models, freezing, single-batch methods.
# Gradients through tensors used twice and shared layers are checked
# against finite differences in the engine (src/rust/engine/tests/graph.rs).

fashion_with_features <- function() {
  fm <- suppressMessages(dataset_fashion_mnist(path = system.file("extdata", "fashion-mnist", package = "kerust")))
  prep <- function(x) {
    images <- array_reshape(x / 255, c(nrow(x), 28, 28, 1))
    flat <- array_reshape(x / 255, c(nrow(x), 784))
    # A derived input (the fraction of inked pixels) and a regression
    # target (the mean brightness of the image).
    list(images = images, ink = matrix(rowMeans(flat > 0.5)), brightness = rowMeans(flat))
  }
  list(train = c(prep(fm$train$x), list(y = fm$train$y)), test = c(prep(fm$test$x), list(y = fm$test$y)))
}

two_input_model <- function() {
  image <- keras_input(c(28, 28, 1), name = "image")
  ink <- keras_input(1, name = "ink")
  h <- image |>
    layer_conv_2d(8, 3, activation = "relu") |>
    layer_max_pooling_2d(2) |>
    layer_flatten()
  h <- layer_concatenate(list(h, ink)) |> layer_dense(32, activation = "relu")
  class <- h |> layer_dense(10, activation = "softmax", name = "class")
  brightness <- h |> layer_dense(1, name = "brightness")
  keras_model(list(image, ink), list(class, brightness))
}

test_that("two-input two-output model trains on Fashion-MNIST", {
  d <- fashion_with_features()
  set.seed(1)
  model <- two_input_model()
  # Keras 3.15.1 counts 43,771 parameters for this architecture
  # (tools/golden/functional_counts.py, architecture A).
  expect_equal(count_params(model), 43771)
  compile(model,
    optimizer = "adam",
    loss = list(class = "sparse_categorical_crossentropy", brightness = "mse"),
    loss_weights = list(class = 1, brightness = 5),
    metrics = list(class = "accuracy", brightness = "mae")
  )
  x <- list(image = d$train$images, ink = d$train$ink)
  y <- list(class = d$train$y, brightness = d$train$brightness)
  history <- fit(model, x, y, epochs = 3, batch_size = 32, validation_split = 0.1, verbose = 0)
  expect_setequal(names(history$metrics), c(
    "loss", "class_loss", "brightness_loss", "class_accuracy", "brightness_mae",
    "val_loss", "val_class_loss", "val_brightness_loss", "val_class_accuracy", "val_brightness_mae"
  ))
  # The total loss is the weighted sum of the outputs' losses.
  last <- function(name) tail(history$metrics[[name]], 1)
  expect_equal(last("val_loss"), last("val_class_loss") + 5 * last("val_brightness_loss"), tolerance = 1e-5)
  # Inputs may also be given in order, unnamed; targets by output name.
  result <- evaluate(model, list(d$test$images, d$test$ink), list(brightness = d$test$brightness, class = d$test$y), verbose = 0)
  expect_equal(names(result)[1], "loss")
  # Over seeds 1-3 with the 2000-image subset (a script like this test):
  # test accuracy 0.754, 0.744, 0.690 and brightness MAE 0.040, 0.075,
  # 0.093, where predicting the mean gives about 0.10 (sd 0.13).
  expect_gt(result$class_accuracy, 0.7)
  expect_lt(result$brightness_mae, 0.06)
  p <- predict(model, list(image = d$test$images[1:5, , , , drop = FALSE], ink = d$test$ink[1:5, , drop = FALSE]))
  expect_named(p, c("class", "brightness"))
  expect_equal(dim(p$class), c(5L, 10L))
  expect_equal(dim(p$brightness), c(5L, 1L))
  expect_equal(rowSums(p$class), rep(1, 5), tolerance = 1e-6)
})

test_that("summary matches keras parameter counts", {
  set.seed(2)
  a <- keras_input(6)
  b <- keras_input(6)
  frozen <- layer_dense(units = 5, name = "frozen")
  shared <- layer_dense(units = 4, activation = "tanh", name = "shared")
  frozen$trainable <- FALSE
  za <- shared(frozen(a))
  zb <- shared(frozen(b))
  out <- layer_concatenate(list(
    layer_dot(list(za, zb), axes = 1, normalize = TRUE),
    layer_subtract(list(za, zb))
  )) |> layer_dense(1)
  model <- keras_model(list(a, b), out)
  # Keras 3.15.1 for the same graph (tools/golden/functional_counts.py,
  # architecture B): 65 parameters, 30 trainable, 35 non-trainable.
  text <- capture.output(summary(model))
  expect_true(any(grepl("Total params: 65 ", text)))
  expect_true(any(grepl("Trainable params: 30 ", text)))
  expect_true(any(grepl("Non-trainable params: 35 ", text)))
  expect_true(any(grepl("Connected to", text)))
  expect_true(any(grepl("shared[1][0]", text, fixed = TRUE)))
  expect_equal(count_params(model), 65)
})

test_that("shared layers share weights across models", {
  set.seed(3)
  shared <- layer_dense(units = 3, name = "shared_dense")
  a <- keras_input(2)
  b <- keras_input(2)
  pair <- keras_model(list(a, b), layer_add(list(shared(a), shared(b))))
  single <- keras_model(a, shared(a))
  expect_length(get_weights(pair), 2)
  x <- matrix(c(1, 2, 3, 4), 2)
  before <- predict(single, x)
  # pair(x, x) = 2 * single(x) with the same weights.
  expect_equal(predict(pair, list(x, x)), 2 * before, tolerance = 1e-6)
  compile(pair, optimizer = optimizer_sgd(0.1), loss = "mse")
  fit(pair, list(x, x), matrix(1, 2, 3), epochs = 2, verbose = 0)
  after <- predict(single, x)
  expect_false(isTRUE(all.equal(after, before)))
  expect_equal(predict(pair, list(x, x)), 2 * after, tolerance = 1e-6)
  expect_identical(get_weights(single), get_weights(pair))
  # And the other way round.
  compile(single, optimizer = optimizer_sgd(0.1), loss = "mse")
  fit(single, x, matrix(0, 2, 3), epochs = 1, verbose = 0)
  expect_identical(get_weights(pair), get_weights(single))
})

test_that("frozen weights stay unchanged", {
  set.seed(4)
  model <- keras_model_sequential(input_shape = 3) |>
    layer_dense(4, name = "a") |>
    layer_dense(1, name = "b")
  freeze_weights(model, to = "a")
  expect_false(get_layer(model, "a")$trainable)
  expect_true(get_layer(model, index = 2)$trainable)
  text <- capture.output(summary(model))
  expect_true(any(grepl("Non-trainable params: 16 ", text)))
  compile(model, optimizer = optimizer_sgd(0.1), loss = "mse")
  w0 <- get_weights(model)
  fit(model, matrix(runif(30), 10), runif(10), epochs = 2, verbose = 0)
  w1 <- get_weights(model)
  expect_identical(w1[1:2], w0[1:2])
  expect_false(identical(w1[[3]], w0[[3]]))
  unfreeze_weights(model)
  fit(model, matrix(runif(30), 10), runif(10), epochs = 1, verbose = 0)
  expect_false(identical(get_weights(model)[[1]], w1[[1]]))
  expect_error(freeze_weights(model, from = "zz"), "`from` = \"zz\" is not a layer of the model", class = "kerust_error")
  expect_error(freeze_weights(model, from = 2, to = 1), "`from` \\(layer 2\\) comes after `to` \\(layer 1\\)", class = "kerust_error")
})

test_that("merge layers compute known values", {
  a <- keras_input(3)
  b <- keras_input(3)
  model <- keras_model(list(a, b), list(
    layer_add(list(a, b)), layer_subtract(list(a, b)), layer_multiply(list(a, b)),
    layer_average(list(a, b)), layer_maximum(list(a, b)), layer_minimum(list(a, b)),
    layer_concatenate(list(a, b)), layer_dot(list(a, b), axes = 1), layer_dot(list(a, b), axes = 1, normalize = TRUE)
  ))
  xa <- matrix(c(1, -2, 3), 1)
  xb <- matrix(c(2, 2, -1), 1)
  p <- unname(predict(model, list(xa, xb)))
  # Values computed by hand.
  expect_equal(p[[1]], matrix(c(3, 0, 2), 1))
  expect_equal(p[[2]], matrix(c(-1, -4, 4), 1))
  expect_equal(p[[3]], matrix(c(2, -4, -3), 1))
  expect_equal(p[[4]], matrix(c(1.5, 0, 1), 1))
  expect_equal(p[[5]], matrix(c(2, 2, 3), 1))
  expect_equal(p[[6]], matrix(c(1, -2, -1), 1))
  expect_equal(p[[7]], matrix(c(1, -2, 3, 2, 2, -1), 1))
  expect_equal(p[[8]], matrix(-5, 1))
  expect_equal(p[[9]], matrix(-5 / (sqrt(14) * 3), 1), tolerance = 1e-6)
})

test_that("single-batch methods return keras values", {
  set.seed(5)
  x <- matrix(rnorm(40), ncol = 2)
  y <- x[, 1] - x[, 2]
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1, kernel_initializer = "zeros")
  compile(model, optimizer = optimizer_sgd(0.1), loss = "mse")
  # With zero weights the prediction is 0, so the loss is mean(y^2).
  expect_equal(test_on_batch(model, x, y), mean(y^2), tolerance = 1e-6)
  expect_equal(train_on_batch(model, x, y), mean(y^2), tolerance = 1e-6)
  expect_lt(test_on_batch(model, x, y), mean(y^2))
  expect_equal(predict_on_batch(model, x), predict(model, x))
  compile(model, optimizer = optimizer_sgd(0.1), loss = "mse", metrics = "mae")
  expect_named(train_on_batch(model, x, y), c("loss", "mae"))
})

test_that("loss weights scale the loss", {
  set.seed(6)
  x <- matrix(rnorm(20), ncol = 2)
  y <- rnorm(10)
  model <- keras_model_sequential(input_shape = 2) |> layer_dense(1)
  compile(model, loss = "mse")
  plain <- evaluate(model, x, y, verbose = 0)$loss
  compile(model, loss = "mse", loss_weights = 2)
  expect_equal(evaluate(model, x, y, verbose = 0)$loss, 2 * plain, tolerance = 1e-6)
})

test_that("layer objects and tensors compose", {
  dense <- layer_dense(units = 4, name = "hidden_layer")
  expect_output(print(dense), "<Dense name=hidden_layer>")
  x <- keras_input(c(3, 2), name = "x_in")
  expect_output(print(x), "<KerasTensor shape=\\(None, 3, 2\\), name=x_in>")
  y <- dense(x)
  expect_equal(y$shape, c(3L, 4L))
  # The same layer object in a Sequential model shares weights too.
  set.seed(7)
  seq_model <- keras_model_sequential(input_shape = c(3, 2), layers = list(dense))
  fun_model <- keras_model(x, y)
  input <- array(runif(12), c(2, 3, 2))
  expect_equal(predict(seq_model, input), predict(fun_model, input))
})

test_that("bad graphs and data are rejected", {
  a <- keras_input(4, name = "a")
  b <- keras_input(3, name = "b")
  h <- a |> layer_dense(2, name = "d1")
  expect_error(layer_add(list(a, b)), "Layer \"add.*\" \\(Add\\) cannot be called on the output of \"a\" and \"b\" \\(shape \\(None, 4\\) and \\(None, 3\\)\\)", class = "kerust_error")
  expect_error(layer_dense(list(a, b), 3), "takes one input tensor, got a list of 2", class = "kerust_error")
  expect_error(keras_model(list(a, b), h), "The outputs do not depend on input \"b\"", class = "kerust_error")
  expect_error(keras_model(b, h), "The outputs depend on input \"a\", which is not in `inputs`", class = "kerust_error")
  expect_error(keras_model(h, h), "`inputs\\[\\[1\\]\\]` is not a tensor from keras_input\\(\\) but the output of layer \"d1\"", class = "kerust_error")
  expect_error(keras_input(c(28, NA)), "variable sizes", class = "kerust_error")
  expect_error(keras_input(shape = 0), "`shape` must be a vector of positive integers", class = "kerust_error")
  shared <- layer_dense(units = 2, name = "s")
  shared(a)
  expect_error(shared(b), "Layer \"s\" was first called on inputs of shape \\(None, 4\\); calling it again \\(shared weights\\) needs the same shape, got \\(None, 3\\)", class = "kerust_error")

  o1 <- a |> layer_dense(2, name = "o1")
  o2 <- b |> layer_dense(1, name = "o2")
  model <- keras_model(list(a, b), list(o1, o2))
  expect_error(compile(model, loss = list(o1 = "mse", o3 = "mse")), "`loss` names \"o3\", which is not an output; the outputs are \"o1\", \"o2\"", class = "kerust_error")
  expect_error(compile(model, loss = list("mse", "mse", "mse")), "`loss` has 3 entries but the model has 2 outputs", class = "kerust_error")
  compile(model, loss = "mse")
  xa <- matrix(0, 5, 4)
  xb <- matrix(0, 5, 3)
  expect_error(fit(model, list(xa), list(matrix(0, 5, 2), matrix(0, 5, 1)), verbose = 0), "`x` has 1 arrays but the model has 2 inputs \\(\"a\", \"b\"\\)", class = "kerust_error")
  expect_error(fit(model, list(a = xa, c = xb), list(matrix(0, 5, 2), matrix(0, 5, 1)), verbose = 0), "\"c\" is not one of them", class = "kerust_error")
  expect_error(fit(model, xa, list(matrix(0, 5, 2), matrix(0, 5, 1)), verbose = 0), "`x` must be a list of 2 arrays, one per input", class = "kerust_error")
  expect_error(fit(model, list(a = xa, xb), list(matrix(0, 5, 2), matrix(0, 5, 1)), verbose = 0), "`x` must be named by different input names, or not named at all", class = "kerust_error")
  expect_error(predict(model, list(a = xa, b = xb, a = xa)), "`x` must be named by different input names", class = "kerust_error")
  expect_error(fit(model, list(xa, xb), matrix(0, 5, 2), verbose = 0), "`y` must be a list of 2 arrays, one per output", class = "kerust_error")
  expect_error(fit(model, list(xa, xb[1:4, ]), list(matrix(0, 5, 2), matrix(0, 5, 1)), verbose = 0), "must have the same number of samples", class = "kerust_error")
  expect_error(fit(model, list(xa, xb), list(matrix(0, 5, 3), matrix(0, 5, 1)), verbose = 0), "`y\\$o1` has 3 values per sample but the model outputs 2", class = "kerust_error")
  # Nothing changed: the model still predicts.
  expect_length(predict(model, list(xa, xb)), 2)
  expect_error(get_layer(model, "nope"), "The model has no layer named \"nope\"", class = "kerust_error")
  expect_error(model |> layer_dense(3), "Layers can only be appended to a Sequential model", class = "kerust_error")
})

test_that("functional models survive saveRDS", {
  set.seed(8)
  a <- keras_input(3)
  model <- keras_model(a, a |> layer_dense(4, activation = "relu") |> layer_dense(1))
  compile(model, optimizer = "adam", loss = "mse")
  fit(model, matrix(runif(30), 10), runif(10), epochs = 1, verbose = 0)
  x <- matrix(runif(6), 2)
  expected <- predict(model, x)
  path <- tempfile(fileext = ".rds")
  saveRDS(model, path)
  back <- readRDS(path)
  expect_identical(predict(back, x), expected)
  fit(back, matrix(runif(30), 10), runif(10), epochs = 1, verbose = 0)
})

test_that("nested models share their weights", {
  set.seed(9)
  encoder <- keras_model_sequential(input_shape = 4, name = "encoder") |>
    layer_dense(3, name = "enc") |>
    layer_dense(2, name = "code")
  x <- keras_input(4)
  z <- encoder(x)
  expect_equal(z$shape, 2L)
  model <- keras_model(x, z |> layer_dense(1, name = "head"))
  expect_equal(count_params(model), 15 + 8 + 3)
  data <- matrix(runif(20), 5)
  # Calling a model on data predicts.
  expect_equal(encoder(data), predict(encoder, data))
  before <- predict(encoder, data)
  compile(model, optimizer = optimizer_sgd(0.5), loss = "mse")
  fit(model, data, runif(5), epochs = 3, verbose = 0)
  after <- predict(encoder, data)
  expect_false(isTRUE(all.equal(after, before)))
  expect_equal(predict(keras_model(x, z), data), after)
  # Feature extraction from a layer's output.
  features <- keras_model(encoder$input, get_layer(encoder, "enc")$output)
  expect_equal(dim(predict(features, data)), c(5L, 3L))
  # A functional model called twice inside another.
  inner <- keras_model(x, z, name = "inner")
  y <- keras_input(4)
  outer <- keras_model(y, layer_add(list(inner(y), inner(y))))
  expect_equal(predict(outer, data), 2 * predict(inner, data), tolerance = 1e-6)
  expect_error(inner(list(y, y)), "Model \"inner\" has 1 input but was called on 2 tensors", class = "kerust_error")
  expect_error(encoder(keras_input(5)), "Layer \"enc\" was first called on inputs of shape \\(None, 4\\)", class = "kerust_error")
})

test_that("clone_model draws new weights", {
  set.seed(10)
  a <- keras_input(3, name = "a")
  shared <- layer_dense(units = 2, name = "shared")
  model <- keras_model(a, layer_add(list(shared(a), shared(a))))
  copy <- clone_model(model)
  expect_equal(count_params(copy), count_params(model))
  expect_false(isTRUE(all.equal(get_weights(copy), get_weights(model))))
  # The shared layer stays one layer in the clone.
  expect_length(get_weights(copy), 2)
  seq_model <- keras_model_sequential(input_shape = 3) |> layer_dense(4, activation = "relu") |> layer_dense(1)
  seq_copy <- clone_model(seq_model)
  expect_s3_class(seq_copy, "kerust_sequential")
  expect_equal(vapply(seq_copy$layers, function(l) l$name, ""), vapply(seq_model$layers, function(l) l$name, ""))
  wider <- clone_model(seq_model, clone_function = function(layer) {
    if (layer$name == seq_model$layers[[1]]$name) layer_dense(units = 8, activation = "relu", name = layer$name) else layer
  })
  expect_equal(count_params(wider), 3 * 8 + 8 + 8 + 1)
  expect_error(clone_model(seq_model, clone_function = function(layer) 1), "`clone_function` must return a layer", class = "kerust_error")
})

test_that("plot draws the layer graph", {
  a <- keras_input(4, name = "a")
  b <- keras_input(2, name = "b")
  model <- keras_model(list(a, b), layer_concatenate(list(a |> layer_dense(3), b)) |> layer_dense(1))
  path <- tempfile(fileext = ".png")
  expect_invisible(plot(model, show_shapes = TRUE, to_file = path))
  expect_gt(file.size(path), 1000)
  seq_model <- keras_model_sequential(input_shape = 3) |> layer_dense(2)
  path2 <- tempfile(fileext = ".png")
  plot(seq_model, rankdir = "LR", to_file = path2)
  expect_true(file.exists(path2))
  expect_error(plot(model, rankdir = "BT"), "`rankdir`", class = "kerust_error")
  expect_error(plot(model, to_file = "graph.pdf"), "`to_file` must end in \".png\"", class = "kerust_error")
  expect_error(plot(keras_model_sequential()), "not built yet", class = "kerust_error")
})

test_that("get_weights and set_weights work on one layer", {
  set.seed(11)
  model <- keras_model_sequential(input_shape = 3) |>
    layer_dense(4, name = "first") |>
    layer_dense(1, name = "second")
  first <- get_layer(model, "first")
  w <- get_weights(first)
  expect_equal(lapply(w, dim), list(c(3L, 4L), 4L))
  expect_identical(w, get_weights(model)[1:2])
  w[[2]][] <- 1
  set_weights(first, w)
  expect_equal(as.vector(get_weights(model)[[2]]), rep(1, 4))
  expect_identical(get_weights(model)[3:4], get_weights(get_layer(model, "second")))
  expect_error(set_weights(first, w[1]), "`weights` has 1 arrays but layer \"first\" has 2 weights", class = "kerust_error")
  expect_error(set_weights(first, "x"), "`weights` must be a list of arrays", class = "kerust_error")
})

test_that("model$trainable freezes every layer", {
  set.seed(12)
  base <- keras_model_sequential(input_shape = 3) |> layer_dense(4, name = "base_dense")
  expect_true(base$trainable)
  base$trainable <- FALSE
  expect_false(base$trainable)
  x <- keras_input(3)
  model <- keras_model(x, base(x) |> layer_dense(1, name = "top"))
  text <- capture.output(summary(model))
  expect_true(any(grepl("Non-trainable params: 16 ", text)))
  compile(model, optimizer = optimizer_sgd(0.1), loss = "mse")
  before <- get_weights(base)
  fit(model, matrix(runif(30), 10), runif(10), epochs = 2, verbose = 0)
  expect_identical(get_weights(base), before)
  expect_error(base$trainable <- NA, "`trainable` must be TRUE or FALSE", class = "kerust_error")
})

run_in_new_session <- function(code) {
  rscript <- file.path(R.home("bin"), "Rscript")
  libs <- paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep))
  system2(rscript, c("-e", shQuote(code)), env = libs, stdout = TRUE, stderr = TRUE)
}

test_that("a model read back in a new session extends correctly", {
  set.seed(13)
  inp <- keras_input(3, name = "inp")
  out <- inp |> layer_dense(2, name = "feat") |> layer_dense(1, name = "out")
  path <- tempfile(fileext = ".rds")
  saveRDS(keras_model(inp, out), path)
  # In a new session tensor and layer names start again; the new head must
  # not be confused with the loaded model's tensors or layers.
  result <- run_in_new_session(sprintf(paste(
    "library(kerust); set.seed(2); base <- readRDS('%s')",
    "feat <- get_layer(base, 'feat')$output",
    "m <- keras_model(base$inputs, list(base$outputs[[1]], feat |> layer_dense(1, name = 'new_head')))",
    "p <- predict(m, matrix(1:6, 2))",
    "cat('names', names(p), 'dims', dim(p[[2]]), '\\n')",
    "x <- keras_input(3); y <- x |> layer_dense(3)",
    "cat('layers', length(keras_model(x, base(y))$layers), '\\n')",
    sep = "; "
  ), path))
  expect_true(any(grepl("names out new_head dims 2 1", result)), info = paste(result, collapse = "\n"))
  expect_true(any(grepl("layers 3", result)), info = paste(result, collapse = "\n"))
})

test_that("saving takes the newest weights of shared layers", {
  set.seed(14)
  s <- keras_model_sequential(input_shape = 3, name = "s") |> layer_dense(2, name = "enc")
  x <- keras_input(3)
  a <- keras_model(x, s(x) |> layer_dense(1, name = "head"))
  compile(a, optimizer = optimizer_sgd(0.5), loss = "mse")
  fit(a, matrix(rnorm(30), 10), rnorm(10), epochs = 3, verbose = 0)
  path <- tempfile(fileext = ".keras")
  save_model(s, path)
  expect_identical(get_weights(load_model(path)), get_weights(s))
  rds <- tempfile(fileext = ".rds")
  saveRDS(s, rds)
  expect_identical(get_weights(readRDS(rds)), get_weights(a)[1:2])
  # Loaded weights reach the models sharing the layer.
  weights <- tempfile(fileext = ".weights.safetensors")
  w <- get_weights(s)
  w[[1]][] <- 0.25
  set_weights(s, w)
  save_model_weights(s, weights)
  fit(a, matrix(rnorm(30), 10), rnorm(10), epochs = 1, verbose = 0)
  load_model_weights(s, weights)
  expect_equal(as.vector(get_weights(a)[[1]]), rep(0.25, 6))
})

test_that("layer sharing survives pop_layer", {
  set.seed(15)
  s <- keras_model_sequential(input_shape = 3) |> layer_dense(4, name = "d1") |> layer_dense(2, name = "d2")
  i <- keras_input(4)
  f <- keras_model(i, get_layer(s, "d2")(i))
  compile(s, optimizer = "sgd", loss = "mse")
  fit(s, matrix(rnorm(30), 10), matrix(rnorm(20), 10), epochs = 1, verbose = 0)
  trained <- get_weights(s)[3:4]
  pop_layer(s)
  expect_identical(get_weights(f), trained)
  s |> layer_dense(5, name = "d2")
  expect_identical(get_weights(f), trained)
})

test_that("named tensor lists and named outputs are matched by name", {
  a <- keras_input(3, name = "a")
  b <- keras_input(3, name = "b")
  difference <- keras_model(list(a, b), layer_subtract(list(a, b)))
  x <- keras_input(3, name = "x")
  y <- keras_input(3, name = "y")
  m <- keras_model(list(x, y), difference(list(b = y, a = x)))
  # a = x = 1, b = y = 5: a - b = -4.
  expect_equal(predict(m, list(matrix(1, 1, 3), matrix(5, 1, 3))), matrix(-4, 1, 3))
  expect_error(difference(list(c = x, a = y)), "\"c\" is not one of them", class = "kerust_error")
  two <- keras_model(a, list(first = a |> layer_dense(2), second = a |> layer_dense(1)))
  compile(two, loss = list(first = "mse", second = "mse"))
  h <- fit(two, matrix(0, 4, 3), list(first = matrix(0, 4, 2), second = matrix(0, 4, 1)), verbose = 0)
  expect_setequal(names(h$metrics), c("loss", "first_loss", "second_loss"))
  expect_error(compile(two, loss = list(first = "mse")), "`loss` has no loss for output \"second\"", class = "kerust_error")
})

test_that("layer names and flags are checked", {
  expect_error(layer_dense(units = 2, name = "a/b"), "`name` cannot contain \"/\", got \"a/b\"", class = "kerust_error")
  a <- keras_input(3, name = "a")
  b <- keras_input(3, name = "b")
  expect_error(keras_model(list(a, b), layer_add(list(a, b), name = "a")), "The name \"a\" is used by an input and a layer", class = "kerust_error")
  m <- keras_model(a, a |> layer_dense(2, name = "d"))
  expect_error(m$layers[[1]]$trainable <- FALSE, "get_layer\\(model, \"d\"\\)\\$trainable <- FALSE", class = "kerust_error")
  frozen <- layer_dense(units = 2, name = "frozen")
  frozen$trainable <- FALSE
  expect_false(get_layer(clone_model(keras_model(a, frozen(a))), "frozen")$trainable)
  expect_error(keras_input(c(50000, 50000)) |> layer_flatten(), "with an axis longer than R can index", class = "kerust_error")
  expect_error(m(m), "was called on another model; call it on tensors", class = "kerust_error")
})

test_that("deep graphs build", {
  x <- keras_input(2)
  t <- x
  for (k in 1:1000) t <- layer_activation(t, "linear")
  expect_length(keras_model(x, t)$layers, 1000)
})

test_that("frozen layers stay frozen through save_model", {
  s <- keras_model_sequential(input_shape = 3) |> layer_dense(4, name = "a") |> layer_dense(1, name = "b")
  freeze_weights(s, to = "a")
  path <- tempfile(fileext = ".keras")
  save_model(s, path)
  loaded <- load_model(path)
  expect_false(get_layer(loaded, "a")$trainable)
  text <- capture.output(summary(loaded))
  expect_true(any(grepl("Non-trainable params: 16 ", text)))
})

test_that("nested models are found by name", {
  set.seed(16)
  generator <- keras_model_sequential(input_shape = 2, name = "G") |> layer_dense(4, name = "g1")
  discriminator <- keras_model_sequential(input_shape = 4, name = "D") |> layer_dense(1, activation = "sigmoid", name = "d1")
  z <- keras_input(2)
  gan <- keras_model(z, discriminator(generator(z)))
  expect_identical(get_layer(gan, "D"), discriminator)
  freeze_weights(gan, which = "D")
  expect_false(get_layer(discriminator, "d1")$trainable)
  expect_true(get_layer(gan, "g1")$trainable)
  compile(gan, optimizer = optimizer_sgd(0.5), loss = "binary_crossentropy")
  before_d <- get_weights(discriminator)
  before_g <- get_weights(generator)
  train_on_batch(gan, matrix(rnorm(16), 8), rep(1, 8))
  expect_identical(get_weights(discriminator), before_d)
  expect_false(identical(get_weights(generator), before_g))
})

test_that("arithmetic on tensors adds layers", {
  a <- keras_input(3)
  b <- keras_input(3)
  model <- keras_model(list(a, b), list((a + b) * 0.5 - a * b, 2 - a / 4, -b))
  xa <- matrix(c(1, 2, 3), 1)
  xb <- matrix(c(3, 2, 1), 1)
  p <- unname(predict(model, list(xa, xb)))
  # Computed by hand: (a + b) / 2 - a b, 2 - a / 4 and -b.
  expect_equal(p[[1]], matrix(c(2 - 3, 2 - 4, 2 - 3), 1))
  expect_equal(p[[2]], matrix(c(1.75, 1.5, 1.25), 1))
  expect_equal(p[[3]], -xb)
  expect_error(a / b, "`/` between two symbolic tensors is not supported", class = "kerust_error")
  expect_error(a + c(1, 2), "needs another tensor or a single finite number", class = "kerust_error")
  expect_error(a / 0, "divided by a non-zero number", class = "kerust_error")
  expect_error(a^2, "`\\^` is not supported on symbolic tensors", class = "kerust_error")
})
