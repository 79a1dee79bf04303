//! Transposed convolution layers (keras Conv1DTranspose, Conv2DTranspose),
//! channels last: `y = activation(conv_transpose(x, kernel) + bias)`.
//!
//! Input `(batch_size, [height,] width, channels)`, output
//! `(batch_size, [new_height,] new_width, filters)`. The kernel has keras's
//! shape `(kernel_size..., filters, channels)` and the bias `(filters)`.
//!
//! Output size per axis, keras's rule for input size `n`, stride `s` and a
//! kernel spanning `span = (k - 1) d + 1` inputs:
//!
//! - `valid`: `(n - 1) s + span + p`, with `p = output_padding`, or
//!   `max(span, s) - span` when `output_padding` is `NULL`;
//! - `same`: `n s` without `output_padding`, else
//!   `(n - 1) s + (span mod 2) + p`.
//!
//! TensorFlow defines the transposed convolution as the gradient, with
//! respect to its input, of the convolution (same kernel, strides, dilation
//! and padding) that maps the output shape back to the input shape. This
//! layer computes exactly that, with the machinery of [`Conv`]: its
//! `adjoint` is the convolution from `filters` to `channels` channels on
//! inputs of the output's shape, whose kernel has the same layout. The
//! forward pass multiplies `x` (`positions x channels`) by `kernel^T` into
//! a column matrix and adds the columns onto the output positions (col2im).
//! With `dz` the gradient of the pre-activation, the backward pass builds
//! the columns of `dz` (im2col) and computes `dx = columns kernel`,
//! `d kernel = columns^T x` and `d bias = column sums of dz`.
//!
//! Work is split into chunks of whole samples (see `chunks.rs`). Per-chunk
//! weight gradients are combined in chunk order, so results do not depend
//! on the number of threads. Column matrices live in a buffer of the thread
//! computing the chunk. Scratch per sample: the pre-activation, for
//! activations other than linear.

use crate::activations::Activation;
use crate::error::{format_batch_shape, format_shape, Error, Result};
use crate::init::Initializer;
use crate::linalg::{matmul_strided, MatMut, MatRef};
use crate::model::Model;

use super::chunks::{
    split_param_partials, sum_param_partials, with_thread_buffer, worth_parallel, Chunks,
};
use super::conv::{
    check_input_rank, check_strides_or_dilation, check_window_settings, input_gradient,
    sample_params, zero_params, Conv, ConvConfig,
};
use super::spec::InitializerSpec;
use super::vectorized;
use super::window::Padding;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec, Param};

/// Rows of the column matrix that one chunk of work should reach, as in
/// `conv.rs`.
const ROWS_PER_CHUNK: usize = 512;

/// Settings of a transposed convolution layer, with keras's argument names.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvTransposeConfig {
    /// Number of spatial axes: 1 or 2.
    pub rank: usize,
    pub filters: usize,
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    /// Extra output rows along each axis, each below the stride. `None`
    /// lets keras's rule choose the output size.
    pub output_padding: Option<Vec<usize>>,
    pub dilation_rate: Vec<usize>,
    pub activation: Activation,
    pub use_bias: bool,
}

