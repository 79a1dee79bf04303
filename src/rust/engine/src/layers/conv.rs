//! Convolution layers (keras Conv1D, Conv2D, Conv3D), channels last:
//! `y = activation(conv(x, kernel) + bias)`.
//!
//! Input `(batch_size, [depth, height,] width, channels)`, output
//! `(batch_size, [new_depth, new_height,] new_width, filters)`. The kernel
//! has keras's shape `(kernel_size..., channels / groups, filters)` and the
//! bias `(filters)`. With `groups` > 1 the channels and the filters are each
//! split into `groups` equal parts, and filter part `g` reads only channel
//! part `g`.
//!
//! Method: im2col + GEMM. For each sample the forward pass copies the input
//! window of every output position into one row of a column matrix
//! (`positions x (taps * channels)`, zeros in the padding; a group's values
//! are contiguous in the row) and multiplies it by the kernel, viewed as a
//! `(taps * channels / groups) x filters` matrix. With `dz` the gradient of
//! the pre-activation, the backward pass computes
//! `d kernel = columns^T dz`, `d bias = column sums of dz`, and the column
//! gradient `dz kernel^T`, whose entries are added back onto the input
//! positions they were copied from (col2im).
//!
//! Work is split into chunks of whole samples (see `chunks.rs`); weight and
//! bias gradients are summed per chunk and the chunks combined in order.
//! A chunk's columns are built in a buffer of the thread that computes it
//! and built again in the backward pass, except for inputs with few
//! channels, whose columns the scratch keeps (see `Conv::store_columns`).
//! A 1x1 kernel with stride 1 needs no columns: they are the input itself.
//!
//! Scratch per sample: the pre-activation, for activations other than
//! linear and plain relu, then the kept columns.

use crate::activations::Activation;
use crate::error::{format_batch_shape, format_shape, Error, Result};
use crate::init::{rng_for, Initializer};
use crate::linalg::{matmul_strided, MatMut, MatRef};
use crate::model::Model;
use rand::rngs::StdRng;

use super::chunks::{
    split_param_partials, sum_param_partials, with_thread_buffer, worth_parallel, Chunks,
};
use super::spec::InitializerSpec;
use super::vectorized;
use super::window::{Padding, Window};
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec, Param};

/// Rows of the column matrix that one chunk of work should reach: enough for
/// an efficient matrix product, small enough to balance threads.
const ROWS_PER_CHUNK: usize = 512;

/// Inputs with at most this many channels (and one group) take the
/// tap-by-tap im2col.
const FEW_CHANNELS: usize = 4;

/// Settings of a convolution layer, with keras's argument names.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvConfig {
    /// Number of spatial axes: 1, 2 or 3.
    pub rank: usize,
    pub filters: usize,
    pub kernel_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
    pub dilation_rate: Vec<usize>,
    pub groups: usize,
    pub activation: Activation,
    pub use_bias: bool,
}

