//! Random affine image augmentation, channels last, shapes unchanged
//! `(batch_size, height, width, channels)`: RandomRotation,
//! RandomTranslation and RandomZoom. In training, each sample gets its own
//! transform drawn uniformly from the layer's range; in inference the layers
//! pass their input through.
//!
//! A transform is keras's 8-number projective transform with the last two
//! numbers 0: output pixel `(x, y)` (column, row) reads the input at
//! `(a0 x + a1 y + a2, b0 x + b1 y + b2)`. The matrices are keras 3.15's:
//!
//! - rotation by `angle` about the image centre `((w - 1) / 2, (h - 1) / 2)`:
//!   `a0 = cos, a1 = -sin, b0 = sin, b1 = cos` (positive angles turn the
//!   image counter-clockwise);
//! - translation by `(dx, dy)` pixels: `a2 = -dx, b2 = -dy`;
//! - zoom by `(zx, zy)` about the centre: `a0 = zx`, `a2 = (w - 1) / 2 * (1 - zx)`,
//!   and the same for rows; factors above 1 zoom out.
//!
//! Sampling follows TensorFlow's `ImageProjectiveTransformV3` kernel, which
//! `keras.ops.image.affine_transform` calls on the TensorFlow backend. The
//! fill mode first maps coordinates outside the image into it. Nearest
//! interpolation then rounds half away from zero, and bilinear interpolation
//! reads `fill_value` for neighbours outside the image.
//!
//! For a drawn transform the layer is linear in its input, so the backward
//! pass scatters each output gradient to the input pixels it read, with the
//! same weights. The forward pass keeps the six coefficients of each
//! sample's transform for it.

use rand::{Rng, RngExt};

use crate::error::{Error, Result};
use crate::model::Model;

use super::chunks::{worth_parallel, Chunks};
use super::conv::check_input_rank;
use super::resize::Interpolation;
use super::seeded::SeededGenerator;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

/// Rule that fills points outside the input image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillMode {
    /// `(d c b a | a b c d | d c b a)`: reflect about the edge of the last pixel.
    Reflect,
    /// `(a b c d | a b c d | a b c d)`: wrap around to the opposite edge.
    Wrap,
    /// `(k k k k | a b c d | k k k k)` with `k = fill_value`.
    Constant,
    /// `(a a a a | a b c d | d d d d)`: repeat the edge pixel.
    Nearest,
}

impl FillMode {
    /// Returns keras's name of the fill mode.
    pub fn name(self) -> &'static str {
        match self {
            FillMode::Reflect => "reflect",
            FillMode::Wrap => "wrap",
            FillMode::Constant => "constant",
            FillMode::Nearest => "nearest",
        }
    }

    /// Parses keras's name of a fill mode.
    pub fn from_name(name: &str) -> Result<FillMode> {
        match name {
            "reflect" => Ok(FillMode::Reflect),
            "wrap" => Ok(FillMode::Wrap),
            "constant" => Ok(FillMode::Constant),
            "nearest" => Ok(FillMode::Nearest),
            other => Err(Error::InvalidArgument(format!(
                "`fill_mode` must be one of \"reflect\", \"wrap\", \"constant\", \"nearest\", got \"{other}\""
            ))),
        }
    }

    /// Maps coordinate `at` of an axis of `len` pixels into the image, as
    /// TensorFlow's `MapCoordinate` does.
    ///
    /// NOTE: TensorFlow's wrap subtracts `len` times `at / (len - 1)`
    /// periods, not `at / len`, so coordinates more than `len - 1` outside
    /// the image land elsewhere than a true modulo puts them. keras's
    /// TensorFlow backend gives those values, and so does kerust.
    fn map(self, at: f32, len: usize) -> f32 {
        let n = len as i64;
        let last = (len - 1) as f32;
        let mapped = match self {
            FillMode::Constant => return at,
            FillMode::Nearest => at,
            FillMode::Reflect => {
                if len <= 1 && (at < 0.0 || at > last) {
                    0.0
                } else if at < 0.0 {
                    let period = (2 * n) as f32;
                    let at = period * ((-at / period) as i64) as f32 + at;
                    if at < -(n as f32) {
                        at + period
                    } else {
                        -at - 1.0
                    }
                } else if at > last {
                    let period = (2 * n) as f32;
                    let at = at - period * ((at / period) as i64) as f32;
                    if at >= n as f32 {
                        period - at - 1.0
                    } else {
                        at
                    }
                } else {
                    at
                }
            }
            FillMode::Wrap => {
                if len <= 1 && (at < 0.0 || at > last) {
                    0.0
                } else if at < 0.0 {
                    let periods = (-at / last) as i64 + 1;
                    at + (n * periods) as f32
                } else if at > last {
                    let periods = (at / last) as i64;
                    at - (n * periods) as f32
                } else {
                    at
                }
            }
        };
        mapped.clamp(0.0, last)
    }
}

