//! Weight and activity regularizers with Keras 3's formulas:
//! `penalty(w) = l1 * sum(|w|) + l2 * sum(w^2)` (no factor 1/2 on the l2
//! term). Weight penalties are added to the loss once per step. An activity
//! penalty on a layer's output is divided by the batch size, as keras does.

/// An L1/L2 regularizer; zero factors are off.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Regularizer {
    pub l1: f32,
    pub l2: f32,
}

impl Regularizer {
    /// Returns `l1 * sum(|w|) + l2 * sum(w^2)`, summed in f64.
    pub fn penalty(&self, w: &[f32]) -> f64 {
        let (l1, l2) = (self.l1 as f64, self.l2 as f64);
        w.iter()
            .map(|&v| {
                let v = v as f64;
                l1 * v.abs() + l2 * v * v
            })
            .sum()
    }

    /// Adds `scale * d penalty / d w` to `g`; the derivative of |w| at 0 is 0.
    pub fn add_gradient(&self, w: &[f32], g: &mut [f32], scale: f32) {
        let (l1, l2) = (self.l1 * scale, 2.0 * self.l2 * scale);
        for (g, &v) in g.iter_mut().zip(w) {
            let sign = if v > 0.0 {
                1.0
            } else if v < 0.0 {
                -1.0
            } else {
                0.0
            };
            *g += l1 * sign + l2 * v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalty_and_gradient_by_hand() {
        // w = (1, -2, 0): l1 = 0.1 -> 0.1 * 3 = 0.3; l2 = 0.01 -> 0.01 * 5 = 0.05.
        let r = Regularizer { l1: 0.1, l2: 0.01 };
        let w = [1.0, -2.0, 0.0];
        assert!((r.penalty(&w) - 0.35).abs() < 1e-7);
        // d/dw = 0.1 sign(w) + 0.02 w = (0.12, -0.14, 0).
        let mut g = [0.0; 3];
        r.add_gradient(&w, &mut g, 1.0);
        for (a, e) in g.iter().zip([0.12, -0.14, 0.0]) {
            assert!((a - e).abs() < 1e-7, "{a} vs {e}");
        }
    }
}
