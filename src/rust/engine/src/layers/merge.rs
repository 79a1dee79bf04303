//! Merge layers: Add, Subtract, Multiply, Average, Maximum, Minimum,
//! Concatenate and Dot, which combine the outputs of several layers.

use super::{BackwardArgs, ForwardCtx, Layer, Merge};
use crate::error::{format_batch_shape, Error, Result};
use crate::model::size_of;

/// Implements [`Layer`] for a merge layer with fields `name` and `shape`:
/// the model runs it through [`Merge`], so `forward` and `backward` are
/// never called.
macro_rules! merge_layer {
    ($type:ty, |$layer:ident| $class:expr) => {
        impl Layer for $type {
            fn class_name(&self) -> &'static str {
                let $layer = self;
                $class
            }
            fn name(&self) -> &str {
                &self.name
            }
            fn output_shape(&self) -> &[usize] {
                &self.shape
            }
            fn forward(
                &self,
                _: &[f32],
                _: usize,
                _: &mut [f32],
                _: &mut [f32],
                _: &mut ForwardCtx,
            ) {
            }
            fn backward(&self, _: BackwardArgs) {}
            fn as_merge(&self) -> Option<&dyn Merge> {
                Some(self)
            }
        }
    };
}

/// The element-wise merges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementwiseOp {
    Add,
    Subtract,
    Multiply,
    Average,
    Maximum,
    Minimum,
}

impl ElementwiseOp {
    pub fn class_name(self) -> &'static str {
        match self {
            ElementwiseOp::Add => "Add",
            ElementwiseOp::Subtract => "Subtract",
            ElementwiseOp::Multiply => "Multiply",
            ElementwiseOp::Average => "Average",
            ElementwiseOp::Maximum => "Maximum",
            ElementwiseOp::Minimum => "Minimum",
        }
    }
}

/// The arguments that rebuild a merge layer, for saving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergeSpec {
    Elementwise(ElementwiseOp),
    /// `axis` as given, in keras's convention (the batch axis is 0).
    Concatenate {
        axis: i64,
    },
    /// `axes` as given, in keras's convention.
    Dot {
        axes: [i64; 2],
        normalize: bool,
    },
}

impl MergeSpec {
    /// Builds the merge layer `name` on inputs of per-sample `shapes`.
    pub fn build(self, name: &str, shapes: &[Vec<usize>]) -> Result<Box<dyn Layer>> {
        Ok(match self {
            MergeSpec::Elementwise(op) => Box::new(Elementwise::new(name, op, shapes)?),
            MergeSpec::Concatenate { axis } => Box::new(Concatenate::new(name, axis, shapes)?),
            MergeSpec::Dot { axes, normalize } => {
                Box::new(Dot::new(name, axes, normalize, shapes)?)
            }
        })
    }
}

fn shapes_text(shapes: &[Vec<usize>]) -> String {
    shapes
        .iter()
        .map(|s| format_batch_shape(s))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Add, Subtract, Multiply, Average, Maximum or Minimum of inputs of one shape.
#[derive(Debug)]
pub struct Elementwise {
    name: String,
    op: ElementwiseOp,
    shape: Vec<usize>,
    inputs: usize,
}

impl Elementwise {
    /// Checks that all inputs have one shape (and that Subtract has two).
    pub fn new(name: &str, op: ElementwiseOp, shapes: &[Vec<usize>]) -> Result<Self> {
        if shapes.len() < 2 || (op == ElementwiseOp::Subtract && shapes.len() != 2) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" ({}) needs {} inputs, got {}",
                op.class_name(),
                if op == ElementwiseOp::Subtract {
                    "exactly 2"
                } else {
                    "at least 2"
                },
                shapes.len()
            )));
        }
        if shapes.iter().any(|s| s != &shapes[0]) {
            return Err(Error::Shape(format!(
                "layer \"{name}\" ({}) needs inputs of one shape, got {}",
                op.class_name(),
                shapes_text(shapes)
            )));
        }
        Ok(Elementwise {
            name: name.to_string(),
            op,
            shape: shapes[0].clone(),
            inputs: shapes.len(),
        })
    }

    pub fn op(&self) -> ElementwiseOp {
        self.op
    }
}

merge_layer!(Elementwise, |layer| layer.op.class_name());

impl Merge for Elementwise {
    fn merge_spec(&self) -> MergeSpec {
        MergeSpec::Elementwise(self.op)
    }

