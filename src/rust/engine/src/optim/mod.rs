//! Optimizers with Keras 3's update rules and defaults. Each keeps its
//! slots (moments, accumulators) per parameter and updates a flat weight
//! vector from its gradient. Updates are elementwise, so the result does not
//! depend on the number of threads.

use rayon::prelude::*;

use crate::error::{Error, Result};

mod schedules;

pub use schedules::Schedule;

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
    Adadelta {
        rho: f32,
        epsilon: f32,
    },
    Adamax {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
    },
    Nadam {
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
    },
    Lion {
        beta_1: f32,
        beta_2: f32,
    },
}

/// Gradient clipping as keras applies it before each update: `clipnorm`
/// rescales each gradient to at most that L2 norm, `clipvalue` clips each
/// element to `[-clipvalue, clipvalue]`, `global_clipnorm` rescales all
/// gradients together to at most that joint norm. Zero means off.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Clipping {
    pub clipnorm: f32,
    pub clipvalue: f32,
    pub global_clipnorm: f32,
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
            OptimizerKind::Adadelta { .. } => 2,
            OptimizerKind::Adamax { .. } => 2,
            OptimizerKind::Nadam { .. } => 2,
            OptimizerKind::Lion { .. } => 1,
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
            OptimizerKind::Adadelta { rho, .. } => in_unit("rho", rho),
            OptimizerKind::Adamax { beta_1, beta_2, .. }
            | OptimizerKind::Nadam { beta_1, beta_2, .. }
            | OptimizerKind::Lion { beta_1, beta_2 } => {
                in_unit("beta_1", beta_1)?;
                in_unit("beta_2", beta_2)
            }
        }
    }
}

