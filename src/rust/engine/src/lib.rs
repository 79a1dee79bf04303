//! kerust's engine: tensors, layers, losses, metrics, optimizers and the
//! training loop, in pure Rust with no dependency on R.

pub mod activations;
pub mod callbacks;
pub mod error;
pub mod init;
pub mod io;
pub mod layers;
pub mod layout;
pub mod linalg;
pub mod losses;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod pool;
pub mod progress;
pub mod regularizers;
pub mod train;

pub use error::{Error, Result};