    fn forward_many(&self, xs: &[&[f32]], batch: usize, y: &mut [f32]) {
        let n = batch * size_of(&self.shape);
        let y = &mut y[..n];
        y.copy_from_slice(&xs[0][..n]);
        for x in &xs[1..] {
            let x = &x[..n];
            match self.op {
                ElementwiseOp::Add | ElementwiseOp::Average => {
                    y.iter_mut().zip(x).for_each(|(a, b)| *a += b)
                }
                ElementwiseOp::Subtract => y.iter_mut().zip(x).for_each(|(a, b)| *a -= b),
                ElementwiseOp::Multiply => y.iter_mut().zip(x).for_each(|(a, b)| *a *= b),
                ElementwiseOp::Maximum => y.iter_mut().zip(x).for_each(|(a, b)| *a = a.max(*b)),
                ElementwiseOp::Minimum => y.iter_mut().zip(x).for_each(|(a, b)| *a = a.min(*b)),
            }
        }
        if self.op == ElementwiseOp::Average {
            let scale = 1.0 / self.inputs as f32;
            y.iter_mut().for_each(|v| *v *= scale);
        }
    }

    fn backward_many(
        &self,
        xs: &[&[f32]],
        y: &[f32],
        dy: &[f32],
        batch: usize,
        dxs: &mut [Option<&mut [f32]>],
    ) {
        let n = batch * size_of(&self.shape);
        let dy = &dy[..n];
        for (i, dx) in dxs.iter_mut().enumerate() {
            let Some(dx) = dx.as_deref_mut() else {
                continue;
            };
            let dx = &mut dx[..n];
            match self.op {
                ElementwiseOp::Add => dx.copy_from_slice(dy),
                ElementwiseOp::Subtract => {
                    let sign = if i == 0 { 1.0 } else { -1.0 };
                    dx.iter_mut().zip(dy).for_each(|(d, g)| *d = sign * g);
                }
                ElementwiseOp::Average => {
                    let scale = 1.0 / self.inputs as f32;
                    dx.iter_mut().zip(dy).for_each(|(d, g)| *d = scale * g);
                }
                ElementwiseOp::Multiply => {
                    // The product of the other inputs.
                    dx.copy_from_slice(dy);
                    for (k, x) in xs.iter().enumerate() {
                        if k != i {
                            dx.iter_mut().zip(&x[..n]).for_each(|(d, v)| *d *= v);
                        }
                    }
                }
                ElementwiseOp::Maximum | ElementwiseOp::Minimum => {
                    // On ties the gradient goes to the first input with the
                    // extreme value, as TensorFlow's maximum and minimum do.
                    let x = &xs[i][..n];
                    for (e, d) in dx.iter_mut().enumerate() {
                        let first = xs.iter().position(|o| o[e] == y[e]);
                        *d = if first == Some(i) && x[e] == y[e] {
                            dy[e]
                        } else {
                            0.0
                        };
                    }
                }
            }
        }
    }
}

/// Concatenation along one axis of the per-sample shapes.
#[derive(Debug)]
pub struct Concatenate {
    name: String,
    /// The axis as given to [`Concatenate::new`].
    given_axis: i64,
    /// The axis, counted from 0 over the per-sample shape.
    axis: usize,
    shape: Vec<usize>,
    /// Values per outer index of each input: the product of its dimensions
    /// from `axis` on.
    inner: Vec<usize>,
}

impl Concatenate {
    /// `axis` counts over the full shape with the batch axis as 0 (keras's
    /// convention); negative values count from the end.
    pub fn new(name: &str, axis: i64, shapes: &[Vec<usize>]) -> Result<Self> {
        if shapes.len() < 2 {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (Concatenate) needs at least 2 inputs, got {}",
                shapes.len()
            )));
        }
        let rank = shapes[0].len() as i64;
        let resolved = if axis < 0 { rank + 1 + axis } else { axis };
        if resolved < 1 || resolved > rank {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (Concatenate): `axis` = {axis} is outside the inputs' axes (batch shape {})",
                format_batch_shape(&shapes[0])
            )));
        }
        let a = (resolved - 1) as usize;
        let fits = shapes.iter().all(|s| {
            s.len() == shapes[0].len()
                && s.iter()
                    .zip(&shapes[0])
                    .enumerate()
                    .all(|(d, (x, y))| d == a || x == y)
        });
        if !fits {
            return Err(Error::Shape(format!(
                "layer \"{name}\" (Concatenate) needs inputs whose shapes match except along axis {axis}, got {}",
                shapes_text(shapes)
            )));
        }
        let mut shape = shapes[0].clone();
        shape[a] = shapes.iter().map(|s| s[a]).sum();
        Ok(Concatenate {
            name: name.to_string(),
            given_axis: axis,
            axis: a,
            shape,
            inner: shapes.iter().map(|s| size_of(&s[a..])).collect(),
        })
    }

    /// Returns the axis in keras's convention (the batch axis is 0).
    pub fn axis(&self) -> usize {
        self.axis + 1
    }

    fn outer(&self, batch: usize) -> usize {
        batch * size_of(&self.shape[..self.axis])
    }
}

