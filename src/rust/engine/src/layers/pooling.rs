//! Pooling layers (keras MaxPooling1D/2D/3D, AveragePooling1D/2D/3D and the
//! global variants), channels last.
//!
//! Input `(batch_size, [depth, height,] width, channels)`. Windowed pooling
//! outputs `(batch_size, [new_depth, new_height,] new_width, channels)`
//! with the sizes of `window.rs`; global pooling outputs
//! `(batch_size, channels)`, or `(batch_size, 1, ..., 1, channels)` with
//! `keepdims`.
//!
//! Max pooling takes the largest value of each window per channel; with
//! "same" padding the padded positions are ignored, as in TensorFlow. Its
//! forward pass keeps the index of the maximum (the first one on ties) for
//! the backward pass, which routes each output gradient to that input.
//! Average pooling divides by the number of input positions inside the
//! window, so padded positions do not count (TensorFlow's `avg_pool`). Its
//! backward pass spreads each output gradient evenly over those positions.

use crate::error::{format_batch_shape, Error, Result};
use crate::model::Model;

use super::chunks::{worth_parallel, Chunks};
use super::conv::{build_window, check_input_rank};
use super::vectorized::with_avx2;
use super::window::{Padding, Window};
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec};

/// Output values one chunk of work should reach.
const VALUES_PER_CHUNK: usize = 1 << 14;

/// Indices of maxima are stored as f32 in the scratch buffer, which is exact
/// below 2^24.
const MAX_EXACT_INDEX: usize = 1 << 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average,
}

fn class_name(kind: PoolKind, global: bool, rank: usize) -> &'static str {
    const NAMES: [[[&str; 3]; 2]; 2] = [
        [
            ["MaxPooling1D", "MaxPooling2D", "MaxPooling3D"],
            [
                "GlobalMaxPooling1D",
                "GlobalMaxPooling2D",
                "GlobalMaxPooling3D",
            ],
        ],
        [
            ["AveragePooling1D", "AveragePooling2D", "AveragePooling3D"],
            [
                "GlobalAveragePooling1D",
                "GlobalAveragePooling2D",
                "GlobalAveragePooling3D",
            ],
        ],
    ];
    let k = match kind {
        PoolKind::Max => 0,
        PoolKind::Average => 1,
    };
    NAMES[k][global as usize][rank.clamp(1, 3) - 1]
}

fn check_rank(name: &str, rank: usize) -> Result<()> {
    if (1..=3).contains(&rank) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "layer \"{name}\": pooling has 1 to 3 spatial axes, got {rank}"
        )))
    }
}

fn check_index_range(name: &str, input: &[usize]) -> Result<()> {
    if input.iter().product::<usize>() >= MAX_EXACT_INDEX {
        return Err(Error::Shape(format!(
            "layer \"{name}\": max pooling supports samples of fewer than 2^24 values, got {}",
            format_batch_shape(input)
        )));
    }
    Ok(())
}

/// Settings of a windowed pooling layer, with keras's argument names.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolConfig {
    pub kind: PoolKind,
    /// Number of spatial axes: 1, 2 or 3.
    pub rank: usize,
    pub pool_size: Vec<usize>,
    pub strides: Vec<usize>,
    pub padding: Padding,
}

#[derive(Debug)]
pub struct Pool {
    name: String,
    class_name: &'static str,
    kind: PoolKind,
    window: Window,
    channels: usize,
    output_shape: Vec<usize>,
    chunk: usize,
    /// The settings that rebuild the layer.
    config: PoolConfig,
}

