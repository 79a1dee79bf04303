# Conditions raised by kerust. Every error is of class `kerust_error` (and
# `error`), so callers can catch kerust's errors with
# tryCatch(..., kerust_error = function(e) ...).

kerust_error <- function(message, call = NULL) {
  structure(
    class = c("kerust_error", "error", "condition"),
    list(message = message, call = call)
  )
}

# A warning condition of class `kerust_warning`.
kerust_warning <- function(message, call = NULL) {
  structure(
    class = c("kerust_warning", "warning", "condition"),
    list(message = message, call = call)
  )
}

# Raises a kerust_error reported against the function the user called.
# `...` is pasted into the message, as in stop().
abort <- function(..., call = sys.call(-1)) {
  stop(kerust_error(paste0(...), call = call))
}

# Describes a value for an error message: `"abc"`, `0`, `NULL`, `a list`.
describe <- function(x) {
  if (is.null(x)) {
    return("NULL")
  }
  if (is.function(x)) {
    return("a function")
  }
  if (is.list(x) && !is.data.frame(x)) {
    return(sprintf("a list of length %d", length(x)))
  }
  if (is.data.frame(x)) {
    return(sprintf("a data frame with %d rows", nrow(x)))
  }
  if (length(x) == 0) {
    return(sprintf("an empty %s vector", typeof(x)))
  }
  if (length(x) > 1 && is.null(dim(x))) {
    return(sprintf("a %s vector of length %d", typeof(x), length(x)))
  }
  if (!is.null(dim(x))) {
    return(sprintf("a %s array of dimensions %s", typeof(x), paste(dim(x), collapse = " x ")))
  }
  if (is.character(x)) {
    return(sprintf("\"%s\"", x))
  }
  format(x)
}

# Runs an engine call; an engine error or panic, which extendr raises as a
# plain R error whose message starts with "[kerust] ", becomes a
# kerust_error reported against `call`.
engine_call <- function(expr, call = sys.call(-1)) {
  tryCatch(expr, error = function(e) {
    msg <- conditionMessage(e)
    if (!startsWith(msg, "[kerust] ")) {
      stop(e)
    }
    stop(kerust_error(substring(msg, 10), call = call))
  })
}

# Argument checks. Each names the argument, what it must be and what it got.
check_count <- function(x, arg, min = 1, call = sys.call(-1)) {
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || !is.finite(x) || x != round(x) || x < min) {
    abort(sprintf("`%s` must be a single integer >= %d, got %s.", arg, min, describe(x)), call = call)
  }
  if (x > .Machine$integer.max) {
    abort(sprintf("`%s` must be at most %d, got %s.", arg, .Machine$integer.max, format(x)), call = call)
  }
  invisible(as.integer(x))
}

# Rejects arguments in `...` that the function does not know, so that a
# typo such as `epoch = 10` is not silently ignored.
check_dots_empty <- function(dots, fn, allowed = character(), call = sys.call(-1)) {
  given <- names(dots)
  if (length(dots) == 0) {
    return(invisible())
  }
  if (is.null(given)) given <- rep("", length(dots))
  unknown <- given[!given %in% allowed]
  if (length(unknown)) {
    shown <- ifelse(nzchar(unknown), paste0("`", unknown, "`"), "an unnamed argument")
    abort(sprintf("Unknown argument%s in %s(): %s.", if (length(unknown) > 1) "s" else "", fn,
      paste(shown, collapse = ", ")), call = call)
  }
}

check_number <- function(x, arg, lower = -Inf, upper = Inf, lower_open = FALSE,
                         upper_open = FALSE, call = sys.call(-1)) {
  ok <- is.numeric(x) && length(x) == 1 && !is.na(x) && is.finite(x) &&
    (if (lower_open) x > lower else x >= lower) &&
    (if (upper_open) x < upper else x <= upper)
  if (!ok) {
    range <- sprintf(
      "%s%s, %s%s",
      if (lower_open) "(" else "[", format(lower), format(upper), if (upper_open) ")" else "]"
    )
    abort(sprintf("`%s` must be a single number in %s, got %s.", arg, range, describe(x)), call = call)
  }
  invisible(as.double(x))
}

check_flag <- function(x, arg, call = sys.call(-1)) {
  if (!is.logical(x) || length(x) != 1 || is.na(x)) {
    abort(sprintf("`%s` must be TRUE or FALSE, got %s.", arg, describe(x)), call = call)
  }
  invisible(x)
}

check_string <- function(x, arg, null_ok = FALSE, call = sys.call(-1)) {
  if (null_ok && is.null(x)) {
    return(invisible(x))
  }
  if (!is.character(x) || length(x) != 1 || is.na(x) || !nzchar(x)) {
    abort(sprintf("`%s` must be a single non-empty string, got %s.", arg, describe(x)), call = call)
  }
  invisible(x)
}

# Checks a seed: NULL, or one non-negative integer. Returns -1 for NULL,
# which the engine reads as "no seed" (extendr rejects NA for numbers).
check_seed <- function(x, arg = "seed", call = sys.call(-1)) {
  if (is.null(x)) {
    return(-1)
  }
  if (!is.numeric(x) || length(x) != 1 || is.na(x) || x < 0 || x != round(x)) {
    abort(sprintf("`%s` must be NULL or a single non-negative integer, got %s.", arg, describe(x)), call = call)
  }
  as.double(x)
}

# Returns `x`, or `y` when `x` is NULL.
`%||%` <- function(x, y) if (is.null(x)) y else x
