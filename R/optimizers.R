# Optimizers. Each `optimizer_*()` returns a description that compile()
# accepts; the engine applies the update rule of Keras 3.

new_optimizer <- function(name, learning_rate, params, extra, call = sys.call(-1)) {
  if (!inherits(learning_rate, "kerust_schedule")) {
    check_number(learning_rate, "learning_rate", lower = 0, lower_open = TRUE, call = call)
  }
  given <- names(Filter(Negate(is.null), extra))
  clipping <- intersect(given, c("clipnorm", "clipvalue", "global_clipnorm"))
  if (length(clipping) > 1) {
    abort(sprintf("Only one of `clipnorm`, `clipvalue` and `global_clipnorm` can be set, got %s.",
      paste0("`", clipping, "`", collapse = " and ")), call = call)
  }
  for (arg in given) {
    check_number(extra[[arg]], arg, lower = 0, lower_open = arg != "weight_decay", call = call)
  }
  values <- vapply(c("weight_decay", "clipnorm", "clipvalue", "global_clipnorm"), function(arg) {
    if (is.null(extra[[arg]])) 0 else as.double(extra[[arg]])
  }, 0)
  structure(
    list(name = name, learning_rate = learning_rate, params = c(params, values)),
    class = "kerust_optimizer"
  )
}

#' Optimizers
#'
#' Optimizers update the weights from their gradients. Pass one to
#' [compile()], or its name as a string (`"adam"`, `"sgd"`, `"rmsprop"`,
#' `"adagrad"`) for the defaults below, which are those of Keras 3.
#'
#' Update rules (`g` the gradient, `t` the step number):
#' * SGD: `w <- w - lr * g`; with momentum `m <- momentum * m - lr * g`, then
#'   `w <- w + m`, or with Nesterov `w <- w + momentum * m - lr * g`.
#' * Adam: `m <- beta_1 * m + (1 - beta_1) * g`, `v <- beta_2 * v + (1 -
#'   beta_2) * g^2`, `w <- w - lr * sqrt(1 - beta_2^t) / (1 - beta_1^t) * m
#'   / (sqrt(v) + epsilon)`; AMSGrad uses the running maximum of `v`.
#' * RMSprop: `v <- rho * v + (1 - rho) * g^2`, `w <- w - lr * g / sqrt(v +
#'   epsilon)` (centred: `v` minus the square of the running mean of `g`;
#'   with momentum through a velocity).
#' * Adagrad: `a <- a + g^2`, `w <- w - lr * g / sqrt(a + epsilon)`.
#' * AdamW: Adam with `weight_decay = 0.004`.
#' * Adadelta: `a <- rho * a + (1 - rho) * g^2`, `d <- -sqrt(a_d + epsilon) /
#'   sqrt(a + epsilon) * g`, `a_d <- rho * a_d + (1 - rho) * d^2`, `w <- w +
#'   lr * d`.
#' * Adamax: `u <- max(beta_2 * u, abs(g))`, `w <- w - lr * m / ((1 -
#'   beta_1^t) * (u + epsilon))`.
#' * Nadam: Adam with Nesterov momentum and keras's momentum schedule
#'   `beta_1 * (1 - 0.5 * 0.96^t)`.
#' * Lion: `w <- w - lr * sign(beta_1 * m + (1 - beta_1) * g)`, then `m <-
#'   beta_2 * m + (1 - beta_2) * g`.
#'
#' @param learning_rate The step size: a positive number, or a schedule from
#'   a `learning_rate_schedule_*()` function (see [learning_rate_schedules]).
#' @param momentum Momentum, in `[0, 1)`.
#' @param nesterov Whether SGD uses Nesterov momentum.
#' @param beta_1,beta_2 Decay rates of Adam's first and second moments.
#' @param epsilon Small constant for numerical stability.
#' @param amsgrad Whether Adam uses the AMSGrad variant.
#' @param centered Whether RMSprop divides by the centred second moment.
#' @param initial_accumulator_value Starting value of Adagrad's accumulators.
#' @param weight_decay Decoupled weight decay: before each update, `w <- w -
#'   w * weight_decay * learning_rate`. `NULL` (the default except for AdamW)
#'   means none.
#' @param clipnorm,clipvalue,global_clipnorm Gradient clipping before each
#'   update (at most one of them): `clipnorm` rescales each gradient to at
#'   most that L2 norm, `clipvalue` clips each element to `[-clipvalue,
#'   clipvalue]`, `global_clipnorm` rescales all gradients together to at
#'   most that joint norm.
#' @param rho Decay rate of RMSprop's mean square and of Adadelta's
#'   accumulators.
#' @param ... Unused.
#' @param name Name of the optimizer.
#' @returns An optimizer object of class `kerust_optimizer`.
#' @name optimizers
#' @examples
#' model <- keras_model_sequential(input_shape = 4) |> layer_dense(1)
#' model |> compile(optimizer = optimizer_sgd(0.1, momentum = 0.9), loss = "mse")
NULL

