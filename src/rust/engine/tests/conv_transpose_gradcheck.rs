//! Finite-difference checks of the transposed, depthwise and separable
//! convolutions over a grid of settings. The grid covers kernel sizes 1 to
//! 4 (odd, even and non-square), strides 1 to 3, padding "valid" and
//! "same", dilation 1 and 2, output_padding, depth multipliers 1 and 2,
//! batch sizes 1 and 3, and non-square inputs. Each case builds `identity Reshape -> layer` with mean
//! squared error and compares every weight gradient and the input gradient
//! with central differences (see `common::check_model_gradients`).
//! Relu is left out: its kink makes central differences unreliable, and
//! the golden cases of `conv_transpose_golden.rs` check it instead.

mod common;

use common::{check_gradients_on_spread, compile_mse, model_with_identity_input};
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::conv_transpose::{add_conv_transpose, ConvTransposeConfig};
use engine::layers::depthwise::{add_depthwise_conv, DepthwiseConfig};
use engine::layers::separable::{add_separable_conv, SeparableConfig};
use engine::layers::window::Padding;
use engine::model::Model;

/// Compiles with mean squared error and checks every gradient on `batch`
/// samples of inputs in [-1, 1].
fn check(description: &str, model: &mut Model, batch: usize, offset: usize) {
    compile_mse(model);
    check_gradients_on_spread(description, model, batch, offset);
}

fn glorot(seed: u64) -> (Initializer, Option<u64>) {
    (Initializer::GlorotUniform, Some(seed))
}

fn small_bias(seed: u64) -> (Initializer, Option<u64>) {
    (
        Initializer::RandomUniform {
            minval: -0.2,
            maxval: 0.2,
        },
        Some(seed),
    )
}

fn transpose(
    rank: usize,
    kernel: &[usize],
    stride: usize,
    padding: Padding,
    output_padding: Option<usize>,
    dilation: usize,
) -> ConvTransposeConfig {
    ConvTransposeConfig {
        rank,
        filters: 3,
        kernel_size: kernel.to_vec(),
        strides: vec![stride; rank],
        padding,
        output_padding: output_padding.map(|p| vec![p; rank]),
        dilation_rate: vec![dilation; rank],
        activation: Activation::Linear,
        use_bias: true,
    }
}

#[test]
fn conv2d_transpose_grid() {
    let input = [4, 3, 2];
    let mut cases = 0;
    for kernel in [[1, 1], [2, 2], [3, 3], [4, 4], [2, 3]] {
        for stride in 1..=3 {
            for padding in [Padding::Valid, Padding::Same] {
                for output_padding in [None].into_iter().chain((0..stride).map(Some)) {
                    for batch in [1, 3] {
                        let config = transpose(2, &kernel, stride, padding, output_padding, 1);
                        let mut model = model_with_identity_input(&input);
                        let seed = cases as u64;
                        let added = add_conv_transpose(
                            &mut model,
                            "conv_transpose",
                            &config,
                            &glorot(seed),
                            &small_bias(seed + 1),
                        );
                        if added.is_err() {
                            // Keras rejects these too (see conv_transpose_golden.rs).
                            continue;
                        }
                        let description = format!(
                            "conv2d_transpose kernel {kernel:?}, strides {stride}, padding {padding:?}, output_padding {output_padding:?}, batch {batch}"
                        );
                        check(&description, &mut model, batch, cases);
                        cases += 1;
                    }
                }
            }
        }
    }
    assert!(cases > 100, "{cases} cases");
}

#[test]
fn conv2d_transpose_dilation_and_activation() {
    let input = [3, 4, 3];
    let mut cases = 0;
    for kernel in [[2, 2], [3, 3], [3, 2]] {
        for padding in [Padding::Valid, Padding::Same] {
            for activation in [Activation::Linear, Activation::Tanh, Activation::Sigmoid] {
                let mut config = transpose(2, &kernel, 1, padding, None, 2);
                config.activation = activation;
                config.use_bias = activation != Activation::Tanh;
                let mut model = model_with_identity_input(&input);
                let seed = 100 + cases as u64;
                add_conv_transpose(&mut model, "ct", &config, &glorot(seed), &small_bias(seed))
                    .expect("valid settings");
                let description = format!(
                    "conv2d_transpose kernel {kernel:?}, dilation 2, padding {padding:?}, {activation:?}"
                );
                check(&description, &mut model, 3, cases);
                cases += 1;
            }
        }
    }
}