impl ConvConfig {
    fn class_name(&self) -> &'static str {
        match self.rank {
            1 => "Conv1D",
            2 => "Conv2D",
            _ => "Conv3D",
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
        if !(1..=3).contains(&self.rank) {
            return invalid(format!(
                "convolutions have 1 to 3 spatial axes, got {}",
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
        if self.groups == 0 || self.filters % self.groups != 0 {
            return invalid(format!(
                "`filters` ({}) must be divisible by `groups` ({})",
                self.filters, self.groups
            ));
        }
        check_strides_or_dilation(&self.strides, &self.dilation_rate).or_else(invalid)?;
        if self.padding == Padding::Causal && self.rank != 1 {
            return invalid("padding \"causal\" is only available for 1D convolutions".into());
        }
        Ok(())
    }
}

/// Describes the expected per-sample input of a layer with `rank` spatial axes.
pub(crate) fn expected_input(rank: usize) -> &'static str {
    match rank {
        1 => "(batch_size, steps, channels)",
        2 => "(batch_size, height, width, channels)",
        _ => "(batch_size, depth, height, width, channels)",
    }
}

/// Checks that `input` has `rank` spatial axes and a channel axis. A sample
/// with one axis too few gets a hint to add the channel axis, as grayscale
/// images and univariate series usually need.
pub(crate) fn check_input_rank(
    name: &str,
    class_name: &str,
    rank: usize,
    input: &[usize],
) -> Result<()> {
    if input.len() == rank + 1 {
        return Ok(());
    }
    let mut msg = format!(
        "layer \"{name}\" ({class_name}) expects inputs of shape {}, got {}",
        expected_input(rank),
        format_batch_shape(input)
    );
    if input.len() == rank {
        let mut with_channel = input.to_vec();
        with_channel.push(1);
        msg.push_str(&format!(
            ". Add a channel axis of size 1: give the model input_shape = {} and reshape the data with array_reshape(x, c(dim(x), 1))",
            format_shape(&with_channel)
        ));
    }
    Err(Error::Shape(msg))
}

/// Builds the sliding window of a layer, or explains why the window does
/// not fit the input.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_window(
    name: &str,
    class_name: &str,
    input: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilation: &[usize],
    padding: Padding,
    what: &str,
) -> Result<Window> {
    let spatial = &input[..input.len() - 1];
    Window::new(spatial, kernel, strides, dilation, padding).ok_or_else(|| {
        let span: Vec<usize> = kernel
            .iter()
            .zip(dilation)
            .map(|(&k, &d)| (k - 1) * d + 1)
            .collect();
        Error::Shape(format!(
            "layer \"{name}\" ({class_name}): the {what} spans {} positions, larger than the input {} with padding \"{}\", so the output would be empty; use a smaller {what}, or padding = \"same\"",
            format_shape(&span),
            format_batch_shape(input),
            padding.name()
        ))
    })
}

/// Checks that `kernel_size`, `strides` and `dilation_rate` are each `rank`
/// positive integers. The error is the message for the first that is not.
pub(crate) fn check_window_settings(
    rank: usize,
    kernel_size: &[usize],
    strides: &[usize],
    dilation_rate: &[usize],
) -> std::result::Result<(), String> {
    for (what, values) in [
        ("kernel_size", kernel_size),
        ("strides", strides),
        ("dilation_rate", dilation_rate),
    ] {
        if values.len() != rank || values.contains(&0) {
            return Err(format!(
                "`{what}` must be {rank} positive integers, got {}",
                format_shape(values)
            ));
        }
    }
    Ok(())
}

/// Checks keras's rule that a layer may be strided or dilated but not both.
/// The error is the message.
pub(crate) fn check_strides_or_dilation(
    strides: &[usize],
    dilation_rate: &[usize],
) -> std::result::Result<(), String> {
    let strided = strides.iter().any(|&s| s > 1);
    let dilated = dilation_rate.iter().any(|&d| d > 1);
    if strided && dilated {
        return Err(format!(
            "`strides` > 1 cannot be combined with `dilation_rate` > 1 (as in keras), got strides = {} and dilation_rate = {}",
            format_shape(strides),
            format_shape(dilation_rate)
        ));
    }
    Ok(())
}

/// Builds zero-valued trainable kernels, one per `(name, shape)`, then a
/// zero bias named `bias` when `bias_len` is given.
pub(crate) fn zero_params(kernels: Vec<(&str, Vec<usize>)>, bias_len: Option<usize>) -> Vec<Param> {
    let mut params: Vec<Param> = kernels
        .into_iter()
        .map(|(name, shape)| Param {
            name: name.into(),
            value: vec![0.0; shape.iter().product()],
            shape,
            trainable: true,
        })
        .collect();
    if let Some(len) = bias_len {
        params.push(Param {
            name: "bias".into(),
            shape: vec![len],
            value: vec![0.0; len],
            trainable: true,
        });
    }
    params
}

/// Draws the value of each parameter from its initializer, in order (a seed
/// of `None` draws from `rng`). Parameters beyond the initializers, or
/// initializers beyond the parameters, are left alone.
pub(crate) fn sample_params<'a>(
    params: &mut [Param],
    initializers: impl IntoIterator<Item = &'a (Initializer, Option<u64>)>,
    rng: &mut StdRng,
) {
    for (param, init) in params.iter_mut().zip(initializers) {
        param.value = init.0.sample(&param.shape, &mut rng_for(init.1, rng));
    }
}

/// Returns `dx` cut to `batch` samples of `x_len` values, with `x_len` as
/// the per-sample stride, or an empty buffer and 0 when no previous layer
/// needs the input gradient.
pub(crate) fn input_gradient(
    dx: Option<&mut [f32]>,
    batch: usize,
    x_len: usize,
) -> (&mut [f32], usize) {
    match dx {
        Some(dx) => (&mut dx[..batch * x_len], x_len),
        None => (&mut [], 0),
    }
}

