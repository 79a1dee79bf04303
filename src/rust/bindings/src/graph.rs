//! The functional API: models built as graphs of layer calls, with several
//! inputs and outputs. A tensor of the graph is passed between R and Rust
//! as a number: input `k` (0-based) is `-(k + 1)` and the output of node
//! `i` is `i + 1`.

use extendr_api::prelude::*;
use extendr_api::Result;

use engine::layers::merge::{ElementwiseOp, MergeSpec};
use engine::losses::Loss;
use engine::model::{size_of, Head, Model, Src};

use crate::convert::{self, Received};
use crate::errors::{engine_err, guard, r_error};
use crate::{metrics, named_params, seed_of, with_model, with_model_ref};

fn src_of(code: f64) -> Result<Src> {
    if code.is_nan() || code == 0.0 || code.fract() != 0.0 {
        return Err(r_error(&format!("{code} is not a tensor code")));
    }
    Ok(if code < 0.0 {
        Src::Input((-code) as usize - 1)
    } else {
        Src::Node(code as usize - 1)
    })
}

fn code_of(src: Src) -> f64 {
    match src {
        Src::Input(k) => -(k as f64) - 1.0,
        Src::Node(i) => i as f64 + 1.0,
    }
}

fn srcs_of(codes: &[f64]) -> Result<Vec<Src>> {
    codes.iter().map(|&c| src_of(c)).collect()
}

/// Creates an empty functional model with the given inputs.
/// @noRd
#[extendr]
fn rs_graph_new(
    name: &str,
    input_shapes: List,
    input_names: Vec<String>,
    seed: f64,
) -> Result<Robj> {
    guard(|| {
        let shapes = input_shapes
            .values()
            .map(|s| {
                s.as_real_vector()
                    .map(|v| v.iter().map(|&d| d.max(0.0) as usize).collect())
                    .ok_or_else(|| r_error("input shapes must be numeric vectors"))
            })
            .collect::<Result<Vec<Vec<usize>>>>()?;
        let model = Model::new_graph(name, shapes, input_names, seed_of(seed).unwrap_or(0))
            .map_err(engine_err)?;
        let mut robj: Robj = ExternalPtr::new(model).into();
        robj.set_class(["kerust_model_ptr"])?;
        Ok(robj)
    })
}

/// Makes the next layer added take the tensors `inputs`.
/// @noRd
#[extendr]
fn rs_set_next_inputs(model: Robj, inputs: Vec<f64>) -> Result<()> {
    guard(|| {
        let srcs = srcs_of(&inputs)?;
        with_model(&model, |m| m.set_next_inputs(srcs).map_err(engine_err))
    })
}

/// Calls the existing layer `name` on `inputs` (a shared layer).
/// @noRd
#[extendr]
fn rs_call_layer(model: Robj, name: &str, inputs: Vec<f64>) -> Result<()> {
    guard(|| {
        let srcs = srcs_of(&inputs)?;
        with_model(&model, |m| m.call_layer(name, srcs).map_err(engine_err))
    })
}

/// Adds a merge layer on the inputs set by `rs_set_next_inputs`. `axes`
/// contains Concatenate's axis or Dot's two axes.
/// @noRd
#[extendr]
fn rs_add_merge(
    model: Robj,
    name: &str,
    kind: &str,
    axes: Vec<f64>,
    normalize: bool,
) -> Result<()> {
    guard(|| {
        let axis = |i: usize| axes.get(i).copied().unwrap_or(-1.0) as i64;
        let spec = match kind {
            "add" => MergeSpec::Elementwise(ElementwiseOp::Add),
            "subtract" => MergeSpec::Elementwise(ElementwiseOp::Subtract),
            "multiply" => MergeSpec::Elementwise(ElementwiseOp::Multiply),
            "average" => MergeSpec::Elementwise(ElementwiseOp::Average),
            "maximum" => MergeSpec::Elementwise(ElementwiseOp::Maximum),
            "minimum" => MergeSpec::Elementwise(ElementwiseOp::Minimum),
            "concatenate" => MergeSpec::Concatenate { axis: axis(0) },
            "dot" => MergeSpec::Dot {
                axes: [axis(0), axis(1)],
                normalize,
            },
            other => return Err(r_error(&format!("unknown merge layer \"{other}\""))),
        };
        with_model(&model, |m| {
            m.add_merge_with(name, |shapes| spec.build(name, shapes))
                .map_err(engine_err)
        })
    })
}

