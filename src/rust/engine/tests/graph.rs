//! Functional graphs: tensors read by several layers, shared layers, merge
//! layers, several inputs and outputs. Gradients are checked against
//! central differences of the total loss.

mod common;

use common::{check_model_gradients, GradCheck, ModelCase};
use engine::activations::Activation;
use engine::init::Initializer;
use engine::layers::merge::{Concatenate, Dot, Elementwise, ElementwiseOp};
use engine::layers::Layer;
use engine::losses::Loss;
use engine::model::{Compiled, Head, Model, Src};
use engine::optim::{Optimizer, OptimizerKind};

fn dense(model: &mut Model, name: &str, units: usize, activation: Activation, seed: u64) {
    model
        .add_dense(
            name,
            units,
            activation,
            true,
            &Initializer::GlorotUniform,
            Some(seed),
            &Initializer::RandomNormal {
                mean: 0.0,
                stddev: 0.3,
            },
            Some(seed + 1),
        )
        .expect("valid dense layer");
}

fn call_dense(
    model: &mut Model,
    inputs: &[Src],
    name: &str,
    units: usize,
    activation: Activation,
    seed: u64,
) -> Src {
    model.set_next_inputs(inputs.to_vec()).unwrap();
    dense(model, name, units, activation, seed);
    Src::Node(model.nodes().len() - 1)
}

fn merge(model: &mut Model, inputs: &[Src], name: &str, op: ElementwiseOp) -> Src {
    model.set_next_inputs(inputs.to_vec()).unwrap();
    model
        .add_merge_with(name, |shapes| {
            Ok(Box::new(Elementwise::new(name, op, shapes)?))
        })
        .unwrap();
    Src::Node(model.nodes().len() - 1)
}

fn sgd() -> Optimizer {
    Optimizer::new(
        OptimizerKind::Sgd {
            momentum: 0.0,
            nesterov: false,
        },
        0.01,
    )
}

/// Values in [-scale, scale] that differ from sample to sample.
fn spread(n: usize, scale: f32, offset: usize) -> Vec<f32> {
    (0..n)
        .map(|i| scale * (((i + offset) as f32 * 0.7311).sin()))
        .collect()
}

/// Input 0 goes through an identity Reshape (node 0) so that the check
/// covers the gradient of a tensor read by two layers.
fn graph_start(inputs: Vec<Vec<usize>>) -> (Model, Src) {
    let names = (0..inputs.len()).map(|i| format!("input_{i}")).collect();
    let mut model = Model::new_graph("graph", inputs.clone(), names, 7).unwrap();
    model.set_next_inputs(vec![Src::Input(0)]).unwrap();
    let target: Vec<i64> = inputs[0].iter().map(|&d| d as i64).collect();
    model.add_reshape("identity", &target).unwrap();
    (model, Src::Node(0))
}

const CHECK: GradCheck = GradCheck {
    step: 1e-2,
    rtol: 2e-2,
    atol: 2e-4,
};

#[test]
fn gradients_of_shared_tensor_and_layer() {
    let (mut model, x) = graph_start(vec![vec![4], vec![3]]);
    let a = call_dense(&mut model, &[x], "a", 5, Activation::Tanh, 1);
    let b = call_dense(&mut model, &[x], "b", 5, Activation::Sigmoid, 3);
    // One layer, two calls: the weights get the sum of both gradients.
    let sa = call_dense(&mut model, &[a], "shared", 5, Activation::Tanh, 5);
    model.call_layer("shared", vec![b]).unwrap();
    let sb = Src::Node(model.nodes().len() - 1);
    let sum = merge(&mut model, &[sa, sb], "add", ElementwiseOp::Add);
    let product = merge(&mut model, &[sa, sb], "multiply", ElementwiseOp::Multiply);
    model
        .set_next_inputs(vec![sum, product, Src::Input(1)])
        .unwrap();
    model
        .add_merge_with("concatenate", |s| {
            Ok(Box::new(Concatenate::new("concatenate", -1, s)?))
        })
        .unwrap();
    let joined = Src::Node(model.nodes().len() - 1);
    assert_eq!(model.src_shape(joined), &[13]);
    let out1 = call_dense(
        &mut model,
        &[joined],
        "regression",
        2,
        Activation::Linear,
        9,
    );
    let out2 = call_dense(&mut model, &[sum], "classes", 3, Activation::Softmax, 11);
    model.set_outputs(vec![out1, out2]).unwrap();
    model.compiled = Some(Compiled {
        loss: Loss::MeanSquaredError,
        metrics: Vec::new(),
        optimizer: sgd(),
    });
    model.extra_heads = vec![Head {
        loss: Loss::CategoricalCrossentropy {
            from_logits: false,
            label_smoothing: 0.0,
        },
        metrics: Vec::new(),
    }];
    model.loss_weights = vec![1.0, 0.5];
    assert!(
        model.fused_head(1),
        "softmax output with crossentropy fuses"
    );

    let batch = 3;
    let x0 = spread(batch * 4, 1.0, 0);
    let x1 = spread(batch * 3, 1.0, 5);
    let y0 = spread(batch * 2, 0.8, 11);
    let y1: Vec<f32> = (0..batch * 3)
        .map(|i| if i % 3 == i / 3 { 1.0 } else { 0.0 })
        .collect();
    model.ensure_plan(batch, true, 2);
    let plan = model.plan_mut();
    plan.extra_inputs[0][..x1.len()].copy_from_slice(&x1);
    plan.extra_targets[0][..y1.len()].copy_from_slice(&y1);
    let case = ModelCase {
        input: &x0,
        target: &y0,
        batch,
        training: false,
        rng_seed: 0,
    };
    check_model_gradients("two-output graph", &mut model, &case, CHECK);
}