#[test]
fn conv1d_transpose_grid() {
    let input = [5, 2];
    let mut cases = 0;
    for kernel in 1..=4 {
        for padding in [Padding::Valid, Padding::Same] {
            for (stride, dilation) in [(1, 1), (2, 1), (3, 1), (1, 2)] {
                for output_padding in [None].into_iter().chain((0..stride).map(Some)) {
                    let config = transpose(1, &[kernel], stride, padding, output_padding, dilation);
                    let mut model = model_with_identity_input(&input);
                    let seed = 200 + cases as u64;
                    if add_conv_transpose(
                        &mut model,
                        "ct",
                        &config,
                        &glorot(seed),
                        &small_bias(seed),
                    )
                    .is_err()
                    {
                        continue;
                    }
                    let description = format!(
                        "conv1d_transpose kernel {kernel}, strides {stride}, dilation {dilation}, padding {padding:?}, output_padding {output_padding:?}"
                    );
                    check(&description, &mut model, 1 + 2 * (cases % 2), cases);
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 40, "{cases} cases");
}

fn depthwise(
    rank: usize,
    kernel: &[usize],
    stride: usize,
    padding: Padding,
    dilation: usize,
    multiplier: usize,
) -> DepthwiseConfig {
    DepthwiseConfig {
        rank,
        kernel_size: kernel.to_vec(),
        strides: vec![stride; rank],
        padding,
        dilation_rate: vec![dilation; rank],
        depth_multiplier: multiplier,
        activation: Activation::Linear,
        use_bias: true,
    }
}

/// Runs `add(model, config, seed)` over the depthwise grid of settings on
/// `input`, skipping windows larger than the input, and checks each case.
fn depthwise_grid(what: &str, input: &[usize], add: impl Fn(&mut Model, &DepthwiseConfig, u64)) {
    let rank = input.len() - 1;
    let mut cases = 0;
    let kernels: Vec<Vec<usize>> = [1, 2, 3, 4]
        .iter()
        .map(|&k| vec![k; rank])
        .chain((rank == 2).then(|| vec![2, 3]))
        .collect();
    for kernel in &kernels {
        for (stride, dilation) in [(1, 1), (2, 1), (3, 1), (1, 2), (2, 2)] {
            for padding in [Padding::Valid, Padding::Same] {
                for multiplier in [1, 2] {
                    let config = depthwise(rank, kernel, stride, padding, dilation, multiplier);
                    let span = (kernel[0] - 1) * dilation + 1;
                    if padding == Padding::Valid && input[..rank].iter().any(|&n| n < span) {
                        continue;
                    }
                    let mut model = model_with_identity_input(input);
                    add(&mut model, &config, 300 + cases as u64);
                    let batch = 1 + 2 * (cases % 2);
                    let description = format!(
                        "{what} kernel {kernel:?}, strides {stride}, dilation {dilation}, padding {padding:?}, depth_multiplier {multiplier}, batch {batch}"
                    );
                    check(&description, &mut model, batch, cases);
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 50, "{what}: {cases} cases");
}

#[test]
fn depthwise_conv2d_grid() {
    depthwise_grid("depthwise_conv2d", &[6, 5, 3], |model, config, seed| {
        add_depthwise_conv(model, "dw", config, &glorot(seed), &small_bias(seed + 1))
            .expect("window fits");
    });
}

#[test]
fn depthwise_conv1d_grid() {
    depthwise_grid("depthwise_conv1d", &[7, 2], |model, config, seed| {
        add_depthwise_conv(model, "dw", config, &glorot(seed), &small_bias(seed + 1))
            .expect("window fits");
    });
}

#[test]
fn separable_conv2d_grid() {
    depthwise_grid("separable_conv2d", &[5, 6, 2], |model, config, seed| {
        let config = SeparableConfig {
            depthwise: config.clone(),
            filters: 3,
        };
        let inits = [glorot(seed), glorot(seed + 1), small_bias(seed + 2)];
        add_separable_conv(model, "sep", &config, &inits).expect("window fits");
    });
}

#[test]
fn separable_conv1d_grid() {
    depthwise_grid("separable_conv1d", &[8, 3], |model, config, seed| {
        let config = SeparableConfig {
            depthwise: config.clone(),
            filters: 2,
        };
        let inits = [glorot(seed), glorot(seed + 1), small_bias(seed + 2)];
        add_separable_conv(model, "sep", &config, &inits).expect("window fits");
    });
}

#[test]
fn depthwise_and_separable_with_activation_and_without_bias() {
    for activation in [Activation::Tanh, Activation::Sigmoid, Activation::Softmax] {
        for use_bias in [true, false] {
            let mut config = depthwise(2, &[3, 3], 1, Padding::Same, 1, 2);
            config.activation = activation;
            config.use_bias = use_bias;
            let mut model = model_with_identity_input(&[5, 4, 3]);
            add_depthwise_conv(&mut model, "dw", &config, &glorot(7), &small_bias(8)).unwrap();
            assert_eq!(model.weights().len(), 1 + use_bias as usize);
            check(
                &format!("depthwise {activation:?}, use_bias {use_bias}"),
                &mut model,
                3,
                4,
            );

            let separable = SeparableConfig {
                depthwise: config,
                filters: 4,
            };
            let mut model = model_with_identity_input(&[5, 4, 3]);
            let inits = [glorot(9), glorot(10), small_bias(11)];
            add_separable_conv(&mut model, "sep", &separable, &inits).unwrap();
            assert_eq!(model.weights().len(), 2 + use_bias as usize);
            check(
                &format!("separable {activation:?}, use_bias {use_bias}"),
                &mut model,
                3,
                5,
            );
        }
    }
}

#[test]
fn transpose_after_separable_chain() {
    // The separable layer's input gradient flows back through the
    // transposed convolution's col2im.
    let mut model = model_with_identity_input(&[4, 4, 2]);
    let separable = SeparableConfig {
        depthwise: depthwise(2, &[3, 3], 2, Padding::Same, 1, 2),
        filters: 3,
    };
    let inits = [glorot(20), glorot(21), small_bias(22)];
    add_separable_conv(&mut model, "sep", &separable, &inits).unwrap();
    let mut up = transpose(2, &[3, 3], 2, Padding::Same, None, 1);
    up.activation = Activation::Tanh;
    add_conv_transpose(&mut model, "up", &up, &glorot(23), &small_bias(24)).unwrap();
    assert_eq!(model.output_shape(), &[4, 4, 3]);
    check("separable then transposed convolution", &mut model, 3, 6);
}
