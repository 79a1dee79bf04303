//! Activation functions with the formulas and defaults of Keras 3
//! (`keras.activations`). Each has a forward pass `y = f(z)` and a backward
//! pass `dz = f'(z) * dy` that may use both the input `z` and output `y`.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Elementwise work on fewer values than this stays on the calling thread.
const PARALLEL_MIN_LEN: usize = 1 << 15;
/// Fixed chunk length for parallel elementwise work.
const CHUNK: usize = 1 << 13;

const SELU_ALPHA: f32 = 1.673_263_2;
const SELU_SCALE: f32 = 1.050_701;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    Linear,
    /// Keras's `relu(x, negative_slope, max_value, threshold)`; plain relu is (0, None, 0).
    Relu {
        negative_slope: f32,
        max_value: Option<f32>,
        threshold: f32,
    },
    Sigmoid,
    Tanh,
    /// Softmax over the last axis.
    Softmax,
    Elu {
        alpha: f32,
    },
    Selu,
    Softplus,
    Softsign,
    /// Exact gelu, `0.5 x (1 + erf(x / sqrt(2)))`, or keras's tanh approximation.
    Gelu {
        approximate: bool,
    },
    Silu,
    LeakyRelu {
        negative_slope: f32,
    },
    /// Keras 3's hard sigmoid: `relu6(x + 3) / 6`.
    HardSigmoid,
    Exponential,
}

/// Activation names accepted by [`Activation::from_name`].
pub const ACTIVATION_NAMES: &[&str] = &[
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "softmax",
    "elu",
    "selu",
    "softplus",
    "softsign",
    "gelu",
    "silu",
    "swish",
    "leaky_relu",
    "hard_sigmoid",
    "exponential",
];

impl Activation {
    pub const RELU: Activation = Activation::Relu {
        negative_slope: 0.0,
        max_value: None,
        threshold: 0.0,
    };

    /// Looks up an activation by its keras name, with keras's default parameters.
    pub fn from_name(name: &str) -> Result<Activation> {
        Ok(match name {
            "linear" | "" => Activation::Linear,
            "relu" => Activation::RELU,
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            "elu" => Activation::Elu { alpha: 1.0 },
            "selu" => Activation::Selu,
            "softplus" => Activation::Softplus,
            "softsign" => Activation::Softsign,
            "gelu" => Activation::Gelu { approximate: false },
            "silu" | "swish" => Activation::Silu,
            "leaky_relu" => Activation::LeakyRelu {
                negative_slope: 0.2,
            },
            "hard_sigmoid" => Activation::HardSigmoid,
            "exponential" => Activation::Exponential,
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown activation \"{other}\"; valid names are: {}",
                    ACTIVATION_NAMES.join(", ")
                )))
            }
        })
    }

    /// Returns the keras name of this activation.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu { .. } => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
            Activation::Elu { .. } => "elu",
            Activation::Selu => "selu",
            Activation::Softplus => "softplus",
            Activation::Softsign => "softsign",
            Activation::Gelu { .. } => "gelu",
            Activation::Silu => "silu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::HardSigmoid => "hard_sigmoid",
            Activation::Exponential => "exponential",
        }
    }

    /// Computes `y = f(z)`; `width` is the length of the last axis (used by softmax).
    pub fn forward(&self, z: &[f32], y: &mut [f32], width: usize) {
        if let Activation::Softmax = self {
            for_rows(z, y, width, softmax_row);
            return;
        }
        let act = *self;
        for_each_pair(z, y, move |z, y| {
            for (y, &z) in y.iter_mut().zip(z) {
                *y = act.scalar(z);
            }
        });
    }

    /// Turns `d` from the gradient with respect to the output into the
    /// gradient with respect to the input, in place: `d = f'(z) * d`, using
    /// the input `z` and the output `y`.
    pub fn backward(&self, z: &[f32], y: &[f32], d: &mut [f32], width: usize) {
        if let Activation::Softmax = self {
            if width == 0 {
                return;
            }
            // dz_i = y_i (dy_i - sum_j dy_j y_j) for each row.
            let work = |(r, d_row): (usize, &mut [f32])| {
                let y_row = &y[r * width..(r + 1) * width];
                let dot: f32 = y_row.iter().zip(d_row.iter()).map(|(a, b)| a * b).sum();
                for (d, &yv) in d_row.iter_mut().zip(y_row) {
                    *d = yv * (*d - dot);
                }
            };
            if d.len() >= PARALLEL_MIN_LEN && crate::pool::in_pool() {
                d.par_chunks_mut(width).enumerate().for_each(work);
            } else {
                d.chunks_mut(width).enumerate().for_each(work);
            }
            return;
        }
        let act = *self;
        let body = move |start: usize, d: &mut [f32]| {
            for (i, g) in d.iter_mut().enumerate() {
                let j = start + i;
                *g *= act.scalar_derivative(z[j], y[j]);
            }
        };
        if d.len() >= PARALLEL_MIN_LEN && crate::pool::in_pool() {
            d.par_chunks_mut(CHUNK)
                .enumerate()
                .for_each(|(c, chunk)| body(c * CHUNK, chunk));
        } else {
            body(0, d);
        }
    }

    fn scalar(&self, x: f32) -> f32 {
        match *self {
            Activation::Linear => x,
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => {
                let mut y = if x > threshold {
                    x
                } else {
                    negative_slope * (x - threshold)
                };
                if let Some(m) = max_value {
                    y = y.min(m);
                }
                y
            }
            Activation::Sigmoid => sigmoid(x),
            Activation::Tanh => x.tanh(),
            Activation::Softmax => unreachable!("softmax is computed per row"),
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    x
                } else {
                    alpha * x.exp_m1()
                }
            }
            Activation::Selu => {
                if x > 0.0 {
                    SELU_SCALE * x
                } else {
                    SELU_SCALE * SELU_ALPHA * x.exp_m1()
                }
            }
            Activation::Softplus => softplus(x),
            Activation::Softsign => x / (1.0 + x.abs()),
            Activation::Gelu { approximate } => {
                if approximate {
                    let inner = GELU_TANH_C * (x + 0.044715 * x * x * x);
                    0.5 * x * (1.0 + inner.tanh())
                } else {
                    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
                }
            }
            Activation::Silu => x * sigmoid(x),
            Activation::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    x
                } else {
                    negative_slope * x
                }
            }
            Activation::HardSigmoid => (x / 6.0 + 0.5).clamp(0.0, 1.0),
            Activation::Exponential => x.exp(),
        }
    }

    /// Derivative at input `x` with output `y = f(x)`. At kinks it takes the
    /// value TensorFlow uses: the derivative from the left (relu at 0), except
    /// for selu, which takes the derivative from the right at 0.
    fn scalar_derivative(&self, x: f32, y: f32) -> f32 {
        match *self {
            Activation::Linear => 1.0,
            Activation::Relu {
                negative_slope,
                max_value,
                threshold,
            } => {
                if let Some(m) = max_value {
                    if y >= m {
                        return 0.0;
                    }
                }
                if x > threshold {
                    1.0
                } else {
                    negative_slope
                }
            }
            Activation::Sigmoid => y * (1.0 - y),
            Activation::Tanh => 1.0 - y * y,
            Activation::Softmax => unreachable!("softmax is differentiated per row"),
            Activation::Elu { alpha } => {
                if x > 0.0 {
                    1.0
                } else {
                    alpha * x.exp()
                }
            }
            Activation::Selu => {
                if x >= 0.0 {
                    SELU_SCALE
                } else {
                    SELU_SCALE * SELU_ALPHA * x.exp()
                }
            }
            Activation::Softplus => sigmoid(x),
            Activation::Softsign => {
                let d = 1.0 + x.abs();
                1.0 / (d * d)
            }
            Activation::Gelu { approximate } => {
                if approximate {
                    let inner = GELU_TANH_C * (x + 0.044715 * x * x * x);
                    let t = inner.tanh();
                    let dinner = GELU_TANH_C * (1.0 + 3.0 * 0.044715 * x * x);
                    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * dinner
                } else {
                    let cdf = 0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2));
                    let pdf = (-0.5 * x * x).exp() * 0.398_942_3;
                    cdf + x * pdf
                }
            }
            Activation::Silu => {
                let s = sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }
            Activation::LeakyRelu { negative_slope } => {
                if x > 0.0 {
                    1.0
                } else {
                    negative_slope
                }
            }
            Activation::HardSigmoid => {
                if x > -3.0 && x < 3.0 {
                    1.0 / 6.0
                } else {
                    0.0
                }
            }
            Activation::Exponential => y,
        }
    }
}