#[test]
fn gradients_of_every_merge_layer() {
    let ops = [
        ElementwiseOp::Add,
        ElementwiseOp::Subtract,
        ElementwiseOp::Multiply,
        ElementwiseOp::Average,
        ElementwiseOp::Maximum,
        ElementwiseOp::Minimum,
    ];
    for op in ops {
        let (mut model, x) = graph_start(vec![vec![4]]);
        let a = call_dense(&mut model, &[x], "a", 6, Activation::Tanh, 1);
        let b = call_dense(&mut model, &[x], "b", 6, Activation::Linear, 3);
        let m = merge(&mut model, &[a, b], "merge", op);
        let out = call_dense(&mut model, &[m], "out", 2, Activation::Linear, 5);
        model.set_outputs(vec![out]).unwrap();
        check_regression(&mut model, &format!("{op:?}"));
    }
    for (axes, normalize) in [([-1, -1], false), ([1, 1], true)] {
        let (mut model, x) = graph_start(vec![vec![4]]);
        let a = call_dense(&mut model, &[x], "a", 6, Activation::Tanh, 1);
        let b = call_dense(&mut model, &[x], "b", 6, Activation::Linear, 3);
        model.set_next_inputs(vec![a, b]).unwrap();
        model
            .add_merge_with("dot", |s| {
                Ok(Box::new(Dot::new("dot", axes, normalize, s)?))
            })
            .unwrap();
        let d = Src::Node(model.nodes().len() - 1);
        assert_eq!(model.src_shape(d), &[1]);
        let out = call_dense(&mut model, &[d], "out", 2, Activation::Linear, 5);
        model.set_outputs(vec![out]).unwrap();
        check_regression(&mut model, &format!("Dot normalize = {normalize}"));
    }
    // Dot of matrices: (3, 4) . (5, 4) along the last axes gives (3, 5).
    let (mut model, x) = graph_start(vec![vec![3, 4], vec![5, 4]]);
    let a = call_dense(&mut model, &[x], "a", 4, Activation::Tanh, 1);
    model.set_next_inputs(vec![a, Src::Input(1)]).unwrap();
    model
        .add_merge_with("dot", |s| Ok(Box::new(Dot::new("dot", [2, 2], true, s)?)))
        .unwrap();
    let d = Src::Node(model.nodes().len() - 1);
    assert_eq!(model.src_shape(d), &[3, 5]);
    model.set_outputs(vec![d]).unwrap();
    let batch = 3;
    model.compiled = Some(Compiled {
        loss: Loss::MeanSquaredError,
        metrics: Vec::new(),
        optimizer: sgd(),
    });
    model.ensure_plan(batch, true, 15);
    let x1 = spread(batch * 20, 1.0, 3);
    model.plan_mut().extra_inputs[0][..x1.len()].copy_from_slice(&x1);
    let x0 = spread(batch * 12, 1.0, 0);
    let y = spread(batch * 15, 0.5, 7);
    let case = ModelCase {
        input: &x0,
        target: &y,
        batch,
        training: false,
        rng_seed: 0,
    };
    check_model_gradients("Dot of matrices", &mut model, &case, CHECK);
}

fn check_regression(model: &mut Model, description: &str) {
    model.compiled = Some(Compiled {
        loss: Loss::MeanSquaredError,
        metrics: Vec::new(),
        optimizer: sgd(),
    });
    let batch = 3;
    let x = spread(batch * 4, 1.0, 0);
    let y = spread(batch * 2, 0.8, 11);
    let case = ModelCase {
        input: &x,
        target: &y,
        batch,
        training: false,
        rng_seed: 0,
    };
    check_model_gradients(description, model, &case, CHECK);
}

