//! Separable convolution layers (keras SeparableConv1D, SeparableConv2D),
//! channels last: a depthwise convolution without bias (see
//! `depthwise.rs`) followed by a pointwise (1x1) convolution to `filters`
//! channels, `y = activation(depthwise(x) pointwise_kernel + bias)`.
//!
//! Input `(batch_size, [height,] width, channels)`, output
//! `(batch_size, [new_height,] new_width, filters)`; strides, padding and
//! dilation apply to the depthwise step. Weights, in keras's order:
//! `depthwise_kernel (kernel_size..., channels, depth_multiplier)`,
//! `pointwise_kernel (1..., channels * depth_multiplier, filters)` and
//! `bias (filters)`.
//!
//! The forward pass keeps the depthwise output `m` (`positions x
//! channels * depth_multiplier` per sample) in the scratch. With `dz` the
//! gradient of the pre-activation, the backward pass computes
//! `d pointwise = m^T dz`, `d bias = column sums of dz`, `dm = dz
//! pointwise^T` (in a buffer of the thread) and then the depthwise
//! gradients from `dm`. Work is split into chunks of whole samples, with
//! weight gradients combined in chunk order (see `chunks.rs`).
//!
//! Scratch per sample: the pre-activation, for activations other than
//! linear, then the depthwise output.

use crate::activations::Activation;
use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::linalg::{matmul_strided, MatMut, MatRef};
use crate::model::Model;

use super::chunks::{
    split_param_partials, sum_param_partials, with_thread_buffer, worth_parallel, Chunks,
};
use super::conv::{input_gradient, sample_params, zero_params};
use super::depthwise::{finish_output, DepthwiseConfig, DepthwiseStep};
use super::spec::InitializerSpec;
use super::vectorized;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec, Param};

/// Settings of a separable convolution: the depthwise step's settings
/// (whose `activation` and `use_bias` apply to the layer's output) and the
/// number of output channels.
#[derive(Debug, Clone, PartialEq)]
pub struct SeparableConfig {
    pub depthwise: DepthwiseConfig,
    pub filters: usize,
}

#[derive(Debug)]
pub struct SeparableConv {
    name: String,
    class_name: &'static str,
    step: DepthwiseStep,
    filters: usize,
    activation: Activation,
    output_shape: Vec<usize>,
    params: Vec<Param>,
    chunk: usize,
    /// The settings that rebuild the layer (see `spec`), and the
    /// depthwise, pointwise and bias initializers.
    config: SeparableConfig,
    initializers: [InitializerSpec; 3],
}

impl SeparableConv {
    /// Builds the layer for inputs of per-sample shape `input`, with zero
    /// weights (see [`add_separable_conv`] for initialized ones).
    pub fn new(name: &str, config: &SeparableConfig, input: &[usize]) -> Result<SeparableConv> {
        let rank = config.depthwise.rank;
        let class_name = if rank == 1 {
            "SeparableConv1D"
        } else {
            "SeparableConv2D"
        };
        if config.filters == 0 {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" ({class_name}): `filters` must be a positive integer, got 0"
            )));
        }
        let step = DepthwiseStep::new(name, class_name, &config.depthwise, input)?;

        let mut output_shape = step.window.output_dims(rank);
        output_shape.push(config.filters);
        let depthwise_shape = step.kernel_shape(rank);
        let mut pointwise_shape = vec![1; rank];
        pointwise_shape.extend([step.width(), config.filters]);
        let params = zero_params(
            vec![
                ("depthwise_kernel", depthwise_shape),
                ("pointwise_kernel", pointwise_shape),
            ],
            config.depthwise.use_bias.then_some(config.filters),
        );
        Ok(SeparableConv {
            name: name.to_string(),
            class_name,
            chunk: step.chunk(),
            step,
            filters: config.filters,
            activation: config.depthwise.activation,
            output_shape,
            params,
            config: config.clone(),
            initializers: [
                (Initializer::GlorotUniform, None),
                (Initializer::GlorotUniform, None),
                (Initializer::Zeros, None),
            ]
            .each_ref()
            .map(InitializerSpec::from),
        })
    }

    fn output_per_sample(&self) -> usize {
        self.step.window.positions() * self.filters
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
        self.step.work(batch) + batch * self.step.output_per_sample() * self.filters
    }

    /// Views the pointwise kernel as a `(channels * depth_multiplier) x
    /// filters` matrix.
    fn pointwise(&self) -> MatRef<'_> {
        MatRef::new(&self.params[1].value, self.step.width(), self.filters)
    }
}