merge_layer!(Concatenate, |_layer| "Concatenate");

impl Merge for Concatenate {
    fn merge_spec(&self) -> MergeSpec {
        MergeSpec::Concatenate {
            axis: self.given_axis,
        }
    }

    fn forward_many(&self, xs: &[&[f32]], batch: usize, y: &mut [f32]) {
        let total: usize = self.inner.iter().sum();
        for o in 0..self.outer(batch) {
            let mut at = o * total;
            for (x, &w) in xs.iter().zip(&self.inner) {
                y[at..at + w].copy_from_slice(&x[o * w..(o + 1) * w]);
                at += w;
            }
        }
    }

    fn backward_many(
        &self,
        _xs: &[&[f32]],
        _y: &[f32],
        dy: &[f32],
        batch: usize,
        dxs: &mut [Option<&mut [f32]>],
    ) {
        let total: usize = self.inner.iter().sum();
        for o in 0..self.outer(batch) {
            let mut at = o * total;
            for (dx, &w) in dxs.iter_mut().zip(&self.inner) {
                if let Some(dx) = dx.as_deref_mut() {
                    dx[o * w..(o + 1) * w].copy_from_slice(&dy[at..at + w]);
                }
                at += w;
            }
        }
    }
}

/// Per-sample layout of one Dot input: `free` vectors of length `len`, the
/// contracted axis, with strides between vectors and between elements.
#[derive(Debug, Clone, Copy)]
struct DotSide {
    free: usize,
    len: usize,
    free_stride: usize,
    elem_stride: usize,
    size: usize,
}

impl DotSide {
    fn new(shape: &[usize], axis: usize) -> Self {
        let (free, free_stride, elem_stride) = match (shape.len(), axis) {
            (1, _) => (1, 0, 1),
            (_, 0) => (shape[1], 1, shape[1]),
            _ => (shape[0], shape[1], 1),
        };
        DotSide {
            free,
            len: shape[axis],
            free_stride,
            elem_stride,
            size: size_of(shape),
        }
    }

    fn at(&self, p: usize, k: usize) -> usize {
        p * self.free_stride + k * self.elem_stride
    }

    /// Returns the L2 norm of vector `p` of a sample as keras's `l2_normalize`
    /// divides by it: `sqrt(max(sum of squares, 1e-12))`.
    fn norm(&self, x: &[f32], p: usize) -> f32 {
        let s: f32 = (0..self.len).map(|k| x[self.at(p, k)].powi(2)).sum();
        s.max(1e-12).sqrt()
    }
}

/// Dot products of the vectors of two inputs along one axis each (keras's
/// `Dot`), optionally of L2-normalized vectors (cosine similarity).
#[derive(Debug)]
pub struct Dot {
    name: String,
    /// The axes as given to [`Dot::new`].
    given_axes: [i64; 2],
    axes: [usize; 2],
    normalize: bool,
    sides: [DotSide; 2],
    shape: Vec<usize>,
}

