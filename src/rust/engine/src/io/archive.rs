//! The model archive: `metadata.json`, `config.json` and
//! `model.weights.safetensors` in a zip file (see the [module docs](super)).
//!
//! Besides the weights, `model.weights.safetensors` contains the state that
//! makes resumed training repeat an uninterrupted run bit for bit:
//!
//! - tensors `optimizer/<layer>/vars/<i>/<slot>`: the optimizer's slots;
//! - metadata `train_seed`: the seed of the training generators;
//! - metadata `optimizer.iterations`, `optimizer.current_learning_rate` and
//!   `optimizer.nadam_product`: the optimizer's step state;
//! - metadata `layers/<layer>/rng_position`: the stream position of a layer
//!   given its own seed (a seeded Dropout).
//!
//! The generator that draws the initial weights of layers added after
//! loading is not saved; it restarts from the training seed.

use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::Model;
use crate::optim::StepState;

use super::keras_config::{model_config, model_from_config};
use super::optimizer::slot_names;
use super::safetensors::{self, SafeTensors, TensorRef};
use super::weights::{
    check_format_version, format_metadata, keras_weights_error, weight_name, weight_tensors,
};
use super::zip::{self, ZipArchive, ZipWriter};
use super::{
    CONFIG_FILE, FORMAT_VERSION, HDF5_SIGNATURE, KERAS_WEIGHTS_FILE, METADATA_FILE, WEIGHTS_FILE,
};

#[derive(Debug, Clone)]
pub struct SaveOptions<'a> {
    /// Version of the R package, written to the metadata.
    pub kerust_version: &'a str,
    /// Whether to save the optimizer's state (the compile configuration is
    /// saved either way).
    pub include_optimizer: bool,
}

fn slot_name(layer: &str, index: usize, slot: &str) -> String {
    format!("optimizer/{layer}/vars/{index}/{slot}")
}

fn rng_key(layer: &str) -> String {
    format!("layers/{layer}/rng_position")
}

/// Returns the model archive of `model` as bytes. The bytes depend only on
/// the model and the options, so saving a model twice gives the same file.
pub fn save_model(model: &Model, options: &SaveOptions) -> Result<Vec<u8>> {
    let config = serde_json::to_vec(&model_config(model, true)?)
        .map_err(|e| Error::File(format!("cannot encode config.json: {e}")))?;
    let metadata = serde_json::to_vec(&json!({
        "saved_by": "kerust",
        "kerust_version": options.kerust_version,
        "format_version": FORMAT_VERSION,
    }))
    .map_err(|e| Error::File(format!("cannot encode metadata.json: {e}")))?;

    let mut tensors = weight_tensors(model);
    let mut meta = format_metadata(options.kerust_version);
    meta.push(("train_seed".into(), model.train_seed.to_string()));
    for layer in model.layers() {
        if let Some(position) = layer.rng_position() {
            meta.push((rng_key(layer.name()), position.to_string()));
        }
    }
    let optimizer = model
        .compiled
        .as_ref()
        .map(|c| &c.optimizer)
        .filter(|o| options.include_optimizer && o.is_built());
    if let Some(opt) = optimizer {
        let names = slot_names(&opt.kind);
        if names.len() != opt.slot_count() {
            return Err(Error::State(format!(
                "internal error: the optimizer has {} slots per weight but {} slot names",
                opt.slot_count(),
                names.len()
            )));
        }
        let mut slots = opt.slots().iter();
        for layer in model.layers() {
            for (i, p) in layer.params().iter().enumerate() {
                let Some(param_slots) = slots.next() else {
                    return Err(Error::State(
                        "internal error: the optimizer has fewer slots than the model has weights"
                            .into(),
                    ));
                };
                for (slot, values) in names.iter().zip(param_slots) {
                    tensors.push(TensorRef {
                        name: slot_name(layer.name(), i, slot),
                        shape: &p.shape,
                        values,
                    });
                }
            }
        }
        let step = opt.step_state();
        meta.push(("optimizer.iterations".into(), step.iterations.to_string()));
        meta.push((
            "optimizer.current_learning_rate".into(),
            step.current_lr.to_string(),
        ));
        meta.push((
            "optimizer.nadam_product".into(),
            step.nadam_product.to_string(),
        ));
    }

    let weights_len = safetensors::encoded_len(&tensors, &meta)?;
    let mut zip = ZipWriter::with_capacity(weights_len + config.len() + metadata.len() + 512);
    zip.add(METADATA_FILE, &metadata)?;
    zip.add(CONFIG_FILE, &config)?;
    let mut result = Ok(());
    zip.add_with(WEIGHTS_FILE, weights_len, |out| {
        result = safetensors::write_into(out, &tensors, &meta);
    })?;
    result?;
    zip.finish()
}

