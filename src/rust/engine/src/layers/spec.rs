//! Layer specifications: the arguments that rebuild a layer, without its
//! weights. Saving writes them to a model's `config.json`, and the R side
//! rebuilds its layer descriptions of a loaded model from them.

use crate::activations::Activation;
use crate::init::Initializer;
use crate::layers::noise::NoiseKind;

/// An initializer with its optional seed, as given to the layer.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializerSpec {
    pub initializer: Initializer,
    pub seed: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum LayerSpec {
    Dense {
        units: usize,
        activation: Activation,
        use_bias: bool,
        kernel_initializer: InitializerSpec,
        bias_initializer: InitializerSpec,
    },
    Activation {
        activation: Activation,
    },
    Dropout {
        rate: f32,
        seed: Option<u64>,
    },
    Flatten,
    /// A Reshape to a per-sample shape with every size resolved (no -1).
    Reshape {
        target_shape: Vec<usize>,
    },
    /// GaussianNoise, GaussianDropout or AlphaDropout.
    Noise {
        kind: NoiseKind,
        seed: Option<u64>,
    },
    /// The identity. The model keeps the penalty on its output.
    ActivityRegularization,
}
