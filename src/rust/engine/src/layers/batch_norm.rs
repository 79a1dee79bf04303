//! BatchNormalization over the last axis (keras's default `axis = -1`).
//!
//! Input and output `(batch_size, ..., channels)`. Weights, in keras's
//! order: `gamma` (when `scale`), `beta` (when `center`), then the
//! non-trainable `moving_mean` and `moving_variance`, all of shape
//! `(channels)`.
//!
//! In training, each channel is normalized with the mean and the biased
//! variance over the batch and all other axes:
//! `x_hat = (x - mean) / sqrt(var + epsilon)`, `y = gamma x_hat + beta`, and
//! after the pass the moving statistics become
//! `moving * momentum + batch * (1 - momentum)`, as in Keras 3. In inference
//! the moving statistics take the place of the batch statistics.
//!
//! Backward in training, with `N` values per channel:
//! `d beta = sum(dy)`, `d gamma = sum(dy x_hat)` and
//! `dx = gamma / (N sqrt(var + epsilon)) (N dy - sum(dy) - x_hat sum(dy x_hat))`.
//! In inference the statistics are constants, so `dx = gamma dy / sqrt(var + epsilon)`.
//! The moving statistics get a zero gradient.
//!
//! Scratch: `x_hat` of every sample, then (after the batch's values) the
//! mean, `1 / sqrt(var + epsilon)`, the variance, a training-mode flag and
//! one row of partial sums per chunk of samples. That is at most
//! `4 channels + 1` more floats than the samples, so `scratch_per_sample`
//! adds them to one sample's size.
//!
//! Sums are taken per fixed chunk of samples and the chunks combined in
//! order in f64, so results do not depend on the number of threads.

use crate::error::{format_batch_shape, Error, Result};
use crate::init::{rng_for, Initializer};
use crate::model::Model;

use super::chunks::{worth_parallel, Chunks};
use super::spec::InitializerSpec;
use super::{BackwardArgs, ForwardCtx, Layer, LayerSpec, Param};

/// Values per chunk of work.
const VALUES_PER_CHUNK: usize = 1 << 14;

/// Settings of a BatchNormalization layer, with keras's argument names.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormConfig {
    pub momentum: f32,
    pub epsilon: f32,
    pub center: bool,
    pub scale: bool,
}

#[derive(Debug)]
pub struct BatchNorm {
    name: String,
    shape: Vec<usize>,
    channels: usize,
    config: BatchNormConfig,
    params: Vec<Param>,
    /// Samples per chunk of work.
    chunk: usize,
    /// Initializers of gamma, beta, the moving mean and the moving
    /// variance, in that order, for the layer's spec.
    initializers: [InitializerSpec; 4],
}

/// Offsets of the per-batch values in the scratch, after `batch` samples.
struct Stats {
    mean: usize,
    inv_std: usize,
    variance: usize,
    flag: usize,
}

