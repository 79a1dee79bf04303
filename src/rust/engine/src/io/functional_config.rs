//! `config.json` of functional models (`keras_model()`) in Keras 3's
//! layout: `"class_name": "Functional"`, one entry per layer with its
//! `inbound_nodes` (one per call, so a shared layer has several),
//! `input_layers` and `output_layers`. A tensor is named by
//! `keras_history: [layer, node index, tensor index]`, where the node
//! index counts the calls of that layer in the model.
//!
//! `tools/golden/functional_config.py` writes the config Keras 3.15.1
//! saves for a two-input, two-output model with a shared layer.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::layers::merge::{ElementwiseOp, MergeSpec};
use crate::layers::Layer;
use crate::model::{size_of, Head, Model, Src};

use super::keras_config::{
    add_layer_from_config, batch_shape, check_dtype, compile_config, dtype_policy, f32_value,
    input_layer_shape, invalid, keras_object, layer_value, loss_from_config, loss_value,
    metric_from_config, metric_value, Fields,
};
use super::optimizer;

// ---- Writing -------------------------------------------------------------------

/// Returns the Keras tensor that `src` names in a config: its layer, the
/// call of that layer that made it, and its shape.
fn tensor_value(model: &Model, src: Src) -> Value {
    let (layer, call) = match src {
        Src::Input(k) => (model.input_names()[k].clone(), 0),
        Src::Node(i) => {
            let l = model.nodes()[i].layer;
            let call = model.nodes()[..i].iter().filter(|n| n.layer == l).count();
            (model.layers()[l].name().to_string(), call)
        }
    };
    json!({
        "class_name": "__keras_tensor__",
        "config": {
            "shape": batch_shape(model.src_shape(src)),
            "dtype": "float32",
            "keras_history": [layer, call, 0],
        },
    })
}

/// Returns the config of a merge layer (Add, Concatenate, Dot, ...).
fn merge_value(layer: &dyn Layer, trainable: bool, input_shapes: &[Vec<usize>]) -> Value {
    let mut config = Map::new();
    config.insert("name".into(), Value::from(layer.name()));
    config.insert("trainable".into(), Value::Bool(trainable));
    config.insert("dtype".into(), dtype_policy());
    match layer.as_merge().map(|m| m.merge_spec()) {
        Some(MergeSpec::Concatenate { axis }) => {
            config.insert("axis".into(), Value::from(axis));
        }
        Some(MergeSpec::Dot { axes, normalize }) => {
            // Keras writes `axes` as it was given: one integer for both inputs or a pair.
            let axes = if axes[0] == axes[1] {
                Value::from(axes[0])
            } else {
                Value::from(axes.to_vec())
            };
            config.insert("axes".into(), axes);
            config.insert("normalize".into(), Value::Bool(normalize));
        }
        _ => {}
    }
    let shapes: Vec<Value> = input_shapes.iter().map(|s| batch_shape(s)).collect();
    let mut value = keras_object("keras.layers", layer.class_name(), Value::Object(config));
    value["build_config"] = json!({ "input_shape": shapes });
    value
}

/// Returns the config entry of layer `l`: its Keras config with its name
/// and one inbound node per call.
fn graph_layer_value(model: &Model, l: usize) -> Result<Value> {
    let layer = model.layers()[l].as_ref();
    let calls: Vec<&[Src]> = model
        .nodes()
        .iter()
        .filter(|n| n.layer == l)
        .map(|n| &n.inputs[..])
        .collect();
    let first: Vec<Vec<usize>> = calls
        .first()
        .map(|inputs| {
            inputs
                .iter()
                .map(|&s| model.src_shape(s).to_vec())
                .collect()
        })
        .unwrap_or_default();
    let merge = layer.as_merge().is_some();
    let mut value = if merge {
        merge_value(layer, model.is_trainable(l), &first)
    } else {
        layer_value(model, l, first.first().map(Vec::as_slice).unwrap_or(&[]))?
    };
    let nodes: Vec<Value> = calls
        .iter()
        .map(|inputs| {
            let tensors: Vec<Value> = inputs.iter().map(|&s| tensor_value(model, s)).collect();
            // A merge takes its tensors as one list argument.
            let args = if merge {
                vec![Value::Array(tensors)]
            } else {
                tensors
            };
            json!({ "args": args, "kwargs": {} })
        })
        .collect();
    value["name"] = Value::from(layer.name());
    value["inbound_nodes"] = Value::Array(nodes);
    Ok(value)
}

fn history_value(model: &Model, src: Src) -> Value {
    tensor_value(model, src)["config"]["keras_history"].clone()
}

