//! Matrix products for f32 with arbitrary strides, so transposed operands
//! need no copy.
//!
//! The `gemm` crate computes them. Small products run on the calling thread;
//! larger ones use the current rayon pool. gemm never splits the inner
//! dimension, so every output element has the same summation order for any
//! thread count, and results are bitwise identical with 1 or n threads.

/// Products with fewer multiply-adds than this stay on one thread: below it
/// the cost of waking a second thread exceeds the gain.
const PARALLEL_MIN_FLOPS: usize = 1 << 20;

/// A read-only matrix view: `data[i * row_stride + j * col_stride]` is element (i, j).
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// Views `data` as a row-major `rows x cols` matrix.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        debug_assert!(data.len() >= rows * cols);
        MatRef {
            data,
            rows,
            cols,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// Returns the transpose, as a view.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }
}

/// Computes `c = a . b` (`accumulate = false`) or `c += a . b`, with `c`
/// row-major `a.rows x b.cols`.
pub fn matmul(a: MatRef, b: MatRef, c: &mut [f32], accumulate: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions of a matrix product");
    let (m, k, n) = (a.rows, a.cols, b.cols);
    assert!(c.len() >= m * n, "output buffer of a matrix product");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    let parallelism = if m * n * k >= PARALLEL_MIN_FLOPS
        && crate::pool::in_pool()
        && rayon::current_num_threads() > 1
    {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above and the MatRef constructors guarantee that
    // every index the strides can reach lies inside the slices, and `c` is
    // not aliased by `a` or `b` (it is a unique borrow).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// A mutable matrix view whose rows are `row_stride` apart: element (i, j)
/// is `data[i * row_stride + j]`. It lets a product write into a block of
/// columns of a wider matrix, as grouped convolutions do.
pub struct MatMut<'a> {
    pub data: &'a mut [f32],
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
}

impl MatRef<'_> {
    /// True when every element the view can address lies inside its slice.
    fn in_bounds(&self) -> bool {
        self.rows == 0
            || self.cols == 0
            || (self.rows - 1) * self.row_stride + (self.cols - 1) * self.col_stride
                < self.data.len()
    }
}

/// Computes `c = a . b` (`accumulate = false`) or `c += a . b` for views
/// with any strides. With `parallel`, large products use the current rayon
/// pool, as [`matmul`] does. Without it they stay on the calling thread, for
/// callers that already run one product per thread. Either way the result
/// has the same bits.
///
/// Panics when the inner dimensions differ or a view reaches outside its
/// slice.
pub fn matmul_strided(a: MatRef, b: MatRef, c: MatMut, accumulate: bool, parallel: bool) {
    assert_eq!(a.cols, b.rows, "inner dimensions of a matrix product");
    assert_eq!(a.rows, c.rows, "rows of a matrix product");
    assert_eq!(b.cols, c.cols, "columns of a matrix product");
    assert!(
        a.in_bounds() && b.in_bounds(),
        "operand view of a matrix product"
    );
    let (m, k, n) = (a.rows, a.cols, b.cols);
    if m == 0 || n == 0 {
        return;
    }
    assert!(
        c.row_stride >= n && (m - 1) * c.row_stride + n <= c.data.len(),
        "output view of a matrix product"
    );
    if k == 0 {
        if !accumulate {
            for row in c.data.chunks_mut(c.row_stride).take(m) {
                row[..n].fill(0.0);
            }
        }
        return;
    }
    let parallelism = if parallel
        && m * n * k >= PARALLEL_MIN_FLOPS
        && crate::pool::in_pool()
        && rayon::current_num_threads() > 1
    {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the asserts above keep every index the strides can reach
    // inside the slices; `c` is a unique borrow, so no operand aliases it.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.data.as_mut_ptr(),
            1,
            c.row_stride as isize,
            accumulate,
            a.data.as_ptr(),
            a.col_stride as isize,
            a.row_stride as isize,
            b.data.as_ptr(),
            b.col_stride as isize,
            b.row_stride as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
        let mut c = vec![0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0f64;
                for p in 0..k {
                    s += a[i * k + p] as f64 * b[p * n + j] as f64;
                }
                c[i * n + j] = s as f32;
            }
        }
        c
    }

    #[test]
    fn matmul_plain_and_transposed() {
        let (m, k, n) = (7, 5, 3);
        let a: Vec<f32> = (0..m * k).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i as f32 * 0.11).cos()).collect();
        let expected = naive(&a, &b, m, k, n);
        let mut c = vec![0f32; m * n];
        matmul(MatRef::new(&a, m, k), MatRef::new(&b, k, n), &mut c, false);
        for (x, y) in c.iter().zip(&expected) {
            assert!((x - y).abs() < 1e-5);
        }
        // a^T stored as k x m, b^T stored as n x k.
        let at: Vec<f32> = (0..k * m).map(|idx| a[(idx % m) * k + idx / m]).collect();
        let bt: Vec<f32> = (0..n * k).map(|idx| b[(idx % k) * n + idx / k]).collect();
        let mut c2 = vec![1f32; m * n];
        matmul(
            MatRef::new(&at, k, m).t(),
            MatRef::new(&bt, n, k).t(),
            &mut c2,
            true,
        );
        for (x, y) in c2.iter().zip(&expected) {
            assert!((x - (y + 1.0)).abs() < 1e-5);
        }
    }
}
