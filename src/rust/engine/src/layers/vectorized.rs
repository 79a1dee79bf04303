//! Elementwise loops of the convolution and pooling layers, compiled twice:
//! for the baseline x86-64 target (SSE2, which is all a portable build may
//! assume) and for AVX2, chosen at run time. The loops are written so that
//! the compiler vectorizes them; AVX2 doubles the vector width.
//!
//! Both versions compute the same bits: the bodies use no fused multiply-add
//! and keep every sum in the order written, so only the vector width differs.

/// Defines a function that runs `$body` compiled for AVX2 when the CPU has
/// it, and for the baseline target otherwise.
macro_rules! with_avx2 {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                unsafe fn avx2($($arg: $ty),*) {
                    generic($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked on the line above.
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}

pub(crate) use with_avx2;

with_avx2! {
    /// Adds `bias` (one value per column) to every row of `rows`.
    pub(crate) fn add_bias(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
        }
    }
}

with_avx2! {
    /// Computes `max(v + bias, 0)` in place for every row of `rows`.
    pub(crate) fn add_bias_relu(rows: &mut [f32], bias: &[f32]) {
        for row in rows.chunks_exact_mut(bias.len()) {
            row.iter_mut()
                .zip(bias)
                .for_each(|(v, b)| *v = (*v + b).max(0.0));
        }
    }
}

with_avx2! {
    /// Computes `max(v, 0)` in place.
    pub(crate) fn relu(values: &mut [f32]) {
        values.iter_mut().for_each(|v| *v = v.max(0.0));
    }
}

with_avx2! {
    /// Multiplies `dz` by relu's derivative: 0 where the output `y` is not
    /// positive.
    pub(crate) fn relu_derivative(dz: &mut [f32], y: &[f32]) {
        dz.iter_mut()
            .zip(y)
            .for_each(|(d, &v)| *d = if v > 0.0 { *d } else { 0.0 });
    }
}

with_avx2! {
    /// Writes the column sums of the rows of `m` (each `out.len()` wide) to
    /// `out`, adding the rows in order.
    pub(crate) fn column_sums(m: &[f32], out: &mut [f32]) {
        out.fill(0.0);
        for row in m.chunks_exact(out.len()) {
            out.iter_mut().zip(row).for_each(|(o, v)| *o += v);
        }
    }
}

with_avx2! {
    /// Adds `src` to `dst` elementwise.
    pub(crate) fn add_assign(dst: &mut [f32], src: &[f32]) {
        dst.iter_mut().zip(src).for_each(|(d, v)| *d += v);
    }
}

with_avx2! {
    /// Adds elementwise products of rows: for `i` in `0..count` and `j` in
    /// `0..width`, `dst[i * steps[0] + j] += a[i * steps[1] + j] * b[i * steps[2] + j]`.
    /// A step of 0 reuses one row, so `count` rows can be summed into one.
    pub(crate) fn multiply_add_rows(
        dst: &mut [f32],
        a: &[f32],
        b: &[f32],
        width: usize,
        count: usize,
        steps: [usize; 3],
    ) {
        for i in 0..count {
            let (d, x, y) = (i * steps[0], i * steps[1], i * steps[2]);
            dst[d..d + width]
                .iter_mut()
                .zip(&a[x..x + width])
                .zip(&b[y..y + width])
                .for_each(|((d, x), y)| *d += x * y);
        }
    }
}
