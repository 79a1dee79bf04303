# Activation functions against Keras 3.15.1 (TensorFlow 2.21 CPU), from
# tools/golden/make_golden.py, file src/rust/engine/tests/golden/activations.json.

x <- c(-5.0, -3.0, -1.5, -0.5, -0.1, 0.0, 0.1, 0.5, 1.0, 2.0, 3.0, 5.0)

test_that("activations match keras values", {
  expect_equal(activation_relu(x), pmax(x, 0))
  expect_equal(activation_gelu(x), c(
    -1.433257807548216e-06, -0.004049695562571287, -0.10021083056926727, -0.1542687714099884,
    -0.04601721838116646, 0.0, 0.05398278310894966, 0.3457312285900116, 0.8413447141647339,
    1.9544997215270996, 2.995950222015381, 4.999998569488525
  ), tolerance = 1e-6)
  expect_equal(activation_selu(x), c(
    -1.7462533712387085, -1.6705687046051025, -1.3658143281936646, -0.6917581558227539,
    -0.1673053503036499, 0.0, 0.10507010668516159, 0.5253505110740662, 1.0507010221481323,
    2.1014020442962646, 3.1521029472351074, 5.253505229949951
  ), tolerance = 1e-6)
  expect_equal(activation_hard_sigmoid(x), c(
    0.0, 0.0, 0.25, 0.4166666567325592, 0.4833333492279053, 0.5, 0.5166666507720947,
    0.5833333134651184, 0.6666666865348816, 0.8333333134651184, 1.0, 1.0
  ), tolerance = 1e-6)
  expect_equal(activation_leaky_relu(x), c(
    -1.0, -0.6000000238418579, -0.30000001192092896, -0.10000000149011612, -0.020000001415610313,
    0.0, 0.10000000149011612, 0.5, 1.0, 2.0, 3.0, 5.0
  ), tolerance = 1e-6)
  expect_equal(activation_softplus(x), c(
    0.006715348921716213, 0.04858735576272011, 0.20141325891017914, 0.4740769863128662,
    0.6443966627120972, 0.6931471824645996, 0.7443966865539551, 0.9740769267082214,
    1.31326162815094, 2.1269280910491943, 3.0485873222351074, 5.006715297698975
  ), tolerance = 1e-6)
})

test_that("activations match their formulas", {
  # Formulas from the Keras 3 documentation, evaluated in double precision here.
  expect_equal(activation_sigmoid(x), 1 / (1 + exp(-x)), tolerance = 1e-6)
  expect_equal(activation_tanh(x), tanh(x), tolerance = 1e-6)
  expect_equal(activation_elu(x), ifelse(x > 0, x, exp(x) - 1), tolerance = 1e-6)
  expect_equal(activation_softsign(x), x / (1 + abs(x)), tolerance = 1e-6)
  expect_equal(activation_silu(x), x / (1 + exp(-x)), tolerance = 1e-6)
  expect_equal(activation_swish(x), activation_silu(x))
  expect_equal(activation_exponential(x), exp(x), tolerance = 1e-6)
  expect_equal(activation_linear(x), x)
  expect_equal(activation_relu(x, negative_slope = 0.1, max_value = 2, threshold = 0.5),
    ifelse(x > 0.5, pmin(x, 2), 0.1 * (x - 0.5)), tolerance = 1e-6)
  expect_equal(activation_gelu(x, approximate = TRUE),
    0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3))), tolerance = 1e-5)
})

test_that("softmax is stable for large inputs", {
  m <- matrix(c(100, 101, 99, 100, 1, 2, 3, 4), 2, byrow = TRUE)
  s <- activation_softmax(m)
  expected <- exp(m - apply(m, 1, max))
  expected <- expected / rowSums(expected)
  expect_equal(s, expected, tolerance = 1e-6)
  expect_equal(dim(s), c(2L, 4L))
})

test_that("activation functions reject bad input", {
  expect_error(activation_relu("a"), "`x` must be a numeric vector, matrix or array, got \"a\"", class = "kerust_error")
  expect_error(activation_relu(c(1, NA)), "`x` contains NA at x\\[2\\]", class = "kerust_error")
  expect_error(activation_elu(1, alpha = "a"), "`alpha` must be a single number", class = "kerust_error")
  expect_error(activation_softmax(matrix(1, 2, 2), axis = 1), "`axis` must be -1", class = "kerust_error")
})