/// Sets the model outputs, closing the graph.
/// @noRd
#[extendr]
fn rs_set_outputs(model: Robj, outputs: Vec<f64>) -> Result<()> {
    guard(|| {
        let srcs = srcs_of(&outputs)?;
        with_model(&model, |m| m.set_outputs(srcs).map_err(engine_err))
    })
}

/// Names the model outputs (keras's named outputs).
/// @noRd
#[extendr]
fn rs_set_output_names(model: Robj, names: Vec<String>) -> Result<()> {
    guard(|| with_model(&model, |m| m.set_output_names(names).map_err(engine_err)))
}

/// Returns the tensor code of the last node added.
/// @noRd
#[extendr]
fn rs_last_node(model: Robj) -> Result<f64> {
    guard(|| {
        with_model_ref(&model, |m| match m.nodes().len() {
            0 => Err(r_error("the model has no layers")),
            n => Ok(code_of(Src::Node(n - 1))),
        })
    })
}

/// Freezes or unfreezes the weights of the named layers.
/// @noRd
#[extendr]
fn rs_set_trainable(model: Robj, layers: Vec<String>, trainable: bool) -> Result<()> {
    guard(|| {
        with_model(&model, |m| {
            for name in &layers {
                m.set_trainable(name, trainable).map_err(engine_err)?;
            }
            Ok(())
        })
    })
}

/// Copies the weights of layer `name` from model `from` into `to`.
/// @noRd
#[extendr]
fn rs_copy_layer_weights(to: Robj, from: Robj, name: &str) -> Result<()> {
    guard(|| {
        let same = crate::model_mut(&to)?
            .try_addr()
            .ok()
            .map(|m| m as *const Model)
            == crate::model_mut(&from)?
                .try_addr()
                .ok()
                .map(|m| m as *const Model);
        if same {
            return Ok(());
        }
        with_model_ref(&from, |src| {
            with_model(&to, |dst| {
                dst.copy_layer_weights(src, name).map_err(engine_err)
            })
        })
    })
}

/// Describes the graph: for each node its layer (1-based) and input
/// tensor codes; the output codes, names and shapes; the inputs.
/// @noRd
#[extendr]
fn rs_graph_info(model: Robj) -> Result<Robj> {
    guard(|| {
        with_model_ref(&model, |m| {
            let layers: Vec<i32> = m.nodes().iter().map(|n| n.layer as i32 + 1).collect();
            let inputs: Vec<Robj> = m
                .nodes()
                .iter()
                .map(|n| Robj::from(n.inputs.iter().map(|&s| code_of(s)).collect::<Vec<f64>>()))
                .collect();
            let outputs: Vec<f64> = m.output_srcs().into_iter().map(code_of).collect();
            // Doubles, because a flattened axis may exceed R's integer range.
            let shape = |s: &[usize]| Robj::from(s.iter().map(|&d| d as f64).collect::<Vec<f64>>());
            let output_shapes: Vec<Robj> = m.output_shapes().iter().map(|s| shape(s)).collect();
            let input_shapes: Vec<Robj> = m.input_shapes().iter().map(|s| shape(s)).collect();
            let (trainable, frozen): (Vec<f64>, Vec<f64>) = (0..m.layers().len())
                .map(|l| {
                    let (t, f) = m.layer_param_counts(l);
                    (t as f64, f as f64)
                })
                .unzip();
            Ok(list!(
                node_layer = layers,
                node_inputs = List::from_values(inputs),
                outputs = outputs,
                output_names = m.output_names(),
                output_shapes = List::from_values(output_shapes),
                input_names = m.input_names().to_vec(),
                input_shapes = List::from_values(input_shapes),
                layer_trainable = trainable,
                layer_frozen = frozen,
                is_graph = m.is_graph()
            )
            .into())
        })
    })
}