/// Returns `config.json` for a functional model.
pub(super) fn model_config(model: &Model, include_compile: bool) -> Result<Value> {
    let mut layers = Vec::new();
    for (name, shape) in model.input_names().iter().zip(model.input_shapes()) {
        let mut value = keras_object(
            "keras.layers",
            "InputLayer",
            json!({
                "batch_shape": batch_shape(shape),
                "dtype": "float32",
                "sparse": false,
                "ragged": false,
                "optional": false,
                "name": name,
            }),
        );
        value["name"] = Value::from(name.as_str());
        value["inbound_nodes"] = json!([]);
        layers.push(value);
    }
    for l in 0..model.layers().len() {
        layers.push(graph_layer_value(model, l)?);
    }
    let inputs: Vec<Value> = (0..model.input_shapes().len())
        .map(|k| history_value(model, Src::Input(k)))
        .collect();
    let outputs: Vec<Value> = model
        .output_srcs()
        .into_iter()
        .map(|s| history_value(model, s))
        .collect();
    let compile = match (&model.compiled, include_compile) {
        (Some(_), true) => graph_compile_config(model)?,
        _ => Value::Null,
    };
    Ok(json!({
        "module": "keras.src.models.functional",
        "class_name": "Functional",
        "config": {
            "name": model.name,
            "trainable": true,
            "layers": layers,
            "input_layers": inputs,
            "output_layers": outputs,
        },
        "registered_name": "Functional",
        "build_config": { "input_shape": null },
        "compile_config": compile,
    }))
}

/// Returns the compile config. With several outputs, `loss`, `metrics` and
/// `loss_weights` are objects keyed by output name, as Keras writes them
/// when `compile()` is given dicts.
fn graph_compile_config(model: &Model) -> Result<Value> {
    let Some(c) = &model.compiled else {
        return Ok(Value::Null);
    };
    let mut value = compile_config(c)?;
    let names = model.output_names();
    let weight = |h: usize| model.loss_weights.get(h).copied().unwrap_or(1.0);

    if names.len() == 1 {
        if weight(0) != 1.0 {
            value["loss_weights"] = json!([f32_value(weight(0))]);
        }
        return Ok(value);
    }

    let mut losses = Map::new();
    let mut metrics = Map::new();
    let mut weights = Map::new();
    for (h, name) in names.iter().enumerate() {
        let loss = model.head_loss(h).ok_or_else(|| {
            Error::State(format!(
                "output \"{name}\" of the compiled model has no loss"
            ))
        })?;
        losses.insert(name.clone(), loss_value(loss));
        let list: Vec<Value> = model.head_metrics(h).iter().map(metric_value).collect();
        metrics.insert(name.clone(), Value::Array(list));
        weights.insert(name.clone(), f32_value(weight(h)));
    }

    value["loss"] = Value::Object(losses);
    value["metrics"] = Value::Object(metrics);
    value["loss_weights"] = Value::Object(weights);
    Ok(value)
}

// ---- Reading -------------------------------------------------------------------

/// A tensor reference `[layer, node index, tensor index]`.
type TensorRef = (String, usize);

/// A layer entry of a Functional config with its parsed inbound nodes.
struct Entry<'a> {
    value: &'a Value,
    class_name: &'a str,
    name: &'a str,
    /// The input tensors of each call.
    nodes: Vec<Vec<TensorRef>>,
    /// Whether the layer takes its inputs as one list (a merge layer).
    takes_list: bool,
}

/// Reads `[name, node, tensor]` (`keras_history` or an entry of
/// `input_layers`/`output_layers`).
fn tensor_ref(v: &Value, place: &str) -> Result<TensorRef> {
    let bad = || {
        invalid(format!(
            "{place} must be [layer name, node index, tensor index], got {v}"
        ))
    };
    let parts = v.as_array().filter(|p| p.len() == 3).ok_or_else(bad)?;
    let name = parts[0].as_str().ok_or_else(bad)?;
    let node = parts[1].as_u64().ok_or_else(bad)? as usize;
    if parts[2].as_u64() != Some(0) {
        return Err(Error::File(format!(
            "{place} names output {} of layer \"{name}\"; kerust layers have one output",
            parts[2]
        )));
    }
    Ok((name.to_string(), node))
}

