# Saving and loading models, weights files, raw vectors, and models copied
# by saveRDS() or sent to other processes.

toy_data <- function(n = 40) {
  set.seed(99)
  x <- matrix(rnorm(n * 3), ncol = 3)
  list(x = x, y = as.integer(x[, 1] + x[, 2] > 0))
}

# A small classifier; `seed` fixes the initial weights and training seed.
toy_model <- function(seed = 1, dropout_seed = NULL, optimizer = "adam", units = 2) {
  set.seed(seed)
  model <- keras_model_sequential(input_shape = 3) |>
    layer_dense(8, activation = "relu") |>
    layer_dropout(0.3, seed = dropout_seed) |>
    layer_dense(units, activation = "softmax")
  model |> compile(optimizer = optimizer, loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  model
}

# Reads entry `name` of a zip archive as bytes (unz() in text mode returns
# nothing for entries without a final newline).
zip_entry <- function(path, name) {
  size <- utils::unzip(path, list = TRUE)
  size <- size$Length[size$Name == name]
  con <- unz(path, name, "rb")
  on.exit(close(con))
  readBin(con, "raw", size)
}

zip_text <- function(path, name) rawToChar(zip_entry(path, name))

read_bytes <- function(path) readBin(path, "raw", file.size(path))

fixture <- function(name) test_path("fixtures", name)

# Temporary paths; R removes them with its session's temporary directory.
temp_path <- function(ext) tempfile(fileext = ext)

temp_dir <- function() {
  dir <- tempfile("dir")
  dir.create(dir)
  dir
}

run_rscript <- function(code) {
  rscript <- file.path(R.home("bin"), "Rscript")
  libs <- paste0("R_LIBS=", paste(.libPaths(), collapse = .Platform$path.sep))
  system2(rscript, c("-e", shQuote(code)), env = libs, stdout = TRUE, stderr = TRUE)
}

test_that("save_model writes the Keras 3 layout", {
  model <- toy_model()
  path <- temp_path(".keras")
  expect_identical(save_model(model, path), model)
  expect_equal(utils::unzip(path, list = TRUE)$Name, c("metadata.json", "config.json", "model.weights.safetensors"))

  metadata <- zip_text(path, "metadata.json")
  expect_match(metadata, "\"saved_by\":\"kerust\"", fixed = TRUE)
  expect_match(metadata, "\"format_version\":1", fixed = TRUE)
  expect_match(metadata, sprintf("\"kerust_version\":\"%s\"", utils::packageVersion("kerust")), fixed = TRUE)

  config <- zip_text(path, "config.json")
  expected <- c(
    "\"class_name\":\"Sequential\"",
    "\"class_name\":\"InputLayer\",\"config\":{\"batch_shape\":[null,3]",
    "\"class_name\":\"Dense\"", "\"units\":8", "\"activation\":\"relu\"",
    "\"kernel_initializer\":{\"class_name\":\"GlorotUniform\"",
    "\"class_name\":\"Dropout\"", "\"rate\":0.3",
    "\"compile_config\":{", "\"class_name\":\"Adam\"", "\"learning_rate\":0.001",
    "\"class_name\":\"SparseCategoricalCrossentropy\"", "\"name\":\"accuracy\""
  )
  for (text in expected) expect_match(config, text, fixed = TRUE)
})

test_that("weights are little-endian F32 safetensors", {
  model <- toy_model()
  path <- temp_path(".keras")
  save_model(model, path)
  bytes <- zip_entry(path, "model.weights.safetensors")
  header_len <- readBin(bytes[1:8], "integer", size = 8, endian = "little")
  header <- rawToChar(bytes[8 + seq_len(header_len)])
  expect_match(header, "\"layers/dense[_0-9]*/vars/0\":\\{\"data_offsets\":\\[0,96\\],\"dtype\":\"F32\",\"shape\":\\[3,8\\]\\}")
  expect_match(header, "\"saved_by\":\"kerust\"", fixed = TRUE)
  # The first tensor is the first kernel, row-major (input_dim x units).
  data <- bytes[8 + header_len + seq_len(96)]
  kernel <- readBin(data, "double", n = 24, size = 4, endian = "little")
  expect_identical(kernel, as.vector(t(get_weights(model)[[1]])))
})

test_that("loaded model predicts bitwise alike", {
  set.seed(3)
  model <- keras_model_sequential(input_shape = c(2, 3), name = "many_layers") |>
    layer_flatten(name = "flat") |>
    layer_dense(6, activation = "tanh", kernel_initializer = initializer_random_normal(stddev = 0.3, seed = 4), name = "hidden") |>
    layer_dropout(0.25, name = "drop") |>
    layer_reshape(c(2, 3), name = "shape") |>
    layer_activation("relu", name = "act") |>
    layer_flatten(name = "flat2") |>
    layer_dense(3, activation = "softmax", use_bias = FALSE, name = "out")
  model |> compile(optimizer = optimizer_sgd(learning_rate = 0.05, momentum = 0.9), loss = "categorical_crossentropy", metrics = c("accuracy", "mae"))
  x <- array(runif(60), c(10, 2, 3))
  y <- to_categorical(sample(0:2, 10, TRUE), 3)
  model |> fit(x, y, epochs = 2, batch_size = 4, verbose = 0)

  path <- temp_path(".keras")
  save_model(model, path)
  loaded <- load_model(path)
  expect_s3_class(loaded, "kerust_model")
  expect_identical(predict(loaded, x), predict(model, x))
  expect_identical(get_weights(loaded), get_weights(model))
  expect_identical(capture.output(summary(loaded)), capture.output(summary(model)))
  expect_identical(loaded$name, "many_layers")
  expect_identical(
    vapply(loaded$layers, function(l) l$class_name, ""),
    c("Flatten", "Dense", "Dropout", "Reshape", "Activation", "Flatten", "Dense")
  )
  expect_identical(loaded$layers[[2]]$config$kernel_initializer$params[["stddev"]], 0.3)
  expect_identical(loaded$compiled$optimizer$name, "sgd")
  expect_identical(loaded$compiled$optimizer$learning_rate, 0.05)
  expect_identical(loaded$compiled$loss$name, "categorical_crossentropy")
  expect_identical(vapply(loaded$compiled$metrics, function(m) m$name, ""), c("accuracy", "mae"))
  history <- loaded |> fit(x, y, epochs = 1, verbose = 0)
  expect_setequal(names(history$metrics), c("loss", "accuracy", "mae"))
})

test_that("resumed training repeats uninterrupted training", {
  data <- toy_data()
  cases <- list(
    list(optimizer = "adam", dropout_seed = NULL),
    list(optimizer = "adam", dropout_seed = 7),
    list(optimizer = optimizer_sgd(momentum = 0.9, nesterov = TRUE), dropout_seed = NULL),
    list(optimizer = optimizer_rmsprop(centered = TRUE, momentum = 0.5), dropout_seed = 11)
  )
  for (case in cases) {
    straight <- toy_model(dropout_seed = case$dropout_seed, optimizer = case$optimizer)
    straight |> fit(data$x, data$y, epochs = 5, batch_size = 8, verbose = 0)

    first <- toy_model(dropout_seed = case$dropout_seed, optimizer = case$optimizer)
    first |> fit(data$x, data$y, epochs = 3, batch_size = 8, verbose = 0)
    path <- temp_path(".keras")
    save_model(first, path)
    resumed <- load_model(path)
    resumed |> fit(data$x, data$y, epochs = 5, initial_epoch = 4, batch_size = 8, verbose = 0)
    expect_identical(get_weights(resumed), get_weights(straight))
  }
})

test_that("format version 1 file still loads", {
  # fixtures/mlp-format-1.keras was written by kerust 0.1.0 with
  # fixtures/make-fixtures.R, which printed the values below.
  model <- load_model(fixture("mlp-format-1.keras"))
  expect_identical(model$name, "fixture_mlp")
  expect_identical(vapply(model$layers, function(l) l$name, ""), c("hidden", "drop", "output"))
  expect_identical(model$layers[[2]]$config$seed, 2)
  expect_identical(model$compiled$optimizer$name, "adam")
  expect_identical(model$compiled$optimizer$learning_rate, 0.01)
  expect_equal(count_params(model), 26)
  expected <- list(
    matrix(c(
      0.87475579977035522, -0.44208213686943054, 0.019502667710185051, 0.38749444484710693,
      0.82990807294845581, -0.1952085942029953, -0.099907852709293365, -0.23606637120246887,
      -0.53077304363250732, -0.58466792106628418, 0.37589150667190552, -0.818470299243927
    ), 3, 4),
    array(c(-0.006342895794659853, -0.018830638378858566, -0.0017305002547800541, -0.010589456185698509)),
    matrix(c(
      -0.80232340097427368, -0.61264413595199585, -0.49618807435035706, -0.28031778335571289,
      -0.30228292942047119, -0.16667938232421875, -0.21398311853408813, 0.27585402131080627
    ), 4, 2),
    array(c(0.056372418999671936, -0.056372418999671936))
  )
  expect_identical(get_weights(model), expected)
  x <- matrix(sin(seq_len(48)), ncol = 3)
  expected_predictions <- matrix(c(
    0.38356807827949524, 0.61643195152282715,
    0.38864904642105103, 0.61135095357894897,
    0.43994331359863281, 0.56005668640136719
  ), 3, 2, byrow = TRUE)
  expect_equal(predict(model, x[1:3, ]), expected_predictions, tolerance = 1e-6)
  history <- model |> fit(x, as.integer(x[, 1] + x[, 2] > 0), epochs = 3, initial_epoch = 3, batch_size = 4, verbose = 0)
  expect_identical(history$params$epochs, 3L)
  expect_true("accuracy" %in% names(history$metrics))
})

test_that("newer format version is rejected", {
  path <- fixture("format-version-2.keras")
  expect_error(
    load_model(path),
    "format-version-2.keras\": it was written by kerust 9.0.0 in format version 2, but this version of kerust reads format version 1 and earlier; update kerust",
    fixed = TRUE, class = "kerust_error"
  )
})

test_that("Keras weights give a clear error", {
  path <- fixture("keras-3-layout.keras")
  expect_error(load_model(path), "keras-3-layout.keras\": it is a Keras model file: its weights are in model.weights.h5 (HDF5), and reading Keras weights is not supported yet", fixed = TRUE, class = "kerust_error")
  model <- toy_model()
  before <- get_weights(model)
  expect_error(load_model_weights(model, path), "reading Keras weights is not supported yet", fixed = TRUE, class = "kerust_error")
  expect_identical(get_weights(model), before)
  h5 <- temp_path(".keras")
  writeBin(as.raw(c(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, rep(0, 40))), h5)
  expect_error(load_model(h5), "it is an HDF5 file", class = "kerust_error")
})

test_that("weights load by name and order", {
  source <- toy_model(seed = 1)
  path <- temp_path(".weights.safetensors")
  expect_identical(save_model_weights(source, path), source)
  # Same layer names.
  set.seed(2)
  renamed <- keras_model_sequential(input_shape = 3, layers = list(
    layer_dense(units = 8, activation = "relu", name = source$layers[[1]]$name),
    layer_dropout(rate = 0.3),
    layer_dense(units = 2, activation = "softmax", name = source$layers[[3]]$name)
  ))
  expect_false(identical(get_weights(renamed), get_weights(source)))
  load_model_weights(renamed, path)
  expect_identical(get_weights(renamed), get_weights(source))
  # Other layer names: matched by order, as in a new session.
  other <- toy_model(seed = 3)
  expect_false(identical(other$layers[[1]]$name, source$layers[[1]]$name))
  expect_identical(load_model_weights(other, path), other)
  expect_identical(get_weights(other), get_weights(source))
  x <- toy_data()$x
  expect_identical(predict(other, x), predict(source, x))
})

test_that("load_model_weights reads .keras files", {
  source <- toy_model(seed = 1)
  source |> fit(toy_data()$x, toy_data()$y, epochs = 1, verbose = 0)
  path <- temp_path(".keras")
  save_model(source, path)
  target <- toy_model(seed = 5)
  load_model_weights(target, path)
  expect_identical(get_weights(target), get_weights(source))
})

test_that("misfitting weights leave model unchanged", {
  source <- toy_model(seed = 1, units = 2)
  path <- temp_path(".weights.safetensors")
  save_model_weights(source, path)
  target <- toy_model(seed = 2, units = 3)
  before <- get_weights(target)
  expect_error(
    load_model_weights(target, path),
    sprintf(
      "cannot load weights from \"%s\": layer \"%s\" (\"%s\" in the file): weight \"kernel\" has shape (8, 2) in the file but (8, 3) in the model",
      path, target$layers[[3]]$name, source$layers[[3]]$name
    ),
    fixed = TRUE, class = "kerust_error"
  )
  expect_identical(get_weights(target), before)
  expect_warning(load_model_weights(target, path, skip_mismatch = TRUE), "Skipped 1 mismatched layer")
  after <- get_weights(target)
  expect_identical(after[1:2], get_weights(source)[1:2])
  expect_identical(after[3:4], before[3:4])

  small <- keras_model_sequential(input_shape = 3) |> layer_dense(8)
  before <- get_weights(small)
  expect_error(load_model_weights(small, path), "the file has weights for 2 layers", class = "kerust_error")
  expect_identical(get_weights(small), before)
})

test_that("HDF5 weight names are rejected", {
  model <- toy_model()
  expect_error(
    save_model_weights(model, "model.weights.h5"),
    "`filepath` must end in \".weights.safetensors\": kerust cannot write Keras HDF5 weights yet. Use \"model.weights.safetensors\".",
    fixed = TRUE, class = "kerust_error"
  )
  expect_error(
    load_model_weights(model, "model.weights.h5"),
    "reading Keras HDF5 weights (.weights.h5) is not supported yet. Save the weights with save_model_weights(model, \"model.weights.safetensors\") instead.",
    fixed = TRUE, class = "kerust_error"
  )
  expect_error(save_model(model, "model.h5"), "Use \"model.keras\"", fixed = TRUE, class = "kerust_error")
  expect_error(save_model_weights(model, "model.safetensors"), "must end in \".weights.safetensors\"", fixed = TRUE, class = "kerust_error")
})

test_that("serialize_model returns the file bytes", {
  model <- toy_model()
  model |> fit(toy_data()$x, toy_data()$y, epochs = 1, verbose = 0)
  path <- temp_path(".keras")
  save_model(model, path)
  bytes <- serialize_model(model)
  expect_type(bytes, "raw")
  expect_identical(bytes, read_bytes(path))
  expect_identical(save_model(model, NULL), bytes)
  restored <- unserialize_model(bytes)
  x <- toy_data()$x
  expect_identical(predict(restored, x), predict(model, x))
  expect_identical(predict(load_model(bytes), x), predict(model, x))

  lean <- serialize_model(model, include_optimizer = FALSE)
  expect_lt(length(lean), length(bytes))
  expect_false(is.null(unserialize_model(lean)$compiled))
  expect_null(unserialize_model(bytes, compile = FALSE)$compiled)
  expect_error(unserialize_model("x"), "`model` must be a raw vector", class = "kerust_error")
})

test_that("model survives saveRDS and readRDS", {
  data <- toy_data()
  model <- toy_model(dropout_seed = NULL)
  model |> fit(data$x, data$y, epochs = 2, batch_size = 8, verbose = 0)
  path <- temp_path(".rds")
  saveRDS(model, path)
  back <- readRDS(path)
  expect_identical(predict(back, data$x), predict(model, data$x))
  # Training continues exactly as the original does.
  back |> fit(data$x, data$y, epochs = 4, initial_epoch = 3, batch_size = 8, verbose = 0)
  model |> fit(data$x, data$y, epochs = 4, initial_epoch = 3, batch_size = 8, verbose = 0)
  expect_identical(get_weights(back), get_weights(model))
})

test_that("model survives save and load", {
  model <- toy_model()
  x <- toy_data()$x
  expected <- predict(model, x)
  path <- temp_path(".RData")
  save(model, file = path)
  env <- new.env()
  load(path, envir = env)
  expect_identical(predict(env$model, x), expected)
  expect_output(summary(env$model), "Total params: 50")
})

test_that("forked workers use and return models", {
  skip_on_os("windows")
  data <- toy_data()
  model <- toy_model()
  expected <- predict(model, data$x)
  results <- parallel::mclapply(1:2, function(i) {
    predicted <- predict(model, data$x)
    model |> fit(data$x, data$y, epochs = i, batch_size = 8, verbose = 0)
    list(predicted = predicted, model = model, after = predict(model, data$x))
  }, mc.cores = 2)
  for (i in 1:2) {
    expect_identical(results[[i]]$predicted, expected)
    expect_identical(predict(results[[i]]$model, data$x), results[[i]]$after)
  }
  # The parent's model did not change.
  expect_identical(predict(model, data$x), expected)
})

test_that("other R process reads saved model", {
  data <- toy_data()
  model <- toy_model()
  model |> fit(data$x, data$y, epochs = 1, batch_size = 8, verbose = 0)
  input <- temp_path(".rds")
  output <- temp_path(".rds")
  saveRDS(list(model = model, data = data), input)
  code <- sprintf(paste(
    "library(kerust)",
    "input <- readRDS('%s')",
    "m <- input$model",
    "predicted <- predict(m, input$data$x)",
    "m |> fit(input$data$x, input$data$y, epochs = 3, initial_epoch = 2, batch_size = 8, verbose = 0)",
    "saveRDS(list(predicted = predicted, weights = get_weights(m)), '%s')",
    sep = "; "
  ), input, output)
  log <- run_rscript(code)
  expect_true(file.exists(output), info = paste(log, collapse = "\n"))
  child <- readRDS(output)
  expect_identical(child$predicted, predict(model, data$x))
  model |> fit(data$x, data$y, epochs = 3, initial_epoch = 2, batch_size = 8, verbose = 0)
  expect_identical(child$weights, get_weights(model))
})

test_that("interrupted save keeps the old file", {
  skip_on_os("windows")
  # A process whose file size limit (ulimit -f) is below the file size is
  # killed by SIGXFSZ in the middle of writing.
  set.seed(1)
  model <- keras_model_sequential(input_shape = 100) |> layer_dense(200) |> layer_dense(1)
  dir <- temp_dir()
  path <- file.path(dir, "model.keras")
  save_model(model, path)
  old <- read_bytes(path)
  expect_gt(length(old), 40000)
  state <- file.path(dir, "model.rds")
  saveRDS(model, state)
  code <- sprintf(
    "library(kerust); m <- readRDS('%s'); set_weights(m, lapply(get_weights(m), function(w) w * 0)); save_model(m, '%s'); cat('finished')",
    state, path
  )
  rscript <- file.path(R.home("bin"), "Rscript")
  libs <- paste(.libPaths(), collapse = .Platform$path.sep)
  shell <- sprintf("ulimit -f 20; R_LIBS=%s exec %s -e %s", shQuote(libs), shQuote(rscript), shQuote(code))
  log <- suppressWarnings(system2("sh", c("-c", shQuote(shell)), stdout = TRUE, stderr = TRUE))
  expect_false(any(grepl("finished", log)))
  expect_identical(read_bytes(path), old)
  expect_identical(get_weights(load_model(path)), get_weights(model))
})

test_that("failed save keeps the old file", {
  model <- toy_model()
  dir <- temp_dir()
  path <- file.path(dir, "model.keras")
  save_model(model, path)
  old <- read_bytes(path)
  other <- toy_model(seed = 2)

  expect_error(save_model(other, path, overwrite = FALSE), "already exists; pass `overwrite = TRUE`", class = "kerust_error")
  expect_identical(read_bytes(path), old)
  missing_dir <- file.path(dir, "missing", "model.keras")
  expect_error(save_model(other, missing_dir), "does not exist", class = "kerust_error")
  expect_false(file.exists(missing_dir))

  skip_on_os("windows")
  skip_if(identical(unname(Sys.info()[["effective_user"]]), "root"), "root can write to read-only directories")
  Sys.chmod(dir, "0555")
  on.exit(Sys.chmod(dir, "0755"), add = TRUE)
  expect_error(save_model(other, path), sprintf("cannot write \"%s\"", path), fixed = TRUE, class = "kerust_error")
  expect_identical(read_bytes(path), old)
  expect_identical(list.files(dir, all.files = TRUE, no.. = TRUE), "model.keras")
})

test_that("non-model files give clear errors", {
  dir <- temp_dir()
  expect_error(load_model(file.path(dir, "absent.keras")), "Cannot load \"[^\"]*absent.keras\": the file does not exist.", class = "kerust_error")
  text <- file.path(dir, "notes.keras")
  writeLines("not a model", text)
  expect_error(load_model(text), "notes.keras\": it is not a model file: a .keras model file is a zip archive", fixed = TRUE, class = "kerust_error")
  empty <- file.path(dir, "empty.keras")
  file.create(empty)
  expect_error(load_model(empty), "empty.keras\": it is empty", fixed = TRUE, class = "kerust_error")
  weights <- file.path(dir, "w.weights.safetensors")
  save_model_weights(toy_model(), weights)
  expect_error(load_model(weights), "it is a weights file, without the architecture", class = "kerust_error")
  renamed <- file.path(dir, "w.keras")
  file.copy(weights, renamed)
  expect_error(load_model(renamed), "load it into a model with load_model_weights()", fixed = TRUE, class = "kerust_error")
  expect_error(load_model(1), "`model` must be the path of a .keras file or a raw vector", class = "kerust_error")
  expect_error(load_model(renamed, custom_objects = list()), "`custom_objects` must be NULL", class = "kerust_error")
  model <- toy_model()
  before <- get_weights(model)
  expect_error(load_model_weights(model, text), "notes.keras\": it is neither a weights file (safetensors) nor a model file (a .keras zip archive)", fixed = TRUE, class = "kerust_error")
  expect_error(load_model_weights(model, file.path(dir, "w.txt")), "`filepath` must end in \".weights.safetensors\" or \".keras\"", fixed = TRUE, class = "kerust_error")
  expect_error(load_model_weights(model, file.path(dir, "absent.weights.safetensors")), "the file does not exist", class = "kerust_error")
  expect_identical(get_weights(model), before)
})

test_that("truncated files give clear errors", {
  model <- toy_model()
  bytes <- serialize_model(model)
  path <- temp_path(".keras")
  for (n in c(0, 4, 30, 100, length(bytes) %/% 2, length(bytes) - 23, length(bytes) - 1)) {
    writeBin(bytes[seq_len(n)], path)
    expect_error(load_model(path), sprintf("cannot load \"%s\": ", path), fixed = TRUE, class = "kerust_error")
  }
  writeBin(bytes[seq_len(length(bytes) - 1)], path)
  expect_error(load_model(path), "the zip archive is truncated", class = "kerust_error")
})

test_that("flipped bytes are caught or harmless", {
  model <- toy_model()
  bytes <- serialize_model(model)
  x <- toy_data()$x
  expected <- predict(model, x)
  caught <- 0
  # The engine's loader and predict, without the R model object, keep
  # this loop over every byte fast.
  for (i in seq_along(bytes)) {
    bad <- bytes
    bad[i] <- xor(bad[i], as.raw(0x10))
    ptr <- tryCatch(kerust:::rs_model_from_raw(bad, TRUE, "the raw vector"), error = function(e) NULL)
    if (is.null(ptr)) {
      caught <- caught + 1
    } else {
      # Only fields that no reader needs (times, versions, attributes) may change silently.
      expect_identical(kerust:::rs_predict(ptr, x, 32), expected, info = sprintf("byte %d", i))
    }
  }
  expect_gt(caught / length(bytes), 0.95)
  # A flip in the weights data is caught by the CRC-32 of its entry.
  bad <- bytes
  last_data_byte <- length(bytes) - 22 - 3 * 46 - nchar("metadata.jsonconfig.jsonmodel.weights.safetensors") - 1
  bad[last_data_byte] <- xor(bad[last_data_byte], as.raw(1))
  expect_error(load_model(bad), "cannot load the raw vector: the zip archive is corrupted: the CRC-32 of \"model.weights.safetensors\"", fixed = TRUE, class = "kerust_error")
})

test_that("saving functions check their arguments", {
  unbuilt <- keras_model_sequential() |> layer_dense(2)
  expect_error(save_model(unbuilt, "m.keras"), "The model is not built yet", class = "kerust_error")
  expect_error(serialize_model(unbuilt), "The model is not built yet", class = "kerust_error")
  model <- toy_model()
  expect_error(save_model(model, "m.keras", zipped = FALSE), "`zipped = FALSE`", class = "kerust_error")
  expect_error(save_model(model, "model.txt"), "`filepath` must end in \".keras\", got \"model.txt\".", fixed = TRUE, class = "kerust_error")
  expect_error(save_model(model, "m.keras", include_optimizer = FALSE), "Unknown argument in save_model\\(\\): `include_optimizer`", class = "kerust_error")
  expect_error(save_model(1, "m.keras"), "`object` must be a kerust model", class = "kerust_error")
  expect_error(serialize_model(model, include_optimizer = NA), "`include_optimizer` must be TRUE or FALSE", class = "kerust_error")
  expect_error(load_model_weights(unbuilt, "w.weights.safetensors"), "The model has no weights yet", class = "kerust_error")
})

test_that("snapshot follows every model change", {
  follows <- function(model) identical(model$snapshot, serialize_model(model))
  data <- toy_data()
  model <- keras_model_sequential(input_shape = 3)
  expect_true(follows(model))
  model |> layer_dense(8, activation = "relu")
  expect_true(follows(model))
  model |> layer_dropout(0.3) |> layer_dense(2, activation = "softmax")
  model |> compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
  expect_true(follows(model))
  model |> fit(data$x, data$y, epochs = 1, verbose = 0)
  expect_true(follows(model))
  suppressMessages(model |> fit(data$x, data$y, epochs = 2, batch_size = 4, verbose = 0, .interrupt_after = 3))
  expect_true(follows(model))
  set_weights(model, lapply(get_weights(model), function(w) w / 2))
  expect_true(follows(model))
  path <- temp_path(".weights.safetensors")
  save_model_weights(toy_model(units = 2), path)
  pop_layer(model)
  expect_true(follows(model))
  model |> layer_dense(2, activation = "softmax")
  load_model_weights(model, path)
  expect_identical(get_weights(model), get_weights(toy_model(units = 2)))
  expect_true(follows(model))

  # A model built later, from its first data, saves its state then.
  lazy <- keras_model_sequential() |> layer_dense(2)
  expect_null(lazy$snapshot)
  predict(lazy, matrix(0, 1, 3))
  expect_true(follows(lazy))
})

test_that("save_model_file writes checkpoint files", {
  model <- toy_model()
  dir <- temp_dir()
  keras_file <- file.path(dir, "epoch-1.keras")
  weights_file <- file.path(dir, "epoch-1.weights.safetensors")
  kerust:::save_model_file(model, keras_file)
  kerust:::save_model_file(model, weights_file, weights_only = TRUE)
  expect_identical(read_bytes(keras_file), serialize_model(model))
  other <- toy_model(seed = 9)
  load_model_weights(other, weights_file)
  expect_identical(get_weights(other), get_weights(model))
  expect_error(kerust:::save_model_file(model, keras_file, weights_only = TRUE), "must end in \".weights.safetensors\"", class = "kerust_error")
})

test_that("regularizers, noise and schedules are saved", {
  data <- toy_data()
  build <- function() {
    set.seed(5)
    model <- keras_model_sequential(input_shape = 3) |>
      layer_gaussian_noise(0.1, seed = 3) |>
      layer_dense(6, activation = "relu", kernel_regularizer = regularizer_l2(0.01),
        bias_regularizer = regularizer_l1(0.001), activity_regularizer = regularizer_l1_l2(l1 = 0.002, l2 = 0.003)) |>
      layer_gaussian_dropout(0.2) |>
      layer_alpha_dropout(0.1, seed = 8) |>
      layer_activity_regularization(l2 = 0.004) |>
      layer_dense(2, activation = "softmax")
    optimizer <- optimizer_adam(
      learning_rate = learning_rate_schedule_exponential_decay(0.01, decay_steps = 5, decay_rate = 0.9),
      weight_decay = 0.001, clipnorm = 1
    )
    model |> compile(optimizer = optimizer, loss = "sparse_categorical_crossentropy")
    model
  }
  straight <- build()
  straight |> fit(data$x, data$y, epochs = 4, batch_size = 8, verbose = 0)
  first <- build()
  first |> fit(data$x, data$y, epochs = 2, batch_size = 8, verbose = 0)
  loaded <- unserialize_model(serialize_model(first))
  dense <- loaded$layers[[2]]$config
  expect_equal(dense$kernel_regularizer$l2, 0.01)
  expect_equal(dense$bias_regularizer$l1, 0.001)
  expect_equal(unlist(dense$activity_regularizer[c("l1", "l2")]), c(l1 = 0.002, l2 = 0.003))
  expect_identical(
    vapply(loaded$layers, function(l) l$class_name, ""),
    c("GaussianNoise", "Dense", "GaussianDropout", "AlphaDropout", "ActivityRegularization", "Dense")
  )
  expect_equal(loaded$compiled$optimizer, first$compiled$optimizer)
  loaded |> fit(data$x, data$y, epochs = 4, initial_epoch = 3, batch_size = 8, verbose = 0)
  expect_identical(get_weights(loaded), get_weights(straight))
})

# A CNN with every convolution, pooling, normalization, spatial and
# preprocessing layer: a 2D part, reshaped into 3D and then 1D parts, and
# the six global poolings. Each layer uses some non-default arguments.
every_layer_cnn <- function(seed = 1) {
  set.seed(seed)
  model <- keras_model_sequential(input_shape = c(8, 8, 2), name = "every_layer") |>
    layer_rescaling(1 / 255, offset = -0.5) |>
    layer_conv_2d(4, 3, padding = "same", activation = "relu",
      kernel_initializer = initializer_he_normal(seed = 1), kernel_regularizer = regularizer_l2(0.01),
      activity_regularizer = regularizer_l1(0.001)) |>
    layer_batch_normalization(momentum = 0.9, gamma_regularizer = regularizer_l2(0.01)) |>
    layer_max_pooling_2d() |>
    layer_average_pooling_2d(c(2, 1), strides = 1, padding = "same") |>
    layer_zero_padding_2d(list(c(1, 2), c(0, 1))) |>
    layer_cropping_2d(list(c(1, 0), c(0, 1))) |>
    layer_upsampling_2d(c(1, 2)) |>
    layer_spatial_dropout_2d(0.2, seed = 3) |>
    layer_conv_2d(4, c(2, 3), dilation_rate = c(2, 1), groups = 2, use_bias = FALSE,
      kernel_initializer = initializer_random_normal(stddev = 0.3, seed = 2)) |>
    layer_reshape(c(2, 2, 6, 4)) |>
    layer_conv_3d(4, c(1, 2, 3), padding = "same", groups = 2, bias_regularizer = regularizer_l1(0.001)) |>
    layer_max_pooling_3d(c(1, 1, 2)) |>
    layer_average_pooling_3d(1) |>
    layer_zero_padding_3d(1) |>
    layer_cropping_3d(list(c(1, 0), c(0, 1), c(1, 1))) |>
    layer_upsampling_3d(c(1, 1, 2)) |>
    layer_spatial_dropout_3d(0.1) |>
    layer_batch_normalization(center = FALSE, epsilon = 1e-5) |>
    layer_reshape(c(54, 4)) |>
    layer_conv_1d(4, 3, padding = "causal", dilation_rate = 2, activation = "tanh",
      bias_initializer = initializer_constant(0.1)) |>
    layer_max_pooling_1d() |>
    layer_average_pooling_1d(3, strides = 1, padding = "same") |>
    layer_zero_padding_1d(c(1, 2)) |>
    layer_cropping_1d(c(0, 1)) |>
    layer_upsampling_1d(2) |>
    layer_spatial_dropout_1d(0.1, seed = 7) |>
    layer_conv_1d(4, 2, strides = 2) |>
    layer_global_max_pooling_1d(keepdims = TRUE) |>
    layer_global_average_pooling_1d(keepdims = TRUE) |>
    layer_reshape(c(1, 1, 4)) |>
    layer_global_max_pooling_2d(keepdims = TRUE) |>
    layer_global_average_pooling_2d(keepdims = TRUE) |>
    layer_reshape(c(1, 1, 1, 4)) |>
    layer_global_max_pooling_3d(keepdims = TRUE) |>
    layer_global_average_pooling_3d() |>
    layer_dense(3, activation = "softmax")
  model |> compile(optimizer = "adam", loss = "sparse_categorical_crossentropy", metrics = "accuracy")
  model
}

cnn_data <- function(n = 12) {
  set.seed(21)
  list(x = array(runif(n * 8 * 8 * 2, 0, 255), c(n, 8, 8, 2)), y = sample(0:2, n, TRUE))
}

# Checks that `loaded` is `model` again: weights, predictions, layer
# objects and summary.
expect_same_model <- function(loaded, model, x) {
  expect_identical(get_weights(loaded), get_weights(model))
  expect_identical(predict(loaded, x, verbose = 0), predict(model, x, verbose = 0))
  expect_identical(loaded$layers, model$layers)
  expect_identical(capture.output(summary(loaded)), capture.output(summary(model)))
}

# Checks that the model `build()` returns, trained for two epochs on `data`,
# round-trips through save_model(), serialize_model(), saveRDS() and a
# weights file. `build(seed = 2)` must give other initial weights.
expect_round_trips <- function(build, data) {
  model <- build()
  model |> fit(data$x, data$y, epochs = 2, batch_size = 4, verbose = 0)

  path <- temp_path(".keras")
  save_model(model, path)
  expect_same_model(load_model(path), model, data$x)
  expect_same_model(unserialize_model(serialize_model(model)), model, data$x)
  rds <- temp_path(".rds")
  saveRDS(model, rds)
  expect_same_model(readRDS(rds), model, data$x)

  weights <- temp_path(".weights.safetensors")
  save_model_weights(model, weights)
  other <- build(seed = 2)
  expect_false(identical(get_weights(other), get_weights(model)))
  load_model_weights(other, weights)
  expect_identical(get_weights(other), get_weights(model))
  expect_identical(predict(other, data$x, verbose = 0), predict(model, data$x, verbose = 0))
}

test_that("every layer type round-trips", {
  expect_round_trips(every_layer_cnn, cnn_data())
})

test_that("loaded CNN takes more layers", {
  data <- cnn_data()
  model <- every_layer_cnn()
  n <- length(model$layers)
  path <- temp_path(".keras")
  save_model(model, path)
  # A new session: default names start again, and must skip the loaded ones.
  code <- sprintf(paste(
    "library(kerust)",
    "m <- load_model('%s')",
    "m |> layer_dense(2) |> layer_activation('softmax')",
    "cat(vapply(m$layers, function(l) l$name, ''), sep = '\\n')",
    sep = "; "
  ), path)
  names <- run_rscript(code)
  expect_length(names, n + 2)
  expect_false(anyDuplicated(names) > 0)
  expect_match(names[n + 1], "^dense_[0-9]+$")

  loaded <- load_model(path)
  loaded |> layer_dense(2)
  expect_identical(dim(predict(loaded, data$x, verbose = 0)), c(12L, 2L))
})

test_that("batch normalization statistics survive", {
  data <- cnn_data()
  model <- every_layer_cnn()
  before <- get_weights(model)
  model |> fit(data$x, data$y, epochs = 2, batch_size = 4, verbose = 0)
  # Weights 5 and 6 are the moving mean and variance of the first
  # BatchNormalization (after the kernel and bias of the convolution, and
  # its gamma and beta).
  moving <- get_weights(model)[5:6]
  expect_false(any(moving[[1]] == before[[5]]))
  expect_false(any(moving[[2]] == before[[6]]))

  loaded <- load_model(serialize_model(model))
  expect_identical(get_weights(loaded)[5:6], moving)
  expect_output(summary(loaded), "Non-trainable params: 16 ")
})

test_that("resumed CNN training repeats uninterrupted training", {
  data <- cnn_data(n = 20)
  build <- function(dropout_seed) {
    set.seed(8)
    model <- keras_model_sequential(input_shape = c(8, 8, 2)) |>
      layer_rescaling(1 / 255) |>
      layer_conv_2d(6, 3, activation = "relu") |>
      layer_batch_normalization() |>
      layer_max_pooling_2d() |>
      layer_spatial_dropout_2d(0.3, seed = dropout_seed) |>
      layer_conv_2d(4, 2, padding = "same") |>
      layer_global_average_pooling_2d() |>
      layer_dense(3, activation = "softmax")
    model |> compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
    model
  }
  for (dropout_seed in list(NULL, 4)) {
    straight <- build(dropout_seed)
    straight |> fit(data$x, data$y, epochs = 5, batch_size = 8, verbose = 0)

    first <- build(dropout_seed)
    first |> fit(data$x, data$y, epochs = 3, batch_size = 8, verbose = 0)
    path <- temp_path(".keras")
    save_model(first, path)
    resumed <- load_model(path)
    resumed |> fit(data$x, data$y, epochs = 5, initial_epoch = 4, batch_size = 8, verbose = 0)
    expect_identical(get_weights(resumed), get_weights(straight))
  }
})

# A model with every transposed, separable and depthwise convolution and
# every image resizing and augmentation layer, each with some non-default
# arguments: a 2D part, then reshaped into a 1D part.
every_image_layer_model <- function(seed = 1) {
  set.seed(seed)
  model <- keras_model_sequential(input_shape = c(9, 11, 3), name = "image_layers") |>
    layer_resizing(8, 10, interpolation = "nearest", pad_to_aspect_ratio = TRUE, fill_value = 0.5) |>
    layer_center_crop(6, 7) |>
    layer_upsampling_2d(c(2, 1), interpolation = "bilinear") |>
    layer_random_flip("horizontal", seed = 3) |>
    layer_random_rotation(c(-0.2, 0.3), fill_mode = "constant", fill_value = 1.5,
      interpolation = "nearest", seed = 4) |>
    layer_random_translation(c(-0.1, 0.2), c(0, 0.25), fill_mode = "wrap") |>
    layer_random_zoom(0.25, width_factor = c(-0.1, 0.3), fill_mode = "nearest", seed = 6) |>
    layer_random_contrast(c(0.1, 0.4), value_range = c(0, 1), seed = 7) |>
    layer_conv_2d_transpose(3, c(2, 3), dilation_rate = c(2, 1), use_bias = FALSE,
      kernel_initializer = initializer_random_normal(stddev = 0.1, seed = 4)) |>
    layer_separable_conv_2d(4, 2, strides = c(1, 2), padding = "same", activation = "sigmoid",
      pointwise_initializer = initializer_lecun_uniform(seed = 2),
      depthwise_regularizer = regularizer_l2(0.02), bias_regularizer = regularizer_l1(0.01)) |>
    layer_depthwise_conv_2d(c(3, 2), depth_multiplier = 3, depthwise_regularizer = regularizer_l2(0.03),
      activity_regularizer = regularizer_l1(0.001)) |>
    layer_reshape(c(48, 12)) |>
    layer_conv_1d_transpose(4, 3, strides = 2, padding = "same", output_padding = 1, activation = "relu",
      kernel_regularizer = regularizer_l2(0.01)) |>
    layer_separable_conv_1d(5, 3, depth_multiplier = 2, dilation_rate = 2, use_bias = FALSE,
      depthwise_initializer = initializer_he_normal(seed = 1), pointwise_regularizer = regularizer_l1(0.001)) |>
    layer_depthwise_conv_1d(2, strides = 2, padding = "same", activation = "tanh",
      bias_initializer = initializer_constant(0.1)) |>
    layer_global_average_pooling_1d() |>
    layer_dense(3, activation = "softmax")
  model |> compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
  model
}

image_data <- function(n = 12) {
  set.seed(22)
  list(x = array(runif(n * 9 * 11 * 3), c(n, 9, 11, 3)), y = sample(0:2, n, TRUE))
}

test_that("every image layer type round-trips", {
  expect_round_trips(every_image_layer_model, image_data())
})

test_that("image layers have keras names and weights", {
  path <- temp_path(".keras")
  save_model(every_image_layer_model(), path)
  config <- jsonlite::fromJSON(zip_text(path, "config.json"), simplifyVector = FALSE)
  layers <- config$config$layers[-1]
  expect_identical(
    vapply(layers, function(l) l$class_name, ""),
    c(
      "Resizing", "CenterCrop", "UpSampling2D", "RandomFlip", "RandomRotation", "RandomTranslation",
      "RandomZoom", "RandomContrast", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D", "Reshape",
      "Conv1DTranspose", "SeparableConv1D", "DepthwiseConv1D", "GlobalAveragePooling1D", "Dense"
    )
  )
  expect_identical(layers[[3]]$config$interpolation, "bilinear")
  expect_identical(layers[[5]]$config$seed, 4L)
  expect_identical(unlist(layers[[7]]$config$width_factor), c(-0.1, 0.3))
  expect_identical(layers[[13]]$config$output_padding, list(1L))
  # Weight names and order of Keras 3.15.1, as
  # tools/golden/make_golden_layer_configs_image.py prints them.
  weights <- vapply(get_weights(every_image_layer_model()), function(w) paste(dim(w), collapse = "x"), "")
  expect_identical(weights[1:6], c("2x3x3x3", "2x2x3x1", "1x1x3x4", "4", "3x2x4x3", "12"))
})

test_that("resumed training with seeded augmentation repeats uninterrupted training", {
  data <- image_data(n = 16)
  build <- function() {
    set.seed(9)
    model <- keras_model_sequential(input_shape = c(9, 11, 3)) |>
      layer_random_flip(seed = 5) |>
      layer_random_rotation(0.1, seed = 6) |>
      layer_random_contrast(0.3, value_range = c(0, 1), seed = 7) |>
      layer_conv_2d_transpose(2, 3, strides = 2, activation = "relu") |>
      layer_global_average_pooling_2d() |>
      layer_dense(3, activation = "softmax")
    model |> compile(optimizer = "adam", loss = "sparse_categorical_crossentropy")
    model
  }
  straight <- build()
  straight |> fit(data$x, data$y, epochs = 5, batch_size = 4, verbose = 0)

  first <- build()
  first |> fit(data$x, data$y, epochs = 3, batch_size = 4, verbose = 0)
  path <- temp_path(".keras")
  save_model(first, path)
  resumed <- load_model(path)
  resumed |> fit(data$x, data$y, epochs = 5, initial_epoch = 4, batch_size = 4, verbose = 0)
  expect_identical(get_weights(resumed), get_weights(straight))
})

test_that("config.json uses keras names and keys", {
  path <- temp_path(".keras")
  save_model(every_layer_cnn(), path)
  config <- zip_text(path, "config.json")
  # Key order aside, these are the forms Keras 3.15.1 writes for the same
  # layers; src/rust/engine/tests/layer_configs.rs compares whole layer
  # configs with Keras's (tools/golden/make_golden_layer_configs.py).
  expected <- c(
    "\"class_name\":\"Rescaling\"", "\"offset\":-0.5", "\"scale\":0.00392156862745098",
    "\"class_name\":\"Conv2D\"", "\"kernel_size\":[3,3]", "\"strides\":[1,1]",
    "\"dilation_rate\":[2,1]", "\"groups\":2", "\"data_format\":\"channels_last\"",
    "\"kernel_initializer\":{\"class_name\":\"HeNormal\",\"config\":{\"seed\":1}",
    "\"kernel_regularizer\":{\"class_name\":\"L1L2\",\"config\":{\"l1\":0.0,\"l2\":0.01}",
    "\"class_name\":\"BatchNormalization\"", "\"axis\":-1", "\"momentum\":0.9", "\"epsilon\":0.00001",
    "\"gamma_regularizer\":{\"class_name\":\"L1L2\"", "\"renorm\":false",
    "\"class_name\":\"MaxPooling2D\"", "\"pool_size\":[2,2]",
    "\"class_name\":\"AveragePooling2D\",\"config\":{\"data_format\":\"channels_last\",\"dtype\"",
    "\"class_name\":\"ZeroPadding2D\"", "\"padding\":[[1,2],[0,1]]",
    "\"class_name\":\"Cropping2D\"", "\"cropping\":[[1,0],[0,1]]",
    "\"class_name\":\"UpSampling2D\"", "\"interpolation\":\"nearest\"", "\"size\":[1,2]",
    "\"class_name\":\"SpatialDropout2D\"", "\"dtype\":\"float32\"", "\"seed\":3",
    "\"class_name\":\"Conv3D\"", "\"kernel_size\":[1,2,3]",
    "\"class_name\":\"MaxPooling3D\"", "\"class_name\":\"AveragePooling3D\"",
    "\"class_name\":\"ZeroPadding3D\"", "\"padding\":[[1,1],[1,1],[1,1]]",
    "\"class_name\":\"Cropping3D\"", "\"class_name\":\"UpSampling3D\"", "\"class_name\":\"SpatialDropout3D\"",
    "\"class_name\":\"Conv1D\"", "\"padding\":\"causal\"", "\"kernel_size\":[3]",
    "\"class_name\":\"MaxPooling1D\"", "\"class_name\":\"AveragePooling1D\"",
    "\"class_name\":\"ZeroPadding1D\"", "\"padding\":[1,2]",
    "\"class_name\":\"Cropping1D\"", "\"cropping\":[0,1]",
    "\"class_name\":\"UpSampling1D\"", "\"size\":2,\"trainable\"",
    "\"class_name\":\"SpatialDropout1D\"", "\"seed\":7",
    "\"class_name\":\"GlobalMaxPooling1D\"", "\"class_name\":\"GlobalAveragePooling1D\"",
    "\"class_name\":\"GlobalMaxPooling2D\"", "\"class_name\":\"GlobalAveragePooling2D\"",
    "\"class_name\":\"GlobalMaxPooling3D\"", "\"class_name\":\"GlobalAveragePooling3D\"",
    "\"keepdims\":true", "\"keepdims\":false"
  )
  found <- vapply(expected, grepl, NA, x = config, fixed = TRUE)
  expect_identical(expected[!found], character())
  # Keras writes no build_config for pooling and spatial dropout layers
  # (config.json's keys are sorted, so a build_config comes first).
  for (class_name in c("MaxPooling2D", "GlobalAveragePooling3D", "SpatialDropout1D")) {
    expect_match(config, sprintf("\"registered_name\":null},{\"class_name\":\"%s\"", class_name), fixed = TRUE)
  }
  expect_match(config, "{\"build_config\":{\"input_shape\":[null,8,8,4]},\"class_name\":\"BatchNormalization\"", fixed = TRUE)
})

# Writes a copy of the .keras file `path` whose config.json has `from`
# replaced by `to`, and returns the copy's path.
edited_model_file <- function(path, from, to) {
  dir <- temp_dir()
  utils::unzip(path, exdir = dir)
  config <- file.path(dir, "config.json")
  text <- readLines(config, warn = FALSE)
  expect_match(text, from, fixed = TRUE)
  writeLines(sub(from, to, text, fixed = TRUE), config, sep = "")
  edited <- file.path(dir, "edited.keras")
  files <- file.path(dir, c("metadata.json", "config.json", "model.weights.safetensors"))
  utils::zip(edited, files, flags = "-jq0")
  edited
}

test_that("invalid layer config names file and layer", {
  skip_if(!nzchar(Sys.which("zip")), "needs the zip program")
  set.seed(1)
  model <- keras_model_sequential(input_shape = c(6, 6, 1)) |>
    layer_conv_2d(3, 2, name = "features") |>
    layer_max_pooling_2d(name = "pool") |>
    layer_spatial_dropout_2d(0.2, name = "drop")
  path <- temp_path(".keras")
  save_model(model, path)
  cases <- list(
    list("\"filters\":3", "\"filters\":-3", "layer 1 (\"features\", Conv2D): `filters` must be a positive integer, got -3"),
    list("\"padding\":\"valid\",\"strides\":[1,1]", "\"padding\":\"full\",\"strides\":[1,1]",
      "layer 1 (\"features\", Conv2D): `padding` must be \"valid\" or \"same\", got \"full\""),
    list("\"pool_size\":[2,2]", "\"pool_size\":[2,0]",
      "layer 2 (\"pool\", MaxPooling2D): `pool_size` must be a positive integer or a list of 2 of them, got [2,0]"),
    list("\"rate\":0.2", "\"rate\":1.2", "layer 3 (\"drop\", SpatialDropout2D): `rate` must be a number in [0, 1), got 1.2"),
    list("\"data_format\":\"channels_last\"", "\"data_format\":\"channels_first\"",
      "layer 1 (\"features\", Conv2D): data_format \"channels_first\" is not supported; kerust uses channels_last")
  )
  for (case in cases) {
    edited <- edited_model_file(path, case[[1]], case[[2]])
    expect_error(load_model(edited), sprintf("cannot load \"%s\": ", edited), fixed = TRUE, class = "kerust_error")
    expect_error(load_model(edited), case[[3]], fixed = TRUE, class = "kerust_error")
  }
})

test_that("format version 1 CNN file still loads", {
  # fixtures/cnn-format-1.keras was written by kerust 0.1.0 with
  # fixtures/make-cnn-fixture.R, which printed the values below.
  model <- load_model(fixture("cnn-format-1.keras"))
  expect_identical(model$name, "fixture_cnn")
  expect_identical(
    vapply(model$layers, function(l) l$class_name, ""),
    c("Rescaling", "Conv2D", "BatchNormalization", "MaxPooling2D", "ZeroPadding2D", "Cropping2D",
      "UpSampling2D", "SpatialDropout2D", "AveragePooling2D", "GlobalAveragePooling2D", "Dense")
  )
  expect_identical(model$layers[[3]]$config$momentum, 0.8)
  expect_identical(model$layers[[8]]$config$seed, 2)
  weights <- get_weights(model)
  expect_identical(weights[[5]], array(c(0.13192978501319885, 0.024986550211906433, 0.008956574834883213)))
  expect_identical(weights[[6]], array(c(0.44603085517883301, 0.41465777158737183, 0.4107755720615387)))
  x <- array(abs(sin(seq_len(8 * 36))) * 255, c(8, 6, 6, 1))
  expected <- matrix(c(
    0.46717604994773865, 0.53282392024993896,
    0.46343499422073364, 0.53656500577926636,
    0.45713451504707336, 0.54286545515060425
  ), 3, 2, byrow = TRUE)
  expect_equal(predict(model, x[1:3, , , , drop = FALSE], verbose = 0), expected, tolerance = 1e-6)
  history <- model |> fit(x, rep(0:1, 4), epochs = 3, initial_epoch = 3, batch_size = 4, verbose = 0)
  expect_identical(history$params$epochs, 3L)
})

# ---- Saving and loading ------------------------------------------------------

# Two inputs, a layer shared by both, merge layers, a frozen layer and two
# outputs: the model of tools/golden/functional_config.py.
two_head_model <- function() {
  a <- keras_input(4, name = "a")
  b <- keras_input(4, name = "b")
  shared <- layer_dense(units = 3, activation = "relu", name = "shared")
  sa <- shared(a)
  sb <- shared(b)
  added <- layer_add(list(sa, sb), name = "add")
  joined <- layer_concatenate(list(sa, sb), name = "concatenate")
  cosine <- layer_dot(list(sa, sb), axes = 1, normalize = TRUE, name = "dot")
  frozen <- layer_dense(units = 2, name = "frozen")
  class <- frozen(joined) |> layer_dense(2, activation = "softmax", name = "class")
  size <- layer_concatenate(list(added, cosine), name = "concatenate_1") |> layer_dense(1, name = "size")
  model <- keras_model(list(a, b), list(class, size), name = "two_heads")
  frozen$trainable <- FALSE
  compile(model,
    optimizer = optimizer_adam(0.01),
    loss = list(class = "sparse_categorical_crossentropy", size = "mse"),
    loss_weights = c(1, 0.5),
    metrics = list(class = "accuracy", size = "mae")
  )
  model
}

two_head_data <- function() {
  set.seed(21)
  list(
    x = list(a = matrix(runif(160), 40), b = matrix(runif(160), 40)),
    y = list(class = sample(0:1, 40, TRUE), size = runif(40))
  )
}

test_that("save_model writes a Functional config", {
  set.seed(20)
  model <- two_head_model()
  path <- temp_path(".keras")
  save_model(model, path)
  config <- zip_text(path, "config.json")
  # Key order aside, these are the forms Keras 3.15.1 writes for this model
  # (tools/golden/functional_config.py); src/rust/engine/tests/functional_config.rs
  # compares the whole config with Keras's.
  expected <- c(
    "\"class_name\":\"Functional\"", "\"registered_name\":\"Functional\"",
    "\"input_layers\":[[\"a\",0,0],[\"b\",0,0]]",
    "\"output_layers\":[[\"class\",0,0],[\"size\",0,0]]",
    # The shared layer's second call, and a merge reading both calls.
    "\"keras_history\":[\"b\",0,0]", "\"keras_history\":[\"shared\",1,0]",
    "\"class_name\":\"Add\"", "\"class_name\":\"Dot\"", "\"axes\":1", "\"normalize\":true",
    "\"class_name\":\"Concatenate\"", "\"axis\":-1",
    "\"name\":\"frozen\",\"trainable\":false", "\"name\":\"class\",\"trainable\":true",
    "\"loss_weights\":{\"class\":1.0,\"size\":0.5}",
    "\"loss\":{\"class\":{\"class_name\":\"SparseCategoricalCrossentropy\"",
    "\"size\":[{\"class_name\":\"MeanAbsoluteError\""
  )
  found <- vapply(expected, grepl, NA, x = config, fixed = TRUE)
  expect_identical(expected[!found], character())
  # One entry for the shared layer, with two inbound nodes.
  expect_identical(lengths(regmatches(config, gregexpr("\"name\":\"shared\",\"registered_name\"", config))), 1L)
})

test_that("loaded functional model predicts and works like the saved one", {
  d <- two_head_data()
  set.seed(22)
  model <- two_head_model()
  fit(model, d$x, d$y, epochs = 2, batch_size = 8, verbose = 0)
  path <- temp_path(".keras")
  save_model(model, path)
  loaded <- load_model(path)

  expect_s3_class(loaded, "kerust_functional")
  expect_identical(predict(loaded, d$x), predict(model, d$x))
  # Named inputs in another order.
  expect_identical(predict(loaded, list(b = d$x$b, a = d$x$a)), predict(model, d$x))
  expect_identical(get_weights(loaded), get_weights(model))
  expect_identical(vapply(loaded$layers, function(l) l$name, ""), vapply(model$layers, function(l) l$name, ""))
  expect_identical(capture.output(summary(loaded)), capture.output(summary(model)))
  expect_identical(loaded$output_names, c("class", "size"))
  expect_length(loaded$inputs, 2)
  expect_identical(dim(loaded$outputs[[2]]), c(NA_integer_, 1L))

  # The frozen flag comes back, and freeze_weights() works on the loaded model.
  expect_false(get_layer(loaded, "frozen")$trainable)
  expect_equal(count_params(loaded), count_params(model))
  freeze_weights(loaded, which = "shared")
  before <- get_layer(loaded, "shared")$weights
  fit(loaded, d$x, d$y, epochs = 1, batch_size = 8, verbose = 0)
  expect_identical(get_layer(loaded, "shared")$weights, before)
  expect_identical(get_layer(loaded, "frozen")$weights, get_layer(model, "frozen")$weights)

  # The compile configuration: per-output losses, metrics and loss weights.
  expect_identical(loaded$compiled$loss_weights, c(1, 0.5))
  history <- fit(loaded, d$x, d$y, epochs = 1, batch_size = 8, verbose = 0)
  expect_setequal(names(history$metrics), c("loss", "class_loss", "size_loss", "class_accuracy", "size_mae"))

  # The loaded model can be called on new tensors, sharing its weights.
  a <- keras_input(4, name = "a2")
  b <- keras_input(4, name = "b2")
  outer <- keras_model(list(a, b), loaded(list(a, b)))
  expect_identical(predict(outer, unname(d$x)), predict(loaded, d$x))
})

test_that("save after epoch 3, load, fit 2 more equals fit 5", {
  d <- two_head_data()
  set.seed(23)
  straight <- two_head_model()
  set.seed(23)
  resumed <- two_head_model()
  expect_identical(get_weights(resumed), get_weights(straight))

  set.seed(24)
  full <- fit(straight, d$x, d$y, epochs = 5, batch_size = 8, verbose = 0)
  set.seed(24)
  fit(resumed, d$x, d$y, epochs = 3, batch_size = 8, verbose = 0)
  path <- temp_path(".keras")
  save_model(resumed, path)
  loaded <- load_model(path)
  rest <- fit(loaded, d$x, d$y, epochs = 5, initial_epoch = 4, batch_size = 8, verbose = 0)

  expect_identical(get_weights(loaded), get_weights(straight))
  expect_identical(rest$metrics$loss, full$metrics$loss[4:5])
  expect_identical(rest$metrics$size_mae, full$metrics$size_mae[4:5])
})

test_that("functional models round-trip through serialize_model and saveRDS", {
  d <- two_head_data()
  set.seed(25)
  model <- two_head_model()
  fit(model, d$x, d$y, epochs = 1, batch_size = 8, verbose = 0)

  restored <- unserialize_model(serialize_model(model))
  expect_s3_class(restored, "kerust_functional")
  expect_identical(predict(restored, d$x), predict(model, d$x))
  expect_null(unserialize_model(serialize_model(model), compile = FALSE)$compiled)

  # saveRDS keeps the optimizer state: one more epoch matches the original's.
  path <- temp_path(".rds")
  saveRDS(model, path)
  back <- readRDS(path)
  expect_identical(predict(back, d$x), predict(model, d$x))
  fit(model, d$x, d$y, epochs = 2, initial_epoch = 2, batch_size = 8, verbose = 0)
  fit(back, d$x, d$y, epochs = 2, initial_epoch = 2, batch_size = 8, verbose = 0)
  expect_identical(get_weights(back), get_weights(model))
  expect_false(get_layer(back, "frozen")$trainable)
})

test_that("broken Functional configs give errors naming the file", {
  skip_if(!nzchar(Sys.which("zip")), "needs the zip program")
  set.seed(26)
  path <- temp_path(".keras")
  save_model(two_head_model(), path)

  # The first reference to concatenate is frozen's input.
  missing <- edited_model_file(path, "\"keras_history\":[\"concatenate\",0,0]", "\"keras_history\":[\"gone\",0,0]")
  expect_error(load_model(missing), "edited.keras", fixed = TRUE, class = "kerust_error")
  expect_error(load_model(missing), "inbound node 0 of layer \"frozen\" names layer \"gone\", which is not in the model", fixed = TRUE, class = "kerust_error")

  # The first reference to the shared layer is concatenate's input; making
  # it frozen (which reads concatenate) closes a loop.
  cycle <- edited_model_file(path, "\"keras_history\":[\"shared\",0,0]", "\"keras_history\":[\"frozen\",0,0]")
  expect_error(load_model(cycle), "edited.keras", fixed = TRUE, class = "kerust_error")
  expect_error(load_model(cycle), "the layer graph has a cycle: \"class\" -> \"frozen\" -> \"concatenate\" leads back to \"frozen\"", fixed = TRUE, class = "kerust_error")

  unknown <- edited_model_file(path, "[\"size\",0,0]]", "[\"nowhere\",0,0]]")
  expect_error(load_model(unknown), "edited.keras", fixed = TRUE, class = "kerust_error")
  expect_error(load_model(unknown), "output_layers entry 1 names layer \"nowhere\", which is not in the model", fixed = TRUE, class = "kerust_error")
})

test_that("functional model keeps single-output settings", {
  set.seed(27)
  b <- keras_input(3, name = "b")
  d <- b |> layer_dense(2, name = "d")
  single <- keras_model(b, d, name = "single")
  compile(single, optimizer = "sgd", loss = "mse", loss_weights = 3)
  path <- temp_path(".keras")
  save_model(single, path)
  loaded <- load_model(path)
  expect_s3_class(loaded, "kerust_functional")
  expect_identical(loaded$name, "single")
  expect_identical(loaded$compiled$loss_weights, 3)

  # An input that is also an output.
  both <- keras_model(b, list(d, b))
  compile(both, optimizer = "sgd", loss = list("mse", "mse"), loss_weights = c(2, 1))
  save_model(both, path)
  loaded <- load_model(path)
  x <- matrix(1:6, 2)
  expect_identical(predict(loaded, x), predict(both, x))
  expect_identical(loaded$compiled$loss_weights, c(2, 1))
})

test_that("functional model with a seeded augmentation layer survives saveRDS", {
  set.seed(28)
  image <- keras_input(c(8, 8, 1))
  model <- keras_model(image, image |> layer_random_flip(seed = 1, name = "flip") |> layer_flatten() |> layer_dense(2))
  compile(model, optimizer = "adam", loss = "mse")
  # Every layer type can be saved now, so the snapshot holds the full file;
  # the weights-only fallback is kept for layer types added later.
  expect_null(model$snapshot_error)
  path <- temp_path(".rds")
  saveRDS(model, path)
  back <- readRDS(path)
  x <- array(runif(128), c(2, 8, 8, 1))
  expect_identical(predict(back, x), predict(model, x))
})