/// Sets the losses and metrics of outputs 2 and later (`heads`, a list of
/// lists with `loss`, `loss_params`, `metric_kinds`, `metric_names` and
/// `metric_params`) and the loss weights of all outputs.
/// @noRd
#[extendr]
fn rs_compile_heads(model: Robj, heads: List, loss_weights: Vec<f64>) -> Result<()> {
    guard(|| {
        with_model(&model, |m| {
            let shapes = m.output_shapes();
            if heads.len() + 1 != shapes.len() || loss_weights.len() != shapes.len() {
                return Err(r_error(&format!(
                    "the model has {} outputs but got {} losses and {} loss weights",
                    shapes.len(),
                    heads.len() + 1,
                    loss_weights.len()
                )));
            }
            let mut extra = Vec::with_capacity(heads.len());
            for (h, (_, head)) in heads.iter().enumerate() {
                let head: List = head.try_into()?;
                let get = |k: &str| head.iter().find(|(n, _)| *n == k).map(|(_, v)| v);
                let loss_name = get("loss")
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                let lp = named_params(&get("loss_params").unwrap_or(().into()));
                let lget = |key: &str, default: f64| {
                    lp.iter()
                        .find(|(n, _)| n == key)
                        .map(|(_, v)| *v)
                        .unwrap_or(default)
                };
                let loss = Loss::from_name(
                    &loss_name,
                    lget("from_logits", 0.0) != 0.0,
                    lget("label_smoothing", 0.0) as f32,
                    lget("delta", 1.0) as f32,
                )
                .map_err(engine_err)?;
                let strings = |k: &str| -> Vec<String> {
                    get(k)
                        .and_then(|v| v.as_string_vector())
                        .unwrap_or_default()
                };
                let metrics = metrics::metrics_of(
                    &strings("metric_kinds"),
                    &strings("metric_names"),
                    &get("metric_params").unwrap_or(().into()),
                    size_of(&shapes[h + 1]),
                )?;
                extra.push(Head { loss, metrics });
            }
            m.extra_heads = extra;
            m.loss_weights = loss_weights.iter().map(|&w| w as f32).collect();
            Ok(())
        })
    })
}

/// Interleaves per-sample blocks of several row-major buffers into one
/// buffer of rows.
fn interleave(parts: &[(Vec<f32>, usize)], n: usize) -> Vec<f32> {
    let width: usize = parts.iter().map(|(_, w)| w).sum();
    let mut out = vec![0f32; n * width];
    let mut offset = 0;
    for (data, w) in parts {
        for s in 0..n {
            out[s * width + offset..s * width + offset + w]
                .copy_from_slice(&data[s * w..(s + 1) * w]);
        }
        offset += w;
    }
    out
}

fn sample_shape(dims: &[usize]) -> &[usize] {
    &dims[1.min(dims.len())..]
}

fn check_input(m: &Model, arg: &str, k: usize, dims: &[usize]) -> Result<usize> {
    let sample = sample_shape(dims);
    let expected = &m.input_shapes()[k];
    let sample_or_one: &[usize] = if sample.is_empty() { &[1] } else { sample };
    if sample_or_one != expected.as_slice() {
        let input_label = if m.input_shapes().len() > 1 {
            format!(" (input \"{}\")", m.input_names()[k])
        } else {
            String::new()
        };
        return Err(r_error(&format!(
            "`{arg}`{input_label} has samples of shape {} but the model expects input_shape = {}",
            engine::error::format_shape(sample_or_one),
            engine::error::format_shape(expected)
        )));
    }
    Ok(dims[0])
}

