# Learning-rate schedules: pass one as the `learning_rate` of any optimizer.
# The engine evaluates it at every step from the number of completed steps,
# with Keras 3's formulas.

new_schedule <- function(type, ...) {
  structure(c(list(type = type), list(...)), class = "kerust_schedule")
}

#' Learning-rate schedules
#'
#' A schedule gives the learning rate as a function of the number of
#' completed optimizer steps `step` (0 at the first step), with the formulas
#' of Keras 3:
#'
#' * exponential_decay: `initial_learning_rate * decay_rate^(step /
#'   decay_steps)` (the exponent floored when `staircase = TRUE`).
#' * piecewise_constant_decay: `values[1]` while `step <= boundaries[1]`,
#'   `values[2]` while `step <= boundaries[2]`, ..., the last value after the
#'   last boundary.
#' * inverse_time_decay: `initial_learning_rate / (1 + decay_rate * step /
#'   decay_steps)`.
#' * polynomial_decay: `(initial_learning_rate - end_learning_rate) * (1 -
#'   min(step, decay_steps) / decay_steps)^power + end_learning_rate`; with
#'   `cycle = TRUE` the period grows to the next multiple of `decay_steps`.
#' * cosine_decay: `initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi
#'   * min(step, decay_steps) / decay_steps)) + alpha)`, after an optional
#'   linear warmup from `initial_learning_rate` to `warmup_target` over
#'   `warmup_steps` steps.
#' * cosine_decay_restarts: cosine decay that restarts after
#'   `first_decay_steps`, with periods multiplied by `t_mul` and peaks by
#'   `m_mul` at each restart.
#'
#' When a schedule is used, the history records the learning rate of each
#' epoch as `learning_rate`.
#'
#' @param initial_learning_rate The learning rate at step 0.
#' @param decay_steps,first_decay_steps Number of steps of one decay period.
#' @param decay_rate Decay factor.
#' @param staircase Whether to decay in discrete intervals.
#' @param boundaries Increasing step numbers where the rate changes.
#' @param values Learning rates, one more than `boundaries`.
#' @param end_learning_rate Final rate of the polynomial decay.
#' @param power Power of the polynomial decay.
#' @param cycle Whether the polynomial decay restarts after `decay_steps`.
#' @param alpha Minimum rate, as a fraction of the initial (or target) rate.
#' @param warmup_target `NULL`, or the rate reached at the end of the warmup.
#' @param warmup_steps Number of warmup steps.
#' @param t_mul Factor of the period length after each restart.
#' @param m_mul Factor of the peak learning rate after each restart.
#' @param name Unused; accepted for compatibility with keras.
#' @returns A schedule object of class `kerust_schedule`.
#' @name learning_rate_schedules
#' @examples
#' schedule <- learning_rate_schedule_exponential_decay(0.01, decay_steps = 100, decay_rate = 0.9)
#' model <- keras_model_sequential(input_shape = 4) |> layer_dense(1)
#' model |> compile(optimizer = optimizer_sgd(learning_rate = schedule), loss = "mse")
NULL

#' @rdname learning_rate_schedules
#' @export
learning_rate_schedule_exponential_decay <- function(initial_learning_rate, decay_steps, decay_rate,
                                                     staircase = FALSE, name = "ExponentialDecay") {
  check_number(initial_learning_rate, "initial_learning_rate", lower = 0)
  check_number(decay_steps, "decay_steps", lower = 0, lower_open = TRUE)
  check_number(decay_rate, "decay_rate", lower = 0)
  check_flag(staircase, "staircase")
  new_schedule("exponential_decay", initial_learning_rate = initial_learning_rate,
    decay_steps = decay_steps, decay_rate = decay_rate, staircase = staircase)
}