impl Pool {
    pub fn new(name: &str, config: &PoolConfig, input: &[usize]) -> Result<Pool> {
        check_rank(name, config.rank)?;
        let class_name = class_name(config.kind, false, config.rank);
        for (what, values) in [
            ("pool_size", &config.pool_size),
            ("strides", &config.strides),
        ] {
            if values.len() != config.rank || values.contains(&0) {
                return Err(Error::InvalidArgument(format!(
                    "layer \"{name}\" ({class_name}): `{what}` must be {} positive integers, got {values:?}",
                    config.rank
                )));
            }
        }
        if config.padding == Padding::Causal {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" ({class_name}): `padding` must be \"valid\" or \"same\", got \"causal\""
            )));
        }
        check_input_rank(name, class_name, config.rank, input)?;
        if config.kind == PoolKind::Max {
            check_index_range(name, input)?;
        }
        let ones = vec![1; config.rank];
        let window = build_window(
            name,
            class_name,
            input,
            &config.pool_size,
            &config.strides,
            &ones,
            config.padding,
            "pool_size",
        )?;
        let channels = input[config.rank];
        let mut output_shape = window.output_dims(config.rank);
        output_shape.push(channels);
        let per_sample = window.positions() * channels;
        Ok(Pool {
            name: name.to_string(),
            class_name,
            kind: config.kind,
            window,
            channels,
            output_shape,
            chunk: VALUES_PER_CHUNK.div_ceil(per_sample).max(1),
            config: config.clone(),
        })
    }

    fn input_per_sample(&self) -> usize {
        self.window.input_positions() * self.channels
    }

    fn output_per_sample(&self) -> usize {
        self.window.positions() * self.channels
    }

    /// Pools one sample; `argmax` receives the input index of each maximum
    /// (max pooling only).
    fn pool_sample(&self, x: &[f32], y: &mut [f32], argmax: &mut [f32]) {
        pool_sample(&self.window, self.kind, self.channels, x, y, argmax);
    }

    /// Routes the output gradient of one sample back to its input; `dx` is
    /// overwritten.
    fn unpool_sample(&self, dy: &[f32], argmax: &[f32], dx: &mut [f32]) {
        dx.fill(0.0);
        let c = self.channels;
        match self.kind {
            PoolKind::Max => {
                for (&d, &index) in dy.iter().zip(argmax) {
                    dx[index as usize] += d;
                }
            }
            PoolKind::Average => {
                let [ad, ah, aw] = self.window.axes;
                let mut position = 0;
                for od in 0..ad.output {
                    for oh in 0..ah.output {
                        for ow in 0..aw.output {
                            let mut count = 0usize;
                            self.window.for_each_tap(od, oh, ow, |_, source| {
                                count += source.is_some() as usize;
                            });
                            let scale = 1.0 / count as f32;
                            let grad = &dy[position * c..(position + 1) * c];
                            self.window.for_each_tap(od, oh, ow, |_, source| {
                                if let Some(p) = source {
                                    dx[p * c..(p + 1) * c]
                                        .iter_mut()
                                        .zip(grad)
                                        .for_each(|(d, g)| *d += g * scale);
                                }
                            });
                            position += 1;
                        }
                    }
                }
            }
        }
    }
}

impl Layer for Pool {
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
        Some(LayerSpec::Pooling(self.config.clone()))
    }
    fn scratch_per_sample(&self) -> usize {
        match self.kind {
            PoolKind::Max => self.output_per_sample(),
            PoolKind::Average => 0,
        }
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        _ctx: &mut ForwardCtx,
    ) {
        let (x_len, y_len, s_len) = (
            self.input_per_sample(),
            self.output_per_sample(),
            self.scratch_per_sample(),
        );
        let chunks = batch.div_ceil(self.chunk);
        let work = batch * self.window.positions() * self.window.taps() * self.channels;
        let n = self.chunk;
        Chunks::new(
            [&x[..batch * x_len]],
            [n * x_len],
            [&mut y[..batch * y_len], &mut scratch[..batch * s_len]],
            [n * y_len, n * s_len],
        )
        .for_each(chunks, worth_parallel(work, chunks), &|_, chunk| {
            let [x] = chunk.read;
            let [y, argmax] = chunk.write;
            for (s, (x, y)) in x
                .chunks_exact(x_len)
                .zip(y.chunks_exact_mut(y_len))
                .enumerate()
            {
                let best = if s_len == 0 {
                    &mut []
                } else {
                    &mut argmax[s * s_len..(s + 1) * s_len]
                };
                self.pool_sample(x, y, best);
            }
        });
    }

    fn backward(&self, args: BackwardArgs) {
        let Some(dx) = args.dx else {
            return;
        };
        let batch = args.batch;
        let (x_len, y_len, s_len) = (
            self.input_per_sample(),
            self.output_per_sample(),
            self.scratch_per_sample(),
        );
        let chunks = batch.div_ceil(self.chunk);
        let work = batch * self.window.positions() * self.window.taps() * self.channels;
        let n = self.chunk;
        Chunks::new(
            [&args.dy[..batch * y_len], &args.scratch[..batch * s_len]],
            [n * y_len, n * s_len],
            [&mut dx[..batch * x_len]],
            [n * x_len],
        )
        .for_each(chunks, worth_parallel(work, chunks), &|_, chunk| {
            let [dy, argmax] = chunk.read;
            let [dx] = chunk.write;
            for (s, (dy, dx)) in dy
                .chunks_exact(y_len)
                .zip(dx.chunks_exact_mut(x_len))
                .enumerate()
            {
                let best = if s_len == 0 {
                    &[][..]
                } else {
                    &argmax[s * s_len..(s + 1) * s_len]
                };
                self.unpool_sample(dy, best, dx);
            }
        });
    }
}

