//! Optimizers with Keras 3's update rules and defaults. Each keeps its
//! slots (moments, accumulators) per parameter and updates a flat weight
//! vector from its gradient. Updates are elementwise, so the result does not
//! depend on the number of threads.

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Elementwise updates on fewer values than this stay on the calling thread.
const PARALLEL_MIN_LEN: usize = 1 << 15;
const CHUNK: usize = 1 << 12;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimizerKind {
    Sgd {
        momentum: f32,
        nesterov: bool,
    },
    Adam {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        amsgrad: bool,
    },
    RmsProp {
        rho: f32,
        momentum: f32,
        epsilon: f32,
        centered: bool,
    },
    Adagrad {
        initial_accumulator_value: f32,
        epsilon: f32,
    },
}

impl OptimizerKind {
    /// Number of state vectors each parameter needs.
    fn slots(&self) -> usize {
        match *self {
            OptimizerKind::Sgd { momentum, .. } => (momentum != 0.0) as usize,
            OptimizerKind::Adam { amsgrad, .. } => 2 + amsgrad as usize,
            OptimizerKind::RmsProp {
                momentum, centered, ..
            } => 1 + (momentum != 0.0) as usize + centered as usize,
            OptimizerKind::Adagrad { .. } => 1,
        }
    }

    /// Checks the hyperparameters, naming the first invalid one.
    pub fn validate(&self) -> Result<()> {
        let in_unit = |name: &str, v: f32| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::InvalidArgument(format!(
                    "`{name}` must be in [0, 1), got {v}"
                )))
            }
        };
        match *self {
            OptimizerKind::Sgd { momentum, .. } => in_unit("momentum", momentum),
            OptimizerKind::Adam { beta_1, beta_2, .. } => {
                in_unit("beta_1", beta_1)?;
                in_unit("beta_2", beta_2)
            }
            OptimizerKind::RmsProp { rho, momentum, .. } => {
                in_unit("rho", rho)?;
                in_unit("momentum", momentum)
            }
            OptimizerKind::Adagrad { .. } => Ok(()),
        }
    }
}

