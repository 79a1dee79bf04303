//! Finite-difference checks of the convolution, pooling and spatial layers
//! over a grid of settings. The grid covers kernel sizes 1 to 5 (odd, even
//! and non-square), strides 1 to 3, padding "valid", "same" and "causal",
//! dilation 1 and 2, groups, batch sizes 1 and 3, and non-square inputs.
//! Each case builds `identity Reshape -> layer` with mean squared error and
//! compares every weight gradient and the input gradient with central
//! differences (see `common::check_model_gradients`).
//!
//! Max pooling is differentiable only where the maximum of each window is
//! unique. The inputs of its cases are therefore distinct values spaced
//! 0.05 apart, more than twice the finite-difference step.

mod common;

use common::{
    check_gradients_on_spread, check_model_gradients, compile_mse, model_with_identity_input,
    spread, ModelCase, DEFAULT_CHECK,
};
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::conv::{add_conv, ConvConfig};
use engine::layers::pooling::{add_global_pool, add_pool, PoolConfig, PoolKind};
use engine::layers::rescaling::add_rescaling;
use engine::layers::spatial::{add_spatial, SpatialKind};
use engine::layers::spatial_dropout::add_spatial_dropout;
use engine::layers::window::Padding;
use engine::model::Model;

/// Glorot-uniform kernel and a small random bias, both seeded.
fn initializers(seed: u64) -> ((Initializer, Option<u64>), (Initializer, Option<u64>)) {
    (
        (Initializer::GlorotUniform, Some(seed)),
        (
            Initializer::RandomUniform {
                minval: -0.2,
                maxval: 0.2,
            },
            Some(seed + 1),
        ),
    )
}

fn conv2d(
    filters: usize,
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    dilation: [usize; 2],
    groups: usize,
) -> ConvConfig {
    ConvConfig {
        rank: 2,
        filters,
        kernel_size: kernel.to_vec(),
        strides: strides.to_vec(),
        padding,
        dilation_rate: dilation.to_vec(),
        groups,
        activation: Activation::Linear,
        use_bias: true,
    }
}

#[test]
fn conv2d_kernel_stride_padding_grid() {
    // 2 channels: the layer keeps its im2col columns for the backward pass.
    check_kernel_stride_padding_grid(&[7, 6, 2], 0);
}

#[test]
fn conv2d_grid_with_many_channels() {
    // 6 channels: the layer builds its columns again in the backward pass.
    check_kernel_stride_padding_grid(&[6, 5, 6], 1000);
}

