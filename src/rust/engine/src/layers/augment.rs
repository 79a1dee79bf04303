//! Random image augmentation without resampling, channels last, shapes
//! unchanged `(batch_size, height, width, channels)`. Both layers are active
//! only in training, as in keras; in inference they pass their input through.
//!
//! - RandomFlip: each sample is flipped with probability 1/2 (keras 3.15
//!   flips when a uniform draw is `<= 0.5`). Mode "horizontal" reverses the
//!   columns, "vertical" the rows, and "horizontal_and_vertical" both at once
//!   on one draw, as keras 3.15 does, so such a sample is turned by 180
//!   degrees or left alone. A flip is its own adjoint, so the backward pass
//!   flips the gradient; the forward pass keeps one flag per sample.
//! - RandomContrast: each sample draws a factor `f` and every channel
//!   becomes `clip((x - mean) * f + mean, value_range)`, with `mean` the
//!   channel's mean over the image. Within a channel of `n` pixels,
//!   `dx_k = f m_k dy_k + (1 - f) / n * sum_i m_i dy_i`, where `m` is 1 where
//!   the output was not clipped and 0 where it was. The forward pass keeps
//!   `f` and `m`.

use rand::{Rng, RngExt};

use crate::error::{Error, Result};
use crate::model::Model;

use super::affine::{uniform, Range};
use super::chunks::{worth_parallel, Chunks};
use super::conv::check_input_rank;
use super::seeded::SeededGenerator;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

/// Axes that RandomFlip reverses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlipMode {
    Horizontal,
    Vertical,
    HorizontalAndVertical,
}

impl FlipMode {
    /// Returns keras's name of the flip mode.
    pub fn name(self) -> &'static str {
        match self {
            FlipMode::Horizontal => "horizontal",
            FlipMode::Vertical => "vertical",
            FlipMode::HorizontalAndVertical => "horizontal_and_vertical",
        }
    }

    /// Parses keras's name of a flip mode.
    pub fn from_name(name: &str) -> Result<FlipMode> {
        match name {
            "horizontal" => Ok(FlipMode::Horizontal),
            "vertical" => Ok(FlipMode::Vertical),
            "horizontal_and_vertical" => Ok(FlipMode::HorizontalAndVertical),
            other => Err(Error::InvalidArgument(format!(
                "`mode` must be \"horizontal\", \"vertical\" or \"horizontal_and_vertical\", got \"{other}\""
            ))),
        }
    }
}

/// Checks that a layer gets images `(height, width, channels)` of positive sizes.
fn check_image_input(name: &str, class_name: &str, input: &[usize]) -> Result<()> {
    check_input_rank(name, class_name, 2, input)?;
    if input.contains(&0) {
        return Err(Error::Shape(format!(
            "layer \"{name}\" ({class_name}): the input sizes must be positive, got {input:?}"
        )));
    }
    Ok(())
}

/// Runs `f` with the layer's own generator when it has one, else with the
/// model's.
fn with_generator<T>(
    seeded: &Option<SeededGenerator>,
    ctx: &mut ForwardCtx,
    f: impl FnOnce(&mut dyn Rng) -> T,
) -> T {
    match seeded {
        Some(generator) => generator.with(|rng| f(rng)),
        None => f(ctx.rng),
    }
}

/// Writes image `x` of shape `(height, width, channels)` flipped by `mode`
/// into `y`.
pub fn flip_image(x: &[f32], shape: [usize; 3], mode: FlipMode, y: &mut [f32]) {
    let [height, width, c] = shape;
    let rows = matches!(mode, FlipMode::Vertical | FlipMode::HorizontalAndVertical);
    let cols = matches!(mode, FlipMode::Horizontal | FlipMode::HorizontalAndVertical);
    for r in 0..height {
        let from_r = if rows { height - 1 - r } else { r };
        for k in 0..width {
            let from_k = if cols { width - 1 - k } else { k };
            y[(r * width + k) * c..][..c].copy_from_slice(&x[(from_r * width + from_k) * c..][..c]);
        }
    }
}