/// The step that follows the bias. Plain relu needs no stored
/// pre-activation: its derivative, 1 where `z > 0`, is 1 exactly where the
/// output `y = max(z, 0)` is positive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Post {
    Linear,
    Relu,
    General,
}

#[derive(Debug)]
pub struct Conv {
    name: String,
    class_name: &'static str,
    window: Window,
    channels: usize,
    filters: usize,
    groups: usize,
    activation: Activation,
    output_shape: Vec<usize>,
    params: Vec<Param>,
    /// A 1x1 kernel with stride 1 and no padding: the columns are the input.
    identity_columns: bool,
    /// Samples per chunk of work.
    chunk: usize,
    /// Keep the columns in the scratch for the backward pass instead of
    /// building them again. Building costs per element with few channels
    /// (short copies) but per byte with many (long copies), while keeping
    /// costs a write and a read of memory: keeping wins for inputs with few
    /// channels (measured on the Fashion-MNIST network).
    store_columns: bool,
    /// For each kernel column `kw`, the output columns `lo..hi` whose tap
    /// `kw` falls inside the input (see `Axis::valid_outputs`).
    valid_columns: Vec<(usize, usize)>,
    /// The settings and initializers that rebuild the layer (see `spec`).
    config: ConvConfig,
    kernel_initializer: InitializerSpec,
    bias_initializer: InitializerSpec,
}

impl Conv {
    /// Builds the layer for inputs of per-sample shape `input`, with zero
    /// weights (see [`add_conv`] for initialized ones). Its spec names
    /// keras's default initializers until `add_conv` records the ones used.
    pub fn new(name: &str, config: &ConvConfig, input: &[usize]) -> Result<Conv> {
        config.validate(name)?;
        let class_name = config.class_name();
        check_input_rank(name, class_name, config.rank, input)?;
        let channels = input[config.rank];
        if channels % config.groups != 0 {
            return Err(Error::Shape(format!(
                "layer \"{name}\" ({class_name}): the input {} has {channels} channels, which `groups` = {} does not divide",
                format_batch_shape(input),
                config.groups
            )));
        }
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
        let mut output_shape = window.output_dims(config.rank);
        output_shape.push(config.filters);
        let mut kernel_shape = config.kernel_size.clone();
        kernel_shape.extend([channels / config.groups, config.filters]);
        let params = zero_params(
            vec![("kernel", kernel_shape)],
            config.use_bias.then_some(config.filters),
        );
        let width_axis = window.axes[2];
        let valid_columns = (0..width_axis.kernel)
            .map(|k| width_axis.valid_outputs(k))
            .collect();
        let identity_columns = window
            .axes
            .iter()
            .all(|a| a.kernel == 1 && a.stride == 1 && a.pad_before == 0);
        Ok(Conv {
            name: name.to_string(),
            class_name,
            chunk: ROWS_PER_CHUNK.div_ceil(window.positions()).max(1),
            window,
            channels,
            filters: config.filters,
            groups: config.groups,
            activation: config.activation,
            output_shape,
            params,
            identity_columns,
            valid_columns,
            store_columns: !identity_columns && config.groups == 1 && channels <= FEW_CHANNELS,
            config: config.clone(),
            kernel_initializer: InitializerSpec::from(&(Initializer::GlorotUniform, None)),
            bias_initializer: InitializerSpec::from(&(Initializer::Zeros, None)),
        })
    }

    /// Returns the sliding window over the input.
    pub(crate) fn window(&self) -> &Window {
        &self.window
    }

    /// True when the column matrix is the input itself (see
    /// `Conv::columns`), so col2im is not needed either.
    pub(crate) fn has_identity_columns(&self) -> bool {
        self.identity_columns
    }

    fn post(&self) -> Post {
        if self.activation == Activation::Linear {
            Post::Linear
        } else if self.activation == Activation::RELU {
            Post::Relu
        } else {
            Post::General
        }
    }

    pub(crate) fn input_per_sample(&self) -> usize {
        self.window.input_positions() * self.channels
    }

    pub(crate) fn output_per_sample(&self) -> usize {
        self.window.positions() * self.filters
    }

    /// Width of one group's part of a column-matrix row.
    fn group_width(&self) -> usize {
        self.window.taps() * self.channels / self.groups
    }

    /// Width of a column-matrix row: all groups.
    pub(crate) fn row_width(&self) -> usize {
        self.window.taps() * self.channels
    }

