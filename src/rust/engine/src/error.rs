//! The engine's error type. Every fallible engine function returns
//! [`Result`]; the bindings turn an [`Error`] into an R condition of class
//! `kerust_error`, so messages are written for R users.

use std::fmt;

/// An error raised by the engine, with a message in plain words.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// An argument has a value outside what the function accepts.
    InvalidArgument(String),
    /// Two shapes that must fit together do not.
    Shape(String),
    /// Input data contains NA, NaN or an infinite value.
    NonFinite(String),
    /// The operation needs a state the model is not in (e.g. fit before compile).
    State(String),
    /// Training was stopped by a user interrupt (Ctrl-C).
    Interrupted,
    /// A file could not be read or written, or its content is not valid.
    File(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidArgument(msg)
            | Error::Shape(msg)
            | Error::NonFinite(msg)
            | Error::State(msg)
            | Error::File(msg) => f.write_str(msg),
            Error::Interrupted => f.write_str("interrupted by the user"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Formats a shape the keras way, with `None` for the batch axis: `(None, 28, 28)`.
pub fn format_batch_shape(per_sample: &[usize]) -> String {
    let mut parts = vec!["None".to_string()];
    parts.extend(per_sample.iter().map(|d| d.to_string()));
    if parts.len() == 1 {
        return "(None,)".to_string();
    }
    format!("({})", parts.join(", "))
}

/// Formats a per-sample shape as an R vector literal: `c(28, 28, 1)`.
pub fn format_shape(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("c({})", parts.join(", "))
    }
}