/// Reads one argument of an inbound node: a Keras tensor or a list of them.
fn node_tensors(arg: &Value, place: &str, out: &mut Vec<TensorRef>) -> Result<()> {
    match arg {
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| node_tensors(item, place, out)),
        Value::Object(_) => {
            let history = arg.pointer("/config/keras_history").ok_or_else(|| {
                invalid(format!("{place}: an argument is not a Keras tensor: {arg}"))
            })?;
            out.push(tensor_ref(history, place)?);
            Ok(())
        }
        other => Err(Error::File(format!(
            "{place}: the argument {other} is not a tensor; kerust layers take tensors only"
        ))),
    }
}

fn parse_entry(value: &Value, index: usize) -> Result<Entry<'_>> {
    let class_name = value
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("layer {index} has no \"class_name\"")))?;
    let name = value
        .get("name")
        .or_else(|| value.pointer("/config/name"))
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("layer {index} ({class_name}) has no \"name\"")))?;
    let place = format!("layer \"{name}\" ({class_name})");
    let raw_nodes = match value.get("inbound_nodes") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(list)) => &list[..],
        Some(other) => {
            return Err(invalid(format!(
                "{place}: \"inbound_nodes\" must be a list, got {other}"
            )))
        }
    };
    let mut nodes = Vec::with_capacity(raw_nodes.len());
    for (k, node) in raw_nodes.iter().enumerate() {
        let node_place = format!("{place}, inbound node {k}");
        let args = node.get("args").and_then(Value::as_array).ok_or_else(|| {
            Error::File(format!(
                "{node_place} has no \"args\" list; kerust reads the Keras 3 format of inbound nodes only"
            ))
        })?;
        let mut tensors = Vec::new();
        for arg in args {
            node_tensors(arg, &node_place, &mut tensors)?;
        }
        if tensors.is_empty() {
            return Err(invalid(format!("{node_place} has no input tensor")));
        }
        nodes.push(tensors);
    }
    Ok(Entry {
        value,
        class_name,
        name,
        nodes,
        takes_list: merge_kind(class_name).is_some(),
    })
}

/// The merge classes and their kerust op; `None` for Concatenate and Dot.
fn merge_kind(class_name: &str) -> Option<Option<ElementwiseOp>> {
    Some(match class_name {
        "Add" => Some(ElementwiseOp::Add),
        "Subtract" => Some(ElementwiseOp::Subtract),
        "Multiply" => Some(ElementwiseOp::Multiply),
        "Average" => Some(ElementwiseOp::Average),
        "Maximum" => Some(ElementwiseOp::Maximum),
        "Minimum" => Some(ElementwiseOp::Minimum),
        "Concatenate" | "Dot" => None,
        _ => return None,
    })
}

/// Adds a merge layer on the inputs set by `Model::set_next_inputs`.
fn add_merge_from_config(model: &mut Model, entry: &Entry) -> Result<()> {
    let config = entry
        .value
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid(format!("layer \"{}\" has no \"config\" object", entry.name)))?;
    let f = Fields {
        config,
        label: format!("layer \"{}\" ({})", entry.name, entry.class_name),
    };
    check_dtype(entry.value.get("config").unwrap_or(&Value::Null), &f.label)?;
    let trainable = f.flag("trainable", true)?;
    let name = entry.name;
    let axis = |v: &Value| {
        v.as_i64()
            .ok_or_else(|| f.bad("axes", "one or two integers"))
    };
    let spec = match entry.class_name {
        "Concatenate" => MergeSpec::Concatenate {
            axis: match f.get("axis") {
                None => -1,
                Some(v) => v.as_i64().ok_or_else(|| f.bad("axis", "an integer"))?,
            },
        },
        "Dot" => MergeSpec::Dot {
            axes: match f.get("axes") {
                Some(Value::Array(pair)) if pair.len() == 2 => [axis(&pair[0])?, axis(&pair[1])?],
                Some(v @ Value::Number(_)) => [axis(v)?; 2],
                _ => return Err(f.bad("axes", "one or two integers")),
            },
            normalize: f.flag("normalize", false)?,
        },
        other => {
            MergeSpec::Elementwise(merge_kind(other).flatten().ok_or_else(|| {
                invalid(format!("layer \"{name}\": {other} is not a merge layer"))
            })?)
        }
    };
    model
        .add_merge_with(name, |shapes| spec.build(name, shapes))
        .and_then(|()| model.set_trainable(name, trainable))
        .map_err(|e| match e {
            Error::File(_) => e,
            other => invalid(format!("{}: {other}", f.label)),
        })
}

/// The state of the depth-first walk that rebuilds the graph.
struct Rebuild<'a> {
    entries: Vec<Entry<'a>>,
    by_name: HashMap<&'a str, usize>,
    /// Tensors already in the engine model, by reference.
    built: HashMap<TensorRef, Src>,
    /// Tensors whose inputs are being made (to detect cycles).
    visiting: Vec<TensorRef>,
}