/// Converts the model inputs: one array, or a list of one array per input
/// (in order). Returns the rows of all inputs side by side and the count.
pub fn inputs_of(m: &Model, arg: &str, x: &Robj) -> Result<(Vec<f32>, usize)> {
    let count = m.input_shapes().len();
    if !x.is_list() {
        if count > 1 {
            return Err(r_error(&format!(
                "`{arg}` must be a list of {count} arrays, one per model input"
            )));
        }
        let r = convert::from_r(arg, x)?;
        let n = check_input(m, arg, 0, &r.dims)?;
        return Ok((r.data, n));
    }
    let list: List = x.clone().try_into()?;
    if list.len() != count {
        return Err(r_error(&format!(
            "`{arg}` has {} arrays but the model has {count} input{}",
            list.len(),
            if count == 1 { "" } else { "s" }
        )));
    }
    let mut parts = Vec::with_capacity(count);
    let mut n = None;
    for (k, (_, v)) in list.iter().enumerate() {
        let name = format!("{arg}[[{}]]", k + 1);
        let r: Received = convert::from_r(&name, &v)?;
        let nk = check_input(m, &name, k, &r.dims)?;
        if n.is_some_and(|n| n != nk) {
            return Err(r_error(&format!(
                "the arrays of `{arg}` must have the same number of samples: {name} has {nk}, {arg}[[1]] has {}",
                n.unwrap_or(0)
            )));
        }
        n = Some(nk);
        parts.push((r.data, size_of(&m.input_shapes()[k])));
    }
    let n = n.unwrap_or(0);
    Ok((interleave(&parts, n), n))
}

/// Converts the targets: one array, or a list of one array per output.
pub fn targets_of(m: &Model, arg: &str, y: &Robj, n: usize) -> Result<Vec<f32>> {
    let count = m.output_count();
    if !y.is_list() {
        if count > 1 {
            return Err(r_error(&format!(
                "`{arg}` must be a list of {count} arrays, one per model output"
            )));
        }
        return Ok(convert::from_r(arg, y)?.data);
    }
    let list: List = y.clone().try_into()?;
    if list.len() != count {
        return Err(r_error(&format!(
            "`{arg}` has {} arrays but the model has {count} output{}",
            list.len(),
            if count == 1 { "" } else { "s" }
        )));
    }
    let names = m.output_names();
    let mut parts = Vec::with_capacity(count);
    for (h, (_, v)) in list.iter().enumerate() {
        let name = format!("{arg}[[{}]]", h + 1);
        let r = convert::from_r(&name, &v)?;
        let width = m.target_width(h);
        if r.data.len() != n * width {
            return Err(r_error(&format!(
                "{name} (output \"{}\") has {} values but {n} samples of {width} value{} were expected",
                names[h],
                r.data.len(),
                if width == 1 { "" } else { "s" }
            )));
        }
        parts.push((r.data, width));
    }
    Ok(interleave(&parts, n))
}

/// Splits predictions of all outputs (rows side by side) into one R array
/// per output, or returns the single output's array.
pub fn outputs_to_r(m: &Model, values: &[f32], n: usize) -> Robj {
    let shapes = m.output_shapes();
    let dims_for = |shape: &[usize]| {
        let mut dims = vec![n];
        dims.extend_from_slice(shape);
        if dims.len() == 1 {
            dims.push(1);
        }
        dims
    };
    if shapes.len() == 1 {
        return convert::to_r(values, &dims_for(&shapes[0]));
    }
    let widths: Vec<usize> = shapes.iter().map(|s| size_of(s)).collect();
    let total: usize = widths.iter().sum();
    let mut offset = 0;
    let mut arrays = Vec::with_capacity(shapes.len());
    for (shape, &w) in shapes.iter().zip(&widths) {
        let mut part = vec![0f32; n * w];
        for s in 0..n {
            part[s * w..(s + 1) * w]
                .copy_from_slice(&values[s * total + offset..s * total + offset + w]);
        }
        offset += w;
        arrays.push(convert::to_r(&part, &dims_for(shape)));
    }
    let mut list: Robj = List::from_values(arrays).into();
    let _ = list.set_names(m.output_names());
    list
}

extendr_module! {
    mod graph;
    fn rs_graph_new;
    fn rs_set_next_inputs;
    fn rs_call_layer;
    fn rs_add_merge;
    fn rs_set_outputs;
    fn rs_set_output_names;
    fn rs_last_node;
    fn rs_set_trainable;
    fn rs_copy_layer_weights;
    fn rs_graph_info;
    fn rs_compile_heads;
}
