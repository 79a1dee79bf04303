# Training history: the object that fit() returns, with methods to print,
# plot and convert it to a data frame.

# Creates the history object returned by fit().
#
# `epochs` is an integer vector of the (1-based) epoch numbers run.
# `metrics` is a named list of numeric vectors with one value per epoch, such
# as loss, accuracy, val_loss and val_accuracy. Names that start with "val_"
# are validation metrics. Use NA for an epoch without a value, such as an
# epoch without validation. `params` is a list of the training parameters
# epochs, steps (per epoch), verbose and batch_size.
new_history <- function(epochs, metrics, params, call = sys.call(-1)) {
  if (!is.numeric(epochs) || anyNA(epochs) || any(epochs != round(epochs)) || any(epochs < 1)) {
    abort(
      sprintf("`epochs` must be a vector of whole numbers >= 1, got %s.", describe(epochs)),
      call = call
    )
  }
  if (!is.list(metrics) || (length(metrics) > 0 && is.null(names(metrics)))) {
    abort(sprintf("`metrics` must be a named list of numeric vectors, got %s.", describe(metrics)), call = call)
  }
  metric_names <- names(metrics)
  if (anyNA(metric_names) || any(!nzchar(metric_names)) || anyDuplicated(metric_names) > 0) {
    abort(
      sprintf(
        "`metrics` must have unique, non-empty names, got names %s.",
        paste0("\"", metric_names, "\"", collapse = ", ")
      ),
      call = call
    )
  }
  for (name in metric_names) {
    values <- metrics[[name]]
    if (!is.numeric(values) && !all(is.na(values))) {
      abort(sprintf("`metrics$%s` must be a numeric vector, got %s.", name, describe(values)), call = call)
    }
    if (length(values) != length(epochs)) {
      abort(
        sprintf(
          "`metrics$%s` must have one value per epoch (%d), got %d values.",
          name, length(epochs), length(values)
        ),
        call = call
      )
    }
  }
  if (!is.list(params)) {
    abort(sprintf("`params` must be a list, got %s.", describe(params)), call = call)
  }

  metrics <- lapply(metrics, as.double)
  structure(
    list(params = params, metrics = metrics, epoch = as.integer(epochs)),
    class = c("kerust_history", "keras_training_history")
  )
}

#' Print a training history
#'
#' Prints the number of epochs and steps per epoch that [fit()] ran, then the
#' value of each metric in the final epoch.
#'
#' @param x A training history, as returned by [fit()].
#' @param ... Not used.
#' @returns `x`, invisibly.
#' @export
#' @examples
#' # fit() returns this object; one made by hand keeps the example fast.
#' history <- kerust:::new_history(
#'   epochs = 1:3,
#'   metrics = list(loss = c(0.9, 0.5, 0.4), val_loss = c(1.0, 0.7, 0.6)),
#'   params = list(epochs = 3, steps = 10, verbose = 0, batch_size = 32)
#' )
#' print(history)
print.kerust_history <- function(x, ...) {
  cat(format_history_header(x), "\n", sep = "")

  epoch_count <- length(x$epoch)
  if (epoch_count == 0 || length(x$metrics) == 0) {
    cat("No metrics recorded.\n")
    return(invisible(x))
  }

  final_values <- vapply(x$metrics, function(values) values[[epoch_count]], numeric(1))
  labels <- formatC(names(final_values), width = max(nchar(names(final_values))))
  cat("Final epoch (plot to see history):\n")
  cat(sprintf("%s: %.4g\n", labels, final_values), sep = "")
  invisible(x)
}

# Describes the training run: "Trained for 10 epochs (1875 steps per epoch,
# batch size 32).", "Trained for 4 of 10 epochs ..." after an early stop, or
# "Trained for epochs 6 to 10 ..." when training resumed at a later epoch.
# As in keras, params$epochs is the number of the last planned epoch.
format_history_header <- function(x) {
  epoch_count <- length(x$epoch)
  planned <- x$params$epochs
  has_planned <- length(planned) == 1 && is.numeric(planned) && !is.na(planned)
  first <- if (epoch_count > 0) min(x$epoch) else 1L
  last <- if (epoch_count > 0) max(x$epoch) else 0L
  stopped_early <- has_planned && last < planned

  epochs_text <- if (first > 1) {
    sprintf("epochs %d to %d", first, last)
  } else if (stopped_early) {
    sprintf("%d of %d epochs", epoch_count, as.integer(planned))
  } else {
    sprintf("%d epoch%s", epoch_count, if (epoch_count == 1) "" else "s")
  }
  if (first > 1 && stopped_early) {
    epochs_text <- sprintf("%s of %d", epochs_text, as.integer(planned))
  }

  details <- character()
  if (length(x$params$steps) == 1 && !is.na(x$params$steps)) {
    details <- c(details, sprintf("%d steps per epoch", as.integer(x$params$steps)))
  }
  if (length(x$params$batch_size) == 1 && !is.na(x$params$batch_size)) {
    details <- c(details, sprintf("batch size %d", as.integer(x$params$batch_size)))
  }
  details_text <- if (length(details) > 0) sprintf(" (%s)", paste(details, collapse = ", ")) else ""
  sprintf("Trained for %s%s.", epochs_text, details_text)
}