impl Rebuild<'_> {
    /// Makes the tensor `r` and, first, the tensors it reads, in the order
    /// `keras_model()` builds a graph: depth first, inputs in order.
    fn make(&mut self, model: &mut Model, r: &TensorRef, place: &str) -> Result<Src> {
        if let Some(&src) = self.built.get(r) {
            return Ok(src);
        }
        let e = *self.by_name.get(r.0.as_str()).ok_or_else(|| {
            Error::File(format!(
                "{place} names layer \"{}\", which is not in the model",
                r.0
            ))
        })?;
        let entry = &self.entries[e];
        let node = entry.nodes.get(r.1).ok_or_else(|| {
            Error::File(format!(
                "{place} names call {} of layer \"{}\", which has {} inbound node{}",
                r.1,
                r.0,
                entry.nodes.len(),
                if entry.nodes.len() == 1 { "" } else { "s" }
            ))
        })?;
        if self.visiting.contains(r) {
            let path: Vec<String> = self
                .visiting
                .iter()
                .map(|(n, _)| format!("\"{n}\""))
                .collect();
            return Err(Error::File(format!(
                "the layer graph has a cycle: {} leads back to \"{}\"",
                path.join(" -> "),
                r.0
            )));
        }
        let node = node.clone();
        self.visiting.push(r.clone());
        let node_place = format!("inbound node {} of layer \"{}\"", r.1, r.0);
        let mut inputs = Vec::with_capacity(node.len());
        for input in &node {
            inputs.push(self.make(model, input, &node_place)?);
        }
        self.visiting.pop();

        let entry = &self.entries[e];
        if !entry.takes_list && inputs.len() != 1 {
            return Err(invalid(format!(
                "{node_place} has {} input tensors; a {} layer takes one",
                inputs.len(),
                entry.class_name
            )));
        }
        let already_built = model.layers().iter().any(|l| l.name() == entry.name);
        if already_built {
            model
                .call_layer(entry.name, inputs)
                .map_err(|err| invalid(format!("{node_place}: {err}")))?;
        } else {
            model
                .set_next_inputs(inputs)
                .map_err(|err| invalid(format!("{node_place}: {err}")))?;
            if entry.takes_list {
                add_merge_from_config(model, entry)?;
            } else {
                add_layer_from_config(model, entry.value, e)?;
            }
        }
        let src = Src::Node(model.nodes().len() - 1);
        self.built.insert(r.clone(), src);
        Ok(src)
    }
}

/// Reads the `[name, 0, 0]` entries of `input_layers` or `output_layers`;
/// Keras writes a single entry unwrapped for a model with one input or output.
fn ref_list(inner: &Map<String, Value>, key: &str) -> Result<Vec<TensorRef>> {
    let list = inner
        .get(key)
        .and_then(Value::as_array)
        .ok_or_else(|| invalid(format!("the model has no \"{key}\" list")))?;
    if list.first().is_some_and(Value::is_string) {
        return Ok(vec![tensor_ref(&Value::Array(list.clone()), key)?]);
    }
    if list.is_empty() {
        return Err(invalid(format!("\"{key}\" is empty")));
    }
    list.iter().map(|v| tensor_ref(v, key)).collect()
}

