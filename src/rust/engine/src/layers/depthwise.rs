//! Depthwise convolution layers (keras DepthwiseConv1D, DepthwiseConv2D),
//! channels last, and the depthwise step they share with the separable
//! convolutions (`separable.rs`).
//!
//! A depthwise convolution convolves each input channel with its own
//! `depth_multiplier` kernels: output channel `c * depth_multiplier + m`
//! reads only input channel `c`,
//! `y[o, c dm + m] = activation(sum over taps t of x[source(o, t), c] kernel[t, c, m] + bias[c dm + m])`.
//! Input `(batch_size, [height,] width, channels)`, output
//! `(batch_size, [new_height,] new_width, channels * depth_multiplier)`, with
//! the output sizes and padding of `window.rs`. The kernel has keras's shape
//! `(kernel_size..., channels, depth_multiplier)`.
//!
//! Method: a direct loop over output positions and kernel taps; each tap
//! adds one input row (all channels) times one kernel row. There is no
//! matrix product to hand to GEMM, because every channel has its own kernel.
//! Work is split into chunks of whole samples (see `chunks.rs`). Weight
//! gradients are summed per chunk and the chunks combined in order.

use crate::activations::Activation;
use crate::error::{Error, Result};
use crate::init::Initializer;
use crate::model::Model;

use super::chunks::{split_param_partials, sum_param_partials, worth_parallel, Chunks};
use super::conv::{
    build_window, check_input_rank, check_window_settings, input_gradient, sample_params,
    zero_params,
};
use super::spec::InitializerSpec;
use super::vectorized;
use super::window::{Padding, Window};
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec, Param};

/// Output values (positions times channels) that one chunk of work should
/// reach: enough to pay for a task, small enough to balance threads.
pub(crate) const VALUES_PER_CHUNK: usize = 8192;

/// Settings of the depthwise step, with keras's argument names.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthwiseConfig {
    /// Number of spatial axes: 1 or 2.
    pub rank: usize,
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    pub dilation_rate: Vec<usize>,
    pub depth_multiplier: usize,
    pub activation: Activation,
    pub use_bias: bool,
}