/// Sampling settings shared by the affine layers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sampling {
    pub fill_mode: FillMode,
    pub interpolation: Interpolation,
    pub fill_value: f32,
}

/// Calls `read(output_pixel, input_pixel, weight)` for every input pixel
/// that an output pixel reads under `transform`. `input_pixel` is `None` for
/// a neighbour outside the image, whose value is `fill_value`. Pixels are
/// numbered row by row over a `height x width` image.
fn for_each_read(
    transform: &[f32],
    height: usize,
    width: usize,
    sampling: &Sampling,
    mut read: impl FnMut(usize, Option<usize>, f32),
) {
    let [a0, a1, a2, b0, b1, b2] = [
        transform[0],
        transform[1],
        transform[2],
        transform[3],
        transform[4],
        transform[5],
    ];
    let pixel = |row: f32, col: f32| {
        let inside = row >= 0.0 && col >= 0.0 && row < height as f32 && col < width as f32;
        inside.then(|| row as usize * width + col as usize)
    };
    for oy in 0..height {
        for ox in 0..width {
            let out = oy * width + ox;
            let (fx, fy) = (ox as f32, oy as f32);
            let x = sampling.fill_mode.map(a0 * fx + a1 * fy + a2, width);
            let y = sampling.fill_mode.map(b0 * fx + b1 * fy + b2, height);
            match sampling.interpolation {
                Interpolation::Nearest => read(out, pixel(y.round(), x.round()), 1.0),
                Interpolation::Bilinear => {
                    let (y0, x0) = (y.floor(), x.floor());
                    let (y1, x1) = (y0 + 1.0, x0 + 1.0);
                    let (wy0, wy1) = (y1 - y, y - y0);
                    let (wx0, wx1) = (x1 - x, x - x0);
                    read(out, pixel(y0, x0), wy0 * wx0);
                    read(out, pixel(y0, x1), wy0 * wx1);
                    read(out, pixel(y1, x0), wy1 * wx0);
                    read(out, pixel(y1, x1), wy1 * wx1);
                }
            }
        }
    }
}

/// Applies `transform` (six numbers, see the module documentation) to one
/// image `x` of shape `(height, width, channels)`, writing `y`.
pub fn affine_transform(
    x: &[f32],
    shape: [usize; 3],
    transform: &[f32],
    sampling: &Sampling,
    y: &mut [f32],
) {
    let [height, width, c] = shape;
    y[..height * width * c].fill(0.0);
    for_each_read(transform, height, width, sampling, |out, input, weight| {
        let dst = &mut y[out * c..][..c];
        match input {
            Some(input) => {
                let src = &x[input * c..][..c];
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d += weight * v);
            }
            None => dst
                .iter_mut()
                .for_each(|d| *d += weight * sampling.fill_value),
        }
    });
}

/// Adds the adjoint of [`affine_transform`] applied to `dy` into `dx`.
fn affine_transform_adjoint(
    dy: &[f32],
    shape: [usize; 3],
    transform: &[f32],
    sampling: &Sampling,
    dx: &mut [f32],
) {
    let [height, width, c] = shape;
    for_each_read(transform, height, width, sampling, |out, input, weight| {
        if let Some(input) = input {
            let src = &dy[out * c..][..c];
            let dst = &mut dx[input * c..][..c];
            dst.iter_mut().zip(src).for_each(|(d, &v)| *d += weight * v);
        }
    });
}

/// The transform that maps every pixel to itself.
const IDENTITY: [f32; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

/// Returns the transform of a rotation by `degrees` counter-clockwise about
/// the centre of a `height x width` image.
pub fn rotation_transform(degrees: f32, height: usize, width: usize) -> [f32; 6] {
    let angle = degrees * (std::f32::consts::PI / 180.0);
    let (sin, cos) = angle.sin_cos();
    let cx = 0.5 * (width as f32 - 1.0);
    let cy = 0.5 * (height as f32 - 1.0);
    let (a0, a1, b0, b1) = (cos, -sin, sin, cos);
    [
        a0,
        a1,
        cx - cx * a0 - cy * a1,
        b0,
        b1,
        cy - cx * b0 - cy * b1,
    ]
}

/// Returns the transform of a shift by `dx` columns and `dy` rows.
pub fn translation_transform(dx: f32, dy: f32) -> [f32; 6] {
    [1.0, 0.0, -dx, 0.0, 1.0, -dy]
}

/// Returns the transform of a zoom by `zx` horizontally and `zy` vertically
/// about the centre of a `height x width` image.
pub fn zoom_transform(zx: f32, zy: f32, height: usize, width: usize) -> [f32; 6] {
    let x_offset = (width as f32 - 1.0) / 2.0 * (1.0 - zx);
    let y_offset = (height as f32 - 1.0) / 2.0 * (1.0 - zy);
    [zx, 0.0, x_offset, 0.0, zy, y_offset]
}

/// A range `[lower, upper]` that a random factor is drawn from uniformly.
pub type Range = (f32, f32);

/// Draws uniformly from `range`.
pub(crate) fn uniform<R: Rng + ?Sized>(rng: &mut R, range: Range) -> f32 {
    range.0 + (range.1 - range.0) * rng.random::<f32>()
}

/// Kind and range of the transforms an affine layer draws.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AffineKind {
    /// Angles in fractions of a full turn.
    Rotation { factor: Range },
    /// Shifts in fractions of the height and width.
    Translation { height: Range, width: Range },
    /// Zoom amounts: the factor is `1 + u` for `u` drawn from the range.
    /// Without a width range, the width zoom equals the height zoom.
    Zoom { height: Range, width: Option<Range> },
}

