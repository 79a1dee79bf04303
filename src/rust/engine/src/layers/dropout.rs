//! Dropout: in training, each value is zeroed with probability `rate` and
//! the others are scaled by `1 / (1 - rate)`; in inference it is the identity.
//! The forward pass keeps the mask (0 or the scale) for the backward pass.

use rand::{Rng, RngExt};

use super::seeded::SeededGenerator;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

#[derive(Debug)]
pub struct Dropout {
    name: String,
    shape: Vec<usize>,
    rate: f32,
    seeded: Option<SeededGenerator>,
}

impl Dropout {
    pub fn new(name: &str, input_shape: &[usize], rate: f32, seed: Option<u64>) -> Self {
        Dropout {
            name: name.to_string(),
            shape: input_shape.to_vec(),
            rate,
            seeded: seed.map(SeededGenerator::new),
        }
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

impl Layer for Dropout {
    fn class_name(&self) -> &'static str {
        "Dropout"
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
        if !ctx.training || self.rate == 0.0 {
            y[..n].copy_from_slice(&x[..n]);
            scratch[..n].fill(1.0);
            return;
        }
        let keep = 1.0 - self.rate;
        match &self.seeded {
            Some(generator) => generator.with(|rng| fill_mask(&mut scratch[..n], keep, rng)),
            None => fill_mask(&mut scratch[..n], keep, ctx.rng),
        }
        for ((y, &x), &m) in y[..n].iter_mut().zip(&x[..n]).zip(&scratch[..n]) {
            *y = x * m;
        }
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Dropout {
            rate: self.rate,
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

/// Draws the mask: each value is `1 / keep` with probability `keep`, else 0.
fn fill_mask<R: Rng + ?Sized>(mask: &mut [f32], keep: f32, rng: &mut R) {
    let scale = 1.0 / keep;
    for m in mask.iter_mut() {
        // Multiplying by 0 or 1 instead of branching: a branch would be
        // mispredicted for about half the values and cost more than the draw.
        let kept = (rng.random::<f32>() < keep) as u32 as f32;
        *m = kept * scale;
    }
}
