//! Dropout: in training, each value is zeroed with probability `rate` and
//! the others are scaled by `1 / (1 - rate)`; in inference it is the identity.
//! The forward pass keeps the mask (0 or the scale) for the backward pass.

use std::sync::Mutex;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{BackwardArgs, ForwardCtx, Layer, SeededRng};

#[derive(Debug)]
pub struct Dropout {
    name: String,
    shape: Vec<usize>,
    rate: f32,
    seeded: Option<SeededRng>,
}

impl Dropout {
    pub fn new(name: &str, input_shape: &[usize], rate: f32, seed: Option<u64>) -> Self {
        Dropout {
            name: name.to_string(),
            shape: input_shape.to_vec(),
            rate,
            seeded: seed.map(|s| SeededRng(Mutex::new(StdRng::seed_from_u64(s)))),
        }
    }

    fn size(&self) -> usize {
        self.shape.iter().product()
    }
}

impl Layer for Dropout {
    fn class_name(&self) -> &'static str {
        "Dropout"
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn output_shape(&self) -> &[usize] {
        &self.shape
    }
    fn scratch_per_sample(&self) -> usize {
        self.size()
    }

    fn forward(
        &self,
        x: &[f32],
        batch: usize,
        y: &mut [f32],
        scratch: &mut [f32],
        ctx: &mut ForwardCtx,
    ) {
        let n = batch * self.size();
        if !ctx.training || self.rate == 0.0 {
            y[..n].copy_from_slice(&x[..n]);
            scratch[..n].fill(1.0);
            return;
        }
        let keep = 1.0 - self.rate;
        let scale = 1.0 / keep;
        let mut fill = |rng: &mut StdRng| {
            for m in scratch[..n].iter_mut() {
                *m = if rng.random::<f32>() < keep {
                    scale
                } else {
                    0.0
                };
            }
        };
        match &self.seeded {
            Some(SeededRng(lock)) => {
                let mut rng = lock.lock().unwrap_or_else(|e| e.into_inner());
                fill(&mut rng);
            }
            None => fill(ctx.rng),
        }
        for ((y, &x), &m) in y[..n].iter_mut().zip(&x[..n]).zip(&scratch[..n]) {
            *y = x * m;
        }
    }

    fn backward(&self, args: BackwardArgs) {
        if let Some(dx) = args.dx {
            let n = args.batch * self.size();
            for ((dx, &dy), &m) in dx[..n]
                .iter_mut()
                .zip(&args.dy[..n])
                .zip(&args.scratch[..n])
            {
                *dx = dy * m;
            }
        }
    }
}