/// Writes image `x` of shape `(height, width, channels)` with its contrast
/// scaled by `factor` into `y`, clipped to `value_range`, and sets `mask` to
/// 1 where the value was not clipped and 0 where it was.
pub fn adjust_contrast(
    x: &[f32],
    shape: [usize; 3],
    factor: f32,
    value_range: Range,
    y: &mut [f32],
    mask: &mut [f32],
) {
    let [height, width, c] = shape;
    let pixels = height * width;
    let (low, high) = value_range;
    for ch in 0..c {
        let sum: f64 = x[..pixels * c]
            .iter()
            .skip(ch)
            .step_by(c)
            .map(|&v| v as f64)
            .sum();
        let mean = (sum / pixels as f64) as f32;
        for i in (ch..pixels * c).step_by(c) {
            let v = (x[i] - mean) * factor + mean;
            let clipped = v.clamp(low, high);
            y[i] = clipped;
            mask[i] = (clipped == v) as u32 as f32;
        }
    }
}

#[derive(Debug)]
pub struct RandomFlip {
    name: String,
    mode: FlipMode,
    shape: Vec<usize>,
    seeded: Option<SeededGenerator>,
}

impl RandomFlip {
    pub fn new(
        name: &str,
        input: &[usize],
        mode: FlipMode,
        seed: Option<u64>,
    ) -> Result<RandomFlip> {
        check_image_input(name, "RandomFlip", input)?;
        Ok(RandomFlip {
            name: name.to_string(),
            mode,
            shape: input.to_vec(),
            seeded: seed.map(SeededGenerator::new),
        })
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }

    fn image_shape(&self) -> [usize; 3] {
        [self.shape[0], self.shape[1], self.shape[2]]
    }

    /// Writes each sample of `x` into `y`, flipped where its flag in `flips`
    /// is 1. The flip is its own adjoint, so the backward pass uses it too.
    fn flip_samples(&self, x: &[f32], flips: &[f32], y: &mut [f32], batch: usize) {
        let size = self.size();
        // One chunk per sample gives the same result on any number of threads.
        Chunks::new(
            [&x[..batch * size], &flips[..batch]],
            [size, 1],
            [&mut y[..batch * size]],
            [size],
        )
        .for_each(batch, worth_parallel(batch * size, batch), &|_, chunk| {
            let [x, flip] = chunk.read;
            let [y] = chunk.write;
            if flip[0] == 1.0 {
                flip_image(x, self.image_shape(), self.mode, y);
            } else {
                y.copy_from_slice(x);
            }
        });
    }
}

impl Layer for RandomFlip {
    fn class_name(&self) -> &'static str {
        "RandomFlip"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn scratch_per_sample(&self) -> usize {
        1
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: &mut ForwardCtx,
    ) {
        let flips = &mut scratch[..batch];
        if ctx.training {
            with_generator(&self.seeded, ctx, |rng| {
                for f in flips.iter_mut() {
                    *f = (rng.random::<f32>() <= 0.5) as u32 as f32;
                }
            });
        } else {
            flips.fill(0.0);
        }
        self.flip_samples(x, flips, y, batch);
    }

    fn backward(&self, args: BackwardArgs) {
        let Some(dx) = args.dx else {
            return;
        };
        self.flip_samples(args.dy, args.scratch, dx, args.batch);
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::RandomFlip {
            mode: self.mode,
            seed: self.seeded.as_ref().map(SeededGenerator::seed),
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
}

#[derive(Debug)]
pub struct RandomContrast {
    name: String,
    /// keras's `factor`, as given.
    factor: Range,
    /// Range of the contrast factor itself (not of `factor`'s amounts).
    range: Range,
    value_range: Range,
    shape: Vec<usize>,
    seeded: Option<SeededGenerator>,
}

impl RandomContrast {
    /// Builds the layer. `factor` is keras's `(lower, upper)`, each in
    /// [0, 1], and contrast factors are drawn from `[1 - lower, 1 + upper]`.
    pub fn new(
        name: &str,
        input: &[usize],
        factor: Range,
        value_range: Range,
        seed: Option<u64>,
    ) -> Result<RandomContrast> {
        check_image_input(name, "RandomContrast", input)?;
        let in_unit = |v: f32| (0.0..=1.0).contains(&v);
        if !in_unit(factor.0) || !in_unit(factor.1) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (RandomContrast): `factor` must be in [0, 1], got ({}, {})",
                factor.0, factor.1
            )));
        }
        if !(value_range.0.is_finite()
            && value_range.1.is_finite()
            && value_range.0 < value_range.1)
        {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (RandomContrast): `value_range` must be two finite numbers, lower first, got ({}, {})",
                value_range.0, value_range.1
            )));
        }
        let range = (1.0 - factor.0, 1.0 + factor.1);
        Ok(RandomContrast {
            name: name.to_string(),
            factor,
            range,
            value_range,
            shape: input.to_vec(),
            seeded: seed.map(SeededGenerator::new),
        })
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