impl ConvTransposeConfig {
    fn class_name(&self) -> &'static str {
        match self.rank {
            1 => "Conv1DTranspose",
            _ => "Conv2DTranspose",
        }
    }

    /// Checks the settings alone, with keras's rules.
    fn validate(&self, name: &str) -> Result<()> {
        let invalid = |msg: String| {
            Err(Error::InvalidArgument(format!(
                "layer \"{name}\" ({}): {msg}",
                self.class_name()
            )))
        };
        if !(1..=2).contains(&self.rank) {
            return invalid(format!(
                "transposed convolutions have 1 or 2 spatial axes, got {}",
                self.rank
            ));
        }
        check_window_settings(
            self.rank,
            &self.kernel_size,
            &self.strides,
            &self.dilation_rate,
        )
        .or_else(invalid)?;
        if self.filters == 0 {
            return invalid("`filters` must be a positive integer, got 0".into());
        }
        if self.padding == Padding::Causal {
            return invalid("`padding` must be \"valid\" or \"same\", got \"causal\"".into());
        }
        if let Some(output_padding) = &self.output_padding {
            if output_padding.len() != self.rank
                || output_padding
                    .iter()
                    .zip(&self.strides)
                    .any(|(p, s)| p >= s)
            {
                return invalid(format!(
                    "`output_padding` must be {} integers, each smaller than the stride along its axis, got output_padding = {} and strides = {}",
                    self.rank,
                    format_shape(output_padding),
                    format_shape(&self.strides)
                ));
            }
        }
        check_strides_or_dilation(&self.strides, &self.dilation_rate).or_else(invalid)?;
        Ok(())
    }

    /// Returns the output size along `axis` for an input of size `input`,
    /// by keras's rule (see the module documentation).
    // NOTE: nothing bounds the output size, which grows with `kernel_size`
    // and `strides`: as for `Conv`, a huge kernel allocates its weights and
    // output without a check.
    fn output_size(&self, axis: usize, input: usize) -> usize {
        let stride = self.strides[axis];
        let span = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1;
        let padding = self.output_padding.as_ref().map(|p| p[axis]);
        match (self.padding, padding) {
            (Padding::Same, None) => input * stride,
            (Padding::Same, Some(p)) => (input - 1) * stride + span % 2 + p,
            (_, p) => (input - 1) * stride + span + p.unwrap_or(stride.max(span) - span),
        }
    }
}

#[derive(Debug)]
pub struct ConvTranspose {
    name: String,
    class_name: &'static str,
    /// The convolution whose input gradient this layer computes: from the
    /// output's shape back to the input's, `filters` to `channels`.
    adjoint: Conv,
    channels: usize,
    filters: usize,
    activation: Activation,
    output_shape: Vec<usize>,
    params: Vec<Param>,
    /// Samples per chunk of work.
    chunk: usize,
    /// The settings and initializers that rebuild the layer (see `spec`).
    config: ConvTransposeConfig,
    kernel_initializer: InitializerSpec,
    bias_initializer: InitializerSpec,
}

impl ConvTranspose {
    /// Builds the layer for inputs of per-sample shape `input`, with zero
    /// weights (see [`add_conv_transpose`] for initialized ones).
    pub fn new(name: &str, config: &ConvTransposeConfig, input: &[usize]) -> Result<ConvTranspose> {
        config.validate(name)?;
        let class_name = config.class_name();
        let rank = config.rank;
        check_input_rank(name, class_name, rank, input)?;

        let channels = input[rank];
        let mut output_shape: Vec<usize> = (0..rank)
            .map(|axis| config.output_size(axis, input[axis]))
            .collect();
        if output_shape.contains(&0) {
            return Err(Error::Shape(format!(
                "layer \"{name}\" ({class_name}): the input {} gives an empty output {}; use a larger `output_padding` or padding = \"valid\"",
                format_batch_shape(input),
                format_batch_shape(&output_shape)
            )));
        }
        output_shape.push(config.filters);

        let adjoint_config = ConvConfig {
            rank,
            filters: channels,
            kernel_size: config.kernel_size.clone(),
            strides: config.strides.clone(),
            padding: config.padding,
            dilation_rate: config.dilation_rate.clone(),
            groups: 1,
            activation: Activation::Linear,
            use_bias: false,
        };
        // NOTE: the adjoint also allocates a zero kernel of its own, which
        // stays unused: this layer multiplies by `params[0]`.
        let adjoint = Conv::new(name, &adjoint_config, &output_shape)?;
        let reached = adjoint.window().output_dims(rank);
        if reached[..] != input[..rank] {
            // TensorFlow rejects these settings too: the convolution of the
            // output does not return to the input's size.
            return Err(Error::Shape(format!(
                "layer \"{name}\" ({class_name}): with padding \"{}\" and output_padding = {}, the output {} does not map back to the input {} (a convolution with these strides gives {}); change `output_padding`",
                config.padding.name(),
                config
                    .output_padding
                    .as_ref()
                    .map_or("NULL".to_string(), |p| format_shape(p)),
                format_batch_shape(&output_shape),
                format_batch_shape(input),
                format_shape(&reached)
            )));
        }

        let mut kernel_shape = config.kernel_size.clone();
        kernel_shape.extend([config.filters, channels]);
        let params = zero_params(
            vec![("kernel", kernel_shape)],
            config.use_bias.then_some(config.filters),
        );
        Ok(ConvTranspose {
            name: name.to_string(),
            class_name,
            chunk: ROWS_PER_CHUNK.div_ceil(adjoint.window().positions()).max(1),
            adjoint,
            channels,
            filters: config.filters,
            activation: config.activation,
            output_shape,
            params,
            config: config.clone(),
            kernel_initializer: InitializerSpec::from(&(Initializer::GlorotUniform, None)),
            bias_initializer: InitializerSpec::from(&(Initializer::Zeros, None)),
        })
    }

