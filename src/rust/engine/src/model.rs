//! A model: a graph of layer calls compiled into a static execution plan.
//!
//! A model contains its layers and the nodes that call them: each node applies
//! one layer to the model inputs or to earlier nodes' outputs, so the node
//! order is a topological order. A Sequential model is a chain with one node
//! per layer; the functional API builds any DAG, where one layer may be
//! called by several nodes (shared weights) and a node may feed several
//! others. Each node output, its gradient and the node's scratch get one
//! buffer sized for the largest batch, and smaller batches use a prefix of
//! it. After the plan is built a training step of a chain allocates nothing.

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

/// The loss and metrics of a model output after the first; the first
/// output's are in [`Compiled`].
#[derive(Debug, Clone)]
pub struct Head {
    pub loss: Loss,
    pub metrics: Vec<Metric>,
}

/// The source of a node input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Src {
    /// Model input `k`.
    Input(usize),
    /// The output of node `i`.
    Node(usize),
}

/// One call of a layer.
#[derive(Debug, Clone)]
pub struct Node {
    /// Index of the layer in [`Model::layers`].
    pub layer: usize,
    pub inputs: Vec<Src>,
}

/// Buffers of the execution plan for batches of up to `capacity` samples.
#[derive(Debug, Default)]
pub struct Plan {
    pub capacity: usize,
    pub with_gradients: bool,
    /// Model input 0; `extra_inputs[k - 1]` contains input `k`.
    pub input: Vec<f32>,
    pub extra_inputs: Vec<Vec<f32>>,
    /// Targets of output 0; `extra_targets[h - 1]` those of output `h`.
    pub target: Vec<f32>,
    pub extra_targets: Vec<Vec<f32>>,
    /// Output, scratch and output gradient of each node.
    pub outputs: Vec<Vec<f32>>,
    pub scratch: Vec<Vec<f32>>,
    pub output_grads: Vec<Vec<f32>>,
    /// One gradient buffer per parameter, per layer.
    pub param_grads: Vec<Vec<Vec<f32>>>,
    /// Parameter gradients of a second call of a shared layer, added to
    /// `param_grads`; empty for layers called once.
    pub shared_param_grads: Vec<Vec<Vec<f32>>>,
    /// Input gradients of a tensor that already has a gradient from another
    /// consumer, added to it afterwards.
    pub spare_grads: Vec<Vec<f32>>,
    /// Per backward pass: which node gradients and layer parameter
    /// gradients have been written.
    grad_written: Vec<bool>,
    param_written: Vec<bool>,
    /// Per node of the backward pass: where each input's gradient goes
    /// (kept here so that the pass does not allocate).
    grad_targets: Vec<(Src, Option<Vec<f32>>, bool)>,
    fused_nodes: Vec<bool>,
    pub per_sample_loss: Vec<f32>,
    /// Working memory of each layer (see `Layer::workspace_len`).
    pub workspace: Vec<Vec<f32>>,
    /// Weight of each sample of the batch; empty when training is unweighted.
    pub sample_weight: Vec<f32>,
}

