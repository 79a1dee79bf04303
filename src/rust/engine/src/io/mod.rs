//! Saving and loading models.
//!
//! A saved model is a zip archive with the layout of Keras 3's `.keras`
//! files:
//!
//! - `metadata.json`: `{"saved_by": "kerust", "kerust_version", "format_version"}`.
//! - `config.json`: the architecture and compile configuration in Keras's
//!   config schema ([`keras_config`]).
//! - `model.weights.safetensors`: every weight as an F32 tensor named
//!   `layers/<layer name>/vars/<i>` (`i` counts the layer's weights from 0:
//!   kernel, bias), the optimizer's slots as
//!   `optimizer/<layer name>/vars/<i>/<slot>` (e.g. `.../momentum`), and the
//!   training state in the safetensors metadata (see [`archive`]).
//!
//! Keras 3 stores the weights in `model.weights.h5` (HDF5) instead; kerust
//! recognises such files and reports that it cannot read them yet.
//!
//! A weights file (`save_model_weights()`) is the safetensors part alone,
//! with the layer weights and the format metadata.

pub mod archive;
mod conv_config;
pub mod files;
mod functional_config;
mod image_config;
pub mod keras_config;
pub mod metric_config;
pub mod optimizer;
pub mod safetensors;
pub mod weights;
pub mod zip;

pub use archive::{load_model, save_model, SaveOptions};
pub use files::{read_file, write_file_atomic};
pub use weights::{load_weights, save_weights};

/// Version of the saved layout. A file with a larger version was written by
/// a later kerust and is rejected; later versions must keep reading this one.
pub const FORMAT_VERSION: u64 = 1;

/// File names inside the archive.
pub const METADATA_FILE: &str = "metadata.json";
pub const CONFIG_FILE: &str = "config.json";
pub const WEIGHTS_FILE: &str = "model.weights.safetensors";
/// Name of the weights entry in Keras 3's `.keras` files.
pub const KERAS_WEIGHTS_FILE: &str = "model.weights.h5";

/// The first bytes of every HDF5 file.
pub const HDF5_SIGNATURE: &[u8] = b"\x89HDF\r\n\x1a\n";
