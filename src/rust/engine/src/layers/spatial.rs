//! Layers that move values between spatial positions without weights,
//! channels last, for 1 to 3 spatial axes:
//!
//! - ZeroPadding1D/2D/3D: adds `before` and `after` zeros on each axis,
//!   `(batch_size, n_1, ..., channels)` to `(batch_size, n_1 + before_1 + after_1, ..., channels)`;
//! - Cropping1D/2D/3D: removes `before` and `after` positions on each axis;
//! - UpSampling1D/2D/3D (nearest neighbour): repeats each position `size`
//!   times on each axis, `n_i` to `n_i * size_i`. Its backward pass sums the
//!   gradient of each block of copies.
//!
//! Padding and cropping copy one block of positions between the input and
//! the output. Their backward passes copy the gradient block back, and
//! cropping's also zeroes the positions it removed.

use crate::error::{format_batch_shape, Error, Result};
use crate::model::Model;

use super::conv::check_input_rank;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpatialKind {
    ZeroPadding,
    Cropping,
    UpSampling,
}

/// A rank-`rank` spatial layer; lower ranks use leading axes of size 1.
#[derive(Debug)]
pub struct Spatial {
    name: String,
    class_name: &'static str,
    kind: SpatialKind,
    /// Input and output sizes of the three spatial axes (depth, height, width).
    input: [usize; 3],
    output: [usize; 3],
    /// Per axis: zeros added (padding), positions removed (cropping) before
    /// the data, or the repeat count (upsampling).
    before: [usize; 3],
    channels: usize,
    output_shape: Vec<usize>,
    /// The amounts given to [`Spatial::new`], which rebuild the layer.
    amounts: Vec<(usize, usize)>,
}

fn class_name(kind: SpatialKind, rank: usize) -> &'static str {
    const NAMES: [[&str; 3]; 3] = [
        ["ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D"],
        ["Cropping1D", "Cropping2D", "Cropping3D"],
        ["UpSampling1D", "UpSampling2D", "UpSampling3D"],
    ];
    NAMES[kind as usize][rank.clamp(1, 3) - 1]
}

impl Spatial {
    /// Builds the layer. `amounts` has one `(before, after)` pair per spatial
    /// axis for padding and cropping, and `(size, size)` for upsampling.
    pub fn new(
        name: &str,
        kind: SpatialKind,
        amounts: &[(usize, usize)],
        input: &[usize],
    ) -> Result<Spatial> {
        let rank = amounts.len();
        if !(1..=3).contains(&rank) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\": spatial layers have 1 to 3 axes, got {rank}"
            )));
        }
        let class_name = class_name(kind, rank);
        check_input_rank(name, class_name, rank, input)?;
        let mut sizes_in = [1usize; 3];
        let mut sizes_out = [1usize; 3];
        // Axes the layer does not have repeat once under upsampling.
        let mut before = if kind == SpatialKind::UpSampling {
            [1usize; 3]
        } else {
            [0usize; 3]
        };
        for (axis, &(a, b)) in amounts.iter().enumerate() {
            let at = 3 - rank + axis;
            let n = input[axis];
            sizes_in[at] = n;
            before[at] = a;
            sizes_out[at] = match kind {
                SpatialKind::ZeroPadding => n + a + b,
                SpatialKind::UpSampling => {
                    if a == 0 {
                        return Err(Error::InvalidArgument(format!(
                            "layer \"{name}\" ({class_name}): `size` must be positive integers, got 0"
                        )));
                    }
                    n * a
                }
                SpatialKind::Cropping => {
                    if a + b >= n {
                        return Err(Error::Shape(format!(
                            "layer \"{name}\" ({class_name}): cropping {a} + {b} positions from an axis of size {n} leaves nothing (input {})",
                            format_batch_shape(input)
                        )));
                    }
                    n - a - b
                }
            };
        }
        let channels = input[rank];
        let mut output_shape: Vec<usize> = sizes_out[3 - rank..].to_vec();
        output_shape.push(channels);
        Ok(Spatial {
            name: name.to_string(),
            class_name,
            kind,
            input: sizes_in,
            output: sizes_out,
            before,
            channels,
            output_shape,
            amounts: amounts.to_vec(),
        })
    }

    fn input_len(&self) -> usize {
        self.input.iter().product::<usize>() * self.channels
    }

    fn output_len(&self) -> usize {
        self.output.iter().product::<usize>() * self.channels
    }

    /// Calls `f(input_offset, output_offset, len)` for each contiguous run
    /// of values shared by one input sample and its output sample.
    fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize)) {
        let c = self.channels;
        let [ind, inh, inw] = self.input;
        let [outd, outh, outw] = self.output;
        match self.kind {
            SpatialKind::ZeroPadding => {
                let [bd, bh, bw] = self.before;
                for d in 0..ind {
                    for h in 0..inh {
                        let from = (d * inh + h) * inw * c;
                        let to = (((d + bd) * outh + h + bh) * outw + bw) * c;
                        f(from, to, inw * c);
                    }
                }
            }
            SpatialKind::Cropping => {
                let [bd, bh, bw] = self.before;
                for d in 0..outd {
                    for h in 0..outh {
                        let from = (((d + bd) * inh + h + bh) * inw + bw) * c;
                        let to = (d * outh + h) * outw * c;
                        f(from, to, outw * c);
                    }
                }
            }
            SpatialKind::UpSampling => {
                let [sd, sh, sw] = self.before;
                for d in 0..outd {
                    for h in 0..outh {
                        for w in 0..outw {
                            let from = (((d / sd) * inh + h / sh) * inw + w / sw) * c;
                            let to = ((d * outh + h) * outw + w) * c;
                            f(from, to, c);
                        }
                    }
                }
            }
        }
    }
}

impl Layer for Spatial {
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
        Some(LayerSpec::Spatial {
            kind: self.kind,
            amounts: self.amounts.clone(),
        })
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
        for (x, y) in x[..batch * in_len]
            .chunks_exact(in_len)
            .zip(y[..batch * out_len].chunks_exact_mut(out_len))
        {
            if self.kind == SpatialKind::ZeroPadding {
                y.fill(0.0);
            }
            self.for_each_run(|from, to, len| {
                y[to..to + len].copy_from_slice(&x[from..from + len]);
            });
        }
    }

    fn backward(&self, args: BackwardArgs) {
        let Some(dx) = args.dx else {
            return;
        };
        let (in_len, out_len) = (self.input_len(), self.output_len());
        for (dy, dx) in args.dy[..args.batch * out_len]
            .chunks_exact(out_len)
            .zip(dx[..args.batch * in_len].chunks_exact_mut(in_len))
        {
            match self.kind {
                SpatialKind::ZeroPadding => self.for_each_run(|from, to, len| {
                    dx[from..from + len].copy_from_slice(&dy[to..to + len]);
                }),
                SpatialKind::Cropping | SpatialKind::UpSampling => {
                    dx.fill(0.0);
                    self.for_each_run(|from, to, len| {
                        dx[from..from + len]
                            .iter_mut()
                            .zip(&dy[to..to + len])
                            .for_each(|(d, g)| *d += g);
                    });
                }
            }
        }
    }
}

/// Appends a padding, cropping or upsampling layer to `model`; see
/// [`Spatial::new`] for `amounts`.
pub fn add_spatial(
    model: &mut Model,
    name: &str,
    kind: SpatialKind,
    amounts: &[(usize, usize)],
) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(Spatial::new(name, kind, amounts, input)?))
    })
}