impl Layer for SeparableConv {
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
        self.pre_activation_per_sample() + self.step.output_per_sample()
    }
    fn workspace_len(&self, batch: usize) -> usize {
        let per_chunk: usize = self.params.iter().map(|p| p.value.len()).sum();
        self.chunk_count(batch) * per_chunk
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
    fn logits<'a>(&self, _x: &'a [f32], scratch: &'a [f32]) -> &'a [f32] {
        scratch
    }
    fn spec(&self) -> Option<LayerSpec> {
        let [depthwise, pointwise, bias] = self.initializers.clone();
        Some(LayerSpec::SeparableConv {
            config: self.config.clone(),
            depthwise_initializer: depthwise,
            pointwise_initializer: pointwise,
            bias_initializer: bias,
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
        let x_len = self.step.input_per_sample();
        let (m_len, y_len) = (self.step.output_per_sample(), self.output_per_sample());
        let z_len = self.pre_activation_per_sample();
        let chunks = self.chunk_count(batch);
        let parallel = worth_parallel(self.work(batch), chunks);
        let n = self.chunk;
        let (z, rest) = scratch.split_at_mut(batch * z_len);
        Chunks::new(
            [&x[..batch * x_len]],
            [n * x_len],
            [&mut y[..batch * y_len], z, &mut rest[..batch * m_len]],
            [n * y_len, n * z_len, n * m_len],
        )
        .for_each(chunks, parallel, &|_, chunk| {
            let [x] = chunk.read;
            let [y, z, m] = chunk.write;
            self.step.forward_samples(x, &self.params[0].value, m);
            let rows = m.len() / self.step.width();
            let linear = self.activation == Activation::Linear;
            let out = MatMut {
                data: if linear { &mut *y } else { &mut *z },
                rows,
                cols: self.filters,
                row_stride: self.filters,
            };
            let m = MatRef::new(m, rows, self.step.width());
            matmul_strided(m, self.pointwise(), out, false, chunks == 1);
            finish_output(self.activation, self.params.get(2), y, z, self.filters);
        });
    }

    fn backward(&self, args: BackwardArgs) {
        let mut workspace = vec![0.0; self.workspace_len(args.batch)];
        self.backward_in(args, &mut workspace);
    }

    fn backward_in(&self, args: BackwardArgs, workspace: &mut [f32]) {
        let batch = args.batch;
        let x_len = self.step.input_per_sample();
        let (m_len, y_len) = (self.step.output_per_sample(), self.output_per_sample());
        let z_len = self.pre_activation_per_sample();
        let dz = &mut args.dy[..batch * y_len];
        if self.activation != Activation::Linear && !args.dy_is_preactivation {
            let z = &args.scratch[..batch * z_len];
            self.activation
                .backward(z, &args.y[..batch * y_len], dz, self.filters);
        }
        let m_all = &args.scratch[batch * z_len..batch * (z_len + m_len)];

        let chunks = self.chunk_count(batch);
        let depthwise_len = self.params[0].value.len();
        let pointwise_len = self.params[1].value.len();
        let bias_len = self.params.get(2).map_or(0, |b| b.value.len());
        let lens = [depthwise_len, pointwise_len, bias_len];
        let [depthwise_partials, pointwise_partials, bias_partials] =
            split_param_partials(workspace, chunks, lens);
        let (dx, dx_stride) = input_gradient(args.dx, batch, x_len);
        let parallel = worth_parallel(2 * self.work(batch), chunks);
        let n = self.chunk;
        let width = self.step.width();
        Chunks::new(
            [&args.x[..batch * x_len], &*dz, m_all],
            [n * x_len, n * y_len, n * m_len],
            [depthwise_partials, pointwise_partials, bias_partials, dx],
            [depthwise_len, pointwise_len, bias_len, n * dx_stride],
        )
        .for_each(chunks, parallel, &|_, chunk| {
            let [x, dz, m] = chunk.read;
            let [depthwise_partial, pointwise_partial, bias_partial, dx] = chunk.write;
            let rows = m.len() / width;
            let dz_matrix = MatRef::new(dz, rows, self.filters);
            let pointwise_out = MatMut {
                data: pointwise_partial,
                rows: width,
                cols: self.filters,
                row_stride: self.filters,
            };
            matmul_strided(
                MatRef::new(m, rows, width).t(),
                dz_matrix,
                pointwise_out,
                false,
                chunks == 1,
            );
            if !bias_partial.is_empty() {
                vectorized::column_sums(dz, bias_partial);
            }
            with_thread_buffer(m.len(), |dm| {
                let dm_out = MatMut {
                    data: &mut *dm,
                    rows,
                    cols: width,
                    row_stride: width,
                };
                matmul_strided(dz_matrix, self.pointwise().t(), dm_out, false, chunks == 1);
                let depthwise = &self.params[0].value;
                self.step
                    .backward_samples(x, depthwise, dm, depthwise_partial, dx);
            });
        });

        sum_param_partials(workspace, chunks, &lens, args.grads);
    }
}

/// Appends a separable convolution layer to `model`, with weights drawn
/// from the initializers (a seed of `None` draws from the model's
/// generator).
pub fn add_separable_conv(
    model: &mut Model,
    name: &str,
    config: &SeparableConfig,
    initializers: &[(Initializer, Option<u64>); 3],
) -> Result<()> {
    model.add_layer_with(name, |input, rng| {
        let mut layer = SeparableConv::new(name, config, input)?;
        sample_params(&mut layer.params, initializers, rng);
        layer.initializers = initializers.each_ref().map(InitializerSpec::from);
        Ok(Box::new(layer))
    })
}