    fn pre_activation_per_sample(&self) -> usize {
        match self.post() {
            Post::General => self.output_per_sample(),
            Post::Linear | Post::Relu => 0,
        }
    }

    pub(crate) fn columns_per_sample(&self) -> usize {
        if self.identity_columns {
            0
        } else {
            self.window.positions() * self.row_width()
        }
    }

    fn stored_columns_per_sample(&self) -> usize {
        if self.store_columns {
            self.columns_per_sample()
        } else {
            0
        }
    }

    fn chunk_count(&self, batch: usize) -> usize {
        batch.div_ceil(self.chunk)
    }

    /// Multiply-adds of one forward pass, to decide on threads.
    fn work(&self, batch: usize) -> usize {
        batch * self.window.positions() * self.group_width() * self.filters
    }

    /// Returns the first input column of the window at output column `ow`
    /// when its row of taps is one contiguous run of the input (one group,
    /// no dilation along the width, no padding under the window).
    fn contiguous_run(&self, ow: usize) -> Option<usize> {
        let aw = &self.window.axes[2];
        if self.groups != 1 || aw.dilation != 1 {
            return None;
        }
        let first = (ow * aw.stride).checked_sub(aw.pad_before)?;
        (first + aw.kernel <= aw.input).then_some(first)
    }

    /// Copies the input windows of one sample into its column matrix.
    fn im2col(&self, x: &[f32], columns: &mut [f32]) {
        if self.groups == 1 && self.channels <= FEW_CHANNELS {
            self.im2col_few_channels(x, columns);
            return;
        }
        let group_channels = self.channels / self.groups;
        let group_width = self.group_width();
        let row_width = self.row_width();
        let [ad, ah, aw] = self.window.axes;
        let run = aw.kernel * self.channels;
        let mut position = 0;
        for od in 0..ad.output {
            for oh in 0..ah.output {
                for ow in 0..aw.output {
                    let row = &mut columns[position * row_width..(position + 1) * row_width];
                    position += 1;
                    if let Some(first) = self.contiguous_run(ow) {
                        // One copy per kernel row instead of one per tap.
                        let mut rows = row.chunks_exact_mut(run);
                        for kd in 0..ad.kernel {
                            let id = ad.source(od, kd);
                            for kh in 0..ah.kernel {
                                let dst = rows.next().expect("row width is taps * channels");
                                match (id, ah.source(oh, kh)) {
                                    (Some(d), Some(h)) => {
                                        let from =
                                            ((d * ah.input + h) * aw.input + first) * self.channels;
                                        dst.copy_from_slice(&x[from..from + run]);
                                    }
                                    _ => dst.fill(0.0),
                                }
                            }
                        }
                        continue;
                    }
                    self.window.for_each_tap(od, oh, ow, |tap, source| {
                        for g in 0..self.groups {
                            let at = g * group_width + tap * group_channels;
                            let dst = &mut row[at..at + group_channels];
                            match source {
                                Some(p) => {
                                    let from = p * self.channels + g * group_channels;
                                    dst.copy_from_slice(&x[from..from + group_channels]);
                                }
                                None => dst.fill(0.0),
                            }
                        }
                    });
                }
            }
        }
    }

    /// im2col for inputs with few channels (grayscale or RGB images), one
    /// kernel tap at a time along each output row: a tight loop of short
    /// copies, where the general version's per-position work would cost
    /// more than the copies themselves.
    fn im2col_few_channels(&self, x: &[f32], columns: &mut [f32]) {
        let c = self.channels;
        let row_width = self.row_width();
        let [ad, ah, aw] = self.window.axes;
        let mut first_position = 0;
        for od in 0..ad.output {
            for oh in 0..ah.output {
                let mut tap = 0;
                for kd in 0..ad.kernel {
                    let id = ad.source(od, kd);
                    for kh in 0..ah.kernel {
                        let plane = match (id, ah.source(oh, kh)) {
                            (Some(d), Some(h)) => Some((d * ah.input + h) * aw.input),
                            _ => None,
                        };
                        for kw in 0..aw.kernel {
                            // Output columns lo..hi take this tap from the input.
                            let (lo, hi) = match plane {
                                Some(_) => self.valid_columns[kw],
                                None => (0, 0),
                            };
                            let start = first_position * row_width + tap * c;
                            for ow in (0..lo).chain(hi..aw.output) {
                                let at = start + ow * row_width;
                                columns[at..at + c].fill(0.0);
                            }
                            if let (Some(plane), true) = (plane, lo < hi) {
                                // Index arithmetic without divisions: this
                                // loop runs once per output column and tap.
                                let mut from =
                                    (plane + lo * aw.stride + kw * aw.dilation - aw.pad_before) * c;
                                let mut at = start + lo * row_width;
                                for _ in lo..hi {
                                    if c == 1 {
                                        columns[at] = x[from];
                                    } else {
                                        columns[at..at + c].copy_from_slice(&x[from..from + c]);
                                    }
                                    at += row_width;
                                    from += aw.stride * c;
                                }
                            }
                            tap += 1;
                        }
                    }
                }
                first_position += aw.output;
            }
        }
    }