impl Layer for RandomContrast {
    fn class_name(&self) -> &'static str {
        "RandomContrast"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    /// Returns the scratch length per sample: the factor, then the clip mask
    /// of every value.
    fn scratch_per_sample(&self) -> usize {
        1 + self.size()
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: &mut ForwardCtx,
    ) {
        let size = self.size();
        let stride = 1 + size;
        let scratch = &mut scratch[..batch * stride];
        if !ctx.training {
            y[..batch * size].copy_from_slice(&x[..batch * size]);
            scratch.fill(1.0);
            return;
        }
        with_generator(&self.seeded, ctx, |rng| {
            for sample in scratch.chunks_exact_mut(stride) {
                sample[0] = uniform(rng, self.range);
            }
        });
        let shape = [self.shape[0], self.shape[1], self.shape[2]];
        // One chunk per sample gives the same result on any number of threads.
        Chunks::new(
            [&x[..batch * size]],
            [size],
            [&mut y[..batch * size], scratch],
            [size, stride],
        )
        .for_each(
            batch,
            worth_parallel(2 * batch * size, batch),
            &|_, chunk| {
                let [x] = chunk.read;
                let [y, sample] = chunk.write;
                let (f, mask) = sample.split_at_mut(1);
                adjust_contrast(x, shape, f[0], self.value_range, y, mask);
            },
        );
    }

    fn backward(&self, args: BackwardArgs) {
        let Some(dx) = args.dx else {
            return;
        };
        let (batch, size) = (args.batch, self.size());
        let c = self.shape[2];
        let pixels = (self.shape[0] * self.shape[1]) as f64;
        let stride = 1 + size;
        // One chunk per sample gives the same result on any number of threads.
        Chunks::new(
            [&args.dy[..batch * size], &args.scratch[..batch * stride]],
            [size, stride],
            [&mut dx[..batch * size]],
            [size],
        )
        .for_each(
            batch,
            worth_parallel(3 * batch * size, batch),
            &|_, chunk| {
                let [dy, sample] = chunk.read;
                let [dx] = chunk.write;
                let (f, mask) = (sample[0], &sample[1..]);
                for ch in 0..c {
                    let unclipped_sum: f64 = (ch..size)
                        .step_by(c)
                        .map(|i| (mask[i] * dy[i]) as f64)
                        .sum();
                    let shared = ((1.0 - f as f64) * unclipped_sum / pixels) as f32;
                    for i in (ch..size).step_by(c) {
                        dx[i] = f * mask[i] * dy[i] + shared;
                    }
                }
            },
        );
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::RandomContrast {
            factor: self.factor,
            value_range: self.value_range,
            seed: self.seeded.as_ref().map(SeededGenerator::seed),
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
}

/// Appends a RandomFlip layer to `model`.
pub fn add_random_flip(
    model: &mut Model,
    name: &str,
    mode: FlipMode,
    seed: Option<u64>,
) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(RandomFlip::new(name, input, mode, seed)?))
    })
}

/// Appends a RandomContrast layer to `model`; see [`RandomContrast::new`].
pub fn add_random_contrast(
    model: &mut Model,
    name: &str,
    factor: Range,
    value_range: Range,
    seed: Option<u64>,
) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(RandomContrast::new(
            name,
            input,
            factor,
            value_range,
            seed,
        )?))
    })
}
