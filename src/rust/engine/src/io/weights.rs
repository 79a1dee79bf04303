//! Layer weights as safetensors tensors, and loading them into a model
//! whose layers may have other names (`load_model_weights()`).

use crate::error::{Error, Result};
use crate::model::Model;

use super::safetensors::{self, SafeTensors, TensorRef, TensorView};
use super::zip::{self, ZipArchive};
use super::{FORMAT_VERSION, HDF5_SIGNATURE, KERAS_WEIGHTS_FILE, WEIGHTS_FILE};

/// Name of weight `index` of layer `layer`, as in Keras 3's weight files.
pub fn weight_name(layer: &str, index: usize) -> String {
    format!("layers/{layer}/vars/{index}")
}

/// Splits `layers/<layer>/vars/<i>` into the layer name and `i`. Layer names
/// may contain `/`, so the name is everything between the fixed parts.
fn parse_weight_name(name: &str) -> Option<(&str, usize)> {
    let rest = name.strip_prefix("layers/")?;
    let (layer, index) = rest.rsplit_once("/vars/")?;
    Some((layer, index.parse().ok()?))
}

/// Returns the weights of every layer as tensors, in `get_weights()` order.
pub fn weight_tensors(model: &Model) -> Vec<TensorRef<'_>> {
    model
        .layers()
        .iter()
        .flat_map(|layer| {
            layer
                .params()
                .iter()
                .enumerate()
                .map(move |(i, p)| TensorRef {
                    name: weight_name(layer.name(), i),
                    shape: &p.shape,
                    values: &p.value,
                })
        })
        .collect()
}

/// The metadata that names the writer and the format version.
pub fn format_metadata(kerust_version: &str) -> Vec<(String, String)> {
    vec![
        ("saved_by".into(), "kerust".into()),
        ("kerust_version".into(), kerust_version.into()),
        ("format_version".into(), FORMAT_VERSION.to_string()),
    ]
}

/// Rejects data written with a later format version.
pub fn check_format_version(version: Option<&str>, writer: Option<&str>) -> Result<()> {
    let Some(version) = version else {
        return Ok(());
    };
    let parsed: u64 = version
        .parse()
        .map_err(|_| Error::File(format!("the format version \"{version}\" is not a number")))?;
    if parsed > FORMAT_VERSION {
        return Err(Error::File(format!(
            "it was written by kerust {} in format version {parsed}, but this version of kerust reads format version {FORMAT_VERSION} and earlier; update kerust to load it",
            writer.unwrap_or("(unknown version)")
        )));
    }
    Ok(())
}

/// Returns a weights file (safetensors) with every layer weight.
pub fn save_weights(model: &Model, kerust_version: &str) -> Result<Vec<u8>> {
    safetensors::write(&weight_tensors(model), &format_metadata(kerust_version))
}

/// The weights of one layer in a file, in the order of their index.
struct FileLayer<'a, 'b> {
    name: &'a str,
    tensors: Vec<&'b TensorView<'a>>,
}

/// Groups the `layers/...` tensors by layer, in the order of the data.
fn file_layers<'a, 'b>(st: &'b SafeTensors<'a>) -> Result<Vec<FileLayer<'b, 'b>>> {
    let mut layers: Vec<FileLayer> = Vec::new();
    let mut indexed: Vec<Vec<(usize, &TensorView)>> = Vec::new();
    for t in &st.tensors {
        let Some((layer, index)) = parse_weight_name(&t.name) else {
            continue;
        };
        match layers.iter().position(|l| l.name == layer) {
            Some(i) => indexed[i].push((index, t)),
            None => {
                layers.push(FileLayer {
                    name: layer,
                    tensors: Vec::new(),
                });
                indexed.push(vec![(index, t)]);
            }
        }
    }
    for (layer, mut tensors) in layers.iter_mut().zip(indexed) {
        tensors.sort_by_key(|(i, _)| *i);
        if tensors.iter().enumerate().any(|(k, (i, _))| k != *i) {
            return Err(Error::File(format!(
                "the weights of layer \"{}\" are not numbered 0, 1, ...",
                layer.name
            )));
        }
        layer.tensors = tensors.into_iter().map(|(_, t)| t).collect();
    }
    Ok(layers)
}

