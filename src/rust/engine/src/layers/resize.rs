//! Image resampling layers, channels last, `(batch_size, height, width,
//! channels)` to `(batch_size, target_height, target_width, channels)`:
//!
//! - Resizing: resizes to a fixed size by bilinear or nearest-neighbour
//!   interpolation, optionally after cropping or padding the image to the
//!   target aspect ratio;
//! - CenterCrop: cuts the centre `height x width` window, or, when the
//!   input is smaller than the target on an axis, crops to the target aspect
//!   ratio and resizes bilinearly (keras's `smart_resize`);
//! - UpSampling2D with `interpolation = "bilinear"`: resizes to `size` times
//!   the input size.
//!
//! The sampling follows TensorFlow's `tf.image.resize` without antialiasing,
//! which keras 3 uses on its TensorFlow backend. It puts pixel centres at
//! half-integers, so output index `o` of an axis resized from `n` to `m`
//! samples the input at `(o + 0.5) * n / m - 0.5` (bilinear, clamped to the
//! edge pixels) or at `floor((o + 0.5) * n / m)` (nearest). Scales and
//! coordinates are computed in f32 as TensorFlow does.
//!
//! Every layer here is a fixed linear map `y = A x + b`, where `b` is
//! `fill_value` in padded areas. Each output value reads at most two
//! positions per axis, stored per axis as [`Tap`]s, with the product of the
//! two axes' weights, so the map runs as a pass over rows and a pass over
//! columns. The backward pass is the adjoint `dx = A^T dy`: each output
//! gradient is scattered back to the positions it read, with the same
//! weights, in the reverse order of the passes.

use crate::error::{Error, Result};
use crate::model::Model;

use super::chunks::{with_thread_buffer, worth_parallel, Chunks};
use super::conv::check_input_rank;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

/// Interpolation of values between input positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interpolation {
    Nearest,
    Bilinear,
}

impl Interpolation {
    /// Returns keras's name of the interpolation.
    pub fn name(self) -> &'static str {
        match self {
            Interpolation::Nearest => "nearest",
            Interpolation::Bilinear => "bilinear",
        }
    }

    /// Parses keras's name of an interpolation.
    pub fn from_name(name: &str) -> Result<Interpolation> {
        match name {
            "nearest" => Ok(Interpolation::Nearest),
            "bilinear" => Ok(Interpolation::Bilinear),
            other => Err(Error::InvalidArgument(format!(
                "`interpolation` must be \"bilinear\" or \"nearest\", got \"{other}\""
            ))),
        }
    }
}

/// Treatment of an input whose aspect ratio differs from the target's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AspectRatio {
    /// Resize the whole image; the aspect ratio may change.
    Stretch,
    /// Resize the largest centred window with the target aspect ratio.
    Crop,
    /// Pad the short side evenly with `fill_value` to the target aspect
    /// ratio, then resize.
    Pad,
}

/// Output position of one axis: it reads input positions `index` with
/// weights `weight`. `None` is a padded position, which has the fill value.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Tap {
    index: [Option<usize>; 2],
    weight: [f32; 2],
}

/// Builds the taps of an axis resized to `output` positions from a source of
/// `source_len` positions, where source position `p` is input position
/// `p + source_start` (negative or past `input` in padding).
fn axis_taps(
    input: usize,
    output: usize,
    source_len: usize,
    source_start: isize,
    interpolation: Interpolation,
) -> Vec<Tap> {
    let scale = source_len as f32 / output as f32;
    let last = source_len as i64 - 1;
    let to_input = |p: i64| {
        let at = p + source_start as i64;
        (0..input as i64).contains(&at).then_some(at as usize)
    };
    (0..output)
        .map(|o| match interpolation {
            Interpolation::Nearest => {
                let p = (((o as f32 + 0.5) * scale).floor() as i64).clamp(0, last);
                Tap {
                    index: [to_input(p), None],
                    weight: [1.0, 0.0],
                }
            }
            Interpolation::Bilinear => {
                let at = (o as f32 + 0.5) * scale - 0.5;
                let floor = at.floor();
                let lower = (floor as i64).max(0);
                let upper = (at.ceil() as i64).min(last);
                let lerp = at - floor;
                Tap {
                    index: [to_input(lower), to_input(upper)],
                    weight: [1.0 - lerp, lerp],
                }
            }
        })
        .collect()
}

