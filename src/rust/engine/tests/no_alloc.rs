//! Checks with a counting global allocator that the graph executor
//! allocates nothing in a training step once the plan is built. The models
//! (a chain, and a graph with a shared layer and merge layers) have no
//! weights, because the matrix products of weighted layers allocate packing
//! buffers inside the `gemm` crate.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use engine::activations::Activation;
use engine::layers::merge::{Concatenate, Elementwise, ElementwiseOp};
use engine::losses::Loss;
use engine::model::{Compiled, Model, Src};
use engine::optim::{Optimizer, OptimizerKind};
use rand::rngs::StdRng;
use rand::SeedableRng;

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn activation(model: &mut Model, name: &str, activation: Activation) {
    model.add_activation(name, activation).unwrap();
}

/// Runs `steps` training steps on the calling thread and returns the
/// number of allocations they made, after one warm-up step.
fn allocations_per_steps(model: &mut Model, batch: usize, steps: usize) -> usize {
    model.compiled = Some(Compiled {
        loss: Loss::MeanSquaredError,
        metrics: Vec::new(),
        optimizer: Optimizer::new(
            OptimizerKind::Adam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
                amsgrad: false,
            },
            0.001,
        ),
    });
    let width: usize = model.output_shape().iter().product();
    model.ensure_plan(batch, true, width);
    let mut rng = StdRng::seed_from_u64(0);
    let mut step = |model: &mut Model| {
        model.forward(batch, true, &mut rng);
        model.loss_and_metrics(batch, true);
        let fused = model.fused_output();
        model.backward(batch, fused);
        model.apply_gradients().unwrap();
    };
    step(model);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..steps {
        step(model);
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn training_steps_do_not_allocate() {
    let mut chain = Model::new("chain", vec![6], 1).unwrap();
    activation(&mut chain, "a", Activation::Tanh);
    activation(&mut chain, "b", Activation::Sigmoid);
    assert_eq!(allocations_per_steps(&mut chain, 4, 5), 0, "chain");

    let mut graph = Model::new_graph(
        "graph",
        vec![vec![6], vec![2]],
        vec!["x".into(), "y".into()],
        1,
    )
    .unwrap();
    graph.set_next_inputs(vec![Src::Input(0)]).unwrap();
    activation(&mut graph, "a", Activation::Tanh);
    graph.set_next_inputs(vec![Src::Node(0)]).unwrap();
    activation(&mut graph, "shared", Activation::Sigmoid);
    graph.call_layer("shared", vec![Src::Node(1)]).unwrap();
    // Node 0 feeds node 1 and the add below, so its gradient is a sum.
    graph
        .set_next_inputs(vec![Src::Node(0), Src::Node(2)])
        .unwrap();
    graph
        .add_merge_with("add", |s| {
            Ok(Box::new(Elementwise::new("add", ElementwiseOp::Add, s)?))
        })
        .unwrap();
    graph
        .set_next_inputs(vec![Src::Node(3), Src::Input(1)])
        .unwrap();
    graph
        .add_merge_with("concatenate", |s| {
            Ok(Box::new(Concatenate::new("concatenate", -1, s)?))
        })
        .unwrap();
    graph.set_outputs(vec![Src::Node(4)]).unwrap();
    assert_eq!(allocations_per_steps(&mut graph, 4, 5), 0, "graph");
}