    /// Adds a column-matrix gradient of one sample onto the input positions
    /// its entries came from; `dx` is overwritten.
    pub(crate) fn col2im(&self, d_columns: &[f32], dx: &mut [f32]) {
        dx.fill(0.0);
        let group_channels = self.channels / self.groups;
        let group_width = self.group_width();
        let row_width = self.row_width();
        let [ad, ah, aw] = self.window.axes;
        let run = aw.kernel * self.channels;
        let mut position = 0;
        for od in 0..ad.output {
            for oh in 0..ah.output {
                for ow in 0..aw.output {
                    let row = &d_columns[position * row_width..(position + 1) * row_width];
                    position += 1;
                    if let Some(first) = self.contiguous_run(ow) {
                        let mut rows = row.chunks_exact(run);
                        for kd in 0..ad.kernel {
                            let id = ad.source(od, kd);
                            for kh in 0..ah.kernel {
                                let src = rows.next().expect("row width is taps * channels");
                                if let (Some(d), Some(h)) = (id, ah.source(oh, kh)) {
                                    let to =
                                        ((d * ah.input + h) * aw.input + first) * self.channels;
                                    vectorized::add_assign(&mut dx[to..to + run], src);
                                }
                            }
                        }
                        continue;
                    }
                    self.window.for_each_tap(od, oh, ow, |tap, source| {
                        if let Some(p) = source {
                            for g in 0..self.groups {
                                let at = g * group_width + tap * group_channels;
                                let to = p * self.channels + g * group_channels;
                                dx[to..to + group_channels]
                                    .iter_mut()
                                    .zip(&row[at..at + group_channels])
                                    .for_each(|(d, v)| *d += v);
                            }
                        }
                    });
                }
            }
        }
    }