/// Explains what `bytes` is when it is not a kerust model archive.
fn not_a_model(bytes: &[u8]) -> Error {
    if bytes.starts_with(HDF5_SIGNATURE) {
        return Error::File(
            "it is an HDF5 file (the legacy Keras .h5 format or a .weights.h5 file); kerust reads .keras files that kerust wrote".into(),
        );
    }
    if safetensors::read(bytes).is_ok() {
        return Error::File(
            "it is a weights file without the model's architecture; load it into a model with load_model_weights()".into(),
        );
    }
    if bytes.is_empty() {
        return Error::File("it is empty".into());
    }
    Error::File("it is not a model file: a .keras model file is a zip archive".into())
}

/// Reads the JSON entry `name` of the archive.
fn read_json(archive: &ZipArchive, name: &str) -> Result<Value> {
    let bytes = archive.read(name)?.ok_or_else(|| {
        Error::File(format!(
            "it is a zip archive without {name}, so it is not a model file"
        ))
    })?;
    serde_json::from_slice(bytes)
        .map_err(|e| Error::File(format!("{name} is not valid JSON ({e})")))
}

/// Rebuilds a model from an archive written by [`save_model`]. With
/// `compile = false` the model is returned uncompiled, without optimizer.
pub fn load_model(bytes: &[u8], compile: bool) -> Result<Model> {
    if !zip::looks_like_zip(bytes) {
        return Err(not_a_model(bytes));
    }
    let archive = ZipArchive::parse(bytes)?;
    if archive.find(KERAS_WEIGHTS_FILE).is_some() {
        return Err(keras_weights_error());
    }
    if archive.find(CONFIG_FILE).is_none() {
        return Err(Error::File(format!(
            "it is a zip archive without {CONFIG_FILE}, so it is not a model file"
        )));
    }
    let metadata = read_json(&archive, METADATA_FILE)?;
    let version = match metadata.get("format_version") {
        None => None,
        Some(v) => Some(v.as_u64().map(|v| v.to_string()).ok_or_else(|| {
            Error::File(format!("metadata.json has an invalid format_version {v}"))
        })?),
    };
    if metadata.get("saved_by").and_then(Value::as_str) != Some("kerust") || version.is_none() {
        return Err(Error::File(
            "metadata.json does not name kerust and a format version, so kerust did not write this file".into(),
        ));
    }
    check_format_version(
        version.as_deref(),
        metadata.get("kerust_version").and_then(Value::as_str),
    )?;

    let config = read_json(&archive, CONFIG_FILE)?;
    let mut model = model_from_config(&config, compile)?;
    let weights = archive
        .read(WEIGHTS_FILE)?
        .ok_or_else(|| Error::File(format!("it is a zip archive without {WEIGHTS_FILE}")))?;
    let st = safetensors::read(weights)?;
    restore_weights(&mut model, &st)?;
    restore_state(&mut model, &st)?;
    Ok(model)
}

fn missing(item: &str) -> Error {
    Error::File(format!("{WEIGHTS_FILE} has no {item}"))
}

/// Sets every weight from its tensor, checking the shapes.
fn restore_weights(model: &mut Model, st: &SafeTensors) -> Result<()> {
    let mut values = Vec::new();
    for layer in model.layers() {
        for (i, p) in layer.params().iter().enumerate() {
            let name = weight_name(layer.name(), i);
            let t = st
                .get(&name)
                .ok_or_else(|| missing(&format!("tensor \"{name}\"")))?;
            if t.shape != p.shape {
                return Err(Error::File(format!(
                    "tensor \"{name}\" has shape {:?} but the layer's config gives {:?}",
                    t.shape, p.shape
                )));
            }
            values.push((t.shape.clone(), t.to_vec()));
        }
    }
    model.set_weights(values)
}

fn parse_meta<T: std::str::FromStr>(st: &SafeTensors, key: &str) -> Result<Option<T>> {
    match st.metadata(key) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            Error::File(format!(
                "{WEIGHTS_FILE} has an invalid value \"{v}\" for \"{key}\""
            ))
        }),
    }
}