impl DepthwiseConfig {
    /// Checks the settings alone, with keras's rules; `class_name` names
    /// the layer in messages.
    pub(crate) fn validate(&self, name: &str, class_name: &str) -> Result<()> {
        let invalid = |msg: String| {
            Err(Error::InvalidArgument(format!(
                "layer \"{name}\" ({class_name}): {msg}"
            )))
        };
        if !(1..=2).contains(&self.rank) {
            return invalid(format!(
                "depthwise and separable convolutions have 1 or 2 spatial axes, got {}",
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
        if self.depth_multiplier == 0 {
            return invalid("`depth_multiplier` must be a positive integer, got 0".into());
        }
        if self.padding == Padding::Causal {
            return invalid("`padding` must be \"valid\" or \"same\", got \"causal\"".into());
        }
        Ok(())
    }
}

/// Geometry of the depthwise step for one input shape.
#[derive(Debug)]
pub(crate) struct DepthwiseStep {
    pub window: Window,
    pub channels: usize,
    pub multiplier: usize,
}

impl DepthwiseStep {
    /// Builds the step for per-sample input shape `input`, or explains why
    /// the input does not fit.
    pub fn new(
        name: &str,
        class_name: &str,
        config: &DepthwiseConfig,
        input: &[usize],
    ) -> Result<DepthwiseStep> {
        config.validate(name, class_name)?;
        check_input_rank(name, class_name, config.rank, input)?;
        let window = build_window(
            name,
            class_name,
            input,
            &config.kernel_size,
            &config.strides,
            &config.dilation_rate,
            config.padding,
            "kernel",
        )?;
        Ok(DepthwiseStep {
            window,
            channels: input[config.rank],
            multiplier: config.depth_multiplier,
        })
    }

    /// Output channels: `channels * depth_multiplier`.
    pub fn width(&self) -> usize {
        self.channels * self.multiplier
    }

    pub fn input_per_sample(&self) -> usize {
        self.window.input_positions() * self.channels
    }

    pub fn output_per_sample(&self) -> usize {
        self.window.positions() * self.width()
    }

    /// Kernel shape `(kernel_size..., channels, depth_multiplier)` for `rank`
    /// spatial axes.
    pub fn kernel_shape(&self, rank: usize) -> Vec<usize> {
        let mut shape: Vec<usize> = self.window.axes[3 - rank..]
            .iter()
            .map(|a| a.kernel)
            .collect();
        shape.extend([self.channels, self.multiplier]);
        shape
    }

    /// Samples per chunk of work.
    pub fn chunk(&self) -> usize {
        VALUES_PER_CHUNK.div_ceil(self.output_per_sample()).max(1)
    }

    /// Multiply-adds of one forward pass, to decide on threads.
    pub fn work(&self, batch: usize) -> usize {
        batch * self.output_per_sample() * self.window.taps()
    }

    /// Calls `f(tap, first_output, first_input, count)` for each row of
    /// output positions and each kernel tap: through that tap, output
    /// positions `first_output..first_output + count` read input positions
    /// `first_input`, `first_input + stride`, ... (the outputs whose tap
    /// falls in the padding are left out).
    #[inline(always)]
    fn for_each_run(&self, mut f: impl FnMut(usize, usize, usize, usize)) {
        let [ad, ah, aw] = self.window.axes;
        let mut row_start = 0;
        for od in 0..ad.output {
            for oh in 0..ah.output {
                let mut tap = 0;
                for kd in 0..ad.kernel {
                    let id = ad.source(od, kd);
                    for kh in 0..ah.kernel {
                        let ih = ah.source(oh, kh);
                        for kw in 0..aw.kernel {
                            let (lo, hi) = aw.valid_outputs(kw);
                            if let (Some(d), Some(h), true) = (id, ih, lo < hi) {
                                let plane = (d * ah.input + h) * aw.input;
                                let first =
                                    plane + lo * aw.stride + kw * aw.dilation - aw.pad_before;
                                f(tap, row_start + lo, first, hi - lo);
                            }
                            tap += 1;
                        }
                    }
                }
                row_start += aw.output;
            }
        }
    }

    /// Writes the depthwise convolution of one sample `x` to `out`
    /// (`positions x width`).
    pub fn forward_sample(&self, x: &[f32], kernel: &[f32], out: &mut [f32]) {
        let (c, m, width) = (self.channels, self.multiplier, self.width());
        let x_step = self.window.axes[2].stride * c;
        out.fill(0.0);
        self.for_each_run(|tap, o, p, count| {
            let out = &mut out[o * width..];
            let x = &x[p * c..];
            let k_row = &kernel[tap * width..(tap + 1) * width];
            if m == 1 {
                vectorized::multiply_add_rows(out, x, k_row, c, count, [width, x_step, 0]);
                return;
            }
            for i in 0..count {
                let out_row = &mut out[i * width..(i + 1) * width];
                let x_row = &x[i * x_step..i * x_step + c];
                for ((out_c, k_c), &v) in out_row
                    .chunks_exact_mut(m)
                    .zip(k_row.chunks_exact(m))
                    .zip(x_row)
                {
                    out_c.iter_mut().zip(k_c).for_each(|(y, k)| *y += v * k);
                }
            }
        });
    }

    /// Writes the depthwise convolution of each sample of `x` to `out`.
    pub fn forward_samples(&self, x: &[f32], kernel: &[f32], out: &mut [f32]) {
        let (x_len, out_len) = (self.input_per_sample(), self.output_per_sample());
        for (x, out) in x.chunks_exact(x_len).zip(out.chunks_exact_mut(out_len)) {
            self.forward_sample(x, kernel, out);
        }
    }

    /// Backward pass of a chunk of samples: overwrites `d_kernel` with
    /// their kernel gradient and, when `dx` is not empty, writes their
    /// input gradient to `dx`, from the gradient `d_out` of the step's
    /// output.
    pub fn backward_samples(
        &self,
        x: &[f32],
        kernel: &[f32],
        d_out: &[f32],
        d_kernel: &mut [f32],
        dx: &mut [f32],
    ) {
        let (x_len, out_len) = (self.input_per_sample(), self.output_per_sample());
        d_kernel.fill(0.0);
        for (s, (x, d_out)) in x
            .chunks_exact(x_len)
            .zip(d_out.chunks_exact(out_len))
            .enumerate()
        {
            let dx_sample: &mut [f32] = if dx.is_empty() {
                &mut []
            } else {
                &mut dx[s * x_len..(s + 1) * x_len]
            };
            self.backward_sample(x, kernel, d_out, d_kernel, dx_sample);
        }
    }

    /// Backward pass of one sample: adds the kernel gradient to `d_kernel`
    /// and, when `dx` is not empty, writes the input gradient to `dx`, from
    /// the gradient `d_out` of the step's output.
    pub fn backward_sample(
        &self,
        x: &[f32],
        kernel: &[f32],
        d_out: &[f32],
        d_kernel: &mut [f32],
        dx: &mut [f32],
    ) {
        let (c, m, width) = (self.channels, self.multiplier, self.width());
        let x_step = self.window.axes[2].stride * c;
        let with_dx = !dx.is_empty();
        dx.fill(0.0);
        self.for_each_run(|tap, o, p, count| {
            let d_out = &d_out[o * width..];
            let x = &x[p * c..];
            let dk_row = &mut d_kernel[tap * width..(tap + 1) * width];
            let k_row = &kernel[tap * width..(tap + 1) * width];
            if m == 1 {
                vectorized::multiply_add_rows(dk_row, x, d_out, c, count, [0, x_step, width]);
                if with_dx {
                    let dx = &mut dx[p * c..];
                    vectorized::multiply_add_rows(dx, d_out, k_row, c, count, [x_step, width, 0]);
                }
                return;
            }
            for i in 0..count {
                let d_row = &d_out[i * width..(i + 1) * width];
                let at = i * x_step;
                for ch in 0..c {
                    let v = x[at + ch];
                    let mut sum = 0.0;
                    for j in ch * m..(ch + 1) * m {
                        dk_row[j] += v * d_row[j];
                        sum += d_row[j] * k_row[j];
                    }
                    if with_dx {
                        dx[p * c + at + ch] += sum;
                    }
                }
            }
        });
    }
}

/// Adds the bias to a convolution step's output and applies the
/// activation. The step wrote its output to `y` for a linear activation,
/// else to `z`, the stored pre-activation.
pub(crate) fn finish_output(
    activation: Activation,
    bias: Option<&Param>,
    y: &mut [f32],
    z: &mut [f32],
    width: usize,
) {
    let linear = activation == Activation::Linear;
    if let Some(bias) = bias {
        vectorized::add_bias(if linear { &mut *y } else { &mut *z }, &bias.value);
    }
    if !linear {
        activation.forward(z, y, width);
    }
}

#[derive(Debug)]
pub struct DepthwiseConv {
    name: String,
    class_name: &'static str,
    step: DepthwiseStep,
    activation: Activation,
    output_shape: Vec<usize>,
    params: Vec<Param>,
    chunk: usize,
    /// The settings and initializers that rebuild the layer (see `spec`).
    config: DepthwiseConfig,
    depthwise_initializer: InitializerSpec,
    bias_initializer: InitializerSpec,
}

impl DepthwiseConv {
    /// Builds the layer for inputs of per-sample shape `input`, with zero
    /// weights (see [`add_depthwise_conv`] for initialized ones).
    pub fn new(name: &str, config: &DepthwiseConfig, input: &[usize]) -> Result<DepthwiseConv> {
        let class_name = if config.rank == 1 {
            "DepthwiseConv1D"
        } else {
            "DepthwiseConv2D"
        };
        let step = DepthwiseStep::new(name, class_name, config, input)?;
        let mut output_shape = step.window.output_dims(config.rank);
        output_shape.push(step.width());
        let kernel_shape = step.kernel_shape(config.rank);
        let params = zero_params(
            vec![("kernel", kernel_shape)],
            config.use_bias.then_some(step.width()),
        );
        Ok(DepthwiseConv {
            name: name.to_string(),
            class_name,
            chunk: step.chunk(),
            step,
            activation: config.activation,
            output_shape,
            params,
            config: config.clone(),
            depthwise_initializer: InitializerSpec::from(&(Initializer::GlorotUniform, None)),
            bias_initializer: InitializerSpec::from(&(Initializer::Zeros, None)),
        })
    }

    fn pre_activation_per_sample(&self) -> usize {
        if self.activation == Activation::Linear {
            0
        } else {
            self.step.output_per_sample()
        }
    }

    fn chunk_count(&self, batch: usize) -> usize {
        batch.div_ceil(self.chunk)
    }
}

impl Layer for DepthwiseConv {
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
        let bias_len = self.params.get(1).map_or(0, |b| b.value.len());
        self.chunk_count(batch) * (self.params[0].value.len() + bias_len)
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
    fn logits<'a>(&self, _x: &'a [f32], scratch: &'a [f32]) -> &'a [f32] {
        scratch
    }
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::DepthwiseConv {
            config: self.config.clone(),
            depthwise_initializer: self.depthwise_initializer.clone(),
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
        let (x_len, y_len) = (self.step.input_per_sample(), self.step.output_per_sample());
        let z_len = self.pre_activation_per_sample();
        let chunks = self.chunk_count(batch);
        let parallel = worth_parallel(self.step.work(batch), chunks);
        let n = self.chunk;
        let width = self.step.width();
        Chunks::new(
            [&x[..batch * x_len]],
            [n * x_len],
            [&mut y[..batch * y_len], &mut scratch[..batch * z_len]],
            [n * y_len, n * z_len],
        )
        .for_each(chunks, parallel, &|_, chunk| {
            let [x] = chunk.read;
            let [y, z] = chunk.write;
            let linear = self.activation == Activation::Linear;
            let pre: &mut [f32] = if linear { &mut *y } else { &mut *z };
            self.step.forward_samples(x, &self.params[0].value, pre);
            finish_output(self.activation, self.params.get(1), y, z, width);
        });
    }

    fn backward(&self, args: BackwardArgs) {
        let mut workspace = vec![0.0; self.workspace_len(args.batch)];
        self.backward_in(args, &mut workspace);
    }

    fn backward_in(&self, args: BackwardArgs, workspace: &mut [f32]) {
        let batch = args.batch;
        let (x_len, y_len) = (self.step.input_per_sample(), self.step.output_per_sample());
        let dz = &mut args.dy[..batch * y_len];
        let width = self.step.width();
        if self.activation != Activation::Linear && !args.dy_is_preactivation {
            let z = &args.scratch[..batch * y_len];
            self.activation
                .backward(z, &args.y[..batch * y_len], dz, width);
        }

        let chunks = self.chunk_count(batch);
        let kernel_len = self.params[0].value.len();
        let bias_len = self.params.get(1).map_or(0, |b| b.value.len());
        let [kernel_partials, bias_partials] =
            split_param_partials(workspace, chunks, [kernel_len, bias_len]);
        let (dx, dx_stride) = input_gradient(args.dx, batch, x_len);
        let parallel = worth_parallel(2 * self.step.work(batch), chunks);
        let n = self.chunk;
        let kernel = &self.params[0].value;
        Chunks::new(
            [&args.x[..batch * x_len], &*dz],
            [n * x_len, n * y_len],
            [kernel_partials, bias_partials, dx],
            [kernel_len, bias_len, n * dx_stride],
        )
        .for_each(chunks, parallel, &|_, chunk| {
            let [x, dz] = chunk.read;
            let [kernel_partial, bias_partial, dx] = chunk.write;
            self.step
                .backward_samples(x, kernel, dz, kernel_partial, dx);
            if !bias_partial.is_empty() {
                vectorized::column_sums(dz, bias_partial);
            }
        });

        sum_param_partials(workspace, chunks, &[kernel_len, bias_len], args.grads);
    }
}

/// Appends a depthwise convolution layer to `model`, with weights drawn
/// from the initializers (a seed of `None` draws from the model's
/// generator).
pub fn add_depthwise_conv(
    model: &mut Model,
    name: &str,
    config: &DepthwiseConfig,
    depthwise_init: &(Initializer, Option<u64>),
    bias_init: &(Initializer, Option<u64>),
) -> Result<()> {
    model.add_layer_with(name, |input, rng| {
        let mut layer = DepthwiseConv::new(name, config, input)?;
        sample_params(&mut layer.params, [depthwise_init, bias_init], rng);
        layer.depthwise_initializer = InitializerSpec::from(depthwise_init);
        layer.bias_initializer = InitializerSpec::from(bias_init);
        Ok(Box::new(layer))
    })
}