/// Global pooling: one value per channel over all positions.
#[derive(Debug)]
pub struct GlobalPool {
    name: String,
    class_name: &'static str,
    kind: PoolKind,
    positions: usize,
    channels: usize,
    output_shape: Vec<usize>,
    chunk: usize,
    rank: usize,
    keepdims: bool,
}

impl GlobalPool {
    pub fn new(
        name: &str,
        kind: PoolKind,
        rank: usize,
        keepdims: bool,
        input: &[usize],
    ) -> Result<GlobalPool> {
        check_rank(name, rank)?;
        let class_name = class_name(kind, true, rank);
        check_input_rank(name, class_name, rank, input)?;
        if kind == PoolKind::Max {
            check_index_range(name, input)?;
        }
        let channels = input[rank];
        let positions: usize = input[..rank].iter().product();
        let mut output_shape = if keepdims { vec![1; rank] } else { Vec::new() };
        output_shape.push(channels);
        Ok(GlobalPool {
            name: name.to_string(),
            class_name,
            kind,
            positions,
            channels,
            output_shape,
            chunk: VALUES_PER_CHUNK.div_ceil(positions * channels).max(1),
            rank,
            keepdims,
        })
    }
}

impl Layer for GlobalPool {
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
        Some(LayerSpec::GlobalPooling {
            kind: self.kind,
            rank: self.rank,
            keepdims: self.keepdims,
        })
    }
    fn scratch_per_sample(&self) -> usize {
        match self.kind {
            PoolKind::Max => self.channels,
            PoolKind::Average => 0,
        }
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        _ctx: &mut ForwardCtx,
    ) {
        let c = self.channels;
        let x_len = self.positions * c;
        let s_len = self.scratch_per_sample();
        let chunks = batch.div_ceil(self.chunk);
        let n = self.chunk;
        Chunks::new(
            [&x[..batch * x_len]],
            [n * x_len],
            [&mut y[..batch * c], &mut scratch[..batch * s_len]],
            [n * c, n * s_len],
        )
        .for_each(
            chunks,
            worth_parallel(batch * x_len, chunks),
            &|_, chunk| {
                let [x] = chunk.read;
                let [y, argmax] = chunk.write;
                for (s, (x, out)) in x.chunks_exact(x_len).zip(y.chunks_exact_mut(c)).enumerate() {
                    match self.kind {
                        PoolKind::Max => {
                            let best = &mut argmax[s * c..(s + 1) * c];
                            out.fill(f32::NEG_INFINITY);
                            for (p, row) in x.chunks_exact(c).enumerate() {
                                keep_larger(row, p * c, out, best);
                            }
                        }
                        PoolKind::Average => {
                            out.fill(0.0);
                            for row in x.chunks_exact(c) {
                                out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
                            }
                            let scale = 1.0 / self.positions as f32;
                            out.iter_mut().for_each(|o| *o *= scale);
                        }
                    }
                }
            },
        );
    }

    fn backward(&self, args: BackwardArgs) {
        let Some(dx) = args.dx else {
            return;
        };
        let batch = args.batch;
        let c = self.channels;
        let x_len = self.positions * c;
        let s_len = self.scratch_per_sample();
        let chunks = batch.div_ceil(self.chunk);
        let n = self.chunk;
        Chunks::new(
            [&args.dy[..batch * c], &args.scratch[..batch * s_len]],
            [n * c, n * s_len],
            [&mut dx[..batch * x_len]],
            [n * x_len],
        )
        .for_each(
            chunks,
            worth_parallel(batch * x_len, chunks),
            &|_, chunk| {
                let [dy, argmax] = chunk.read;
                let [dx] = chunk.write;
                for (s, (grad, dx)) in dy
                    .chunks_exact(c)
                    .zip(dx.chunks_exact_mut(x_len))
                    .enumerate()
                {
                    match self.kind {
                        PoolKind::Max => {
                            dx.fill(0.0);
                            for (&g, &index) in grad.iter().zip(&argmax[s * c..(s + 1) * c]) {
                                dx[index as usize] = g;
                            }
                        }
                        PoolKind::Average => {
                            let scale = 1.0 / self.positions as f32;
                            for row in dx.chunks_exact_mut(c) {
                                row.iter_mut().zip(grad).for_each(|(d, g)| *d = g * scale);
                            }
                        }
                    }
                }
            },
        );
    }
}