impl AffineKind {
    fn class_name(&self) -> &'static str {
        match self {
            AffineKind::Rotation { .. } => "RandomRotation",
            AffineKind::Translation { .. } => "RandomTranslation",
            AffineKind::Zoom { .. } => "RandomZoom",
        }
    }

    /// Checks the ranges: rotation and translation fractions in [-1, 1],
    /// zoom amounts in (-1, 1] (a zoom factor of 0 would be singular).
    fn check(&self, name: &str) -> Result<()> {
        let class_name = self.class_name();
        let bad = |arg: &str, range: &Range, allowed: &str| {
            Error::InvalidArgument(format!(
                "layer \"{name}\" ({class_name}): `{arg}` must be in {allowed}, got ({}, {})",
                range.0, range.1
            ))
        };
        let within = |range: &Range, low_open: bool| {
            let ok =
                |v: f32| v.is_finite() && v <= 1.0 && if low_open { v > -1.0 } else { v >= -1.0 };
            ok(range.0) && ok(range.1) && range.0 <= range.1
        };
        match self {
            AffineKind::Rotation { factor } => {
                if !within(factor, false) {
                    return Err(bad("factor", factor, "[-1, 1]"));
                }
            }
            AffineKind::Translation { height, width } => {
                if !within(height, false) {
                    return Err(bad("height_factor", height, "[-1, 1]"));
                }
                if !within(width, false) {
                    return Err(bad("width_factor", width, "[-1, 1]"));
                }
            }
            AffineKind::Zoom { height, width } => {
                if !within(height, true) {
                    return Err(bad("height_factor", height, "(-1, 1]"));
                }
                if let Some(width) = width.as_ref().filter(|w| !within(w, true)) {
                    return Err(bad("width_factor", width, "(-1, 1]"));
                }
            }
        }
        Ok(())
    }

    /// Draws the transform of one `height x width` sample.
    fn draw<R: Rng + ?Sized>(&self, rng: &mut R, height: usize, width: usize) -> [f32; 6] {
        match *self {
            AffineKind::Rotation { factor } => {
                let turns = uniform(rng, factor);
                rotation_transform(turns * 360.0, height, width)
            }
            AffineKind::Translation {
                height: h_range,
                width: w_range,
            } => {
                let dy = uniform(rng, h_range) * height as f32;
                let dx = uniform(rng, w_range) * width as f32;
                translation_transform(dx, dy)
            }
            AffineKind::Zoom {
                height: h_range,
                width: w_range,
            } => {
                let zy = 1.0 + uniform(rng, h_range);
                let zx = match w_range {
                    Some(w_range) => 1.0 + uniform(rng, w_range),
                    None => zy,
                };
                zoom_transform(zx, zy, height, width)
            }
        }
    }
}

/// RandomRotation, RandomTranslation or RandomZoom.
#[derive(Debug)]
pub struct RandomAffine {
    name: String,
    kind: AffineKind,
    sampling: Sampling,
    shape: Vec<usize>,
    seeded: Option<SeededGenerator>,
}

/// Coefficients per sample kept for the backward pass.
const TRANSFORM_LEN: usize = 6;

