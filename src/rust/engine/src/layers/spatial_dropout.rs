//! SpatialDropout1D/2D/3D: in training, each channel of each sample is
//! zeroed with probability `rate` at every position at once, and kept
//! channels are scaled by `1 / (1 - rate)` (keras's dropout with
//! `noise_shape = (batch_size, 1, ..., 1, channels)`). In inference it is the
//! identity. Shapes are unchanged: `(batch_size, ..., channels)`.
//!
//! The forward pass keeps the mask, one value per sample and channel, for
//! the backward pass `dx = dy * mask`.

use rand::{Rng, RngExt};

use crate::error::{Error, Result};
use crate::model::Model;

use super::conv::check_input_rank;
use super::seeded::SeededGenerator;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

#[derive(Debug)]
pub struct SpatialDropout {
    name: String,
    class_name: &'static str,
    shape: Vec<usize>,
    channels: usize,
    rate: f32,
    seeded: Option<SeededGenerator>,
}

impl SpatialDropout {
    pub fn new(
        name: &str,
        rank: usize,
        input: &[usize],
        rate: f32,
        seed: Option<u64>,
    ) -> Result<SpatialDropout> {
        let class_name = match rank {
            1 => "SpatialDropout1D",
            2 => "SpatialDropout2D",
            3 => "SpatialDropout3D",
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "layer \"{name}\": spatial dropout has 1 to 3 spatial axes, got {rank}"
                )))
            }
        };
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" ({class_name}): `rate` must be in [0, 1), got {rate}"
            )));
        }
        check_input_rank(name, class_name, rank, input)?;
        Ok(SpatialDropout {
            name: name.to_string(),
            class_name,
            shape: input.to_vec(),
            channels: input[rank],
            rate,
            seeded: seed.map(SeededGenerator::new),
        })
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Draws one mask value per channel: `1 / keep` with probability `keep`, else 0.
fn fill_mask<R: Rng + ?Sized>(mask: &mut [f32], keep: f32, rng: &mut R) {
    let scale = 1.0 / keep;
    for m in mask.iter_mut() {
        let kept = (rng.random::<f32>() < keep) as u32 as f32;
        *m = kept * scale;
    }
}

/// Multiplies each row of `values` (one position, `mask.len()` channels) by `mask`.
fn apply_mask(values: &[f32], mask: &[f32], out: &mut [f32]) {
    for (v, o) in values
        .chunks_exact(mask.len())
        .zip(out.chunks_exact_mut(mask.len()))
    {
        for ((o, &v), &m) in o.iter_mut().zip(v).zip(mask) {
            *o = v * m;
        }
    }
}

impl Layer for SpatialDropout {
    fn class_name(&self) -> &'static str {
        self.class_name
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn scratch_per_sample(&self) -> usize {
        self.channels
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: &mut ForwardCtx,
    ) {
        let (n, c) = (batch * self.size(), self.channels);
        let mask = &mut scratch[..batch * c];
        if !ctx.training || self.rate == 0.0 {
            y[..n].copy_from_slice(&x[..n]);
            mask.fill(1.0);
            return;
        }
        let keep = 1.0 - self.rate;
        match &self.seeded {
            Some(generator) => generator.with(|rng| fill_mask(mask, keep, rng)),
            None => fill_mask(mask, keep, ctx.rng),
        }
        let size = self.size();
        for ((x, y), mask) in x[..n]
            .chunks_exact(size)
            .zip(y[..n].chunks_exact_mut(size))
            .zip(mask.chunks_exact(c))
        {
            apply_mask(x, mask, y);
        }
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::SpatialDropout {
            rank: self.shape.len() - 1,
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
        let Some(dx) = args.dx else {
            return;
        };
        let (size, c) = (self.size(), self.channels);
        let n = args.batch * size;
        for ((dy, dx), mask) in args.dy[..n]
            .chunks_exact(size)
            .zip(dx[..n].chunks_exact_mut(size))
            .zip(args.scratch.chunks_exact(c))
        {
            apply_mask(dy, mask, dx);
        }
    }
}

/// Appends a SpatialDropout layer with `rank` spatial axes to `model`.
pub fn add_spatial_dropout(
    model: &mut Model,
    name: &str,
    rank: usize,
    rate: f32,
    seed: Option<u64>,
) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(SpatialDropout::new(
            name, rank, input, rate, seed,
        )?))
    })
}