/// sqrt(2 / pi), the constant of gelu's tanh approximation.
const GELU_TANH_C: f32 = 0.797_884_6;

/// Numerically stable logistic function.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + exp(x))` without overflow.
pub fn softplus(x: f32) -> f32 {
    x.max(0.0) + (-x.abs()).exp().ln_1p()
}

/// Error function, computed in f64. For |x| >= 0.5 it uses the
/// Abramowitz-Stegun 7.1.26 rational approximation (absolute error below
/// 1.5e-7); for |x| < 0.5, where that form is least accurate relative to the
/// value, it sums the Maclaurin series to 12 terms.
pub fn erf(x: f32) -> f32 {
    let x = x as f64;
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let a = x.abs();
    let y = if a < 0.5 {
        let a2 = a * a;
        let mut term = a;
        let mut sum = a;
        for n in 1..12 {
            term *= -a2 / n as f64;
            sum += term / (2 * n + 1) as f64;
        }
        sum * std::f64::consts::FRAC_2_SQRT_PI
    } else {
        let t = 1.0 / (1.0 + 0.327_591_1 * a);
        let poly = t
            * (0.254_829_592
                + t * (-0.284_496_736
                    + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
        1.0 - poly * (-a * a).exp()
    };
    (sign * y) as f32
}

fn softmax_row(z: &[f32], y: &mut [f32]) {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0f32;
    for (y, &z) in y.iter_mut().zip(z) {
        *y = (z - max).exp();
        sum += *y;
    }
    let inv = 1.0 / sum;
    y.iter_mut().for_each(|v| *v *= inv);
}

/// Applies `f` to matching rows of `z` and `y`, in parallel for large inputs.
pub(crate) fn for_rows(z: &[f32], y: &mut [f32], width: usize, f: fn(&[f32], &mut [f32])) {
    if width == 0 {
        return;
    }
    if y.len() >= PARALLEL_MIN_LEN && crate::pool::in_pool() {
        y.par_chunks_mut(width)
            .zip(z.par_chunks(width))
            .for_each(|(y, z)| f(z, y));
    } else {
        y.chunks_mut(width)
            .zip(z.chunks(width))
            .for_each(|(y, z)| f(z, y));
    }
}

/// Applies `f` to matching fixed-size chunks, in parallel for large inputs.
pub(crate) fn for_each_pair(z: &[f32], y: &mut [f32], f: impl Fn(&[f32], &mut [f32]) + Sync) {
    if y.len() >= PARALLEL_MIN_LEN && crate::pool::in_pool() {
        y.par_chunks_mut(CHUNK)
            .zip(z.par_chunks(CHUNK))
            .for_each(|(y, z)| f(z, y));
    } else {
        f(z, y);
    }
}