#' @rdname optimizers
#' @export
optimizer_sgd <- function(learning_rate = 0.01, momentum = 0, nesterov = FALSE,
                          weight_decay = NULL, clipnorm = NULL, clipvalue = NULL,
                          global_clipnorm = NULL, ..., name = "SGD") {
  check_number(momentum, "momentum", lower = 0, upper = 1, upper_open = TRUE)
  check_flag(nesterov, "nesterov")
  new_optimizer("sgd", learning_rate, c(momentum = momentum, nesterov = as.numeric(nesterov)),
    list(weight_decay = weight_decay, clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm))
}

#' @rdname optimizers
#' @export
optimizer_adam <- function(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999,
                           epsilon = 1e-07, amsgrad = FALSE, weight_decay = NULL,
                           clipnorm = NULL, clipvalue = NULL, global_clipnorm = NULL,
                           ..., name = "adam") {
  check_number(beta_1, "beta_1", lower = 0, upper = 1, upper_open = TRUE)
  check_number(beta_2, "beta_2", lower = 0, upper = 1, upper_open = TRUE)
  check_number(epsilon, "epsilon", lower = 0)
  check_flag(amsgrad, "amsgrad")
  new_optimizer("adam", learning_rate,
    c(beta_1 = beta_1, beta_2 = beta_2, epsilon = epsilon, amsgrad = as.numeric(amsgrad)),
    list(weight_decay = weight_decay, clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm))
}

#' @rdname optimizers
#' @export
optimizer_rmsprop <- function(learning_rate = 0.001, rho = 0.9, momentum = 0,
                              epsilon = 1e-07, centered = FALSE, weight_decay = NULL,
                              clipnorm = NULL, clipvalue = NULL, global_clipnorm = NULL,
                              ..., name = "rmsprop") {
  check_number(rho, "rho", lower = 0, upper = 1, upper_open = TRUE)
  check_number(momentum, "momentum", lower = 0, upper = 1, upper_open = TRUE)
  check_number(epsilon, "epsilon", lower = 0)
  check_flag(centered, "centered")
  new_optimizer("rmsprop", learning_rate,
    c(rho = rho, momentum = momentum, epsilon = epsilon, centered = as.numeric(centered)),
    list(weight_decay = weight_decay, clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm))
}

#' @rdname optimizers
#' @export
optimizer_adagrad <- function(learning_rate = 0.001, initial_accumulator_value = 0.1,
                              epsilon = 1e-07, weight_decay = NULL, clipnorm = NULL,
                              clipvalue = NULL, global_clipnorm = NULL, ...,
                              name = "adagrad") {
  check_number(initial_accumulator_value, "initial_accumulator_value", lower = 0)
  check_number(epsilon, "epsilon", lower = 0)
  new_optimizer("adagrad", learning_rate,
    c(initial_accumulator_value = initial_accumulator_value, epsilon = epsilon),
    list(weight_decay = weight_decay, clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm))
}

#' @rdname optimizers
#' @export
optimizer_adamw <- function(learning_rate = 0.001, weight_decay = 0.004, beta_1 = 0.9, beta_2 = 0.999,
                            epsilon = 1e-07, amsgrad = FALSE, clipnorm = NULL, clipvalue = NULL,
                            global_clipnorm = NULL, ..., name = "adamw") {
  optimizer_adam(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay = weight_decay,
    clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm)
}