impl Dot {
    /// `axes` count over the full shape with the batch axis as 0; negative
    /// values count from the end. Inputs have 1 or 2 axes per sample.
    pub fn new(name: &str, axes: [i64; 2], normalize: bool, shapes: &[Vec<usize>]) -> Result<Self> {
        if shapes.len() != 2 {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (Dot) needs exactly 2 inputs, got {}",
                shapes.len()
            )));
        }
        if shapes.iter().any(|s| s.len() > 2) {
            return Err(Error::Shape(format!(
                "layer \"{name}\" (Dot) supports inputs of 1 or 2 axes per sample, got {}",
                shapes_text(shapes)
            )));
        }
        let mut resolved = [0usize; 2];
        for i in 0..2 {
            let rank = shapes[i].len() as i64;
            let a = if axes[i] < 0 {
                rank + 1 + axes[i]
            } else {
                axes[i]
            };
            if a < 1 || a > rank {
                return Err(Error::InvalidArgument(format!(
                    "layer \"{name}\" (Dot): axis {} is outside the axes of input {} (batch shape {})",
                    axes[i],
                    i + 1,
                    format_batch_shape(&shapes[i])
                )));
            }
            resolved[i] = (a - 1) as usize;
        }
        if shapes[0][resolved[0]] != shapes[1][resolved[1]] {
            return Err(Error::Shape(format!(
                "layer \"{name}\" (Dot): the contracted axes have lengths {} and {} (shapes {})",
                shapes[0][resolved[0]],
                shapes[1][resolved[1]],
                shapes_text(shapes)
            )));
        }
        let mut shape: Vec<usize> = Vec::new();
        for i in 0..2 {
            shape.extend(
                shapes[i]
                    .iter()
                    .enumerate()
                    .filter(|&(d, _)| d != resolved[i])
                    .map(|(_, &v)| v),
            );
        }
        if shape.is_empty() {
            shape.push(1);
        }
        Ok(Dot {
            name: name.to_string(),
            given_axes: axes,
            axes: [resolved[0] + 1, resolved[1] + 1],
            normalize,
            sides: [
                DotSide::new(&shapes[0], resolved[0]),
                DotSide::new(&shapes[1], resolved[1]),
            ],
            shape,
        })
    }

    /// Returns the axes in keras's convention (the batch axis is 0), and `normalize`.
    pub fn config(&self) -> ([usize; 2], bool) {
        (self.axes, self.normalize)
    }

    fn norm(&self, side: usize, x: &[f32], p: usize) -> f32 {
        if self.normalize {
            self.sides[side].norm(x, p)
        } else {
            1.0
        }
    }
}

merge_layer!(Dot, |_layer| "Dot");

impl Merge for Dot {
    fn merge_spec(&self) -> MergeSpec {
        MergeSpec::Dot {
            axes: self.given_axes,
            normalize: self.normalize,
        }
    }

    fn forward_many(&self, xs: &[&[f32]], batch: usize, y: &mut [f32]) {
        let [a, b] = self.sides;
        for s in 0..batch {
            let xa = &xs[0][s * a.size..(s + 1) * a.size];
            let xb = &xs[1][s * b.size..(s + 1) * b.size];
            let out = &mut y[s * a.free * b.free..(s + 1) * a.free * b.free];
            for p in 0..a.free {
                let na = self.norm(0, xa, p);
                for q in 0..b.free {
                    let nb = self.norm(1, xb, q);
                    let dot: f32 = (0..a.len).map(|k| xa[a.at(p, k)] * xb[b.at(q, k)]).sum();
                    out[p * b.free + q] = dot / (na * nb);
                }
            }
        }
    }

    fn backward_many(
        &self,
        xs: &[&[f32]],
        _y: &[f32],
        dy: &[f32],
        batch: usize,
        dxs: &mut [Option<&mut [f32]>],
    ) {
        for side in 0..2 {
            let Some(dx) = dxs[side].as_deref_mut() else {
                continue;
            };
            let (me, other) = (self.sides[side], self.sides[1 - side]);
            for s in 0..batch {
                let x = &xs[side][s * me.size..(s + 1) * me.size];
                let o = &xs[1 - side][s * other.size..(s + 1) * other.size];
                let g = &dy[s * me.free * other.free..(s + 1) * me.free * other.free];
                let d = &mut dx[s * me.size..(s + 1) * me.size];
                for p in 0..me.free {
                    // Gradient with respect to the (normalized) vector p.
                    for k in 0..me.len {
                        let mut sum = 0.0;
                        for q in 0..other.free {
                            let go = if side == 0 {
                                g[p * other.free + q]
                            } else {
                                g[q * me.free + p]
                            };
                            sum += go * o[other.at(q, k)] / self.norm(1 - side, o, q);
                        }
                        d[me.at(p, k)] = sum;
                    }
                    if self.normalize {
                        // d x = (d x_hat - x_hat (x_hat . d x_hat)) / |x|.
                        let n = me.norm(x, p);
                        let proj: f32 = (0..me.len)
                            .map(|k| x[me.at(p, k)] / n * d[me.at(p, k)])
                            .sum();
                        let clipped =
                            (0..me.len).map(|k| x[me.at(p, k)].powi(2)).sum::<f32>() <= 1e-12;
                        for k in 0..me.len {
                            let i = me.at(p, k);
                            d[i] = if clipped {
                                d[i] / n
                            } else {
                                (d[i] - x[i] / n * proj) / n
                            };
                        }
                    }
                }
            }
        }
    }
}