#' Convert a training history to a data frame
#'
#' Converts the metrics of a training history to long format, with one row
#' per epoch and metric. Validation metrics (names starting with `val_`) get
#' `data = "validation"` and their name without the prefix, so that `loss`
#' and `val_loss` share `metric = "loss"`.
#'
#' @param x A training history, as returned by [fit()].
#' @param row.names,optional Not used, for compatibility with the generic.
#' @param ... Not used.
#' @returns A data frame with columns `epoch` (integer), `value` (double),
#'   `metric` (factor, levels in order of first appearance) and `data`
#'   (factor with levels `"training"` and `"validation"`). Rows follow the
#'   order of the metrics in `x`, and epochs within each metric.
#' @export
#' @examples
#' history <- kerust:::new_history(
#'   epochs = 1:2,
#'   metrics = list(loss = c(0.9, 0.5), val_loss = c(1.0, 0.7)),
#'   params = list(epochs = 2, steps = 10, verbose = 0, batch_size = 32)
#' )
#' as.data.frame(history)
as.data.frame.kerust_history <- function(x, row.names = NULL, optional = FALSE, ...) {
  metric_names <- as.character(names(x$metrics))
  is_validation <- startsWith(metric_names, "val_")
  base_names <- ifelse(is_validation, substring(metric_names, 5), metric_names)
  epoch_count <- length(x$epoch)

  data.frame(
    epoch = rep(x$epoch, times = length(metric_names)),
    value = as.double(unlist(x$metrics, use.names = FALSE)),
    metric = factor(rep(base_names, each = epoch_count), levels = unique(base_names)),
    data = factor(
      rep(ifelse(is_validation, "validation", "training"), each = epoch_count),
      levels = c("training", "validation")
    )
  )
}

#' Plot a training history
#'
#' Draws one panel per metric, with the value on each epoch for the training
#' data and, when recorded, the validation data.
#'
#' With `method = "auto"`, the plot uses ggplot2 when it is installed and
#' base graphics otherwise. With `smooth = TRUE` and at least 10 epochs, a
#' [stats::loess()] curve is drawn through the points in place of straight
#' lines between them.
#'
#' @param x A training history, as returned by [fit()].
#' @param y Not used.
#' @param metrics Names of the metrics to plot, without the `val_` prefix
#'   (for example `"loss"`), or `NULL` for all.
#' @param method `"auto"`, `"ggplot2"` or `"base"`: the graphics system.
#' @param smooth Whether to draw a smooth curve when there are at least 10
#'   epochs. The default is the option `kerust.plot_smooth`, or `TRUE`.
#' @param theme_bw Whether to use [ggplot2::theme_bw()]. Base graphics
#'   ignore it.
#' @param ... Passed to [graphics::plot()] for base graphics, and not used
#'   with ggplot2.
#' @returns For ggplot2, the ggplot object, which draws when printed. For
#'   base graphics, `x`, invisibly, after drawing.
#' @export
#' @examples
#' history <- kerust:::new_history(
#'   epochs = 1:5,
#'   metrics = list(
#'     loss = c(0.9, 0.6, 0.5, 0.45, 0.4),
#'     accuracy = c(0.6, 0.7, 0.75, 0.8, 0.82),
#'     val_loss = c(1.0, 0.8, 0.7, 0.7, 0.72),
#'     val_accuracy = c(0.55, 0.65, 0.7, 0.72, 0.71)
#'   ),
#'   params = list(epochs = 5, steps = 10, verbose = 0, batch_size = 32)
#' )
#' plot(history, method = "base")
plot.kerust_history <- function(x, y, metrics = NULL,
                                method = c("auto", "ggplot2", "base"),
                                smooth = getOption("kerust.plot_smooth", TRUE),
                                theme_bw = FALSE, ...) {
  if (!is.character(method) || length(method) < 1 ||
      !method[[1]] %in% c("auto", "ggplot2", "base")) {
    abort(sprintf("`method` must be \"auto\", \"ggplot2\" or \"base\", got %s.", describe(method)))
  }
  method <- method[[1]]
  check_flag(smooth, "smooth")
  check_flag(theme_bw, "theme_bw")

  df <- as.data.frame(x)
  available <- levels(df$metric)
  if (length(available) == 0) {
    abort("`x` has no metrics to plot.")
  }
  if (is.null(metrics)) {
    metrics <- available
  } else if (!is.character(metrics) || length(metrics) == 0 || anyNA(metrics) ||
             !all(metrics %in% available)) {
    abort(sprintf(
      "`metrics` must be names of recorded metrics (%s), got %s.",
      paste0("\"", available, "\"", collapse = ", "), describe(metrics)
    ))
  }
  df <- df[df$metric %in% metrics & !is.na(df$value), , drop = FALSE]
  df$metric <- factor(df$metric, levels = metrics)

  has_ggplot2 <- requireNamespace("ggplot2", quietly = TRUE)
  if (method == "ggplot2" && !has_ggplot2) {
    abort("`method = \"ggplot2\"` needs the ggplot2 package. Install it with install.packages(\"ggplot2\"), or use `method = \"base\"`.")
  }
  use_smooth <- smooth && length(unique(df$epoch)) >= 10

  if (method == "ggplot2" || (method == "auto" && has_ggplot2)) {
    return(plot_history_ggplot2(df, use_smooth, theme_bw))
  }
  plot_history_base(df, metrics, use_smooth, ...)
  invisible(x)
}