#' @rdname learning_rate_schedules
#' @export
learning_rate_schedule_piecewise_constant_decay <- function(boundaries, values, name = "PiecewiseConstant") {
  if (!is.numeric(boundaries) || anyNA(boundaries) || is.unsorted(boundaries, strictly = TRUE)) {
    abort(sprintf("`boundaries` must be an increasing numeric vector, got %s.", describe(boundaries)))
  }
  if (!is.numeric(values) || anyNA(values) || any(values < 0) || length(values) != length(boundaries) + 1) {
    abort(sprintf(
      "`values` must be %d non-negative numbers (one more than `boundaries`), got %s.",
      length(boundaries) + 1, describe(values)
    ))
  }
  new_schedule("piecewise_constant_decay", boundaries = as.double(boundaries), values = as.double(values))
}

#' @rdname learning_rate_schedules
#' @export
learning_rate_schedule_inverse_time_decay <- function(initial_learning_rate, decay_steps, decay_rate,
                                                      staircase = FALSE, name = "InverseTimeDecay") {
  check_number(initial_learning_rate, "initial_learning_rate", lower = 0)
  check_number(decay_steps, "decay_steps", lower = 0, lower_open = TRUE)
  check_number(decay_rate, "decay_rate", lower = 0)
  check_flag(staircase, "staircase")
  new_schedule("inverse_time_decay", initial_learning_rate = initial_learning_rate,
    decay_steps = decay_steps, decay_rate = decay_rate, staircase = staircase)
}

#' @rdname learning_rate_schedules
#' @export
learning_rate_schedule_polynomial_decay <- function(initial_learning_rate, decay_steps,
                                                    end_learning_rate = 1e-04, power = 1,
                                                    cycle = FALSE, name = "PolynomialDecay") {
  check_number(initial_learning_rate, "initial_learning_rate", lower = 0)
  check_number(decay_steps, "decay_steps", lower = 0, lower_open = TRUE)
  check_number(end_learning_rate, "end_learning_rate", lower = 0)
  check_number(power, "power", lower = 0)
  check_flag(cycle, "cycle")
  new_schedule("polynomial_decay", initial_learning_rate = initial_learning_rate,
    decay_steps = decay_steps, end_learning_rate = end_learning_rate, power = power, cycle = cycle)
}

#' @rdname learning_rate_schedules
#' @export
learning_rate_schedule_cosine_decay <- function(initial_learning_rate, decay_steps, alpha = 0,
                                                name = "CosineDecay", warmup_target = NULL,
                                                warmup_steps = 0) {
  check_number(initial_learning_rate, "initial_learning_rate", lower = 0)
  check_number(decay_steps, "decay_steps", lower = 0)
  check_number(alpha, "alpha", lower = 0, upper = 1)
  if (!is.null(warmup_target)) check_number(warmup_target, "warmup_target", lower = 0)
  check_number(warmup_steps, "warmup_steps", lower = 0)
  new_schedule("cosine_decay", initial_learning_rate = initial_learning_rate, decay_steps = decay_steps,
    alpha = alpha, warmup_target = if (is.null(warmup_target)) NA_real_ else warmup_target,
    warmup_steps = warmup_steps)
}

#' @rdname learning_rate_schedules
#' @export
learning_rate_schedule_cosine_decay_restarts <- function(initial_learning_rate, first_decay_steps,
                                                         t_mul = 2, m_mul = 1, alpha = 0,
                                                         name = "SGDRDecay") {
  check_number(initial_learning_rate, "initial_learning_rate", lower = 0)
  check_number(first_decay_steps, "first_decay_steps", lower = 0, lower_open = TRUE)
  check_number(t_mul, "t_mul", lower = 0, lower_open = TRUE)
  check_number(m_mul, "m_mul", lower = 0)
  check_number(alpha, "alpha", lower = 0, upper = 1)
  new_schedule("cosine_decay_restarts", initial_learning_rate = initial_learning_rate,
    first_decay_steps = first_decay_steps, t_mul = t_mul, m_mul = m_mul, alpha = alpha)
}

#' @export
print.kerust_schedule <- function(x, ...) {
  args <- x[setdiff(names(x), "type")]
  cat(sprintf("<learning_rate_schedule_%s(%s)>\n", x$type,
    paste(names(args), vapply(args, function(v) paste(format(v), collapse = ", "), ""), sep = " = ", collapse = ", ")))
  invisible(x)
}