    /// Views group `g` of a column matrix with `rows` rows.
    fn columns_of_group<'a>(&self, columns: &'a [f32], rows: usize, g: usize) -> MatRef<'a> {
        MatRef {
            data: &columns[g * self.group_width()..],
            rows,
            cols: self.group_width(),
            row_stride: self.row_width(),
            col_stride: 1,
        }
    }

    /// Views the kernel columns of group `g`: `group_width x filters / groups`.
    fn kernel_of_group(&self, g: usize) -> MatRef<'_> {
        let group_filters = self.filters / self.groups;
        MatRef {
            data: &self.params[0].value[g * group_filters..],
            rows: self.group_width(),
            cols: group_filters,
            row_stride: self.filters,
            col_stride: 1,
        }
    }

    /// Views the filters of group `g` in a `rows x filters` matrix.
    fn filters_of_group<'a>(&self, m: &'a [f32], rows: usize, g: usize) -> MatRef<'a> {
        let group_filters = self.filters / self.groups;
        MatRef {
            data: &m[g * group_filters..],
            rows,
            cols: group_filters,
            row_stride: self.filters,
            col_stride: 1,
        }
    }

    /// Forward pass of one chunk of samples. The columns go to `stored`
    /// when the layer keeps them for the backward pass, else to a buffer of
    /// this thread.
    fn forward_chunk(
        &self,
        x: &[f32],
        y: &mut [f32],
        z: &mut [f32],
        stored: &mut [f32],
        parallel_product: bool,
    ) {
        let samples = y.len() / self.output_per_sample();
        if self.store_columns {
            let columns = self.columns(x, samples, stored);
            self.forward_product(columns, samples, y, z, parallel_product);
            return;
        }
        with_thread_buffer(samples * self.columns_per_sample(), |buffer| {
            let columns = self.columns(x, samples, buffer);
            self.forward_product(columns, samples, y, z, parallel_product);
        });
    }

    /// Returns the column matrix of `samples` samples of `x`: `x` itself
    /// for identity columns, else built by im2col in `buffer`.
    pub(crate) fn columns<'a>(
        &self,
        x: &'a [f32],
        samples: usize,
        buffer: &'a mut [f32],
    ) -> &'a [f32] {
        if self.identity_columns {
            return x;
        }
        let (x_len, c_len) = (self.input_per_sample(), self.columns_per_sample());
        for s in 0..samples {
            self.im2col(
                &x[s * x_len..(s + 1) * x_len],
                &mut buffer[s * c_len..(s + 1) * c_len],
            );
        }
        buffer
    }

    /// Multiplies the columns by the kernel, adds the bias and applies the
    /// activation, for `samples` samples.
    fn forward_product(
        &self,
        columns: &[f32],
        samples: usize,
        y: &mut [f32],
        z: &mut [f32],
        parallel_product: bool,
    ) {
        let rows = samples * self.window.positions();
        let post = self.post();
        let pre: &mut [f32] = if post == Post::General {
            &mut *z
        } else {
            &mut *y
        };
        let group_filters = self.filters / self.groups;
        for g in 0..self.groups {
            let out = MatMut {
                data: &mut pre[g * group_filters..],
                rows,
                cols: group_filters,
                row_stride: self.filters,
            };
            matmul_strided(
                self.columns_of_group(columns, rows, g),
                self.kernel_of_group(g),
                out,
                false,
                parallel_product,
            );
        }
        let bias = self.params.get(1).map(|b| &b.value[..]);
        match (post, bias) {
            (Post::Relu, Some(bias)) => vectorized::add_bias_relu(pre, bias),
            (Post::Relu, None) => vectorized::relu(pre),
            (_, Some(bias)) => vectorized::add_bias(pre, bias),
            (_, None) => {}
        }
        if post == Post::General {
            self.activation.forward(z, y, self.filters);
        }
    }

    /// Backward pass of one chunk: this chunk's kernel and bias gradients
    /// into `kernel_partial` and `bias_partial`, and the input gradient
    /// when `dx` is not empty. The columns are `stored` from the forward
    /// pass, or built again from `x` (see `Conv::store_columns`).
    #[allow(clippy::too_many_arguments)]
    fn backward_chunk(
        &self,
        x: &[f32],
        stored: &[f32],
        dz: &[f32],
        kernel_partial: &mut [f32],
        bias_partial: &mut [f32],
        dx: &mut [f32],
        parallel_product: bool,
    ) {
        let samples = dz.len() / self.output_per_sample();
        let c_len = samples * self.columns_per_sample();
        let rebuilt = if self.store_columns { 0 } else { c_len };
        let d_columns_len = if dx.is_empty() { 0 } else { c_len };
        with_thread_buffer(rebuilt + d_columns_len, |buffer| {
            let (columns, d_columns) = buffer.split_at_mut(rebuilt);
            let columns = if self.store_columns {
                stored
            } else {
                self.columns(x, samples, columns)
            };
            self.backward_product(
                columns,
                dz,
                kernel_partial,
                bias_partial,
                d_columns,
                dx,
                parallel_product,
            );
        });
    }

    /// Computes the products and col2im of [`Conv::backward_chunk`].
    #[allow(clippy::too_many_arguments)]
    fn backward_product(
        &self,
        columns: &[f32],
        dz: &[f32],
        kernel_partial: &mut [f32],
        bias_partial: &mut [f32],
        d_columns: &mut [f32],
        dx: &mut [f32],
        parallel_product: bool,
    ) {
        let rows = dz.len() / self.filters;
        let group_filters = self.filters / self.groups;
        for g in 0..self.groups {
            let out = MatMut {
                data: &mut kernel_partial[g * group_filters..],
                rows: self.group_width(),
                cols: group_filters,
                row_stride: self.filters,
            };
            matmul_strided(
                self.columns_of_group(columns, rows, g).t(),
                self.filters_of_group(dz, rows, g),
                out,
                false,
                parallel_product,
            );
        }
        if !bias_partial.is_empty() {
            vectorized::column_sums(dz, bias_partial);
        }
        if dx.is_empty() {
            return;
        }
        let target: &mut [f32] = if self.identity_columns {
            &mut *dx
        } else {
            &mut *d_columns
        };
        for g in 0..self.groups {
            let out = MatMut {
                data: &mut target[g * self.group_width()..],
                rows,
                cols: self.group_width(),
                row_stride: self.row_width(),
            };
            matmul_strided(
                self.filters_of_group(dz, rows, g),
                self.kernel_of_group(g).t(),
                out,
                false,
                parallel_product,
            );
        }
        if !self.identity_columns {
            let (c_len, x_len) = (self.columns_per_sample(), self.input_per_sample());
            for (s, dx_sample) in dx.chunks_exact_mut(x_len).enumerate() {
                self.col2im(&d_columns[s * c_len..(s + 1) * c_len], dx_sample);
            }
        }
    }
}