/// Returns the source window of an axis under crop or pad to an aspect
/// ratio, as the `(source_len, source_start)` that [`axis_taps`] takes.
/// `target_len` is the length of the target aspect ratio,
/// `keras.ops.image.resize`'s `int(other * target / target_other)`.
fn aspect_window(input: usize, target_len: usize, aspect: AspectRatio) -> (usize, isize) {
    match aspect {
        AspectRatio::Stretch => (input, 0),
        AspectRatio::Crop => {
            let len = target_len.clamp(1, input);
            (len, ((input - len) / 2) as isize)
        }
        AspectRatio::Pad => {
            // keras pads `(target_len - input) / 2` positions on both sides, so
            // an odd difference leaves the padded length one short of `target_len`.
            let pad = target_len.max(input).saturating_sub(input) / 2;
            (input + 2 * pad, -(pad as isize))
        }
    }
}

/// Returns `floor(other * target / target_other)` computed in f32 as keras does.
fn aspect_length(other: usize, target: usize, target_other: usize) -> usize {
    ((other * target) as f32 / target_other as f32) as usize
}

/// A fixed resampling of images: Resizing, CenterCrop or bilinear UpSampling2D.
#[derive(Debug)]
pub struct Resample {
    name: String,
    class_name: &'static str,
    input: [usize; 2],
    channels: usize,
    rows: Vec<Tap>,
    cols: Vec<Tap>,
    fill_value: f32,
    output_shape: Vec<usize>,
    /// The arguments that rebuild the layer (see `spec`).
    spec: LayerSpec,
}

/// Settings of a Resizing layer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ResizeConfig {
    pub height: usize,
    pub width: usize,
    pub interpolation: Interpolation,
    pub aspect: AspectRatio,
    /// Value of padded positions under [`AspectRatio::Pad`].
    pub fill_value: f32,
}