# ggplot2's data mask binds the .data pronoun when aes() is evaluated. The
# declaration keeps R CMD check from reporting it as an undefined global.
utils::globalVariables(".data")

plot_history_ggplot2 <- function(df, smooth, theme_bw) {
  df$data <- droplevels(df$data)
  p <- ggplot2::ggplot(
    df,
    ggplot2::aes(x = .data$epoch, y = .data$value, colour = .data$data, fill = .data$data)
  ) +
    ggplot2::geom_point(shape = 21)
  if (smooth) {
    p <- p + ggplot2::geom_smooth(method = "loess", formula = y ~ x, se = FALSE)
  } else {
    p <- p + ggplot2::geom_line()
  }
  if (theme_bw) {
    p <- p + ggplot2::theme_bw()
  }
  p +
    ggplot2::facet_grid(ggplot2::vars(.data$metric), switch = "y", scales = "free_y") +
    ggplot2::labs(x = "epoch", y = NULL, colour = NULL, fill = NULL) +
    ggplot2::theme(strip.placement = "outside")
}

history_colours <- c(training = "#1F77B4", validation = "#FF7F0E")

plot_history_base <- function(df, metrics, smooth, ...) {
  old_par <- graphics::par(mfrow = c(length(metrics), 1), mar = c(4, 4, 1, 1))
  on.exit(graphics::par(old_par))

  for (metric in metrics) {
    panel <- df[df$metric == metric, , drop = FALSE]
    if (nrow(panel) == 0) {
      graphics::plot.new()
      graphics::text(0.5, 0.5, sprintf("%s: all values are NA", metric))
      next
    }
    # Arguments in `...` replace the defaults, so that for example `ylab` works.
    plot_args <- utils::modifyList(
      list(x = panel$epoch, y = panel$value, type = "n", xlab = "epoch", ylab = metric),
      list(...)
    )
    do.call(graphics::plot, plot_args)
    series <- intersect(names(history_colours), as.character(unique(panel$data)))
    for (data in series) {
      points <- panel[panel$data == data, , drop = FALSE]
      points <- points[order(points$epoch), , drop = FALSE]
      colour <- history_colours[[data]]
      graphics::points(points$epoch, points$value, col = colour, pch = 19)
      if (smooth && nrow(points) >= 10) {
        # The same loess fit (span 0.75, degree 2) as ggplot2's geom_smooth().
        fit <- stats::loess(value ~ epoch, data = points)
        grid <- seq(min(points$epoch), max(points$epoch), length.out = 100)
        graphics::lines(grid, stats::predict(fit, data.frame(epoch = grid)), col = colour, lwd = 2)
      } else {
        graphics::lines(points$epoch, points$value, col = colour)
      }
    }

    # Put the legend in the corner that the curves usually leave empty: bottom
    # right when the metric rose during training (accuracy), top right
    # otherwise (loss).
    training <- panel[panel$data == "training", , drop = FALSE]
    rising <- nrow(training) > 1 &&
      training$value[[which.max(training$epoch)]] > training$value[[which.min(training$epoch)]]
    graphics::legend(
      if (rising) "bottomright" else "topright",
      legend = series, col = history_colours[series], pch = 19, lty = 1, bty = "n"
    )
  }
}