impl Layer for Conv {
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
        self.pre_activation_per_sample() + self.stored_columns_per_sample()
    }
    fn workspace_len(&self, batch: usize) -> usize {
        self.chunk_count(batch) * (self.group_width() * self.filters + self.filters)
    }
    fn output_activation(&self) -> Option<Activation> {
        Some(self.activation)
    }
    fn logits<'a>(&self, _x: &'a [f32], scratch: &'a [f32]) -> &'a [f32] {
        scratch
    }
    fn spec(&self) -> Option<LayerSpec> {
        Some(LayerSpec::Conv {
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
        let s_len = self.stored_columns_per_sample();
        let (z, rest) = scratch.split_at_mut(batch * z_len);
        Chunks::new(
            [&x[..batch * x_len]],
            [n * x_len],
            [&mut y[..batch * y_len], z, &mut rest[..batch * s_len]],
            [n * y_len, n * z_len, n * s_len],
        )
        .for_each(chunks, parallel, &|_, chunk| {
            let [x] = chunk.read;
            let [y, z, stored] = chunk.write;
            self.forward_chunk(x, y, z, stored, chunks == 1);
        });
    }

    fn backward(&self, args: BackwardArgs) {
        let mut workspace = vec![0.0; self.workspace_len(args.batch)];
        self.backward_in(args, &mut workspace);
    }

    fn backward_in(&self, args: BackwardArgs, workspace: &mut [f32]) {
        let batch = args.batch;
        let (x_len, y_len) = (self.input_per_sample(), self.output_per_sample());
        let z_len = self.pre_activation_per_sample();
        let y = &args.y[..batch * y_len];
        let dz = &mut args.dy[..batch * y_len];
        let post = if args.dy_is_preactivation {
            Post::Linear
        } else {
            self.post()
        };
        if post == Post::General {
            let z = &args.scratch[..batch * z_len];
            self.activation.backward(z, y, dz, self.filters);
        }
        // Relu's derivative is applied chunk by chunk below.
        let relu_y: &[f32] = if post == Post::Relu { y } else { &[] };
        let relu_stride = if post == Post::Relu { y_len } else { 0 };

        let chunks = self.chunk_count(batch);
        let kernel_len = self.group_width() * self.filters;
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
        let s_len = self.stored_columns_per_sample();
        let stored = &args.scratch[batch * z_len..batch * (z_len + s_len)];
        Chunks::new(
            [&args.x[..batch * x_len], relu_y, stored],
            [n * x_len, n * relu_stride, n * s_len],
            [dz, kernel_partials, bias_partials, dx],
            [n * y_len, kernel_len, bias_len, n * dx_stride],
        )
        .for_each(chunks, parallel, &|_, chunk| {
            let [x, relu_y, stored] = chunk.read;
            let [dz, kernel_partial, bias_partial, dx] = chunk.write;
            if !relu_y.is_empty() {
                vectorized::relu_derivative(dz, relu_y);
            }
            self.backward_chunk(x, stored, dz, kernel_partial, bias_partial, dx, chunks == 1);
        });

        sum_param_partials(workspace, chunks, &[kernel_len, bias_len], args.grads);
    }
}

/// Appends a convolution layer to `model`, with weights drawn from the
/// initializers (a seed of `None` draws from the model's generator).
pub fn add_conv(
    model: &mut Model,
    name: &str,
    config: &ConvConfig,
    kernel_init: &(Initializer, Option<u64>),
    bias_init: &(Initializer, Option<u64>),
) -> Result<()> {
    model.add_layer_with(name, |input, rng| {
        let mut conv = Conv::new(name, config, input)?;
        conv.kernel_initializer = InitializerSpec::from(kernel_init);
        conv.bias_initializer = InitializerSpec::from(bias_init);
        sample_params(&mut conv.params, [kernel_init, bias_init], rng);
        Ok(Box::new(conv))
    })
}
