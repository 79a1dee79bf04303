//! Weight initializers with Keras 3's formulas and defaults
//! (`keras.initializers`). Fans follow keras: for a kernel of shape
//! `(..., fan_in, fan_out)` the receptive field multiplies both fans.

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};

/// Keras divides by this constant so a normal truncated at 2 standard
/// deviations keeps the requested variance: the standard deviation of a
/// standard normal truncated to [-2, 2].
const TRUNCATED_STDDEV_CORRECTION: f64 = 0.879_625_661_034_239_8;

#[derive(Debug, Clone, PartialEq)]
pub enum Initializer {
    GlorotUniform,
    GlorotNormal,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    RandomNormal { mean: f64, stddev: f64 },
    RandomUniform { minval: f64, maxval: f64 },
    TruncatedNormal { mean: f64, stddev: f64 },
    Zeros,
    Ones,
    Constant { value: f64 },
    Orthogonal { gain: f64 },
}

/// Initializer names accepted by [`Initializer::from_parts`].
pub const INITIALIZER_NAMES: &[&str] = &[
    "glorot_uniform",
    "glorot_normal",
    "he_normal",
    "he_uniform",
    "lecun_normal",
    "lecun_uniform",
    "random_normal",
    "random_uniform",
    "truncated_normal",
    "zeros",
    "ones",
    "constant",
    "orthogonal",
];

/// Reads a named parameter, falling back to keras's default.
fn param(params: &[(String, f64)], name: &str, default: f64) -> f64 {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| *v)
        .unwrap_or(default)
}

impl Initializer {
    /// Builds an initializer from its keras name and named parameters
    /// (missing parameters take keras's defaults).
    pub fn from_parts(name: &str, params: &[(String, f64)]) -> Result<Initializer> {
        let init = match name {
            "glorot_uniform" => Initializer::GlorotUniform,
            "glorot_normal" => Initializer::GlorotNormal,
            "he_normal" => Initializer::HeNormal,
            "he_uniform" => Initializer::HeUniform,
            "lecun_normal" => Initializer::LecunNormal,
            "lecun_uniform" => Initializer::LecunUniform,
            "random_normal" => Initializer::RandomNormal {
                mean: param(params, "mean", 0.0),
                stddev: param(params, "stddev", 0.05),
            },
            "random_uniform" => Initializer::RandomUniform {
                minval: param(params, "minval", -0.05),
                maxval: param(params, "maxval", 0.05),
            },
            "truncated_normal" => Initializer::TruncatedNormal {
                mean: param(params, "mean", 0.0),
                stddev: param(params, "stddev", 0.05),
            },
            "zeros" => Initializer::Zeros,
            "ones" => Initializer::Ones,
            "constant" => Initializer::Constant {
                value: param(params, "value", 0.0),
            },
            "orthogonal" => Initializer::Orthogonal {
                gain: param(params, "gain", 1.0),
            },
            other => {
                return Err(Error::InvalidArgument(format!(
                    "unknown initializer \"{other}\"; valid names are: {}",
                    INITIALIZER_NAMES.join(", ")
                )))
            }
        };
        Ok(init)
    }

    /// Fills a new buffer for a weight of `shape`.
    pub fn sample(&self, shape: &[usize], rng: &mut StdRng) -> Vec<f32> {
        let size: usize = shape.iter().product();
        let (fan_in, fan_out) = fans(shape);
        match *self {
            Initializer::GlorotUniform => {
                uniform_limit(size, (6.0 / (fan_in + fan_out)).sqrt(), rng)
            }
            Initializer::GlorotNormal => truncated(
                size,
                0.0,
                (2.0 / (fan_in + fan_out)).sqrt() / TRUNCATED_STDDEV_CORRECTION,
                rng,
            ),
            Initializer::HeNormal => truncated(
                size,
                0.0,
                (2.0 / fan_in).sqrt() / TRUNCATED_STDDEV_CORRECTION,
                rng,
            ),
            Initializer::HeUniform => uniform_limit(size, (6.0 / fan_in).sqrt(), rng),
            Initializer::LecunNormal => truncated(
                size,
                0.0,
                (1.0 / fan_in).sqrt() / TRUNCATED_STDDEV_CORRECTION,
                rng,
            ),
            Initializer::LecunUniform => uniform_limit(size, (3.0 / fan_in).sqrt(), rng),
            Initializer::RandomNormal { mean, stddev } => (0..size)
                .map(|_| (mean + stddev * normal(rng)) as f32)
                .collect(),
            Initializer::RandomUniform { minval, maxval } => (0..size)
                .map(|_| (minval + (maxval - minval) * rng.random::<f64>()) as f32)
                .collect(),
            Initializer::TruncatedNormal { mean, stddev } => truncated(size, mean, stddev, rng),
            Initializer::Zeros => vec![0.0; size],
            Initializer::Ones => vec![1.0; size],
            Initializer::Constant { value } => vec![value as f32; size],
            Initializer::Orthogonal { gain } => orthogonal(shape, gain, rng),
        }
    }
}