impl BatchNorm {
    /// Builds the layer for inputs of per-sample shape `input`, with gamma
    /// 1, beta 0, moving mean 0 and moving variance 1.
    pub fn new(name: &str, config: &BatchNormConfig, input: &[usize]) -> Result<BatchNorm> {
        if !(config.epsilon > 0.0 && config.epsilon.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (BatchNormalization): `epsilon` must be positive, got {}",
                config.epsilon
            )));
        }
        if !(0.0..=1.0).contains(&config.momentum) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\" (BatchNormalization): `momentum` must be in [0, 1], got {}",
                config.momentum
            )));
        }
        let channels = match input.last() {
            Some(&c) if c > 0 => c,
            _ => {
                return Err(Error::Shape(format!(
                "layer \"{name}\" (BatchNormalization) needs inputs with a channel axis, got {}",
                format_batch_shape(input)
            )))
            }
        };
        let weight = |name: &str, value: f32, trainable: bool| Param {
            name: name.into(),
            shape: vec![channels],
            value: vec![value; channels],
            trainable,
        };
        let mut params = Vec::new();
        if config.scale {
            params.push(weight("gamma", 1.0, true));
        }
        if config.center {
            params.push(weight("beta", 0.0, true));
        }
        params.push(weight("moving_mean", 0.0, false));
        params.push(weight("moving_variance", 1.0, false));
        let size: usize = input.iter().product();
        Ok(BatchNorm {
            name: name.to_string(),
            shape: input.to_vec(),
            channels,
            config: config.clone(),
            params,
            chunk: VALUES_PER_CHUNK.div_ceil(size).max(1),
            initializers: [
                Initializer::Ones,
                Initializer::Zeros,
                Initializer::Zeros,
                Initializer::Ones,
            ]
            .map(|initializer| InitializerSpec {
                initializer,
                seed: None,
            }),
        })
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }

    fn chunk_count(&self, batch: usize) -> usize {
        batch.div_ceil(self.chunk)
    }

    fn stats(&self, batch: usize) -> Stats {
        let c = self.channels;
        let mean = batch * self.size();
        Stats {
            mean,
            inv_std: mean + c,
            variance: mean + 2 * c,
            flag: mean + 3 * c,
        }
    }

    fn gamma(&self) -> Option<&[f32]> {
        self.config.scale.then(|| &self.params[0].value[..])
    }

    fn beta(&self) -> Option<&[f32]> {
        self.config
            .center
            .then(|| &self.params[self.config.scale as usize].value[..])
    }

    /// Index of `moving_mean` among the weights; `moving_variance` follows.
    fn moving_index(&self) -> usize {
        self.config.scale as usize + self.config.center as usize
    }

    /// Writes to `sums` the per-channel sums of `f(a, b, channel)` over the
    /// first `batch` samples of `a` and `b` (same layout): one row of
    /// `partials` per chunk, then the rows added in order in f64.
    fn channel_sums(
        &self,
        a: &[f32],
        b: &[f32],
        batch: usize,
        partials: &mut [f32],
        sums: &mut [f32],
        f: impl Fn(f32, f32, usize) -> f32 + Sync,
    ) {
        let c = self.channels;
        let chunks = self.chunk_count(batch);
        let size = self.size();
        Chunks::new(
            [&a[..batch * size], &b[..batch * size]],
            [self.chunk * size, self.chunk * size],
            [&mut partials[..chunks * c]],
            [c],
        )
        .for_each(chunks, worth_parallel(batch * size, chunks), &|_, chunk| {
            let [a, b] = chunk.read;
            let [row] = chunk.write;
            row.fill(0.0);
            for (a, b) in a.chunks_exact(c).zip(b.chunks_exact(c)) {
                for ch in 0..c {
                    row[ch] += f(a[ch], b[ch], ch);
                }
            }
        });
        for (ch, sum) in sums.iter_mut().enumerate() {
            let total: f64 = partials[..chunks * c]
                .chunks_exact(c)
                .map(|row| row[ch] as f64)
                .sum();
            *sum = total as f32;
        }
    }

    /// Computes `x_hat` into `normalized` and `y = gamma x_hat + beta`.
    fn normalize(
        &self,
        x: &[f32],
        batch: usize,
        mean: &[f32],
        inv_std: &[f32],
        y: &mut [f32],
        normalized: &mut [f32],
    ) {
        let (c, size) = (self.channels, self.size());
        let chunks = self.chunk_count(batch);
        let (gamma, beta) = (self.gamma(), self.beta());
        Chunks::new(
            [&x[..batch * size]],
            [self.chunk * size],
            [&mut y[..batch * size], &mut normalized[..batch * size]],
            [self.chunk * size, self.chunk * size],
        )
        .for_each(chunks, worth_parallel(batch * size, chunks), &|_, chunk| {
            let [x] = chunk.read;
            let [y, normalized] = chunk.write;
            for ((x, y), n) in x
                .chunks_exact(c)
                .zip(y.chunks_exact_mut(c))
                .zip(normalized.chunks_exact_mut(c))
            {
                for ch in 0..c {
                    let x_hat = (x[ch] - mean[ch]) * inv_std[ch];
                    n[ch] = x_hat;
                    let scaled = gamma.map_or(x_hat, |g| g[ch] * x_hat);
                    y[ch] = beta.map_or(scaled, |b| scaled + b[ch]);
                }
            }
        });
    }
}

impl Layer for BatchNorm {
    fn class_name(&self) -> &'static str {
        "BatchNormalization"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn params(&self) -> &[Param] {
        &self.params
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut self.params
    }
    fn scratch_per_sample(&self) -> usize {
        self.size() + 4 * self.channels + 1
    }
    fn workspace_len(&self, batch: usize) -> usize {
        (self.chunk_count(batch) + 2) * self.channels
    }
    fn spec(&self) -> Option<LayerSpec> {
        let [gamma, beta, moving_mean, moving_variance] = self.initializers.clone();
        Some(LayerSpec::BatchNormalization {
            config: self.config.clone(),
            gamma_initializer: gamma,
            beta_initializer: beta,
            moving_mean_initializer: moving_mean,
            moving_variance_initializer: moving_variance,
        })
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: &mut ForwardCtx,
    ) {
        let c = self.channels;
        let at = self.stats(batch);
        let (normalized, rest) = scratch.split_at_mut(at.mean);
        // rest: mean, inv_std, variance, flag, partials.
        let (stats, partials) = rest.split_at_mut(3 * c + 1);
        let (mean, stats) = stats.split_at_mut(c);
        let (inv_std, stats) = stats.split_at_mut(c);
        let (variance, flag) = stats.split_at_mut(c);
        let epsilon = self.config.epsilon as f64;
        if ctx.training {
            let count = (batch * self.size() / c) as f32;
            self.channel_sums(x, x, batch, partials, mean, |v, _, _| v);
            mean.iter_mut().for_each(|m| *m /= count);
            let batch_mean: &[f32] = mean;
            self.channel_sums(x, x, batch, partials, variance, |v, _, ch| {
                let d = v - batch_mean[ch];
                d * d
            });
            for ch in 0..c {
                variance[ch] /= count;
                inv_std[ch] = (1.0 / (variance[ch] as f64 + epsilon).sqrt()) as f32;
            }
            flag[0] = 1.0;
        } else {
            let m = self.moving_index();
            mean.copy_from_slice(&self.params[m].value);
            for (ch, v) in self.params[m + 1].value.iter().enumerate() {
                variance[ch] = *v;
                inv_std[ch] = (1.0 / (*v as f64 + epsilon).sqrt()) as f32;
            }
            flag[0] = 0.0;
        }
        self.normalize(x, batch, mean, inv_std, y, normalized);
    }