fn check_kernel_stride_padding_grid(input: &[usize], seed: usize) {
    let mut cases = 0;
    for kernel in [[1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [2, 3], [3, 1]] {
        for stride in 1..=3 {
            for padding in [Padding::Valid, Padding::Same] {
                for batch in [1, 3] {
                    let config = conv2d(3, kernel, [stride, stride], padding, [1, 1], 1);
                    let mut model = model_with_identity_input(input);
                    let (k, b) = initializers((seed + cases) as u64);
                    add_conv(&mut model, "conv", &config, &k, &b).expect("window fits");
                    compile_mse(&mut model);
                    let description = format!(
                        "conv2d on {input:?}, kernel {kernel:?}, strides {stride}, padding {padding:?}, batch {batch}"
                    );
                    check_gradients_on_spread(&description, &mut model, batch, seed + cases);
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 7 * 3 * 2 * 2);
}

#[test]
fn conv2d_dilation_and_mixed_strides() {
    let input = [8, 7, 2];
    let mut cases = 0;
    for kernel in [[2, 2], [3, 3], [3, 2]] {
        for padding in [Padding::Valid, Padding::Same] {
            for (strides, dilation) in [([1, 1], [2, 2]), ([1, 1], [2, 1]), ([2, 1], [1, 1])] {
                let config = conv2d(2, kernel, strides, padding, dilation, 1);
                let mut model = model_with_identity_input(&input);
                let (k, b) = initializers(100 + cases as u64);
                add_conv(&mut model, "conv", &config, &k, &b).expect("window fits");
                compile_mse(&mut model);
                let description = format!(
                    "conv2d kernel {kernel:?}, strides {strides:?}, dilation {dilation:?}, padding {padding:?}"
                );
                check_gradients_on_spread(&description, &mut model, 3, cases);
                cases += 1;
            }
        }
    }
}

#[test]
fn conv2d_groups() {
    // 4 channels in 2 and 4 groups; 1x1 kernels take the identity-column path.
    let input = [5, 6, 4];
    for (groups, filters) in [(2, 4), (2, 6), (4, 4)] {
        for kernel in [[1, 1], [3, 3], [2, 3]] {
            for padding in [Padding::Valid, Padding::Same] {
                let config = conv2d(filters, kernel, [1, 1], padding, [1, 1], groups);
                let mut model = model_with_identity_input(&input);
                let (k, b) = initializers(200 + groups as u64);
                add_conv(&mut model, "conv", &config, &k, &b).expect("window fits");
                compile_mse(&mut model);
                let description = format!(
                    "conv2d groups {groups}, filters {filters}, kernel {kernel:?}, padding {padding:?}"
                );
                check_gradients_on_spread(&description, &mut model, 3, groups + filters);
            }
        }
    }
    // Strided grouped convolution.
    let config = conv2d(4, [3, 3], [2, 2], Padding::Same, [1, 1], 2);
    let mut model = model_with_identity_input(&input);
    let (k, b) = initializers(300);
    add_conv(&mut model, "conv", &config, &k, &b).expect("window fits");
    compile_mse(&mut model);
    check_gradients_on_spread("conv2d groups 2, strides 2", &mut model, 1, 9);
}

#[test]
fn conv2d_with_activation_and_without_bias() {
    let input = [6, 5, 3];
    for activation in [Activation::Tanh, Activation::Sigmoid, Activation::Softmax] {
        for use_bias in [true, false] {
            let mut config = conv2d(4, [3, 3], [1, 1], Padding::Same, [1, 1], 1);
            config.activation = activation;
            config.use_bias = use_bias;
            let mut model = model_with_identity_input(&input);
            let (k, b) = initializers(400);
            add_conv(&mut model, "conv", &config, &k, &b).expect("window fits");
            compile_mse(&mut model);
            assert_eq!(model.weights().len(), 1 + use_bias as usize);
            let description = format!("conv2d with {activation:?}, use_bias = {use_bias}");
            check_gradients_on_spread(&description, &mut model, 3, 5);
        }
    }
}

#[test]
fn conv2d_chain_of_two() {
    // The second convolution's input gradient flows through col2im of the
    // first layer's output.
    let mut model = model_with_identity_input(&[9, 8, 1]);
    let first = ConvConfig {
        activation: Activation::Tanh,
        ..conv2d(3, [3, 3], [1, 1], Padding::Valid, [1, 1], 1)
    };
    let second = conv2d(2, [2, 2], [2, 2], Padding::Same, [1, 1], 1);
    let (k, b) = initializers(500);
    add_conv(&mut model, "conv", &first, &k, &b).expect("first");
    let (k, b) = initializers(502);
    add_conv(&mut model, "conv_1", &second, &k, &b).expect("second");
    compile_mse(&mut model);
    check_gradients_on_spread("two stacked conv2d layers", &mut model, 3, 7);
}

fn conv1d(
    filters: usize,
    kernel: usize,
    stride: usize,
    padding: Padding,
    dilation: usize,
    groups: usize,
) -> ConvConfig {
    ConvConfig {
        rank: 1,
        filters,
        kernel_size: vec![kernel],
        strides: vec![stride],
        padding,
        dilation_rate: vec![dilation],
        groups,
        activation: Activation::Linear,
        use_bias: true,
    }
}

#[test]
fn conv1d_grid_with_causal_padding() {
    let input = [11, 2];
    let mut cases = 0;
    for kernel in 1..=5 {
        for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
            for (stride, dilation) in [(1, 1), (2, 1), (3, 1), (1, 2)] {
                for batch in [1, 3] {
                    let config = conv1d(3, kernel, stride, padding, dilation, 1);
                    let mut model = model_with_identity_input(&input);
                    let (k, b) = initializers(600 + cases as u64);
                    add_conv(&mut model, "conv1d", &config, &k, &b).expect("window fits");
                    compile_mse(&mut model);
                    let description = format!(
                        "conv1d kernel {kernel}, strides {stride}, dilation {dilation}, padding {padding:?}, batch {batch}"
                    );
                    check_gradients_on_spread(&description, &mut model, batch, cases);
                    cases += 1;
                }
            }
        }
    }
    let config = conv1d(4, 3, 1, Padding::Causal, 1, 2);
    let mut model = model_with_identity_input(&[9, 4]);
    let (k, b) = initializers(700);
    add_conv(&mut model, "conv1d", &config, &k, &b).expect("window fits");
    compile_mse(&mut model);
    check_gradients_on_spread("conv1d groups 2, causal", &mut model, 3, 3);
}

/// Distinct inputs spaced 0.05 apart in a shuffled order, so that every
/// pooling window has a unique maximum that a step of 0.01 cannot change.
fn distinct_values(n: usize, offset: usize) -> Vec<f32> {
    // 7919 is prime, so i -> (i * 7919 + offset) mod m is a permutation when
    // m is not a multiple of it.
    let m = n;
    (0..n)
        .map(|i| ((i * 7919 + offset) % m) as f32 * 0.05 - 0.025 * m as f32)
        .collect()
}

fn check_with_input(description: &str, model: &mut Model, batch: usize, input: &[f32]) {
    let out_size: usize = model.output_shape().iter().product();
    let target = spread(batch * out_size, 0.5, 13);
    let case = ModelCase {
        input,
        target: &target,
        batch,
        training: false,
        rng_seed: 0,
    };
    check_model_gradients(description, model, &case, DEFAULT_CHECK);
}

#[test]
fn pooling2d_grid() {
    let input = [7, 6, 2];
    let size: usize = input.iter().product();
    let mut cases = 0;
    for kind in [PoolKind::Max, PoolKind::Average] {
        for pool_size in [[1, 1], [2, 2], [3, 3], [2, 3]] {
            for stride in [None, Some(1), Some(2), Some(3)] {
                for padding in [Padding::Valid, Padding::Same] {
                    for batch in [1, 3] {
                        let strides = stride.map_or(pool_size.to_vec(), |s| vec![s, s]);
                        let config = PoolConfig {
                            kind,
                            rank: 2,
                            pool_size: pool_size.to_vec(),
                            strides: strides.clone(),
                            padding,
                        };
                        let mut model = model_with_identity_input(&input);
                        add_pool(&mut model, "pool", &config).expect("window fits");
                        compile_mse(&mut model);
                        let x = distinct_values(batch * size, cases);
                        let description = format!(
                            "{kind:?} pooling {pool_size:?}, strides {strides:?}, padding {padding:?}, batch {batch}"
                        );
                        check_with_input(&description, &mut model, batch, &x);
                        cases += 1;
                    }
                }
            }
        }
    }
    assert_eq!(cases, 2 * 4 * 4 * 2 * 2);
}

#[test]
fn pooling1d_grid() {
    let input = [10, 3];
    let mut cases = 0;
    for kind in [PoolKind::Max, PoolKind::Average] {
        for pool_size in 1..=4 {
            for stride in 1..=3 {
                for padding in [Padding::Valid, Padding::Same] {
                    let config = PoolConfig {
                        kind,
                        rank: 1,
                        pool_size: vec![pool_size],
                        strides: vec![stride],
                        padding,
                    };
                    let mut model = model_with_identity_input(&input);
                    add_pool(&mut model, "pool", &config).expect("window fits");
                    compile_mse(&mut model);
                    let x = distinct_values(3 * 30, cases);
                    let description = format!(
                        "{kind:?} pooling 1D size {pool_size}, strides {stride}, padding {padding:?}"
                    );
                    check_with_input(&description, &mut model, 3, &x);
                    cases += 1;
                }
            }
        }
    }
}

#[test]
fn global_pooling() {
    for kind in [PoolKind::Max, PoolKind::Average] {
        for (rank, input) in [(1, vec![7, 3]), (2, vec![5, 4, 3]), (3, vec![3, 2, 4, 2])] {
            for keepdims in [false, true] {
                let mut model = model_with_identity_input(&input);
                add_global_pool(&mut model, "global", kind, rank, keepdims).expect("valid input");
                let mut expected = if keepdims { vec![1; rank] } else { vec![] };
                expected.push(*input.last().unwrap());
                assert_eq!(model.output_shape(), &expected[..]);
                compile_mse(&mut model);
                let size: usize = input.iter().product();
                let x = distinct_values(3 * size, rank);
                let description =
                    format!("global {kind:?} pooling, rank {rank}, keepdims {keepdims}");
                check_with_input(&description, &mut model, 3, &x);
            }
        }
    }
}

#[test]
fn conv_pool_dense_chain() {
    // The shape of the Fashion-MNIST network at a small size, with average
    // pooling so that no maximum can switch under a finite-difference step.
    let mut model = model_with_identity_input(&[8, 7, 1]);
    let conv = ConvConfig {
        activation: Activation::Tanh,
        ..conv2d(3, [3, 3], [1, 1], Padding::Valid, [1, 1], 1)
    };
    let (k, b) = initializers(800);
    add_conv(&mut model, "conv", &conv, &k, &b).expect("conv");
    let pool = PoolConfig {
        kind: PoolKind::Average,
        rank: 2,
        pool_size: vec![2, 2],
        strides: vec![2, 2],
        padding: Padding::Valid,
    };
    add_pool(&mut model, "pool", &pool).expect("pool");
    model.add_flatten("flatten").expect("flatten");
    model
        .add_dense(
            "dense",
            4,
            Activation::Softmax,
            true,
            &Initializer::GlorotUniform,
            Some(3),
            &Initializer::Zeros,
            None,
        )
        .expect("dense");
    compile_mse(&mut model);
    check_gradients_on_spread("conv - average pool - flatten - dense", &mut model, 3, 2);
}

/// A spatial layer, its input shape and its `(before, after)` amounts.
type SpatialCase = (SpatialKind, Vec<usize>, Vec<(usize, usize)>);

#[test]
fn padding_cropping_upsampling() {
    let cases: [SpatialCase; 7] = [
        (
            SpatialKind::ZeroPadding,
            vec![3, 4, 2],
            vec![(1, 2), (0, 1)],
        ),
        (SpatialKind::ZeroPadding, vec![5, 3], vec![(2, 1)]),
        (SpatialKind::Cropping, vec![5, 6, 2], vec![(1, 0), (2, 1)]),
        (SpatialKind::Cropping, vec![6, 2], vec![(1, 2)]),
        (SpatialKind::UpSampling, vec![2, 3, 2], vec![(2, 2), (3, 3)]),
        (SpatialKind::UpSampling, vec![3, 2], vec![(2, 2)]),
        (
            SpatialKind::UpSampling,
            vec![2, 2, 1, 2],
            vec![(1, 1), (2, 2), (3, 3)],
        ),
    ];
    for (k, (kind, input, amounts)) in cases.into_iter().enumerate() {
        for batch in [1, 3] {
            let mut model = model_with_identity_input(&input);
            add_spatial(&mut model, "spatial", kind, &amounts).expect("valid layer");
            compile_mse(&mut model);
            check_gradients_on_spread(
                &format!("{kind:?} {amounts:?} on {input:?}, batch {batch}"),
                &mut model,
                batch,
                k,
            );
        }
    }
}

#[test]
fn rescaling_before_conv() {
    let mut model = model_with_identity_input(&[6, 5, 2]);
    add_rescaling(&mut model, "rescaling", 0.5, -0.25).expect("rescaling");
    let (k, b) = initializers(900);
    add_conv(
        &mut model,
        "conv",
        &conv2d(3, [3, 3], [1, 1], Padding::Same, [1, 1], 1),
        &k,
        &b,
    )
    .expect("conv");
    compile_mse(&mut model);
    check_gradients_on_spread("rescaling - conv", &mut model, 3, 4);
}

#[test]
fn spatial_dropout_in_training() {
    // With the same generator seed every forward pass draws the same mask,
    // so the finite differences see a fixed function.
    for (rank, input) in [(1, vec![5, 4]), (2, vec![3, 4, 6]), (3, vec![2, 2, 3, 5])] {
        let mut model = model_with_identity_input(&input);
        add_spatial_dropout(&mut model, "spatial_dropout", rank, 0.5, None).expect("valid layer");
        compile_mse(&mut model);
        let size: usize = input.iter().product();
        let channels = *input.last().unwrap();
        let batch = 3;
        let x = spread(batch * size, 1.0, rank);
        let target = spread(batch * size, 0.5, 3);
        let case = ModelCase {
            input: &x,
            target: &target,
            batch,
            training: true,
            rng_seed: 17,
        };
        let gradients = check_model_gradients(
            &format!("spatial dropout {rank}D"),
            &mut model,
            &case,
            DEFAULT_CHECK,
        );
        // Whole channels are dropped: within a sample, a channel's input
        // gradient is zero at every position or at none.
        let grad = &gradients.first_layer_output;
        let mut dropped = 0;
        for sample in grad.chunks(size) {
            for ch in 0..channels {
                let zeros = sample
                    .iter()
                    .skip(ch)
                    .step_by(channels)
                    .filter(|g| **g == 0.0)
                    .count();
                assert!(
                    zeros == 0 || zeros == size / channels,
                    "channel {ch}: {zeros} zeros"
                );
                dropped += (zeros > 0) as usize;
            }
        }
        assert!(dropped > 0, "no channel was dropped");
        assert!(dropped < batch * channels, "every channel was dropped");
    }
}
