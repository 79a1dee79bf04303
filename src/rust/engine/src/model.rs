//! A model: a chain of layers compiled into a static execution plan.
//!
//! Sequential models are a chain, so the plan is the layer order. Each
//! layer output, its gradient and the layer's scratch get one buffer sized
//! for the largest batch, and smaller batches use a prefix of it. After the plan
//! is built a training step allocates nothing.

use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::activations::Activation;
use crate::error::{format_batch_shape, Error, Result};
use crate::init::{rng_for, Initializer};
use crate::layers::noise::{Identity, Noise, NoiseKind};
use crate::layers::spec::InitializerSpec;
use crate::layers::{
    ActivationLayer, BackwardArgs, Dense, Dropout, ForwardCtx, Layer, Param, Reshape,
};
use crate::losses::Loss;
use crate::metrics::Metric;
use crate::optim::Optimizer;
use crate::regularizers::Regularizer;

/// The loss, metrics and optimizer set by `compile()`.
#[derive(Debug, Clone)]
pub struct Compiled {
    pub loss: Loss,
    pub metrics: Vec<Metric>,
    pub optimizer: Optimizer,
}

/// Buffers of the execution plan for batches of up to `capacity` samples.
#[derive(Debug, Default)]
pub struct Plan {
    pub capacity: usize,
    pub with_gradients: bool,
    pub input: Vec<f32>,
    pub target: Vec<f32>,
    pub outputs: Vec<Vec<f32>>,
    pub scratch: Vec<Vec<f32>>,
    pub output_grads: Vec<Vec<f32>>,
    /// One gradient buffer per parameter, per layer.
    pub param_grads: Vec<Vec<Vec<f32>>>,
    pub per_sample_loss: Vec<f32>,
    /// Working memory of each layer (see `Layer::workspace_len`).
    pub workspace: Vec<Vec<f32>>,
    /// Weight of each sample of the batch; empty when training is unweighted.
    pub sample_weight: Vec<f32>,
}

#[derive(Debug)]
pub struct Model {
    pub name: String,
    input_shape: Vec<usize>,
    layers: Vec<Box<dyn Layer>>,
    /// Draws initial weights.
    rng: StdRng,
    /// Seed of the training generators. Each epoch draws its shuffle and
    /// dropout masks from a generator seeded by this value and the optimizer's
    /// step count, so resuming from a saved model repeats the same epochs.
    pub train_seed: u64,
    pub compiled: Option<Compiled>,
    plan: Plan,
    /// Weight regularizers: (layer index, parameter index, regularizer).
    weight_regularizers: Vec<(usize, usize, Regularizer)>,
    /// Activity regularizers on layer outputs: (layer index, regularizer).
    activity_regularizers: Vec<(usize, Regularizer)>,
}

/// Per-sample size of a shape.
pub fn size_of(shape: &[usize]) -> usize {
    shape.iter().product()
}

impl Model {
    /// Creates an empty Sequential model for samples of `input_shape`.
    pub fn new(name: &str, input_shape: Vec<usize>, seed: u64) -> Result<Model> {
        if input_shape.is_empty() || input_shape.contains(&0) {
            return Err(Error::InvalidArgument(format!(
                "`input_shape` must be positive integers, got {input_shape:?}"
            )));
        }
        Ok(Model {
            name: name.to_string(),
            input_shape,
            layers: Vec::new(),
            rng: StdRng::seed_from_u64(seed),
            train_seed: seed ^ 0x9E37_79B9_7F4A_7C15,
            compiled: None,
            plan: Plan::default(),
            weight_regularizers: Vec::new(),
            activity_regularizers: Vec::new(),
        })
    }

    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Per-sample shape of the model output (the input shape with no layers).
    pub fn output_shape(&self) -> &[usize] {
        self.layers
            .last()
            .map(|l| l.output_shape())
            .unwrap_or(&self.input_shape)
    }

    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    pub fn layers_mut(&mut self) -> &mut [Box<dyn Layer>] {
        &mut self.layers
    }

    fn check_name(&self, name: &str) -> Result<()> {
        if self.layers.iter().any(|l| l.name() == name) {
            return Err(Error::InvalidArgument(format!(
                "the model already has a layer named \"{name}\"; layer names must be unique within a model"
            )));
        }
        Ok(())
    }