    fn input_per_sample(&self) -> usize {
        self.adjoint.output_per_sample()
    }

    fn output_per_sample(&self) -> usize {
        self.adjoint.input_per_sample()
    }

    /// Input positions per sample: the rows of a sample's column matrix.
    fn input_positions(&self) -> usize {
        self.adjoint.window().positions()
    }

    fn pre_activation_per_sample(&self) -> usize {
        if self.activation == Activation::Linear {
            0
        } else {
            self.output_per_sample()
        }
    }

    fn chunk_count(&self, batch: usize) -> usize {
        batch.div_ceil(self.chunk)
    }

    /// Multiply-adds of one forward pass, to decide on threads.
    fn work(&self, batch: usize) -> usize {
        batch * self.input_positions() * self.adjoint.row_width() * self.channels
    }

    /// Views the kernel as a `(taps * filters) x channels` matrix.
    fn kernel(&self) -> MatRef<'_> {
        MatRef::new(
            &self.params[0].value,
            self.adjoint.row_width(),
            self.channels,
        )
    }

    /// Forward pass of one chunk of samples into `pre` (the output, or the
    /// pre-activation when the activation needs it), then bias and
    /// activation into `y`.
    fn forward_chunk(&self, x: &[f32], y: &mut [f32], z: &mut [f32], parallel_product: bool) {
        let samples = x.len() / self.input_per_sample();
        let rows = samples * self.input_positions();
        let pre: &mut [f32] = if self.activation == Activation::Linear {
            &mut *y
        } else {
            &mut *z
        };
        let x_matrix = MatRef::new(x, rows, self.channels);
        let width = self.adjoint.row_width();
        if self.adjoint.has_identity_columns() {
            // 1x1 kernel, stride 1: the columns are the output itself.
            let out = MatMut {
                data: pre,
                rows,
                cols: width,
                row_stride: width,
            };
            matmul_strided(x_matrix, self.kernel().t(), out, false, parallel_product);
        } else {
            let c_len = self.adjoint.columns_per_sample();
            let y_len = self.output_per_sample();
            with_thread_buffer(samples * c_len, |columns| {
                let out = MatMut {
                    data: columns,
                    rows,
                    cols: width,
                    row_stride: width,
                };
                matmul_strided(x_matrix, self.kernel().t(), out, false, parallel_product);
                for s in 0..samples {
                    self.adjoint.col2im(
                        &columns[s * c_len..(s + 1) * c_len],
                        &mut pre[s * y_len..(s + 1) * y_len],
                    );
                }
            });
        }
        if let Some(bias) = self.params.get(1) {
            vectorized::add_bias(pre, &bias.value);
        }
        if self.activation != Activation::Linear {
            self.activation.forward(z, y, self.filters);
        }
    }

    /// Backward pass of one chunk: the kernel and bias gradients of this
    /// chunk into `kernel_partial` and `bias_partial`, and the input
    /// gradient when `dx` is not empty.
    #[allow(clippy::too_many_arguments)]
    fn backward_chunk(
        &self,
        x: &[f32],
        dz: &[f32],
        kernel_partial: &mut [f32],
        bias_partial: &mut [f32],
        dx: &mut [f32],
        parallel_product: bool,
    ) {
        let samples = dz.len() / self.output_per_sample();
        let rows = samples * self.input_positions();
        let width = self.adjoint.row_width();
        with_thread_buffer(samples * self.adjoint.columns_per_sample(), |buffer| {
            let columns = self.adjoint.columns(dz, samples, buffer);
            let columns = MatRef::new(columns, rows, width);
            let kernel_out = MatMut {
                data: kernel_partial,
                rows: width,
                cols: self.channels,
                row_stride: self.channels,
            };
            matmul_strided(
                columns.t(),
                MatRef::new(x, rows, self.channels),
                kernel_out,
                false,
                parallel_product,
            );
            if !dx.is_empty() {
                let dx_out = MatMut {
                    data: dx,
                    rows,
                    cols: self.channels,
                    row_stride: self.channels,
                };
                matmul_strided(columns, self.kernel(), dx_out, false, parallel_product);
            }
        });
        if !bias_partial.is_empty() {
            vectorized::column_sums(dz, bias_partial);
        }
    }
}

