//! Conversion of R vectors, matrices and arrays to engine buffers and back.
//! The index transposition lives in the engine (`engine::layout`); this
//! module only reaches into R memory, without copying on the way in.

use extendr_api::prelude::*;
use extendr_api::Result;

use engine::layout;

use crate::errors::engine_err;

/// Per-sample-major data received from R: dimensions and row-major values.
pub struct Received {
    pub dims: Vec<usize>,
    pub data: Vec<f32>,
}

/// Returns the dimensions of `x`: its `dim` attribute, or its length.
pub fn dims_of(x: &Robj) -> Vec<usize> {
    match x.get_attrib("dim").and_then(|d| d.as_integer_vector()) {
        Some(d) => d.iter().map(|&v| v.max(0) as usize).collect(),
        None => vec![x.len()],
    }
}

/// Converts a double, integer or logical R vector, matrix or array to a
/// row-major f32 buffer; `arg` names the R argument in error messages.
pub fn from_r(arg: &str, x: &Robj) -> Result<Received> {
    let dims = dims_of(x);
    let data = if let Some(values) = x.as_real_slice() {
        layout::from_r(arg, values, &dims)
    } else if let Some(values) = x.as_integer_slice() {
        layout::from_r(arg, values, &dims)
    } else if let Some(values) = x.as_logical_slice() {
        // SAFETY: Rbool is a transparent wrapper around R's C int.
        let ints: &[i32] = unsafe { std::slice::from_raw_parts(values.as_ptr() as *const i32, values.len()) };
        layout::from_r(arg, ints, &dims)
    } else {
        return Err(crate::errors::r_error(&format!(
            "`{arg}` must be a numeric, integer or logical vector, matrix or array, got an R object of type {:?}",
            x.rtype()
        )));
    }
    .map_err(engine_err)?;
    Ok(Received { dims, data })
}

/// Builds an R double array with dimensions `dims` from row-major `data`,
/// writing straight into the new R vector. A one-element `dims` gives a
/// plain vector.
pub fn to_r(data: &[f32], dims: &[usize]) -> Robj {
    let n = data.len();
    // SAFETY: Rf_allocVector returns a new, unprotected vector; Robj::from_sexp
    // protects it before any other R allocation can happen.
    let mut robj = unsafe {
        Robj::from_sexp(extendr_ffi::Rf_allocVector(
            extendr_ffi::SEXPTYPE::REALSXP,
            n as extendr_ffi::R_xlen_t,
        ))
    };
    if let Some(out) = robj.as_real_slice_mut() {
        layout::to_r_into(data, dims, out);
    }
    if dims.len() > 1 {
        let dim: Vec<i32> = dims.iter().map(|&d| d as i32).collect();
        let _ = robj.set_attrib("dim", dim);
    }
    robj
}