/// Reads a Functional `config.json` into a graph model: the architecture,
/// and the compile configuration when `compile` is true.
pub(super) fn model_from_config(config: &Value, compile: bool) -> Result<Model> {
    let inner = config
        .get("config")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid("the model has no \"config\" object".into()))?;
    let name = inner
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("functional");
    let layers = inner
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("the model has no \"layers\" list".into()))?;
    let entries = layers
        .iter()
        .enumerate()
        .map(|(i, v)| parse_entry(v, i))
        .collect::<Result<Vec<_>>>()?;
    let mut by_name = HashMap::new();
    for (e, entry) in entries.iter().enumerate() {
        if by_name.insert(entry.name, e).is_some() {
            return Err(invalid(format!("two layers are named \"{}\"", entry.name)));
        }
    }

    let input_refs = ref_list(inner, "input_layers")?;
    let mut shapes = Vec::with_capacity(input_refs.len());
    let mut names = Vec::with_capacity(input_refs.len());
    for (k, (input, _)) in input_refs.iter().enumerate() {
        let entry = by_name
            .get(input.as_str())
            .map(|&e| &entries[e])
            .filter(|e| e.class_name == "InputLayer")
            .ok_or_else(|| {
                Error::File(format!(
                    "input_layers entry {k} names \"{input}\", which is not an InputLayer of the model"
                ))
            })?;
        shapes.push(input_layer_shape(entry.value)?);
        names.push(input.clone());
    }
    // The seed of the initial weights does not matter: loading replaces them.
    let mut model = Model::new_graph(name, shapes, names, 0).map_err(|e| invalid(e.to_string()))?;
    let mut built = HashMap::new();
    for (k, (input, _)) in input_refs.iter().enumerate() {
        built.insert((input.clone(), 0), Src::Input(k));
    }
    for entry in &entries {
        if entry.class_name == "InputLayer" && !built.contains_key(&(entry.name.to_string(), 0)) {
            return Err(Error::File(format!(
                "InputLayer \"{}\" is not listed in input_layers",
                entry.name
            )));
        }
    }

    let mut rebuild = Rebuild {
        entries,
        by_name,
        built,
        visiting: Vec::new(),
    };
    let output_refs = ref_list(inner, "output_layers")?;
    let mut outputs = Vec::with_capacity(output_refs.len());
    for (h, r) in output_refs.iter().enumerate() {
        outputs.push(rebuild.make(&mut model, r, &format!("output_layers entry {h}"))?);
    }
    for entry in &rebuild.entries {
        if entry.class_name != "InputLayer"
            && !model.layers().iter().any(|l| l.name() == entry.name)
        {
            return Err(Error::File(format!(
                "layer \"{}\" ({}) does not lead to any output",
                entry.name, entry.class_name
            )));
        }
    }
    model
        .set_outputs(outputs)
        .map_err(|e| invalid(e.to_string()))?;

    if compile {
        if let Some(c) = config.get("compile_config").filter(|c| !c.is_null()) {
            compile_from_config(&mut model, c)?;
        }
    }
    Ok(model)
}

/// Reads the value for output `h` from a compile setting given per output:
/// an object keyed by output name, a list in output order, or one value
/// for every output.
fn per_output<'a>(v: &'a Value, h: usize, name: &str, outputs: usize) -> Option<&'a Value> {
    match v {
        Value::Null => None,
        Value::Object(map) if !map.contains_key("class_name") => map.get(name),
        Value::Array(list) if list.len() == outputs && outputs > 1 => list.get(h),
        other => Some(other),
    }
}

fn compile_from_config(model: &mut Model, c: &Value) -> Result<()> {
    let names = model.output_names();
    let shapes = model.output_shapes();
    let loss_setting = c
        .get("loss")
        .ok_or_else(|| invalid("compile_config has no \"loss\"".into()))?;
    if let Value::Object(map) = loss_setting {
        if !map.contains_key("class_name") {
            if let Some(unknown) = map.keys().find(|k| !names.contains(k)) {
                return Err(Error::File(format!(
                    "compile_config's \"loss\" names output \"{unknown}\", which is not an output of the model; its outputs are {}",
                    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                )));
            }
        }
    }
    let metric_setting = c.get("metrics").unwrap_or(&Value::Null);
    let weight_setting = c.get("loss_weights").unwrap_or(&Value::Null);
    let mut heads = Vec::with_capacity(names.len());
    let mut weights = Vec::with_capacity(names.len());
    for (h, name) in names.iter().enumerate() {
        let loss_value = per_output(loss_setting, h, name, names.len())
            .ok_or_else(|| invalid(format!("compile_config has no loss for output \"{name}\"")))?;
        let loss = loss_from_config(loss_value)?;
        let metrics = match per_output(metric_setting, h, name, names.len()) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .map(|m| metric_from_config(m, &loss, size_of(&shapes[h])))
                .collect::<Result<_>>()?,
            Some(single) => vec![metric_from_config(single, &loss, size_of(&shapes[h]))?],
        };
        let weight = match weight_setting {
            Value::Array(list) => list.get(h).and_then(Value::as_f64),
            Value::Object(map) => map.get(name).and_then(Value::as_f64),
            _ => None,
        }
        .unwrap_or(1.0);
        weights.push(weight as f32);
        heads.push(Head { loss, metrics });
    }
    let optimizer = optimizer::optimizer_from_value(
        c.get("optimizer")
            .ok_or_else(|| invalid("compile_config has no \"optimizer\"".into()))?,
    )?;
    let first = heads.remove(0);
    model.compiled = Some(crate::model::Compiled {
        loss: first.loss,
        metrics: first.metrics,
        optimizer,
    });
    model.extra_heads = heads;
    model.loss_weights = if weights.iter().all(|&w| w == 1.0) && names.len() == 1 {
        Vec::new()
    } else {
        weights
    };
    Ok(())
}
