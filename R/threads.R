#' Get or set the number of threads of the kerust engine
#'
#' The engine runs matrix products and elementwise work on its own pool of
#' threads. By default it uses all logical cores. Results do not depend on
#' the number of threads: the same seed gives bitwise-identical weights with
#' one thread or many.
#'
#' @param n `NULL` to query, or the number of threads to use from now on (a
#'   positive integer).
#' @returns With `n = NULL`, the number of threads in use. When setting,
#'   the previous number, invisibly, so it can be restored later.
#' @export
#' @examples
#' kerust_threads()
#' old <- kerust_threads(1)
#' kerust_threads()
#' kerust_threads(old)
kerust_threads <- function(n = NULL) {
  if (is.null(n)) {
    return(rs_threads())
  }
  old <- rs_threads()
  n <- check_count(n, "n", min = 1)
  engine_call(rs_set_threads(n))
  invisible(old)
}
