//! Layer specifications: the arguments that rebuild a layer, without its
//! weights. Saving writes them to a model's `config.json`, and the R side
//! rebuilds its layer descriptions of a loaded model from them.

use crate::activations::Activation;
use crate::init::Initializer;
use crate::layers::affine::{AffineKind, Range, Sampling};
use crate::layers::augment::FlipMode;
use crate::layers::batch_norm::BatchNormConfig;
use crate::layers::conv::ConvConfig;
use crate::layers::conv_transpose::ConvTransposeConfig;
use crate::layers::depthwise::DepthwiseConfig;
use crate::layers::noise::NoiseKind;
use crate::layers::pooling::{PoolConfig, PoolKind};
use crate::layers::resize::ResizeConfig;
use crate::layers::separable::SeparableConfig;
use crate::layers::spatial::SpatialKind;

/// An initializer with its optional seed, as given to the layer.
#[derive(Debug, Clone, PartialEq)]
pub struct InitializerSpec {
    pub initializer: Initializer,
    pub seed: Option<u64>,
}

impl From<&(Initializer, Option<u64>)> for InitializerSpec {
    fn from((initializer, seed): &(Initializer, Option<u64>)) -> Self {
        InitializerSpec {
            initializer: initializer.clone(),
            seed: *seed,
        }
    }
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
    /// Conv1D, Conv2D or Conv3D (`config.rank` spatial axes).
    Conv {
        config: ConvConfig,
        kernel_initializer: InitializerSpec,
        bias_initializer: InitializerSpec,
    },
    /// MaxPooling or AveragePooling in 1 to 3 dimensions.
    Pooling(PoolConfig),
    /// GlobalMaxPooling or GlobalAveragePooling over `rank` spatial axes.
    GlobalPooling {
        kind: PoolKind,
        rank: usize,
        keepdims: bool,
    },
    BatchNormalization {
        config: BatchNormConfig,
        gamma_initializer: InitializerSpec,
        beta_initializer: InitializerSpec,
        moving_mean_initializer: InitializerSpec,
        moving_variance_initializer: InitializerSpec,
    },
    /// ZeroPadding, Cropping or UpSampling: one `(before, after)` pair per
    /// spatial axis, `(size, size)` for upsampling.
    Spatial {
        kind: SpatialKind,
        amounts: Vec<(usize, usize)>,
    },
    SpatialDropout {
        rank: usize,
        rate: f32,
        seed: Option<u64>,
    },
    /// Rescaling with the factors as given, in double precision as Keras
    /// writes them. The layer computes with their f32 values.
    Rescaling {
        scale: f64,
        offset: f64,
    },
    /// Conv1DTranspose or Conv2DTranspose.
    ConvTranspose {
        config: ConvTransposeConfig,
        kernel_initializer: InitializerSpec,
        bias_initializer: InitializerSpec,
    },
    /// DepthwiseConv1D or DepthwiseConv2D.
    DepthwiseConv {
        config: DepthwiseConfig,
        depthwise_initializer: InitializerSpec,
        bias_initializer: InitializerSpec,
    },
    /// SeparableConv1D or SeparableConv2D.
    SeparableConv {
        config: SeparableConfig,
        depthwise_initializer: InitializerSpec,
        pointwise_initializer: InitializerSpec,
        bias_initializer: InitializerSpec,
    },
    Resizing(ResizeConfig),
    CenterCrop {
        height: usize,
        width: usize,
    },
    /// UpSampling2D with bilinear interpolation, by `size` (rows, columns).
    BilinearUpSampling {
        size: [usize; 2],
    },
    RandomFlip {
        mode: FlipMode,
        seed: Option<u64>,
    },
    /// RandomRotation, RandomTranslation or RandomZoom.
    RandomAffine {
        kind: AffineKind,
        sampling: Sampling,
        seed: Option<u64>,
    },
    /// RandomContrast with keras's `factor` as `(lower, upper)`.
    RandomContrast {
        factor: Range,
        value_range: Range,
        seed: Option<u64>,
    },
}
