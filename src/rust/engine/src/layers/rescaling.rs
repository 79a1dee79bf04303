//! Rescaling (keras preprocessing): `y = x * scale + offset`, elementwise,
//! with one `scale` and `offset` for all values. It has no weights, keeps
//! the shape, and its backward pass is `dx = scale * dy`.
//!
//! The layer keeps `scale` and `offset` as given, in double precision, so a
//! saved model writes them as Keras does: `1 / 255` stays
//! `0.00392156862745098`. It computes with their nearest f32 values.

use crate::error::{Error, Result};
use crate::model::Model;

use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

#[derive(Debug)]
pub struct Rescaling {
    name: String,
    shape: Vec<usize>,
    scale: f64,
    offset: f64,
}

impl Rescaling {
    pub fn new(name: &str, input: &[usize], scale: f64, offset: f64) -> Result<Rescaling> {
        let finite_f32 = |v: f64| (v as f32).is_finite();
        if !finite_f32(scale) || !finite_f32(offset) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (Rescaling): `scale` and `offset` must be finite numbers, got {scale} and {offset}"
            )));
        }
        Ok(Rescaling {
            name: name.to_string(),
            shape: input.to_vec(),
            scale,
            offset,
        })
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

impl Layer for Rescaling {
    fn class_name(&self) -> &'static str {
        "Rescaling"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Rescaling {
            scale: self.scale,
            offset: self.offset,
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
        let n = batch * self.size();
        let (scale, offset) = (self.scale as f32, self.offset as f32);
        for (y, &x) in y[..n].iter_mut().zip(&x[..n]) {
            *y = x * scale + offset;
        }
    }

    fn backward(&self, args: BackwardArgs) {
        if let Some(dx) = args.dx {
            let n = args.batch * self.size();
            let scale = self.scale as f32;
            for (dx, &dy) in dx[..n].iter_mut().zip(&args.dy[..n]) {
                *dx = dy * scale;
            }
        }
    }
}

/// Appends a Rescaling layer to `model`.
pub fn add_rescaling(model: &mut Model, name: &str, scale: f64, offset: f64) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(Rescaling::new(name, input, scale, offset)?))
    })
}