impl Layer for ConvTranspose {
    fn class_name(&self) -> &'static str {
        self.class_name
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
        self.pre_activation_per_sample()
    }
    fn workspace_len(&self, batch: usize) -> usize {
        self.chunk_count(batch) * (self.params[0].value.len() + self.filters)
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
    fn logits<'a>(&self, _x: &'a [f32], scratch: &'a [f32]) -> &'a [f32] {
        scratch
    }
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::ConvTranspose {
            config: self.config.clone(),
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
        let (x_len, y_len) = (self.input_per_sample(), self.output_per_sample());
        let z_len = self.pre_activation_per_sample();
        let chunks = self.chunk_count(batch);
        let parallel = worth_parallel(self.work(batch), chunks);
        let n = self.chunk;
        Chunks::new(
            [&x[..batch * x_len]],
            [n * x_len],
            [&mut y[..batch * y_len], &mut scratch[..batch * z_len]],
            [n * y_len, n * z_len],
        )
        .for_each(chunks, parallel, &|_, chunk| {
            let [x] = chunk.read;
            let [y, z] = chunk.write;
            self.forward_chunk(x, y, z, chunks == 1);
        });
    }

    fn backward(&self, args: BackwardArgs) {
        let mut workspace = vec![0.0; self.workspace_len(args.batch)];
        self.backward_in(args, &mut workspace);
    }

    fn backward_in(&self, args: BackwardArgs, workspace: &mut [f32]) {
        let batch = args.batch;
        let (x_len, y_len) = (self.input_per_sample(), self.output_per_sample());
        let dz = &mut args.dy[..batch * y_len];
        if self.activation != Activation::Linear && !args.dy_is_preactivation {
            let z_len = self.pre_activation_per_sample();
            let z = &args.scratch[..batch * z_len];
            self.activation
                .backward(z, &args.y[..batch * y_len], dz, self.filters);
        }

        let chunks = self.chunk_count(batch);
        let kernel_len = self.params[0].value.len();
        let bias_len = if self.params.len() > 1 {
            self.filters
        } else {
            0
        };
        let [kernel_partials, bias_partials] =
            split_param_partials(workspace, chunks, [kernel_len, bias_len]);
        let (dx, dx_stride) = input_gradient(args.dx, batch, x_len);
        let parallel = worth_parallel(3 * self.work(batch), chunks);
        let n = self.chunk;
        Chunks::new(
            [&args.x[..batch * x_len], &*dz],
            [n * x_len, n * y_len],
            [kernel_partials, bias_partials, dx],
            [kernel_len, bias_len, n * dx_stride],
        )
        .for_each(chunks, parallel, &|_, chunk| {
            let [x, dz] = chunk.read;
            let [kernel_partial, bias_partial, dx] = chunk.write;
            self.backward_chunk(x, dz, kernel_partial, bias_partial, dx, chunks == 1);
        });

        sum_param_partials(workspace, chunks, &[kernel_len, bias_len], args.grads);
    }
}

/// Appends a transposed convolution layer to `model`, with weights drawn
/// from the initializers (a seed of `None` draws from the model's
/// generator).
pub fn add_conv_transpose(
    model: &mut Model,
    name: &str,
    config: &ConvTransposeConfig,
    kernel_init: &(Initializer, Option<u64>),
    bias_init: &(Initializer, Option<u64>),
) -> Result<()> {
    model.add_layer_with(name, |input, rng| {
        let mut layer = ConvTranspose::new(name, config, input)?;
        sample_params(&mut layer.params, [kernel_init, bias_init], rng);
        layer.kernel_initializer = InitializerSpec::from(kernel_init);
        layer.bias_initializer = InitializerSpec::from(bias_init);
        Ok(Box::new(layer))
    })
}
