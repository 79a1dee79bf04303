//! Sliding-window geometry shared by convolution and pooling layers, with
//! keras's output sizes and TensorFlow's padding.
//!
//! Per axis, for input size `n`, kernel `k`, stride `s` and dilation `d`
//! (a window spans `(k - 1) d + 1` inputs):
//!
//! - `valid`: no padding, output `floor((n - (k - 1) d - 1) / s) + 1`;
//! - `same`: output `ceil(n / s)`, padded with `max((out - 1) s + span - n, 0)`
//!   zeros, of which `floor(total / 2)` go before the data and the rest after
//!   it. With an even total TF pads more after (bottom or right), as here;
//! - `causal` (1D convolutions): `(k - 1) d` zeros before the data and none
//!   after, so output `t` depends on inputs up to `t` only.
//!
//! Layers of rank 1 and 2 use the leading axes of a 3D window with size 1.

use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Valid,
    Same,
    Causal,
}

impl Padding {
    /// Looks up keras's padding name; `causal` only when `allow_causal`.
    pub fn from_name(name: &str, allow_causal: bool) -> Result<Padding> {
        match name {
            "valid" => Ok(Padding::Valid),
            "same" => Ok(Padding::Same),
            "causal" if allow_causal => Ok(Padding::Causal),
            other => Err(Error::InvalidArgument(format!(
                "`padding` must be {}, got \"{other}\"",
                if allow_causal {
                    "\"valid\", \"same\" or \"causal\""
                } else {
                    "\"valid\" or \"same\""
                }
            ))),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Causal => "causal",
        }
    }
}

/// One spatial axis of a sliding window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    pub input: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub output: usize,
    /// Zeros (or ignored positions, for pooling) before the first input.
    pub pad_before: usize,
}

impl Axis {
    /// Computes the output size and padding; `None` when the window does
    /// not fit the input (output size 0 with `valid` padding).
    /// `kernel`, `stride` and `dilation` must be positive.
    pub fn new(
        input: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        padding: Padding,
    ) -> Option<Axis> {
        let span = (kernel - 1) * dilation + 1;
        let (output, pad_before) = match padding {
            Padding::Valid => {
                if input < span {
                    return None;
                }
                ((input - span) / stride + 1, 0)
            }
            Padding::Same => {
                let output = input.div_ceil(stride);
                let total = ((output - 1) * stride + span).saturating_sub(input);
                (output, total / 2)
            }
            Padding::Causal => (input.div_ceil(stride), span - 1),
        };
        if output == 0 {
            return None;
        }
        Some(Axis {
            input,
            kernel,
            stride,
            dilation,
            output,
            pad_before,
        })
    }

    /// Returns an axis of size 1, for the axes a lower-rank layer does not have.
    pub fn trivial() -> Axis {
        Axis {
            input: 1,
            kernel: 1,
            stride: 1,
            dilation: 1,
            output: 1,
            pad_before: 0,
        }
    }

    /// Returns the range `lo..hi` of output positions whose kernel tap `k`
    /// falls inside the input (`source` is `Some` exactly there).
    pub fn valid_outputs(&self, k: usize) -> (usize, usize) {
        let offset = k * self.dilation;
        // o * stride + offset >= pad_before, and o * stride + offset < pad_before + input.
        let lo = self.pad_before.saturating_sub(offset).div_ceil(self.stride);
        let hi = (self.pad_before + self.input)
            .saturating_sub(offset)
            .div_ceil(self.stride)
            .min(self.output);
        (lo.min(hi), hi)
    }

    /// Input position of kernel tap `k` at output position `o`, or `None` in
    /// the padding.
    #[inline(always)]
    pub fn source(&self, o: usize, k: usize) -> Option<usize> {
        let at = o * self.stride + k * self.dilation;
        at.checked_sub(self.pad_before).filter(|&i| i < self.input)
    }
}

/// A 3D window (depth, height, width); lower ranks use trivial leading axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub axes: [Axis; 3],
}

impl Window {
    /// Builds the window of a rank-`rank` layer from per-axis settings
    /// (`rank` values each).
    pub fn new(
        spatial: &[usize],
        kernel: &[usize],
        strides: &[usize],
        dilation: &[usize],
        padding: Padding,
    ) -> Option<Window> {
        let rank = spatial.len();
        let mut axes = [Axis::trivial(); 3];
        for i in 0..rank {
            axes[3 - rank + i] =
                Axis::new(spatial[i], kernel[i], strides[i], dilation[i], padding)?;
        }
        Some(Window { axes })
    }

