//! Rescaling (keras preprocessing): `y = x * scale + offset`, elementwise,
//! with one `scale` and `offset` for all values. It has no weights, keeps
//! the shape, and its backward pass is `dx = scale * dy`.

use crate::error::{Error, Result};
use crate::model::Model;

use super::{BackwardArgs, ForwardCtx, Layer};

#[derive(Debug)]
pub struct Rescaling {
    name: String,
    shape: Vec<usize>,
    scale: f32,
    offset: f32,
}

impl Rescaling {
    pub fn new(name: &str, input: &[usize], scale: f32, offset: f32) -> Result<Rescaling> {
        if !scale.is_finite() || !offset.is_finite() {
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

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        _scratch: &mut [f32],
        _ctx: &mut ForwardCtx,
    ) {
        let n = batch * self.size();
        for (y, &x) in y[..n].iter_mut().zip(&x[..n]) {
            *y = x * self.scale + self.offset;
        }
    }

    fn backward(&self, args: BackwardArgs) {
        if let Some(dx) = args.dx {
            let n = args.batch * self.size();
            for (dx, &dy) in dx[..n].iter_mut().zip(&args.dy[..n]) {
                *dx = dy * self.scale;
            }
        }
    }
}

/// Appends a Rescaling layer to `model`.
pub fn add_rescaling(model: &mut Model, name: &str, scale: f32, offset: f32) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(Rescaling::new(name, input, scale, offset)?))
    })
}