/// Values computed by hand for two samples.
#[test]
fn merge_layers_compute_known_values() {
    let a = [1.0f32, -2.0, 3.0, 0.5, 0.0, -1.0];
    let b = [2.0f32, 2.0, -1.0, 0.5, 4.0, -3.0];
    let shapes = vec![vec![3], vec![3]];
    let run = |layer: &dyn Layer| {
        let mut y = vec![0.0; 2 * layer.output_shape().iter().product::<usize>()];
        layer.as_merge().unwrap().forward_many(&[&a, &b], 2, &mut y);
        y
    };
    let expect = [
        (ElementwiseOp::Add, vec![3.0, 0.0, 2.0, 1.0, 4.0, -4.0]),
        (
            ElementwiseOp::Subtract,
            vec![-1.0, -4.0, 4.0, 0.0, -4.0, 2.0],
        ),
        (
            ElementwiseOp::Multiply,
            vec![2.0, -4.0, -3.0, 0.25, 0.0, 3.0],
        ),
        (ElementwiseOp::Average, vec![1.5, 0.0, 1.0, 0.5, 2.0, -2.0]),
        (ElementwiseOp::Maximum, vec![2.0, 2.0, 3.0, 0.5, 4.0, -1.0]),
        (
            ElementwiseOp::Minimum,
            vec![1.0, -2.0, -1.0, 0.5, 0.0, -3.0],
        ),
    ];
    for (op, want) in expect {
        assert_eq!(
            run(&Elementwise::new("m", op, &shapes).unwrap()),
            want,
            "{op:?}"
        );
    }
    let concat = Concatenate::new("c", -1, &shapes).unwrap();
    assert_eq!(
        run(&concat),
        vec![1.0, -2.0, 3.0, 2.0, 2.0, -1.0, 0.5, 0.0, -1.0, 0.5, 4.0, -3.0]
    );
    // 1*2 - 2*2 - 3*1 = -5; 0.25 + 0 + 3 = 3.25.
    assert_eq!(
        run(&Dot::new("d", [1, 1], false, &shapes).unwrap()),
        vec![-5.0, 3.25]
    );
    // Cosine: -5 / (sqrt(14) * 3) and 3.25 / (sqrt(1.25) * sqrt(25.25)).
    let cos = run(&Dot::new("d", [1, 1], true, &shapes).unwrap());
    assert!((cos[0] - (-5.0 / (14f32.sqrt() * 3.0))).abs() < 1e-6);
    assert!((cos[1] - 3.25 / (1.25f32.sqrt() * 25.25f32.sqrt())).abs() < 1e-6);
    // Concatenating (2, 3) and (2, 1) along axis 2: rows are joined.
    let c = Concatenate::new("c", 2, &[vec![2, 3], vec![2, 1]]).unwrap();
    assert_eq!(c.output_shape(), &[2, 4]);
    let mut y = vec![0.0; 8];
    c.as_merge().unwrap().forward_many(
        &[&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0][..], &[7.0, 8.0][..]],
        1,
        &mut y,
    );
    assert_eq!(y, vec![1.0, 2.0, 3.0, 7.0, 4.0, 5.0, 6.0, 8.0]);
}

#[test]
fn bad_graphs_are_rejected() {
    let shapes = vec![vec![3], vec![4]];
    assert!(Elementwise::new("m", ElementwiseOp::Add, &shapes)
        .unwrap_err()
        .to_string()
        .contains("one shape"));
    assert!(Elementwise::new("m", ElementwiseOp::Subtract, &[vec![3], vec![3], vec![3]]).is_err());
    assert!(Concatenate::new("c", 2, &[vec![2, 3], vec![3, 3]]).is_err());
    assert!(Concatenate::new("c", 3, &[vec![2, 3], vec![2, 3]]).is_err());
    assert!(Dot::new("d", [1, 1], false, &shapes).is_err());

    let mut model =
        Model::new_graph("g", vec![vec![3], vec![2]], vec!["a".into(), "b".into()], 1).unwrap();
    let h = call_dense(&mut model, &[Src::Input(0)], "h", 2, Activation::Linear, 1);
    let err = model.set_outputs(vec![h]).unwrap_err().to_string();
    assert!(err.contains("do not depend on input \"b\""), "{err}");
    // A shared layer called on a tensor of another shape.
    let err = model
        .call_layer("h", vec![Src::Input(1)])
        .unwrap_err()
        .to_string();
    assert!(err.contains("was built for inputs of shape"), "{err}");
    assert!(model.set_next_inputs(vec![Src::Node(9)]).is_err());
    assert!(model.set_outputs(vec![h, h]).is_err());
}