#' @rdname optimizers
#' @export
optimizer_adadelta <- function(learning_rate = 0.001, rho = 0.95, epsilon = 1e-07, weight_decay = NULL,
                               clipnorm = NULL, clipvalue = NULL, global_clipnorm = NULL, ...,
                               name = "adadelta") {
  check_number(rho, "rho", lower = 0, upper = 1, upper_open = TRUE)
  check_number(epsilon, "epsilon", lower = 0)
  new_optimizer("adadelta", learning_rate, c(rho = rho, epsilon = epsilon),
    list(weight_decay = weight_decay, clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm))
}

#' @rdname optimizers
#' @export
optimizer_adamax <- function(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-07,
                             weight_decay = NULL, clipnorm = NULL, clipvalue = NULL,
                             global_clipnorm = NULL, ..., name = "adamax") {
  check_number(beta_1, "beta_1", lower = 0, upper = 1, upper_open = TRUE)
  check_number(beta_2, "beta_2", lower = 0, upper = 1, upper_open = TRUE)
  check_number(epsilon, "epsilon", lower = 0)
  new_optimizer("adamax", learning_rate, c(beta_1 = beta_1, beta_2 = beta_2, epsilon = epsilon),
    list(weight_decay = weight_decay, clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm))
}

#' @rdname optimizers
#' @export
optimizer_nadam <- function(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.999, epsilon = 1e-07,
                            weight_decay = NULL, clipnorm = NULL, clipvalue = NULL,
                            global_clipnorm = NULL, ..., name = "nadam") {
  check_number(beta_1, "beta_1", lower = 0, upper = 1, upper_open = TRUE)
  check_number(beta_2, "beta_2", lower = 0, upper = 1, upper_open = TRUE)
  check_number(epsilon, "epsilon", lower = 0)
  new_optimizer("nadam", learning_rate, c(beta_1 = beta_1, beta_2 = beta_2, epsilon = epsilon),
    list(weight_decay = weight_decay, clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm))
}

#' @rdname optimizers
#' @export
optimizer_lion <- function(learning_rate = 0.001, beta_1 = 0.9, beta_2 = 0.99, weight_decay = NULL,
                           clipnorm = NULL, clipvalue = NULL, global_clipnorm = NULL, ...,
                           name = "lion") {
  check_number(beta_1, "beta_1", lower = 0, upper = 1, upper_open = TRUE)
  check_number(beta_2, "beta_2", lower = 0, upper = 1, upper_open = TRUE)
  new_optimizer("lion", learning_rate, c(beta_1 = beta_1, beta_2 = beta_2),
    list(weight_decay = weight_decay, clipnorm = clipnorm, clipvalue = clipvalue, global_clipnorm = global_clipnorm))
}

optimizer_names <- c("sgd", "adam", "rmsprop", "adagrad", "adamw", "adadelta", "adamax", "nadam", "lion")

resolve_optimizer <- function(optimizer, call = sys.call(-1)) {
  if (inherits(optimizer, "kerust_optimizer")) {
    return(optimizer)
  }
  if (!is.character(optimizer) || length(optimizer) != 1 || is.na(optimizer)) {
    abort(sprintf("`optimizer` must be an optimizer name or an optimizer_*() object, got %s.", describe(optimizer)), call = call)
  }
  key <- tolower(optimizer)
  if (!key %in% optimizer_names) {
    abort(sprintf("Unknown optimizer \"%s\". Valid names are: %s.", optimizer, paste(optimizer_names, collapse = ", ")), call = call)
  }
  switch(key,
    sgd = optimizer_sgd(),
    adam = optimizer_adam(),
    rmsprop = optimizer_rmsprop(),
    adagrad = optimizer_adagrad(),
    adamw = optimizer_adamw(),
    adadelta = optimizer_adadelta(),
    adamax = optimizer_adamax(),
    nadam = optimizer_nadam(),
    lion = optimizer_lion()
  )
}

#' @export
print.kerust_optimizer <- function(x, ...) {
  lr <- if (inherits(x$learning_rate, "kerust_schedule")) {
    sprintf("learning_rate_schedule_%s()", x$learning_rate$type)
  } else {
    format(x$learning_rate)
  }
  cat(sprintf("<optimizer_%s(learning_rate = %s, %s)>\n", x$name, lr,
    paste(names(x$params), x$params, sep = " = ", collapse = ", ")))
  invisible(x)
}
