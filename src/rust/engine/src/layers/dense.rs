//! Dense: `y = activation(x . kernel + bias)`.
//!
//! Input `(batch_size, ..., input_dim)`, output `(batch_size, ..., units)`;
//! the kernel is `(input_dim, units)` as in keras, and leading axes other
//! than the batch are folded into the rows of the product.
//!
//! The forward pass keeps the pre-activation `z` for the backward pass:
//! `dz = f'(z) dy`, `d kernel = x^T dz`, `d bias = column sums of dz`,
//! `dx = dz kernel^T`.

use rayon::prelude::*;

use crate::activations::Activation;
use crate::init::Initializer;
use crate::linalg::{matmul, MatRef};

use super::spec::InitializerSpec;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec, Param};

#[derive(Debug)]
pub struct Dense {
    name: String,
    input_dim: usize,
    units: usize,
    /// Product of the sample axes before the last one (1 for a vector input).
    rows_per_sample: usize,
    output_shape: Vec<usize>,
    activation: Activation,
    params: Vec<Param>,
    /// The initializers the weights were drawn from, kept for the saved config.
    kernel_initializer: InitializerSpec,
    bias_initializer: InitializerSpec,
}

impl Dense {
    /// Builds the layer for inputs of per-sample shape `input_shape` from
    /// initial weights (`bias` is `None` when `use_bias = FALSE`).
    pub fn new(
        name: &str,
        input_shape: &[usize],
        units: usize,
        activation: Activation,
        kernel: Vec<f32>,
        bias: Option<Vec<f32>>,
    ) -> Dense {
        let input_dim = *input_shape.last().unwrap_or(&1);
        let rows_per_sample = input_shape[..input_shape.len().saturating_sub(1)]
            .iter()
            .product();
        let mut output_shape = input_shape.to_vec();
        if let Some(last) = output_shape.last_mut() {
            *last = units;
        }
        let mut params = vec![Param {
            name: "kernel".into(),
            shape: vec![input_dim, units],
            value: kernel,
            trainable: true,
        }];
        if let Some(b) = bias {
            params.push(Param {
                name: "bias".into(),
                shape: vec![units],
                value: b,
                trainable: true,
            });
        }
        Dense {
            name: name.to_string(),
            input_dim,
            units,
            rows_per_sample,
            output_shape,
            activation,
            params,
            kernel_initializer: InitializerSpec {
                initializer: Initializer::GlorotUniform,
                seed: None,
            },
            bias_initializer: InitializerSpec {
                initializer: Initializer::Zeros,
                seed: None,
            },
        }
    }

    /// Records the initializers the weights were drawn from (keras's
    /// defaults, glorot_uniform and zeros, unless set here).
    pub fn with_initializers(mut self, kernel: InitializerSpec, bias: InitializerSpec) -> Dense {
        self.kernel_initializer = kernel;
        self.bias_initializer = bias;
        self
    }
}

impl Layer for Dense {
    fn class_name(&self) -> &'static str {
        "Dense"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.output_shape
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn scratch_per_sample(&self) -> usize {
        if self.activation == Activation::Linear {
            0
        } else {
            self.rows_per_sample * self.units
        }
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
    fn logits<'a>(&self, _x: &'a [f32], scratch: &'a [f32]) -> &'a [f32] {
        scratch
    }
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Dense {
            units: self.units,
            activation: self.activation,
            use_bias: self.params.len() > 1,
            kernel_initializer: self.kernel_initializer.clone(),
            bias_initializer: self.bias_initializer.clone(),
        })
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        _ctx: &mut ForwardCtx,
    ) {
        let rows = batch * self.rows_per_sample;
        let n = rows * self.units;
        let x = MatRef::new(&x[..rows * self.input_dim], rows, self.input_dim);
        let kernel = MatRef::new(&self.params[0].value, self.input_dim, self.units);
        let linear = self.activation == Activation::Linear;
        // Without an activation, z is written straight into y.
        let z: &mut [f32] = if linear {
            &mut y[..n]
        } else {
            &mut scratch[..n]
        };
        matmul(x, kernel, z, false);
        if let Some(bias) = self.params.get(1) {
            add_row_vector(z, &bias.value);
        }
        if !linear {
            self.activation
                .forward(&scratch[..n], &mut y[..n], self.units);
        }
    }

    fn backward(&self, args: BackwardArgs) {
        let rows = args.batch * self.rows_per_sample;
        let n = rows * self.units;
        let dy = &mut args.dy[..n];
        if self.activation != Activation::Linear && !args.dy_is_preactivation {
            self.activation
                .backward(&args.scratch[..n], &args.y[..n], dy, self.units);
        }
        let dz = &*dy;
        let (kernel_grad, rest) = args.grads.split_at_mut(1);
        let x = MatRef::new(&args.x[..rows * self.input_dim], rows, self.input_dim);
        let dz_mat = MatRef::new(dz, rows, self.units);
        matmul(x.t(), dz_mat, &mut kernel_grad[0], false);
        if let Some(bias_grad) = rest.first_mut() {
            column_sums(dz, self.units, bias_grad);
        }
        if let Some(dx) = args.dx {
            let kernel = MatRef::new(&self.params[0].value, self.input_dim, self.units);
            matmul(dz_mat, kernel.t(), &mut dx[..rows * self.input_dim], false);
        }
    }
}

/// Adds `bias` to every row of the row-major matrix `z`.
pub(crate) fn add_row_vector(z: &mut [f32], bias: &[f32]) {
    let width = bias.len();
    if z.len() >= 1 << 15 && crate::pool::in_pool() {
        z.par_chunks_mut(width).for_each(|row| {
            row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        });
    } else {
        z.chunks_mut(width).for_each(|row| {
            row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        });
    }
}

/// Writes the column sums of the row-major matrix `m` (`width` columns) to
/// `out`. Rows are added in order, so the result does not depend on the
/// number of threads.
pub(crate) fn column_sums(m: &[f32], width: usize, out: &mut [f32]) {
    out.fill(0.0);
    for row in m.chunks(width) {
        out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
    }
}