/// Returns the safetensors bytes of a weights file: the file itself, or the
/// weights inside a `.keras` archive.
fn weights_bytes(bytes: &[u8]) -> Result<&[u8]> {
    if bytes.starts_with(HDF5_SIGNATURE) {
        return Err(Error::File(
            "it is an HDF5 file (a Keras .weights.h5 or .h5 file); reading Keras weights is not supported yet, so save the weights with kerust's save_model_weights() to a .weights.safetensors file".into(),
        ));
    }
    if !zip::looks_like_zip(bytes) {
        // A safetensors header is JSON, so its first byte is `{`.
        if bytes.get(8) != Some(&b'{') {
            return Err(Error::File(
                "it is neither a weights file (safetensors) nor a model file (a .keras zip archive)"
                    .into(),
            ));
        }
        return Ok(bytes);
    }
    let archive = ZipArchive::parse(bytes)?;
    if archive.find(KERAS_WEIGHTS_FILE).is_some() {
        return Err(keras_weights_error());
    }
    archive.read(WEIGHTS_FILE)?.ok_or_else(|| {
        Error::File(format!(
            "it is a zip archive without {WEIGHTS_FILE}, so it is not a kerust model file"
        ))
    })
}

pub fn keras_weights_error() -> Error {
    Error::File(format!(
        "it is a Keras model file: its weights are in {KERAS_WEIGHTS_FILE} (HDF5), and reading Keras weights is not supported yet"
    ))
}

/// Loads layer weights from a weights file or a model archive into `model`.
///
/// Layers are matched by name when every layer of the model that has
/// weights appears in the file, and otherwise by order, as Keras does.
/// A layer whose number of weights or shapes differ is an error, or with
/// `skip_mismatch` is left unchanged and described in the returned list.
/// Nothing changes unless the whole load succeeds.
pub fn load_weights(model: &mut Model, bytes: &[u8], skip_mismatch: bool) -> Result<Vec<String>> {
    let st = safetensors::read(weights_bytes(bytes)?)?;
    check_format_version(st.metadata("format_version"), st.metadata("kerust_version"))?;
    let file = file_layers(&st)?;
    if file.is_empty() {
        return Err(Error::File(
            "it has no layer weights (tensors named layers/<layer>/vars/<i>)".into(),
        ));
    }
    let model_layers: Vec<usize> = (0..model.layers().len())
        .filter(|&i| !model.layers()[i].params().is_empty())
        .collect();
    let names: Vec<&str> = model_layers
        .iter()
        .map(|&i| model.layers()[i].name())
        .collect();
    let by_name = names.iter().all(|n| file.iter().any(|f| f.name == *n));
    let mut skipped = Vec::new();
    let mismatch = |problem: String, skipped: &mut Vec<String>| {
        if skip_mismatch {
            skipped.push(problem);
            Ok(())
        } else {
            Err(Error::File(problem))
        }
    };

    // Pairs (model layer index, file layer index).
    let mut pairs = Vec::new();
    if by_name {
        for (k, &i) in model_layers.iter().enumerate() {
            let f = file.iter().position(|f| f.name == names[k]).unwrap_or(0);
            pairs.push((i, f));
        }
        for f in file.iter().filter(|f| !names.contains(&f.name)) {
            mismatch(
                format!(
                    "the file has weights for layer \"{}\", which the model does not have",
                    f.name
                ),
                &mut skipped,
            )?;
        }
    } else {
        if file.len() != model_layers.len() {
            mismatch(
                format!(
                    "layer names differ, so weights are matched by order, but the file has weights for {} layers ({}) and the model has {} layers with weights ({})",
                    file.len(),
                    file.iter().map(|f| format!("\"{}\"", f.name)).collect::<Vec<_>>().join(", "),
                    model_layers.len(),
                    names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
                ),
                &mut skipped,
            )?;
        }
        pairs.extend(model_layers.iter().copied().zip(0..file.len()));
    }

    // Check every pair before changing anything.
    let mut updates: Vec<(usize, Vec<Vec<f32>>)> = Vec::new();
    'pairs: for (i, f) in pairs {
        let layer = &model.layers()[i];
        let params = layer.params();
        let tensors = &file[f].tensors;
        let label = if file[f].name == layer.name() {
            format!("layer \"{}\"", layer.name())
        } else {
            format!(
                "layer \"{}\" (\"{}\" in the file)",
                layer.name(),
                file[f].name
            )
        };
        if tensors.len() != params.len() {
            mismatch(
                format!(
                    "{label} has {} weights in the file but {} in the model",
                    tensors.len(),
                    params.len()
                ),
                &mut skipped,
            )?;
            continue;
        }
        for (p, t) in params.iter().zip(tensors) {
            if p.shape != t.shape {
                mismatch(
                    format!(
                        "{label}: weight \"{}\" has shape ({}) in the file but ({}) in the model",
                        p.name,
                        join(&t.shape),
                        join(&p.shape)
                    ),
                    &mut skipped,
                )?;
                continue 'pairs;
            }
        }
        updates.push((i, tensors.iter().map(|t| t.to_vec()).collect()));
    }
    for (i, values) in updates {
        for (p, v) in model.layers_mut()[i].params_mut().iter_mut().zip(values) {
            p.value = v;
        }
    }
    Ok(skipped)
}

