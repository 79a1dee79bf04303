//! Times the forward and backward passes of a transposed, a depthwise and
//! a separable convolution, next to the ordinary convolution whose adjoint
//! the transposed one computes (same multiply-adds), on random data,
//! without R: `cargo run --release -p engine --example conv_transpose_step -- [threads] [batch]`.
//! Prints the fastest of 10 runs of each pass in milliseconds, and GFLOP/s
//! counting 2 floating-point operations per multiply-add.

use std::time::Instant;

use engine::activations::Activation;
use engine::layers::conv::{Conv, ConvConfig};
use engine::layers::conv_transpose::{ConvTranspose, ConvTransposeConfig};
use engine::layers::depthwise::{DepthwiseConfig, DepthwiseConv};
use engine::layers::separable::{SeparableConfig, SeparableConv};
use engine::layers::window::Padding;
use engine::layers::{BackwardArgs, ForwardCtx, Layer};
use rand::rngs::StdRng;
use rand::SeedableRng;

const REPEATS: usize = 10;

fn pattern(n: usize, offset: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (((i + offset) * 7919) % 255) as f32 / 255.0 - 0.5)
        .collect()
}

/// Times `layer` on `batch` samples of shape `input` and prints the fastest
/// forward and backward (with input gradient) pass. `macs` is the number of
/// multiply-adds of one forward pass of one sample; the backward pass does
/// twice as many.
fn time_layer(label: &str, layer: &mut dyn Layer, input: &[usize], batch: usize, macs: f64) {
    for (k, param) in layer.params_mut().iter_mut().enumerate() {
        param.value = pattern(param.value.len(), k);
    }
    let x = pattern(batch * input.iter().product::<usize>(), 11);
    let y_len = batch * layer.output_shape().iter().product::<usize>();
    let mut y = vec![0.0; y_len];
    let mut scratch = vec![0.0; batch * layer.scratch_per_sample()];
    let mut workspace = vec![0.0; layer.workspace_len(batch)];
    let mut dx = vec![0.0; x.len()];
    let mut grads: Vec<Vec<f32>> = layer
        .params()
        .iter()
        .map(|p| vec![0.0; p.value.len()])
        .collect();
    let mut rng = StdRng::seed_from_u64(0);
    let (mut forward, mut backward) = (f64::INFINITY, f64::INFINITY);
    engine::pool::install(|| {
        for _ in 0..REPEATS {
            let mut ctx = ForwardCtx {
                training: true,
                rng: &mut rng,
            };
            let start = Instant::now();
            layer.forward(&x, batch, &mut y, &mut scratch, &mut ctx);
            forward = forward.min(start.elapsed().as_secs_f64());
            let mut dy = pattern(y_len, 5);
            let start = Instant::now();
            layer.backward_in(
                BackwardArgs {
                    batch,
                    x: &x,
                    y: &y,
                    scratch: &scratch,
                    dy: &mut dy,
                    dy_is_preactivation: false,
                    dx: Some(&mut dx),
                    grads: &mut grads,
                },
                &mut workspace,
            );
            backward = backward.min(start.elapsed().as_secs_f64());
        }
    });
    let flop = 2.0 * macs * batch as f64;
    println!(
        "{label}: forward_ms={:.3} ({:.1} GFLOP/s) backward_ms={:.3} ({:.1} GFLOP/s)",
        forward * 1e3,
        flop / forward / 1e9,
        backward * 1e3,
        2.0 * flop / backward / 1e9
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let batch: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(64);
    engine::pool::set_threads(threads).expect("threads");
    println!("threads={threads} batch={batch}");

    // (14, 14, 64) -> (28, 28, 32) and back: 14 * 14 * 9 * 64 * 32 multiply-adds.
    let small = [14, 14, 64];
    let large = [28, 28, 32];
    let macs = 14.0 * 14.0 * 9.0 * 64.0 * 32.0;
    let transpose = ConvTransposeConfig {
        rank: 2,
        filters: 32,
        kernel_size: vec![3, 3],
        strides: vec![2, 2],
        padding: Padding::Same,
        output_padding: None,
        dilation_rate: vec![1, 1],
        activation: Activation::Linear,
        use_bias: true,
    };
    let mut layer = ConvTranspose::new("t", &transpose, &small).unwrap();
    time_layer(
        "Conv2DTranspose(32, 3, strides 2, same) on (14, 14, 64)",
        &mut layer,
        &small,
        batch,
        macs,
    );
    let conv = ConvConfig {
        rank: 2,
        filters: 64,
        kernel_size: vec![3, 3],
        strides: vec![2, 2],
        padding: Padding::Same,
        dilation_rate: vec![1, 1],
        groups: 1,
        activation: Activation::Linear,
        use_bias: true,
    };
    let mut layer = Conv::new("c", &conv, &large).unwrap();
    time_layer(
        "Conv2D(64, 3, strides 2, same) on (28, 28, 32)",
        &mut layer,
        &large,
        batch,
        macs,
    );

    let depthwise = DepthwiseConfig {
        rank: 2,
        kernel_size: vec![3, 3],
        strides: vec![1, 1],
        padding: Padding::Same,
        dilation_rate: vec![1, 1],
        depth_multiplier: 1,
        activation: Activation::Linear,
        use_bias: true,
    };
    let mut layer = DepthwiseConv::new("d", &depthwise, &large).unwrap();
    let depthwise_macs = 28.0 * 28.0 * 9.0 * 32.0;
    time_layer(
        "DepthwiseConv2D(3, same) on (28, 28, 32)",
        &mut layer,
        &large,
        batch,
        depthwise_macs,
    );
    let separable = SeparableConfig {
        depthwise,
        filters: 64,
    };
    let mut layer = SeparableConv::new("s", &separable, &large).unwrap();
    let separable_macs = depthwise_macs + 28.0 * 28.0 * 32.0 * 64.0;
    time_layer(
        "SeparableConv2D(64, 3, same) on (28, 28, 32)",
        &mut layer,
        &large,
        batch,
        separable_macs,
    );
}
