//! Activation layer: applies an activation to its input, keeping the shape.

use crate::activations::Activation;

use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

#[derive(Debug)]
pub struct ActivationLayer {
    name: String,
    shape: Vec<usize>,
    activation: Activation,
}

impl ActivationLayer {
    pub fn new(name: &str, input_shape: &[usize], activation: Activation) -> Self {
        ActivationLayer {
            name: name.to_string(),
            shape: input_shape.to_vec(),
            activation,
        }
    }

    fn width(&self) -> usize {
        *self.shape.last().unwrap_or(&1)
    }
}

impl Layer for ActivationLayer {
    fn class_name(&self) -> &'static str {
        "Activation"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Activation {
            activation: self.activation,
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
        let n = batch * self.shape.iter().product::<usize>();
        self.activation.forward(&x[..n], &mut y[..n], self.width());
    }

    fn backward(&self, args: BackwardArgs) {
        let n = args.batch * self.shape.iter().product::<usize>();
        if !args.dy_is_preactivation {
            self.activation
                .backward(&args.x[..n], &args.y[..n], &mut args.dy[..n], self.width());
        }
        if let Some(dx) = args.dx {
            dx[..n].copy_from_slice(&args.dy[..n]);
        }
    }
}
