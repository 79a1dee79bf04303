//! Conversion between R's column-major arrays and the engine's row-major
//! f32 tensors.
//!
//! R element `x[i0, i1, ..., ik]` becomes element `[i0, i1, ..., ik]` of the
//! row-major tensor (0-based), so the first R axis is the batch axis. The
//! conversion is one blocked, parallel pass: a block of `BLOCK_ROWS` batch
//! rows reads contiguous runs of R memory and writes whole rows of the
//! tensor.

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::pool;

const BLOCK_ROWS: usize = 64;

/// R's NA for doubles is a NaN whose low word is 1954.
fn is_r_na_real(x: f64) -> bool {
    x.is_nan() && (x.to_bits() & 0xFFFF_FFFF) == 1954
}

/// An element type that R can hand to the engine.
pub trait RElement: Copy + Send + Sync {
    fn to_f32(self) -> f32;
    /// Returns `Some("NA")`, `Some("NaN")` or `Some("Inf")` for values the engine rejects.
    fn defect(self) -> Option<&'static str>;
}

impl RElement for f64 {
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn defect(self) -> Option<&'static str> {
        if self.is_finite() {
            None
        } else if is_r_na_real(self) {
            Some("NA")
        } else if self.is_nan() {
            Some("NaN")
        } else if self > 0.0 {
            Some("Inf")
        } else {
            Some("-Inf")
        }
    }
}

/// R integers and logicals are both `int` in C, with NA as `i32::MIN`.
impl RElement for i32 {
    fn to_f32(self) -> f32 {
        self as f32
    }
    fn defect(self) -> Option<&'static str> {
        if self == i32::MIN {
            Some("NA")
        } else {
            None
        }
    }
}

/// Arrays with fewer values than this convert on the calling thread: for
/// them, handing the work to the pool costs more than the copy (a
/// one-sample predict() spent most of its 0.24 ms in three hand-offs).
const PARALLEL_MIN_LEN: usize = 1 << 16;