impl Resample {
    fn build(
        name: &str,
        class_name: &'static str,
        input: &[usize],
        config: &ResizeConfig,
        spec: LayerSpec,
    ) -> Result<Resample> {
        check_input_rank(name, class_name, 2, input)?;
        let (height, width) = (config.height, config.width);
        if height == 0 || width == 0 {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" ({class_name}): the target height and width must be positive, got {height} and {width}"
            )));
        }
        let (in_h, in_w) = (input[0], input[1]);
        if in_h == 0 || in_w == 0 {
            return Err(Error::Shape(format!(
                "layer \"{name}\" ({class_name}): the input height and width must be positive, got {in_h} and {in_w}"
            )));
        }
        let (row_len, row_start) =
            aspect_window(in_h, aspect_length(in_w, height, width), config.aspect);
        let (col_len, col_start) =
            aspect_window(in_w, aspect_length(in_h, width, height), config.aspect);
        Ok(Resample {
            name: name.to_string(),
            class_name,
            input: [in_h, in_w],
            channels: input[2],
            rows: axis_taps(in_h, height, row_len, row_start, config.interpolation),
            cols: axis_taps(in_w, width, col_len, col_start, config.interpolation),
            fill_value: config.fill_value,
            output_shape: vec![height, width, input[2]],
            spec,
        })
    }

    /// Builds a Resizing layer for per-sample input shape `input`.
    pub fn resizing(name: &str, input: &[usize], config: &ResizeConfig) -> Result<Resample> {
        Resample::build(
            name,
            "Resizing",
            input,
            config,
            LayerSpec::Resizing(*config),
        )
    }

    /// Builds a CenterCrop layer. When the input is smaller than the target
    /// on an axis, it crops to the target aspect ratio and resizes
    /// bilinearly, as keras's CenterCrop does.
    pub fn center_crop(
        name: &str,
        input: &[usize],
        height: usize,
        width: usize,
    ) -> Result<Resample> {
        check_input_rank(name, "CenterCrop", 2, input)?;
        let fits = input[0] >= height && input[1] >= width;
        let config = ResizeConfig {
            height,
            width,
            interpolation: Interpolation::Bilinear,
            aspect: AspectRatio::Crop,
            fill_value: 0.0,
        };
        let spec = LayerSpec::CenterCrop { height, width };
        let mut layer = Resample::build(name, "CenterCrop", input, &config, spec)?;
        if fits {
            // A plain crop: the window starts at half the surplus, rounded down.
            let row_start = (input[0] - height) / 2;
            let col_start = (input[1] - width) / 2;
            layer.rows = axis_taps(
                input[0],
                height,
                height,
                row_start as isize,
                Interpolation::Nearest,
            );
            layer.cols = axis_taps(
                input[1],
                width,
                width,
                col_start as isize,
                Interpolation::Nearest,
            );
        }
        Ok(layer)
    }

    /// Builds an UpSampling2D layer with bilinear interpolation, which
    /// resizes to `size` times the input height and width.
    pub fn upsampling_bilinear(name: &str, input: &[usize], size: [usize; 2]) -> Result<Resample> {
        check_input_rank(name, "UpSampling2D", 2, input)?;
        if size[0] == 0 || size[1] == 0 {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (UpSampling2D): `size` must be positive integers, got {} and {}",
                size[0], size[1]
            )));
        }
        let config = ResizeConfig {
            height: input[0] * size[0],
            width: input[1] * size[1],
            interpolation: Interpolation::Bilinear,
            aspect: AspectRatio::Stretch,
            fill_value: 0.0,
        };
        let spec = LayerSpec::BilinearUpSampling { size };
        Resample::build(name, "UpSampling2D", input, &config, spec)
    }

    fn input_len(&self) -> usize {
        self.input[0] * self.input[1] * self.channels
    }

    fn output_len(&self) -> usize {
        self.output_shape.iter().product()
    }

    /// Floats of the buffer between the two passes of one sample: the
    /// output rows at the input width.
    fn rows_len(&self) -> usize {
        self.rows.len() * self.input[1] * self.channels
    }

    /// Resamples one image `x` into `y` in two passes, first the rows into
    /// `rows_out` (output height, input width), then the columns. Two passes
    /// are exact because each output reads the product of a row weight and a
    /// column weight, and the row pass runs over whole contiguous rows.
    fn forward_sample(&self, x: &[f32], y: &mut [f32], rows_out: &mut [f32]) {
        let c = self.channels;
        let line = self.input[1] * c;
        let fill = self.fill_value;
        for (oh, tap) in self.rows.iter().enumerate() {
            let dst = &mut rows_out[oh * line..][..line];
            dst.fill(0.0);
            for (r, &w) in tap.index.iter().zip(&tap.weight) {
                match (r, w != 0.0) {
                    (_, false) => {}
                    (Some(r), true) => {
                        let src = &x[r * line..][..line];
                        dst.iter_mut().zip(src).for_each(|(d, &v)| *d += w * v);
                    }
                    (None, true) => dst.iter_mut().for_each(|d| *d += w * fill),
                }
            }
        }
        let out_w = self.cols.len();
        for (oh, src_row) in rows_out.chunks_exact(line).enumerate() {
            for (ow, tap) in self.cols.iter().enumerate() {
                let out = &mut y[(oh * out_w + ow) * c..][..c];
                out.fill(0.0);
                for (k, &w) in tap.index.iter().zip(&tap.weight) {
                    match (k, w != 0.0) {
                        (_, false) => {}
                        (Some(k), true) => {
                            let src = &src_row[k * c..][..c];
                            out.iter_mut().zip(src).for_each(|(o, &v)| *o += w * v);
                        }
                        (None, true) => out.iter_mut().for_each(|o| *o += w * fill),
                    }
                }
            }
        }
    }

    /// Writes the adjoint of [`Resample::forward_sample`] applied to `dy`
    /// into `dx`, running the two passes backwards through `rows_grad`.
    fn backward_sample(&self, dy: &[f32], dx: &mut [f32], rows_grad: &mut [f32]) {
        let c = self.channels;
        let line = self.input[1] * c;
        let out_w = self.cols.len();
        rows_grad.fill(0.0);
        for (oh, dst_row) in rows_grad.chunks_exact_mut(line).enumerate() {
            for (ow, tap) in self.cols.iter().enumerate() {
                let g = &dy[(oh * out_w + ow) * c..][..c];
                for (k, &w) in tap.index.iter().zip(&tap.weight) {
                    if let (Some(k), true) = (k, w != 0.0) {
                        let dst = &mut dst_row[k * c..][..c];
                        dst.iter_mut().zip(g).for_each(|(d, &v)| *d += w * v);
                    }
                }
            }
        }
        dx.fill(0.0);
        for (oh, tap) in self.rows.iter().enumerate() {
            let src = &rows_grad[oh * line..][..line];
            for (r, &w) in tap.index.iter().zip(&tap.weight) {
                if let (Some(r), true) = (r, w != 0.0) {
                    let dst = &mut dx[r * line..][..line];
                    dst.iter_mut().zip(src).for_each(|(d, &v)| *d += w * v);
                }
            }
        }
    }
}