    fn update_state(&mut self, scratch: &[f32], batch: usize) {
        let at = self.stats(batch);
        if scratch[at.flag] != 1.0 {
            return;
        }
        let c = self.channels;
        let momentum = self.config.momentum;
        let m = self.moving_index();
        for (moving, batch_value) in [(m, at.mean), (m + 1, at.variance)] {
            let current = &scratch[batch_value..batch_value + c];
            for (value, &b) in self.params[moving].value.iter_mut().zip(current) {
                *value = *value * momentum + b * (1.0 - momentum);
            }
        }
    }

    fn backward(&self, args: BackwardArgs) {
        let mut workspace = vec![0.0; self.workspace_len(args.batch)];
        self.backward_in(args, &mut workspace);
    }

    fn backward_in(&self, args: BackwardArgs, workspace: &mut [f32]) {
        let batch = args.batch;
        let (c, size) = (self.channels, self.size());
        let at = self.stats(batch);
        let normalized = &args.scratch[..at.mean];
        let inv_std = &args.scratch[at.inv_std..at.inv_std + c];
        let training = args.scratch[at.flag] == 1.0;
        let dy = &args.dy[..batch * size];

        let chunks = self.chunk_count(batch);
        let (partials, sums) = workspace.split_at_mut(chunks * c);
        let (sum_dy, sums) = sums.split_at_mut(c);
        let sum_dy_x_hat = &mut sums[..c];
        self.channel_sums(dy, dy, batch, partials, sum_dy, |d, _, _| d);
        self.channel_sums(dy, normalized, batch, partials, sum_dy_x_hat, |d, n, _| {
            d * n
        });

        let mut index = 0;
        if self.config.scale {
            args.grads[index].copy_from_slice(sum_dy_x_hat);
            index += 1;
        }
        if self.config.center {
            args.grads[index].copy_from_slice(sum_dy);
            index += 1;
        }
        for g in &mut args.grads[index..] {
            g.fill(0.0);
        }

        let Some(dx) = args.dx else {
            return;
        };
        let gamma = self.gamma();
        // From here on the sums are means over the N values of a channel.
        let count = (batch * size / c) as f32;
        sum_dy.iter_mut().for_each(|s| *s /= count);
        sum_dy_x_hat.iter_mut().for_each(|s| *s /= count);
        let (mean_dy, mean_dy_x_hat): (&[f32], &[f32]) = (sum_dy, sum_dy_x_hat);
        Chunks::new(
            [dy, normalized],
            [self.chunk * size, self.chunk * size],
            [&mut dx[..batch * size]],
            [self.chunk * size],
        )
        .for_each(chunks, worth_parallel(batch * size, chunks), &|_, chunk| {
            let [dy, normalized] = chunk.read;
            let [dx] = chunk.write;
            for ((d, n), out) in dy
                .chunks_exact(c)
                .zip(normalized.chunks_exact(c))
                .zip(dx.chunks_exact_mut(c))
            {
                for ch in 0..c {
                    let scale = gamma.map_or(1.0, |g| g[ch]) * inv_std[ch];
                    out[ch] = if training {
                        scale * (d[ch] - mean_dy[ch] - n[ch] * mean_dy_x_hat[ch])
                    } else {
                        scale * d[ch]
                    };
                }
            }
        });
    }
}

/// Initializers of the four weights, each with an optional seed.
pub struct BatchNormInitializers {
    pub gamma: (Initializer, Option<u64>),
    pub beta: (Initializer, Option<u64>),
    pub moving_mean: (Initializer, Option<u64>),
    pub moving_variance: (Initializer, Option<u64>),
}

/// Appends a BatchNormalization layer to `model`.
pub fn add_batch_norm(
    model: &mut Model,
    name: &str,
    config: &BatchNormConfig,
    initializers: &BatchNormInitializers,
) -> Result<()> {
    model.add_layer_with(name, |input, rng| {
        let mut layer = BatchNorm::new(name, config, input)?;
        layer.initializers = [
            &initializers.gamma,
            &initializers.beta,
            &initializers.moving_mean,
            &initializers.moving_variance,
        ]
        .map(InitializerSpec::from);
        let shape = [layer.channels];
        let mut inits = Vec::new();
        if config.scale {
            inits.push(&initializers.gamma);
        }
        if config.center {
            inits.push(&initializers.beta);
        }
        inits.push(&initializers.moving_mean);
        inits.push(&initializers.moving_variance);
        for (param, (init, seed)) in layer.params.iter_mut().zip(inits) {
            param.value = init.sample(&shape, &mut rng_for(*seed, rng));
        }
        Ok(Box::new(layer))
    })
}
