//! Noise layers, active only in training as in keras: GaussianNoise adds
//! N(0, stddev) noise; GaussianDropout multiplies by N(1, sqrt(rate / (1 -
//! rate))) noise; AlphaDropout drops to selu's negative saturation value and
//! rescales so that mean and variance are kept. `Identity` passes its input
//! through (keras's ActivityRegularization layer, whose penalty the model
//! adds). The forward pass keeps the multiplier of each value for the
//! backward pass.

use rand::{Rng, RngExt};
use rand_distr::{Distribution, StandardNormal};

use super::seeded::SeededGenerator;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

/// selu's constants; AlphaDropout's dropped value is `-ALPHA * SCALE`.
const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NoiseKind {
    Gaussian { stddev: f32 },
    GaussianDropout { rate: f32 },
    AlphaDropout { rate: f32 },
}

#[derive(Debug)]
pub struct Noise {
    name: String,
    shape: Vec<usize>,
    kind: NoiseKind,
    seeded: Option<SeededGenerator>,
}

impl Noise {
    pub fn new(name: &str, input_shape: &[usize], kind: NoiseKind, seed: Option<u64>) -> Self {
        Noise {
            name: name.to_string(),
            shape: input_shape.to_vec(),
            kind,
            seeded: seed.map(SeededGenerator::new),
        }
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }

    /// Fills `mult` with each value's multiplier and returns the additive
    /// term of AlphaDropout per value through `add` (zero for the others).
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R, x: &[f32], y: &mut [f32], mult: &mut [f32]) {
        match self.kind {
            NoiseKind::Gaussian { stddev } => {
                for ((y, &x), m) in y.iter_mut().zip(x).zip(mult.iter_mut()) {
                    let z: f64 = StandardNormal.sample(rng);
                    *y = x + stddev * z as f32;
                    *m = 1.0;
                }
            }
            NoiseKind::GaussianDropout { rate } => {
                let stddev = (rate / (1.0 - rate)).sqrt();
                for ((y, &x), m) in y.iter_mut().zip(x).zip(mult.iter_mut()) {
                    let z: f64 = StandardNormal.sample(rng);
                    *m = 1.0 + stddev * z as f32;
                    *y = x * *m;
                }
            }
            NoiseKind::AlphaDropout { rate } => {
                let rate_f = rate as f64;
                let alpha_p = -SELU_ALPHA * SELU_SCALE;
                let a = ((1.0 - rate_f) * (1.0 + rate_f * alpha_p * alpha_p)).powf(-0.5);
                let b = -a * alpha_p * rate_f;
                for ((y, &x), m) in y.iter_mut().zip(x).zip(mult.iter_mut()) {
                    let kept = rng.random::<f32>() >= rate;
                    if kept {
                        *y = (a * x as f64 + b) as f32;
                        *m = a as f32;
                    } else {
                        *y = (a * alpha_p + b) as f32;
                        *m = 0.0;
                    }
                }
            }
        }
    }
}

impl Layer for Noise {
    fn class_name(&self) -> &'static str {
        match self.kind {
            NoiseKind::Gaussian { .. } => "GaussianNoise",
            NoiseKind::GaussianDropout { .. } => "GaussianDropout",
            NoiseKind::AlphaDropout { .. } => "AlphaDropout",
        }
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn scratch_per_sample(&self) -> usize {
        self.size()
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: &mut ForwardCtx,
    ) {
        let n = batch * self.size();
        let inactive = match self.kind {
            NoiseKind::Gaussian { stddev } => stddev == 0.0,
            NoiseKind::GaussianDropout { rate } | NoiseKind::AlphaDropout { rate } => rate == 0.0,
        };
        if !ctx.training || inactive {
            y[..n].copy_from_slice(&x[..n]);
            scratch[..n].fill(1.0);
            return;
        }
        match &self.seeded {
            Some(generator) => {
                generator.with(|rng| self.draw(rng, &x[..n], &mut y[..n], &mut scratch[..n]))
            }
            None => self.draw(ctx.rng, &x[..n], &mut y[..n], &mut scratch[..n]),
        }
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Noise {
            kind: self.kind,
            seed: self.seeded.as_ref().map(|g| g.seed()),
        })
    }

    fn rng_position(&self) -> Option<u128> {
        self.seeded.as_ref().map(|g| g.position())
    }

    fn set_rng_position(&self, position: u128) {
        if let Some(g) = &self.seeded {
            g.set_position(position);
        }
    }

    fn backward(&self, args: BackwardArgs) {
        if let Some(dx) = args.dx {
            let n = args.batch * self.size();
            for ((dx, &dy), &m) in dx[..n]
                .iter_mut()
                .zip(&args.dy[..n])
                .zip(&args.scratch[..n])
            {
                *dx = dy * m;
            }
        }
    }
}

/// A layer that passes its input through, shown as `class_name` (keras's
/// ActivityRegularization layer; the model adds its penalty).
#[derive(Debug)]
pub struct Identity {
    name: String,
    class_name: &'static str,
    shape: Vec<usize>,
}

impl Identity {
    pub fn new(name: &str, class_name: &'static str, input_shape: &[usize]) -> Self {
        Identity {
            name: name.to_string(),
            class_name,
            shape: input_shape.to_vec(),
        }
    }
}

impl Layer for Identity {
    fn class_name(&self) -> &'static str {
        self.class_name
    }
    fn spec(&self) -> Option<LayerSpec> {
        (self.class_name == "ActivityRegularization").then_some(LayerSpec::ActivityRegularization)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        _scratch: &mut [f32],
        _ctx: &mut ForwardCtx,
    ) {
        let n = batch * self.shape.iter().product::<usize>();
        y[..n].copy_from_slice(&x[..n]);
    }
    fn backward(&self, args: BackwardArgs) {
        if let Some(dx) = args.dx {
            let n = args.batch * self.shape.iter().product::<usize>();
            dx[..n].copy_from_slice(&args.dy[..n]);
        }
    }
}