#[derive(Debug)]
pub struct Model {
    pub name: String,
    /// Per-sample shape and name of each model input.
    input_shapes: Vec<Vec<usize>>,
    input_names: Vec<String>,
    layers: Vec<Box<dyn Layer>>,
    /// Per-sample shapes of the inputs each layer was built for.
    layer_inputs: Vec<Vec<Vec<usize>>>,
    nodes: Vec<Node>,
    /// The model outputs; empty for a Sequential model, whose output is
    /// its last node.
    outputs: Vec<Src>,
    /// Inputs of the next layer added, set by [`Model::set_next_inputs`];
    /// `None` appends to the chain.
    next_inputs: Option<Vec<Src>>,
    /// Layers whose weights training leaves unchanged (`freeze_weights()`).
    frozen: Vec<bool>,
    /// Names given to the outputs (keras's dict outputs); empty to name
    /// each output after the layer that computes it.
    output_aliases: Vec<String>,
    /// Losses and metrics of outputs 1 and later.
    pub extra_heads: Vec<Head>,
    /// Weight of each output's loss in the total (keras's `loss_weights`).
    pub loss_weights: Vec<f32>,
    /// Sum of each output's weighted per-sample losses since the last
    /// metric reset, and the samples seen; for the `<output>_loss` logs.
    head_loss_totals: Vec<f64>,
    head_loss_seen: f64,
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

/// Merge layers with up to this many inputs run without allocating.
const MERGE_INLINE: usize = 8;

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
            input_shapes: vec![input_shape],
            input_names: vec!["input_layer".to_string()],
            layers: Vec::new(),
            layer_inputs: Vec::new(),
            nodes: Vec::new(),
            outputs: Vec::new(),
            next_inputs: None,
            frozen: Vec::new(),
            output_aliases: Vec::new(),
            extra_heads: Vec::new(),
            loss_weights: Vec::new(),
            head_loss_totals: Vec::new(),
            head_loss_seen: 0.0,
            rng: StdRng::seed_from_u64(seed),
            train_seed: seed ^ 0x9E37_79B9_7F4A_7C15,
            compiled: None,
            plan: Plan::default(),
            weight_regularizers: Vec::new(),
            activity_regularizers: Vec::new(),
        })
    }

    /// Creates an empty functional model with the given inputs. Layers are
    /// added after [`Model::set_next_inputs`] names their inputs, and
    /// [`Model::set_outputs`] closes the graph.
    pub fn new_graph(
        name: &str,
        input_shapes: Vec<Vec<usize>>,
        input_names: Vec<String>,
        seed: u64,
    ) -> Result<Model> {
        if input_shapes.is_empty() || input_shapes.len() != input_names.len() {
            return Err(Error::InvalidArgument(format!(
                "a model needs at least one input and one name per input, got {} shapes and {} names",
                input_shapes.len(),
                input_names.len()
            )));
        }
        let mut model = Model::new(name, input_shapes[0].clone(), seed)?;
        for shape in &input_shapes {
            if shape.is_empty() || shape.contains(&0) {
                return Err(Error::InvalidArgument(format!(
                    "input shapes must be positive integers, got {shape:?}"
                )));
            }
        }
        model.input_shapes = input_shapes;
        model.input_names = input_names;
        Ok(model)
    }

    /// Per-sample shape of input 0.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shapes[0]
    }

    pub fn input_shapes(&self) -> &[Vec<usize>] {
        &self.input_shapes
    }

    pub fn input_names(&self) -> &[String] {
        &self.input_names
    }

    /// True for a model built by the functional API (explicit outputs).
    pub fn is_graph(&self) -> bool {
        !self.outputs.is_empty()
    }

    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Returns the per-sample shape of a tensor of the graph.
    pub fn src_shape(&self, src: Src) -> &[usize] {
        match src {
            Src::Input(k) => &self.input_shapes[k],
            Src::Node(i) => self.layers[self.nodes[i].layer].output_shape(),
        }
    }

    /// Returns the last node of the chain, or input 0 for a model without layers.
    fn tail(&self) -> Src {
        match self.nodes.len() {
            0 => Src::Input(0),
            n => Src::Node(n - 1),
        }
    }

    /// Output `h` of the model.
    pub fn output_src(&self, h: usize) -> Src {
        if self.outputs.is_empty() {
            self.tail()
        } else {
            self.outputs[h]
        }
    }

    /// Returns the model outputs, in order.
    pub fn output_srcs(&self) -> Vec<Src> {
        if self.outputs.is_empty() {
            vec![self.tail()]
        } else {
            self.outputs.clone()
        }
    }

    /// Per-sample shape of output 0 (the input shape with no layers).
    pub fn output_shape(&self) -> &[usize] {
        match self.outputs.first() {
            Some(&src) => self.src_shape(src),
            None => self.src_shape(self.tail()),
        }
    }

    /// Per-sample shapes of all outputs.
    pub fn output_shapes(&self) -> Vec<Vec<usize>> {
        self.output_srcs()
            .into_iter()
            .map(|s| self.src_shape(s).to_vec())
            .collect()
    }

    /// Names the outputs, in order, in place of their layers' names.
    pub fn set_output_names(&mut self, names: Vec<String>) -> Result<()> {
        if names.len() != self.output_count() {
            return Err(Error::InvalidArgument(format!(
                "got {} output names for {} outputs",
                names.len(),
                self.output_count()
            )));
        }
        self.output_aliases = names;
        Ok(())
    }

    /// Name of each output: its given name, or the name of the layer that
    /// computes it.
    pub fn output_names(&self) -> Vec<String> {
        if !self.output_aliases.is_empty() {
            return self.output_aliases.clone();
        }
        self.output_srcs()
            .into_iter()
            .map(|s| match s {
                Src::Input(k) => self.input_names[k].clone(),
                Src::Node(i) => self.layers[self.nodes[i].layer].name().to_string(),
            })
            .collect()
    }

    fn check_src(&self, src: Src) -> Result<()> {
        let ok = match src {
            Src::Input(k) => k < self.input_shapes.len(),
            Src::Node(i) => i < self.nodes.len(),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "{src:?} does not exist in model \"{}\"",
                self.name
            )))
        }
    }

    /// Makes the next layer added take `inputs` instead of the end of the chain.
    pub fn set_next_inputs(&mut self, inputs: Vec<Src>) -> Result<()> {
        if inputs.is_empty() {
            return Err(Error::InvalidArgument(
                "a layer call needs at least one input".into(),
            ));
        }
        for &src in &inputs {
            self.check_src(src)?;
        }
        self.next_inputs = Some(inputs);
        Ok(())
    }

    /// Per-sample shape of the input of the next layer added.
    fn next_input_shape(&self) -> Vec<usize> {
        match &self.next_inputs {
            Some(inputs) => self.src_shape(inputs[0]).to_vec(),
            None => self.src_shape(self.tail()).to_vec(),
        }
    }

    /// Calls the existing layer `name` again on `inputs`: the new node
    /// shares the layer's weights. The inputs must have the shapes the
    /// layer was built for.
    pub fn call_layer(&mut self, name: &str, inputs: Vec<Src>) -> Result<()> {
        let l = self.layer_index(name)?;
        for &src in &inputs {
            self.check_src(src)?;
        }
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|&s| self.src_shape(s).to_vec()).collect();
        if shapes != self.layer_inputs[l] {
            return Err(Error::Shape(format!(
                "layer \"{name}\" was built for inputs of shape {} and cannot be called on inputs of shape {}",
                format_shapes(&self.layer_inputs[l]),
                format_shapes(&shapes)
            )));
        }
        self.nodes.push(Node { layer: l, inputs });
        self.next_inputs = None;
        self.invalidate();
        Ok(())
    }

    /// Sets the model outputs, which closes a functional graph. Every node
    /// must lead to an output and every input must be used.
    pub fn set_outputs(&mut self, outputs: Vec<Src>) -> Result<()> {
        if outputs.is_empty() {
            return Err(Error::InvalidArgument(
                "a model needs at least one output".into(),
            ));
        }
        for &src in &outputs {
            self.check_src(src)?;
        }
        for (i, a) in outputs.iter().enumerate() {
            if outputs[..i].contains(a) {
                return Err(Error::InvalidArgument(format!(
                    "output {} repeats output {}: each output must be a different tensor",
                    i + 1,
                    outputs[..i].iter().position(|b| b == a).unwrap_or(0) + 1
                )));
            }
        }
        let mut needed = vec![false; self.nodes.len()];
        let mut used_inputs = vec![false; self.input_shapes.len()];
        let mark = |src: Src, needed: &mut Vec<bool>, used: &mut Vec<bool>| match src {
            Src::Input(k) => used[k] = true,
            Src::Node(i) => needed[i] = true,
        };
        for &src in &outputs {
            mark(src, &mut needed, &mut used_inputs);
        }
        for j in (0..self.nodes.len()).rev() {
            if needed[j] {
                for &src in &self.nodes[j].inputs {
                    mark(src, &mut needed, &mut used_inputs);
                }
            }
        }
        if let Some(k) = used_inputs.iter().position(|u| !u) {
            return Err(Error::InvalidArgument(format!(
                "the outputs do not depend on input \"{}\"",
                self.input_names[k]
            )));
        }
        if let Some(j) = needed.iter().position(|n| !n) {
            return Err(Error::InvalidArgument(format!(
                "layer \"{}\" does not lead to any output",
                self.layers[self.nodes[j].layer].name()
            )));
        }
        self.outputs = outputs;
        self.invalidate();
        Ok(())
    }

    /// Freezes (or unfreezes) the weights of layer `name`.
    pub fn set_trainable(&mut self, name: &str, trainable: bool) -> Result<()> {
        let l = self.layer_index(name)?;
        self.frozen[l] = !trainable;
        Ok(())
    }

    pub fn is_trainable(&self, layer: usize) -> bool {
        !self.frozen[layer]
    }

    /// Number of nodes reading each tensor, model outputs counted once each.
    fn consumers(&self) -> (Vec<usize>, Vec<usize>) {
        let mut of_nodes = vec![0; self.nodes.len()];
        let mut of_inputs = vec![0; self.input_shapes.len()];
        for src in self
            .nodes
            .iter()
            .flat_map(|n| n.inputs.iter())
            .chain(self.output_srcs().iter())
        {
            match *src {
                Src::Input(k) => of_inputs[k] += 1,
                Src::Node(i) => of_nodes[i] += 1,
            }
        }
        (of_nodes, of_inputs)
    }

    /// Drops the plan and the optimizer state after the graph changed.
    fn invalidate(&mut self) {
        self.plan = Plan::default();
        if let Some(c) = self.compiled.as_mut() {
            c.optimizer.build(&[]);
        }
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
        let inputs = self.next_inputs.take().unwrap_or_else(|| vec![self.tail()]);
        let shapes = inputs.iter().map(|&s| self.src_shape(s).to_vec()).collect();
        self.nodes.push(Node {
            layer: self.layers.len(),
            inputs,
        });
        self.layers.push(layer);
        self.layer_inputs.push(shapes);
        self.frozen.push(false);
        // Shapes changed: rebuild buffers and optimizer state on next use.
        self.invalidate();
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
        let input = self.next_input_shape();
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
        let input = self.next_input_shape();
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
        let input = self.next_input_shape();
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
        let input = self.next_input_shape();
        self.push(Box::new(Noise::new(name, &input, kind, seed)));
        Ok(())
    }

    /// Appends an ActivityRegularization layer: the identity plus an L1/L2
    /// penalty on its output.
    pub fn add_activity_regularization(&mut self, name: &str, reg: Regularizer) -> Result<()> {
        self.check_name(name)?;
        let input = self.next_input_shape();
        self.push(Box::new(Identity::new(
            name,
            "ActivityRegularization",
            &input,
        )));
        self.set_activity_regularizer(name, reg)
    }

    pub fn add_flatten(&mut self, name: &str) -> Result<()> {
        self.check_name(name)?;
        let size = size_of(&self.next_input_shape());
        self.push(Box::new(Reshape::new(name, vec![size], true)));
        Ok(())
    }

    /// Appends a Reshape layer; one entry of `target` may be -1 (inferred).
    pub fn add_reshape(&mut self, name: &str, target: &[i64]) -> Result<()> {
        self.check_name(name)?;
        let input = self.next_input_shape();
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
        let input = self.next_input_shape();
        let layer = build(&input, &mut self.rng)?;
        self.push(layer);
        Ok(())
    }

    /// Appends a layer of several inputs (a merge such as Add or
    /// Concatenate) that `build` makes from the per-sample shapes of the
    /// inputs set by [`Model::set_next_inputs`].
    pub fn add_merge_with(
        &mut self,
        name: &str,
        build: impl FnOnce(&[Vec<usize>]) -> Result<Box<dyn Layer>>,
    ) -> Result<()> {
        self.check_name(name)?;
        let Some(inputs) = self.next_inputs.clone() else {
            return Err(Error::State(format!(
                "layer \"{name}\" merges several tensors, so it can only be called on a list of tensors in a functional model"
            )));
        };
        let shapes: Vec<Vec<usize>> = inputs.iter().map(|&s| self.src_shape(s).to_vec()).collect();
        let layer = build(&shapes)?;
        self.push(layer);
        Ok(())
    }

    /// Removes the last layer (keras's `pop()`) of a Sequential model.
    pub fn pop(&mut self) -> Result<()> {
        if self.is_graph() {
            return Err(Error::State(
                "only the last layer of a Sequential model can be removed".into(),
            ));
        }
        if self.layers.pop().is_none() {
            return Err(Error::State("the model has no layers to remove".into()));
        }
        self.nodes.pop();
        self.layer_inputs.pop();
        self.frozen.pop();
        let removed = self.layers.len();
        self.weight_regularizers.retain(|(l, _, _)| *l != removed);
        self.activity_regularizers.retain(|(l, _)| *l != removed);
        self.invalidate();
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

    /// True when training changes weight `p` of layer `l`.
    fn trains(&self, l: usize, p: &Param) -> bool {
        p.trainable && !self.frozen[l]
    }

    /// Counts (trainable, non-trainable) weights.
    pub fn count_params(&self) -> (usize, usize) {
        let mut trainable = 0;
        let mut frozen = 0;
        for (l, layer) in self.layers.iter().enumerate() {
            for p in layer.params() {
                if self.trains(l, p) {
                    trainable += p.value.len();
                } else {
                    frozen += p.value.len();
                }
            }
        }
        (trainable, frozen)
    }

    /// Counts the (trainable, non-trainable) weights of layer `l`.
    pub fn layer_param_counts(&self, l: usize) -> (usize, usize) {
        let mut counts = (0, 0);
        for p in self.layers[l].params() {
            if self.trains(l, p) {
                counts.0 += p.value.len();
            } else {
                counts.1 += p.value.len();
            }
        }
        counts
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

    /// Copies the weights of layer `name` from `other`, which must have a
    /// layer of that name with weights of the same shapes.
    pub fn copy_layer_weights(&mut self, other: &Model, name: &str) -> Result<()> {
        let to = self.layer_index(name)?;
        let from = other.layer_index(name)?;
        let src = other.layers[from].params();
        let dst = self.layers[to].params_mut();
        if src.len() != dst.len() || src.iter().zip(dst.iter()).any(|(a, b)| a.shape != b.shape) {
            return Err(Error::Shape(format!(
                "layer \"{name}\" has weights of other shapes in the two models"
            )));
        }
        for (d, s) in dst.iter_mut().zip(src) {
            d.value.copy_from_slice(&s.value);
        }
        Ok(())
    }

    /// Returns the loss of output `h`, if compiled.
    pub fn head_loss(&self, h: usize) -> Option<&Loss> {
        let c = self.compiled.as_ref()?;
        if h == 0 {
            Some(&c.loss)
        } else {
            self.extra_heads.get(h - 1).map(|x| &x.loss)
        }
    }

    /// True when the loss of output `h` is computed from the logits of the
    /// layer that computes it.
    pub fn fused_head(&self, h: usize) -> bool {
        let Some(loss) = self.head_loss(h) else {
            return false;
        };
        let Src::Node(j) = self.output_src(h) else {
            return false;
        };
        let l = self.nodes[j].layer;
        // An activity penalty, another consumer of the output and a layer
        // with several inputs all need the gradient with respect to the
        // activation's output, which the fused loss skips.
        if self.activity_regularizers.iter().any(|(a, _)| *a == l)
            || self.nodes[j].inputs.len() != 1
            || self.nodes.iter().any(|n| n.inputs.contains(&Src::Node(j)))
        {
            return false;
        }
        loss.fuses_with(self.layers[l].output_activation())
    }

    /// True when the loss of output 0 is computed from the output layer's logits.
    pub fn fused_output(&self) -> bool {
        !self.nodes.is_empty() && self.fused_head(0)
    }

    /// Number of model outputs.
    pub fn output_count(&self) -> usize {
        self.outputs.len().max(1)
    }

    /// Target values per sample of output `h`: 1 for a sparse loss, else
    /// the output's width.
    pub fn target_width(&self, h: usize) -> usize {
        let width = size_of(self.src_shape(self.output_src(h)));
        match self.head_loss(h) {
            Some(loss) if loss.is_sparse() => 1,
            _ => width,
        }
    }

    /// Checks that the buffers of a plan for `batch` samples fit in memory.
    pub fn check_plan_memory(&self, batch: usize, with_gradients: bool) -> Result<()> {
        let inputs: usize = self.input_shapes.iter().map(|s| size_of(s)).sum();
        let per_sample: f64 = inputs as f64
            + self
                .nodes
                .iter()
                .map(|n| {
                    let l = &self.layers[n.layer];
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

    /// Makes sure the plan has buffers for `batch` samples (and gradients
    /// when `with_gradients`), with `target_width` target values per sample
    /// of output 0. Buffers only grow.
    pub fn ensure_plan(&mut self, batch: usize, with_gradients: bool, target_width: usize) {
        let heads = self.output_count();
        let extra_widths: Vec<usize> = (1..heads).map(|h| self.target_width(h)).collect();
        let (of_nodes, _) = self.consumers();
        let plan = &mut self.plan;
        let grow = batch > plan.capacity
            || (with_gradients && !plan.with_gradients)
            || plan.outputs.len() != self.nodes.len()
            || plan.target.len() < plan.capacity.max(batch) * target_width
            || plan.extra_targets.len() != extra_widths.len();
        if !grow {
            return;
        }
        let capacity = batch.max(plan.capacity);
        let gradients = with_gradients || plan.with_gradients;
        plan.capacity = capacity;
        plan.with_gradients = gradients;
        plan.input = vec![0.0; capacity * size_of(&self.input_shapes[0])];
        plan.extra_inputs = self.input_shapes[1..]
            .iter()
            .map(|s| vec![0.0; capacity * size_of(s)])
            .collect();
        plan.target = vec![0.0; capacity * target_width];
        plan.extra_targets = extra_widths
            .iter()
            .map(|w| vec![0.0; capacity * w])
            .collect();
        let node_layers = || self.nodes.iter().map(|n| &self.layers[n.layer]);
        plan.outputs = node_layers()
            .map(|l| vec![0.0; capacity * size_of(l.output_shape())])
            .collect();
        plan.scratch = node_layers()
            .map(|l| vec![0.0; capacity * l.scratch_per_sample()])
            .collect();
        plan.workspace = node_layers()
            .map(|l| vec![0.0; l.workspace_len(capacity)])
            .collect();
        plan.per_sample_loss = vec![0.0; capacity];
        if gradients {
            plan.output_grads = plan.outputs.iter().map(|o| vec![0.0; o.len()]).collect();
            let grads_of = |l: &dyn Layer| -> Vec<Vec<f32>> {
                l.params()
                    .iter()
                    .map(|p| vec![0.0; p.value.len()])
                    .collect()
            };
            plan.param_grads = self.layers.iter().map(|l| grads_of(l.as_ref())).collect();
            let mut calls = vec![0usize; self.layers.len()];
            self.nodes.iter().for_each(|n| calls[n.layer] += 1);
            plan.shared_param_grads = self
                .layers
                .iter()
                .zip(&calls)
                .map(|(l, &c)| {
                    if c > 1 {
                        grads_of(l.as_ref())
                    } else {
                        Vec::new()
                    }
                })
                .collect();
            // A tensor read by several nodes gets its gradient from each of
            // them. All but the first go through a spare buffer, so a node
            // needs at most one spare buffer per input.
            let widest = (0..self.nodes.len())
                .filter(|&i| of_nodes[i] > 1)
                .map(|i| plan.outputs[i].len())
                .max()
                .unwrap_or(0);
            let max_inputs = self.nodes.iter().map(|n| n.inputs.len()).max().unwrap_or(1);
            plan.spare_grads = vec![vec![0.0; widest]; if widest > 0 { max_inputs } else { 0 }];
        }
    }

    pub fn plan_mut(&mut self) -> &mut Plan {
        &mut self.plan
    }

    /// Runs the forward pass on the first `batch` samples of the plan's inputs.
    pub fn forward(&mut self, batch: usize, training: bool, rng: &mut StdRng) {
        let Plan {
            input,
            extra_inputs,
            outputs,
            scratch,
            ..
        } = &mut self.plan;
        let mut ctx = ForwardCtx { training, rng };
        for (j, node) in self.nodes.iter().enumerate() {
            let layer = &mut self.layers[node.layer];
            let (before, after) = outputs.split_at_mut(j);
            let read = |src: Src| -> &[f32] {
                match src {
                    Src::Input(0) => input,
                    Src::Input(k) => &extra_inputs[k - 1],
                    Src::Node(i) => &before[i],
                }
            };
            if let Some(merge) = layer.as_merge() {
                if node.inputs.len() <= MERGE_INLINE {
                    let mut xs: [&[f32]; MERGE_INLINE] = [&[]; MERGE_INLINE];
                    for (x, &src) in xs.iter_mut().zip(&node.inputs) {
                        *x = read(src);
                    }
                    merge.forward_many(&xs[..node.inputs.len()], batch, &mut after[0]);
                } else {
                    let xs: Vec<&[f32]> = node.inputs.iter().map(|&s| read(s)).collect();
                    merge.forward_many(&xs, batch, &mut after[0]);
                }
            } else {
                let x = read(node.inputs[0]);
                layer.forward(x, batch, &mut after[0], &mut scratch[j], &mut ctx);
                if training {
                    layer.update_state(&scratch[j], batch);
                }
            }
        }
    }

    /// Returns the values of a tensor after the last forward pass.
    fn src_values(&self, src: Src) -> &[f32] {
        match src {
            Src::Input(0) => &self.plan.input,
            Src::Input(k) => &self.plan.extra_inputs[k - 1],
            Src::Node(i) => &self.plan.outputs[i],
        }
    }

    /// Returns output 0 of the last forward pass: `batch x width` values.
    pub fn output(&self, batch: usize) -> &[f32] {
        self.output_of(0, batch)
    }

    /// Returns output `h` of the last forward pass.
    pub fn output_of(&self, h: usize, batch: usize) -> &[f32] {
        let src = self.output_src(h);
        let width = size_of(self.src_shape(src));
        &self.src_values(src)[..batch * width]
    }

    /// Returns the logits of the output layer, for a fused loss.
    pub fn output_logits(&self, batch: usize) -> &[f32] {
        let width = size_of(self.output_shape());
        let Src::Node(j) = self.output_src(0) else {
            return self.output(batch);
        };
        let x = self.src_values(self.nodes[j].inputs[0]);
        &self.layers[self.nodes[j].layer].logits(x, &self.plan.scratch[j])[..batch * width]
    }

    /// Runs the backward pass from the gradients already stored in the
    /// output nodes' gradient buffers and fills every parameter gradient.
    /// `fused` is true when output 0's gradient is with respect to its logits.
    pub fn backward(&mut self, batch: usize, fused: bool) {
        let heads = self.output_count();
        // Output nodes whose loss gradient is with respect to their logits;
        // output 0 follows `fused`.
        let mut fused_nodes = std::mem::take(&mut self.plan.fused_nodes);
        fused_nodes.clear();
        fused_nodes.resize(self.nodes.len(), false);
        let n = self.nodes.len();
        self.plan.grad_written.clear();
        self.plan.grad_written.resize(n, false);
        for h in 0..heads {
            if let Src::Node(j) = self.output_src(h) {
                fused_nodes[j] = if h == 0 { fused } else { self.fused_head(h) };
                // The loss wrote the gradient of each output node.
                self.plan.grad_written[j] = true;
            }
        }
        let plan = &mut self.plan;
        plan.param_written.clear();
        plan.param_written.resize(self.layers.len(), false);
        let mut targets = std::mem::take(&mut plan.grad_targets);
        for j in (0..n).rev() {
            if !plan.grad_written[j] {
                continue;
            }
            let node = &self.nodes[j];
            let l = node.layer;
            let layer = &self.layers[l];
            let mut dy = std::mem::take(&mut plan.output_grads[j]);
            let out_size = batch * size_of(layer.output_shape());
            for &(_, reg) in self.activity_regularizers.iter().filter(|(a, _)| *a == l) {
                reg.add_gradient(
                    &plan.outputs[j][..out_size],
                    &mut dy[..out_size],
                    1.0 / batch as f32,
                );
            }
            // Where each input's gradient goes: straight into the tensor's
            // buffer when this is its first consumer, else a spare buffer.
            targets.clear();
            let mut spare = 0;
            for &src in &node.inputs {
                match src {
                    Src::Input(_) => targets.push((src, None, false)),
                    Src::Node(i) => {
                        if plan.grad_written[i] {
                            targets.push((
                                src,
                                Some(std::mem::take(&mut plan.spare_grads[spare])),
                                true,
                            ));
                            spare += 1;
                        } else {
                            plan.grad_written[i] = true;
                            targets.push((
                                src,
                                Some(std::mem::take(&mut plan.output_grads[i])),
                                false,
                            ));
                        }
                    }
                }
            }
            let shared = plan.param_written[l];
            plan.param_written[l] = true;
            let grads = if shared {
                &mut plan.shared_param_grads[l]
            } else {
                &mut plan.param_grads[l]
            };
            let read = |src: Src| -> &[f32] {
                match src {
                    Src::Input(0) => &plan.input,
                    Src::Input(k) => &plan.extra_inputs[k - 1],
                    Src::Node(i) => &plan.outputs[i],
                }
            };
            if let Some(merge) = layer.as_merge() {
                let k = node.inputs.len();
                if k <= MERGE_INLINE {
                    let mut xs: [&[f32]; MERGE_INLINE] = [&[]; MERGE_INLINE];
                    let mut dxs: [Option<&mut [f32]>; MERGE_INLINE] = Default::default();
                    for ((x, dx), (src, buffer, _)) in
                        xs.iter_mut().zip(dxs.iter_mut()).zip(targets.iter_mut())
                    {
                        *x = read(*src);
                        *dx = buffer.as_deref_mut();
                    }
                    merge.backward_many(&xs[..k], &plan.outputs[j], &dy, batch, &mut dxs[..k]);
                } else {
                    let xs: Vec<&[f32]> = node.inputs.iter().map(|&s| read(s)).collect();
                    let mut dxs: Vec<Option<&mut [f32]>> = targets
                        .iter_mut()
                        .map(|(_, b, _)| b.as_deref_mut())
                        .collect();
                    merge.backward_many(&xs, &plan.outputs[j], &dy, batch, &mut dxs);
                }
            } else {
                layer.backward_in(
                    BackwardArgs {
                        batch,
                        x: read(node.inputs[0]),
                        y: &plan.outputs[j],
                        scratch: &plan.scratch[j],
                        dy: &mut dy,
                        dy_is_preactivation: fused_nodes[j],
                        dx: targets[0].1.as_deref_mut(),
                        grads,
                    },
                    &mut plan.workspace[j],
                );
            }
            plan.output_grads[j] = dy;
            if shared {
                for (total, part) in plan.param_grads[l]
                    .iter_mut()
                    .zip(&plan.shared_param_grads[l])
                {
                    total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
                }
            }
            let mut spare = 0;
            for (src, buffer, is_spare) in targets.drain(..) {
                let (Src::Node(i), Some(buffer)) = (src, buffer) else {
                    continue;
                };
                if is_spare {
                    let size = batch * size_of(self.layers[self.nodes[i].layer].output_shape());
                    plan.output_grads[i][..size]
                        .iter_mut()
                        .zip(&buffer[..size])
                        .for_each(|(t, p)| *t += p);
                    plan.spare_grads[spare] = buffer;
                    spare += 1;
                } else {
                    plan.output_grads[i] = buffer;
                }
            }
        }
        plan.grad_targets = targets;
        plan.fused_nodes = fused_nodes;
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
            if self.trains(l, param) {
                total += reg.penalty(&param.value);
            }
        }
        for &(l, reg) in &self.activity_regularizers {
            let size = batch * size_of(self.layers[l].output_shape());
            for (j, _) in self.nodes.iter().enumerate().filter(|(_, n)| n.layer == l) {
                total += reg.penalty(&self.plan.outputs[j][..size]) / batch as f64;
            }
        }
        total
    }

    /// Resets the metrics of every output and the per-output loss totals.
    pub fn reset_metrics(&mut self) {
        if let Some(c) = self.compiled.as_mut() {
            c.metrics.iter_mut().for_each(|m| m.reset());
        }
        for head in &mut self.extra_heads {
            head.metrics.iter_mut().for_each(|m| m.reset());
        }
        self.head_loss_totals.clear();
        self.head_loss_seen = 0.0;
    }

    /// Returns each output's mean loss since the last metric reset.
    pub fn head_losses(&self) -> Vec<f64> {
        self.head_loss_totals
            .iter()
            .map(|t| t / self.head_loss_seen.max(1.0))
            .collect()
    }

    /// Returns the metrics of output `h`.
    pub fn head_metrics(&self, h: usize) -> &[Metric] {
        match (h, &self.compiled) {
            (0, Some(c)) => &c.metrics,
            (0, None) => &[],
            _ => self
                .extra_heads
                .get(h - 1)
                .map(|x| &x.metrics[..])
                .unwrap_or(&[]),
        }
    }

    /// Returns the metrics of output `h`, mutable.
    pub fn head_metrics_mut(&mut self, h: usize) -> Option<&mut Vec<Metric>> {
        if h == 0 {
            self.compiled.as_mut().map(|c| &mut c.metrics)
        } else {
            self.extra_heads.get_mut(h - 1).map(|x| &mut x.metrics)
        }
    }

    /// Returns the target buffer of output `h`.
    pub fn head_target(&self, h: usize) -> &[f32] {
        if h == 0 {
            &self.plan.target
        } else {
            &self.plan.extra_targets[h - 1]
        }
    }

    /// Computes the loss and updates the metrics for the last forward pass
    /// over `batch` samples, with targets in the plan's target buffers. With
    /// `with_gradient`, also writes the gradient of the batch loss into the
    /// output nodes' gradient buffers (with respect to the logits when the
    /// loss is fused with the output activation). Returns the sum of
    /// per-sample losses (weighted by `loss_weights`), or 0 for a model
    /// that is not compiled.
    pub fn loss_and_metrics(&mut self, batch: usize, with_gradient: bool) -> f64 {
        if self.compiled.is_none() {
            return 0.0;
        }
        let heads = self.output_count();
        if self.head_loss_totals.len() != heads {
            self.head_loss_totals = vec![0.0; heads];
        }
        let mut total = 0.0;
        for h in 0..heads {
            let value = self.head_loss_and_metrics(h, batch, with_gradient);
            self.head_loss_totals[h] += value;
            total += value * self.loss_weights.get(h).copied().unwrap_or(1.0) as f64;
        }
        self.head_loss_seen += batch as f64;
        total
    }

    /// [`Model::loss_and_metrics`] for output `h`; returns its unweighted
    /// loss summed over the samples.
    fn head_loss_and_metrics(&mut self, h: usize, batch: usize, with_gradient: bool) -> f64 {
        let fused = self.fused_head(h);
        let src = self.output_src(h);
        let width = size_of(self.src_shape(src));
        let loss_weight = self.loss_weights.get(h).copied().unwrap_or(1.0);
        let Some(compiled) = self.compiled.as_mut() else {
            return 0.0;
        };
        let (loss, metrics) = if h == 0 {
            (&compiled.loss, &mut compiled.metrics)
        } else {
            let head = &mut self.extra_heads[h - 1];
            (&head.loss, &mut head.metrics)
        };
        let y_width = if loss.is_sparse() { 1 } else { width };
        let plan = &mut self.plan;
        let Plan {
            input,
            extra_inputs,
            target,
            extra_targets,
            outputs,
            scratch,
            output_grads,
            per_sample_loss,
            sample_weight,
            ..
        } = plan;
        let read = |src: Src| -> &[f32] {
            match src {
                Src::Input(0) => input,
                Src::Input(k) => &extra_inputs[k - 1],
                Src::Node(i) => &outputs[i],
            }
        };
        let output = read(src);
        let pred: &[f32] = match (fused, src) {
            (true, Src::Node(j)) => {
                let x = read(self.nodes[j].inputs[0]);
                self.layers[self.nodes[j].layer].logits(x, &scratch[j])
            }
            _ => output,
        };
        let target: &[f32] = if h == 0 {
            target
        } else {
            &extra_targets[h - 1]
        };
        let target = &target[..batch * y_width];
        let mut grad = match (with_gradient, src) {
            (true, Src::Node(j)) => Some(&mut output_grads[j][..batch * width]),
            _ => None,
        };
        let losses = &mut per_sample_loss[..batch];
        let weights = if sample_weight.is_empty() {
            None
        } else {
            Some(&sample_weight[..batch])
        };
        loss.compute(
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
        if loss_weight != 1.0 {
            if let Some(g) = grad.as_mut() {
                g.iter_mut().for_each(|v| *v *= loss_weight);
            }
        }
        for m in metrics.iter_mut() {
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
        for ((layer, grads), frozen) in self
            .layers
            .iter_mut()
            .zip(self.plan.param_grads.iter_mut())
            .zip(&self.frozen)
        {
            for (p, g) in layer.params_mut().iter_mut().zip(grads.iter_mut()) {
                if p.trainable && !frozen {
                    items.push((index, &mut p.value[..], &mut g[..]));
                }
                index += 1;
            }
        }
        optimizer.apply(&mut items);
        Ok(())
    }
}

fn format_shapes(shapes: &[Vec<usize>]) -> String {
    shapes
        .iter()
        .map(|s| format_batch_shape(s))
        .collect::<Vec<_>>()
        .join(" and ")
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
