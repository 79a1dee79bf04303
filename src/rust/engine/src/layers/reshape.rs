//! Flatten and Reshape: the data stays in row-major order and only the
//! per-sample shape changes, so both passes are copies.

use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

#[derive(Debug)]
pub struct Reshape {
    name: String,
    class_name: &'static str,
    output_shape: Vec<usize>,
}

impl Reshape {
    /// Creates a `Flatten` layer (`flatten = true`) or a `Reshape` layer to `target`,
    /// which the caller has already resolved and checked against the input size.
    pub fn new(name: &str, target: Vec<usize>, flatten: bool) -> Self {
        Reshape {
            name: name.to_string(),
            class_name: if flatten { "Flatten" } else { "Reshape" },
            output_shape: target,
        }
    }
}

impl Layer for Reshape {
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
        Some(if self.class_name == "Flatten" {
            LayerSpec::Flatten
        } else {
            LayerSpec::Reshape {
                target_shape: self.output_shape.clone(),
            }
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
        let n = batch * self.output_shape.iter().product::<usize>();
        y[..n].copy_from_slice(&x[..n]);
    }

    fn backward(&self, args: BackwardArgs) {
        if let Some(dx) = args.dx {
            let n = args.batch * self.output_shape.iter().product::<usize>();
            dx[..n].copy_from_slice(&args.dy[..n]);
        }
    }
}