with_avx2! {
    /// Pools one sample of `channels` channels over `window`; `argmax`
    /// receives the input index of each maximum (max pooling only).
    fn pool_sample(
        window: &Window,
        kind: PoolKind,
        channels: usize,
        x: &[f32],
        y: &mut [f32],
        argmax: &mut [f32],
    ) {
        let c = channels;
        let [ad, ah, aw] = window.axes;
        let mut position = 0;
        for od in 0..ad.output {
            for oh in 0..ah.output {
                for ow in 0..aw.output {
                    let out = &mut y[position * c..(position + 1) * c];
                    match kind {
                        PoolKind::Max => {
                            let best = &mut argmax[position * c..(position + 1) * c];
                            out.fill(f32::NEG_INFINITY);
                            window.for_each_tap(
                                od,
                                oh,
                                ow,
                                #[inline(always)]
                                |_, source| {
                                if let Some(p) = source {
                                    keep_larger(&x[p * c..(p + 1) * c], p * c, out, best);
                                }
                            });
                        }
                        PoolKind::Average => {
                            out.fill(0.0);
                            let mut count = 0usize;
                            window.for_each_tap(
                                od,
                                oh,
                                ow,
                                #[inline(always)]
                                |_, source| {
                                if let Some(p) = source {
                                    count += 1;
                                    out.iter_mut()
                                        .zip(&x[p * c..(p + 1) * c])
                                        .for_each(|(o, v)| *o += v);
                                }
                            });
                            let scale = 1.0 / count as f32;
                            out.iter_mut().for_each(|o| *o *= scale);
                        }
                    }
                    position += 1;
                }
            }
        }
    }
}

/// Updates running maxima `out` with the values of `row`, whose first value
/// has input index `first`, and records in `best` the index of each new
/// maximum. Strictly larger values win, so ties keep the first index.
/// Channels go in blocks of fixed-size arrays with branch-free selects,
/// which the compiler turns into vector instructions.
#[inline(always)]
fn keep_larger(row: &[f32], first: usize, out: &mut [f32], best: &mut [f32]) {
    const LANES: usize = 8;
    const LANE_OFFSETS: [f32; LANES] = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
    let n = out.len();
    let whole = n - n % LANES;
    let mut base = first as f32;
    for start in (0..whole).step_by(LANES) {
        let o: &mut [f32; LANES] = (&mut out[start..start + LANES])
            .try_into()
            .expect("a block of LANES channels");
        let b: &mut [f32; LANES] = (&mut best[start..start + LANES])
            .try_into()
            .expect("a block of LANES channels");
        let r: &[f32; LANES] = row[start..start + LANES]
            .try_into()
            .expect("a block of LANES channels");
        // Whole-array stores, so that no lane's store is conditional.
        let (old_max, old_best) = (*o, *b);
        *o = std::array::from_fn(|lane| {
            if r[lane] > old_max[lane] {
                r[lane]
            } else {
                old_max[lane]
            }
        });
        *b = std::array::from_fn(|lane| {
            if r[lane] > old_max[lane] {
                base + LANE_OFFSETS[lane]
            } else {
                old_best[lane]
            }
        });
        base += LANES as f32;
    }
    for ch in whole..n {
        if row[ch] > out[ch] {
            out[ch] = row[ch];
            best[ch] = (first + ch) as f32;
        }
    }
}

/// Appends a windowed pooling layer to `model`.
pub fn add_pool(model: &mut Model, name: &str, config: &PoolConfig) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(Pool::new(name, config, input)?))
    })
}

/// Appends a global pooling layer to `model`.
pub fn add_global_pool(
    model: &mut Model,
    name: &str,
    kind: PoolKind,
    rank: usize,
    keepdims: bool,
) -> Result<()> {
    model.add_layer_with(name, |input, _| {
        Ok(Box::new(GlobalPool::new(
            name, kind, rank, keepdims, input,
        )?))
    })
}