/// An optimizer with its state for every trainable parameter.
#[derive(Debug, Clone)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    pub learning_rate: f32,
    /// Number of updates applied so far (keras's `iterations`).
    pub iterations: u64,
    slots: Vec<Vec<Vec<f32>>>,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, learning_rate: f32) -> Self {
        Optimizer {
            kind,
            learning_rate,
            iterations: 0,
            slots: Vec::new(),
        }
    }

    /// Allocates the state for parameters of the given sizes.
    pub fn build(&mut self, sizes: &[usize]) {
        let initial = match self.kind {
            OptimizerKind::Adagrad {
                initial_accumulator_value,
                ..
            } => initial_accumulator_value,
            _ => 0.0,
        };
        let nslots = self.kind.slots();
        self.slots = sizes
            .iter()
            .map(|&n| {
                (0..nslots)
                    .map(|i| vec![if i == 0 { initial } else { 0.0 }; n])
                    .collect()
            })
            .collect();
        self.iterations = 0;
    }

    pub fn is_built(&self) -> bool {
        !self.slots.is_empty()
    }

    /// Starts a step: advances the iteration counter used for bias correction.
    pub fn begin_step(&mut self) {
        self.iterations += 1;
    }

    /// Applies one update to parameter `index` (its weights `w`, gradient `g`).
    pub fn update(&mut self, index: usize, w: &mut [f32], g: &[f32]) {
        let lr = self.learning_rate;
        let t = self.iterations as i32;
        let kind = self.kind;
        let slots = &mut self.slots[index];
        match kind {
            OptimizerKind::Sgd { momentum, nesterov } => {
                if momentum == 0.0 {
                    for_each_chunk(w, g, &mut [], move |w, g, _| {
                        for (w, g) in w.iter_mut().zip(g) {
                            *w -= lr * g;
                        }
                    });
                } else {
                    // keras: m = momentum m - lr g; w += m, or with nesterov
                    // w += momentum m - lr g.
                    for_each_chunk(w, g, slots, move |w, g, s| {
                        let m = &mut *s[0];
                        for i in 0..w.len() {
                            m[i] = momentum * m[i] - lr * g[i];
                            if nesterov {
                                w[i] += momentum * m[i] - lr * g[i];
                            } else {
                                w[i] += m[i];
                            }
                        }
                    });
                }
            }
            OptimizerKind::Adam {
                beta_1,
                beta_2,
                epsilon,
                amsgrad,
            } => {
                // keras: alpha = lr sqrt(1 - b2^t) / (1 - b1^t);
                // w -= alpha m / (sqrt(v) + epsilon).
                let alpha = lr * (1.0 - beta_2.powi(t)).sqrt() / (1.0 - beta_1.powi(t));
                for_each_chunk(w, g, slots, move |w, g, s| {
                    let (m, rest) = s.split_at_mut(1);
                    let m = &mut *m[0];
                    let (v, rest) = rest.split_at_mut(1);
                    let v = &mut *v[0];
                    for i in 0..w.len() {
                        m[i] += (g[i] - m[i]) * (1.0 - beta_1);
                        v[i] += (g[i] * g[i] - v[i]) * (1.0 - beta_2);
                        let denom = if amsgrad {
                            let vhat = &mut *rest[0];
                            vhat[i] = vhat[i].max(v[i]);
                            vhat[i].sqrt()
                        } else {
                            v[i].sqrt()
                        };
                        w[i] -= alpha * m[i] / (denom + epsilon);
                    }
                });
            }
            OptimizerKind::RmsProp {
                rho,
                momentum,
                epsilon,
                centered,
            } => {
                // keras: v = rho v + (1 - rho) g^2; with centered, subtract
                // the square of the running mean of g; increment
                // lr g / sqrt(denominator + epsilon), through a momentum slot
                // when momentum > 0.
                for_each_chunk(w, g, slots, move |w, g, s| {
                    let mut it = s.iter_mut();
                    let v = it.next().map(|x| &mut **x).unwrap_or_default();
                    let mut mom = if momentum != 0.0 {
                        it.next().map(|x| &mut **x)
                    } else {
                        None
                    };
                    let mut avg = if centered {
                        it.next().map(|x| &mut **x)
                    } else {
                        None
                    };
                    for i in 0..w.len() {
                        v[i] = rho * v[i] + (1.0 - rho) * g[i] * g[i];
                        let mut denom = v[i];
                        if let Some(a) = avg.as_deref_mut() {
                            a[i] = rho * a[i] + (1.0 - rho) * g[i];
                            denom -= a[i] * a[i];
                        }
                        let increment = lr * g[i] / (denom + epsilon).sqrt();
                        if let Some(m) = mom.as_deref_mut() {
                            m[i] = momentum * m[i] + increment;
                            w[i] -= m[i];
                        } else {
                            w[i] -= increment;
                        }
                    }
                });
            }
            OptimizerKind::Adagrad { epsilon, .. } => {
                // keras: acc += g^2; w -= lr g / sqrt(acc + epsilon).
                for_each_chunk(w, g, slots, move |w, g, s| {
                    let acc = &mut *s[0];
                    for i in 0..w.len() {
                        acc[i] += g[i] * g[i];
                        w[i] -= lr * g[i] / (acc[i] + epsilon).sqrt();
                    }
                });
            }
        }
    }
}

/// Runs `f` on matching fixed-size chunks of the weights, the gradient and
/// every slot, in parallel for large parameters.
fn for_each_chunk<F>(w: &mut [f32], g: &[f32], slots: &mut [Vec<f32>], f: F)
where
    F: Fn(&mut [f32], &[f32], &mut [&mut [f32]]) + Sync + Send,
{
    let n = w.len();
    if n < PARALLEL_MIN_LEN || !crate::pool::in_pool() {
        let mut views: Vec<&mut [f32]> = slots.iter_mut().map(|s| &mut s[..]).collect();
        f(w, g, &mut views);
        return;
    }
    // Split every slot into the same chunks as w.
    let mut slot_chunks: Vec<Vec<&mut [f32]>> =
        (0..n.div_ceil(CHUNK)).map(|_| Vec::new()).collect();
    for slot in slots.iter_mut() {
        for (c, piece) in slot.chunks_mut(CHUNK).enumerate() {
            slot_chunks[c].push(piece);
        }
    }
    w.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(slot_chunks.par_iter_mut())
        .for_each(|((w, g), s)| f(w, g, s));
}