impl Layer for Resample {
    fn class_name(&self) -> &'static str {
        self.class_name
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }
    fn spec(&self) -> Option<LayerSpec> {
        Some(self.spec.clone())
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        _scratch: &mut [f32],
        _ctx: &mut ForwardCtx,
    ) {
        let (in_len, out_len) = (self.input_len(), self.output_len());
        // Samples are independent, so one chunk per sample gives the same
        // result on any number of threads. Each output reads up to 4 values.
        let parallel = worth_parallel(4 * batch * out_len, batch);
        Chunks::new(
            [&x[..batch * in_len]],
            [in_len],
            [&mut y[..batch * out_len]],
            [out_len],
        )
        .for_each(batch, parallel, &|_, chunk| {
            let [x] = chunk.read;
            let [y] = chunk.write;
            with_thread_buffer(self.rows_len(), |rows_out| {
                self.forward_sample(x, y, rows_out)
            });
        });
    }

    fn backward(&self, args: BackwardArgs) {
        let Some(dx) = args.dx else {
            return;
        };
        let (in_len, out_len) = (self.input_len(), self.output_len());
        let batch = args.batch;
        let parallel = worth_parallel(4 * batch * out_len, batch);
        Chunks::new(
            [&args.dy[..batch * out_len]],
            [out_len],
            [&mut dx[..batch * in_len]],
            [in_len],
        )
        .for_each(batch, parallel, &|_, chunk| {
            let [dy] = chunk.read;
            let [dx] = chunk.write;
            with_thread_buffer(self.rows_len(), |rows_grad| {
                self.backward_sample(dy, dx, rows_grad)
            });
        });
    }
}

/// Appends a Resizing layer to `model`.
pub fn add_resizing(model: &mut Model, name: &str, config: &ResizeConfig) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(Resample::resizing(name, input, config)?))
    })
}

/// Appends a CenterCrop layer to `model`.
pub fn add_center_crop(model: &mut Model, name: &str, height: usize, width: usize) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(Resample::center_crop(name, input, height, width)?))
    })
}

/// Appends an UpSampling2D layer with bilinear interpolation to `model`.
pub fn add_upsampling_bilinear(model: &mut Model, name: &str, size: [usize; 2]) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(Resample::upsampling_bilinear(name, input, size)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_taps_of_doubling() {
        // Doubling 2 -> 4 samples at (o + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75,
        // 1.25; the outer two clamp to the edge pixels.
        let taps = axis_taps(2, 4, 2, 0, Interpolation::Bilinear);
        let reads: Vec<_> = taps.iter().map(|t| (t.index, t.weight)).collect();
        assert_eq!(reads[0], ([Some(0), Some(0)], [0.25, 0.75]));
        assert_eq!(reads[1], ([Some(0), Some(1)], [0.75, 0.25]));
        assert_eq!(reads[2], ([Some(0), Some(1)], [0.25, 0.75]));
        assert_eq!(reads[3], ([Some(1), Some(1)], [0.75, 0.25]));
    }

    #[test]
    fn pad_window_is_symmetric() {
        // A 3-wide target of a 2-row input wants 3 rows: (3 - 2) / 2 = 0
        // rows of padding on each side, as keras computes it.
        assert_eq!(aspect_window(2, 3, AspectRatio::Pad), (2, 0));
        assert_eq!(aspect_window(2, 6, AspectRatio::Pad), (6, -2));
        assert_eq!(aspect_window(5, 3, AspectRatio::Crop), (3, 1));
    }
}
