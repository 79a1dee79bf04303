//! Layers: the building blocks of a model. Each layer owns its weights and
//! has a forward pass and a hand-written backward pass that write into
//! buffers the execution plan allocated once.

use std::sync::Mutex;

use rand::rngs::StdRng;

use crate::activations::Activation;

pub mod activation;
pub mod affine;
pub mod augment;
pub mod batch_norm;
pub(crate) mod chunks;
pub mod conv;
pub mod conv_transpose;
pub mod dense;
pub mod depthwise;
pub mod dropout;
pub mod merge;
pub mod noise;
pub mod pooling;
pub mod rescaling;
pub mod reshape;
pub mod resize;
pub mod seeded;
pub mod separable;
pub mod spatial;
pub mod spatial_dropout;
pub mod spec;
pub(crate) mod vectorized;
pub mod window;

pub use activation::ActivationLayer;
pub use dense::Dense;
pub use dropout::Dropout;
pub use reshape::Reshape;
pub use spec::LayerSpec;

/// A weight tensor of a layer.
#[derive(Debug, Clone)]
pub struct Param {
    /// Keras's weight name, e.g. `kernel` or `bias`.
    pub name: String,
    pub shape: Vec<usize>,
    pub value: Vec<f32>,
    pub trainable: bool,
}

/// State shared by the layers during one forward pass.
pub struct ForwardCtx<'a> {
    /// True while fitting: dropout and noise layers are active only then.
    pub training: bool,
    /// The model's generator for layers without a seed of their own.
    pub rng: &'a mut StdRng,
}

/// Buffers of one layer call for the backward pass.
pub struct BackwardArgs<'a> {
    pub batch: usize,
    /// The layer's input.
    pub x: &'a [f32],
    /// The layer's output.
    pub y: &'a [f32],
    /// Values the forward pass stored for the backward pass.
    pub scratch: &'a [f32],
    /// Gradient of the loss with respect to the output; layers may overwrite it.
    pub dy: &'a mut [f32],
    /// True when `dy` is already the gradient with respect to the
    /// pre-activation (the loss was fused with the output activation).
    pub dy_is_preactivation: bool,
    /// Gradient with respect to the input, when a previous layer needs it.
    pub dx: Option<&'a mut [f32]>,
    /// One gradient buffer per parameter, overwritten.
    pub grads: &'a mut [Vec<f32>],
}

pub trait Layer: Send + Sync + std::fmt::Debug {
    /// Keras's class name, shown by `summary()`: `Dense`, `Dropout`, ...
    fn class_name(&self) -> &'static str;
    fn name(&self) -> &str;
    /// Output shape of one sample.
    fn output_shape(&self) -> &[usize];
    fn params(&self) -> &[Param] {
        &[]
    }
    fn params_mut(&mut self) -> &mut [Param] {
        &mut []
    }
    /// Values per sample that the forward pass keeps for the backward pass.
    fn scratch_per_sample(&self) -> usize {
        0
    }
    /// Returns the activation applied last, so a loss may fuse with it.
    fn output_activation(&self) -> Option<Activation> {
        None
    }
    /// Returns the pre-activation values (logits) of the last forward pass,
    /// for a loss fused with [`Layer::output_activation`].
    fn logits<'a>(&self, x: &'a [f32], _scratch: &'a [f32]) -> &'a [f32] {
        x
    }
    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: &mut ForwardCtx,
    );
    fn backward(&self, args: BackwardArgs);

    /// Floats of working memory for one forward and backward call on up to
    /// `batch` samples, which the plan allocates once: buffers whose contents
    /// need not survive the call (per-chunk partial sums, im2col gradients).
    fn workspace_len(&self, _batch: usize) -> usize {
        0
    }

    /// Runs the backward pass with the plan's workspace of
    /// [`Layer::workspace_len`] floats. Layers with a workspace override
    /// this, and their `backward` allocates a workspace and calls it.
    fn backward_in(&self, args: BackwardArgs, _workspace: &mut [f32]) {
        self.backward(args)
    }

    /// Updates weights that training changes outside the optimizer (the
    /// moving statistics of BatchNormalization) from what the training
    /// forward pass just run stored in `scratch`. The model calls it after
    /// every training forward pass of the layer.
    fn update_state(&mut self, _scratch: &[f32], _batch: usize) {}

    /// Returns the arguments that rebuild the layer for saving, or `None`
    /// for a layer type that cannot be saved yet.
    fn spec(&self) -> Option<LayerSpec> {
        None
    }
    /// Returns the position of the layer's own seeded generator (see
    /// [`seeded::SeededGenerator`]), for layers given a `seed`.
    fn rng_position(&self) -> Option<u128> {
        None
    }
    /// Moves the layer's seeded generator to a saved position.
    fn set_rng_position(&self, _position: u128) {}

    /// Returns the layer as a merge of several inputs, for layers such as
    /// Add or Concatenate. The model then calls [`Merge`] instead of
    /// `forward` and `backward`.
    fn as_merge(&self) -> Option<&dyn Merge> {
        None
    }
}

/// A layer of several inputs and no weights.
pub trait Merge {
    /// Returns the arguments that rebuild the layer, for saving.
    fn merge_spec(&self) -> merge::MergeSpec;
    /// Computes the output of `batch` samples from the inputs `xs`.
    fn forward_many(&self, xs: &[&[f32]], batch: usize, y: &mut [f32]);
    /// Writes the gradient with respect to each input that has a buffer in
    /// `dxs`, from the output gradient `dy`.
    fn backward_many(
        &self,
        xs: &[&[f32]],
        y: &[f32],
        dy: &[f32],
        batch: usize,
        dxs: &mut [Option<&mut [f32]>],
    );
}

/// A generator behind a lock, for layers given an explicit seed.
#[derive(Debug)]
pub struct SeededRng(pub Mutex<StdRng>);