/// Restores the training seed, seeded layers' generators and, for a
/// compiled model, the optimizer's state.
fn restore_state(model: &mut Model, st: &SafeTensors) -> Result<()> {
    let train_seed = parse_meta(st, "train_seed")?.ok_or_else(|| missing("train_seed"))?;
    model.train_seed = train_seed;
    for layer in model.layers() {
        if layer.rng_position().is_some() {
            let key = rng_key(layer.name());
            let position: u128 = parse_meta(st, &key)?.ok_or_else(|| missing(&key))?;
            layer.set_rng_position(position);
        }
    }

    let Some(iterations) = parse_meta::<u64>(st, "optimizer.iterations")? else {
        return Ok(());
    };
    let step = StepState {
        iterations,
        current_lr: parse_meta(st, "optimizer.current_learning_rate")?
            .ok_or_else(|| missing("optimizer.current_learning_rate"))?,
        nadam_product: parse_meta(st, "optimizer.nadam_product")?
            .ok_or_else(|| missing("optimizer.nadam_product"))?,
    };
    let mut slots = Vec::new();
    let Some(compiled) = model.compiled.as_ref() else {
        // Loaded with compile = false: the optimizer state is not needed.
        return Ok(());
    };
    let names = slot_names(&compiled.optimizer.kind);
    for layer in model.layers() {
        for (i, p) in layer.params().iter().enumerate() {
            let mut param_slots = Vec::new();
            for slot in &names {
                let name = slot_name(layer.name(), i, slot);
                let t = st
                    .get(&name)
                    .ok_or_else(|| missing(&format!("optimizer tensor \"{name}\"")))?;
                if t.shape != p.shape {
                    return Err(Error::File(format!(
                        "optimizer tensor \"{name}\" has shape {:?} but its weight has shape {:?}",
                        t.shape, p.shape
                    )));
                }
                param_slots.push(t.to_vec());
            }
            slots.push(param_slots);
        }
    }
    let optimizer = &mut model
        .compiled
        .as_mut()
        .ok_or_else(|| {
            Error::State("internal error: the model lost its compile configuration".into())
        })?
        .optimizer;
    optimizer
        .restore(step, slots)
        .map_err(|e| Error::File(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activations::Activation;
    use crate::init::Initializer;
    use crate::losses::Loss;
    use crate::metrics::{Metric, MetricKind};
    use crate::model::Compiled;
    use crate::optim::{Optimizer, OptimizerKind};
    use crate::train::{self, Data, FitConfig, Silent};

    fn options() -> SaveOptions<'static> {
        SaveOptions {
            kerust_version: "0.1.0",
            include_optimizer: true,
        }
    }

    fn model(seed: u64, dropout_seed: Option<u64>) -> Model {
        let mut m = Model::new("mlp", vec![2, 3], seed).unwrap();
        let g = Initializer::GlorotUniform;
        let z = Initializer::Zeros;
        m.add_flatten("flat").unwrap();
        m.add_dense("hidden", 8, Activation::RELU, true, &g, Some(5), &z, None)
            .unwrap();
        m.add_dropout("drop", 0.25, dropout_seed).unwrap();
        m.add_activation("act", Activation::Tanh).unwrap();
        m.add_reshape("shape", &[2, -1]).unwrap();
        m.add_flatten("flat2").unwrap();
        m.add_dense("out", 3, Activation::Softmax, false, &g, None, &z, None)
            .unwrap();
        m.compiled = Some(Compiled {
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            metrics: vec![Metric::new(
                "accuracy",
                MetricKind::SparseCategoricalAccuracy,
            )],
            optimizer: Optimizer::new(
                OptimizerKind::Adam {
                    beta_1: 0.9,
                    beta_2: 0.999,
                    epsilon: 1e-7,
                    amsgrad: true,
                },
                0.003,
            ),
        });
        m
    }

    fn data() -> (Vec<f32>, Vec<f32>) {
        let x: Vec<f32> = (0..40 * 6)
            .map(|i| ((i * 7919) % 97) as f32 / 50.0 - 1.0)
            .collect();
        let y: Vec<f32> = (0..40).map(|i| (i % 3) as f32).collect();
        (x, y)
    }

    fn fit(m: &mut Model, epochs: usize, initial_epoch: usize) {
        let (x, y) = data();
        let config = FitConfig {
            batch_size: 8,
            epochs,
            initial_epoch,
            shuffle: true,
            validation_split: 0.0,
            verbose: 0,
            unicode: false,
        };
        let data = Data {
            x: &x,
            y: &y,
            n: 40,
            weights: None,
        };
        train::fit(m, data, None, &config, &mut Silent).unwrap();
    }

    fn bits(m: &Model) -> Vec<Vec<u32>> {
        m.weights()
            .iter()
            .map(|p| p.value.iter().map(|v| v.to_bits()).collect())
            .collect()
    }

    #[test]
    fn saved_model_round_trips_exactly() {
        let mut m = model(3, Some(11));
        fit(&mut m, 2, 0);
        let bytes = save_model(&m, &options()).unwrap();
        assert_eq!(
            bytes,
            save_model(&m, &options()).unwrap(),
            "saving is deterministic"
        );
        let back = load_model(&bytes, true).unwrap();
        assert_eq!(bits(&back), bits(&m));
        assert_eq!(back.train_seed, m.train_seed);
        assert_eq!(back.name, "mlp");
        assert_eq!(back.input_shape(), m.input_shape());
        let classes: Vec<&str> = back.layers().iter().map(|l| l.class_name()).collect();
        assert_eq!(
            classes,
            [
                "Flatten",
                "Dense",
                "Dropout",
                "Activation",
                "Reshape",
                "Flatten",
                "Dense"
            ]
        );
        let c = back.compiled.as_ref().unwrap();
        assert_eq!(c.loss, m.compiled.as_ref().unwrap().loss);
        assert_eq!(c.metrics[0].name, "accuracy");
        assert_eq!(
            c.optimizer.kind,
            m.compiled.as_ref().unwrap().optimizer.kind
        );
        assert_eq!(c.optimizer.learning_rate.to_bits(), 0.003f32.to_bits());
        assert_eq!(
            c.optimizer.step_state(),
            m.compiled.as_ref().unwrap().optimizer.step_state()
        );
        assert_eq!(
            save_model(&back, &options()).unwrap(),
            bytes,
            "a loaded model saves the same bytes"
        );
    }

    #[test]
    fn resumed_training_matches_uninterrupted_training() {
        for dropout_seed in [None, Some(11)] {
            let mut straight = model(3, dropout_seed);
            fit(&mut straight, 5, 0);

            let mut first = model(3, dropout_seed);
            fit(&mut first, 3, 0);
            let bytes = save_model(&first, &options()).unwrap();
            let mut resumed = load_model(&bytes, true).unwrap();
            fit(&mut resumed, 5, 3);
            assert_eq!(
                bits(&resumed),
                bits(&straight),
                "dropout seed {dropout_seed:?}"
            );
        }
    }

    /// Builds a model with regularizers, noise layers (seeded and not), and
    /// an optimizer with state beyond its slots.
    fn regularized_model(seed: u64, kind: OptimizerKind) -> Model {
        use crate::layers::noise::NoiseKind;
        use crate::optim::{Clipping, Schedule};
        use crate::regularizers::Regularizer;
        let mut m = Model::new("regularized", vec![6], seed).unwrap();
        let g = Initializer::HeNormal;
        let z = Initializer::Zeros;
        m.add_noise("noise", NoiseKind::Gaussian { stddev: 0.1 }, Some(21))
            .unwrap();
        m.add_dense("hidden", 6, Activation::Selu, true, &g, None, &z, None)
            .unwrap();
        m.set_weight_regularizer(
            "hidden",
            "kernel",
            Regularizer {
                l1: 0.001,
                l2: 0.01,
            },
        )
        .unwrap();
        m.set_weight_regularizer("hidden", "bias", Regularizer { l1: 0.0, l2: 0.02 })
            .unwrap();
        m.set_activity_regularizer("hidden", Regularizer { l1: 0.003, l2: 0.0 })
            .unwrap();
        m.add_noise("alpha", NoiseKind::AlphaDropout { rate: 0.1 }, None)
            .unwrap();
        m.add_noise("gdrop", NoiseKind::GaussianDropout { rate: 0.2 }, Some(4))
            .unwrap();
        m.add_activity_regularization("act_reg", Regularizer { l1: 0.0, l2: 0.005 })
            .unwrap();
        m.add_dense("out", 3, Activation::Softmax, true, &g, None, &z, None)
            .unwrap();
        let mut optimizer = Optimizer::new(kind, 0.01);
        optimizer.schedule = Some(Schedule::ExponentialDecay {
            initial: 0.01,
            decay_steps: 3.0,
            decay_rate: 0.9,
            staircase: false,
        });
        optimizer.weight_decay = 0.004;
        optimizer.clipping = Clipping {
            clipnorm: 1.0,
            ..Clipping::default()
        };
        m.compiled = Some(Compiled {
            loss: Loss::SparseCategoricalCrossentropy { from_logits: false },
            metrics: vec![Metric::new("acc", MetricKind::SparseCategoricalAccuracy)],
            optimizer,
        });
        m
    }

    #[test]
    fn regularizers_noise_and_optimizer_state_resume_exactly() {
        let kinds = [
            OptimizerKind::Nadam {
                beta_1: 0.9,
                beta_2: 0.999,
                epsilon: 1e-7,
            },
            OptimizerKind::RmsProp {
                rho: 0.9,
                momentum: 0.5,
                epsilon: 1e-7,
                centered: true,
            },
            OptimizerKind::Sgd {
                momentum: 0.9,
                nesterov: true,
            },
        ];
        for kind in kinds {
            let mut straight = regularized_model(8, kind);
            fit(&mut straight, 4, 0);

            let mut first = regularized_model(8, kind);
            fit(&mut first, 2, 0);
            let bytes = save_model(&first, &options()).unwrap();
            let mut resumed = load_model(&bytes, true).unwrap();
            assert_eq!(save_model(&resumed, &options()).unwrap(), bytes, "{kind:?}");
            assert_eq!(
                resumed.weight_regularizer(1, 0),
                first.weight_regularizer(1, 0)
            );
            assert_eq!(
                resumed.activity_regularizer(4),
                first.activity_regularizer(4)
            );
            fit(&mut resumed, 4, 2);
            assert_eq!(bits(&resumed), bits(&straight), "{kind:?}");
        }
    }

    #[test]
    fn every_flipped_byte_is_caught_or_harmless() {
        let mut m = model(3, None);
        fit(&mut m, 1, 0);
        let bytes = save_model(&m, &options()).unwrap();
        let expected = bits(&m);
        let mut caught = 0;
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x01;
            match load_model(&bad, true) {
                Err(_) => caught += 1,
                Ok(back) => assert_eq!(bits(&back), expected, "byte {i} changed the weights"),
            }
        }
        // Only fields no reader needs (times, versions, attributes) may change silently.
        assert!(
            caught > bytes.len() * 9 / 10,
            "{caught} of {} flips caught",
            bytes.len()
        );
    }

    #[test]
    fn every_truncation_is_an_error() {
        let m = model(3, None);
        let bytes = save_model(&m, &options()).unwrap();
        for n in (0..bytes.len()).step_by(7) {
            assert!(
                load_model(&bytes[..n], true).is_err(),
                "prefix of {n} bytes"
            );
        }
    }

    #[test]
    fn newer_format_version_is_rejected() {
        let m = model(3, None);
        let bytes = save_model(&m, &options()).unwrap();
        let archive = ZipArchive::parse(&bytes).unwrap();
        let mut zip = ZipWriter::default();
        zip.add(
            METADATA_FILE,
            br#"{"saved_by": "kerust", "kerust_version": "9.0.0", "format_version": 2}"#,
        )
        .unwrap();
        for name in [CONFIG_FILE, WEIGHTS_FILE] {
            zip.add(name, archive.read(name).unwrap().unwrap()).unwrap();
        }
        let err = load_model(&zip.finish().unwrap(), true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kerust 9.0.0 in format version 2"), "{err}");
        assert!(err.contains("reads format version 1"), "{err}");
    }

    #[test]
    fn keras_files_are_recognised() {
        let mut zip = ZipWriter::default();
        zip.add(METADATA_FILE, br#"{"keras_version": "3.5.0"}"#)
            .unwrap();
        zip.add(CONFIG_FILE, b"{}").unwrap();
        zip.add(KERAS_WEIGHTS_FILE, HDF5_SIGNATURE).unwrap();
        let err = load_model(&zip.finish().unwrap(), true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("reading Keras weights is not supported yet"),
            "{err}"
        );
        let err = load_model(HDF5_SIGNATURE, true).unwrap_err().to_string();
        assert!(err.contains("HDF5"), "{err}");
        let err = load_model(b"plain text, not a model", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a model file"), "{err}");
    }

    #[test]
    fn uncompiled_load_and_unsaved_optimizer() {
        let mut m = model(3, None);
        fit(&mut m, 1, 0);
        let bytes = save_model(&m, &options()).unwrap();
        let back = load_model(&bytes, false).unwrap();
        assert!(back.compiled.is_none());
        assert_eq!(bits(&back), bits(&m));
        let lean = save_model(
            &m,
            &SaveOptions {
                include_optimizer: false,
                ..options()
            },
        )
        .unwrap();
        assert!(lean.len() < bytes.len());
        let back = load_model(&lean, true).unwrap();
        let opt = &back.compiled.as_ref().unwrap().optimizer;
        assert!(!opt.is_built());
        assert_eq!(opt.iterations, 0);
    }
}