/// An optimizer with its state for every trainable parameter.
#[derive(Debug, Clone)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    /// The constant learning rate, used when `schedule` is `None`.
    pub learning_rate: f32,
    /// A learning-rate schedule evaluated at each step.
    pub schedule: Option<Schedule>,
    /// Decoupled weight decay: `w -= w * weight_decay * lr` before each update.
    pub weight_decay: f32,
    pub clipping: Clipping,
    /// Number of updates applied so far (keras's `iterations`).
    pub iterations: u64,
    slots: Vec<Vec<Vec<f32>>>,
    /// The learning rate of the current step.
    current_lr: f32,
    /// Nadam's running product of momentum coefficients, and the factors of
    /// the current step (u_t, u_{t+1}, product up to t, product up to t+1).
    nadam_product: f32,
    nadam_step: [f32; 4],
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, learning_rate: f32) -> Self {
        Optimizer {
            kind,
            learning_rate,
            schedule: None,
            weight_decay: 0.0,
            clipping: Clipping::default(),
            iterations: 0,
            slots: Vec::new(),
            current_lr: learning_rate,
            nadam_product: 1.0,
            nadam_step: [0.0; 4],
        }
    }

    /// Returns the learning rate of the last step (the constant rate before any step).
    pub fn current_learning_rate(&self) -> f32 {
        if self.iterations == 0 {
            self.next_learning_rate()
        } else {
            self.current_lr
        }
    }

    /// Returns the learning rate that the next step will use.
    pub fn next_learning_rate(&self) -> f32 {
        match &self.schedule {
            Some(s) => s.value_at(self.iterations),
            None => self.learning_rate,
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

    /// Starts a step: fixes its learning rate (schedules see the number of
    /// completed steps, as in keras), then advances the iteration counter used
    /// for bias correction.
    pub fn begin_step(&mut self) {
        self.current_lr = self.next_learning_rate();
        self.iterations += 1;
        if let OptimizerKind::Nadam { beta_1, .. } = self.kind {
            // Keras 3: u_t = beta_1 (1 - 0.5 * 0.96^t), with t the 1-based
            // step, and the running product of the u_t.
            let t = self.iterations as f32;
            let u_t = beta_1 * (1.0 - 0.5 * 0.96f32.powf(t));
            let u_next = beta_1 * (1.0 - 0.5 * 0.96f32.powf(t + 1.0));
            let product = self.nadam_product * u_t;
            self.nadam_step = [u_t, u_next, product, product * u_next];
            self.nadam_product = product;
        }
    }

    /// Takes one optimizer step over `items`, each (parameter index, weights,
    /// gradient): clips the gradients in place as configured (global norm,
    /// else per-gradient norm and value), then updates every parameter.
    pub fn apply(&mut self, items: &mut [(usize, &mut [f32], &mut [f32])]) {
        let clipping = self.clipping;
        if clipping.global_clipnorm > 0.0 {
            let norm = items
                .iter()
                .flat_map(|(_, _, g)| g.iter())
                .map(|&v| (v as f64) * (v as f64))
                .sum::<f64>()
                .sqrt() as f32;
            if norm > clipping.global_clipnorm {
                let scale = clipping.global_clipnorm / norm;
                for (_, _, g) in items.iter_mut() {
                    g.iter_mut().for_each(|v| *v *= scale);
                }
            }
        } else if clipping.clipnorm > 0.0 || clipping.clipvalue > 0.0 {
            for (_, _, g) in items.iter_mut() {
                clip_gradient(g, &clipping);
            }
        }
        self.begin_step();
        for (index, w, g) in items.iter_mut() {
            self.update(*index, w, g);
        }
    }

    /// Applies one update to parameter `index` (its weights `w`, gradient `g`).
    pub fn update(&mut self, index: usize, w: &mut [f32], g: &[f32]) {
        let lr = self.current_lr;
        let t = self.iterations as i32;
        let kind = self.kind;
        let nadam = self.nadam_step;
        let slots = &mut self.slots[index];
        if self.weight_decay > 0.0 {
            let decay = self.weight_decay * lr;
            for_each_chunk(w, g, &mut [], move |w, _, _| {
                for w in w.iter_mut() {
                    *w -= *w * decay;
                }
            });
        }
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
            OptimizerKind::Adadelta { rho, epsilon } => {
                // keras: a = rho a + (1 - rho) g^2;
                // d = -sqrt(a_delta + eps) / sqrt(a + eps) g;
                // a_delta = rho a_delta + (1 - rho) d^2; w += lr d.
                for_each_chunk(w, g, slots, move |w, g, s| {
                    let (acc, rest) = s.split_at_mut(1);
                    let (acc, acc_delta) = (&mut *acc[0], &mut *rest[0]);
                    for i in 0..w.len() {
                        acc[i] = rho * acc[i] + (1.0 - rho) * g[i] * g[i];
                        let delta =
                            -(acc_delta[i] + epsilon).sqrt() / (acc[i] + epsilon).sqrt() * g[i];
                        acc_delta[i] = rho * acc_delta[i] + (1.0 - rho) * delta * delta;
                        w[i] += lr * delta;
                    }
                });
            }
            OptimizerKind::Adamax {
                beta_1,
                beta_2,
                epsilon,
            } => {
                // keras: m += (g - m)(1 - b1); u = max(b2 u, |g|);
                // w -= lr m / ((1 - b1^t)(u + epsilon)).
                let correction = 1.0 - beta_1.powi(t);
                for_each_chunk(w, g, slots, move |w, g, s| {
                    let (m, rest) = s.split_at_mut(1);
                    let (m, u) = (&mut *m[0], &mut *rest[0]);
                    for i in 0..w.len() {
                        m[i] += (g[i] - m[i]) * (1.0 - beta_1);
                        u[i] = (beta_2 * u[i]).max(g[i].abs());
                        w[i] -= lr * m[i] / (correction * (u[i] + epsilon));
                    }
                });
            }
            OptimizerKind::Nadam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                // keras: m_hat = u_{t+1} m / (1 - prod_{t+1}) + (1 - u_t) g / (1 - prod_t);
                // v_hat = v / (1 - b2^t); w -= lr m_hat / (sqrt(v_hat) + epsilon).
                let [u_t, u_next, product, product_next] = nadam;
                let beta_2_power = beta_2.powi(t);
                for_each_chunk(w, g, slots, move |w, g, s| {
                    let (m, rest) = s.split_at_mut(1);
                    let (m, v) = (&mut *m[0], &mut *rest[0]);
                    for i in 0..w.len() {
                        m[i] += (g[i] - m[i]) * (1.0 - beta_1);
                        v[i] += (g[i] * g[i] - v[i]) * (1.0 - beta_2);
                        let m_hat = u_next * m[i] / (1.0 - product_next)
                            + (1.0 - u_t) * g[i] / (1.0 - product);
                        let v_hat = v[i] / (1.0 - beta_2_power);
                        w[i] -= lr * m_hat / (v_hat.sqrt() + epsilon);
                    }
                });
            }
            OptimizerKind::Lion { beta_1, beta_2 } => {
                // keras: w -= lr sign(b1 m + (1 - b1) g); m = b2 m + (1 - b2) g.
                for_each_chunk(w, g, slots, move |w, g, s| {
                    let m = &mut *s[0];
                    for i in 0..w.len() {
                        let c = beta_1 * m[i] + (1.0 - beta_1) * g[i];
                        let sign = if c > 0.0 {
                            1.0
                        } else if c < 0.0 {
                            -1.0
                        } else {
                            0.0
                        };
                        w[i] -= lr * sign;
                        m[i] = beta_2 * m[i] + (1.0 - beta_2) * g[i];
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

/// Clips one gradient in place by `clipnorm` and `clipvalue` (zero: off).
pub fn clip_gradient(g: &mut [f32], clipping: &Clipping) {
    if clipping.clipnorm > 0.0 {
        let norm = g
            .iter()
            .map(|&v| (v as f64) * (v as f64))
            .sum::<f64>()
            .sqrt() as f32;
        if norm > clipping.clipnorm {
            let scale = clipping.clipnorm / norm;
            g.iter_mut().for_each(|v| *v *= scale);
        }
    }
    if clipping.clipvalue > 0.0 {
        let c = clipping.clipvalue;
        g.iter_mut().for_each(|v| *v = v.clamp(-c, c));
    }
}

/// The values besides the slots that change with each step, for saving an
/// optimizer in the middle of training and resuming it exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepState {
    pub iterations: u64,
    /// The learning rate of the last step.
    pub current_lr: f32,
    /// Nadam's running product of momentum coefficients (1 for other kinds).
    pub nadam_product: f32,
}

impl Optimizer {
    /// Returns the number of slots each parameter has for this kind.
    pub fn slot_count(&self) -> usize {
        self.kind.slots()
    }

    /// Returns the slots, `slots[parameter][slot]`; empty before the first step.
    pub fn slots(&self) -> &[Vec<Vec<f32>>] {
        &self.slots
    }

    pub fn step_state(&self) -> StepState {
        StepState {
            iterations: self.iterations,
            current_lr: self.current_lr,
            nadam_product: self.nadam_product,
        }
    }

    /// Restores saved state. Every parameter must have [`Self::slot_count`]
    /// slots; the caller checks their lengths against the parameters.
    pub fn restore(&mut self, step: StepState, slots: Vec<Vec<Vec<f32>>>) -> Result<()> {
        let expected = self.slot_count();
        if let Some(i) = slots.iter().position(|s| s.len() != expected) {
            return Err(Error::InvalidArgument(format!(
                "parameter {} has {} optimizer slots but this optimizer keeps {expected}",
                i + 1,
                slots[i].len()
            )));
        }
        self.slots = slots;
        self.iterations = step.iterations;
        self.current_lr = step.current_lr;
        self.nadam_product = step.nadam_product;
        Ok(())
    }
}