/// Calls `f(index, chunk)` on consecutive chunks of `out`: in the engine's
/// pool when `out` is large, else sequentially on this thread.
fn for_chunks_mut<T: Send>(
    out: &mut [T],
    chunk_len: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let chunk_len = chunk_len.max(1);
    if out.len() >= PARALLEL_MIN_LEN {
        pool::install(|| {
            out.par_chunks_mut(chunk_len)
                .enumerate()
                .for_each(|(i, c)| f(i, c))
        });
    } else {
        out.chunks_mut(chunk_len)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

/// Maps the row-major position within one sample to the column-major one.
fn sample_permutation(sample_dims: &[usize]) -> Vec<usize> {
    let size: usize = sample_dims.iter().product();
    let rank = sample_dims.len();
    let mut col_strides = vec![1usize; rank];
    for axis in 1..rank {
        col_strides[axis] = col_strides[axis - 1] * sample_dims[axis - 1];
    }
    let mut perm = Vec::with_capacity(size);
    let mut index = vec![0usize; rank];
    for _ in 0..size {
        perm.push(index.iter().zip(&col_strides).map(|(i, s)| i * s).sum());
        // Advance the row-major multi-index: the last axis moves fastest.
        for axis in (0..rank).rev() {
            index[axis] += 1;
            if index[axis] < sample_dims[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    perm
}

/// Describes the first rejected value of `data` as an R subscript, e.g. `x[3, 2]`.
fn first_defect<T: RElement>(arg: &str, data: &[T], dims: &[usize]) -> Option<String> {
    let (pos, what) = data
        .iter()
        .enumerate()
        .find_map(|(i, v)| v.defect().map(|what| (i, what)))?;
    let mut rest = pos;
    let subscripts: Vec<String> = dims
        .iter()
        .map(|d| {
            let s = rest % d + 1;
            rest /= d;
            s.to_string()
        })
        .collect();
    let at = if dims.len() <= 1 {
        format!("{arg}[{}]", pos + 1)
    } else {
        format!("{arg}[{}]", subscripts.join(", "))
    };
    Some(format!(
        "`{arg}` contains {what} at {at}; remove or impute missing and infinite values before passing data to kerust"
    ))
}

/// Converts R data with dimensions `dims` (column-major) to a row-major f32 buffer.
///
/// `arg` is the R argument name used in error messages.
pub fn from_r<T: RElement>(arg: &str, data: &[T], dims: &[usize]) -> Result<Vec<f32>> {
    let total: usize = dims.iter().product();
    if total != data.len() {
        return Err(Error::Shape(format!(
            "`{arg}` has {} values but its dimensions need {total}",
            data.len()
        )));
    }
    if let Some(msg) = first_defect_fast(arg, data, dims) {
        return Err(Error::NonFinite(msg));
    }
    let mut out = vec![0f32; total];
    if dims.len() <= 1 || total == 0 {
        const CHUNK: usize = 1 << 16;
        for_chunks_mut(&mut out, CHUNK, |i, o| {
            let d = &data[i * CHUNK..i * CHUNK + o.len()];
            o.iter_mut().zip(d).for_each(|(o, &d)| *o = d.to_f32());
        });
        return Ok(out);
    }
    let rows = dims[0];
    let perm = sample_permutation(&dims[1..]);
    let width = perm.len();
    for_chunks_mut(&mut out, BLOCK_ROWS * width, |block, chunk| {
        let row0 = block * BLOCK_ROWS;
        let nrows = chunk.len() / width;
        for (r, &c) in perm.iter().enumerate() {
            let src = &data[c * rows + row0..c * rows + row0 + nrows];
            for (b, &v) in src.iter().enumerate() {
                chunk[b * width + r] = v.to_f32();
            }
        }
    });
    Ok(out)
}

/// Scans in parallel for a rejected value; only the rare failing case
/// rescans serially to find the first one.
fn first_defect_fast<T: RElement>(arg: &str, data: &[T], dims: &[usize]) -> Option<String> {
    let any_bad = if data.len() >= PARALLEL_MIN_LEN {
        pool::install(|| {
            data.par_chunks(1 << 16)
                .any(|chunk| chunk.iter().any(|v| v.defect().is_some()))
        })
    } else {
        data.iter().any(|v| v.defect().is_some())
    };
    if any_bad {
        first_defect(arg, data, dims)
    } else {
        None
    }
}

/// Converts a row-major f32 buffer with dimensions `dims` to R's column-major f64 layout.
pub fn to_r(data: &[f32], dims: &[usize]) -> Vec<f64> {
    let mut out = vec![0f64; data.len()];
    to_r_into(data, dims, &mut out);
    out
}

/// Like [`to_r`], writing into `out` (for example the memory of a new R vector).
pub fn to_r_into(data: &[f32], dims: &[usize], out: &mut [f64]) {
    let total: usize = dims.iter().product();
    debug_assert_eq!(total, data.len());
    debug_assert_eq!(total, out.len());
    if dims.len() <= 1 || total == 0 {
        const CHUNK: usize = 1 << 16;
        for_chunks_mut(out, CHUNK, |i, o| {
            let d = &data[i * CHUNK..i * CHUNK + o.len()];
            o.iter_mut().zip(d).for_each(|(o, &d)| *o = d as f64);
        });
        return;
    }
    let rows = dims[0];
    let perm = sample_permutation(&dims[1..]);
    let width = perm.len();
    let mut inverse = vec![0usize; width];
    for (r, &c) in perm.iter().enumerate() {
        inverse[c] = r;
    }
    // Each R column (one position within a sample) is a contiguous run of
    // `rows` doubles, so columns can be written in parallel without overlap.
    const COLS_PER_TASK: usize = 16;
    for_chunks_mut(out, rows * COLS_PER_TASK, |task, chunk| {
        let c0 = task * COLS_PER_TASK;
        let ncols = chunk.len() / rows;
        for row0 in (0..rows).step_by(BLOCK_ROWS) {
            let row1 = (row0 + BLOCK_ROWS).min(rows);
            for j in 0..ncols {
                let r = inverse[c0 + j];
                let col = &mut chunk[j * rows..(j + 1) * rows];
                for (i, value) in col.iter_mut().enumerate().take(row1).skip(row0) {
                    *value = data[i * width + r] as f64;
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds R-ordered data whose value encodes its own 1-based subscripts,
    /// e.g. element [2, 3, 1] of R is 231.
    fn encoded(dims: &[usize]) -> Vec<f64> {
        let total: usize = dims.iter().product();
        (0..total)
            .map(|mut pos| {
                let mut value = 0.0;
                let mut scale = 1.0;
                let mut digits = Vec::new();
                for d in dims {
                    digits.push(pos % d + 1);
                    pos /= d;
                }
                for digit in digits.iter().rev() {
                    value += *digit as f64 * scale;
                    scale *= 10.0;
                }
                value
            })
            .collect()
    }

    #[test]
    fn round_trip_keeps_index_semantics() {
        for dims in [
            vec![5],
            vec![3, 4],
            vec![2, 3, 4],
            vec![2, 3, 2, 3],
            vec![2, 2, 3, 2, 3],
            vec![130, 3],
            vec![70, 2, 3],
        ] {
            let r = encoded(&dims);
            let t = from_r("x", &r, &dims).unwrap();
            // Row-major element [i0, ..., ik] must hold the digits i0+1 ... ik+1.
            let mut index = vec![0usize; dims.len()];
            for value in &t {
                if dims.iter().all(|&d| d < 10) {
                    let expected = index
                        .iter()
                        .fold(0.0, |acc, i| acc * 10.0 + (*i as f64 + 1.0));
                    assert_eq!(*value as f64, expected, "dims {dims:?} index {index:?}");
                }
                for axis in (0..dims.len()).rev() {
                    index[axis] += 1;
                    if index[axis] < dims[axis] {
                        break;
                    }
                    index[axis] = 0;
                }
            }
            let back = to_r(&t, &dims);
            assert_eq!(back, r.iter().map(|v| *v as f32 as f64).collect::<Vec<_>>());
        }
    }

    #[test]
    fn defect_is_located_as_r_subscript() {
        let mut data = vec![1.0f64; 6];
        data[3] = f64::INFINITY;
        let err = from_r("x", &data, &[2, 3]).unwrap_err();
        assert!(err.to_string().contains("Inf at x[2, 2]"), "{err}");
        let na = f64::from_bits(0x7FF0_0000_0000_07A2);
        data[1] = na;
        let err = from_r("y", &data, &[6]).unwrap_err();
        assert!(err.to_string().contains("NA at y[2]"), "{err}");
        let ints = vec![1, 2, i32::MIN];
        let err = from_r("z", &ints, &[3]).unwrap_err();
        assert!(err.to_string().contains("NA at z[3]"), "{err}");
    }
}
