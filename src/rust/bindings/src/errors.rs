//! Mapping of engine errors and panics to R errors.
//!
//! extendr 0.9.0 passes error messages to `Rf_error` as a printf format, so
//! a `%` in a message would be read as a conversion (a `%s` crashes R).
//! Every message leaving this crate goes through [`r_error`], which escapes
//! `%` and removes NUL bytes.

use extendr_api::Error;

/// Prefix that the R side recognises to raise a condition of class `kerust_error`.
pub const ENGINE_ERROR_TAG: &str = "[kerust] ";

pub fn r_error(msg: &str) -> Error {
    let clean = msg.replace('\0', "").replace('%', "%%");
    Error::Other(format!("{ENGINE_ERROR_TAG}{clean}"))
}

pub fn engine_err(e: engine::Error) -> Error {
    r_error(&e.to_string())
}

/// Runs `f`, turning a panic into an R error instead of unwinding into R.
pub fn guard<T>(f: impl FnOnce() -> extendr_api::Result<T>) -> extendr_api::Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = if let Some(s) = payload.downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = payload.downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_string()
            };
            Err(r_error(&format!(
                "internal error in the kerust engine ({detail}); please report it with the code that caused it"
            )))
        }
    }
}