    fn push(&mut self, layer: Box<dyn Layer>) {
        self.layers.push(layer);
        // Shapes changed: rebuild buffers and optimizer state on next use.
        self.plan = Plan::default();
        if let Some(c) = self.compiled.as_mut() {
            c.optimizer.build(&[]);
        }
    }

    /// Appends a Dense layer with weights drawn from the initializers.
    #[allow(clippy::too_many_arguments)]
    pub fn add_dense(
        &mut self,
        name: &str,
        units: usize,
        activation: Activation,
        use_bias: bool,
        kernel_init: &Initializer,
        kernel_seed: Option<u64>,
        bias_init: &Initializer,
        bias_seed: Option<u64>,
    ) -> Result<()> {
        self.check_name(name)?;
        if units == 0 {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\": `units` must be a positive integer, got 0"
            )));
        }
        let input = self.output_shape().to_vec();
        let input_dim = *input.last().unwrap_or(&1);
        crate::memory::check_f32s(
            input_dim as f64 * units as f64 + units as f64,
            &format!("the weights of layer \"{name}\""),
        )?;
        let kernel = kernel_init.sample(
            &[input_dim, units],
            &mut rng_for(kernel_seed, &mut self.rng),
        );
        let bias =
            use_bias.then(|| bias_init.sample(&[units], &mut rng_for(bias_seed, &mut self.rng)));
        let initializers = (
            InitializerSpec {
                initializer: kernel_init.clone(),
                seed: kernel_seed,
            },
            InitializerSpec {
                initializer: bias_init.clone(),
                seed: bias_seed,
            },
        );
        self.push(Box::new(
            Dense::new(name, &input, units, activation, kernel, bias)
                .with_initializers(initializers.0, initializers.1),
        ));
        Ok(())
    }

    pub fn add_activation(&mut self, name: &str, activation: Activation) -> Result<()> {
        self.check_name(name)?;
        let input = self.output_shape().to_vec();
        self.push(Box::new(ActivationLayer::new(name, &input, activation)));
        Ok(())
    }

    pub fn add_dropout(&mut self, name: &str, rate: f32, seed: Option<u64>) -> Result<()> {
        self.check_name(name)?;
        if !(0.0..1.0).contains(&rate) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\": `rate` must be in [0, 1), got {rate}"
            )));
        }
        let input = self.output_shape().to_vec();
        self.push(Box::new(Dropout::new(name, &input, rate, seed)));
        Ok(())
    }

    /// Appends a GaussianNoise, GaussianDropout or AlphaDropout layer.
    pub fn add_noise(&mut self, name: &str, kind: NoiseKind, seed: Option<u64>) -> Result<()> {
        self.check_name(name)?;
        let bad = match kind {
            NoiseKind::Gaussian { stddev } => !(stddev >= 0.0 && stddev.is_finite()),
            NoiseKind::GaussianDropout { rate } | NoiseKind::AlphaDropout { rate } => {
                !(0.0..1.0).contains(&rate)
            }
        };
        if bad {
            return Err(Error::InvalidArgument(format!(
                "layer \"{name}\": invalid noise parameter {kind:?}"
            )));
        }
        let input = self.output_shape().to_vec();
        self.push(Box::new(Noise::new(name, &input, kind, seed)));
        Ok(())
    }

    /// Appends an ActivityRegularization layer: the identity plus an L1/L2
    /// penalty on its output.
    pub fn add_activity_regularization(&mut self, name: &str, reg: Regularizer) -> Result<()> {
        self.check_name(name)?;
        let input = self.output_shape().to_vec();
        self.push(Box::new(Identity::new(
            name,
            "ActivityRegularization",
            &input,
        )));
        self.set_activity_regularizer(name, reg)
    }

    pub fn add_flatten(&mut self, name: &str) -> Result<()> {
        self.check_name(name)?;
        let size = size_of(self.output_shape());
        self.push(Box::new(Reshape::new(name, vec![size], true)));
        Ok(())
    }

    /// Appends a Reshape layer; one entry of `target` may be -1 (inferred).
    pub fn add_reshape(&mut self, name: &str, target: &[i64]) -> Result<()> {
        self.check_name(name)?;
        let input = self.output_shape().to_vec();
        let size = size_of(&input);
        let shape = resolve_reshape(name, &input, target)?;
        if size_of(&shape) != size {
            return Err(Error::Shape(format!(
                "layer \"{name}\": cannot reshape input of shape {} ({size} values per sample) to {}",
                format_batch_shape(&input),
                format_batch_shape(&shape)
            )));
        }
        self.push(Box::new(Reshape::new(name, shape, false)));
        Ok(())
    }

    /// Appends the layer that `build` makes from the per-sample input shape
    /// and the model's weight generator, after checking the name. Layer
    /// families defined outside this file add their layers this way.
    pub fn add_layer_with(
        &mut self,
        name: &str,
        build: impl FnOnce(&[usize], &mut StdRng) -> Result<Box<dyn Layer>>,
    ) -> Result<()> {
        self.check_name(name)?;
        let input = self.output_shape().to_vec();
        let layer = build(&input, &mut self.rng)?;
        self.push(layer);
        Ok(())
    }

    /// Removes the last layer (keras's `pop()`).
    pub fn pop(&mut self) -> Result<()> {
        if self.layers.pop().is_none() {
            return Err(Error::State("the model has no layers to remove".into()));
        }
        let removed = self.layers.len();
        self.weight_regularizers.retain(|(l, _, _)| *l != removed);
        self.activity_regularizers.retain(|(l, _)| *l != removed);
        self.plan = Plan::default();
        if let Some(c) = self.compiled.as_mut() {
            c.optimizer.build(&[]);
        }
        Ok(())
    }

    /// Returns the generator of the training epoch that starts after
    /// `iterations` optimizer steps.
    pub fn epoch_rng(&self, iterations: u64) -> StdRng {
        // SplitMix64's finaliser spreads the two inputs over all 64 bits.
        let mut z = self.train_seed ^ iterations.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        StdRng::seed_from_u64(z ^ (z >> 31))
    }

    /// Returns the optimizer's step count (0 before training or compiling).
    pub fn iterations(&self) -> u64 {
        self.compiled
            .as_ref()
            .map(|c| c.optimizer.iterations)
            .unwrap_or(0)
    }

    /// Counts (trainable, non-trainable) weights.
    pub fn count_params(&self) -> (usize, usize) {
        let mut trainable = 0;
        let mut frozen = 0;
        for p in self.layers.iter().flat_map(|l| l.params()) {
            if p.trainable {
                trainable += p.value.len();
            } else {
                frozen += p.value.len();
            }
        }
        (trainable, frozen)
    }

    /// Returns all weights in keras's `get_weights()` order.
    pub fn weights(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    /// Replaces all weights, in `get_weights()` order, after checking every shape.
    pub fn set_weights(&mut self, values: Vec<(Vec<usize>, Vec<f32>)>) -> Result<()> {
        let expected: Vec<(String, Vec<usize>)> = self
            .layers
            .iter()
            .flat_map(|l| {
                l.params()
                    .iter()
                    .map(move |p| (format!("{}/{}", l.name(), p.name), p.shape.clone()))
            })
            .collect();
        if values.len() != expected.len() {
            return Err(Error::Shape(format!(
                "`weights` has {} arrays but the model has {} weights",
                values.len(),
                expected.len()
            )));
        }
        for (i, ((name, shape), (got, _))) in expected.iter().zip(&values).enumerate() {
            if shape != got {
                return Err(Error::Shape(format!(
                    "weight {} ({name}) must have shape ({}), got ({})",
                    i + 1,
                    join(shape),
                    join(got)
                )));
            }
        }
        let mut it = values.into_iter();
        for layer in self.layers.iter_mut() {
            for p in layer.params_mut() {
                if let Some((_, v)) = it.next() {
                    p.value = v;
                }
            }
        }
        Ok(())
    }

    /// True when the loss is computed from the output layer's logits.
    pub fn fused_output(&self) -> bool {
        // An activity penalty on the output needs the gradient with respect to
        // the activation's output, which the fused loss skips.
        let last = self.layers.len().wrapping_sub(1);
        if self.activity_regularizers.iter().any(|(l, _)| *l == last) {
            return false;
        }
        match (&self.compiled, self.layers.last()) {
            (Some(c), Some(last)) => c.loss.fuses_with(last.output_activation()),
            _ => false,
        }
    }

    /// Makes sure the plan has buffers for `batch` samples (and gradients
    /// when `with_gradients`). Buffers only grow.
    /// Checks that the buffers of a plan for `batch` samples fit in memory.
    pub fn check_plan_memory(&self, batch: usize, with_gradients: bool) -> Result<()> {
        let per_sample: f64 = size_of(&self.input_shape) as f64
            + self
                .layers
                .iter()
                .map(|l| {
                    let out = size_of(l.output_shape()) as f64;
                    out * if with_gradients { 2.0 } else { 1.0 } + l.scratch_per_sample() as f64
                })
                .sum::<f64>();
        let params: f64 = self
            .layers
            .iter()
            .flat_map(|l| l.params())
            .map(|p| p.value.len() as f64)
            .sum();
        let total = batch as f64 * per_sample + if with_gradients { params } else { 0.0 };
        crate::memory::check_f32s(total, &format!("a batch of {batch} samples"))
    }

    pub fn ensure_plan(&mut self, batch: usize, with_gradients: bool, target_width: usize) {
        let plan = &mut self.plan;
        let grow = batch > plan.capacity
            || (with_gradients && !plan.with_gradients)
            || plan.outputs.len() != self.layers.len()
            || plan.target.len() < plan.capacity.max(batch) * target_width;
        if !grow {
            return;
        }
        let capacity = batch.max(plan.capacity);
        let gradients = with_gradients || plan.with_gradients;
        let in_size = size_of(&self.input_shape);
        plan.capacity = capacity;
        plan.with_gradients = gradients;
        plan.input = vec![0.0; capacity * in_size];
        plan.target = vec![0.0; capacity * target_width];
        plan.outputs = self
            .layers
            .iter()
            .map(|l| vec![0.0; capacity * size_of(l.output_shape())])
            .collect();
        plan.scratch = self
            .layers
            .iter()
            .map(|l| vec![0.0; capacity * l.scratch_per_sample()])
            .collect();
        plan.workspace = self
            .layers
            .iter()
            .map(|l| vec![0.0; l.workspace_len(capacity)])
            .collect();
        plan.per_sample_loss = vec![0.0; capacity];
        if gradients {
            plan.output_grads = plan.outputs.iter().map(|o| vec![0.0; o.len()]).collect();
            plan.param_grads = self
                .layers
                .iter()
                .map(|l| {
                    l.params()
                        .iter()
                        .map(|p| vec![0.0; p.value.len()])
                        .collect()
                })
                .collect();
        }
    }

    pub fn plan_mut(&mut self) -> &mut Plan {
        &mut self.plan
    }

    /// Runs the forward pass on the first `batch` samples of the plan's input.
    pub fn forward(&mut self, batch: usize, training: bool, rng: &mut StdRng) {
        let plan = &mut self.plan;
        let mut ctx = ForwardCtx { training, rng };
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let (before, after) = plan.outputs.split_at_mut(i);
            let x: &[f32] = if i == 0 { &plan.input } else { &before[i - 1] };
            layer.forward(x, batch, &mut after[0], &mut plan.scratch[i], &mut ctx);
            if training {
                layer.update_state(&plan.scratch[i], batch);
            }
        }
    }

    /// Returns the model output of the last forward pass: `batch x width` values.
    pub fn output(&self, batch: usize) -> &[f32] {
        let width = size_of(self.output_shape());
        match self.plan.outputs.last() {
            Some(o) => &o[..batch * width],
            None => &self.plan.input[..batch * width],
        }
    }

    /// Returns the logits of the output layer, for a fused loss.
    pub fn output_logits(&self, batch: usize) -> &[f32] {
        let n = self.layers.len();
        let width = size_of(self.output_shape());
        let last = &self.layers[n - 1];
        let x: &[f32] = if n == 1 {
            &self.plan.input
        } else {
            &self.plan.outputs[n - 2]
        };
        &last.logits(x, &self.plan.scratch[n - 1])[..batch * width]
    }

    /// Backward pass from the gradient already stored in the last output
    /// gradient buffer; fills every parameter gradient.
    pub fn backward(&mut self, batch: usize, fused: bool) {
        let plan = &mut self.plan;
        let n = self.layers.len();
        for i in (0..n).rev() {
            let layer = &self.layers[i];
            let (grads_before, grads_after) = plan.output_grads.split_at_mut(i);
            let dy = &mut grads_after[0];
            for &(_, reg) in self.activity_regularizers.iter().filter(|(l, _)| *l == i) {
                let size = batch * size_of(layer.output_shape());
                reg.add_gradient(
                    &plan.outputs[i][..size],
                    &mut dy[..size],
                    1.0 / batch as f32,
                );
            }
            let dx = if i > 0 {
                Some(&mut grads_before[i - 1][..])
            } else {
                None
            };
            let x: &[f32] = if i == 0 {
                &plan.input
            } else {
                &plan.outputs[i - 1]
            };
            layer.backward_in(
                BackwardArgs {
                    batch,
                    x,
                    y: &plan.outputs[i],
                    scratch: &plan.scratch[i],
                    dy,
                    dy_is_preactivation: fused && i == n - 1,
                    dx,
                    grads: &mut plan.param_grads[i],
                },
                &mut plan.workspace[i],
            );
        }
    }

    fn layer_index(&self, layer: &str) -> Result<usize> {
        self.layers
            .iter()
            .position(|l| l.name() == layer)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("the model has no layer named \"{layer}\""))
            })
    }

    /// Adds an L1/L2 penalty on weight `param` (e.g. `kernel`) of `layer`.
    pub fn set_weight_regularizer(
        &mut self,
        layer: &str,
        param: &str,
        reg: Regularizer,
    ) -> Result<()> {
        let l = self.layer_index(layer)?;
        let p = self.layers[l]
            .params()
            .iter()
            .position(|p| p.name == param)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("layer \"{layer}\" has no weight named \"{param}\""))
            })?;
        self.weight_regularizers
            .retain(|(a, b, _)| !(*a == l && *b == p));
        self.weight_regularizers.push((l, p, reg));
        Ok(())
    }

    /// Adds an L1/L2 penalty on the output of `layer`.
    pub fn set_activity_regularizer(&mut self, layer: &str, reg: Regularizer) -> Result<()> {
        let l = self.layer_index(layer)?;
        self.activity_regularizers.retain(|(a, _)| *a != l);
        self.activity_regularizers.push((l, reg));
        Ok(())
    }

    /// Returns the penalty on weight `param` of layer `layer` (by index), if any.
    pub fn weight_regularizer(&self, layer: usize, param: usize) -> Option<Regularizer> {
        self.weight_regularizers
            .iter()
            .find(|(l, p, _)| *l == layer && *p == param)
            .map(|(_, _, r)| *r)
    }

    /// Returns the penalty on the output of layer `layer` (by index), if any.
    pub fn activity_regularizer(&self, layer: usize) -> Option<Regularizer> {
        self.activity_regularizers
            .iter()
            .find(|(l, _)| *l == layer)
            .map(|(_, r)| *r)
    }

    /// Returns the regularization penalty of the current weights and of the
    /// layer outputs of the last forward pass over `batch` samples.
    pub fn regularization_penalty(&self, batch: usize) -> f64 {
        let mut total = 0.0;
        for &(l, p, reg) in &self.weight_regularizers {
            let param = &self.layers[l].params()[p];
            if param.trainable {
                total += reg.penalty(&param.value);
            }
        }
        for &(l, reg) in &self.activity_regularizers {
            let size = batch * size_of(self.layers[l].output_shape());
            total += reg.penalty(&self.plan.outputs[l][..size]) / batch as f64;
        }
        total
    }

    /// Computes the loss and updates the metrics for the last forward pass
    /// over `batch` samples, with targets in the plan's target buffer. With
    /// `with_gradient`, also writes the gradient of the batch loss into the
    /// last output-gradient buffer (with respect to the logits when the loss
    /// is fused with the output activation). Returns the sum of per-sample
    /// losses, or 0 for a model that is not compiled.
    pub fn loss_and_metrics(&mut self, batch: usize, with_gradient: bool) -> f64 {
        let fused = self.fused_output();
        let width = size_of(self.output_shape());
        let n = self.layers.len();
        let Some(compiled) = self.compiled.as_mut() else {
            return 0.0;
        };
        let y_width = if compiled.loss.is_sparse() { 1 } else { width };
        let plan = &mut self.plan;
        let output: &[f32] = if n == 0 {
            &plan.input
        } else {
            &plan.outputs[n - 1]
        };
        let pred: &[f32] = if fused {
            let x: &[f32] = if n == 1 {
                &plan.input
            } else {
                &plan.outputs[n - 2]
            };
            self.layers[n - 1].logits(x, &plan.scratch[n - 1])
        } else {
            output
        };
        let target = &plan.target[..batch * y_width];
        let grad = if with_gradient {
            plan.output_grads
                .last_mut()
                .map(|g| &mut g[..batch * width])
        } else {
            None
        };
        let losses = &mut plan.per_sample_loss[..batch];
        let weights = if plan.sample_weight.is_empty() {
            None
        } else {
            Some(&plan.sample_weight[..batch])
        };
        let mut grad = grad;
        compiled.loss.compute(
            target,
            &pred[..batch * width],
            batch,
            width,
            fused,
            losses,
            grad.as_deref_mut(),
        );
        if let Some(w) = weights {
            // keras: loss = sum(w_i l_i) / batch, so each sample's loss and
            // gradient scale by its weight.
            for (s, &ws) in w.iter().enumerate() {
                losses[s] *= ws;
                if let Some(g) = grad.as_deref_mut() {
                    g[s * width..(s + 1) * width]
                        .iter_mut()
                        .for_each(|v| *v *= ws);
                }
            }
        }
        for m in compiled.metrics.iter_mut() {
            let tw = if m.kind.is_sparse() { 1 } else { y_width };
            // keras weights only `weighted_metrics`; `metrics` ignore sample weights.
            let w = if m.weighted { weights } else { None };
            m.update(target, &output[..batch * width], batch, width, tw, w);
        }
        losses.iter().map(|&v| v as f64).sum()
    }

    /// Applies the optimizer to every trainable parameter.
    pub fn apply_gradients(&mut self) -> Result<()> {
        let compiled = self
            .compiled
            .as_mut()
            .ok_or_else(|| Error::State("the model must be compiled before training".into()))?;
        let optimizer = &mut compiled.optimizer;
        if !optimizer.is_built() {
            let sizes: Vec<usize> = self
                .layers
                .iter()
                .flat_map(|l| l.params().iter().map(|p| p.value.len()))
                .collect();
            optimizer.build(&sizes);
        }
        for &(l, p, reg) in &self.weight_regularizers {
            let param = &self.layers[l].params()[p];
            reg.add_gradient(&param.value, &mut self.plan.param_grads[l][p], 1.0);
        }
        let mut items: Vec<(usize, &mut [f32], &mut [f32])> = Vec::new();
        let mut index = 0;
        for (layer, grads) in self.layers.iter_mut().zip(self.plan.param_grads.iter_mut()) {
            for (p, g) in layer.params_mut().iter_mut().zip(grads.iter_mut()) {
                if p.trainable {
                    items.push((index, &mut p.value[..], &mut g[..]));
                }
                index += 1;
            }
        }
        optimizer.apply(&mut items);
        Ok(())
    }
}

fn join(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn resolve_reshape(name: &str, input: &[usize], target: &[i64]) -> Result<Vec<usize>> {
    let size = size_of(input) as i64;
    let unknown: Vec<usize> = (0..target.len()).filter(|&i| target[i] == -1).collect();
    if unknown.len() > 1 || target.iter().any(|&d| d == 0 || d < -1) {
        return Err(Error::InvalidArgument(format!(
            "layer \"{name}\": `target_shape` must be positive integers with at most one -1, got {target:?}"
        )));
    }
    let known: i64 = target.iter().filter(|&&d| d != -1).product();
    let mut shape: Vec<usize> = target.iter().map(|&d| d.max(0) as usize).collect();
    if let Some(&i) = unknown.first() {
        if known == 0 || size % known != 0 {
            return Err(Error::Shape(format!(
                "layer \"{name}\": cannot reshape input of shape {} to {target:?}",
                format_batch_shape(input)
            )));
        }
        shape[i] = (size / known) as usize;
    }
    Ok(shape)
}