/// Keras's fan computation: the last two axes are (fan_in, fan_out) and any
/// leading axes form the receptive field. A vector has fan_in = fan_out = n.
fn fans(shape: &[usize]) -> (f64, f64) {
    match shape.len() {
        0 => (1.0, 1.0),
        1 => (shape[0] as f64, shape[0] as f64),
        n => {
            let receptive: usize = shape[..n - 2].iter().product();
            (
                (shape[n - 2] * receptive).max(1) as f64,
                (shape[n - 1] * receptive).max(1) as f64,
            )
        }
    }
}

fn normal(rng: &mut StdRng) -> f64 {
    StandardNormal.sample(rng)
}

fn uniform_limit(size: usize, limit: f64, rng: &mut StdRng) -> Vec<f32> {
    (0..size)
        .map(|_| (limit * (2.0 * rng.random::<f64>() - 1.0)) as f32)
        .collect()
}

/// Normal values redrawn until they fall within 2 standard deviations.
fn truncated(size: usize, mean: f64, stddev: f64, rng: &mut StdRng) -> Vec<f32> {
    (0..size)
        .map(|_| loop {
            let z = normal(rng);
            if z.abs() <= 2.0 {
                break (mean + stddev * z) as f32;
            }
        })
        .collect()
}

/// Draws an orthogonal matrix from the QR decomposition of a normal matrix, with
/// R's diagonal signs folded into Q so the result is uniformly distributed.
fn orthogonal(shape: &[usize], gain: f64, rng: &mut StdRng) -> Vec<f32> {
    let size: usize = shape.iter().product();
    if size == 0 {
        return Vec::new();
    }
    let cols = *shape.last().unwrap_or(&1);
    let rows = size / cols.max(1);
    // Orthonormalise the columns of a tall matrix (rows >= cols); a wide one
    // is produced transposed.
    let (tall, short) = if rows >= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let mut q: Vec<f64> = (0..tall * short).map(|_| normal(rng)).collect();
    // Modified Gram-Schmidt on the columns of q (tall x short, row-major).
    for j in 0..short {
        for p in 0..j {
            let dot: f64 = (0..tall).map(|i| q[i * short + j] * q[i * short + p]).sum();
            for i in 0..tall {
                q[i * short + j] -= dot * q[i * short + p];
            }
        }
        let norm: f64 = (0..tall)
            .map(|i| q[i * short + j].powi(2))
            .sum::<f64>()
            .sqrt();
        let norm = if norm > 0.0 { norm } else { 1.0 };
        for i in 0..tall {
            q[i * short + j] /= norm;
        }
    }
    let mut out = vec![0f32; size];
    for i in 0..rows {
        for j in 0..cols {
            let v = if rows >= cols {
                q[i * short + j]
            } else {
                q[j * short + i]
            };
            out[i * cols + j] = (gain * v) as f32;
        }
    }
    out
}

/// Returns a generator for an explicit seed, or a child of `rng`.
pub fn rng_for(seed: Option<u64>, rng: &mut StdRng) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::seed_from_u64(rng.random::<u64>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(v: &[f32]) -> (f64, f64) {
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    #[test]
    fn variance_scaling_matches_keras_formulas() {
        let mut rng = StdRng::seed_from_u64(1);
        let shape = [400, 300];
        // glorot_uniform: U(-l, l), l = sqrt(6 / 700), sd = l / sqrt(3).
        let (m, sd) = stats(&Initializer::GlorotUniform.sample(&shape, &mut rng));
        assert!(m.abs() < 2e-3);
        assert!((sd - (6.0f64 / 700.0).sqrt() / 3f64.sqrt()).abs() < 1e-3);
        // he_normal: sd = sqrt(2 / 400) after truncation correction.
        let (_, sd) = stats(&Initializer::HeNormal.sample(&shape, &mut rng));
        assert!((sd - (2.0f64 / 400.0).sqrt()).abs() < 1.5e-3, "{sd}");
        let v = Initializer::GlorotUniform.sample(&shape, &mut rng);
        let limit = (6.0f64 / 700.0).sqrt() as f32;
        assert!(v.iter().all(|x| x.abs() <= limit));
    }

    #[test]
    fn orthogonal_columns_are_orthonormal() {
        let mut rng = StdRng::seed_from_u64(2);
        for (r, c) in [(6, 4), (4, 6), (5, 5)] {
            let w = Initializer::Orthogonal { gain: 1.0 }.sample(&[r, c], &mut rng);
            // W^T W = I for tall, W W^T = I for wide.
            let (outer, inner, by_cols) = if r >= c { (c, r, true) } else { (r, c, false) };
            for a in 0..outer {
                for b in 0..outer {
                    let dot: f32 = (0..inner)
                        .map(|i| {
                            if by_cols {
                                w[i * c + a] * w[i * c + b]
                            } else {
                                w[a * c + i] * w[b * c + i]
                            }
                        })
                        .sum();
                    let expected = if a == b { 1.0 } else { 0.0 };
                    assert!((dot - expected).abs() < 1e-5);
                }
            }
        }
    }

    #[test]
    fn unknown_initializer_lists_valid_names() {
        let err = Initializer::from_parts("glorot", &[]).unwrap_err();
        assert!(err.to_string().contains("glorot_uniform"));
    }
}