fn join(shape: &[usize]) -> String {
    shape
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::Activation;
    use crate::init::Initializer;

    fn mlp(names: [&str; 2], hidden: usize, seed: u64) -> Model {
        let mut m = Model::new("m", vec![3], seed).unwrap();
        let g = Initializer::GlorotUniform;
        let z = Initializer::Zeros;
        m.add_dense(names[0], hidden, Activation::RELU, true, &g, None, &z, None)
            .unwrap();
        m.add_dropout("drop", 0.5, None).unwrap();
        m.add_dense(names[1], 2, Activation::Linear, true, &g, None, &z, None)
            .unwrap();
        m
    }

    fn values(m: &Model) -> Vec<Vec<f32>> {
        m.weights().iter().map(|p| p.value.clone()).collect()
    }

    #[test]
    fn weight_names_parse_back() {
        assert_eq!(parse_weight_name("layers/dense/vars/1"), Some(("dense", 1)));
        assert_eq!(
            parse_weight_name("layers/a/vars/b/vars/0"),
            Some(("a/vars/b", 0))
        );
        assert_eq!(parse_weight_name("optimizer/dense/vars/0/momentum"), None);
    }

    #[test]
    fn weights_load_by_name_and_by_order() {
        let source = mlp(["a", "b"], 4, 1);
        let bytes = save_weights(&source, "test").unwrap();
        let mut same_names = mlp(["a", "b"], 4, 2);
        assert!(load_weights(&mut same_names, &bytes, false)
            .unwrap()
            .is_empty());
        assert_eq!(values(&same_names), values(&source));
        let mut other_names = mlp(["c", "d"], 4, 3);
        load_weights(&mut other_names, &bytes, false).unwrap();
        assert_eq!(values(&other_names), values(&source));
    }

    #[test]
    fn shape_mismatch_changes_nothing_or_skips() {
        let source = mlp(["a", "b"], 4, 1);
        let bytes = save_weights(&source, "test").unwrap();
        let mut target = mlp(["a", "b"], 5, 2);
        let before = values(&target);
        let err = load_weights(&mut target, &bytes, false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "layer \"a\": weight \"kernel\" has shape (3, 4) in the file but (3, 5) in the model"
        );
        assert_eq!(values(&target), before);
        let skipped = load_weights(&mut target, &bytes, true).unwrap();
        assert_eq!(skipped.len(), 2, "{skipped:?}");
        assert_eq!(values(&target), before);
    }
}