impl RandomAffine {
    pub fn new(
        name: &str,
        input: &[usize],
        kind: AffineKind,
        sampling: Sampling,
        seed: Option<u64>,
    ) -> Result<RandomAffine> {
        let class_name = kind.class_name();
        check_input_rank(name, class_name, 2, input)?;
        if input.contains(&0) {
            return Err(Error::Shape(format!(
                "layer \"{name}\" ({class_name}): the input sizes must be positive, got {input:?}"
            )));
        }
        kind.check(name)?;
        if !sampling.fill_value.is_finite() {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" ({class_name}): `fill_value` must be a finite number, got {}",
                sampling.fill_value
            )));
        }
        Ok(RandomAffine {
            name: name.to_string(),
            kind,
            sampling,
            shape: input.to_vec(),
            seeded: seed.map(SeededGenerator::new),
        })
    }

    fn image_shape(&self) -> [usize; 3] {
        [self.shape[0], self.shape[1], self.shape[2]]
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }

    fn draw_all<R: Rng + ?Sized>(&self, rng: &mut R, transforms: &mut [f32]) {
        let [height, width, _] = self.image_shape();
        for t in transforms.chunks_exact_mut(TRANSFORM_LEN) {
            t.copy_from_slice(&self.kind.draw(rng, height, width));
        }
    }
}

impl Layer for RandomAffine {
    fn class_name(&self) -> &'static str {
        self.kind.class_name()
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn scratch_per_sample(&self) -> usize {
        TRANSFORM_LEN
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
        let transforms = &mut scratch[..batch * TRANSFORM_LEN];
        if !ctx.training {
            y[..batch * size].copy_from_slice(&x[..batch * size]);
            for t in transforms.chunks_exact_mut(TRANSFORM_LEN) {
                t.copy_from_slice(&IDENTITY);
            }
            return;
        }
        match &self.seeded {
            Some(generator) => generator.with(|rng| self.draw_all(rng, transforms)),
            None => self.draw_all(ctx.rng, transforms),
        }
        // The draws above are sequential. The transforms below are per
        // sample, so one chunk per sample gives the same result on any
        // number of threads. Each output reads up to 4 values.
        let parallel = worth_parallel(4 * batch * size, batch);
        Chunks::new(
            [&x[..batch * size], &*transforms],
            [size, TRANSFORM_LEN],
            [&mut y[..batch * size]],
            [size],
        )
        .for_each(batch, parallel, &|_, chunk| {
            let [x, t] = chunk.read;
            let [y] = chunk.write;
            affine_transform(x, self.image_shape(), t, &self.sampling, y);
        });
    }

    fn backward(&self, args: BackwardArgs) {
        let Some(dx) = args.dx else {
            return;
        };
        let (batch, size) = (args.batch, self.size());
        let parallel = worth_parallel(4 * batch * size, batch);
        Chunks::new(
            [
                &args.dy[..batch * size],
                &args.scratch[..batch * TRANSFORM_LEN],
            ],
            [size, TRANSFORM_LEN],
            [&mut dx[..batch * size]],
            [size],
        )
        .for_each(batch, parallel, &|_, chunk| {
            let [dy, t] = chunk.read;
            let [dx] = chunk.write;
            dx.fill(0.0);
            affine_transform_adjoint(dy, self.image_shape(), t, &self.sampling, dx);
        });
    }

    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::RandomAffine {
            kind: self.kind,
            sampling: self.sampling,
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

/// Appends a RandomRotation, RandomTranslation or RandomZoom layer to `model`.
pub fn add_random_affine(
    model: &mut Model,
    name: &str,
    kind: AffineKind,
    sampling: Sampling,
    seed: Option<u64>,
) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(RandomAffine::new(
            name, input, kind, sampling, seed,
        )?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_and_wrap_map_like_tensorflow() {
        // Worked by hand from TensorFlow's MapCoordinate for len = 4.
        assert_eq!(FillMode::Reflect.map(-1.0, 4), 0.0);
        assert_eq!(FillMode::Reflect.map(-2.0, 4), 1.0);
        assert_eq!(FillMode::Reflect.map(-10.0, 4), 1.0);
        assert_eq!(FillMode::Reflect.map(5.0, 4), 2.0);
        assert_eq!(FillMode::Reflect.map(3.5, 4), 3.0);
        assert_eq!(FillMode::Wrap.map(-1.0, 4), 3.0);
        assert_eq!(FillMode::Wrap.map(4.0, 4), 0.0);
        assert_eq!(FillMode::Nearest.map(-7.5, 4), 0.0);
        assert_eq!(FillMode::Constant.map(-7.5, 4), -7.5);
    }

    #[test]
    fn zero_rotation_is_identity() {
        let t = rotation_transform(0.0, 3, 5);
        let x: Vec<f32> = (0..30).map(|v| v as f32).collect();
        let mut y = vec![0.0; 30];
        let sampling = Sampling {
            fill_mode: FillMode::Reflect,
            interpolation: Interpolation::Bilinear,
            fill_value: 0.0,
        };
        affine_transform(&x, [3, 5, 2], &t, &sampling, &mut y);
        assert_eq!(x, y);
    }
}