    /// Number of output positions.
    pub fn positions(&self) -> usize {
        self.axes.iter().map(|a| a.output).product()
    }

    /// Number of input positions.
    pub fn input_positions(&self) -> usize {
        self.axes.iter().map(|a| a.input).product()
    }

    /// Number of kernel taps.
    pub fn taps(&self) -> usize {
        self.axes.iter().map(|a| a.kernel).product()
    }

    /// Output sizes of the last `rank` axes.
    pub fn output_dims(&self, rank: usize) -> Vec<usize> {
        self.axes[3 - rank..].iter().map(|a| a.output).collect()
    }

    /// Calls `f(tap, input_position)` for every kernel tap of output position
    /// `(od, oh, ow)` that falls inside the input, taps in row-major order
    /// of (depth, height, width); `input_position` is row-major too.
    #[inline(always)]
    pub fn for_each_tap(
        &self,
        od: usize,
        oh: usize,
        ow: usize,
        mut f: impl FnMut(usize, Option<usize>),
    ) {
        let [ad, ah, aw] = &self.axes;
        let mut tap = 0;
        for kd in 0..ad.kernel {
            let id = ad.source(od, kd);
            for kh in 0..ah.kernel {
                let ih = ah.source(oh, kh);
                for kw in 0..aw.kernel {
                    let iw = aw.source(ow, kw);
                    let position = match (id, ih, iw) {
                        (Some(d), Some(h), Some(w)) => Some((d * ah.input + h) * aw.input + w),
                        _ => None,
                    };
                    f(tap, position);
                    tap += 1;
                }
            }
        }
    }
}

/// Parses per-axis integers (kernel size, strides, dilation) of a rank-`rank`
/// layer: `rank` values, or one value for all axes. Used by the bindings.
pub fn per_axis(values: &[usize], rank: usize, what: &str, layer: &str) -> Result<Vec<usize>> {
    let expanded = match values.len() {
        1 => vec![values[0]; rank],
        n if n == rank => values.to_vec(),
        n => {
            return Err(Error::InvalidArgument(format!(
                "layer \"{layer}\": `{what}` must have 1 or {rank} values, got {n}"
            )))
        }
    };
    if expanded.contains(&0) {
        return Err(Error::InvalidArgument(format!(
            "layer \"{layer}\": `{what}` must be positive integers, got {expanded:?}"
        )));
    }
    Ok(expanded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_padding_puts_the_extra_zero_after() {
        // n = 6, k = 2, s = 2: output 3, total padding (3 - 1) 2 + 2 - 6 = 0.
        let a = Axis::new(6, 2, 2, 1, Padding::Same).unwrap();
        assert_eq!((a.output, a.pad_before), (3, 0));
        // n = 5, k = 4, s = 1: total padding 3, one before and two after.
        let a = Axis::new(5, 4, 1, 1, Padding::Same).unwrap();
        assert_eq!((a.output, a.pad_before), (5, 1));
        // n = 7, k = 3, s = 2, d = 1: output 4, total (4 - 1) 2 + 3 - 7 = 2.
        let a = Axis::new(7, 3, 2, 1, Padding::Same).unwrap();
        assert_eq!((a.output, a.pad_before), (4, 1));
    }

    #[test]
    fn valid_and_causal_sizes() {
        assert_eq!(Axis::new(28, 3, 1, 1, Padding::Valid).unwrap().output, 26);
        assert_eq!(Axis::new(7, 3, 2, 1, Padding::Valid).unwrap().output, 3);
        assert_eq!(Axis::new(7, 3, 1, 2, Padding::Valid).unwrap().output, 3);
        assert!(Axis::new(4, 5, 1, 1, Padding::Valid).is_none());
        let causal = Axis::new(7, 3, 1, 2, Padding::Causal).unwrap();
        assert_eq!((causal.output, causal.pad_before), (7, 4));
        assert_eq!(causal.source(0, 2), Some(0));
        assert_eq!(causal.source(0, 1), None);
    }

    #[test]
    fn valid_outputs_agree_with_source() {
        for (input, kernel, stride, dilation) in
            [(7, 3, 1, 1), (7, 4, 2, 1), (9, 3, 1, 3), (5, 5, 3, 1)]
        {
            for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
                let Some(axis) = Axis::new(input, kernel, stride, dilation, padding) else {
                    continue;
                };
                for k in 0..kernel {
                    let (lo, hi) = axis.valid_outputs(k);
                    for o in 0..axis.output {
                        assert_eq!(
                            axis.source(o, k).is_some(),
                            (lo..hi).contains(&o),
                            "{axis:?} k {k} o {o}"
                        );
                    }
                }
            }
        }
    }
}
